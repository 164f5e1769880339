#!/usr/bin/env bash
# bench/run_all.sh NAME must find the runner that lists NAME every time.
# It used to pipe `run --list` into `grep -q` under `set -o pipefail`: grep
# exits at the first match, the runner dies of SIGPIPE while still
# printing, the pipeline fails and the benchmark is reported unknown. A
# fake runner whose list is longer than a pipe holds, with the wanted name
# first, makes that deterministic.
# Usage: bench_run_all.sh /path/to/bench/run_all.sh
set -u
src=${1:?usage: bench_run_all.sh /path/to/run_all.sh}
work=$(mktemp -d "${TMPDIR:-/tmp}/vpar-bench-runall.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$src" "$work/run_all.sh"
mkdir "$work/fake"
cat >"$work/fake/run" <<'EOS'
#!/usr/bin/env bash
if [ "${1:-}" = --list ]; then printf "%s\n" wanted_bench $(seq -f "other_%g" 1 30000); exit 0; fi
echo "BENCH $1 ran"
EOS
chmod +x "$work/fake/run"
out=$(VPAR_BUILD_DIR=$work bash "$work/run_all.sh" wanted_bench 2>&1)
rc=$?
if [ $rc != 0 ] || ! grep -q '^BENCH wanted_bench ran$' <<<"$out"; then
    echo "FAIL: run_all.sh wanted_bench: exit $rc, output: $(tail -3 <<<"$out")"
    exit 1
fi
out=$(VPAR_BUILD_DIR=$work bash "$work/run_all.sh" no_such_bench 2>&1)
rc=$?
[ $rc = 2 ] || { echo "FAIL: unknown name: exit $rc, want 2"; exit 1; }
echo "ok"
