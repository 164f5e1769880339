/* vpar_impl.c — the one translation unit of the Python extension that
   compiles vpar's implementation (vpar is header-only: exactly one .c file
   defines VPAR_IMPLEMENTATION).

   The EGAD core (examples/egad) is header-only today: its implementation
   comes with egad.h when VPAR_IMPLEMENTATION is defined. When it becomes a
   static library of .c units with the same public API, drop the egad.h
   include below and list those units in EGAD_SOURCES in setup.py (the one
   place the extension names its sources). */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include "egad.h"
