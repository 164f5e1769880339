#!/usr/bin/env bash
# vpar-aggregate's set-up under mpirun (issue 16, examples/aggregate/mpi.c):
# the ranks split the networks' content checks (network i on rank
# i % size: HDF5 labels, .npy symmetry), then agree on the first failure,
# which one rank prints once, and on the symmetry.
#   test_cluster_mpi_setup.sh VPAR_AGGREGATE DATA_DIR MPIEXEC FLAVOR [PYTHON]
# - an HDF5 network whose labels differ from the genes, checked by rank 1
#   only: the run fails (exit 2, as a single process), the error names the
#   file, printed once, the single process's message plus "(rank 1 on
#   HOST)"; no output written
# - that network plus a wrong-shape .npy later in the list (found by every
#   rank, rank 0 included): the error reported is the one a single process
#   reports first (the HDF5 labels, found by rank 1 only)
# - a wrong-shape .npy: found by every rank, printed once, exit 2
# - an asymmetric network checked by rank 1 only (its lower triangle
#   differs): outputs byte-identical to a single process (every rank must
#   learn that not all networks are symmetric)
# The expected messages and outputs are a single process's (the program's
# own tests check those); -np 2 and -np 3 (VPAR_TEST_QUICK=1, the sanitizer
# trees: -np 2 only).
set -u
agg=$1 data=$2 mpiexec=${3:-} flavor=${4:-} py=${5:-/usr/bin/python3}
if [ -z "$mpiexec" ] || ! command -v "$mpiexec" >/dev/null 2>&1; then
  echo "SKIP: no MPI launcher (mpirun) found; vpar-aggregate was built without MPI"; exit 77
