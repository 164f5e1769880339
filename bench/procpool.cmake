# Process pool benchmarks (issue 6): runner bench/procpool/run.
add_executable(bench_procpool ${CMAKE_CURRENT_LIST_DIR}/procpool/bench_procpool.c)
target_link_libraries(bench_procpool PRIVATE vpar::vpar vpar_warnings)
