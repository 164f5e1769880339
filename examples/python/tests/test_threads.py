"""Pools and Python threads: the default size, concurrent calls."""
import os
import subprocess
import sys
import threading

import numpy as np

import vpar
from conftest import reference_rank


def test_default_threads_follows_env():
    env = dict(os.environ, VPAR_NUM_THREADS="3", PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", "import vpar; print(vpar.default_threads())"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "3", out.stderr


def test_concurrent_python_threads():
    """Six Python threads rank and reduce at once on shared pools; every
    result equals the serial reference."""
    rng = np.random.default_rng(8)
    inputs = [rng.normal(size=(300, 300)).round(2) for _ in range(6)]
    wants = [reference_rank(x) for x in inputs]
    errors = []

    def work(k):
        try:
            for rep in range(3):
                a = inputs[k].copy()
                vpar.rank_standardize(a, threads=[None, 2, 3][(k + rep) % 3])
                if not np.array_equal(a, wants[k]):
                    errors.append(f"rank {k}/{rep}")
                s = vpar.nansum(a, threads=[None, 2][rep % 2])
                if s != vpar.nansum(wants[k], threads=1):
                    errors.append(f"nansum {k}/{rep}")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    ts = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
