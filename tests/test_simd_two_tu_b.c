/* Second translation unit: declarations only (no VPAR_IMPLEMENTATION). */
#include "vpar.h"

vpar_simd_path simd_b_active(void) { return vpar_simd_active(); }
vpar_status simd_b_set(vpar_simd_path p) { return vpar_simd_set_path(p); }
double simd_b_sum(const double *x, size_t n) { return vpar_sum_f64(x, n); }
