# MPI task farm benchmark (issue 16): runner bench/farm/run.
if(VPAR_HAVE_MPI)
  add_executable(bench_farm ${CMAKE_CURRENT_LIST_DIR}/farm/bench_farm.c)
  target_link_libraries(bench_farm PRIVATE vpar::farm vpar_warnings)
endif()
