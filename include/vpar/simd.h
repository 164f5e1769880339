/* vpar/simd.h — placeholder: this component's API lands with issue 3.
   Kept so that include/vpar.h compiles while the component is built. */
#ifndef VPAR_SIMD_H
#define VPAR_SIMD_H
#include "common.h"
#endif
