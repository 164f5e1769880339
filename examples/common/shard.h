/* shard.h — splitting a program's work items over the tasks of a job array
   (Slurm `--array`, Grid Engine `qsub -t`), and the bookkeeping a merge step
   needs: the configuration hash written into every part, and the array spec
   of the parts still missing.

   Items are numbered 0..n-1 (networks in command-line order, permutations
   1..P as item i-1). Shard I of N (1-based) owns the items i with
   i % N == I - 1: round-robin, so shards get the same number of items
   (within one) whatever their order of cost, and item i's shard is
   i % N + 1 whatever n is. A shard computes exactly what a one-machine run
   computes for its items, so every split gives the same numbers.

   --shard forms:
     I/N      shard I of N, explicit (1 <= I <= N).
     auto     from the job array's environment: Slurm
              SLURM_ARRAY_TASK_ID/_COUNT/_MIN (and _MAX/_STEP when set) or
              Grid Engine SGE_TASK_ID/_FIRST/_LAST/_STEPSIZE (SGE sets
              "undefined" outside arrays). The array must be a range
              (1-N, 0-9, 1-20:2): shard I is the I-th task of the range.
     auto/N   N shards, shard I = the array task id itself (1..N). This is
              the form the templates in examples/cluster use: a resubmission
              of only the missing shards (`--array=3,7,12-14`, which is not
              a range) still knows N and each task's shard.
   Functions here are pure (the environment comes through `env`) and
   thread-safe. */
#ifndef VPAR_EX_SHARD_H
#define VPAR_EX_SHARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct vpar_ex_shard {
    unsigned long index; /* 1-based */
    unsigned long count; /* >= 1; {1, 1} is the whole job */
} vpar_ex_shard;

typedef char *(*vpar_ex_shard_getenv_fn)(const char *name); /* getenv */

/* Parses a --shard argument (forms above) into *out. `env` is getenv in the
   programs and a table in the tests. Returns 0, or -1 with a one-line reason
   in err ("--shard '3/2': shard index must be between 1 and 2"). */
int vpar_ex_shard_parse(const char *arg, vpar_ex_shard_getenv_fn env, vpar_ex_shard *out, char *err,
                     size_t errlen);

/* 1 when shard s owns item (0-based). */
int vpar_ex_shard_owns(const vpar_ex_shard *s, size_t item);

/* The shard (1-based) that owns item among `count` shards. */
unsigned long vpar_ex_shard_of(size_t item, unsigned long count);

/* Writes ids (any order, repeats allowed) as a compact array spec, ascending
   with runs of 3+ collapsed: {3,7,12,13,14} -> "3,7,12-14"; {1,2} -> "1,2".
   Like snprintf: returns the length the whole spec needs (excluding the NUL),
   writes at most len bytes including the NUL. Sorts `ids` in place. */
size_t vpar_ex_array_spec(unsigned long *ids, size_t n, char *buf, size_t len);

/* Configuration hash: 64-bit FNV-1a over labelled fields (file contents
   enter as their XXH64), written into every part of a sharded run and
   compared by the merge. Feed the options and the identity of the inputs
   that change results; not the shard, -j or -t. */
typedef struct vpar_ex_confighash {
    uint64_t h;
} vpar_ex_confighash;

void vpar_ex_confighash_init(vpar_ex_confighash *c);
void vpar_ex_confighash_bytes(vpar_ex_confighash *c, const char *label, const void *p, size_t n);
void vpar_ex_confighash_str(vpar_ex_confighash *c, const char *label, const char *s);
void vpar_ex_confighash_u64(vpar_ex_confighash *c, const char *label, uint64_t v);
/* Hashes a file's whole content under `label` (fields "file", "size",
   "content": its XXH64). Returns 0, or -1 with errno set (the caller names
   the file in its message). */
int vpar_ex_confighash_file(vpar_ex_confighash *c, const char *label, const char *path);
/* Formats a message into err (when err and len) and returns -1: the error
   path of the functions here. */
