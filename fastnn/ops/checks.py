"""Checks of arrays and scalars: the compiled ones, and those several kernel families share.

The layers above ops take the compiled checks from here (``from fastnn.ops.checks import
FLOATS, check_scalar``): nothing but :mod:`fastnn.ops` imports a compiled module. Each
check raises ``TypeError`` for a wrong type or dtype and ``ValueError`` for a wrong
shape, layout, overlap or range, naming the argument.
"""

import numpy as np

from fastnn.ops._kernel_args import NO_WEIGHTS
from fastnn.ops._loader import (
    FLOATS,
    check_float,
    check_like,
    check_positive_int,
    check_scalar,
    check_writeable,
    cpu_features,
    csr_kernels,
    may_overlap,
    output,
)

__all__ = [
    "FLOATS", "check_float", "check_like", "check_positive_int", "check_scalar",
    "check_writeable", "may_overlap", "output",
    "INTP", "BLAS_MAX_DIM", "PARALLEL_MIN_SIZE", "fit_dtype", "check_sample_weight",
    "check_csr", "check_index_array",
]

INTP = np.dtype(np.intp)
BLAS_MAX_DIM = 2**31 - 1  # BLAS takes 32-bit ints
# Elements below which the kernels run serially (a thread team costs more than it saves).
PARALLEL_MIN_SIZE = cpu_features.PARALLEL_MIN_SIZE
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_CSR_INDEX = (np.dtype(np.int32), np.dtype(np.int64))
_INT32_MAX = 2**31 - 1
_CSR_FINDINGS = {
    csr_kernels.CSR_INDPTR_START: (
        "{name} is not a valid CSR matrix (indptr[0] is not 0)"
    ),
    csr_kernels.CSR_INDPTR_DECREASES: (
        "{name} is not a valid CSR matrix (indptr decreases)"
    ),
    csr_kernels.CSR_INDPTR_END: (
        "{name} is not a valid CSR matrix (indptr[-1] is beyond its data or indices)"
    ),
    csr_kernels.CSR_INDEX_RANGE: (
        "{name} is not a valid CSR matrix (a column index is out of range)"
    ),
    # scikit-learn's words (sklearn.utils.validation)
    csr_kernels.CSR_NAN: "Input {name} contains NaN.",
    csr_kernels.CSR_INF: "Input {name} contains infinity or a value too large for "
    "dtype('{dtype}').",
}


def fit_dtype(dtype, **scalars):
    """Scalars reach float32 kernels as float32: refuse one that would become inf."""
    # NOTE: check_scalar only knows float64's range; alpha=1e300 made float32 leaky_relu
    # return inf * 0 = NaN for X = 0.
    if dtype == np.float32:
        for name, value in scalars.items():
            if abs(value) > _FLOAT32_MAX:
                raise ValueError(f"{name}={value} overflows float32, the arrays' dtype")


def check_sample_weight(sample_weight, n_samples, dtype, reference="logits"):
    """``sample_weight`` (n_samples,) of ``dtype``, or, when None, an empty array (the
    kernels read no weights from it)."""
    if sample_weight is None:
        return NO_WEIGHTS[dtype]
    check_float("sample_weight", sample_weight, ndim=1)
    if sample_weight.dtype != dtype:
        raise TypeError(
            f"sample_weight has dtype {sample_weight.dtype} but {reference} has {dtype}"
        )
    if sample_weight.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has {sample_weight.shape[0]} entries for {n_samples} samples"
        )
    return sample_weight


def check_csr(X, name="X"):
    """A CSR matrix's ``(data, indices, indptr)``, checked for kernels that read through
    them unchecked: float data, int32 or int64 1-D C-contiguous index arrays (``indptr``
    cast to the indices' dtype, a copy of n_samples + 1 entries, when they differ), a
    non-decreasing ``indptr`` from 0 within the stored entries, every column index of a
    stored entry in [0, n_features) and every stored value finite (scikit-learn's
    words). Nothing is copied but that ``indptr``; unsorted indices, duplicates and
    explicit zeros are valid. ``X`` is a SciPy CSR matrix or array, or anything with its
    ``format``, ``shape``, ``data``, ``indices`` and ``indptr`` (a ``CSRRows``)."""
    if getattr(X, "format", None) != "csr":
        raise ValueError(f"a sparse {name} must be CSR, got {getattr(X, 'format', X)}")
    data, indices, indptr = X.data, X.indices, X.indptr
    check_float(f"{name}.data", data, ndim=1)
    n_samples, n_features = X.shape
    for part, array in (("indices", indices), ("indptr", indptr)):
        if not isinstance(array, np.ndarray) or array.dtype not in _CSR_INDEX:
            raise TypeError(f"{name}.{part} must be an int32 or int64 numpy.ndarray")
        if array.ndim != 1 or not array.flags.c_contiguous:
            raise ValueError(f"{name}.{part} must be a 1-D C-contiguous array")
    if indptr.shape != (n_samples + 1,):
        raise ValueError(
            f"{name} is not a valid CSR matrix (indptr has {indptr.shape[0]} entries "
            f"for {n_samples} rows)"
        )
    if indptr.dtype != indices.dtype:
        # NOTE: an int64 indptr past 2**31 - 1 would wrap when cast to int32 indices
        # (and could then look valid): more stored values than int32 can count.
        if indptr.dtype.itemsize > indices.dtype.itemsize and indptr.max() > _INT32_MAX:
            raise ValueError(
                f"{name} has more than 2**31 - 1 stored values but int32 indices; "
                "pass int64 indices and indptr"
            )
        indptr = indptr.astype(indices.dtype)
    # NOTE: one compiled pass refuses a malformed matrix before any kernel (or SciPy's
    # unchecked compiled conversions) reads through it.
    finding = csr_kernels.csr_check(data, indices, indptr, n_features)
    if finding != csr_kernels.CSR_OK:
        raise ValueError(_CSR_FINDINGS[int(finding)].format(name=name, dtype=data.dtype))
    return data, indices, indptr


def check_index_array(name, array, n, high):
    """``array`` must be a 1-D C-contiguous intp array of length ``n`` (None: any)
    holding values in [0, high): labels, row orders, active sets."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(array).__name__}")
    if array.dtype != INTP:
        raise TypeError(f"{name} must have dtype intp, got {array.dtype}")
    if array.ndim != 1 or not array.flags.c_contiguous:
        raise ValueError(f"{name} must be a 1-D C-contiguous array")
    if n is not None and array.shape[0] != n:
        raise ValueError(f"{name} must have {n} entries, got {array.shape[0]}")
    if array.size and (array.min() < 0 or array.max() >= high):
        raise ValueError(f"{name} must hold values in [0, {high})")
