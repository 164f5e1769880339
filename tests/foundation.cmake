# Foundation tests: common status codes, two translation units, compile
# tests of the umbrella header, .npy I/O, the installed-package consumer.
vpar_add_test(test_common SOURCES test_common.c LABELS cross)
vpar_add_test(test_two_tu SOURCES test_two_tu_a.c test_two_tu_b.c LABELS cross)
