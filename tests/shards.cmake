# Job-array shards and the merge of their parts (examples/common/shard.c,
# parts.c): pure units, no scheduler needed. The programs' --shard/--merge
# end to end and the real-Slurm runs are in tests/cluster/.
vpar_add_test(test_shard SOURCES test_shard.c LIBS vpar_examples_common LABELS cross)
vpar_add_test(test_parts SOURCES test_parts.c LIBS vpar_examples_common vpar_impl LABELS cross)

# The programs end to end beyond one machine (tests/test_cluster_cli.sh):
# shards + --merge, --shard auto, --resume (no MPI needed), and under
# mpirun: -np 1..3, SIGUSR1 + journal, a rank crash + --resume. Release
# builds only: the MPI runs and many program starts are slow under the
# sanitizers, whose own checks of this code are in test_shard, test_parts
# and the farm tests.
if(VPAR_BUILD_EXAMPLES AND NOT VPAR_SANITIZER AND NOT CMAKE_CROSSCOMPILING)
  add_test(NAME test_cluster_shards
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cluster_cli.sh shards
            $<TARGET_FILE:vpar-egad> $<TARGET_FILE:vpar-aggregate> ${CMAKE_CURRENT_SOURCE_DIR}/data)
  set_tests_properties(test_cluster_shards PROPERTIES TIMEOUT 300 LABELS "cli")
  add_test(NAME test_cluster_mpi
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cluster_cli.sh mpi
            $<TARGET_FILE:vpar-egad> $<TARGET_FILE:vpar-aggregate> ${CMAKE_CURRENT_SOURCE_DIR}/data
            "$<$<BOOL:${VPAR_HAVE_MPI}>:${VPAR_MPIEXEC}>" "${VPAR_MPI_FLAVOR}")
  set_tests_properties(test_cluster_mpi PROPERTIES
    SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS "mpi" RESOURCE_LOCK vpar_mpi)
endif()

# The Grid Engine template under a fake qsub (tests/cluster/fake-sge: runs
# the array serially with SGE_TASK_* set, honours -hold_jid) and the
# Snakefile's rules run as Snakemake would (tests/cluster/snakefile.py);
# compared with one-machine runs. No scheduler needed; a few seconds each.
# test_cluster_snakemake runs the real snakemake; it is registered only
# where snakemake is installed (not in CI).
if(VPAR_BUILD_EXAMPLES AND NOT VPAR_SANITIZER AND NOT CMAKE_CROSSCOMPILING)
  add_test(NAME test_cluster_sge
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cluster/sge.sh
            $<TARGET_FILE:vpar-aggregate> ${CMAKE_CURRENT_SOURCE_DIR}/data)
  set_tests_properties(test_cluster_sge PROPERTIES TIMEOUT 300 LABELS "cli")
  find_package(Python3 COMPONENTS Interpreter QUIET)
  if(Python3_Interpreter_FOUND)
    add_test(NAME test_cluster_snakefile
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cluster/snakefile.py
              $<TARGET_FILE:vpar-egad> ${CMAKE_CURRENT_SOURCE_DIR}/data)
    set_tests_properties(test_cluster_snakefile PROPERTIES TIMEOUT 300 LABELS "cli")
    # Only where snakemake is installed: CI does not install it (its
    # budget), and under CI=true a skipped test fails the run.
    find_program(VPAR_SNAKEMAKE snakemake)
    if(VPAR_SNAKEMAKE)
      add_test(NAME test_cluster_snakemake
        COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cluster/snakefile.py
                $<TARGET_FILE:vpar-egad> ${CMAKE_CURRENT_SOURCE_DIR}/data --snakemake)
      set_tests_properties(test_cluster_snakemake PROPERTIES TIMEOUT 600 LABELS "cli"
        SKIP_RETURN_CODE 77)
    else()
      message(STATUS "vpar tests: snakemake not found: the Snakefile runs through its emulation "
                     "only (test_cluster_snakefile); apt-get install snakemake for test_cluster_snakemake")
    endif()
  endif()
endif()

# The job templates of examples/cluster/ on a real single-node Slurm
# (tests/cluster/jobs.sh): arrays + merge, scancel --signal=USR1 and the
# resubmission, mpirun inside sbatch, a rank crash. Uses a running test
# cluster or starts and stops one; skips (77) without Slurm/munge or root.
# .ci/run starts the cluster around the `cluster` label.
if(VPAR_BUILD_EXAMPLES AND NOT VPAR_SANITIZER AND NOT CMAKE_CROSSCOMPILING)
  add_test(NAME cluster_slurm_jobs
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cluster/jobs.sh
            $<TARGET_FILE:vpar-egad> $<TARGET_FILE:vpar-aggregate> ${CMAKE_CURRENT_SOURCE_DIR}/data
            "$<$<BOOL:${VPAR_HAVE_MPI}>:${VPAR_MPIEXEC}>" "${VPAR_MPI_FLAVOR}")
  set_tests_properties(cluster_slurm_jobs PROPERTIES
    SKIP_RETURN_CODE 77 TIMEOUT 900 LABELS "cluster" RESOURCE_LOCK vpar_slurm)
endif()

# vpar-aggregate's set-up under mpirun (tests/test_cluster_mpi_setup.sh):
# the ranks split the network checks and report a failure found by any
# rank once, with a single process's message and exit status; an
# asymmetric network checked by rank 1 only leaves the outputs unchanged.
# A few small runs: also in the ASan tree (the set-up's new code runs
# under it there), not under TSan (MPI's own threads; the farm tests cover
# that).
if(VPAR_BUILD_EXAMPLES AND NOT CMAKE_CROSSCOMPILING AND NOT VPAR_SANITIZER STREQUAL "tsan")
  add_test(NAME test_cluster_mpi_setup
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cluster_mpi_setup.sh
            $<TARGET_FILE:vpar-aggregate> ${CMAKE_CURRENT_SOURCE_DIR}/data
            "$<$<BOOL:${VPAR_HAVE_MPI}>:${VPAR_MPIEXEC}>" "${VPAR_MPI_FLAVOR}" /usr/bin/python3)
  set_tests_properties(test_cluster_mpi_setup PROPERTIES
    SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS "mpi" RESOURCE_LOCK vpar_mpi
    # MPI keeps allocations until exit (the farm tests do the same)
    ENVIRONMENT "ASAN_OPTIONS=detect_leaks=0:abort_on_error=0;$<$<BOOL:${VPAR_SANITIZER}>:VPAR_TEST_QUICK=1>")
endif()
