# The README's program, extracted from README.md itself (issue 15: ctest
# compiles the block users copy, not a separate copy of it).
#
#   include(examples/readme/extract.cmake)
#   vpar_readme_example(OUT_FILE)   # at configure time
#
# The block is the first ```c fence after the line
# "<!-- examples/readme: ctest extracts the next ```c block ...". OUT_FILE is
# rewritten only when the text changed; README.md is a configure dependency,
# so editing it re-extracts on the next build. A README without the marker
# or the fence is a configure error.
function(vpar_readme_example out)
  set(readme ${PROJECT_SOURCE_DIR}/README.md)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${readme})
  file(READ ${readme} text)
  string(FIND "${text}" "<!-- examples/readme: ctest extracts" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "README.md: no '<!-- examples/readme: ctest extracts' marker before the program")
  endif()
  string(SUBSTRING "${text}" ${at} -1 text)
  string(FIND "${text}" "\n```c\n" open)
  if(open EQUAL -1)
    message(FATAL_ERROR "README.md: no ```c block after the examples/readme marker")
  endif()
  math(EXPR open "${open} + 6")
  string(SUBSTRING "${text}" ${open} -1 text)
  string(FIND "${text}" "\n```" close)
  if(close EQUAL -1)
    message(FATAL_ERROR "README.md: the examples/readme ```c block is not closed")
  endif()
  math(EXPR close "${close} + 1")
  string(SUBSTRING "${text}" 0 ${close} code)
  set(code "/* Extracted from README.md by examples/readme/extract.cmake: edit README.md. */\n${code}")
  set(old "")
  if(EXISTS ${out})
    file(READ ${out} old)
  endif()
  if(NOT old STREQUAL code)
    file(WRITE ${out} "${code}")
  endif()
endfunction()
