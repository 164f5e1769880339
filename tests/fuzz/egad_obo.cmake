# The OBO ontology reader behind --obo (examples/egad/obo.c).
vpar_add_fuzzer(egad_obo SOURCES fuzz_egad_obo.c LIBS vpar_egad vpar_impl)
