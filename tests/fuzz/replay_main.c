/* Replays fuzz inputs without libFuzzer: links with a fuzz target
   (LLVMFuzzerTestOneInput) into fuzz_replay_<name>, which ctest runs on
   every file of tests/fuzz/corpus/<name>/ and tests/fuzz/regressions/<name>/
   in every test build (gcc, ASan, TSan). Arguments: files or directories
   (a missing directory is skipped: a target may have no regressions yet).
   Fails when no input at all was found (a misnamed corpus would otherwise
   pass by testing nothing). A crash or sanitizer report fails the test. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static long run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
        exit(1);
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) { fprintf(stderr, "%s: out of memory\n", path); exit(1); }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        cap *= 2;
        buf = realloc(buf, cap);
    }
    fclose(f);
    /* An exact-size copy, so that ASan sees reads past the input's end. */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) { fprintf(stderr, "%s: out of memory\n", path); exit(1); }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 1;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static long run_path(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return 0;  /* no such directory: nothing to replay */
    if (!S_ISDIR(st.st_mode)) return run_file(path);
    DIR *d = opendir(path);
    if (!d) { fprintf(stderr, "%s: cannot open directory: %s\n", path, strerror(errno)); exit(1); }
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (count == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof *names);
            if (!names) { fprintf(stderr, "out of memory\n"); exit(1); }
        }
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        names[count] = malloc(len);
        if (!names[count]) { fprintf(stderr, "out of memory\n"); exit(1); }
        snprintf(names[count], len, "%s/%s", path, e->d_name);
        count++;
    }
    closedir(d);
    if (count > 1) qsort(names, count, sizeof *names, cmp_str);  /* same order on every run */
    long ran = 0;
    for (size_t i = 0; i < count; i++) {
        ran += run_path(names[i]);
        free(names[i]);
    }
    free(names);
    return ran;
}

int main(int argc, char **argv) {
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    long ran = 0;
    for (int i = 1; i < argc; i++) ran += run_path(argv[i]);
    printf("replayed %ld inputs\n", ran);
    if (ran == 0) {
        fprintf(stderr, "no inputs found in the given corpus/regression directories\n");
        return 1;
    }
    return 0;
}
