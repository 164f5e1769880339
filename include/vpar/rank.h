/* vpar/rank.h — placeholder: this component's API lands with issue 5.
   Kept so that include/vpar.h compiles while the component is built. */
#ifndef VPAR_RANK_H
#define VPAR_RANK_H
#include "common.h"
#endif
