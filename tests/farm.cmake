# MPI task farm (issue 16): tests/test_farm.c run by tests/farm_test.sh
# under mpirun with 1, 2, 3 and 4 ranks: once built against the MPI that
# CMake found (vpar::farm), once more built with the other MPI's compiler
# wrapper (Debian ships both: mpicc.openmpi / mpicc.mpich) and run with its
# launcher. Without MPI the tests report SKIP (exit 77) with the reason.
if(CMAKE_CROSSCOMPILING)
  return()
endif()
# A real single-node Slurm (tests/cluster/): array + afterany merge. Uses a
# running test cluster or starts and stops one; skips (77) without Slurm or
# root. .ci/run starts the cluster around the `cluster` label.
add_test(NAME cluster_slurm_smoke COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cluster/smoke.sh)
set_tests_properties(cluster_slurm_smoke PROPERTIES
  SKIP_RETURN_CODE 77 TIMEOUT 600 LABELS "cluster" RESOURCE_LOCK vpar_slurm)

set(_farm_sh ${CMAKE_CURRENT_SOURCE_DIR}/farm_test.sh)
# MPI libraries keep allocations until exit and run internal threads:
# sanitizers get suppressions for them (not for vpar).
# MPI's plugins are dlclose()d before LeakSanitizer runs, so their
# leaks show as "<unknown module>" and cannot be suppressed by library:
# the farm tests run without leak checking (ASan's other checks stay on).
set(_farm_env "ASAN_OPTIONS=detect_leaks=0:abort_on_error=0"
              "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/farm_lsan.supp"
              # MPICH on Debian loads UCX, whose memory hooks (libucm) crash
              # under TSan at thread exit; the farm does not need them.
              "UCX_MEM_EVENTS=no" "UCX_MEM_MMAP_HOOK_MODE=none"
              "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=${CMAKE_CURRENT_SOURCE_DIR}/farm_tsan.supp")
if(NOT VPAR_HAVE_MPI)
  add_test(NAME farm_mpi COMMAND sh -c "echo 'SKIP: MPI not found (VPAR_WITH_MPI=${VPAR_WITH_MPI}; apt-get install libopenmpi-dev openmpi-bin)'; exit 77")
  set_tests_properties(farm_mpi PROPERTIES SKIP_RETURN_CODE 77 LABELS mpi)
  return()
endif()

add_executable(test_farm test_farm.c)
target_link_libraries(test_farm PRIVATE vpar::farm vpar_warnings m)

# Two TUs: the farm compiled alone next to the rest of vpar; NULL desc.
add_executable(test_farm_two_tu test_farm_tu_a.c test_farm_tu_b.c)
target_link_libraries(test_farm_two_tu PRIVATE vpar::farm vpar_warnings m)
set(_farm_launch_extra "")
if(VPAR_MPI_FLAVOR STREQUAL "openmpi")
  set(_farm_launch_extra --oversubscribe)
endif()
add_test(NAME farm_two_tu COMMAND ${VPAR_MPIEXEC} ${_farm_launch_extra} -np 2 $<TARGET_FILE:test_farm_two_tu>)
set_tests_properties(farm_two_tu PROPERTIES TIMEOUT 120 LABELS "mpi" RESOURCE_LOCK vpar_mpi
  ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;${_farm_env}")

function(vpar_farm_tests flavor launcher binary)
  set(extra "")
  if(flavor STREQUAL "openmpi")
    set(extra --oversubscribe)
  endif()
  # Sanitizer builds (slow under TSan: ~100 s per run) keep one rank
  # count per MPI: 2 for OpenMPI, 3 for MPICH.
  set(nps 1 2 3 4)
  if(VPAR_SANITIZER)
    if(flavor STREQUAL "mpich")
      set(nps 3)
    else()
      set(nps 2)
    endif()
  endif()
  foreach(np ${nps})
    add_test(NAME farm_${flavor}_np${np}
             COMMAND bash ${_farm_sh} ${launcher} ${np} ${binary} ${extra})
    set_tests_properties(farm_${flavor}_np${np} PROPERTIES
      SKIP_RETURN_CODE 77 TIMEOUT 600 LABELS "mpi"
      # the same tests run with every rank count: one at a time, the
      # machine has few cores
      RESOURCE_LOCK vpar_mpi
      ENVIRONMENT "${_farm_env}")
  endforeach()
endfunction()
vpar_farm_tests(${VPAR_MPI_FLAVOR} ${VPAR_MPIEXEC} $<TARGET_FILE:test_farm>)

# The other MPI, through its compiler wrapper, with this build's flags.
foreach(flavor openmpi mpich)
  if(flavor STREQUAL VPAR_MPI_FLAVOR)
    continue()
  endif()
  find_program(VPAR_MPICC_${flavor} mpicc.${flavor})
  find_program(VPAR_MPIRUN_${flavor} NAMES mpirun.${flavor} mpiexec.${flavor})
  if(NOT VPAR_MPICC_${flavor} OR NOT VPAR_MPIRUN_${flavor})
    message(STATUS "vpar: ${flavor} wrapper or launcher not found: farm tests with ${flavor} not built")
    continue()
  endif()
  string(TOUPPER "${CMAKE_BUILD_TYPE}" _bt)
  separate_arguments(_cflags UNIX_COMMAND "${CMAKE_C_FLAGS} ${CMAKE_C_FLAGS_${_bt}} ${CMAKE_EXE_LINKER_FLAGS}")
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/test_farm_${flavor})
  file(GLOB _vpar_headers ${PROJECT_SOURCE_DIR}/include/vpar/*.h)
  add_custom_command(OUTPUT ${_out}
    COMMAND ${VPAR_MPICC_${flavor}} -std=c11 -D_GNU_SOURCE ${_cflags}
            -Wall -Wextra -Wno-unused-function
            -I${PROJECT_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR}/test_farm.c
            -o ${_out} -lm -pthread
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/test_farm.c ${_vpar_headers} ${PROJECT_SOURCE_DIR}/include/vpar.h
    COMMENT "Building test_farm_${flavor} with ${VPAR_MPICC_${flavor}}"
    VERBATIM)
  add_custom_target(test_farm_${flavor}_bin ALL DEPENDS ${_out})
  vpar_farm_tests(${flavor} ${VPAR_MPIRUN_${flavor}} ${_out})
endforeach()
