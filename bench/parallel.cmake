# vpar-parallel benchmarks (issue 9): nothing extra to build. The runner
# bench/parallel/run times $VPAR_BUILD_DIR/examples/parallel/vpar-parallel
# (built with the examples) against GNU parallel and xargs -P2.
