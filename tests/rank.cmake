# Ranker tests (issue 5): the library against reference implementations
# (tiny leaf sizes force every code path), the golden fixtures through the
# library with default settings, and the vpar-rank program end to end.
vpar_add_test(test_rank SOURCES test_rank.c LABELS cross)
vpar_add_test(test_rank_golden SOURCES test_rank_golden.c LIBS vpar_impl LABELS cross)
vpar_add_test(test_rank_nomem SOURCES test_rank_nomem.c LABELS cross)
if(VPAR_BUILD_EXAMPLES)  # the program is built by examples/rank
  vpar_add_test(test_rank_cli SOURCES test_rank_cli.c LIBS vpar_impl
    ARGS $<TARGET_FILE:vpar-rank>)
endif()
