"""Products of a CSR matrix with dense matrices, the CSR matrix never densified.

``X`` is a SciPy CSR matrix or array (float32/float64 data, int32 or int64 indices,
sorted or not, duplicates adding up, explicit zeros) or a :class:`CSR`, the same three
arrays and a shape. Every call checks X in one compiled pass (:func:`check_csr`: the
index structure, every column index, every stored value finite) and never copies it
(an ``indptr`` of another dtype than ``indices`` is cast, n_rows + 1 entries).

* :func:`csr_matmul`: ``X @ W + b`` written straight into ``out``, rows in parallel.
* :func:`csr_t_matmul`: ``X.T @ R`` by scattering rows, into per-thread parts when
  asked; or, when the same X is multiplied many times, :func:`csr_transpose` once and
  ``csr_matmul`` of that (the CSC view), which writes each row of ``out`` once.
* :func:`csr_take_rows`: a mini-batch's rows gathered into reused CSR buffers
  (:func:`csr_rows_buffer`), for a training loop that binds its calls.
"""

from typing import NamedTuple

import numpy as np

from fastnn.ops._bind import bindable, run_kernel
from fastnn.ops._kernel_args import NO_WEIGHTS
from fastnn.ops._loader import csr_kernels
from fastnn.ops.checks import (
    INTP,
    check_csr,
    check_float,
    check_positive_int,
    may_overlap,
    output,
)
from fastnn.ops.dense import _check_bias

_INT32_MAX = 2**31 - 1


