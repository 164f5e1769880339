/* libFuzzer target: vpar-parallel's joblog reader (--resume,
   --resume-failed, --retry-failed; examples/parallel/par_joblog.c).
   Checks: no crash/UB/leak; the valid length ends just after a '\n' (or
   is 0); every entry's Command lies inside the input; reading only the
   valid prefix gives the same entries (a torn tail is ignored). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "par_joblog.h"

typedef struct acc {
    const char *lo, *hi;
    size_t n;
    uint64_t sum; /* a checksum: unsigned, wraps (seq can be near LONG_MAX) */
} acc;

static void check_entry(void *user, const par_joblog_entry *e) {
    acc *a = user;
    if (e->cmdlen && (e->cmd < a->lo || e->cmd + e->cmdlen > a->hi)) abort();
    a->n++;
    a->sum += (uint64_t)e->seq ^ (uint64_t)e->exitval ^ (uint64_t)e->sig;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    acc a = {text, text + size, 0, 0};
    size_t valid = par_joblog_parse(text, size, check_entry, &a);
    if (valid > size || (valid > 0 && text[valid - 1] != '\n')) abort();
    acc b = {text, text + size, 0, 0};
    if (par_joblog_parse(text, valid, check_entry, &b) != valid) abort();
    if (a.n != b.n || a.sum != b.sum) abort();
    free(text);
    return 0;
}
