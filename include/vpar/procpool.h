/* vpar/procpool.h — placeholder: this component's API lands with issue 6.
   Kept so that include/vpar.h compiles while the component is built. */
#ifndef VPAR_PROCPOOL_H
#define VPAR_PROCPOOL_H
#include "common.h"
#endif
