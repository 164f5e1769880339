/* examples/common/rng.c — xoshiro256** (Blackman & Vigna) seeded by
   splitmix64, Lemire's unbiased bounded draw (excommon.h). */
#include "excommon.h"

static uint64_t vpar__ex_splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t vpar__ex_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void vpar_ex_rng_seed(vpar_ex_rng *rng, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) rng->s[i] = vpar__ex_splitmix64(&x);
}

uint64_t vpar_ex_rng_next(vpar_ex_rng *rng) {
    uint64_t *s = rng->s;
    uint64_t result = vpar__ex_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = vpar__ex_rotl(s[3], 45);
    return result;
}

/* 64 x 64 -> 128-bit product, high and low halves. */
static void vpar__ex_mul128(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo) {
#if defined(__SIZEOF_INT128__)
    unsigned __int128 m = (unsigned __int128)a * b;
    *hi = (uint64_t)(m >> 64);
    *lo = (uint64_t)m;
#else
    uint64_t a0 = a & 0xffffffffu, a1 = a >> 32, b0 = b & 0xffffffffu, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    *lo = (mid << 32) | (p00 & 0xffffffffu);
#endif
}

uint64_t vpar_ex_rng_below(vpar_ex_rng *rng, uint64_t bound) {
    VPAR_ASSERT(bound >= 1);
    uint64_t hi, lo;
    vpar__ex_mul128(vpar_ex_rng_next(rng), bound, &hi, &lo);
    if (lo < bound) {
        uint64_t t = (0 - bound) % bound; /* (2^64 - bound) mod bound */
        while (lo < t) vpar__ex_mul128(vpar_ex_rng_next(rng), bound, &hi, &lo);
    }
    return hi;
}

double vpar_ex_rng_unif(vpar_ex_rng *rng) { return (double)(vpar_ex_rng_next(rng) >> 11) * 0x1.0p-53; }
