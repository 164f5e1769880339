#!/usr/bin/python3
"""Reads the files npy_write_sample wrote with numpy and checks them against
make_npy.py's formulas. Exit 77 (skipped) when numpy is not installed."""
import os, subprocess, sys, tempfile
try:
    import numpy as np
except ImportError:
    print("numpy not installed: skipped")
    sys.exit(77)
writer = sys.argv[1]
with tempfile.TemporaryDirectory() as d:
    subprocess.run([writer, d], check=True)
    i = np.arange(12)
    want = {
        'f8': ((i - 5) * 0.25).astype('<f8'), 'f4': ((i - 5) * 0.25).astype('<f4'),
        'i4': ((i - 5) * 1000003).astype('<i4'), 'i8': ((i - 5) * 1000003).astype('<i8'),
        'u1': ((7 * i) % 256).astype('u1'), 'b1': (i % 3 == 0),
    }
    for tag, w in want.items():
        a = np.load(os.path.join(d, f'{tag}_2d.npy'))
        assert a.dtype == w.dtype, (tag, a.dtype)
        assert a.shape == (3, 4), (tag, a.shape)
        assert np.array_equal(a.ravel(), w), tag
print("numpy reads every dtype vpar wrote: ok")
