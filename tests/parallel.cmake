# vpar-parallel (examples/parallel, issue 9): compatibility test against GNU
# parallel itself (tests/parallel_compat.sh). Skipped (exit 77) when GNU
# parallel is not installed; needs the example built (Linux, examples on).
# Only the unsanitized trees run it: vpar-parallel is single-threaded (one
# poll loop), so ThreadSanitizer has nothing to check there, and under
# ASan+UBSan the same code paths are exercised by parallel_options and
# parallel_fault (which need no GNU parallel); most of this test's ~100 s is
# GNU parallel's own start-up, which CI (issue 14: under 25 minutes) pays
# once, in the release tree.
if(VPAR_BUILD_EXAMPLES AND CMAKE_SYSTEM_NAME STREQUAL "Linux" AND NOT CMAKE_CROSSCOMPILING
   AND NOT VPAR_SANITIZER)
  find_program(VPAR_BASH bash)
  if(VPAR_BASH)
    add_test(NAME parallel_compat
             COMMAND ${VPAR_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/parallel_compat.sh
                     $<TARGET_FILE:vpar-parallel>)
    # GNU parallel starts in ~0.2 s on an idle machine (seconds on a loaded
    # one) and the test runs ~90 invocations of it.
    set_tests_properties(parallel_compat PROPERTIES
      SKIP_RETURN_CODE 77 TIMEOUT 600 LABELS "parallel")
  endif()
endif()

# vpar-parallel fault injection (issue 14): background descendants holding
# the job's stdout under --timeout/SIGINT/SIGTERM, a stalled stdout +
# SIGTERM, the joblog on a full disk (EFBIG) and --resume, torn joblog
# lines, fds 0-2 closed, -j beyond RLIMIT_NOFILE, SIGQUIT and a fatal error
# mid-run. Needs no GNU parallel.
if(VPAR_BUILD_EXAMPLES AND CMAKE_SYSTEM_NAME STREQUAL "Linux" AND NOT CMAKE_CROSSCOMPILING
   AND NOT VPAR_SANITIZER STREQUAL "tsan")
  find_program(VPAR_BASH bash)
  if(VPAR_BASH)
    add_test(NAME parallel_fault
             COMMAND ${VPAR_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/parallel_fault.sh
                     $<TARGET_FILE:vpar-parallel>)
    set_tests_properties(parallel_fault PROPERTIES TIMEOUT 600 LABELS "parallel")
  endif()
endif()

# bench/run_all.sh NAME finds the runner listing NAME (the --list | grep -q
# SIGPIPE bug under pipefail).
find_program(VPAR_BASH bash)
if(VPAR_BASH)
  add_test(NAME bench_run_all
           COMMAND ${VPAR_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/bench_run_all.sh
                   ${PROJECT_SOURCE_DIR}/bench/run_all.sh)
  set_tests_properties(bench_run_all PROPERTIES TIMEOUT 120)
endif()

# Unit tests of vpar-parallel's pure parts (rendering, input combination,
# --colsep, joblog reader, median): run without GNU parallel.
if(VPAR_BUILD_EXAMPLES AND CMAKE_SYSTEM_NAME STREQUAL "Linux" AND NOT CMAKE_CROSSCOMPILING)
  vpar_add_test(test_parallel_core SOURCES test_parallel_core.c LIBS vpar_parallel_core
                LABELS parallel TIMEOUT 60)
endif()

# vpar-parallel's options one by one (issue 18), on vpar-parallel alone.
if(VPAR_BUILD_EXAMPLES AND CMAKE_SYSTEM_NAME STREQUAL "Linux" AND NOT CMAKE_CROSSCOMPILING
   AND NOT VPAR_SANITIZER STREQUAL "tsan")
  find_program(VPAR_BASH bash)
  if(VPAR_BASH)
    add_test(NAME parallel_options
             COMMAND ${VPAR_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/parallel_options.sh
                     $<TARGET_FILE:vpar-parallel>)
    set_tests_properties(parallel_options PROPERTIES TIMEOUT 300 LABELS "parallel")
  endif()
endif()
