"""The compiled modules ops stands in front of: the one place that imports them.

The element-wise kernel modules exist in two builds on x86-64; the AVX2+FMA twin
(``<name>_avx2``) is loaded where the CPU runs it, unless ``FASTNN_SIMD=baseline``.
``SIMD`` names the build in use.
"""

import importlib
import os

from fastnn._kernels.checks import (  # noqa: F401 (re-exported by fastnn.ops.checks)
    FLOATS,
    check_float,
    check_like,
    check_positive_int,
    check_scalar,
    check_writeable,
    may_overlap,
    output,
)
from fastnn._kernels.calls import Call, Kernel  # noqa: F401 (bound kernel calls)
from fastnn._kernels import blas as blas_kernels  # noqa: F401 (GEMM, dot, axpy)
from fastnn._kernels import cd as cd_kernels  # noqa: F401 (L1 proximal Newton)
from fastnn._kernels import cpu_features
from fastnn._kernels import csr as csr_kernels  # noqa: F401 (CSR products, checks)
from fastnn._kernels import gather as gather_kernels  # noqa: F401 (take_rows)
from fastnn._kernels import logistic as logistic_kernels  # noqa: F401
from fastnn._kernels import newton_csr as newton_csr_kernels  # noqa: F401 (Newton, CSR)
from fastnn._kernels import newton_dense as newton_dense_kernels  # noqa: F401 (dense)
from fastnn._kernels import sag_csr as sag_csr_kernels  # noqa: F401 (SAG(A), CSR X)
from fastnn._kernels import sag_dense as sag_dense_kernels  # noqa: F401 (dense X)
from fastnn._kernels import train as train_kernels  # noqa: F401 (BatchLoop)


def _load_kernels(name):
    """The AVX2 build of kernel module ``name`` where the CPU runs it, else the baseline."""
    wanted = os.environ.get("FASTNN_SIMD", "auto").strip().lower()
    if wanted == "0":  # the build's spelling of baseline (setup.py takes both)
        wanted = "baseline"
    if wanted not in ("auto", "baseline", "avx2"):
        raise ImportError(f"FASTNN_SIMD must be 'auto', 'baseline' or 'avx2', got {wanted!r}")
    if wanted != "baseline" and cpu_features.has_avx2_fma():
        try:
            return importlib.import_module(f"fastnn._kernels.{name}_avx2"), "avx2"
        except ImportError:
            if wanted == "avx2":
                raise
    elif wanted == "avx2":
        raise ImportError("FASTNN_SIMD=avx2 but this CPU has no AVX2+FMA")
    return importlib.import_module(f"fastnn._kernels.{name}"), "baseline"


activation_kernels, SIMD = _load_kernels("activations")
loss_kernels = _load_kernels("losses")[0]  # softmax and the losses
optimizer_kernels = _load_kernels("optimizers")[0]
