# Builds the vpar Python package (examples/python, issue 17) with setup.py
# (Debian python3-dev, python3-numpy, python3-setuptools) into
# <build>/python: target vpar_python (in ALL), VPAR_PY_LIB = that folder,
# VPAR_PY_TEST_ENV = the environment a sanitizer tree's tests need
# (VPAR_PY_PRELOAD: the runtime that run_tests.sh preloads into the
# interpreter). Included by tests/python.cmake
# and bench/python.cmake; does nothing (and says so) when the interpreter
# lacks numpy, setuptools or Python.h.
include_guard(GLOBAL)
option(VPAR_BUILD_PYTHON "Build the vpar Python extension and run its tests" ON)
set(VPAR_PYTHON /usr/bin/python3 CACHE FILEPATH "Interpreter for the vpar Python package")

if(VPAR_BUILD_PYTHON AND NOT CMAKE_CROSSCOMPILING)
  set(VPAR_PY_DIR ${PROJECT_SOURCE_DIR}/examples/python)
  set(VPAR_PY_LIB ${CMAKE_BINARY_DIR}/python)
  execute_process(
    COMMAND ${VPAR_PYTHON} -c "import numpy, setuptools, sysconfig, os; assert os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h'))"
    RESULT_VARIABLE VPAR_PY_OK OUTPUT_QUIET ERROR_QUIET)
  set(VPAR_PY_ENV "")
  set(VPAR_PY_TEST_ENV "")
  if(VPAR_SANITIZER STREQUAL "asan")
    execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
                    OUTPUT_VARIABLE VPAR_PY_ASAN_LIB OUTPUT_STRIP_TRAILING_WHITESPACE)
    set(VPAR_PY_ENV "VPAR_PY_CFLAGS=-fsanitize=address,undefined -fno-omit-frame-pointer -O1"
                    "VPAR_PY_LDFLAGS=-fsanitize=address,undefined")
    set(VPAR_PY_TEST_ENV "VPAR_PY_PRELOAD=${VPAR_PY_ASAN_LIB}"
        "ASAN_OPTIONS=detect_leaks=0:abort_on_error=0"
        "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  elseif(VPAR_SANITIZER STREQUAL "tsan")
    execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libtsan.so
                    OUTPUT_VARIABLE VPAR_PY_TSAN_LIB OUTPUT_STRIP_TRAILING_WHITESPACE)
    set(VPAR_PY_ENV "VPAR_PY_CFLAGS=-fsanitize=thread -O1" "VPAR_PY_LDFLAGS=-fsanitize=thread")
    # OpenBLAS threads (the reference run_egad's matmul) synchronise in
    # uninstrumented code: TSan reports false races there, so one thread.
    set(VPAR_PY_TEST_ENV "VPAR_PY_PRELOAD=${VPAR_PY_TSAN_LIB}"
        "TSAN_OPTIONS=halt_on_error=1:report_signal_unsafe=0" "OPENBLAS_NUM_THREADS=1")
  endif()
  if(VPAR_PY_OK EQUAL 0)
    file(GLOB VPAR_PY_DEPS CONFIGURE_DEPENDS
         ${VPAR_PY_DIR}/setup.py ${VPAR_PY_DIR}/src/*.c ${VPAR_PY_DIR}/vpar/*.py
         ${PROJECT_SOURCE_DIR}/include/*.h ${PROJECT_SOURCE_DIR}/include/vpar/*.h
         ${PROJECT_SOURCE_DIR}/examples/egad/*.h ${PROJECT_SOURCE_DIR}/examples/egad/*.c
         ${PROJECT_SOURCE_DIR}/examples/common/*.h ${PROJECT_SOURCE_DIR}/examples/common/*.c)
    add_custom_command(
      OUTPUT ${VPAR_PY_LIB}/.built
      COMMAND ${CMAKE_COMMAND} -E env VPAR_ROOT=${PROJECT_SOURCE_DIR} ${VPAR_PY_ENV}
              ${VPAR_PYTHON} setup.py -q build --build-base ${CMAKE_BINARY_DIR}/python-tmp
              --build-lib ${VPAR_PY_LIB}
      COMMAND ${CMAKE_COMMAND} -E touch ${VPAR_PY_LIB}/.built
      WORKING_DIRECTORY ${VPAR_PY_DIR}
      DEPENDS ${VPAR_PY_DEPS}
      COMMENT "Building the vpar Python extension (examples/python -> python/)"
      VERBATIM)
    add_custom_target(vpar_python ALL DEPENDS ${VPAR_PY_LIB}/.built)
  else()
    message(STATUS "vpar python: ${VPAR_PYTHON} lacks numpy, setuptools or Python.h: "
                   "the Python package is not built (test_python is skipped)")
  endif()
endif()
