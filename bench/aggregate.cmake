# Aggregation benchmarks (issue 8): runner bench/aggregate/run.
if(TARGET vpar_egad)
  set(VPAR_AGG_DIR ${PROJECT_SOURCE_DIR}/examples/aggregate)
  add_executable(bench_aggregate_step ${CMAKE_CURRENT_LIST_DIR}/aggregate/bench_aggregate_step.c
                 ${VPAR_AGG_DIR}/aggregate.c ${VPAR_AGG_DIR}/aggregate_io.c)
  target_include_directories(bench_aggregate_step PRIVATE ${VPAR_AGG_DIR})
  target_link_libraries(bench_aggregate_step PRIVATE vpar_egad vpar_warnings)
endif()
