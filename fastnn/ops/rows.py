"""``take_rows``: gather a mini-batch of rows (features or labels) into a reused buffer."""

import numpy as np

from fastnn.ops._bind import bindable, run_kernel
from fastnn.ops._loader import gather_kernels
from fastnn.ops.checks import FLOATS, INTP, may_overlap

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
