/* Second translation unit: declarations only (no VPAR_IMPLEMENTATION). */
#include "vpar.h"

const char *two_tu_b_fail(void) {
    vpar_fail(VPAR_ERR_INVALID, "set in TU b");
    return vpar_last_error();
}

const char *two_tu_b_error_address(void) { return vpar_last_error(); }
