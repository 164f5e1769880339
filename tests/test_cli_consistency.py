#!/usr/bin/python3
"""One consistent CLI, clean interruption of vpar-egad, and the claims the
docs make about the programs (issue 15), through the programs themselves:

    test_cli_consistency.py SOURCE_DIR EGAD AGGREGATE RANK SIMNET PARALLEL ROWSUMS

- every program: --version prints "<prog> <project version>" (the version
  in CMakeLists.txt); an unknown option, a missing value and a value given
  to a flag get one message each, in one style, naming the program (not
  the build path) and the option, exit 2 (vpar-parallel: 255, as GNU
  parallel); VPAR_NUM_THREADS=two is refused before any work, naming the
  variable; a thread count above the CPUs warns;
- vpar-egad's and vpar-aggregate's messages: one summary line on stderr
  unless -q (stderr is a pipe here, not a terminal), no repeated file name,
  no blank lines, --nonfinite-as-zero named in the NaN error, no "//" in
  paths, --plot x.png refused, an --order file's unknown and missing
  datasets all listed;
- vpar-egad interrupted by a real SIGINT / SIGTERM at a known point (the
  VPAR_EGAD_TEST_HOLD hook: the worker of one network announces itself and
  waits; the test waits for that line and for the manifest entry of the
  network before it; no sleeps): exit 130 / 75, summary.csv of the
  finished networks, the --resume hint, no temporaries; --resume skips the
  finished network (same inode, same mtime), recomputes a network whose
  CSV was damaged, removes a stale temporary, and gives the uninterrupted
  run's CSVs;
- docs/workflows.md: permutation i's order does not depend on -p (-p 3
  reuses -p 2's two orders); the demo's explanation: one network through
  vpar-aggregate equals vpar-rank then vpar-egad, and differs from
  vpar-egad on the unranked network.

Seen failing before the fixes: run against the programs built from
0e43be2, 24 checks failed (getopt's messages with the build path, vpar-rank
without --version, VPAR_NUM_THREADS=two as "initializer failed in worker 0
with code 13" or ignored, "sum_e//", the file named twice, no
--nonfinite-as-zero hint, a .png plot written, one unknown --order name
listed, no hold hook); vpar-rowsums --foo said "--foo needs a value".

Expected values come from the documentation (formats, exit codes), from
the fixtures, or from equivalences (a rerun equals an uninterrupted run).
Needs numpy (for the NaN network); exit 77 (skipped) without it.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

SRC = os.path.abspath(sys.argv[1])
PROGS = dict(zip(["vpar-egad", "vpar-aggregate", "vpar-rank", "vpar-simnet", "vpar-parallel",
                  "vpar-rowsums"], (os.path.abspath(a) for a in sys.argv[2:8])))
EGAD, AGG, RANK = PROGS["vpar-egad"], PROGS["vpar-aggregate"], PROGS["vpar-rank"]
FX = os.path.join(SRC, "tests", "data", "fixtures")
ESM = os.path.join(FX, "egad_small")
AFX = os.path.join(FX, "aggregate")
NETS = [os.path.join(AFX, f"nw_{i:02d}.npy") for i in range(6)]
CPUS = len(os.sched_getaffinity(0))
failures = []


def check(cond, what, detail=""):
    if cond:
        print("ok:", what)
    else:
        print("FAIL:", what, detail)
        failures.append(what)
    return cond


def run(args, env=None, **kw):
    e = dict(os.environ)
    e.pop("VPAR_NUM_THREADS", None)
    e.update(env or {})
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=e, timeout=120, **kw)


def egad_args(out, *nets, extra=()):
    return [EGAD, "--annotations", f"{ESM}/go.tsv", "--genes", f"{ESM}/genes.txt", "--out", out,
            *extra, *nets]


def agg_args(out, extra=(), nets=NETS):
    return [AGG, "--annotations", f"{AFX}/go.tsv", "--genes", f"{AFX}/genes.txt", "-j", "1", "-t", "1",
            "--out", out, *extra, *nets]


# ---- one style across the six programs ----------------------------------------
def test_options(d):
    version = re.search(r"project\(vpar\s+VERSION\s+([0-9.]+)", open(f"{SRC}/CMakeLists.txt").read()).group(1)
    # an option that takes a value, for the "needs a value" case
    valued = {"vpar-egad": "--threads", "vpar-aggregate": "--threads", "vpar-rank": "--threads",
              "vpar-simnet": "--threads", "vpar-parallel": "--jobs", "vpar-rowsums": "--threads"}
    flag = {"vpar-egad": "--quiet", "vpar-aggregate": "--quiet", "vpar-rank": "--upper",
            "vpar-simnet": "--quiet", "vpar-parallel": "--keep-order", "vpar-rowsums": None}
    for prog, exe in PROGS.items():
        usage_rc = 255 if prog == "vpar-parallel" else 2
        p = run([exe, "--version"])
        check(p.returncode == 0 and p.stdout.startswith(f"{prog} {version}"), f"{prog} --version",
              f"rc {p.returncode} '{p.stdout.strip()}', project version {version}")
        cases = [(["--foo"], f"{prog}: unknown option '--foo' (try --help)"),
                 (["-x"], f"{prog}: unknown option '-x' (try --help)"),
                 ([valued[prog]], f"{prog}: option '{valued[prog]}' needs a value (try --help)")]
        if flag[prog]:
            cases.append(([flag[prog] + "=1"], f"{prog}: option '{flag[prog]}' takes no value (try --help)"))
        for args, want in cases:
            p = run([exe] + args)
            check(p.returncode == usage_rc and p.stderr == want + "\n", f"{prog} {' '.join(args)}: '{want}'",
                  f"rc {p.returncode}, stderr {p.stderr!r}")
    p = run([AGG, "--no"])
    check(p.returncode == 2 and p.stderr.startswith("vpar-aggregate: ambiguous option '--no' (")
          and "--no-resume" in p.stderr and "--no-header" in p.stderr, "vpar-aggregate --no: ambiguous, candidates named",
          p.stderr)
    # VPAR_NUM_THREADS=two: refused up front, naming the variable (vpar-egad
    # said "initializer failed in worker 0 with code 13").
    cmds = {"vpar-egad": egad_args(f"{d}/nt_egad", f"{ESM}/nw_00.npy"),
            "vpar-aggregate": agg_args(f"{d}/nt_agg", ["-p", "1"]),
            "vpar-rank": [RANK, f"{FX}/rank/sym_f64.npy", f"{d}/nt_rank.npy"],
            "vpar-simnet": [PROGS["vpar-simnet"], "--annotations", f"{ESM}/go.tsv", "--genes", "50",
                            "--samples", "5", "--out", f"{d}/nt_sim"],
            "vpar-rowsums": [PROGS["vpar-rowsums"], "--n", "20", "--matmul-n", "0", "--reps", "1"]}
    for prog, cmd in cmds.items():
        p = run(cmd, env={"VPAR_NUM_THREADS": "two"})
        check(p.returncode == 2 and f"{prog}: VPAR_NUM_THREADS='two': expected a number of threads" in p.stderr
              and "initializer" not in p.stderr and len(p.stderr.splitlines()) == 1,
              f"{prog}: VPAR_NUM_THREADS=two refused up front", f"rc {p.returncode} {p.stderr!r}")
    check(not os.path.exists(f"{d}/nt_egad/summary.csv") and not os.path.exists(f"{d}/nt_rank.npy"),
          "VPAR_NUM_THREADS=two: nothing written")
    # More threads than CPUs: a warning, the run goes on.
    many = str(CPUS + 1)
    p = run(egad_args(f"{d}/many", f"{ESM}/nw_00.npy", extra=["-q", "-t", many]))
    check(p.returncode == 0 and p.stderr.startswith(f"vpar-egad: warning: -j 1 x -t {many} is {many} threads on {CPUS} CPU"),
          "vpar-egad -t above the CPUs warns", p.stderr)
    p = run([RANK, "-j", many, f"{FX}/rank/sym_f64.npy", f"{d}/many.npy"])
    check(p.returncode == 0 and f"vpar-rank: warning: -j {many} is {many} threads" in p.stderr,
          "vpar-rank -j above the CPUs warns", p.stderr)
    p = run(egad_args(f"{d}/few", f"{ESM}/nw_00.npy", extra=["-q", "-t", "1"]))
    check(p.returncode == 0 and p.stderr == "", "vpar-egad -q -t 1: no warning, nothing on stderr", p.stderr)


# ---- vpar-egad / vpar-aggregate messages ---------------------------------------------
def test_messages(d):
    # Summary rule: one line on stderr unless -q, also when stderr is no terminal.
    p = run(egad_args(f"{d}/sum_e/", f"{ESM}/nw_00.npy"))
    lines = p.stderr.splitlines()
    check(p.returncode == 0 and len(lines) == 1 and lines[0] == f"vpar-egad: 1 network: 1 ok, 0 failed, 0 resumed; results in {d}/sum_e/",
          "vpar-egad: one summary line (out/ given: no '//')", p.stderr)
    p = run(agg_args(f"{d}/sum_a/", ["-p", "1"]))
    lines = p.stderr.splitlines()
    check(p.returncode == 0 and len(lines) == 1 and lines[0].startswith("vpar-aggregate: 1 permutation x 6 datasets")
          and f"results in {d}/sum_a/aggregate.csv" in lines[0] and "//" not in lines[0],
          "vpar-aggregate: one summary line, no 'perm//aggregate.csv'", p.stderr)
    for exe, args in ((EGAD, egad_args(f"{d}/q_e", f"{ESM}/nw_00.npy", extra=["-q"])),
                      (AGG, agg_args(f"{d}/q_a", ["-p", "1", "-q"]))):
        p = run(args)
        check(p.returncode == 0 and p.stderr == "", f"{os.path.basename(exe)} -q: nothing on stderr", p.stderr)

    # Failing networks: the file named once, no blank line between messages.
    p = run(egad_args(f"{d}/fail", f"{d}/none1.npy", f"{ESM}/nw_00.npy", f"{d}/none2.npy"))
    err = p.stderr
    check(p.returncode == 1 and f"vpar-egad: {d}/none1.npy: cannot open" in err
          and f"{d}/none2.npy: cannot open" in err and err.count("none1.npy") == 1 and "\n\n" not in err
          and not err.startswith("\n"), "vpar-egad: failed networks, each file named once, no blank line", repr(err))

    # NaN in a row that is not all-NaN: the error names --nonfinite-as-zero.
    a = np.load(f"{ESM}/nw_00.npy")
    a[3, 5] = a[5, 3] = np.nan
    np.save(f"{d}/nan_nw.npy", a)
    p = run(egad_args(f"{d}/nan", f"{d}/nan_nw.npy", extra=["-q"]))
    check(p.returncode == 1 and "--nonfinite-as-zero" in p.stderr, "vpar-egad: the NaN error names --nonfinite-as-zero",
          p.stderr)
    p = run(egad_args(f"{d}/nan0", f"{d}/nan_nw.npy", extra=["-q", "--nonfinite-as-zero"]))
    check(p.returncode == 0, "vpar-egad --nonfinite-as-zero runs that network", p.stderr)

    # --plot x.png: refused before computing (not SVG text in a .png).
    p = run(agg_args(f"{d}/png", ["-p", "1", "--plot", f"{d}/png/x.png"]))
    check(p.returncode == 2 and "--plot" in p.stderr and "svg" in p.stderr.lower()
          and not os.path.exists(f"{d}/png/x.png") and not os.path.exists(f"{d}/png/aggregate.csv"),
          "vpar-aggregate --plot x.png refused up front", p.stderr)
    p = run(agg_args(f"{d}/svg", ["-p", "1", "-q", "--plot", f"{d}/svg/x.svg"]))
    check(p.returncode == 0 and open(f"{d}/svg/x.svg").read().startswith("<?xml"), "vpar-aggregate --plot x.svg",
          p.stderr)

    # --order naming two unknown datasets and leaving four out: all listed.
    with open(f"{d}/order.txt", "w") as f:
        f.write("nw_00\nnw_01.npy\nfoo\nbar\n")
    p = run(agg_args(f"{d}/ord", ["--order", f"{d}/order.txt"]))
    err = p.stderr
    check(p.returncode == 2 and "'foo'" in err and "'bar' (line 4)" in err
          and all(f"nw_0{i}.npy" in err for i in (2, 3, 4, 5)) and len(err.splitlines()) == 1,
          "vpar-aggregate --order: every unknown and missing dataset listed", err)


# ---- vpar-egad interrupted -------------------------------------------------------------
def read_until(stream, needle):
    text = ""
    for line in stream:
        text += line
        if needle in line:
            return text
    return None


def wait_for(cond, what, limit=60.0):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > limit:
            return False
        time.sleep(0.01)
    return True


def interrupted_run(d, sig, name):
    nets = f"{d}/nets"
    os.makedirs(nets, exist_ok=True)
    for x in "abc":
        if not os.path.exists(f"{nets}/nw_{x}.npy"):
            os.symlink(f"{ESM}/nw_00.npy", f"{nets}/nw_{x}.npy")
    out = f"{d}/{name}"
    args = egad_args(out, *(f"{nets}/nw_{x}.npy" for x in "abc"), extra=["-j", "1", "-t", "1"])
    env = dict(os.environ, VPAR_EGAD_TEST_HOLD="nw_b")
    env.pop("VPAR_NUM_THREADS", None)
    p = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, env=env)
    # The worker of nw_b says it holds; nw_a's record is then in the manifest.
    got = read_until(p.stderr, "vpar-egad: test hold: nw_b")
    manifest = f"{out}/vpar-part-1-of-1.txt"
    recorded = got is not None and wait_for(
        lambda: os.path.exists(manifest) and re.search(r"^done 0 nw_a\.csv ", open(manifest).read(), re.M),
        "manifest")
    if not check(recorded, f"SIG{signal.Signals(sig).name[3:]}: nw_a recorded, nw_b held"):
        p.kill()
        p.wait()
        return None
    p.send_signal(sig)
    rest = p.stderr.read()
    rc = p.wait()
    return out, args, rc, rest


def test_interrupt(d):
    full = f"{d}/full"
    nets = f"{d}/nets"
    os.makedirs(nets, exist_ok=True)
    for sig, want_rc, name in ((signal.SIGINT, 130, "int"), (signal.SIGTERM, 75, "term")):
        r = interrupted_run(d, sig, name)
        if not r:
            continue
        out, args, rc, err = r
        sname = signal.Signals(sig).name
        check(rc == want_rc, f"{sname}: exit {want_rc}", f"rc {rc}")
        check("vpar-egad: interrupted: 1 of 3 networks complete" in err and "--resume" in err
              and "summary.csv" in err, f"{sname}: says what is done and how to resume", err)
        files = sorted(os.listdir(out))
        check(files == ["nw_a.csv", "summary.csv", "vpar-part-1-of-1.txt"], f"{sname}: no temporaries, no partial CSV",
              str(files))
        summ = open(f"{out}/summary.csv").read().splitlines()
        check(len(summ) == 2 and summ[0] == "network,status,terms,mean_auc,seconds" and summ[1].startswith("nw_a,ok,"),
              f"{sname}: summary.csv lists the finished network", str(summ))
        if sig != signal.SIGINT:
            continue
        # --resume: nw_a kept (same file), a stale temporary removed, the rest computed.
        st_a = os.stat(f"{out}/nw_a.csv")
        stale = f"{out}/nw_b.csv.tmp.AbC123"
        open(stale, "w").write("term,AUC\npartial")
        p = run(args + ["--resume"])
        check(p.returncode == 0 and "resuming: 1 network already complete" in p.stderr, "--resume after SIGINT",
              p.stderr)
        st2 = os.stat(f"{out}/nw_a.csv")
        check((st2.st_ino, st2.st_mtime_ns) == (st_a.st_ino, st_a.st_mtime_ns), "--resume: nw_a not recomputed")
        check(not os.path.exists(stale), "--resume: stale nw_b.csv.tmp.XXXXXX removed")
        summ = open(f"{out}/summary.csv").read().splitlines()
        check(len(summ) == 4 and all(",ok," in l for l in summ[1:]), "--resume: full summary.csv", str(summ))
        # A damaged CSV is not trusted: recomputed.
        with open(f"{out}/nw_c.csv", "r+") as f:
            f.truncate(100)
        p = run(args + ["--resume"])
        check(p.returncode == 0 and "resuming: 2 networks already complete" in p.stderr,
              "--resume: a damaged CSV is recomputed", p.stderr)
        q = run(egad_args(full, *(f"{nets}/nw_{x}.npy" for x in "abc"), extra=["-q"]))
        same = q.returncode == 0 and all(open(f"{out}/nw_{x}.csv").read() == open(f"{full}/nw_{x}.csv").read()
                                         for x in "abc")
        check(same, "interrupted + resumed run == uninterrupted run (every CSV)")


# ---- what the docs say ------------------------------------------------------------------
def steps(path):
    return open(path).read()


def test_docs_claims(d):
    # -p 3 reuses the orders of -p 2 (permutation i's order depends on the seed and i only).
    a = run(agg_args(f"{d}/p2", ["-p", "2", "-s", "9", "-q"]))
    b = run(agg_args(f"{d}/p3", ["-p", "3", "-s", "9", "-q"]))
    if check(a.returncode == 0 and b.returncode == 0, "vpar-aggregate -p 2 / -p 3 ran", a.stderr + b.stderr):
        check(all(steps(f"{d}/p2/permute_network_performance_{i}.csv") ==
                  steps(f"{d}/p3/permute_network_performance_{i}.csv") for i in (1, 2)),
              "docs/workflows.md: -p 3 reuses the two orders of -p 2")
        c = run(agg_args(f"{d}/p2", ["-p", "3", "-s", "9"]))
        check(c.returncode == 0 and "resuming: 2 of 3 permutations already complete" in c.stderr
              and steps(f"{d}/p2/aggregate.csv") == steps(f"{d}/p3/aggregate.csv"),
              "docs/workflows.md: -p 3 into -p 2's --out computes only permutation 3", c.stderr)
    # The demo: aggregation ranks each network first. One network through
    # vpar-aggregate == vpar-rank then vpar-egad; != vpar-egad unranked.
    with open(f"{d}/one.txt", "w") as f:
        f.write("nw_00\n")
    a = run(agg_args(f"{d}/one", ["--order", f"{d}/one.txt", "-q"], nets=NETS[:1]))
    r = run([RANK, NETS[0], f"{d}/nw_00.npy"])
    e1 = run([EGAD, "-q", "--annotations", f"{AFX}/go.tsv", "--genes", f"{AFX}/genes.txt", "--out", f"{d}/ranked",
              f"{d}/nw_00.npy"])
    e0 = run([EGAD, "-q", "--annotations", f"{AFX}/go.tsv", "--genes", f"{AFX}/genes.txt", "--out", f"{d}/raw",
              NETS[0]])
    if check(all(x.returncode == 0 for x in (a, r, e1, e0)), "aggregate / rank / egad ran",
             a.stderr + r.stderr + e1.stderr + e0.stderr):
        agg = float(open(f"{d}/one/permute_network_performance_1.csv").read().splitlines()[1].split(",")[2])
        ranked = float(open(f"{d}/ranked/summary.csv").read().splitlines()[1].split(",")[3])
        raw = float(open(f"{d}/raw/summary.csv").read().splitlines()[1].split(",")[3])
        check(abs(agg - ranked) < 1e-12 and abs(agg - raw) > 1e-6,
              f"one network: vpar-aggregate {agg:.6f} == vpar-rank + vpar-egad {ranked:.6f} != vpar-egad {raw:.6f}")


def main():
    with tempfile.TemporaryDirectory(prefix="vpar_cli_cons.") as d:
        for name, fn in (("options", test_options), ("messages", test_messages),
                         ("interrupt", test_interrupt), ("docs", test_docs_claims)):
            os.makedirs(f"{d}/{name}")
            try:
                fn(f"{d}/{name}")
            except Exception as e:
                import traceback
                traceback.print_exc()
                check(False, f"{name}: {type(e).__name__}: {e}")
    print(f"{len(failures)} failure(s)" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
