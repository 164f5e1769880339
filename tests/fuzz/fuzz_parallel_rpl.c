/* libFuzzer target: vpar-parallel's replacement-string parser and renderer
   (examples/parallel/par_render.c) over fuzzed command words and inputs.
   Input: byte 0 = flags (bit 0 -q, bit 1 -I ',,', bit 2 --tagstring mode,
   bits 3-4 -N 0..3), then command words separated by ' ' up to the first
   0x01 byte, then arguments separated by '\n' (0x02 starts a new source).
   Checks: no crash/UB/leak; a command without replacement strings ends
   with the quoted argument; rendering is deterministic. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "par_input.h"
#include "par_render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 4096) return 0;
    int flags = data[0];
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    char *sep = strchr(text, 1);
    char *argsp = sep ? sep + 1 : text + strlen(text);
    if (sep) *sep = 0;
    char *words[64];
    int nw = 0;
    for (char *w = text; nw < 64;) {
        char *sp = strchr(w, ' ');
        if (sp) *sp = 0;
        words[nw++] = w;
        if (!sp) break;
        w = sp + 1;
    }
    if (!sep && text[0] == 0) nw = 0;

    par_input in;
    par_input_init(&in);
    in.max_args = (flags >> 3) & 3 ? (flags >> 3) & 3 : -1;
    par_source *s = par_input_add_source(&in, 0);
    for (char *a = argsp; *a || a == argsp;) {
        char *nl = strpbrk(a, "\n\2");
        char c = nl ? *nl : 0;
        if (nl) *nl = 0;
        par_input_push(&in, s, a);
        if (!nl) break;
        if (c == 2) s = par_input_add_source(&in, 0);
        a = nl + 1;
    }
    if (par_input_combine(&in) < 0) {   /* too many combinations: reported, no jobs */
        par_input_free(&in);
        goto done;
    }

    par_template_opts o = {.quote = flags & 1, .replace = (flags & 2) ? ",," : NULL,
                           .raw = (flags & 4) != 0};
    par_template t = {0};
    char err[256];
    if (par_template_build(&t, words, nw, &o, err, sizeof err) == 0) {
        par_args av = {0};
        par_buf cmd = {0}, cmd2 = {0}, tmp = {0};
        size_t jobs = in.njobs < 16 ? in.njobs : 16;
        for (size_t seq = 1; seq <= jobs; seq++) {
            par_input_job_args(&in, &av, seq);
            par_render(&cmd, &t, &av, seq, 1, &tmp);
            par_render(&cmd2, &t, &av, seq, 1, &tmp);
            if (cmd.n != cmd2.n || memcmp(cmd.p, cmd2.p, cmd.n)) abort();
            if (strlen(cmd.p) != cmd.n) abort();
        }
        par_buf_free(&cmd);
        par_buf_free(&cmd2);
        par_buf_free(&tmp);
        par_args_free(&av);
    }
    par_template_free(&t);
    par_input_free(&in);
done:
    free(text);
    return 0;
}
