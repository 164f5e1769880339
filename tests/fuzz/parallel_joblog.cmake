# vpar-parallel fuzz target (issue 14): see fuzz_parallel_joblog.c.
vpar_add_fuzzer(parallel_joblog SOURCES fuzz_parallel_joblog.c LIBS vpar_parallel_core)
