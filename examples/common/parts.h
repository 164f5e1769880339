/* parts.h — the manifest each shard of a job-array run writes next to its
   outputs, and the merge that turns a directory of parts into the outputs
   of one run (vpar-egad --merge, vpar-aggregate --merge).

   A shard (shard.h) of a program computes its items and writes each item's
   output file into the output directory exactly as a one-machine run would
   (DIR/<network>.csv, DIR/permute_network_performance_<i>.csv). After each
   finished item it rewrites, atomically, its manifest
   DIR/vpar-part-<I>-of-<N>.txt:

       vpar-part 1
       program vpar-egad
       config 3f0c9a1e5b7d2c44          (vpar_ex_confighash of inputs + options)
       shard 2 4
       items 6
       item 0 nw_00                     (every item of the whole job, by index)
       ...
       meta datasets=6                  (what the merge needs, program-defined)
       ...
       done 1 nw_01.csv 41233 8c1f... ok:4458:0.78:2.1  (index, file or '-',
                                        size, FNV-1a 64 of it, item meta)
       end

   The last line `end` marks a complete manifest (a file without it is torn
   and rejected by name). The merge reads every vpar-part-*-of-*.txt in DIR,
   requires one program, one config hash, one shard count and one item list
   across them (a part from other inputs or options is a mismatch, an item
   done in two parts a duplicate: both refused, naming the files), re-hashes
   every done file, and reports the items not done with the shards that own
   them as an array spec ready to resubmit (`--array=3,7,12-14`). */
#ifndef VPAR_EX_PARTS_H
#define VPAR_EX_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include "shard.h"

typedef struct vpar_ex_part_item {
    char *name;     /* item name (network or permutation number) */
    char *file;     /* output file relative to the directory, when done;
                       "-" for an item without one */
    char *meta;     /* the program's note on the item (no whitespace), or NULL */
    uint64_t size, hash;
    int done;       /* 1 when a part lists it done and the file verified */
    unsigned long shard; /* shard that owns it (1-based) */
} vpar_ex_part_item;

/* A shard's manifest, in memory. */
typedef struct vpar_ex_parts {
    char program[64];
    char config[17];
    vpar_ex_shard shard;  /* for a shard's own manifest */
    size_t nitems;
    vpar_ex_part_item *items;
    size_t nmeta;      /* job-wide tokens, part of the job's identity */
    char **meta;
} vpar_ex_parts;

/* Starts a manifest for shard `s` of `program` with the job's item names.
   Returns 0, or -1 (out of memory). */
int vpar_ex_parts_init(vpar_ex_parts *p, const char *program, const char *config_hex,
                    const vpar_ex_shard *s, const char *const *names, size_t nitems);

/* Appends a job-wide meta token (no whitespace; compared across parts).
   Returns 0, or -1 (bad token or out of memory). */
int vpar_ex_parts_add_meta(vpar_ex_parts *p, const char *token);

/* Frees what init/read/merge allocated; a zeroed struct is fine. */
void vpar_ex_parts_free(vpar_ex_parts *p);

/* Path of shard s's manifest in dir: "<dir>/vpar-part-<I>-of-<N>.txt".
   Returns the length like snprintf. */
int vpar_ex_parts_path(char *buf, size_t len, const char *dir, const vpar_ex_shard *s);

/* Marks item done with its output file (relative to dir; "-" for none) and
   the program's meta token (NULL: none): hashes the file, then rewrites the
   manifest atomically. Returns 0, or -1 with the reason in err (names the
   file). */
int vpar_ex_parts_done(vpar_ex_parts *p, const char *dir, size_t item, const char *file,
                       const char *meta, char *err, size_t errlen);

/* Writes the manifest as it is (atomically). 0 or -1 with err. */
int vpar_ex_parts_write(const vpar_ex_parts *p, const char *dir, char *err, size_t errlen);

/* Reads one manifest (pure parser over text: `name` is used in messages).
   Returns 0 or -1 with "<name>:<line>: <what is wrong>" in err. */
int vpar_ex_parts_parse(vpar_ex_parts *p, const char *text, size_t len, const char *name, char *err,
                     size_t errlen);

/* Reads a shard's own manifest for --resume: 0 and *p filled (items done
   there keep done = 1 only when their file still has the recorded size and
   hash), 1 when there is none, -1 with err on a bad or foreign manifest
   (other program, config or item list than `expect`). */
int vpar_ex_parts_load_own(vpar_ex_parts *p, const char *dir, const vpar_ex_parts *expect, char *err,
                        size_t errlen);

/* Merge: reads every manifest of `program` in dir into *out (one item list,
   done flags from all parts, each file verified). Returns 0 when every item
   is done, 1 when some are missing (out->items[i].done == 0 for them), -1
   with err on no parts, a torn part, a mismatch or a duplicate. */
int vpar_ex_parts_merge(vpar_ex_parts *out, const char *dir, const char *program, char *err,
                     size_t errlen);

/* The shards owning the missing items of a merged *p as an array spec
   ("3,7,12-14") in buf; returns the number of missing items. */
size_t vpar_ex_parts_missing_spec(const vpar_ex_parts *p, char *buf, size_t len);

#endif
