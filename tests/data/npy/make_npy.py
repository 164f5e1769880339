#!/usr/bin/python3
"""Generates the small .npy files used by tests/test_npy.c (run from this
directory with Debian's python3-numpy). Values follow simple formulas so the
C test recomputes them independently:
  value(i) = (i - 5) * 0.25   for float files (i = flat C-order index)
  value(i) = (i - 5) * 1000003 for int files
  value(i) = (7 * i) % 256     for u1;  (i % 3 == 0) for b1
"""
import numpy as np
from numpy.lib import format as fmt

def values(n, dtype):
    i = np.arange(n)
    if dtype.kind == 'f':
        return ((i - 5) * 0.25).astype(dtype)
    if dtype.kind == 'i':
        return ((i - 5) * 1000003).astype(dtype)
    if dtype.kind == 'u':
        return ((7 * i) % 256).astype(dtype)
    return (i % 3 == 0)

def save(name, arr, version=None):
    with open(name, 'wb') as f:
        fmt.write_array(f, arr, version=version)

for code in ['<f4', '<f8', '<i4', '<i8', '|u1', '|b1']:
    dt = np.dtype(code)
    tag = code[1:]
    save(f'{tag}_2d.npy', values(12, dt).reshape(3, 4))
    save(f'{tag}_1d.npy', values(7, dt))
save('f8_2d_v2.npy', values(12, np.dtype('<f8')).reshape(3, 4), version=(2, 0))
save('f8_2d_v3.npy', values(12, np.dtype('<f8')).reshape(3, 4), version=(3, 0))
save('f8_empty.npy', np.zeros((0, 5)))
save('f8_fortran.npy', np.asfortranarray(values(12, np.dtype('<f8')).reshape(3, 4)))
save('f8_bigendian.npy', values(6, np.dtype('>f8')))
save('c16.npy', np.zeros(4, dtype=np.complex128))
save('f8_3d.npy', np.zeros((2, 2, 2)))
save('f8_0d.npy', np.array(1.5))
