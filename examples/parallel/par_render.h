/* vpar-parallel: the command template and replacement-string rendering.

   The command words are parsed once into a template: literal text and
   replacement strings ({} {.} {/} {//} {/.} {#} {%} and the positional
   {n} forms). Rendering a job fills the template with its arguments,
   shell-quoted exactly as GNU parallel quotes them, giving the line GNU
   prints with --dry-run. Pure: no I/O, no global state. */
#ifndef PAR_RENDER_H
#define PAR_RENDER_H

#include <stddef.h>

#include "par_input.h"
#include "par_util.h"

enum { PAR_SEG_LIT, PAR_SEG_ARG, PAR_SEG_SEQ, PAR_SEG_SLOT };
enum { PAR_MOD_NONE, PAR_MOD_DOT, PAR_MOD_BASE, PAR_MOD_DIR, PAR_MOD_BASEDOT };

typedef struct par_seg {
    int kind, mod, quote;
    long pos; /* 0: all arguments; >0 1-based; <0 from the end; LONG_MAX: none */
    char *lit;
    size_t len;
} par_seg;

typedef struct par_template {
    par_seg *seg;
    size_t n, cap;
} par_template;

typedef struct par_template_opts {
    int quote;           /* -q: the words' literal text is quoted too */
    const char *replace; /* -I STR: STR means every argument; {} and the
                            positional {n} forms are then literal text */
    int raw;             /* --tagstring: values not quoted, nothing appended */
} par_template_opts;

/* Parses the command words (joined by spaces). Without any replacement
   string " {}" is appended; without words the argument itself is the
   command. When the first word holds a replacement string, no value is
   quoted (GNU's rule). A `{= ... =}` Perl expression is an error. Returns 0, or -1
   with a message in err. */
int par_template_build(par_template *t, char **words, int nwords, const par_template_opts *opts,
                       char *err, size_t errlen);
void par_template_free(par_template *t);

/* Recognises a replacement string at s ("{...}"); fills sg and returns
   its length, or returns 0. */
size_t par_parse_rpl(const char *s, par_seg *sg);

/* The command of job `seq` in job slot `slot` with arguments a, into cmd
   (tmp: scratch space). */
void par_render(par_buf *cmd, const par_template *t, const par_args *a, size_t seq, int slot,
                par_buf *tmp);
/* --tag's prefix: the arguments joined by spaces, then a TAB. */
void par_render_tag(par_buf *tag, const par_args *a);

/* Appends s[0..n) shell-quoted as GNU parallel does: unchanged when it is
   made of [A-Za-z0-9_+./-] only, '' when empty, else in single quotes
   with ' written '"'"'. */
void par_shell_quote(par_buf *b, const char *s, size_t n);
/* The value of a replacement string with modifier mod (PAR_MOD_*) for s. */
void par_apply_mod(par_buf *out, const char *s, int mod);

#endif
