# The pandas HDF5 frame reader's checks (examples/egad/hdf5.c): only when
# libhdf5 was found (the reader is a stub otherwise).
if(VPAR_EGAD_HAVE_HDF5)
  vpar_add_fuzzer(egad_hdf5 SOURCES fuzz_egad_hdf5.c LIBS vpar_egad)
endif()
