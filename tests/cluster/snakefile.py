#!/usr/bin/env python3
"""tests/cluster/snakefile.py VPAR_EGAD DATA_DIR [--snakemake]

examples/cluster/Snakefile without Snakemake (it is not installed by CI):
the file is split into its Python preamble and its rules (Snakemake 7's
syntax: `rule NAME:` then indented directives); the preamble and every
directive compile as Python; the preamble runs with Snakemake's `config`,
`glob_wildcards` and `expand` stood in; then, as Snakemake would schedule
it, the `egad` rule's shell command (formatted from its own directives) runs
once per network and the `summary` rule's `run:` block runs on their
outputs. Every per-network CSV and summary.csv (without the seconds column,
which is timing) must equal one vpar-egad run over all networks.

--snakemake: run the real `snakemake` instead (exit 77 with a message when
it is not installed) and compare the same way.
"""
import ast
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
SNAKEFILE = os.path.join(HERE, "..", "..", "examples", "cluster", "Snakefile")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def parse(text):
    """(preamble source, {rule: {directive: source}})."""
    lines = text.splitlines()
    pre, rules, cur, key = [], {}, None, None
    for ln in lines:
        m = re.match(r"rule (\w+):\s*$", ln)
        if m:
            cur, key = rules.setdefault(m.group(1), {}), None
            continue
        if cur is None:
            pre.append(ln)
            continue
        if ln.strip() == "" or ln.lstrip().startswith("#") and key is None:
            continue
        m = re.match(r"    (\w+):\s*(.*)$", ln)
        if m and not ln.startswith("     "):
            key = m.group(1)
            cur[key] = m.group(2)
        elif ln.startswith("        ") and key:
            cur[key] += "\n" + ln[8:]
        elif not ln.startswith(" "):
            fail("Snakefile: unexpected top-level line after the rules: %r" % ln)
    return "\n".join(pre), rules


class Namespace(dict):
    __getattr__ = dict.__getitem__


def directive_value(src, env):
    """input:/output: `a, b` or `name = x, ...` as Snakemake reads it."""
    args, kw = [], {}
    tree = ast.parse("f(%s)" % src.replace("\n", " "), mode="eval")
    for a in tree.body.args:
        args.append(eval(compile(ast.Expression(a), "Snakefile", "eval"), env))
    for k in tree.body.keywords:
        kw[k.arg] = eval(compile(ast.Expression(k.value), "Snakefile", "eval"), env)
    ns = Namespace(kw)
    ns.update({i: v for i, v in enumerate(args + list(kw.values()))})
    return ns


