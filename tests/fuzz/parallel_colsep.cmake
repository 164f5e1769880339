# vpar-parallel fuzz target (issue 14): see fuzz_parallel_colsep.c.
vpar_add_fuzzer(parallel_colsep SOURCES fuzz_parallel_colsep.c LIBS vpar_parallel_core)
