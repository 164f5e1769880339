# EGAD example tests (issue 7): the core API (test_egad), the gzip fallback
# without zlib (test_egad_nozlib: same source built without zlib; its
# VPAR_TEST_FILTER limits it to the gzip tests only with the built-in
# harness; under Check, which ignores that variable, it runs every test) and the
# program vpar-egad end to end (test_egad_cli: golden outputs, -j/-t,
# failing and crashing networks, bad input). Need the examples.
if(NOT VPAR_BUILD_EXAMPLES)
  return()
endif()
vpar_add_test(test_egad SOURCES test_egad.c LIBS vpar_egad vpar_impl TIMEOUT 300)
# The tsan tree (CI budget: ~4 of its 6 minutes on 2 cores) runs only
# test_egad: the zlib-less build and the program's CLI paths are not about
# threads (the CLI's worker processes and threads are test_egad's code).
if(NOT VPAR_SANITIZER STREQUAL "tsan")
  vpar_add_test(test_egad_nozlib SOURCES test_egad.c LIBS vpar_egad_nozlib vpar_impl TIMEOUT 120
                ENV VPAR_TEST_FILTER=test_annotations_gzip)
  target_compile_definitions(test_egad_nozlib PRIVATE VPAR_EGAD_TEST_NO_ZLIB=1)
  vpar_add_test(test_egad_cli SOURCES test_egad_cli.c LIBS vpar_egad vpar_impl TIMEOUT 300)
  target_compile_definitions(test_egad_cli PRIVATE
    VPAR_EGAD_EXE="$<TARGET_FILE:vpar-egad>" VPAR_SIMNET_EXE="$<TARGET_FILE:vpar-simnet>"
    VPAR_EGAD_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_dependencies(test_egad_cli vpar-egad vpar-simnet)
  if(VPAR_EGAD_HDF5_SONAME)
    target_compile_definitions(test_egad_cli PRIVATE VPAR_EGAD_TEST_HDF5_LAZY=1)
  endif()
endif()

# Annotation columns by header names, GAF NOT, --nfold >= 2 (issue 15).
vpar_add_test(test_egad_columns SOURCES test_egad_columns.c LIBS vpar_egad vpar_impl TIMEOUT 60)
target_compile_definitions(test_egad_columns PRIVATE VPAR_EGAD_EXE="$<TARGET_FILE:vpar-egad>")
add_dependencies(test_egad_columns vpar-egad)

# Inputs users have (issue 15): pandas HDF5 frames (integer labels, bool
# frames, filters, keys; made at test time by egad_inputs_make.py, skipped
# without pandas), checks before computing, GAF aspects and OBO
# propagation.
vpar_add_test(test_egad_inputs SOURCES test_egad_inputs.c LIBS vpar_egad vpar_impl TIMEOUT 120)
target_compile_definitions(test_egad_inputs PRIVATE VPAR_EGAD_EXE="$<TARGET_FILE:vpar-egad>"
  VPAR_AGGREGATE_EXE="$<TARGET_FILE:vpar-aggregate>"
  VPAR_INPUTS_MAKE="${CMAKE_CURRENT_SOURCE_DIR}/egad_inputs_make.py")
add_dependencies(test_egad_inputs vpar-egad vpar-aggregate)
if(TARGET test_egad_inputs)
  add_test(NAME test_egad_inputs_hdf5 COMMAND test_egad_inputs hdf5)
  set_tests_properties(test_egad_inputs_hdf5 PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
endif()