int vpar_ex_errmsg(char *err, size_t len, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* FNV-1a 64 over n bytes, continuing from h (start from
   VPAR_EX_FNV_OFFSET). */
#define VPAR_EX_FNV_OFFSET 0xcbf29ce484222325ULL
uint64_t vpar_ex_fnv1a(uint64_t h, const void *p, size_t n);
/* XXH64, xxHash's 64-bit hash (the reference implementation's values:
   `xxhsum -H1`, python's xxhash.xxh64), fed in pieces: for file contents,
   which FNV-1a's byte-serial multiplications would read at ~4 cycles a
   byte (xxHash's four lanes: well under one). Any thread; a state is one
   thread's. */
typedef struct vpar_ex_xxh64_state {
    uint64_t v[4], total, seed;
    unsigned char mem[32];  /* the bytes of an unfinished 32-byte stripe */
    unsigned memsize;
} vpar_ex_xxh64_state;
void vpar_ex_xxh64_init(vpar_ex_xxh64_state *s, uint64_t seed);
void vpar_ex_xxh64_update(vpar_ex_xxh64_state *s, const void *p, size_t n);
uint64_t vpar_ex_xxh64_digest(const vpar_ex_xxh64_state *s);
/* One-shot: XXH64 of n bytes. */
uint64_t vpar_ex_xxh64(const void *p, size_t n, uint64_t seed);
/* XXH64 (seed 0) of a file's whole content into *hash, and its size into
   *size. Returns 0, or -1 with errno set. */
int vpar_ex_hash_file(const char *path, uint64_t *size, uint64_t *hash);
/* An input too big to read whole (a network): its file name (no
   directory: staging to node-local disk keeps the identity), size and the
   XXH64 of its first MiB (the .npy header and the first rows), as the
   fields "input", "name", "size", "head" (a u64). 0, or -1 with errno. */
int vpar_ex_confighash_input(vpar_ex_confighash *c, const char *label, const char *path);

/* 1 when this process was started by an MPI launcher (mpirun/mpiexec of
   OpenMPI or MPICH/Hydra, srun with PMI/PMIx): one of
   OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMI_RANK, PMIX_RANK is set. The programs
   then run as ranks of a farm; without a launcher they never initialise
   MPI (so an MPI build runs as before, at the same speed). */
int vpar_ex_mpi_launched(vpar_ex_shard_getenv_fn env);

/* Replaces this process by the program `name` that lies beside it (the
   directory of /proc/self/exe, else of argv[0] when that names a path),
   with the same arguments and environment: the programs built with MPI
   keep it in a sibling (vpar-egad-mpi, vpar-aggregate-mpi) that they run
   when an MPI launcher started them, so that the plain program does not
   load libmpi (~2 ms and a dozen libraries at every start). Returns only
   on failure: -1 with errno, the path tried in path[cap]. */
int vpar_ex_exec_sibling(char *const *argv, const char *name, char *path, size_t cap);
/* The programs' use of it: when an MPI launcher started this process (or
   `wanted`: --journal), runs the sibling `name`; when that fails, says so
   on stderr as `prog` and returns VPAR_EX_EXIT_USAGE. 0 otherwise. */
int vpar_ex_mpi_run_sibling(int wanted, char *const *argv, const char *prog, const char *name);

/* The Open MPI point-to-point layer to ask for before MPI_Init, or NULL to
   leave the choice to MPI: "ob1" (shared memory between the ranks) when
   Open MPI's launcher put every rank on this node (OMPI_COMM_WORLD_SIZE ==
   OMPI_COMM_WORLD_LOCAL_SIZE), nobody chose the transports
   (OMPI_MCA_pml, OMPI_MCA_mtl, OMPI_MCA_btl unset; `mpirun --mca pml X`
   sets them too) and VPAR_MPI_KEEP_TRANSPORTS is unset or 0. Open MPI's
   default otherwise probes the network fabrics (libfabric, PSM, UCX) in
   MPI_Init: about 0.2 s of a 0.3 s MPI_Init with Debian's Open MPI 4.1,
   for links a single-node job never uses. Across nodes, under srun (no
   OMPI_COMM_WORLD_* before MPI_Init) and under MPICH: NULL. */
const char *vpar_ex_mpi_local_pml(vpar_ex_shard_getenv_fn env);
/* Called right before MPI_Init: sets OMPI_MCA_pml to
   vpar_ex_mpi_local_pml(getenv) when that is not NULL. */
void vpar_ex_mpi_before_init(void);

/* The hash as 16 lowercase hex digits + NUL. */
void vpar_ex_confighash_hex(const vpar_ex_confighash *c, char out[17]);

#endif
