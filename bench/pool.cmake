# Thread pool benchmarks (issue 4): vpar against libgomp in one program.
find_package(OpenMP COMPONENTS C)
if(OpenMP_C_FOUND)
  add_executable(bench_pool pool/bench_pool.c)
  target_link_libraries(bench_pool PRIVATE vpar::vpar vpar_warnings OpenMP::OpenMP_C m)
else()
  message(WARNING "bench/pool: OpenMP not found, the pool benchmarks are not built")
endif()
