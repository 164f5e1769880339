# Thread pool tests (issue 4). The ctest timeout is the deadlock detector.
vpar_add_test(test_pool SOURCES test_pool.c TIMEOUT 180 LABELS cross)
