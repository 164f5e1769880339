# 1. rect_f64 is not square: the example must refuse it with a clear error,
#    exit 1 and write nothing.
file(REMOVE ${OUT})
execute_process(COMMAND ${EXE} ${IN} ${OUT} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "need a square float64 matrix" OR EXISTS ${OUT})
  message(FATAL_ERROR "readme example on a non-square input: rc=${rc} err=${err}")
endif()
# 1b. sym_f32 is a square float32 matrix (the dtype docs/workflows.md
#     recommends): refused, naming the dtype; no crash, nothing written.
get_filename_component(dir ${IN} DIRECTORY)
execute_process(COMMAND ${EXE} ${dir}/sym_f32.npy ${OUT} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "sym_f32.npy: need a square float64 matrix, got dtype <f4" OR EXISTS ${OUT})
  message(FATAL_ERROR "readme example on a float32 input: rc=${rc} err=${err}")
endif()
# 2. sym_f64 is square: the written file must equal the reference's
#    sym_f64.ranked.npy byte for byte (same header layout as numpy writes,
#    and rank standardization of float64 is exact).
get_filename_component(dir ${IN} DIRECTORY)
execute_process(COMMAND ${EXE} ${dir}/sym_f64.npy ${OUT} RESULT_VARIABLE rc
                OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "ranked 300 x 300")
  message(FATAL_ERROR "readme example failed: rc=${rc} ${out} ${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT} ${dir}/sym_f64.ranked.npy
                RESULT_VARIABLE same)
if(NOT same EQUAL 0)
  message(FATAL_ERROR "readme example: ${OUT} differs from sym_f64.ranked.npy")
endif()
