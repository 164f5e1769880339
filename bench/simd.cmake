# vpar/simd.h benchmarks (issue 3): bench/simd/run drives vpar_bench_simd
# (C, this file) against bench/simd/baseline.py (numpy/bottleneck).
add_executable(vpar_bench_simd ${CMAKE_CURRENT_LIST_DIR}/simd/bench_simd.c)
target_link_libraries(vpar_bench_simd PRIVATE vpar::vpar vpar_warnings)
