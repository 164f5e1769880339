#!/usr/bin/env bash
# vpar-parallel's options, one by one, on vpar-parallel alone (no GNU
# parallel needed; issue 18 listed them as untested): -j N / N% / +N / -N /
# --jobs, -C, -V, --arg-file, --null, --keep-order, --ungroup, --quote,
# and the GNU options added later: --dryrun, --linebuffer, -I, --delay,
# --retry-failed, --progress, --tagstring, --nice, {= =} rejection, the
# empty-input-source rule and the choice of shell. Expected values come
# from GNU parallel's manual, written out here. Ordering and concurrency
# are asserted through the mechanism (jobs that wait for each other), not
# through timing; the only time limits are deadlines that catch hangs.
#
# Usage: parallel_options.sh /path/to/vpar-parallel
set -u
VPAR=${1:?usage: parallel_options.sh /path/to/vpar-parallel}
[ -x "$VPAR" ] || { echo "FAIL: $VPAR is not executable"; exit 1; }
VPAR=$(cd "$(dirname "$VPAR")" && pwd)/$(basename "$VPAR")
work=$(mktemp -d "${TMPDIR:-/tmp}/vpar-parallel-opts.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
unset PARALLEL PARALLEL_SHELL
fails=0
checks=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect() { # NAME WANT GOT
    checks=$((checks + 1))
    [ "$2" = "$3" ] || fail "$1: got '$(printf %s "$3" | tr '\n\t' '|>')', want '$(printf %s "$2" | tr '\n\t' '|>')'"
}
cpus=$(nproc)

# ---- -j: the job slots used are exactly 1..K ---------------------------------
# Each of the first K jobs waits until K jobs have started (so K run at
# once); with fewer slots they would wait forever (30 s deadline, then the
# slot set is wrong); with more, slots above K appear.
slots_for() { # K JOBS-OPTION...
    local k=$1
    shift
    rm -rf s && mkdir s
    "$VPAR" "$@" 'echo {%} > s/{#}; i=0; while [ $(ls s | wc -l) -lt '"$k"' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done' \
        ::: $(seq 1 $((2 * k))) >/dev/null 2>&1
    cat s/* | sort -un | tr '\n' ' '
}
want_slots() { seq 1 "$1" | tr '\n' ' '; }
k=3
expect "-j 3" "$(want_slots $k)" "$(slots_for $k -j 3)"
expect "--jobs 3" "$(want_slots $k)" "$(slots_for $k --jobs 3)"
expect "-j3 bundled" "$(want_slots $k)" "$(slots_for $k -kj3)"
k=$((cpus + 1))
expect "-j +1 ($cpus CPUs)" "$(want_slots $k)" "$(slots_for $k -j +1)"
k=$((cpus > 1 ? cpus - 1 : 1))
expect "-j -1 ($cpus CPUs)" "$(want_slots $k)" "$(slots_for $k -j -1)"
k=$((cpus * 200 / 100))
expect "-j 200% ($cpus CPUs)" "$(want_slots $k)" "$(slots_for $k -j 200%)"
k=$((cpus * 50 / 100)); [ $k -lt 1 ] && k=1
expect "-j 50% ($cpus CPUs)" "$(want_slots $k)" "$(slots_for $k -j 50%)"
k=$cpus
expect "default -j = CPUs ($cpus)" "$(want_slots $k)" "$(slots_for $k)"
expect "PARALLEL_JOBSLOT = {%}" "1" "$("$VPAR" -j1 'echo $PARALLEL_JOBSLOT # {}' ::: a)"
expect "PARALLEL_SEQ = {#}" "1 2 3 " "$("$VPAR" -k 'printf "%s " $PARALLEL_SEQ # {}' ::: a b c)"

# ---- input options ----------------------------------------------------------------
printf 'x\ny z\n' >af
expect "--arg-file" "x
y z" "$("$VPAR" -k --arg-file af echo)"
expect "-a twice: two sources" "x 1
x 2
y z 1
y z 2" "$(printf '1\n2\n' >af2; "$VPAR" -k -a af -a af2 echo)"
printf 'a b\0c\nd\0' >nul
expect "--null" "a b
c
d" "$("$VPAR" -k --null echo <nul)"
printf '1 2 3\n4 5 6\n' >cols
expect "-C ' '" "3-1
6-4" "$("$VPAR" -k -C ' ' echo {3}-{1} :::: cols)"
expect "--colsep with -N2" "1/2/4" "$(printf '1,2\n3,4\n' | "$VPAR" -k -N2 --colsep , echo {1}/{2}/{4})"

# ---- output options ------------------------------------------------------------------
# --keep-order: job 1 finishes only after job 2 has finished, yet prints first
rm -f done2
expect "--keep-order" "one
two" "$("$VPAR" -j2 --keep-order 'if [ {} = one ]; then i=0; while [ ! -e done2 ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; fi; echo {}; [ {} = two ] && touch done2; true' ::: one two)"
# and without -k the block of the job that finished first comes first
rm -f done2
expect "no -k: completion order" "two
one" "$("$VPAR" -j2 'if [ {} = one ]; then i=0; while [ ! -e done2 ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; fi; echo {}; [ {} = two ] && touch done2; true' ::: one two)"
# --ungroup / --linebuffer: a job's line reaches stdout before the job ends:
# job B prints only after it has seen job A's first line in the output file
interleave() {
    rm -f out go
    "$VPAR" -j2 "$@" 'if [ {} = A ]; then echo A1; i=0; while [ ! -e go ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; echo A2; else i=0; while ! grep -q A1 out && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; echo B; touch go; fi' ::: A B >out
    tr '\n' ' ' <out
}
expect "--ungroup" "A1 B A2 " "$(interleave --ungroup)"
expect "-u" "A1 B A2 " "$(interleave -u)"
expect "--linebuffer" "A1 B A2 " "$(interleave --linebuffer)"
expect "--line-buffer" "A1 B A2 " "$(interleave --line-buffer)"
expect "--quote" "\$HOME|a  b|x y|" "$("$VPAR" --quote printf '%s|' '$HOME' 'a  b' ::: 'x y')"
expect "--tagstring" "<a>-1	a
<b c>-2	b c" "$("$VPAR" -k --tagstring '<{}>-{#}' echo ::: a 'b c')"
expect "--tagstring --dry-run" "[a]	echo a" "$("$VPAR" --dry-run --tagstring '[{}]' echo ::: a)"
expect "--dryrun" "$("$VPAR" -k --dry-run echo {.} ::: a.b 'c d')" "$("$VPAR" -k --dryrun echo {.} ::: a.b 'c d')"
out=$("$VPAR" -j2 --progress echo ::: 1 2 3 2>prog.err)
expect "--progress: stdout unchanged" "1 2 3" "$(printf '%s\n' $out | sort | tr '\n' ' ' | sed 's/ $//')"
checks=$((checks + 1))
grep -q 'local:0/3/' prog.err || fail "--progress: no final 'local:0/3/...' on stderr: $(cat -A prog.err)"
expect "-V" "yes" "$("$VPAR" -V | grep -q '^vpar-parallel ' && echo yes)"

# ---- -I, {= =}, empty sources -----------------------------------------------------
# more combinations than size_t holds (65 sources of 2 = 2^65): exit 255, a
# message, nothing run (it exited from inside the input code before)
srcs=()
for i in $(seq 65); do srcs+=(::: a b); done
"$VPAR" echo "${srcs[@]}" >ov.out 2>ov.err
expect "2^65 combinations: exit 255" 255 $?
expect "2^65 combinations: nothing run" "" "$(cat ov.out)"
checks=$((checks + 1))
grep -q 'too many combinations' ov.err || fail "2^65 combinations: message: $(cat ov.err)"
expect "-I ,," "a.b-{}-a" "$("$VPAR" -I ,, echo ,,-{}-{.} ::: a.b)"
"$VPAR" echo '{= s/x// =}' ::: a >pe.out 2>pe.err
rc=$?
expect "{= =}: exit 255" 255 $rc
expect "{= =}: nothing run" "" "$(cat pe.out)"
checks=$((checks + 1))
grep -q 'not supported' pe.err || fail "{= =}: message: $(cat pe.err)"
# man parallel: an empty input source combined with others gives one empty
# argument (GNU prints "1 " .. "10 " for `seq 10 1`, which is empty)
expect "empty source" "1 |2 |3 " "$("$VPAR" -k echo {1} {2} :::: <(seq 1 3) :::: <(seq 3 1) | tr '\n' '|' | sed 's/|$//')"
expect "empty source --dry-run" "echo a ''
echo b ''" "$("$VPAR" -k --dry-run echo {1} {2} ::: a b :::: /dev/null)"
expect "empty source --link" "a |b " "$("$VPAR" -k --link echo {1} {2} ::: a b :::: /dev/null | tr '\n' '|' | sed 's/|$//')"
expect "only empty sources: no jobs" "" "$("$VPAR" echo :::: /dev/null ::: )"

# ---- --delay: starts at least T apart (a lower bound; load only adds) ------------
# (the joblog's Starttime is taken right after each start, 3 decimals)
"$VPAR" -j3 --delay 0.3 --joblog delay.log true ::: 1 2 3
tail -n +2 delay.log | cut -f3 >starts
checks=$((checks + 1))
[ "$(wc -l <starts)" = 3 ] || fail "--delay: $(wc -l <starts) jobs ran, want 3"
sort -n starts | awk 'NR > 1 && $1 - p < 0.298 { bad = 1 } { p = $1 } END { exit bad }' ||
    fail "--delay 0.3: starts closer than 0.3 s: $(sort -n starts | tr '\n' ' ')"

# ---- --retry-failed: reruns the joblog's failed commands, nothing else ------------
touch ok1 ok3
"$VPAR" -k --joblog rf.log 'echo {}; test -e ok{}' ::: 1 2 3 >rf1.out
rc=$?
expect "--retry-failed setup: one failure" 1 $rc
touch ok2
expect "--retry-failed reruns job 2 only" "2" "$("$VPAR" --retry-failed --joblog rf.log)"
expect "--retry-failed: joblog's last line for 2 succeeded" "2 0" "$(tail -1 rf.log | cut -f1,7 | tr '\t' ' ')"
expect "--retry-failed again: nothing to run" "" "$("$VPAR" --retry-failed --joblog rf.log)"
"$VPAR" --retry-failed echo ::: 1 >/dev/null 2>rf.err
expect "--retry-failed without --joblog: exit 255" 255 $?

# ---- --nice ---------------------------------------------------------------------------
base=$(nice)
want=$((base + 7 > 19 ? 19 : base + 7))
expect "--nice 7" "$want" "$("$VPAR" --nice 7 'ps -o ni= -p $$ # {}' ::: 1 | tr -d ' ')"

# ---- the shell: GNU's rule ($PARALLEL_SHELL, else the calling shell) -----------------
# this script runs under bash, so bash runs the jobs: brace expansion works
expect "calling shell (bash)" "1 2 3 x" "$("$VPAR" 'echo {1..3}' ::: x)"
expect "PARALLEL_SHELL" "$(/bin/sh -c 'echo {1..3} x')" "$(PARALLEL_SHELL=/bin/sh "$VPAR" 'echo {1..3}' ::: x)"

echo "$checks checks, $fails failures"
[ $fails = 0 ]
