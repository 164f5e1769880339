"""Build of the `vpar` Python package (CPython + numpy C extension over the
vpar headers). Offline, with Debian's python3-dev, python3-numpy and
python3-setuptools:

    make python                                  # -> build/python/vpar
    PYTHONPATH=build/python /usr/bin/python3 -c 'import vpar'

    /usr/bin/python3 -m venv --system-site-packages venv
    venv/bin/python -m pip install --no-build-isolation ./examples/python

The headers are found relative to this file (examples/python -> the
repository root) or under $VPAR_ROOT.
"""
import os
from pathlib import Path

import numpy as np
from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent
ROOT = Path(os.environ.get("VPAR_ROOT", HERE.parent.parent)).resolve()
if not (ROOT / "include" / "vpar.h").is_file():
    raise SystemExit(f"setup.py: {ROOT}/include/vpar.h not found; set VPAR_ROOT to the vpar checkout")


def rel(p):
    """setuptools wants source paths relative to setup.py."""
    return os.path.relpath(p, HERE)


# The EGAD core (examples/egad: the units of the vpar_egad library, not the
# vpar-egad program's main/run/jobs/mpi) and the example helpers it uses
# (examples/common: file reading with gzip detection, CSV formatting, the
# configuration hash of its option unit). This is the only place that names
# them; keep it in step with examples/egad/CMakeLists.txt and
# examples/common/CMakeLists.txt. zlib and HDF5 are not compiled in: .gz
# annotations go through `gzip -dc`.
EGAD_SOURCES = [ROOT / "examples" / "egad" / f for f in (
    "annotations.c", "plan.c", "network.c", "kernels.c", "driver.c", "csv.c", "hdf5.c", "cli.c", "inputs.c", "obo.c")]
EGAD_SOURCES += [ROOT / "examples" / "common" / f for f in (
    "args.c", "buf.c", "file.c", "progress.c", "rng.c", "sys.c", "shard.c", "parts.c")]

# Extra flags, e.g. the sanitizer builds of tests/python.cmake:
# VPAR_PY_CFLAGS="-fsanitize=address" VPAR_PY_LDFLAGS="-fsanitize=address".
EXTRA_CFLAGS = os.environ.get("VPAR_PY_CFLAGS", "").split()
EXTRA_LDFLAGS = os.environ.get("VPAR_PY_LDFLAGS", "").split()

ext = Extension(
    "vpar._vpar",
    sources=["src/_vpar.c", "src/vpar_impl.c"] + [rel(p) for p in EGAD_SOURCES],
    include_dirs=[str(ROOT / "include"), str(ROOT / "examples" / "egad"),
                  str(ROOT / "examples" / "common"), np.get_include()],
    define_macros=[("_GNU_SOURCE", "1"), ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    extra_compile_args=["-std=gnu11", "-O3", "-fvisibility=hidden", "-pthread",
                        "-Wall", "-Wextra", "-Wno-unused-function", "-Wno-missing-field-initializers",
                        "-Wno-cast-function-type"] + EXTRA_CFLAGS,
    extra_link_args=["-pthread"] + EXTRA_LDFLAGS,
    libraries=["m"],
    # rebuild when a header changes (setuptools compares timestamps)
    depends=[rel(p) for p in sorted((ROOT / "include").glob("**/*.h"))
             + sorted((ROOT / "examples" / "egad").glob("*.h"))
             + sorted((ROOT / "examples" / "common").glob("*.h"))],
)

setup(
    name="vpar",
    version="0.1.0",
    description="vpar for Python: parallel rank standardization, rankdata, EGAD and reductions",
    packages=["vpar"],
    ext_modules=[ext],
    python_requires=">=3.8",
    install_requires=["numpy"],
    zip_safe=False,
)
