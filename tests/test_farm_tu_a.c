/* tests/test_farm_tu_a.c — with test_farm_tu_b.c: the farm's implementation
   compiled alone (VPAR_FARM_IMPLEMENTATION) next to a TU that holds the
   rest of vpar (VPAR_IMPLEMENTATION through vpar.h, which has no MPI). */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
