# Output on a full disk (issue 14): vpar-egad and vpar-aggregate writing into
# a small private tmpfs: non-zero exit, the file named, nothing partial left,
# --resume completes once there is room (tests/disk_full.sh; needs root for
# unshare -m + mount, else skipped with exit 77). A few seconds.
if(VPAR_BUILD_EXAMPLES AND NOT CMAKE_CROSSCOMPILING AND CMAKE_SYSTEM_NAME STREQUAL "Linux")
  add_test(NAME disk_full
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/disk_full.sh
            $<TARGET_FILE:vpar-egad> $<TARGET_FILE:vpar-aggregate> ${CMAKE_CURRENT_SOURCE_DIR}/data)
  set_tests_properties(disk_full PROPERTIES TIMEOUT 300 LABELS "cli" SKIP_RETURN_CODE 77)
endif()
