/* Compile test: the umbrella header, implementation included, builds with
   -std=c11 -Wall -Wextra -Wpedantic -Werror (see foundation.cmake). */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include "vpar.h" /* twice: include guards and implementation guards hold */
int main(void) { return vpar_status_str(VPAR_OK)[0] == 'o' ? 0 : 1; }
