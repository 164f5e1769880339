# Thread pool tests (issue 4). The ctest timeout is the deadlock detector.
# test_pool is not `cross`: qemu-user cannot start threads in the child of a
# multi-threaded fork (test_fork) and is slow on the stress tests.
vpar_add_test(test_pool SOURCES test_pool.c TIMEOUT 180)
vpar_add_test(test_pool_two_tu SOURCES test_pool_tu_a.c test_pool_tu_b.c TIMEOUT 60 LABELS cross)
# Randomized stress (issue 14): VPAR_POOL_STRESS_SECONDS sets the length;
# 2 s here, `make stress STRESS_SECONDS=N` for long runs (default 300).
vpar_add_test(test_pool_stress SOURCES test_pool_stress.c TIMEOUT 120
              ENV VPAR_POOL_STRESS_SECONDS=2)
# fork() in a multi-threaded process is outside what ThreadSanitizer
# supports (threads started in the child): in the tsan tree this test is
# built without TSan, so it still runs there (issue 18); compiled with TSan
# anyway, it reports SKIP (77).
vpar_add_test(test_pool_fork SOURCES test_pool_fork.c TIMEOUT 120)
if(TARGET test_pool_fork)
  set_tests_properties(test_pool_fork PROPERTIES SKIP_RETURN_CODE 77)
  if(VPAR_SANITIZER STREQUAL "tsan")
    target_compile_options(test_pool_fork PRIVATE -fno-sanitize=thread)
    target_link_options(test_pool_fork PRIVATE -fno-sanitize=thread)
  endif()
endif()
