# Ranker benchmark program (issue 5); runner: bench/rank/run.
add_executable(vpar-rank-bench ${CMAKE_CURRENT_SOURCE_DIR}/rank/bench_rank.c)
target_link_libraries(vpar-rank-bench PRIVATE vpar::vpar vpar_warnings)
set_target_properties(vpar-rank-bench PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
