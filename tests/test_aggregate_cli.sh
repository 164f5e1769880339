#!/usr/bin/env bash
# End-to-end tests of vpar-aggregate (issue 8):
#   test_aggregate_cli.sh VPAR_AGGREGATE DATA_DIR [PYTHON] [full|quick]
# (quick, for sanitizer builds: fewer permutations and configurations)
# - golden: the aggregate/ fixture with its order.txt, every step within 1e-9
# - same seed -> same permutations and bit-identical results with 1 or 2
#   workers and threads; the orders match an independent Python reference
# - --order / --seed / input validation: clear errors, exit status 2, nothing written
# - resume: SIGINT midway (in-process and on the process pool), rerun, compare
#   with an uninterrupted run; a damaged file is recomputed
# - --plot: well-formed XML with one path per permutation plus the median
# - NaN/inf entries: every step against the Python reference step
# - HDF5 networks and annotations against the Python reference
# Exit status: 0 every block ran and passed, 1 a failure, 77 (ctest: skipped)
# when no check failed but some block could not run (no python3 with numpy/
# pandas/tables/bottleneck/scipy, or a build without HDF5): a skipped block
# is never reported as a pass.
set -u
bin=$1
data=$2
fx=$data/fixtures/aggregate
py=${3:-/usr/bin/python3}
mode=${4:-full}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/vpar_agg_cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
skips=0
skip() { echo "SKIP: $*"; skips=$((skips + 1)); }
have_py=0
if [ -x "$py" ] && "$py" -c 'import xml.dom.minidom' 2>/dev/null; then have_py=1; fi

nets=("$fx"/nw_0{0,1,2,3,4,5}.npy)
common=(--annotations "$fx/go.tsv" --genes "$fx/genes.txt")

# ---- golden ----------------------------------------------------------------
out=$tmp/golden
if "$bin" "${common[@]}" --order "$fx/order.txt" --out "$out" -q "${nets[@]}"; then
  f=$out/permute_network_performance_1.csv
  if [ "$(head -1 "$f")" != "step,dataset,mean_auc" ]; then fail "golden: header of $f"; fi
  if [ "$(cut -d, -f1,2 "$f")" != "$(cut -d, -f1,2 "$fx/expected.csv")" ]; then
    fail "golden: steps/datasets differ from expected.csv"
  fi
  # every step within 1e-9 of the reference
  bad=$(paste -d, <(tail -n +2 "$f") <(tail -n +2 "$fx/expected.csv") |
        awk -F, '{ d = $3 - $6; if (d < 0) d = -d; if (d > 1e-9 || $3 == "NaN") print "step " $1 ": " $3 " vs " $6 }')
  if [ -n "$bad" ]; then fail "golden: $bad"; else ok "golden fixture within 1e-9"; fi
  # aggregate.csv = the permutation file with the permutation number in front
  if [ "$(tail -n +2 "$out/aggregate.csv")" != "$(tail -n +2 "$f" | sed 's/^/1,/')" ] ||
     [ "$(head -1 "$out/aggregate.csv")" != "permutation,step,dataset,mean_auc" ]; then
    fail "golden: aggregate.csv does not match the permutation file"
  fi
  # 17 significant digits on every line: each mean_auc must be exactly what
  # printf %.17g prints for its value (a rounded "0.781872" re-prints as
  # 0.78187200000000001 and fails; so does an empty field or "NaN").
  short=$(tail -n +2 "$f" | cut -d, -f3 | awk '{ s = sprintf("%.17g", $1 + 0); if (s != $1) print NR + 1 ": " $1 }')
  [ -n "$short" ] && fail "golden: mean_auc not written with 17 significant digits: $short"
  [ "$(tail -n +2 "$f" | wc -l)" = 6 ] || fail "golden: $(tail -n +2 "$f" | wc -l) steps, expected 6"
else
  fail "golden run failed"
fi

