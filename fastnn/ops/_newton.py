"""The Newton solvers' kernels' door: private to :mod:`fastnn.estimators`.

``logistic_newton_pass``: the log-loss of a linear model, its gradient and its Hessian
in one pass over ``X``; ``logistic_hessp``: that Hessian times a vector, from the
probabilities a pass left. ``X`` is a C-contiguous float ndarray or a CSR matrix (int32
or int64 indices, never copied); checked as every op is (see :mod:`fastnn.ops`).

Coefficients are laid out as scikit-learn's LinearModelLoss lays them out: index
``j * k + c`` for feature ``j`` and output ``c``, the intercept as feature
``j = n_features`` (``n_dof = n_features + with_bias`` per output).
"""

from typing import NamedTuple

import numpy as np
import scipy.sparse

from fastnn.ops._loader import newton_csr_kernels, newton_dense_kernels
from fastnn.ops.checks import (
    BLAS_MAX_DIM,
    check_csr,
    check_float,
    check_index_array,
    check_positive_int,
    check_sample_weight,
    check_scalar,
    fit_dtype,
    output,
)

LOSS, GRADIENT, HESSIAN = 0, 1, 2
_MODES = {"loss": LOSS, "gradient": GRADIENT, "hessian": HESSIAN}


class NewtonPass(NamedTuple):
    """One pass's results: ``loss`` = sum_i s_i loss_i (float, summed in float64);
    ``dW`` (n_features, k) and ``db`` (k,): the gradient of ``scale * loss``;
    ``H`` (N, N), N = n_dof k: its Hessian (full, symmetric); ``P`` (n_samples, k):
    the probabilities (p of class 1 when k == 1). Those not asked for are None."""

    loss: float
    dW: np.ndarray
    db: np.ndarray
    H: np.ndarray
    P: np.ndarray


def _check_X(X):
    """(dtype, n_samples, n_features) of a dense or CSR X, refusing anything else."""
    if scipy.sparse.issparse(X):
        check_csr(X)
        n_samples, n_features = X.shape
        return X.data.dtype, n_samples, n_features
    check_float("X", X, ndim=2)
    return (X.dtype, *X.shape)


def _csr_arrays(X):
    """data, indices, indptr, with indptr in the indices' dtype (the kernel takes one
    index type; only indptr, n_samples + 1 entries, is ever converted)."""
    indptr = X.indptr.astype(X.indices.dtype, copy=False)
    return X.data, X.indices, indptr


def _check_coef(name, W, dtype, n_features):
    check_float(name, W, ndim=2)
    if W.dtype != dtype:
        raise TypeError(f"{name} has dtype {W.dtype} but X has {dtype}")
    if W.shape[0] != n_features or W.shape[1] < 1 or W.shape[1] == 2:
        raise ValueError(
            f"{name} must have shape ({n_features}, k) with k = 1 or k >= 3, "
            f"got {W.shape}"
        )
    return W.shape[1]


def _check_bias(name, b, dtype, k):
    check_float(name, b, ndim=1)
    if b.dtype != dtype:
        raise TypeError(f"{name} has dtype {b.dtype} but X has {dtype}")
    if b.shape != (k,):
        raise ValueError(f"{name} must have shape ({k},), got {b.shape}")


def _parts(n_threads, n_samples):
    return max(1, min(check_positive_int("n_threads", n_threads), n_samples))


