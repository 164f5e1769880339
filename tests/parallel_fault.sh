#!/usr/bin/env bash
# Fault injection for vpar-parallel (issue 14): what happens when the
# world misbehaves. Needs no GNU parallel. Every check asserts the
# mechanism (a process is gone, a log line is whole), never a duration:
# the only time limits are generous deadlines that catch hangs.
#
#   - a job whose leader exits while a background descendant holds its
#     stdout: --timeout, SIGINT and SIGTERM still kill the descendant
#   - stdout stalled (a reader that never reads) + SIGTERM: the runner
#     still hears the signal, exits 255 and kills its jobs
#   - the joblog on a full disk (EFBIG through ulimit -f): the run fails
#     with a message naming the file, no torn line stays, --resume runs
#     exactly the missing jobs; a torn last line written by a crash is
#     ignored and replaced
#   - fds 0, 1, 2 closed at start: output never lands in the joblog
#   - -j far above RLIMIT_NOFILE: every job runs
#   - the runner killed with SIGQUIT, or dying of a fatal error, leaves no
#     job running
#
# Usage: parallel_fault.sh /path/to/vpar-parallel
# Exit: 0 pass, 1 failure.
set -u
VPAR=${1:?usage: parallel_fault.sh /path/to/vpar-parallel}
[ -x "$VPAR" ] || { echo "FAIL: $VPAR is not executable"; exit 1; }
VPAR=$(cd "$(dirname "$VPAR")" && pwd)/$(basename "$VPAR")

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/vpar-parallel-fault.XXXXXX")
cleanup() {
    # stop anything a failed test left behind (only our own processes)
    for f in "$work"/pids/*; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
mkdir pids
unset PARALLEL PARALLEL_SHELL
# ./putpid NAME PID: records a job's pid whole or not at all
cp "$here/parallel_putpid.sh" putpid || exit 1

fails=0
checks=0
# PARALLEL_FAULT_ONLY="3 4": run only those sections (while debugging)
only=${PARALLEL_FAULT_ONLY:-}
section() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
# wait_for COND: poll a condition for up to 30 s (a hang detector, not a
# timing assumption).
wait_for() {
    local i
    for i in $(seq 1 300); do
        eval "$1" && return 0
        sleep 0.1
    done
    return 1
}
alive() { [ -n "${1:-}" ] && [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
# all_dead DIR-GLOB: every pid recorded in the files is gone (30 s grace)
all_dead() {
    local f pid ok=0
    for f in "$@"; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        [ -n "$pid" ] || { echo "  empty pid file: $f"; ok=1; continue; }
        wait_for "! alive $pid" || { echo "  still running: $pid ($f)"; ok=1; }
    done
    return $ok
}
# run_bg NAME ARGS...: start vpar-parallel in the background, pid in $vp
run_bg() {
    "$VPAR" "$@" &
    vp=$!
}
# finish_within: wait for $vp; kill it after 60 s (a hang); rc in $rc
finish() {
    local i
    for i in $(seq 1 600); do
        alive "$vp" || break
        sleep 0.1
    done
    if alive "$vp"; then
        kill -KILL "$vp" 2>/dev/null
        wait "$vp" 2>/dev/null
        rc=hang
    else
        wait "$vp"
        rc=$?
    fi
}

# ---- 1. --timeout with a background descendant holding stdout -------------
if section 1; then
checks=$((checks + 1))
rm -f pids/* jl
run_bg --timeout 1 --joblog jl 'sleep 300 & ./putpid bg $!; echo started' ::: 1 >t1.out 2>t1.err
finish
[ "$rc" = 1 ] || fail "timeout + descendant: exit $rc, want 1 (one job failed)"
all_dead pids/bg || fail "timeout + descendant: the background process survived"
[ "$(tail -n +2 jl | cut -f7)" = "-1" ] || fail "timeout + descendant: joblog Exitval is not -1: $(cat jl)"
grep -q 'timed out' t1.err || fail "timeout + descendant: no timeout warning: $(cat t1.err)"
fi

# ---- 2. SIGINT and SIGTERM with a background descendant holding stdout ------
if section 2; then
for sig in INT TERM; do
    checks=$((checks + 1))
    rm -f pids/*
    run_bg -j2 'sleep 300 & ./putpid bg{} $!; echo started' ::: 1 2 >/dev/null 2>&1
    wait_for '[ -s pids/bg1 ] && [ -s pids/bg2 ]' || fail "SIG$sig + descendant: jobs did not start"
    kill -$sig $vp
    finish
    [ "$rc" = 255 ] || fail "SIG$sig + descendant: exit $rc, want 255"
    all_dead pids/bg1 pids/bg2 || fail "SIG$sig + descendant: a background process survived"
done
fi

# ---- 3. stdout stalled, then SIGTERM -----------------------------------------
if section 3; then
checks=$((checks + 1))
rm -f pids/* fifo
mkfifo fifo
exec 3<>fifo # a reader that never reads
run_bg -j2 './putpid {} $$; head -c 300000 /dev/zero; sleep {}' ::: 0 300 >fifo 2>t3.err
# job 1 has printed more than a pipe holds and has been reaped: the runner
# now has 300000 bytes for a stdout nobody reads
wait_for '[ -s pids/0 ] && [ -s pids/300 ] && ! alive $(cat pids/0)' || fail "stalled stdout: jobs did not start"
kill -TERM $vp
finish
exec 3<&-
[ "$rc" = 255 ] || fail "stalled stdout + SIGTERM: exit $rc, want 255 (the runner must hear signals while its output is blocked)"
all_dead pids/300 || fail "stalled stdout + SIGTERM: job left running"
fi

# ---- 4. joblog on a full disk (EFBIG), then --resume -------------------------
if section 4; then
for trapped in yes no; do
    checks=$((checks + 1))
    rm -f jl4
    (
        ulimit -f 1 # 512 bytes: the header and a few lines fit
        [ $trapped = yes ] && trap '' XFSZ
        exec "$VPAR" -j1 --joblog jl4 'echo {}' ::: $(seq 1 40)
    ) >t4.out 2>t4.err
    rc=$?
    [ $rc = 255 ] || fail "joblog EFBIG (XFSZ ignored: $trapped): exit $rc, want 255"
    grep -q "joblog 'jl4'" t4.err || fail "joblog EFBIG: the message does not name the joblog: $(cat t4.err)"
    [ -z "$(tail -c 1 jl4)" ] || fail "joblog EFBIG: a torn last line was left: $(tail -c 40 jl4 | od -c | tail -2)"
    logged=$(tail -n +2 jl4 | wc -l)
    [ "$logged" -ge 1 ] && [ "$logged" -lt 40 ] || fail "joblog EFBIG: $logged lines logged, want some but not all"
    # the jobs logged are exactly the jobs whose output was printed
    [ "$(tail -n +2 jl4 | cut -f1 | sort -n | tr '\n' ' ')" = "$(sort -n t4.out | tr '\n' ' ')" ] ||
        fail "joblog EFBIG: logged jobs $(tail -n +2 jl4 | cut -f1 | tr '\n' ' ') differ from printed ones $(tr '\n' ' ' <t4.out)"
    "$VPAR" -j1 --resume --joblog jl4 'echo {}' ::: $(seq 1 40) >t4b.out 2>t4b.err
    rc=$?
    [ $rc = 0 ] || fail "joblog EFBIG then --resume: exit $rc: $(cat t4b.err)"
    [ "$(cat t4.out t4b.out | sort -n | tr '\n' ' ')" = "$(seq 1 40 | tr '\n' ' ')" ] ||
        fail "joblog EFBIG then --resume: jobs run twice or never: $(cat t4.out t4b.out | sort -n | tr '\n' ' ')"
    [ "$(tail -n +2 jl4 | cut -f1 | sort -n | tr '\n' ' ')" = "$(seq 1 40 | tr '\n' ' ')" ] ||
        fail "joblog EFBIG then --resume: joblog does not hold each job once: $(cat jl4)"
    "$VPAR" -j1 --resume --joblog jl4 'echo {}' ::: $(seq 1 40) >t4c.out 2>&1
    [ -s t4c.out ] && fail "joblog: a second --resume ran jobs again: $(cat t4c.out)"
done
fi

# ---- 5. a torn last line (a crash mid-write) is ignored and replaced ---------
if section 5; then
checks=$((checks + 1))
printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n' >jl5
printf '1\t:\t1795504139.929\t     0.001\t0\t2\t0\t0\techo 1\n' >>jl5
printf '2\t:\t1795504139.931\t     0.001\t0\t2\t0\t0\tec' >>jl5 # torn
"$VPAR" -k --resume --joblog jl5 'echo {}' ::: 1 2 3 >t5.out 2>t5.err
[ "$(tr '\n' ' ' <t5.out)" = "2 3 " ] || fail "torn joblog line: --resume ran '$(tr '\n' ' ' <t5.out)', want '2 3 '"
[ "$(tail -n +2 jl5 | cut -f1 | sort -n | tr '\n' ' ')" = "1 2 3 " ] || fail "torn joblog line: log is now: $(cat -A jl5)"
tail -n +2 jl5 | grep -Ev $'^[0-9]+\t:\t[0-9.]+\t +[0-9.]+\t0\t[0-9]+\t-?[0-9]+\t[0-9]+\techo [0-9]$' | grep -q . &&
    fail "torn joblog line: a malformed line remains: $(cat -A jl5)"
fi

# ---- 6. fds 0, 1, 2 closed at start ------------------------------------------
if section 6; then
checks=$((checks + 1))
rm -f jl6 m6.*
"$VPAR" -j2 --joblog jl6 'echo {}; touch m6.{}' ::: a b c <&- >&- 2>&-
rc=$?
[ $rc = 0 ] || fail "fds 0-2 closed: exit $rc, want 0"
[ -f m6.a ] && [ -f m6.b ] && [ -f m6.c ] || fail "fds 0-2 closed: jobs did not run"
[ "$(head -1 jl6 | cut -f1)" = Seq ] && [ "$(tail -n +2 jl6 | cut -f1 | sort | tr '\n' ' ')" = "1 2 3 " ] &&
    ! grep -qx '[abc]' jl6 || fail "fds 0-2 closed: joblog corrupted: $(cat -A jl6)"
rm -f m6.*
"$VPAR" -j2 'echo {}; touch m6.{}' ::: a b >&- 2>t6.err
[ -f m6.a ] && [ -f m6.b ] || fail "stdout closed: jobs did not run"
fi

# ---- 7. -j far above RLIMIT_NOFILE ---------------------------------------------
if section 7; then
checks=$((checks + 1))
out=$( (ulimit -n 32 && exec "$VPAR" -k -j 1000 --joblog jl7 'echo {}' ::: $(seq 1 200)) 2>t7.err)
rc=$?
[ $rc = 0 ] || fail "-j1000 with ulimit -n 32: exit $rc: $(head -3 t7.err)"
[ "$out" = "$(seq 1 200)" ] || fail "-j1000 with ulimit -n 32: output differs"
[ "$(tail -n +2 jl7 | wc -l)" = 200 ] || fail "-j1000 with ulimit -n 32: joblog has $(tail -n +2 jl7 | wc -l) lines"
out=$( (ulimit -n 12 && exec "$VPAR" -k -j 0 'echo {}' ::: $(seq 1 20)) 2>t7.err)
rc=$?
[ $rc = 0 ] && [ "$out" = "$(seq 1 20)" ] || fail "-j0 with ulimit -n 12: exit $rc, output '$out': $(head -3 t7.err)"
fi

# ---- 8. SIGQUIT and SIGTERM leave no job running ---------------------------------
if section 8; then
for sig in QUIT TERM; do
    checks=$((checks + 1))
    rm -f pids/*
    run_bg -j3 './putpid {} $$; sleep 300 & ./putpid {}.bg $!; wait' ::: 1 2 3 >/dev/null 2>&1
    wait_for '[ $(ls pids | wc -l) -ge 6 ]' || fail "SIG$sig: jobs did not start"
    kill -$sig $vp
    finish
    [ "$rc" != hang ] || fail "SIG$sig: the runner did not exit"
    [ "$rc" != 0 ] || fail "SIG$sig: exit 0"
    all_dead pids/* || fail "SIG$sig: the runner left jobs running (process list above)"
done
fi

# ---- 9. a fatal error mid-run leaves no job running --------------------------------
if section 9; then
checks=$((checks + 1))
rm -f pids/*
cat >rec.sh <<'EOS'
#!/bin/sh
./putpid "$1" $$
exec sleep 300
EOS
chmod +x rec.sh
# job 1 runs directly; job 2 needs the shell, which does not exist: fatal
PARALLEL_SHELL=$work/no-such-shell "$VPAR" -j2 ::: './rec.sh direct' 'wait_for_rec() { :; }; echo $HOME' \
    >/dev/null 2>t9.err &
vp=$!
finish
[ "$rc" = 255 ] || fail "fatal error: exit $rc, want 255"
grep -q 'no-such-shell' t9.err || fail "fatal error: message does not name the shell: $(cat t9.err)"
# the runner may kill job 1 before it records its pid (then no file
# appears); a job that escaped would record it within the wait
wait_for '[ -s pids/direct ]' || true
all_dead pids/direct || fail "fatal error: the running job was left behind"
fi

echo "$checks checks, $fails failures"
[ $fails = 0 ]
