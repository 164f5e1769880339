# EGAD benchmarks (issue 7): bench/egad/run drives vpar-egad and vpar-simnet
# (built with the examples) against bench/egad/egad_ref.py. This target makes
# sure both programs exist in a bench build.
if(TARGET vpar-egad AND TARGET vpar-simnet)
  add_custom_target(bench_egad ALL DEPENDS vpar-egad vpar-simnet)
endif()
