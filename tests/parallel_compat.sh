#!/usr/bin/env bash
# Compatibility test of vpar-parallel against GNU parallel itself: the same
# invocations run through both, and stdout (with -k or sorted), --dry-run
# output, exit codes and joblog columns (all but the times) must agree.
# Then the behaviour GNU cannot be compared on directly: SIGINT leaves no
# job processes behind, --resume completes exactly the missing jobs, and
# usage errors give a clear message and exit 255.
#
# Usage: parallel_compat.sh /path/to/vpar-parallel
# Exit: 0 pass, 1 failure, 77 skipped (GNU parallel not installed).
set -u
VPAR=${1:?usage: parallel_compat.sh /path/to/vpar-parallel}
GNU=${GNU_PARALLEL:-$(command -v parallel || true)}
if [ -z "$GNU" ] || ! "$GNU" --version 2>/dev/null | grep -q 'GNU parallel'; then
    echo "SKIP: GNU parallel not installed"
    exit 77
fi
[ -x "$VPAR" ] || { echo "FAIL: $VPAR is not executable"; exit 1; }
VPAR=$(cd "$(dirname "$VPAR")" && pwd)/$(basename "$VPAR")

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/vpar-parallel-test.XXXXXX")
cleanup() {
    # stop anything a failed signal test left behind (only our own jobs)
    if [ -d "$work/pids" ]; then
        for f in "$work"/pids/*; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
    fi
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
# GNU keeps state in $HOME/.parallel; both run commands with the same shell.
export HOME="$work/home"
mkdir -p "$HOME"
export PARALLEL_SHELL=/bin/sh
unset PARALLEL
# ./putpid NAME PID: records a job's pid whole or not at all
cp "$here/parallel_putpid.sh" putpid || exit 1

fails=0
checks=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

# same NAME [--sort] [--stdin FILE] -- ARGS...: run both, compare stdout and
# the exit status.
same() {
    local name=$1
    shift
    local sort=0 input=/dev/null pre=:
    while [ "$1" != "--" ]; do
        case $1 in
        --sort) sort=1 ;;
        --stdin) input=$2; shift ;;
        --pre) pre=$2; shift ;;
        esac
        shift
    done
    shift
    checks=$((checks + 1))
    eval "$pre"
    "$VPAR" "$@" <"$input" >v.out 2>v.err
    local vrc=$?
    eval "$pre"
    "$GNU" --will-cite "$@" <"$input" >g.out 2>g.err
    local grc=$?
    if [ $sort = 1 ]; then
        LC_ALL=C sort v.out >v.sorted && mv v.sorted v.out
        LC_ALL=C sort g.out >g.sorted && mv g.sorted g.out
    fi
    if ! cmp -s v.out g.out; then
        fail "$name: stdout differs from GNU parallel (vpar-parallel $*)"
        diff v.out g.out | head -20
        echo "-- vpar stderr:"; head -5 v.err
    fi
    if [ $vrc != $grc ]; then
        fail "$name: exit status $vrc, GNU parallel $grc (vpar-parallel $*)"
        head -5 v.err
    fi
}

# joblog NAME -- ARGS...: compare joblogs (Seq Host Send Receive Exitval
# Signal Command; Starttime and JobRuntime differ by nature) and exit codes.
joblog() {
    local name=$1 pre=:
    shift
    if [ "$1" = "--pre" ]; then pre=$2; shift 2; fi
    shift
    checks=$((checks + 1))
    rm -f v.log g.log
    eval "$pre"
    "$VPAR" --joblog v.log "$@" </dev/null >v.out 2>v.err
    local vrc=$?
    eval "$pre"
    "$GNU" --will-cite --joblog g.log "$@" </dev/null >g.out 2>g.err
    local grc=$?
    norm() { head -1 "$1"; tail -n +2 "$1" | cut -f1,2,5-9 | sort -n; }
    # header identical, times well-formed
    if ! head -1 v.log | cmp -s - <(head -1 g.log); then
        fail "$name: joblog header differs"
    fi
    if tail -n +2 v.log | grep -Ev $'^[0-9]+\t:\t[0-9]+\\.[0-9]{3}\t +[0-9]+\\.[0-9]{3}\t0\t[0-9]+\t-?[0-9]+\t[0-9]+\t' | grep -q .; then
        fail "$name: malformed joblog line"
        cat v.log
    fi
    if ! cmp -s <(norm v.log) <(norm g.log); then
        fail "$name: joblog differs from GNU parallel (vpar-parallel $*)"
        diff <(norm v.log) <(norm g.log) | head -20
    fi
    if [ $vrc != $grc ]; then
        fail "$name: exit status $vrc, GNU parallel $grc (vpar-parallel $*)"
    fi
}

# ---- the seed's examples -------------------------------------------------
seq 1 10 >ten
same "stdin --dry-run" --sort --stdin ten -- --dry-run echo
same "stdin --dry-run -k" --stdin ten -- -k --dry-run echo
same "::: run" -- -k echo ::: 1 2 3
# process substitution: each side gets its own pipe
checks=$((checks + 1))
[ "$("$VPAR" -k echo :::: <(seq 1 10))" = "$("$GNU" --will-cite -k echo :::: <(seq 1 10))" ] ||
    fail ":::: <(seq 1 10) differs from GNU parallel"
same ":::: file" -- -k echo :::: ten
same "two sources nested" -- -k echo {1} {2} ::: a b c ::: 1 2 3
same "two sources appended" -- -k echo ::: a b ::: 1 2
same "--xapply" -- -k --xapply echo {1} {2} ::: a b c ::: 1 2 3
same "--xapply recycles" -- -k --xapply echo ::: a b c d e ::: 1 2
same "--link" -- -k --link echo ::: a b c ::: 1 2 ::: x
same ":::+ truncates" -- -k echo ::: a b c :::+ 1 2
same ":::+ with a third source" -- -k --dry-run echo ::: a b :::+ 1 2 ::: X Y
seq 11 30 >twenty
same "::::+" -- -k --dry-run echo :::: ten ::::+ twenty
same "-a and :::" -- -k --dry-run -a ten echo ::: x y
same ":::: - and :::" --stdin ten -- -k echo {2}{1} :::: - ::: z
same "no command: args are commands" -- -k ::: 'echo hi' 'echo "x  y"' 'printf "%s\n" a b'
# an empty input source combined with others: one empty argument
same "empty source last" -- -k --dry-run echo {1} {2} ::: a b :::: /dev/null
same "empty source first" -- -k echo {1} {2} :::: /dev/null ::: a b
same "empty source between" -- -k --dry-run echo {1} {2} {3} ::: a b :::: /dev/null ::: x y
same "empty source linked" -- -k echo {1} {2} ::: a b ::::+ /dev/null
same "empty source, -N2" -- -k -N2 echo {1}/{2} ::: a b c :::: /dev/null
checks=$((checks + 1))
[ "$("$VPAR" -k echo {1} {2} :::: <(seq 1 10) :::: <(seq 10 1))" = "$("$GNU" --will-cite -k echo {1} {2} :::: <(seq 1 10) :::: <(seq 10 1))" ] ||
    fail "seq 10 1 (empty) as a second source differs from GNU parallel"

# ---- replacement strings on paths with dots and slashes ------------------
paths=(a/b.c/d.e.f 'dir with space/file.tar.gz' /abs/x.y ./rel/.hidden noext
       'trailing/' / a.b/c 'q"uote' "it's.x" 'x$y.z' '*.c' '' 'a//b.c' '-dash.e')
same "rpl dry-run" -- -k --dry-run echo {} {.} {/} {//} {/.} {#} ::: "${paths[@]}"
same "rpl run" -- -k echo {} {.} {/} {//} {/.} {#} ::: "${paths[@]}"
same "rpl inside words" -- -k echo pre{}post x{.}y {/}.out ::: "${paths[@]}"
same "rpl quoted in command" -- -k --dry-run echo '"{}"' "'{}'" ::: 'a b' "c'd"
same "positional" -- -k echo {2} {1} {2.} {1/} {2//} {1/.} {-1} {-2} {3} ::: a.x/b.y ::: c/d.e
same "{#} alone: no {} appended" -- -k --dry-run echo job {#} ::: a b c
same "{%} with -j1" -- -k -j1 echo {%} {} ::: a b c
same "not a replacement string" -- -k --dry-run echo '{ }' '{x}' '{a.}' ::: a
same "{0} is {}, {00} empty" -- -k --dry-run echo {0} {0.} {00} {-0} ::: a.x ::: b.y
same "-q" -- -k -q echo 'a  b' '$HOME' {} ::: 1 '2 3'
# man parallel ({}): "The exception is if the command starts with a
# replacement string; then the string is not quoted."
same "command starts with {}" -- -k --dry-run {} x ::: 'echo a b' 'c d'
same "first word holds {}" -- -k --dry-run 'x{}' 'y{}' ::: 'a b'
same "{#} first" -- -k --dry-run '{#}' '{}' ::: 'a b'
same "leading blank: quoted" -- -k --dry-run ' {} x' ::: 'a b'
same "command from the argument" -- -k {} ::: 'echo a  b' 'printf "%s\n" x'
same "-I" -- -k -I ,, echo ,, {} {.} {/} {1} ::: a.b/c.d e
same "-I in a word" -- -k --dry-run -I XX echo preXXpost ::: 'a b'
same "--dryrun" -- -k --dryrun echo {.} ::: a.b 'c d'

# ---- --colsep, -N, --tag -------------------------------------------------
printf 'a,b,,c\nd e,f\n1,2,3,4,5\n' >csv
printf 'a;;b,c\nx,,y\n' >mixed
printf 'a\tb\tc\n1\t2\t3\n' >tsv
same "--colsep ," -- -k --colsep , echo {2}-{3}-{4} {} :::: csv
same "--colsep regex" -- -k --colsep '[,;]+' echo {1}:{2}:{3} :::: mixed
same "--colsep tab" -- -k --colsep '\t' echo {3} {1} :::: tsv
same "-N2" -- -k -N2 echo ::: a b c d e
same "-N3 positional" -- -k -N3 echo {1}-{2}-{3}-{4} {} ::: a b c d e f g
same "-N2 two sources" -- -k -N2 echo {1}-{2}-{3}-{4} ::: a b c ::: 1 2
same "-N0" -- -k -N0 echo hi ::: a b
same "--tag" -- -k --tag echo ::: a b ::: c 'd e'
same "--tag multi-line" -- -k --tag 'printf "%s\n" l1 l2; printf nonl' ::: x y
same "--tag --dry-run" -- -k --tag --dry-run echo ::: 1 2
same "--tagstring" -- -k --tagstring '{1}-{2}' echo ::: a b ::: 1 'x y'
same "--tagstring literal" -- -k --tagstring 'x y' 'printf "l1\nl2\n"; echo {}' ::: a

# ---- running: shells, quoting, output -------------------------------------
same "shell features" -- -k 'echo {} | tr a-z A-Z; echo "$HOME" > /dev/null && echo ok; x=1; echo $x' ::: abc def
same "redirection" -- -k 'echo {} > out.{}; cat out.{}' ::: p q
same "glob" -- -k 'ls t*n' ::: 1
same "assignment prefix" -- -k 'V={} sh -c "echo \$V"' ::: 7 8
same "quoted spaces" -- -k printf '%s|\n' ::: 'a  b' ' lead' 'trail '
same "backslash echo" -- -k 'echo a\\b{}' ::: 1
same "-k keeps order" -- -k -j4 'sleep 0.0$((10 - {})); echo {}' ::: 1 2 3 4 5 6 7 8
same "grouped output, any order" --sort -- -j3 'echo a{}; echo b{}' ::: 1 2 3 4 5 6
same "--line-buffer" --sort -- -j3 --line-buffer 'echo a{}; echo b{}' ::: 1 2 3 4
same "--line-buffer -k" -- -k -j3 --line-buffer 'echo a{}; echo b{}' ::: 1 2 3 4
same "--linebuffer" --sort -- -j3 --linebuffer 'echo a{}; echo b{}' ::: 1 2 3 4
same "--delay" -- -k --delay 0.1 echo ::: 1 2 3
same "--nice" -- -k --nice 5 'echo {}' ::: 1 2
same "-u" --sort -- -u -j2 echo ::: 1 2 3
same "big output -k" -- -k -j3 'seq {}' ::: 100000 3 50000 7
same "stdout only captured to stdout" -- -k 'echo o{}; echo e{} >&2' ::: 1 2
printf 'a\n\nb' >in.empty
printf 'a\n\n  \nb\n' >in.blank
printf 'a b\0c\nd\0' >in.nul
printf 'x,y,z' >in.comma
same "empty lines are arguments" --stdin in.empty -- -k --dry-run echo
same "-r skips empty lines" --stdin in.blank -- -k -r --dry-run echo
same "-0" --stdin in.nul -- -k -0 echo
same "-d ," --stdin in.comma -- -k -d , echo
same "no input: no jobs" -- echo :::
same "-j0" -- -k -j0 echo ::: 1 2 3 4 5

# ---- failing jobs, exit codes, --halt, --retries ---------------------------
same "failing jobs" -- -k 'echo {}; exit {}' ::: 0 1 2 0 3
same "command not found" -- -k no_such_command_vpar_xyz ::: 1 2
same "killed by a signal" -- 'kill -9 $$' ::: 1
# GNU's rule: the exit status counts failed jobs up to 100, then 101
# (GNU itself is too slow to start 150 jobs in a quick test)
checks=$((checks + 1))
"$VPAR" -j2 false ::: $(seq 1 150) >/dev/null 2>&1
rc=$?
[ $rc = 101 ] || fail "150 failing jobs: exit $rc, want 101"
"$VPAR" -j2 'exit {}' ::: $(seq 0 99) >/dev/null 2>&1
rc=$?
[ $rc = 99 ] || fail "99 failing jobs: exit $rc, want 99"
same "halt now,fail=1" -- -j1 -k --halt now,fail=1 'echo {}; exit {}' ::: 0 3 0 4
same "halt soon,fail=2" -- -j1 -k --halt soon,fail=2 'echo {}; exit {}' ::: 0 3 0 4 5 6
same "halt soon,fail=50%" -- -j1 -k --halt soon,fail=50% 'echo {}; exit {}' ::: 0 3 0 4 5 6
same "halt now,success=1" -- -j1 -k --halt now,success=1 'echo {}; exit {}' ::: 3 0 4
same "halt now,done=2" -- -j1 -k --halt now,done=2 'echo {}; exit {}' ::: 3 0 4
same "halt 2 (now,fail=1)" -- -j1 -k --halt 2 'echo {}; exit {}' ::: 0 5 0
same "halt never-reached fail=3" -- -j1 -k --halt soon,fail=3 'exit {}' ::: 0 1 0 2
same "halt fail=1 signal" -- -j1 --halt now,fail=1 'kill -9 $$' ::: 1
same "retries" --pre 'rm -f cnt*' -- -j1 -k --retries 3 'echo try{}; echo x >> cnt{}; test $(wc -l < cnt{}) -ge {}' ::: 1 2 5
joblog "joblog basic" -- -j2 'echo {}; exit {}' ::: 0 1 2 0
joblog "joblog signal" -- -j1 'kill -9 $$' ::: 1
joblog "joblog output bytes" -- -j2 'seq {}; echo err >&2' ::: 10 1000 0
joblog "joblog retries" --pre 'rm -f cnt*' -- -j1 --retries 2 'echo x >> cnt{}; test $(wc -l < cnt{}) -ge {}' ::: 1 2 3
# Exitval/Signal of timed-out jobs: the jobs meant to finish take 0.1-0.2 s
# and the limit is 5 s (or 10x the median), so a loaded machine cannot turn
# them into timeouts; the jobs meant to time out sleep 300 s.
joblog "timeout seconds" -- -j2 --timeout 5 'sleep {}' ::: 0.1 300 0.2
joblog "timeout with suffix" -- -j2 --timeout 0.1m 'sleep {}' ::: 0.1 300
joblog "timeout percent" -- -j2 --timeout 1000% 'sleep {}' ::: 0.2 0.2 0.2 0.2 300 0.2
rm -f v.log g.log
"$VPAR" -k --joblog v.log 'echo {}; exit {}' ::: 0 1 0 2 >/dev/null
"$GNU" --will-cite -k --joblog g.log 'echo {}; exit {}' ::: 0 1 0 2 >/dev/null
checks=$((checks + 1))
"$VPAR" -k --resume-failed --joblog v.log 'echo {}; exit {}' ::: 0 1 0 2 0 >v.out
vrc=$?
"$GNU" --will-cite -k --resume-failed --joblog g.log 'echo {}; exit {}' ::: 0 1 0 2 0 >g.out
grc=$?
cmp -s v.out g.out || fail "--resume-failed: output differs: $(cat v.out | tr '\n' ' ') vs $(cat g.out | tr '\n' ' ')"
[ $vrc = $grc ] || fail "--resume-failed: exit $vrc vs $grc"
# lines are appended in completion order: compare them sorted
cmp -s <(cut -f1,5-9 v.log | sort) <(cut -f1,5-9 g.log | sort) || { fail "--resume-failed: joblog differs"; diff <(cut -f1,5-9 v.log) <(cut -f1,5-9 g.log); }

# ---- usage errors: clear message, exit 255 (GNU's "other error") -----------
usage_error() {
    local name=$1 want=$2
    shift 2
    checks=$((checks + 1))
    "$VPAR" "$@" </dev/null >v.out 2>v.err
    local rc=$?
    [ $rc = 255 ] || fail "$name: exit $rc, want 255"
    grep -q -- "$want" v.err || fail "$name: error message '$(cat v.err)' does not mention '$want'"
    [ -s v.out ] && fail "$name: printed to stdout"
}
usage_error "unknown option" "--frobnicate" --frobnicate echo ::: 1
usage_error "unknown short option" "-Z" -Z echo ::: 1
usage_error "unreadable :::: file" "no/such/file" echo :::: no/such/file
usage_error "bad -j" "abc" -j abc echo ::: 1
usage_error "negative -N" "-N" -N -2 echo ::: 1
usage_error "missing option value" "--joblog" --joblog
usage_error "option value at end" "--timeout" --timeout
usage_error "bad --timeout" "5x" --timeout 5x echo ::: 1
usage_error "bad --halt" "--halt" --halt later,fail=1 echo ::: 1
usage_error "bad --halt count" "--halt" --halt now,fail=x echo ::: 1
usage_error "bad --colsep" "--colsep" --colsep '(' echo ::: 1
usage_error "--resume without --joblog" "--joblog" --resume echo ::: 1
usage_error "unwritable joblog" "nodir/log" --joblog nodir/log echo ::: 1
usage_error "{= perl =}" "not supported" -k echo '{= s/\.gz$// =}' ::: a.gz b.txt
usage_error "{=N perl =}" "not supported" echo '{=1 $_=uc($_) =}' ::: a
usage_error "--retry-failed without --joblog" "--joblog" --retry-failed
usage_error "bad --nice" "--nice" --nice x echo ::: 1
usage_error "bad --delay" "--delay" --delay 1x echo ::: 1
checks=$((checks + 1))
"$VPAR" --help >v.out 2>&1 && grep -q -- '--joblog' v.out || fail "--help"
"$VPAR" --version >v.out 2>&1 && grep -q 'vpar-parallel' v.out || fail "--version"
"$VPAR" --bar -j2 true ::: 1 2 3 >v.out 2>v.err || fail "--bar run failed"
[ -s v.out ] && fail "--bar wrote to stdout"
grep -q '100%' v.err || fail "--bar: no final 100% on stderr: $(cat v.err)"
"$VPAR" --eta -j2 echo ::: 1 2 3 >v.out 2>v.err || fail "--eta run failed"
[ "$(sort v.out | tr '\n' ' ')" = "1 2 3 " ] || fail "--eta changed stdout"
grep -q 'ETA' v.err || fail "--eta: nothing on stderr"

# ---- SIGINT: every job's process group is killed, joblog is flushed --------
# wait_for COND-CMD: poll a condition with a generous deadline (no timing
# assumption beyond "within 30 s").
wait_for() {
    local i
    for i in $(seq 1 300); do
        eval "$1" && return 0
        sleep 0.1
    done
    return 1
}
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
checks=$((checks + 1))
mkdir -p pids
rm -f int.log
# jobs 1-4 finish at once; 5-8 block (and start a grandchild that blocks)
cmd='if [ {} -le 4 ]; then echo {}; else sleep 300 & ./putpid {}.child $!; ./putpid {} $$; wait; fi'
"$VPAR" -j4 --joblog int.log "$cmd" ::: 1 2 3 4 5 6 7 8 >int.out 2>int.err &
vp=$!
if ! wait_for '[ $(ls pids | wc -l) -ge 8 ]'; then
    fail "SIGINT: blocking jobs did not start"
fi
kill -INT $vp
wait $vp
rc=$?
[ $rc = 255 ] || fail "SIGINT: exit $rc, want 255 (as GNU parallel)"
left=""
for f in pids/*; do
    pid=$(cat "$f")
    # the kill sequence already ended; give the kernel a moment to reap
    wait_for "! alive $pid" || left="$left $pid"
done
[ -z "$left" ] && rm -f pids/* || fail "SIGINT left job processes running:$left"
[ "$(tail -n +2 int.log | cut -f1 | sort -n | tr '\n' ' ')" = "1 2 3 4 " ] ||
    fail "SIGINT: joblog should hold exactly jobs 1-4: $(cat int.log)"
[ "$(sort int.out | tr '\n' ' ')" = "1 2 3 4 " ] || fail "SIGINT: output of the finished jobs lost"

# ---- --resume after the interrupted run completes exactly the missing jobs -
checks=$((checks + 1))
"$VPAR" -j4 --resume --joblog int.log 'echo {}' ::: 1 2 3 4 5 6 7 8 >res.out 2>res.err
rc=$?
[ $rc = 0 ] || fail "--resume: exit $rc"
[ "$(sort -n res.out | tr '\n' ' ')" = "5 6 7 8 " ] || fail "--resume ran: $(sort -n res.out | tr '\n' ' '), want 5 6 7 8"
[ "$(tail -n +2 int.log | cut -f1 | sort -n | tr '\n' ' ')" = "1 2 3 4 5 6 7 8 " ] ||
    fail "--resume: joblog should hold every job exactly once: $(cat int.log)"
[ "$(grep -c '^Seq' int.log)" = 1 ] || fail "--resume: joblog header repeated"
"$VPAR" -j4 --resume --joblog int.log 'echo {}' ::: 1 2 3 4 5 6 7 8 >res.out 2>&1
[ -s res.out ] && fail "--resume of a complete run ran jobs again: $(cat res.out)"

# ---- SIGTERM and SIGHUP -----------------------------------------------------
checks=$((checks + 1))
rm -f pids/*
"$VPAR" -j2 './putpid {} $$; sleep 300' ::: 1 2 3 >/dev/null 2>&1 &
vp=$!
wait_for '[ $(ls pids | wc -l) -ge 2 ]' || fail "SIGTERM: jobs did not start"
kill -TERM $vp
wait $vp
rc=$?
[ $rc = 255 ] || fail "SIGTERM: exit $rc, want 255"
for f in pids/*; do
    pid=$(cat "$f")
    wait_for "! alive $pid" || fail "SIGTERM left job $pid"
done
[ -f pids/3 ] && fail "SIGTERM: a new job was started"
rm -f pids/*
checks=$((checks + 1))
"$VPAR" -j2 './putpid {} $$; while [ ! -e release ]; do sleep 0.05; done; echo done{}' ::: 1 2 3 4 >hup.out 2>hup.err &
vp=$!
wait_for '[ $(ls pids | wc -l) -ge 2 ]' || fail "SIGHUP: jobs did not start"
kill -HUP $vp
# the runner has read the signal once it says so; then release the jobs
wait_for '[ -s hup.err ] || ! alive $vp' || true
touch release
wait $vp
rc=$?
[ $rc = 0 ] || fail "SIGHUP: exit $rc, want 0 (running jobs finish normally)"
[ "$(sort hup.out | tr '\n' ' ')" = "done1 done2 " ] || fail "SIGHUP: want only the running jobs to finish, got: $(cat hup.out)"
rm -f pids/*

echo "$checks checks, $fails failures"
[ $fails = 0 ]