def main():
    egad, data = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    real = "--snakemake" in sys.argv[3:]
    fx = os.path.join(data, "fixtures", "aggregate")
    text = open(SNAKEFILE).read()
    pre, rules = parse(text)
    compile(pre, "Snakefile (preamble)", "exec")
    for r, d in rules.items():
        for k, v in d.items():
            one = v.replace("\n", " ")
            src = (textwrap.dedent(v) if k == "run" else
                   "f(%s)" % one if k in ("input", "output", "resources", "params", "log")
                   else "(%s)" % one)
            try:
                compile(src, "Snakefile rule %s %s:" % (r, k), "exec" if k == "run" else "eval")
            except SyntaxError as e:
                fail("Snakefile rule %s, %s: does not compile: %s" % (r, k, e))
    for need in ("all", "egad", "summary"):
        if need not in rules:
            fail("Snakefile: no rule %s" % need)
    print("ok: the Snakefile's preamble and every directive compile")

    work = tempfile.mkdtemp(prefix="vpar_snake.")
    try:
        nets = os.path.join(work, "nets")
        os.mkdir(nets)
        names = ["nw_00", "nw_01", "nw_02", "nw_03"]
        for n in names:
            shutil.copy(os.path.join(fx, n + ".npy"), nets)
        out = os.path.join(work, "egad")
        cfg = {"nets": nets, "go": os.path.join(fx, "go.tsv"),
               "genes": os.path.join(fx, "genes.txt"), "out": out,
               "vpar_bin": os.path.dirname(egad)}
        env = dict(os.environ)
        for v in ("SLURM_ARRAY_TASK_ID", "SGE_TASK_ID", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                  "PMI_RANK", "PMIX_RANK"):
            env.pop(v, None)
        if real:
            if not shutil.which("snakemake"):
                print("SKIP: snakemake not installed (pip install 'snakemake<8'); the "
                      "emulated run is test_cluster_snakefile")
                sys.exit(77)
            cmd = ["snakemake", "-s", SNAKEFILE, "-j", "2", "--config"] + \
                  ["%s=%s" % kv for kv in cfg.items()]
            r = subprocess.run(cmd, cwd=work, env=env)
            if r.returncode != 0:
                fail("snakemake exited %d" % r.returncode)
        else:
            def glob_wildcards(pattern):
                rx = "^" + re.escape(pattern).replace(re.escape("{name}"), "(?P<name>.+?)") + "$"
                hits = [re.match(rx, p) for p in glob.glob(pattern.replace("{name}", "*"))]
                return Namespace(name=[h.group("name") for h in hits if h])

            def expand(pattern, **kw):
                return [pattern.format(**dict(zip(kw, v))) for v in zip(*kw.values())]

            g = {"config": cfg, "glob_wildcards": glob_wildcards, "expand": expand}
            exec(compile(pre, "Snakefile", "exec"), g)
            if sorted(g["NAMES"]) != names:
                fail("NAMES from glob_wildcards: %r (want %r)" % (g["NAMES"], names))
            eg = rules["egad"]
            threads = int(eval(eg.get("threads", "1"), g))
            for n in g["NAMES"]:
                wc = Namespace(name=n)
                ge = dict(g, wildcards=wc)
                inp = directive_value(eg["input"].replace("{name}", n), ge)
                outp = directive_value(eg["output"].replace("{name}", n), ge)
                shell = eval("(%s)" % eg["shell"].replace("\n", " "), g)
                cmd = shell.format(input=inp, output=outp, threads=threads, wildcards=wc, **g)
                r = subprocess.run(["bash", "-c", "set -euo pipefail; " + cmd], cwd=work, env=env)
                if r.returncode != 0:
                    fail("rule egad for %s: exited %d: %s" % (n, r.returncode, cmd))
                if not os.path.exists(outp[0]):
                    fail("rule egad for %s did not write its output %s" % (n, outp[0]))
            su = rules["summary"]
            output = directive_value(su["output"], g)
            exec(compile(textwrap.dedent(su["run"]), "Snakefile rule summary", "exec"),
                 dict(g, output=output, input=directive_value(su["input"], g)))
        print("ok: %s: one egad job per network, then the summary" %
              ("snakemake" if real else "the rules run as Snakemake schedules them"))

        ref = os.path.join(work, "ref")
        r = subprocess.run([egad, "--annotations", cfg["go"], "--genes", cfg["genes"], "-q",
                            "--out", ref] + [os.path.join(nets, n + ".npy") for n in names],
                           env=env)
        if r.returncode != 0:
            fail("one-machine vpar-egad exited %d" % r.returncode)
        for n in names:
            a = open(os.path.join(ref, n + ".csv"), "rb").read()
            p = os.path.join(out, "parts", n, n + ".csv")
            if not os.path.exists(p) or open(p, "rb").read() != a:
                fail("%s differs from the one-machine run" % p)

        def cols(path):
            return [",".join(l.rstrip("\n").split(",")[:4]) for l in open(path)]

        a, b = cols(os.path.join(ref, "summary.csv")), cols(os.path.join(out, "summary.csv"))
        if a != b:
            fail("summary.csv (without seconds) differs from the one-machine run:\n%s\n---\n%s"
                 % ("\n".join(a), "\n".join(b)))
        if open(os.path.join(ref, "summary.csv")).readline() != \
                open(os.path.join(out, "summary.csv")).readline():
            fail("summary.csv header differs from vpar-egad's")
        print("ok: every network's CSV and summary.csv == one vpar-egad run")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("Snakefile tests passed")


if __name__ == "__main__":
    main()
