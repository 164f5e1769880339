/* vpar.h — the umbrella header: includes every vpar component.

   vpar is a header-only C11 toolkit that makes scientific loops use the
   whole machine: vectorized reductions (vpar/simd.h), a work-stealing thread
   pool (vpar/pool.h), a process pool with shared-memory result maps
   (vpar/procpool.h), a parallel ranker (vpar/rank.h) and NumPy .npy I/O
   (vpar/npy.h).

   In exactly one .c file of your program:

       #define VPAR_IMPLEMENTATION
       #include "vpar.h"

   and plain `#include "vpar.h"` everywhere else. See vpar/common.h for the
   configuration macros and docs/design.md for how the pieces fit.
*/
#ifndef VPAR_H
#define VPAR_H
#endif

/* Outside the guard on purpose: a second inclusion with VPAR_IMPLEMENTATION
   defined must still reach each component's implementation section. */
#include "vpar/common.h"
#include "vpar/npy.h"
#include "vpar/simd.h"
#include "vpar/pool.h"
#include "vpar/rank.h"
#include "vpar/procpool.h"
