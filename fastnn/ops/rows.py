"""``take_rows``: gather a mini-batch of rows (features or labels) into a reused buffer;
``take_csr_rows``, the same for the rows of a CSR matrix, into a reused CSR batch
(:func:`csr_batch`) sized by :func:`csr_capacity`."""

import numpy as np
import scipy.sparse as sp

from fastnn.ops._bind import bindable, run_kernel
from fastnn.ops._loader import gather_kernels
from fastnn.ops.checks import FLOATS, INTP, check_csr, may_overlap

_ROW_DTYPES = (*FLOATS, INTP)


@bindable
def take_rows(X, indices, out=None):
    """out[i] = X[indices[i]]: gather a mini-batch into a reused buffer.

    ``X`` is a C-contiguous float32, float64 or intp (labels) array of shape
    (n_rows,) or (n_rows, n_features); ``indices`` a 1-D C-contiguous intp array, such
    as a slice ``perm[start:stop]`` of a permutation, with every value in [0, n_rows)
    (negative indices are errors). ``out`` has shape (len(indices),) + X.shape[1:] and
    X's dtype, and overlaps neither input. The kernel checks every index before it
    copies a row: on a bad one ``out`` is left untouched (bound, ``run()`` returns
    the position of the first bad index, else -1).

    >>> X = np.arange(6.0).reshape(3, 2)
    >>> take_rows(X, np.array([2, 0]))
    array([[4., 5.],
           [0., 1.]])
    """
    # NOTE: this runs twice per mini-batch, so the checks are written out rather than
    # going through check_float and output() (their messages assume floats), and the
    # overlap test is a byte-range compare in C (70 ns; np.may_share_memory takes 450).
    if not isinstance(X, np.ndarray):
        raise TypeError(f"X must be a numpy.ndarray, got {type(X).__name__}")
    if X.dtype not in _ROW_DTYPES:
        raise TypeError(f"X must have dtype float32, float64 or intp, got {X.dtype}")
    ndim = X.ndim
    if ndim != 1 and ndim != 2:
        raise ValueError(f"X must be 1-D or 2-D, got shape {X.shape}")
    if not X.flags.c_contiguous:
        raise ValueError("X must be C-contiguous; pass np.ascontiguousarray(X)")
    if not isinstance(indices, np.ndarray):
        raise TypeError(
            f"indices must be a numpy.ndarray, got {type(indices).__name__}"
        )
    if indices.dtype != INTP:
        raise TypeError(
            f"indices must have dtype intp, got {indices.dtype}; "
            "pass indices.astype(np.intp)"
        )
    if indices.ndim != 1:
        raise ValueError(f"indices must be 1-D, got shape {indices.shape}")
    if not indices.flags.c_contiguous:
        raise ValueError(
            "indices must be C-contiguous; pass np.ascontiguousarray(indices)"
        )
    shape = (len(indices),) if ndim == 1 else (len(indices), X.shape[1])
    if out is None:
        out = np.empty(shape, X.dtype)
    else:
        _check_rows_out(out, shape, X, indices)
    bad = run_kernel(gather_kernels.take_rows, X, indices, out)
    if bad is not None and bad >= 0:  # bound, run() returns the bad position
        bad = int(bad)
        raise ValueError(
            f"indices[{bad}] = {indices[bad]} is out of range for X with "
            f"{len(X)} rows"
        )
    return out


def _check_rows_out(out, shape, X, indices):
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != X.dtype:
        raise TypeError(f"out must have dtype {X.dtype}, got {out.dtype}")
    if out.shape != shape:
        raise ValueError(f"out must have shape {shape}, got {out.shape}")
    flags = out.flags
    if not flags.c_contiguous:
        raise ValueError("out must be C-contiguous; pass np.ascontiguousarray(out)")
    if not flags.writeable:
        raise ValueError("out is read-only; it is written in place")
    if may_overlap(out, X):
        raise ValueError("out overlaps X; pass a separate array")
    if may_overlap(out, indices):
        raise ValueError("out overlaps indices; pass a separate array")


def csr_capacity(X, n_rows):
    """The most stored entries any ``n_rows`` rows of the CSR ``X`` hold together: the
    capacity of a batch that takes any ``n_rows`` of its rows (at least 1)."""
    counts = np.diff(X.indptr)
    n_rows = min(n_rows, counts.shape[0])
    if n_rows == 0:
        return 1
    largest = np.partition(counts, counts.shape[0] - n_rows)[counts.shape[0] - n_rows:]
    return max(int(largest.sum()), 1)


