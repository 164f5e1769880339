# Process pool + shared-memory map (issue 6).
if(CMAKE_CROSSCOMPILING)
  return()  # not a `cross` test: qemu-user cannot run the forked workers' signals faithfully
endif()
add_executable(procpool_sigint_helper procpool_sigint_helper.c)
target_link_libraries(procpool_sigint_helper PRIVATE vpar_impl vpar_warnings)
vpar_add_test(test_procpool SOURCES test_procpool.c TIMEOUT 240)
target_compile_definitions(test_procpool PRIVATE
  VPAR_PROCPOOL_SIGINT_HELPER="$<TARGET_FILE:procpool_sigint_helper>")
add_dependencies(test_procpool procpool_sigint_helper)

# Fault injection and regression tests (issue 14). The namespace scenarios
# need a private mount namespace (root or CAP_SYS_ADMIN): exit code 77 =
# skipped, reported as SKIP by ctest.
vpar_add_test(test_procpool_faults SOURCES test_procpool_faults.c TIMEOUT 300)
if(TARGET test_procpool_faults)
  target_link_libraries(test_procpool_faults PRIVATE pthread)
  foreach(scenario noproc smallshm)
    add_test(NAME procpool_${scenario} COMMAND test_procpool_faults ${scenario})
    set_tests_properties(procpool_${scenario} PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77)
  endforeach()
endif()

# The same fault tests without pidfds (VPAR_PROCPOOL_NO_PIDFD): the polling
# fallback of kernels < 5.3 and seccomp filters, incl. destroy's escalation
# to SIGKILL of a worker stuck in its initializer.
vpar_add_test(test_procpool_nopidfd SOURCES test_procpool_faults.c TIMEOUT 300
  ENV "PROCPOOL_FAULTS_ONLY=test_retry_result_rezeroed,test_sigchld_ignored,test_hanging_replacement_init,test_create_no_spin_on_dead_worker,test_interrupt_before_map,test_named_cleanup_on_exit_paths")
if(TARGET test_procpool_nopidfd)
  target_link_libraries(test_procpool_nopidfd PRIVATE pthread)
  target_compile_definitions(test_procpool_nopidfd PRIVATE VPAR_PROCPOOL_NO_PIDFD=1)
endif()