# ---- seeds, workers and threads ------------------------------------------------
np=4; configs=("2 1" "1 2" "2 2")
if [ "$mode" = quick ]; then np=2; configs=("2 2"); fi
run_seed() {  # dir seed jobs threads
  "$bin" "${common[@]}" --permutations $np --seed "$2" -j "$3" -t "$4" --out "$1" -q "${nets[@]}"
}
run_seed "$tmp/s11" 7 1 1 || fail "seed run -j1 -t1"
for jt in "${configs[@]}"; do
  set -- $jt
  d=$tmp/s$1$2
  if run_seed "$d" 7 "$1" "$2"; then
    for f in "$tmp"/s11/*.csv; do
      cmp -s "$f" "$d/$(basename "$f")" || fail "-j $1 -t $2: $(basename "$f") differs from -j 1 -t 1"
    done
  else
    fail "seed run -j $1 -t $2"
  fi
done
[ "$(ls "$tmp"/s11/permute_network_performance_*.csv | wc -l)" = $np ] || fail "expected $np permutation files"
ok "same seed: identical results with 1 or 2 workers and threads"
if [ "$mode" = full ]; then
  run_seed "$tmp/s8" 8 1 1 || fail "seed 8 run"
  cmp -s "$tmp/s11/aggregate.csv" "$tmp/s8/aggregate.csv" && fail "seeds 7 and 8 gave the same orders"
fi
# the orders follow the documented generator (independent Python implementation)
if [ $have_py = 1 ]; then
  want=$("$py" "$here/test_aggregate_perm.py" 7 $np nw_00.npy nw_01.npy nw_02.npy nw_03.npy nw_04.npy nw_05.npy)
  got=$(for i in $(seq 1 $np); do tail -n +2 "$tmp/s11/permute_network_performance_$i.csv" | cut -d, -f2 | paste -sd, -; done)
  if [ "$want" = "$got" ]; then ok "orders match the Python reference"; else fail "orders: got $got, want $want"; fi
else
  skip "no $py for the permutation reference"
fi
# each permutation's last step aggregates all six networks: same value in every permutation
last=$(tail -q -n 1 "$tmp"/s11/permute_network_performance_*.csv | cut -d, -f3 | sort -u | wc -l)
[ "$last" = 1 ] || fail "the full aggregate differs between permutations ($last distinct values)"

# ---- validation ------------------------------------------------------------------
expect_error() {  # name "message part" args...
  local name=$1 msg=$2; shift 2
  local d=$tmp/err
  rm -rf "$d"
  "$bin" --out "$d" "$@" >"$tmp/err.out" 2>"$tmp/err.txt"
  local rc=$?
  if [ $rc != 2 ]; then fail "$name: exit status $rc, expected 2 ($(cat "$tmp/err.txt"))"; return; fi
  if ! grep -qF -- "$msg" "$tmp/err.txt"; then fail "$name: message '$(cat "$tmp/err.txt")' lacks '$msg'"; return; fi
  if ls "$d"/*.csv >/dev/null 2>&1; then fail "$name: wrote output"; return; fi
  ok "$name"
}
printf 'nw_00.npy\nnw_01.npy\nnw_07.npy\nnw_03.npy\nnw_04.npy\nnw_05.npy\n' >"$tmp/unknown.txt"
printf 'nw_00.npy\nnw_01.npy\nnw_02.npy\nnw_01.npy\nnw_04.npy\nnw_05.npy\n' >"$tmp/repeated.txt"
printf 'nw_00.npy\nnw_01.npy\nnw_02.npy\nnw_03.npy\nnw_04.npy\n' >"$tmp/short.txt"
head -n 399 "$fx/genes.txt" >"$tmp/genes399.txt"
expect_error "order: unknown dataset" "unknown.txt:3: unknown dataset 'nw_07.npy'" "${common[@]}" --order "$tmp/unknown.txt" "${nets[@]}"
expect_error "order: repeated dataset" "repeated.txt:4: dataset 'nw_01.npy' is repeated" "${common[@]}" --order "$tmp/repeated.txt" "${nets[@]}"
expect_error "order: wrong count" "names 5 datasets but 6 networks" "${common[@]}" --order "$tmp/short.txt" "${nets[@]}"
expect_error "order: missing file" "$tmp/none.txt" "${common[@]}" --order "$tmp/none.txt" "${nets[@]}"
expect_error "order with seed" "--order gives one fixed order" "${common[@]}" --order "$fx/order.txt" --seed 3 "${nets[@]}"
expect_error "order with permutations" "--permutations must be 1" "${common[@]}" --order "$fx/order.txt" -p 3 "${nets[@]}"
expect_error "seed: not a number" "--seed 'abc'" "${common[@]}" -p 2 --seed abc "${nets[@]}"
expect_error "seed: negative" "--seed '-1'" "${common[@]}" -p 2 --seed -1 "${nets[@]}"
expect_error "seed: too large" "--seed '18446744073709551616'" "${common[@]}" -p 2 --seed 18446744073709551616 "${nets[@]}"
expect_error "permutations: zero" "--permutations '0'" "${common[@]}" -p 0 "${nets[@]}"
expect_error "permutations: missing" "--permutations P (random orders) or --order FILE is required" "${common[@]}" "${nets[@]}"
expect_error "annotations: missing option" "--annotations FILE is required" --genes "$fx/genes.txt" -p 1 "${nets[@]}"
expect_error "no network" "no network given" "${common[@]}" -p 1
expect_error "network: missing file" "$fx/nw_09.npy" "${common[@]}" -p 1 "${nets[@]}" "$fx/nw_09.npy"
expect_error "genes: wrong count" "400 genes but the genes file $tmp/genes399.txt lists 399" --annotations "$fx/go.tsv" --genes "$tmp/genes399.txt" -p 1 "${nets[@]}"
expect_error "duplicate dataset names" "same file name" "${common[@]}" -p 1 "${nets[@]}" "$fx/../aggregate/nw_00.npy"
expect_error "unknown option" "unknown option '--frobnicate'" "${common[@]}" -p 1 --frobnicate "${nets[@]}"
"$bin" --help | grep -q "usage: vpar-aggregate" || fail "--help"

# ---- resume after SIGINT --------------------------------------------------------------
# Reference: an uninterrupted run.
"$bin" "${common[@]}" -p 3 --seed 5 -j 1 --out "$tmp/full" -q "${nets[@]}" || fail "uninterrupted run"
wait_for_perm_file() {  # dir pid: bounded poll for any permutation file
  local i
  for i in $(seq 1 3000); do
    ls "$1"/permute_network_performance_*.csv >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.02
  done
  return 1
}
resume_case() {  # label jobs
  local label=$1 jobs=$2 d=$tmp/resume$2
  # The test hook holds every permutation after the first until the signal,
  # so the interruption is always midway (see main.c).
  VPAR_AGGREGATE_TEST_HOLD_AFTER=1 "$bin" "${common[@]}" -p 3 --seed 5 -j "$jobs" -t 1 --out "$d" -q "${nets[@]}" &
  local pid=$!
  if ! wait_for_perm_file "$d" $pid; then
    fail "$label: no permutation file appeared"; kill -KILL $pid 2>/dev/null; wait $pid; return
  fi
  kill -INT $pid
  wait $pid
  local rc=$?
  [ $rc = 130 ] || fail "$label: interrupted run exited with $rc, expected 130"
  # Midway: the hook holds every permutation after the first, so exactly
  # permutation 1 is complete.
  local n=$(ls "$d"/permute_network_performance_*.csv 2>/dev/null | wc -l)
  [ "$n" = 1 ] && [ -e "$d/permute_network_performance_1.csv" ] ||
    fail "$label: $(ls "$d") after the interruption, expected permutation 1 only"
  [ -e "$d/aggregate.csv" ] && fail "$label: aggregate.csv written by an interrupted run"
  ls "$d" | grep -q tmp && fail "$label: temporary files left: $(ls "$d")"
  local before=$(stat -c '%n %i %Y' "$d"/permute_network_performance_*.csv)
  "$bin" "${common[@]}" -p 3 --seed 5 -j "$jobs" -t 1 --out "$d" "${nets[@]}" 2>"$tmp/resume.err" ||
    fail "$label: rerun failed: $(cat "$tmp/resume.err")"
  grep -q "resuming: $n of 3 permutations already complete" "$tmp/resume.err" ||
    fail "$label: rerun did not resume: $(cat "$tmp/resume.err")"
  local f after=""
  for f in $(echo "$before" | cut -d' ' -f1); do after+="$(stat -c '%n %i %Y' "$f")"$'\n'; done
  [ "${after%$'\n'}" = "$before" ] || fail "$label: a completed permutation was rewritten"
  for f in "$tmp"/full/*.csv; do
    cmp -s "$f" "$d/$(basename "$f")" || fail "$label: $(basename "$f") differs from the uninterrupted run"
  done
  ok "$label"
}
resume_case "resume after SIGINT (in-process, -j 1)" 1
resume_case "resume after SIGINT (process pool, -j 2)" 2
# A damaged permutation file is recomputed, not trusted.
head -n 3 "$tmp/resume1/permute_network_performance_2.csv" >"$tmp/cut.csv"
mv "$tmp/cut.csv" "$tmp/resume1/permute_network_performance_2.csv"
"$bin" "${common[@]}" -p 3 --seed 5 -j 1 --out "$tmp/resume1" "${nets[@]}" 2>"$tmp/resume.err" || fail "rerun after damage"
grep -q "permute_network_performance_2.csv: has 2 steps.*recomputing" "$tmp/resume.err" ||
  fail "damaged file not reported: $(cat "$tmp/resume.err")"
cmp -s "$tmp/full/aggregate.csv" "$tmp/resume1/aggregate.csv" || fail "damaged file: results differ"
# --no-resume recomputes everything
if [ "$mode" = full ]; then
  "$bin" "${common[@]}" -p 3 --seed 5 --no-resume --out "$tmp/resume1" "${nets[@]}" 2>"$tmp/resume.err" || fail "--no-resume"
  grep -q resuming "$tmp/resume.err" && fail "--no-resume resumed"
  cmp -s "$tmp/full/aggregate.csv" "$tmp/resume1/aggregate.csv" || fail "--no-resume: results differ"
fi

# ---- plot ------------------------------------------------------------------------
pp=5; [ "$mode" = quick ] && pp=2
"$bin" "${common[@]}" -p $pp --seed 2 --out "$tmp/plot" --plot "$tmp/plot/curves.svg" -q "${nets[@]}" || fail "plot run"
if [ $have_py = 1 ]; then
  if "$py" - "$tmp/plot/curves.svg" $pp <<'EOF'
import sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
p = int(sys.argv[2])
paths = doc.getElementsByTagName("path")
perm = [p for p in paths if p.getAttribute("class") == "perm"]
med = [p for p in paths if p.getAttribute("class") == "median"]
assert doc.documentElement.tagName == "svg", doc.documentElement.tagName
assert len(perm) == p and len(med) == 1 and len(paths) == p + 1, (len(perm), len(med), len(paths))
texts = " ".join(t.firstChild.data for t in doc.getElementsByTagName("text") if t.firstChild)
assert "Number of aggregated datasets" in texts and "Mean AUROC" in texts
for p in paths:  # 6 points each: 1 moveto + 5 linetos
    d = p.getAttribute("d")
    assert d.count("M") == 1 and d.count("L") == 5, d
EOF
  then ok "plot: well-formed XML, $pp permutation paths + median"; else fail "plot: XML check"; fi
else
  grep -c '<path class="perm"' "$tmp/plot/curves.svg" | grep -qx $pp || fail "plot: path count"
  skip "no $py to parse the SVG (counted paths only)"
fi

# ---- NaN and inf entries: every step against the Python reference ----------
# Three networks with NaN, +inf, -inf and a whole NaN gene (float32 and
# float64 mixed), one fixed order: step k must equal the reference step
# (bench/aggregate/ref_step.py: float64 sum, bottleneck ranks, NaN/inf -> 0.5,
# numpy/scipy EGAD) on the first k networks, within 1e-9.
if [ $have_py = 1 ] && "$py" -c 'import numpy, pandas, scipy, bottleneck' 2>/dev/null; then
  nd=$tmp/nan
  mkdir -p "$nd"
  "$py" - "$fx" "$nd" <<'EOF'
import sys
import numpy as np
src, dst = sys.argv[1], sys.argv[2]
a = np.load(src + "/nw_00.npy").astype(np.float64)
b = np.load(src + "/nw_01.npy").astype(np.float64)
c = np.load(src + "/nw_02.npy").astype(np.float64)
a[5, 7] = a[7, 5] = np.nan
a[10, 11] = a[11, 10] = np.inf
a[3, :] = np.nan
a[:, 3] = np.nan
b[100, 200] = b[200, 100] = np.nan
b[20, 30] = b[30, 20] = -np.inf
np.save(dst + "/x0.npy", a.astype(np.float32))
np.save(dst + "/x1.npy", b.astype(np.float32))
np.save(dst + "/x2.npy", c)
EOF
  printf 'x1.npy\nx0.npy\nx2.npy\n' >"$nd/order.txt"
  if "$bin" "${common[@]}" --order "$nd/order.txt" --out "$nd/o" -q "$nd/x0.npy" "$nd/x1.npy" "$nd/x2.npy" 2>"$nd/err"; then
    got=$(tail -n +2 "$nd/o/permute_network_performance_1.csv" | cut -d, -f3)
    want=""
    prefix=()
    for x in x1 x0 x2; do
      prefix+=("$nd/$x.npy")
      want+=$("$py" "$here/../bench/aggregate/ref_step.py" "${common[@]}" "${prefix[@]}" | sed -n 's/^mean_auc=//p')$'\n'
    done
    bad=$(paste -d' ' <(echo "$got") <(printf '%s' "$want") |
          awk '{ d = $1 - $2; if (d < 0) d = -d; if (NF != 2 || $1 == "NaN" || d > 1e-9) print "step " NR ": " $1 " vs " $2 }')
    if [ -n "$bad" ] || [ "$(echo "$got" | wc -l)" != 3 ]; then fail "NaN/inf: $bad (got: $got)"
    else ok "NaN/inf networks: every step matches the Python reference"; fi
  else
    fail "NaN/inf run: $(cat "$nd/err")"
  fi
else
  skip "no numpy/pandas/scipy/bottleneck for the NaN reference"
fi

# ---- pandas HDF5 inputs (when built with HDF5 and python3 has pandas + tables) ----
h5=$data/fixtures/hdf5
if [ $have_py = 1 ] && "$py" -c 'import pandas, tables' 2>/dev/null; then
  mkdir -p "$tmp/h5"
  cp "$h5/nw.h5" "$tmp/h5/a.h5"
  cp "$h5/nw.h5" "$tmp/h5/b.h5"
  # Independent reference: the same network as .npy + genes + go.tsv (terms
  # term-major, so first appearance = column order) through the Python
  # reference step; and a copy with reversed gene order, which must be refused.
  "$py" - "$h5" "$tmp/h5" <<'EOF'
import sys, numpy as np, pandas as pd
src, dst = sys.argv[1], sys.argv[2]
nw = pd.read_hdf(src + "/nw.h5", "nw")
go = pd.read_hdf(src + "/go.h5", "go")
np.save(dst + "/nw.npy", nw.values)
with open(dst + "/genes.txt", "w") as f:
    f.writelines("%s\n" % g for g in nw.index)
with open(dst + "/go.tsv", "w") as f:
    f.write("gene\tterm\n")
    for t in go.columns:
        for g in go.index[go[t].values != 0]:
            f.write("%s\t%s\n" % (g, t))
rev = nw.index[::-1]
nw.loc[rev, rev].to_hdf(dst + "/c.h5", key="nw", mode="w")
EOF
  if "$bin" --annotations "$h5/go.h5" -p 2 --out "$tmp/h5/o" -q "$tmp/h5/a.h5" "$tmp/h5/b.h5" 2>"$tmp/h5.err"; then
    want=$("$py" "$here/../bench/aggregate/ref_step.py" --annotations "$tmp/h5/go.tsv" \
           --genes "$tmp/h5/genes.txt" "$tmp/h5/nw.npy" | sed -n 's/^mean_auc=//p')
    # a + b = 2a ranks exactly like a: every step equals the reference
    bad=$(tail -n +2 "$tmp/h5/o/aggregate.csv" |
          awk -F, -v w="$want" '{ d = $4 - w; if (d < 0) d = -d; if (w == "" || d > 1e-9 || $4 == "NaN") print }')
    if [ -n "$bad" ]; then fail "hdf5: $bad vs reference '$want'"; else ok "hdf5 networks and annotations match the Python reference"; fi
    # HDF5 networks' labels are checked at set-up, before any permutation
    # (issue 15): exit status 2, no aggregate.csv.
    "$bin" --annotations "$h5/go.h5" -p 1 --out "$tmp/h5/bad" -q "$tmp/h5/a.h5" "$tmp/h5/c.h5" 2>"$tmp/h5.err"
    rc=$?
    if [ $rc = 2 ] && grep -q "c.h5: gene 0 is .*must list the same genes" "$tmp/h5.err" &&
       [ ! -e "$tmp/h5/bad/aggregate.csv" ]; then ok "hdf5: different gene order refused"
    else fail "hdf5: different gene order: status $rc: $(cat "$tmp/h5.err")"; fi
  elif grep -q "no HDF5 support" "$tmp/h5.err"; then
    skip "built without HDF5: vpar-aggregate's .h5 inputs are untested"
  else
    fail "hdf5 run: $(cat "$tmp/h5.err")"
  fi
else
  skip "no pandas/tables for the HDF5 reference: vpar-aggregate's .h5 inputs are untested"
fi

if [ $failures != 0 ]; then echo "$failures failure(s)"; exit 1; fi
if [ $skips != 0 ]; then echo "$skips block(s) SKIPPED (see SKIP: lines): reporting the test as skipped"; exit 77; fi
echo "all vpar-aggregate CLI tests passed"
