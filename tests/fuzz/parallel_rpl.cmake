# vpar-parallel fuzz target (issue 14): see fuzz_parallel_rpl.c.
vpar_add_fuzzer(parallel_rpl SOURCES fuzz_parallel_rpl.c LIBS vpar_parallel_core)
