# Python benchmark (issue 17): runner bench/python/run needs the vpar Python
# package built into <build>/python (examples/python/build.cmake).
include(${PROJECT_SOURCE_DIR}/examples/python/build.cmake)
