# The pandas HDF5 frame reader's checks (examples/egad/hdf5.c): only when
# libhdf5 was found (the reader is a stub otherwise). The target writes the
# frames it checks with libhdf5, so it needs hdf5.h too.
if(VPAR_EGAD_HAVE_HDF5)
  vpar_add_fuzzer(egad_hdf5 SOURCES fuzz_egad_hdf5.c LIBS vpar_egad vpar_impl)
  find_package(HDF5 QUIET COMPONENTS C)
  foreach(t fuzz_egad_hdf5 fuzz_replay_egad_hdf5)
    if(TARGET ${t})
      target_include_directories(${t} PRIVATE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
      target_compile_definitions(${t} PRIVATE ${HDF5_C_DEFINITIONS})
      # It writes frames itself (vpar_egad may load libhdf5 only at run time).
      target_link_libraries(${t} PRIVATE ${HDF5_C_LIBRARIES})
    endif()
  endforeach()
endif()
