/* vpar/pool.h — placeholder: this component's API lands with issue 4.
   Kept so that include/vpar.h compiles while the component is built. */
#ifndef VPAR_POOL_H
#define VPAR_POOL_H
#include "common.h"
#endif
