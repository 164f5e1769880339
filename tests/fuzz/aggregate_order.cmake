# vpar-aggregate's --order file reader (examples/aggregate/aggregate_io.c).
vpar_add_fuzzer(aggregate_order SOURCES fuzz_aggregate_order.c
                ${PROJECT_SOURCE_DIR}/examples/aggregate/aggregate_io.c
                LIBS vpar_examples_common)
if(TARGET fuzz_aggregate_order)
  target_include_directories(fuzz_aggregate_order PRIVATE ${PROJECT_SOURCE_DIR}/examples/aggregate)
endif()
if(TARGET fuzz_replay_aggregate_order)
  target_include_directories(fuzz_replay_aggregate_order PRIVATE ${PROJECT_SOURCE_DIR}/examples/aggregate)
endif()
