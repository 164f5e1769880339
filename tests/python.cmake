# The vpar Python package's pytest suite (issue 17, examples/python/tests).
# The test exits 77 (skipped, with a message) when numpy or pytest is
# missing or the package could not be built (examples/python/build.cmake).
include(${PROJECT_SOURCE_DIR}/examples/python/build.cmake)
if(VPAR_BUILD_PYTHON AND NOT CMAKE_CROSSCOMPILING)
  add_test(NAME test_python
           COMMAND sh ${VPAR_PY_DIR}/tests/run_tests.sh ${VPAR_PY_LIB} ${VPAR_PYTHON})
  set_tests_properties(test_python PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 1500 LABELS "python"
    ENVIRONMENT "VPAR_TEST_DATA=${CMAKE_CURRENT_SOURCE_DIR}/data;${VPAR_PY_TEST_ENV}")
endif()
