# Process pool + shared-memory map (issue 6).
if(CMAKE_CROSSCOMPILING)
  return()  # not a `cross` test: qemu-user cannot run the forked workers' signals faithfully
endif()
add_executable(procpool_sigint_helper procpool_sigint_helper.c)
target_link_libraries(procpool_sigint_helper PRIVATE vpar::vpar vpar_warnings)
vpar_add_test(test_procpool SOURCES test_procpool.c TIMEOUT 240)
target_compile_definitions(test_procpool PRIVATE
  VPAR_PROCPOOL_SIGINT_HELPER="$<TARGET_FILE:procpool_sigint_helper>")
add_dependencies(test_procpool procpool_sigint_helper)
