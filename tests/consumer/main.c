/* Uses the installed headers: writes and reads back a .npy file. */
#define VPAR_IMPLEMENTATION
#include "vpar.h"
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "consumer.npy";
    double v[6] = {1, 2, 3, 4, 5, 6};
    size_t shape[2] = {2, 3};
    vpar_npy a;
    if (vpar_npy_write(path, v, VPAR_DTYPE_F64, 2, shape) != VPAR_OK ||
        vpar_npy_open(&a, path, 0) != VPAR_OK) {
        fprintf(stderr, "consumer: %s\n", vpar_last_error());
        return 1;
    }
    int ok = a.count == 6 && ((const double *)a.data)[5] == 6.0;
    vpar_npy_close(&a);
    unlink(path);
    printf("consumer (vpar %s): %s\n", VPAR_VERSION_STRING, ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
