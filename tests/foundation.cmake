# Foundation tests: common status codes, two translation units, compile
# tests of the umbrella header, .npy I/O, the installed-package consumer.
vpar_add_test(test_common SOURCES test_common.c LIBS vpar_impl LABELS cross)
vpar_add_test(test_two_tu SOURCES test_two_tu_a.c test_two_tu_b.c LABELS cross)
vpar_add_test(test_npy SOURCES test_npy.c LIBS vpar_impl LABELS cross)

# The umbrella header compiles warning-free in strict C11 (and its
# declarations as C++ when a C++ compiler exists).
add_executable(compile_umbrella compile_umbrella.c)
target_link_libraries(compile_umbrella PRIVATE vpar::vpar)
target_compile_options(compile_umbrella PRIVATE -Wall -Wextra -Wpedantic -Werror)
add_test(NAME compile_umbrella COMMAND compile_umbrella)
set_tests_properties(compile_umbrella PROPERTIES LABELS cross)
include(CheckLanguage)
check_language(CXX)
if(CMAKE_CXX_COMPILER)
  enable_language(CXX)
  add_executable(compile_umbrella_cxx compile_umbrella.cpp)
  target_link_libraries(compile_umbrella_cxx PRIVATE vpar::vpar)
  target_compile_options(compile_umbrella_cxx PRIVATE -Wall -Wextra -Werror)
  add_test(NAME compile_umbrella_cxx COMMAND compile_umbrella_cxx)
endif()

# Files vpar writes are read by numpy itself (skipped without python3-numpy).
add_executable(npy_write_sample npy_write_sample.c)
target_link_libraries(npy_write_sample PRIVATE vpar_impl)
find_program(VPAR_SYSTEM_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(VPAR_SYSTEM_PYTHON AND NOT CMAKE_CROSSCOMPILING)
  add_test(NAME npy_numpy_check
           COMMAND ${VPAR_SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/npy_numpy_check.py
                   $<TARGET_FILE:npy_write_sample>)
  set_tests_properties(npy_numpy_check PROPERTIES SKIP_RETURN_CODE 77)
endif()

# Install + find_package + pkg-config consumers. Not in the sanitizer trees:
# it checks packaging (the install tree, CMake config, .pc file), which no
# sanitizer sees, and costs a configure + build there.
if(NOT CMAKE_CROSSCOMPILING AND NOT VPAR_SANITIZER)
  add_test(NAME consumer
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/consumer/run.sh ${PROJECT_SOURCE_DIR}
                   ${PROJECT_BINARY_DIR} ${CMAKE_C_COMPILER})
  set_tests_properties(consumer PROPERTIES TIMEOUT 300)
endif()

# Without _GNU_SOURCE the implementation must stop with one clear #error
# (not a screen of implicit declarations): compile the README example that
# way and look for the message.
if(NOT CMAKE_CROSSCOMPILING AND CMAKE_SYSTEM_NAME STREQUAL "Linux")
  include(${PROJECT_SOURCE_DIR}/examples/readme/extract.cmake) # README.md's program
  vpar_readme_example(${CMAKE_CURRENT_BINARY_DIR}/readme_example.c)
  add_test(NAME gnu_source_error
           COMMAND ${CMAKE_C_COMPILER} -std=c11 -fsyntax-only -I${PROJECT_SOURCE_DIR}/include
                   ${CMAKE_CURRENT_BINARY_DIR}/readme_example.c)
  set_tests_properties(gnu_source_error PROPERTIES PASS_REGULAR_EXPRESSION "compile the file that defines VPAR_IMPLEMENTATION with -D_GNU_SOURCE")
endif()