fi
fx=$data/fixtures/aggregate h5=$data/fixtures/hdf5
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vpar_mpi_setup.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
unset SLURM_ARRAY_TASK_ID SGE_TASK_ID OMPI_COMM_WORLD_SIZE PMI_SIZE PMI_RANK PMIX_RANK
extra=()
if [ "$flavor" = openmpi ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  extra=(--oversubscribe)
fi
export UCX_MEM_EVENTS=no UCX_MEM_MMAP_HOOK_MODE=none
run_mpi() { local np=$1; shift; "$mpiexec" "${extra[@]}" -np "$np" "$@"; }
common=(--annotations "$fx/go.tsv" --genes "$fx/genes.txt" -p 2 --seed 3 -t 1 -q)
nps=(2 3)
[ -n "${VPAR_TEST_QUICK:-}" ] && nps=(2)

# nets: the fixture networks; $tmp/bad/ holds the damaged ones
mkdir -p "$tmp/bad"
"$py" - "$fx" "$tmp/bad" <<'EOF' || { echo "SKIP: $py with numpy needed to make the inputs"; exit 77; }
import sys
import numpy as np
src, dst = sys.argv[1], sys.argv[2]
a = np.load(src + "/nw_01.npy")
np.save(dst + "/short.npy", a[:399, :399])           # 399 genes, the genes file lists 400
b = a.copy()
for r in range(1, 400, 3):
    b[r, r // 2] += 0.75                                 # lower triangle only
assert not (b == b.T).all()
np.save(dst + "/nw_asym.npy", b)
try:
    import pandas as pd
    genes = [l.strip() for l in open(src + "/genes.txt") if l.strip()]
    rev = genes[::-1]                                    # labels in another order
    pd.DataFrame(a.astype("float32"), index=rev, columns=rev).to_hdf(dst + "/rev.h5", key="nw", mode="w")
except Exception as e:                                   # no pandas/PyTables: that part skips
    print("no HDF5 input made:", e, file=sys.stderr)
EOF
n=("$fx"/nw_0{0,1,2,3,4,5}.npy)

# mpi_fails NP WHAT EXPECTED_MESSAGE_FILE RANK NETWORKS...: exit 2, no
# outputs, the one message printed once (by RANK: when not 0, followed by
# " (rank RANK on HOST)")
mpi_fails() {
  local np=$1 what=$2 want=$3 rank=$4; shift 4
  rm -rf "$tmp/out"
  run_mpi "$np" "$agg" "${common[@]}" --out "$tmp/out" "$@" >"$tmp/stdout" 2>"$tmp/err"; local rc=$?
  local line w match=0 suffix=""
  line=$(grep '^vpar-aggregate: ' "$tmp/err")
  w=$(cat "$want")
  if [ "$rank" = 0 ]; then [ "$line" = "$w" ] && match=1
  else suffix=" (rank $rank on HOST)"; [[ $line == "$w (rank $rank on "?*")" ]] && match=1; fi
  if [ $rc = 2 ] && [ $match = 1 ] && [ ! -e "$tmp/out/aggregate.csv" ] &&
     [ -z "$(ls "$tmp/out"/permute_network_performance_*.csv 2>/dev/null)" ]; then
    ok "-np $np, $what: exit 2, reported once: $line"
  else
    fail "-np $np, $what: exit $rc (want 2); vpar-aggregate lines (want exactly '$(cat "$want")$suffix'):"$'\n'"$(cat "$tmp/err")"
  fi
}
# the single process's message for these inputs
one_fails() {
  local what=$1 want=$2; shift 2
  "$agg" "${common[@]}" --out "$tmp/one" "$@" 2>"$want"; local rc=$?
  [ $rc = 2 ] && [ "$(wc -l < "$want")" = 1 ] || fail "one process, $what: exit $rc: $(cat "$want")"
}

# ---- a bad HDF5 network checked by rank 1 only ---------------------------------
if [ ! -e "$tmp/bad/rev.h5" ]; then
  echo "skip: no pandas/PyTables: the HDF5 cases are not run"
elif "$agg" --annotations "$fx/go.tsv" --genes "$fx/genes.txt" -p 1 -q --out "$tmp/h5probe" \
       "$fx/nw_00.npy" "$tmp/bad/rev.h5" 2>&1 | grep -q "no HDF5 support"; then
  echo "skip: vpar-aggregate built without HDF5: the HDF5 cases are not run"
else
  # index 1: rank 1's with 2 ranks and with 3
  one_fails "labels of rev.h5" "$tmp/want_h5" "${n[0]}" "$tmp/bad/rev.h5" "${n[@]:2}"
  grep -q 'rev.h5' "$tmp/want_h5" || fail "one process: the message does not name rev.h5: $(cat "$tmp/want_h5")"
  for np in "${nps[@]}"; do
    mpi_fails $np "rev.h5 (labels) checked by rank 1" "$tmp/want_h5" 1 \
      "${n[0]}" "$tmp/bad/rev.h5" "${n[@]:2}"
  done
  # + a wrong-shape .npy at index 2 (rank 0 meets it, rank 1 meets rev.h5 first)
  one_fails "rev.h5 then short.npy" "$tmp/want_first" "${n[0]}" "$tmp/bad/rev.h5" "$tmp/bad/short.npy" "${n[3]}"
  cmp -s "$tmp/want_h5" "$tmp/want_first" || fail "one process: not the rev.h5 message first: $(cat "$tmp/want_first")"
  mpi_fails 2 "rev.h5 (rank 1) before short.npy (every rank)" "$tmp/want_first" 1 \
    "${n[0]}" "$tmp/bad/rev.h5" "$tmp/bad/short.npy" "${n[3]}"
fi

# ---- a wrong-shape .npy: every rank finds it, one prints it -----------------------
one_fails "short.npy" "$tmp/want_short" "${n[0]}" "$tmp/bad/short.npy" "${n[@]:2}"
grep -q 'short.npy' "$tmp/want_short" || fail "one process: the message does not name short.npy"
mpi_fails 2 "short.npy (every rank)" "$tmp/want_short" 0 "${n[0]}" "$tmp/bad/short.npy" "${n[@]:2}"

# ---- an asymmetric network checked by rank 1 only: the same outputs ---------------
nets=("${n[0]}" "$tmp/bad/nw_asym.npy" "${n[@]:2}")
"$agg" "${common[@]}" -p 4 --out "$tmp/ref" "${nets[@]}" || fail "one process, asymmetric nw_asym"
for np in "${nps[@]}"; do
  rm -rf "$tmp/m$np"
  run_mpi $np "$agg" "${common[@]}" -p 4 --out "$tmp/m$np" "${nets[@]}" 2>"$tmp/err" ||
    fail "-np $np with nw_asym: $(cat "$tmp/err")"
  same=1
  for f in "$tmp/ref"/*.csv; do cmp -s "$f" "$tmp/m$np/${f##*/}" || same=0; done
  [ "$(ls "$tmp/m$np"/*.csv 2>/dev/null | wc -l)" = "$(ls "$tmp/ref"/*.csv | wc -l)" ] || same=0
  [ $same = 1 ] && ok "-np $np, asymmetric network checked by rank 1: outputs == one process" ||
    fail "-np $np, asymmetric network checked by rank 1: outputs differ from one process"
done

if [ $failures -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all passed"
