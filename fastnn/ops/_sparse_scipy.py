"""TEMPORARY stand-in for fastnn.ops.sparse (branch sparse-kernels): SciPy's products,
bindable, so the layers' CSR path can be built and tested before the kernels land."""

import numpy as np

from fastnn.ops._bind import bindable


@bindable
def csr_matmul(X, W, b=None, out=None):
    """out = X @ W (+ b) for a CSR X."""
    if out is None:
        out = np.empty((X.shape[0], W.shape[1]), W.dtype)
    out[...] = X @ W
    if b is not None:
        out += b
    return out


@bindable
def csr_t_matmul(X, R, out=None):
    """out = X.T @ R for a CSR X."""
    if out is None:
        out = np.empty((X.shape[1], R.shape[1]), R.dtype)
    out[...] = X.T @ R
    return out
