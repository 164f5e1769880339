#!/bin/sh
# putpid NAME PID (used by parallel_fault.sh and parallel_compat.sh): records
# PID in pids/NAME. The file appears whole or not at all (written aside,
# then renamed), so a job killed mid-record never leaves an empty pid file.
echo "$2" >"pids/.$1.$$" && mv -f "pids/.$1.$$" "pids/$1"