def csr_batch(n_rows, n_features, capacity, dtype, index_dtype):
    """An empty CSR matrix of shape (n_rows, n_features) whose arrays hold ``capacity``
    stored entries: the reused batch :func:`take_csr_rows` writes into, whose arrays
    bound kernel calls read (only the entries up to ``indptr[-1]`` are its rows')."""
    batch = sp.csr_matrix((n_rows, n_features), dtype=dtype)
    # NOTE: set after construction, as SciPy's constructor would trim the arrays to the
    # (zero) entries stored, or narrow int64 indices to int32: copies, not the buffers.
    batch.data = np.zeros(capacity, dtype)
    batch.indices = np.zeros(capacity, index_dtype)
    batch.indptr = np.zeros(n_rows + 1, index_dtype)
    return batch


@bindable
def take_csr_rows(X, indices, out=None):
    """out = X[indices] for a CSR ``X``, into ``out``, a :func:`csr_batch` of
    ``len(indices)`` rows, X's width, data dtype and index dtype, with the capacity
    for those rows' entries (None: a new batch with just that capacity).

    ``X`` is checked as :func:`fastnn.ops.checks.check_csr` checks it (its indptr
    taken in its indices' dtype); ``indices`` as :func:`take_rows`'s. The kernel
    checks every index, and that the rows' entries fit, before it writes: on a bad
    index or too many entries ``out`` is left untouched (bound, ``run()`` returns
    the position of the first bad index, -2 for too many entries, else -1).

    >>> X = sp.csr_matrix(np.array([[0.0, 1.0], [2.0, 0.0], [0.0, 0.0]]))
    >>> take_csr_rows(X, np.array([1, 0])).toarray()
    array([[2., 0.],
           [0., 1.]])
    """
    if not sp.issparse(X):
        raise TypeError(f"X must be a scipy.sparse CSR matrix, got {type(X).__name__}")
    data, X_indices, indptr = check_csr(X)
    if not isinstance(indices, np.ndarray) or indices.dtype != INTP:
        raise TypeError("indices must be a numpy.ndarray of dtype intp")
    if indices.ndim != 1 or not indices.flags.c_contiguous:
        raise ValueError("indices must be a 1-D C-contiguous array")
    n_rows = indices.shape[0]
    if out is None:
        capacity = int(np.diff(indptr)[np.clip(indices, 0, X.shape[0] - 1)].sum()) if (
            X.shape[0]) else 0
        out = csr_batch(n_rows, X.shape[1], max(capacity, 1), data.dtype, X_indices.dtype)
    else:
        _check_csr_out(out, (n_rows, X.shape[1]), data, X_indices)
    bad = run_kernel(
        gather_kernels.take_csr_rows, data, X_indices, indptr, indices,
        out.data, out.indices, out.indptr,
    )
    if bad == -2:
        raise ValueError(
            f"out holds {out.data.shape[0]} entries, fewer than the rows' "
            f"{int(np.diff(indptr)[indices].sum())}; size it by csr_capacity"
        )
    if bad is not None and bad >= 0:
        bad = int(bad)
        raise ValueError(
            f"indices[{bad}] = {indices[bad]} is out of range for X with "
            f"{X.shape[0]} rows"
        )
    return out


def _check_csr_out(out, shape, data, indices):
    if not sp.issparse(out) or out.format != "csr":
        raise TypeError(f"out must be a CSR matrix (csr_batch), got {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"out must have shape {shape}, got {out.shape}")
    arrays = {"out.data": out.data, "out.indices": out.indices, "out.indptr": out.indptr}
    for name, array, dtype, length in (
        ("out.data", out.data, data.dtype, None),
        ("out.indices", out.indices, indices.dtype, None),
        ("out.indptr", out.indptr, indices.dtype, shape[0] + 1),
    ):
        if not isinstance(array, np.ndarray) or array.dtype != dtype:
            raise TypeError(f"{name} must be a numpy.ndarray of dtype {dtype}")
        if array.ndim != 1 or not array.flags.c_contiguous or not array.flags.writeable:
            raise ValueError(f"{name} must be a writeable 1-D C-contiguous array")
        if length is not None and array.shape[0] != length:
            raise ValueError(f"{name} must have {length} entries, got {array.shape[0]}")
        for other, source in (("X.data", data), ("X.indices", indices)):
            if may_overlap(array, source):
                raise ValueError(f"{name} overlaps {other}; pass a separate array")
    if out.data.shape[0] != out.indices.shape[0]:
        raise ValueError("out.data and out.indices must hold as many entries")
    if may_overlap(out.data, out.indices) or may_overlap(out.indices, out.indptr) or (
            may_overlap(out.data, out.indptr)):
        raise ValueError(f"out's arrays overlap each other; {list(arrays)} must be separate")
