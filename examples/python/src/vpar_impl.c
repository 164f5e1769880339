/* vpar_impl.c — the one translation unit of the Python extension that
   compiles vpar's implementation (vpar is header-only: exactly one .c file
   defines VPAR_IMPLEMENTATION).

   The EGAD core (examples/egad) is a set of .c units listed in
   EGAD_SOURCES in setup.py (the one place the extension names its
   sources); they include vpar's headers without the implementation, which
   this file provides. */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
