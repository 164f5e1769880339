# The EGAD annotation reader: TSV/GAF text (examples/egad/annotations.c).
vpar_add_fuzzer(egad_annotations SOURCES fuzz_egad_annotations.c LIBS vpar_egad vpar_impl)
