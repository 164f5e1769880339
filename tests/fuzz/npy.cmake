# The .npy header parser and reader (vpar_npy_parse_header, vpar_npy_open).
vpar_add_fuzzer(npy SOURCES fuzz_npy.c)
