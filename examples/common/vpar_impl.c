/* examples/common/vpar_impl.c — the header library's implementation
   (include/vpar.h with VPAR_IMPLEMENTATION), compiled once for this tree.

   A program that uses vpar defines VPAR_IMPLEMENTATION in exactly one of
   its files (see include/vpar.h); the single-file examples (vpar-rank,
   vpar-rowsums, the README's program) still do. The multi-file programs
   (vpar-egad, vpar-aggregate, vpar-simnet), most tests and the fuzz targets
   link this one object instead (CMake target vpar_impl): the
   implementation takes ~9 s to compile, and compiling it once instead of
   in ~30 executables keeps each build (release, ASan, TSan, fuzz) minutes
   shorter. Tests that compile the implementation with their own
   configuration macros (VPAR_RANK_LEAF, VPAR_MALLOC, ...), that use its
   internal helpers, or that check the one-translation-unit rule itself
   keep defining VPAR_IMPLEMENTATION. */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
