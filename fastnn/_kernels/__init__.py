"""fastnn's compiled kernels (Cython; only :mod:`fastnn.ops` imports them).

Importing the package loads the OpenBLAS that the BLAS kernels (``blas``, ``logistic``,
``newton_dense``) are linked against, the scipy-openblas32 wheel, from where it is
installed: a wheel's extensions carry no path to another package's library, and the dynamic loader takes a
library already in the process for their dependency (it matches by soname).
"""
# NOTE: loaded RTLD_LOCAL (ctypes' default), so its symbols serve only the modules that
# name it as a dependency: SciPy's own bundled OpenBLAS exports the same scipy_ names,
# and a global copy would take over SciPy's calls too.

import ctypes
import os

import scipy_openblas32

OPENBLAS_PATH = os.path.join(
    scipy_openblas32.get_lib_dir(), scipy_openblas32.get_library(True)
)
_openblas = ctypes.CDLL(OPENBLAS_PATH)  # kept, never unloaded
