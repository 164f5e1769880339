# Network aggregation example (issue 8): examples/aggregate/.
set(VPAR_AGG_DIR ${PROJECT_SOURCE_DIR}/examples/aggregate)

# Permutations, --order parsing, CSV/SVG outputs, progress: no EGAD needed.
vpar_add_test(test_aggregate_io
  SOURCES test_aggregate_io.c ${VPAR_AGG_DIR}/aggregate_io.c
  LIBS vpar_examples_common
  LABELS cross)
target_include_directories(test_aggregate_io PRIVATE ${VPAR_AGG_DIR})

if(VPAR_BUILD_EXAMPLES)
  # Sanitizer builds run a reduced matrix (each step costs 10-50x more there);
  # the release build runs everything.
  set(VPAR_AGG_QUICK_ENV "")
  set(VPAR_AGG_CLI_MODE full)
  if(VPAR_SANITIZER)
    set(VPAR_AGG_QUICK_ENV ENV VPAR_TEST_QUICK=1)
    set(VPAR_AGG_CLI_MODE quick)
  endif()
  # The engine through its API: golden fixture, threads, NaN, errors.
  # vpar_egad is defined by examples/egad (added after tests/; resolved at
  # generate time).
  vpar_add_test(test_aggregate
    SOURCES test_aggregate.c ${VPAR_AGG_DIR}/aggregate.c ${VPAR_AGG_DIR}/aggregate_io.c
    LIBS vpar_egad vpar_impl TIMEOUT 300 ${VPAR_AGG_QUICK_ENV})
  target_include_directories(test_aggregate PRIVATE ${VPAR_AGG_DIR})
  # The same tests through the float64 path the engine takes beyond 2^30
  # entries (N > 32768; below that it ranks into uint32 codes): the engine
  # compiled with VPAR_AGG_CODES_MAX=0. Not under the sanitizers (the
  # float64 ranker and EGAD run there in test_rank and test_egad).
  if(NOT VPAR_SANITIZER)
    vpar_add_test(test_aggregate_f64work
      SOURCES test_aggregate.c ${VPAR_AGG_DIR}/aggregate.c ${VPAR_AGG_DIR}/aggregate_io.c
      LIBS vpar_egad vpar_impl TIMEOUT 300)
    target_include_directories(test_aggregate_f64work PRIVATE ${VPAR_AGG_DIR})
    target_compile_definitions(test_aggregate_f64work PRIVATE VPAR_AGG_CODES_MAX=0)
  endif()

  # The program end to end: golden, seeds x workers x threads, validation,
  # resume after SIGINT, the SVG.
  add_test(NAME test_aggregate_cli
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_aggregate_cli.sh
            $<TARGET_FILE:vpar-aggregate> ${CMAKE_CURRENT_SOURCE_DIR}/data /usr/bin/python3
            ${VPAR_AGG_CLI_MODE})
  set_tests_properties(test_aggregate_cli PROPERTIES TIMEOUT 600 LABELS "cli")
endif()
