# Thread pool tests (issue 4). The ctest timeout is the deadlock detector.
# test_pool is not `cross`: qemu-user cannot start threads in the child of a
# multi-threaded fork (test_fork) and is slow on the stress tests.
vpar_add_test(test_pool SOURCES test_pool.c TIMEOUT 180)
vpar_add_test(test_pool_two_tu SOURCES test_pool_tu_a.c test_pool_tu_b.c TIMEOUT 60 LABELS cross)
# Randomized stress (issue 14): VPAR_POOL_STRESS_SECONDS sets the length;
# 2 s here, `make stress STRESS_SECONDS=N` for long runs (default 300).
vpar_add_test(test_pool_stress SOURCES test_pool_stress.c TIMEOUT 120
              ENV VPAR_POOL_STRESS_SECONDS=2)