def logistic_newton_pass(
    X, y, W, b, sample_weight=None, scale=1.0, with_bias=True, want="hessian",
    keep_proba=False, block_rows=None, n_threads=1,
):
    """Log-loss of the linear model X W + b with its gradient and Hessian, one pass.

    ``W`` (n_features, k) and ``b`` (k,) have X's dtype: the sigmoid neuron for
    ``k == 1`` (labels ``y`` in {0, 1}), softmax for ``k >= 3`` (labels in [0, k)).
    ``want`` is "loss", "gradient" (and the loss) or "hessian" (and both): the
    gradient of ``scale * sum_i s_i loss_i`` in W (``dW``) and b (``db``, zero unless
    ``with_bias``), and its Hessian ``H`` over the coefficients laid out as
    scikit-learn's (index j k + c; the intercept as feature n_features when
    ``with_bias``): scale sum_i s_i (x_i x_i^T) kron (diag(p_i) - p_i p_i^T). No L2
    term: the solver adds it. ``keep_proba``: also return the probabilities ``P``
    (what :func:`logistic_hessp` takes). Returns a :class:`NewtonPass`.

    Dense rows go in blocks of ``block_rows`` (default: about 256 KB of scratch, and at
    least 256 rows for a Hessian) through BLAS (SYRK for the Hessian); CSR rows one by
    one. ``n_threads`` > 1 splits the rows into parts on OpenMP threads whose results
    are summed; the caller keeps BLAS to one thread meanwhile.

    >>> X = np.array([[0.0, 1.0], [1.0, 0.0]]); y = np.array([0, 1])
    >>> out = logistic_newton_pass(X, y, np.zeros((2, 1)), np.zeros(1))
    >>> round(out.loss, 4), out.dW.ravel().tolist(), out.H[0].tolist()
    (1.3863, [-0.5, 0.5], [0.25, 0.0, 0.25])
    """
    dtype, n_samples, n_features = _check_X(X)
    sparse = scipy.sparse.issparse(X)
    k = _check_coef("W", W, dtype, n_features)
    _check_bias("b", b, dtype, k)
    if want not in _MODES:
        raise ValueError(f"want must be one of {sorted(_MODES)}, got {want!r}")
    mode = _MODES[want]
    with_bias = bool(with_bias)
    n_dof = n_features + with_bias
    N = n_dof * k
    if max(n_samples, N, k) > BLAS_MAX_DIM:
        raise ValueError("dimensions must be below 2**31 (BLAS uses 32-bit ints)")
    if not sparse and n_features < 1:
        raise ValueError("X must have at least one feature")
    check_index_array("y", y, n_samples, max(k, 2))
    scale = check_scalar("scale", scale)
    fit_dtype(dtype, scale=scale)
    weights = check_sample_weight(sample_weight, n_samples, dtype, reference="X")
    parts = _parts(n_threads, n_samples)
    gradient, hessian = mode >= GRADIENT, mode == HESSIAN
    # parts beyond the first get their own outputs; part 0 writes the returned ones
    dW_parts = np.empty((parts, n_features if gradient else 0, k), dtype)
    db_parts = np.empty((parts, k if gradient else 0), dtype)
    H_parts = np.empty((parts, N if hessian else 0, N if hessian else 0), dtype)
    P = np.empty((n_samples if keep_proba else 0, k), dtype)
    losses = np.zeros(parts, np.float64)
    # NOTE: a zero-size part array has no element 0 for the kernel to point at; such
    # outputs get one element that is never written (its mode does not ask for it).
    dW_parts, db_parts, H_parts = (
        a if a.size else np.empty((parts,) + (1,) * (a.ndim - 1), dtype)
        for a in (dW_parts, db_parts, H_parts)
    )
    if n_samples:
        if sparse:
            # NOTE: each part's row scratch on cache lines of its own: two threads
            # writing one line slowed a 2-part pass to twice the time of one part.
            scratch = np.empty((parts, (k + k * k) // 16 * 16 + 16), dtype)
            newton_csr_kernels.newton_pass_csr(
                *_csr_arrays(X), n_features, y, weights, W, b, scale, with_bias, mode,
                dW_parts, db_parts, H_parts, P, scratch, losses,
            )
        else:
            width = N if hessian else k
            if block_rows is None:
                block_rows = 262144 // (max(width, n_features) * dtype.itemsize)
                # NOTE: SYRK reads and writes its N x N triangle once per block: below
                # a few hundred rows a wide Hessian's update is bound by that traffic
                # (100000x200 with 10 classes: 32-row blocks took 1.1 s per 20000
                # rows where 256-row blocks took 0.98 s, and 10x that on BLAS threads).
                if hessian:
                    block_rows = max(256, block_rows)
            block_rows = check_positive_int("block_rows", block_rows)
            block = min(n_samples, max(16, block_rows))
            Z = np.empty((parts, block, k), dtype)
            T = np.empty((parts, block * N if hessian else 1), dtype)
            D = np.empty((parts, k * n_dof * n_dof if hessian and k > 1 else 1), dtype)
            newton_dense_kernels.newton_pass_dense(
                X, y, weights, W, b, scale, with_bias, mode, dW_parts, db_parts,
                H_parts, D, P, Z, T, losses,
            )
    else:
        for a in (dW_parts, db_parts, H_parts):
            a[:] = 0
    dW = db = H = None
    if gradient:
        dW, db = dW_parts[0], db_parts[0]
        if parts > 1:
            dW = dW_parts.sum(axis=0)
            db = db_parts.sum(axis=0)
        if not with_bias:
            db[:] = 0
    if hessian:
        H = H_parts[0] if parts == 1 else H_parts.sum(axis=0)
        # the kernels fill the lower triangle (the upper one stays 0): mirror it
        H += np.tril(H, -1).T
    return NewtonPass(
        float(losses.sum()), dW, db, H, P if keep_proba else None
    )


def logistic_hessp(
    X, P, V, vb, sample_weight=None, scale=1.0, with_bias=True, out=None, outb=None,
    block_rows=None, n_threads=1,
):
    """The Hessian of :func:`logistic_newton_pass` times the direction (V, vb).

    ``P`` (n_samples, k) is the probabilities a pass returned (``keep_proba``), ``V``
    (n_features, k) and ``vb`` (k,) the direction's coefficients and intercepts. Returns
    ``(out, outb)``: out = scale X^T R, outb = scale sum_i R_i (zero unless
    ``with_bias``) with R_i = s_i (diag(p_i) - p_i p_i^T)(x_i V + vb) (k = 1:
    p_i (1 - p_i)). No L2 term. Dense X goes in row blocks through BLAS, split over
    ``n_threads`` parts (BLAS kept to one thread by the caller); CSR X row by row on
    one thread.

    >>> X = np.array([[0.0, 1.0], [1.0, 0.0]]); P = np.full((2, 1), 0.5)
    >>> out, outb = logistic_hessp(X, P, np.ones((2, 1)), np.zeros(1))
    >>> out.ravel().tolist(), outb.tolist()
    ([0.25, 0.25], [0.5])
    """
    dtype, n_samples, n_features = _check_X(X)
    sparse = scipy.sparse.issparse(X)
    k = _check_coef("V", V, dtype, n_features)
    _check_bias("vb", vb, dtype, k)
    check_float("P", P, ndim=2)
    if P.dtype != dtype:
        raise TypeError(f"P has dtype {P.dtype} but X has {dtype}")
    if P.shape != (n_samples, k):
        raise ValueError(f"P must have shape ({n_samples}, {k}), got {P.shape}")
    if not sparse and n_features < 1:
        raise ValueError("X must have at least one feature")
    if max(n_samples, n_features, k) > BLAS_MAX_DIM:
        raise ValueError("dimensions must be below 2**31 (BLAS uses 32-bit ints)")
    scale = check_scalar("scale", scale)
    fit_dtype(dtype, scale=scale)
    weights = check_sample_weight(sample_weight, n_samples, dtype, reference="X")
    inputs = {
        "X": None if sparse else X, "P": P, "V": V, "vb": vb, "sample_weight": weights,
    }
    out = output("out", out, V.shape, dtype, inputs)
    outb = output("outb", outb, (k,), dtype, {**inputs, "out": out})
    if n_samples == 0:
        out[:] = 0
        outb[:] = 0
    elif sparse:
        newton_csr_kernels.hessp_csr(
            *_csr_arrays(X), weights, P, V, vb, scale, bool(with_bias), out, outb,
            np.empty(k, dtype),
        )
    else:
        parts = _parts(n_threads, n_samples)
        if block_rows is None:
            block_rows = 262144 // (n_features * dtype.itemsize)
        block_rows = check_positive_int("block_rows", block_rows)
        block = min(n_samples, max(16, block_rows))
        Z = np.empty((parts, block, k), dtype)
        if parts == 1:
            newton_dense_kernels.hessp_dense(
                X, weights, P, V, vb, scale, bool(with_bias), out[None], outb[None], Z
            )
        else:
            out_parts = np.empty((parts, n_features, k), dtype)
            outb_parts = np.empty((parts, k), dtype)
            newton_dense_kernels.hessp_dense(
                X, weights, P, V, vb, scale, bool(with_bias), out_parts, outb_parts, Z
            )
            np.sum(out_parts, axis=0, out=out)
            np.sum(outb_parts, axis=0, out=outb)
    if not with_bias:
        outb[:] = 0
    return out, outb
