# Documented CLI options that no other test passes (issue 18): vpar-egad's and
# vpar-aggregate's annotation/HDF5/EGAD options, vpar-aggregate --version/-s/-o,
# vpar-simnet --module-frac/--strength/--dtype, against the reference
# fixtures and the Python references in bench/ (tests/test_cli_options.py).
# Exit 77 (skipped) without numpy/pandas/scipy/bottleneck/tables or HDF5.
# Not in the tsan tree: option parsing is single-threaded and the script runs
# the programs ~100 times (10 minutes under TSan on 2 cores, the CI budget);
# the programs' threads are covered there by test_egad/test_aggregate(_cli).
if(VPAR_BUILD_EXAMPLES AND NOT CMAKE_CROSSCOMPILING AND NOT VPAR_SANITIZER STREQUAL "tsan")
  find_program(VPAR_SYSTEM_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(VPAR_SYSTEM_PYTHON)
    add_test(NAME test_cli_options
      COMMAND ${VPAR_SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_options.py
              $<TARGET_FILE:vpar-egad> $<TARGET_FILE:vpar-aggregate> $<TARGET_FILE:vpar-simnet>
              ${CMAKE_CURRENT_SOURCE_DIR}/data ${PROJECT_SOURCE_DIR})
    set_tests_properties(test_cli_options PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900 LABELS "cli")
  endif()
endif()

# One consistent CLI across the six programs, vpar-egad interrupted by real
# signals and resumed, the docs' claims about -p and the demo (issue 15;
# tests/test_cli_consistency.py, ~20 s). Exit 77 (skipped) without numpy.
# Not in the tsan tree either (CI budget; same reason as above).
if(VPAR_BUILD_EXAMPLES AND NOT CMAKE_CROSSCOMPILING AND VPAR_SYSTEM_PYTHON
   AND NOT VPAR_SANITIZER STREQUAL "tsan")
  add_test(NAME test_cli_consistency
    COMMAND ${VPAR_SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_consistency.py ${PROJECT_SOURCE_DIR}
            $<TARGET_FILE:vpar-egad> $<TARGET_FILE:vpar-aggregate> $<TARGET_FILE:vpar-rank>
            $<TARGET_FILE:vpar-simnet> $<TARGET_FILE:vpar-parallel> $<TARGET_FILE:vpar-rowsums>)
  set_tests_properties(test_cli_consistency PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS "cli")
endif()