class CSR(NamedTuple):
    """A CSR matrix as its arrays and shape: what :func:`csr_transpose` returns, or a
    mini-batch buffer (:func:`csr_rows_buffer`). SciPy's is
    ``scipy.sparse.csr_matrix((data, indices, indptr), shape)`` (which reads only the
    first ``indptr[-1]`` entries)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple

    @property
    def format(self):
        return "csr"


def _check_product(X, name, A, transposed):
    """Checks X @ A (X.T @ A when ``transposed``) for a CSR X and a dense A; returns
    X's checked arrays, its shape and A's columns."""
    data, indices, indptr = check_csr(X)
    n_rows, n_features = X.shape
    rows = n_rows if transposed else n_features
    check_float(name, A, ndim=2)
    if A.dtype != data.dtype:
        raise TypeError(
            f"{name} has dtype {A.dtype} but X has {data.dtype}; mixed dtypes are not "
            "allowed"
        )
    if A.shape[0] != rows:
        raise ValueError(f"{name} must have {rows} rows, got shape {A.shape}")
    return (data, indices, indptr), n_rows, n_features, A.shape[1]


def _check_apart(out, *arrays):
    for name, array in arrays:
        if may_overlap(out, array):
            raise ValueError(f"out overlaps {name}; pass a separate array")


@bindable
def csr_matmul(X, W, b=None, out=None):
    """out (n_rows, k) = X @ W (+ b) for a CSR X (n_rows, n_features), W (n_features,
    k) C-contiguous of X's dtype and b (k,).

    Each row of ``out`` is written once, from ``b``, by one thread (rows are split
    across OpenMP's threads above ~131k multiply-adds): the result does not depend on
    the thread count. ``out`` must not overlap X, W or b.

    >>> import scipy.sparse as sp
    >>> X = sp.csr_matrix(np.array([[0.0, 2.0], [1.0, 0.0]]))
    >>> csr_matmul(X, np.array([[1.0], [10.0]]), np.array([0.5]))
    array([[20.5],
           [ 1.5]])
    """
    (data, indices, indptr), n_rows, n_features, k = _check_product(X, "W", W, False)
    if b is not None:
        _check_bias(b, k, data.dtype)
    out = output("out", out, (n_rows, k), data.dtype, {"W": W, "b": b})
    _check_apart(out, ("X.data", data), ("X.indices", indices), ("X.indptr", indptr))
    if n_rows == 0 or k == 0:
        return out
    if n_features == 0:
        out[:] = 0 if b is None else b
        return out
    with_bias = b is not None
    run_kernel(
        csr_kernels.csr_matmul, data, indices, indptr, W,
        b if with_bias else NO_WEIGHTS[data.dtype], out, with_bias,
    )
    return out


@bindable
def csr_t_matmul(X, R, out=None, n_threads=1):
    """out (n_features, k) = X.T @ R for a CSR X (n_rows, n_features) and R (n_rows, k)
    C-contiguous of X's dtype; rows of ``out`` no stored value reaches are 0.

    Each stored value adds its multiple of R's row into ``out`` (a scatter).
    ``n_threads`` > 1 splits the rows (by stored values) into that many parts on
    OpenMP's threads, each scattering into its own (n_features, k) buffer, summed into
    ``out`` in a fixed order (the result depends on ``n_threads``, never on timing).
    For many products with one X (a solver's iterations), ``csr_matmul(Xt, R)`` with
    ``Xt = csr_transpose(X)`` built once reads X by columns and writes each row
    of ``out`` once, with no buffers (see csr.pyx.tp's NOTE for the measured choice).
    ``out`` must not overlap X or R.

    >>> import scipy.sparse as sp
    >>> X = sp.csr_matrix(np.array([[0.0, 2.0], [1.0, 0.0], [0.0, 3.0]]))
    >>> csr_t_matmul(X, np.array([[1.0], [10.0], [100.0]]))
    array([[ 10.],
           [302.]])
    """
    (data, indices, indptr), n_rows, n_features, k = _check_product(X, "R", R, True)
    n_threads = check_positive_int("n_threads", n_threads)
    out = output("out", out, (n_features, k), data.dtype, {"R": R})
    _check_apart(out, ("X.data", data), ("X.indices", indices), ("X.indptr", indptr))
    if n_features == 0 or k == 0:
        return out
    if n_rows == 0:
        out[:] = 0
        return out
    parts = min(n_threads, n_rows)
    scratch = np.empty((parts - 1, n_features, k), data.dtype)
    run_kernel(csr_kernels.csr_t_matmul, data, indices, indptr, R, out, scratch)
    return out


def csr_transpose(X):
    """The CSR arrays of X.T (X's CSC view) as a :class:`CSR` (n_features, n_rows):
    new arrays (X's stored values once more), each row in X's row order, duplicates
    kept. Built in one pass (a counting sort); made once, it turns every later X.T @ R
    into ``csr_matmul(csr_transpose(X), R)``.

    >>> import scipy.sparse as sp
    >>> Xt = csr_transpose(sp.csr_matrix(np.array([[0.0, 2.0], [1.0, 0.0]])))
    >>> Xt.data.tolist(), Xt.indices.tolist(), Xt.indptr.tolist(), Xt.shape
    ([1.0, 2.0], [1, 0], [0, 1, 2], (2, 2))
    """
    data, indices, indptr = check_csr(X)
    n_rows, n_features = X.shape
    nnz = int(indptr[-1])
    index = indices.dtype
    if index.itemsize == 4 and max(n_rows, nnz) > _INT32_MAX:
        raise ValueError(
            f"X.T needs int64 indices ({n_rows} rows, {nnz} stored values); "
            "pass X with int64 indices and indptr"
        )
    Xt = CSR(
        np.empty(nnz, data.dtype), np.empty(nnz, index),
        np.empty(n_features + 1, index),
        (n_features, n_rows),
    )
    run_kernel(csr_kernels.csr_transpose, data, indices, indptr, *Xt[:3])
    return Xt


def csr_rows_buffer(X, n_rows):
    """A :class:`CSR` of ``n_rows`` empty rows whose arrays can hold any ``n_rows`` of
    X's rows (the longest ``n_rows`` rows' stored values): the reused ``out`` of
    :func:`csr_take_rows`. Its rows being empty, it is a valid matrix from the start,
    so calls on it can be bound before the first gather."""
    data, indices, indptr = check_csr(X)
    n_rows = check_positive_int("n_rows", n_rows)
    lengths = np.diff(indptr)
    if n_rows < lengths.shape[0]:
        lengths = np.partition(lengths, lengths.shape[0] - n_rows)[-n_rows:]
    capacity = int(lengths.sum(dtype=np.int64))
    return CSR(
        np.zeros(capacity, data.dtype), np.zeros(capacity, indices.dtype),
        np.zeros(n_rows + 1, indices.dtype), (n_rows, X.shape[1]),
    )


@bindable
def csr_take_rows(X, rows, out=None):
    """X[rows] as a :class:`CSR` written into ``out`` (:func:`csr_rows_buffer` of
    ``len(rows)`` rows, or None for new arrays): a shuffled mini-batch gathered without
    densifying. ``rows`` is a 1-D C-contiguous intp array with values in [0, n_rows).
    ``out``'s arrays keep their length; its ``indptr`` says how many entries are the
    batch's. The kernel checks every row and the capacity before it writes; bound,
    ``run()`` returns the entries gathered, or, having written nothing, -1 - r for a bad
    ``rows[r]`` and -2 - len(rows) when ``out`` is too small.

    >>> import scipy.sparse as sp
    >>> X = sp.csr_matrix(np.array([[0.0, 2.0], [1.0, 0.0]]))
    >>> batch = csr_take_rows(X, np.array([1, 1, 0]))
    >>> batch.indptr.tolist(), batch.indices.tolist(), batch.data.tolist()
    ([0, 1, 2, 3], [0, 0, 1], [1.0, 1.0, 2.0])
    """
    data, indices, indptr = check_csr(X)
    if not isinstance(rows, np.ndarray) or rows.dtype != INTP:
        raise TypeError("rows must be a numpy.ndarray of dtype intp")
    if rows.ndim != 1 or not rows.flags.c_contiguous:
        raise ValueError("rows must be a 1-D C-contiguous array")
    m = rows.shape[0]
    if out is None:
        taken = np.diff(indptr)[rows] if rows.size and rows.min() >= 0 and (
            rows.max() < X.shape[0]) else np.zeros(0, INTP)
        capacity = int(taken.sum(dtype=np.int64))
        out = CSR(
            np.empty(capacity, data.dtype), np.empty(capacity, indices.dtype),
            np.empty(m + 1, indices.dtype), (m, X.shape[1]),
        )
    _check_rows_buffer(out, m, X.shape[1], data, indices, rows)
    found = run_kernel(
        csr_kernels.csr_take_rows, data, indices, indptr, rows, *out[:3]
    )
    if found is not None and found < 0:  # bound, run() returns the code
        found = int(found)
        if found >= -m:
            bad = -1 - found
            raise ValueError(
                f"rows[{bad}] = {rows[bad]} is out of range for X with "
                f"{X.shape[0]} rows"
            )
        raise ValueError(
            "out is too small for these rows; make it with csr_rows_buffer"
        )
    return out


def _check_rows_buffer(out, m, n_features, data, indices, rows):
    if not isinstance(out, CSR):
        raise TypeError(
            f"out must be a CSR (csr_rows_buffer), got {type(out).__name__}"
        )
    if tuple(out.shape) != (m, n_features):
        raise ValueError(f"out must have shape {(m, n_features)}, got {out.shape}")
    for name, array, dtype in (
        ("out.data", out.data, data.dtype), ("out.indices", out.indices, indices.dtype),
        ("out.indptr", out.indptr, indices.dtype),
    ):
        if not isinstance(array, np.ndarray) or array.dtype != dtype:
            raise TypeError(f"{name} must be a numpy.ndarray of dtype {dtype}")
        if array.ndim != 1 or not array.flags.c_contiguous or not array.flags.writeable:
            raise ValueError(f"{name} must be a writeable 1-D C-contiguous array")
    if out.indptr.shape[0] != m + 1:
        raise ValueError(
            f"out.indptr must have {m + 1} entries, got {out.indptr.shape[0]}"
        )
    written = (out.data, out.indices, out.indptr)
    for name, array in (("X.data", data), ("X.indices", indices), ("rows", rows)):
        if any(may_overlap(target, array) for target in written):
            raise ValueError(f"out overlaps {name}; pass separate arrays")
    if may_overlap(out.data, out.indices) or may_overlap(out.indices, out.indptr) or (
        may_overlap(out.data, out.indptr)
    ):
        raise ValueError("out's arrays overlap one another")
