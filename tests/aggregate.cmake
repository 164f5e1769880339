# Network aggregation example (issue 8): examples/aggregate/.
set(VPAR_AGG_DIR ${PROJECT_SOURCE_DIR}/examples/aggregate)

# Permutations, --order parsing, CSV/SVG outputs, progress: no EGAD needed.
vpar_add_test(test_aggregate_io
  SOURCES test_aggregate_io.c ${VPAR_AGG_DIR}/aggregate_io.c
  LABELS cross)
target_include_directories(test_aggregate_io PRIVATE ${VPAR_AGG_DIR})
