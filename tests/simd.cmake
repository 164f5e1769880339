# vpar/simd.h (issue 3). All `cross`: they also run under qemu-aarch64,
# where test_simd checks that the NEON path is the one exercised.
vpar_add_test(test_simd SOURCES test_simd.c LABELS cross)
# The accumulate kernels (issue 13): every path against the documented order.
vpar_add_test(test_simd_acc SOURCES test_simd_acc.c LIBS vpar_impl LABELS cross)
vpar_add_test(test_simd_two_tu SOURCES test_simd_two_tu_a.c test_simd_two_tu_b.c
              LABELS cross ARGS auto)
# The lazy first choice honours $VPAR_SIMD; a bad value falls back to scalar
# (with a message on stderr; vpar_simd_init() reports it as an error).
add_test(NAME test_simd_two_tu_env_scalar COMMAND test_simd_two_tu scalar)
set_tests_properties(test_simd_two_tu_env_scalar PROPERTIES LABELS cross TIMEOUT 60
                     ENVIRONMENT "VPAR_SIMD=scalar")
add_test(NAME test_simd_two_tu_env_bad COMMAND test_simd_two_tu scalar)
set_tests_properties(test_simd_two_tu_env_bad PROPERTIES LABELS cross TIMEOUT 60
                     ENVIRONMENT "VPAR_SIMD=no-such-path")
# An unknown $VPAR_SIMD is an error for a program (issue 15): programs call
# vpar_simd_init() at startup and exit 2 with its message. Checked on
# vpar-rowsums (the exit status and the message naming the value).
if(VPAR_BUILD_EXAMPLES AND NOT CMAKE_CROSSCOMPILING)
  add_test(NAME simd_env_unknown_is_error
           COMMAND sh -c "out=$(VPAR_SIMD=foo \"$1\" --n 8 --matmul-n 0 --reps 1 --threads 1 2>&1); rc=$?; \
printf '%s\\n' \"$out\"; [ $rc -eq 2 ] && printf '%s' \"$out\" | grep -q \"VPAR_SIMD='foo'\""
                   sh $<TARGET_FILE:vpar-rowsums>)
  set_tests_properties(simd_env_unknown_is_error PROPERTIES TIMEOUT 60)
endif()
# Under qemu everything runs ~10x slower: a lighter sweep (still every size
# 0..67 and every pattern on NEON).
if(CMAKE_CROSSCOMPILING)
  set_property(TEST test_simd APPEND PROPERTY ENVIRONMENT "VPAR_TEST_LIGHT=1")
  set_property(TEST test_simd_acc APPEND PROPERTY ENVIRONMENT "VPAR_TEST_LIGHT=1")
endif()
# The same rule in every program that computes with simd.h (each fails
# before reading its inputs: the arguments here need not exist).
if(VPAR_BUILD_EXAMPLES AND NOT CMAKE_CROSSCOMPILING)
  add_test(NAME simd_env_unknown_is_error_programs
           COMMAND sh -c "for p in \"$@\"; do out=$(VPAR_SIMD=foo \"$p\" --annotations x --genes x x.npy 2>&1 </dev/null); rc=$?; \
[ $rc -eq 2 ] && printf '%s' \"$out\" | grep -q \"VPAR_SIMD='foo'\" || { echo \"$p: exit $rc: $out\"; exit 1; }; done"
                   sh $<TARGET_FILE:vpar-egad> $<TARGET_FILE:vpar-aggregate> $<TARGET_FILE:vpar-rank>
                   $<TARGET_FILE:vpar-simnet>)
  set_tests_properties(simd_env_unknown_is_error_programs PROPERTIES TIMEOUT 60)
endif()
