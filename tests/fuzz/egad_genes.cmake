# The genes list reader (vpar_egad_read_genes: plain or gzip text).
vpar_add_fuzzer(egad_genes SOURCES fuzz_egad_genes.c LIBS vpar_egad vpar_impl)
