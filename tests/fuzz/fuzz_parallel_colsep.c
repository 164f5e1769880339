/* libFuzzer target: vpar-parallel's --colsep compilation and splitting
   (examples/parallel/par_input.c). Input: the separator spec up to the
   first '\n', then the string to split. Checks: no crash/UB/leak; with a
   single literal separator character the pieces joined by it give the
   string back; with a regular expression every piece is a substring of
   the input, in order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "par_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    char *nl = strchr(text, '\n');
    const char *subject = "";
    if (nl) {
        *nl = 0;
        subject = nl + 1;
    }
    par_colsep c;
    char err[512];
    if (par_colsep_compile(&c, text, err, sizeof err) == 0) {
        par_args a = {0};
        par_colsep_split(&c, &a, subject);
        par_args_finish(&a);
        if (a.n < 1) abort();
        if (c.mode == 1) {
            size_t len = 0;
            for (size_t k = 0; k < a.n; k++) len += strlen(a.v[k]) + (k > 0);
            if (len != strlen(subject)) abort();
            const char *p = subject;
            for (size_t k = 0; k < a.n; k++) {
                size_t l = strlen(a.v[k]);
                if (strncmp(p, a.v[k], l)) abort();
                p += l;
                if (k + 1 < a.n && *p++ != c.ch) abort();
            }
        } else if (c.mode == 2) {
            const char *p = subject;
            for (size_t k = 0; k < a.n; k++) {
                const char *f = strstr(p, a.v[k]);
                if (!f) abort();
                p = f + strlen(a.v[k]);
            }
        }
        par_args_free(&a);
        par_colsep_free(&c);
    }
    free(text);
    return 0;
}
