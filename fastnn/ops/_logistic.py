"""The logistic regression kernels' door: private to :mod:`fastnn.estimators`.

One SGD epoch, and the log-loss with its gradient in one pass over ``X``; checked as
every op is (see :mod:`fastnn.ops`).
"""

import numpy as np
import scipy.sparse

from fastnn.ops._loader import logistic_kernels
from fastnn.ops.checks import (
    BLAS_MAX_DIM,
    check_csr,
    check_float,
    check_index_array,
    check_positive_int,
    check_sample_weight,
    check_scalar,
    check_writeable,
    fit_dtype,
    may_overlap,
    output,
)


def logistic_sgd_epoch(
    X, y, W, b, order, learning_rate, l2=0.0, batch_size=32, sample_weight=None,
    weight_scale=1.0, with_bias=True, G=None,
):
    """One epoch of mini-batch SGD for L2-penalised logistic regression, in place.

    ``W`` (n_features, k) and ``b`` (k,) are updated in place: with ``k == 1`` the
    sigmoid neuron (labels ``y`` in {0, 1}), else softmax (labels in [0, k)). Rows are
    visited in ``order`` (intp indices into X, e.g. a permutation; repeats allowed) in
    batches of ``batch_size``; each batch takes the step

        W <- W - learning_rate * (weight_scale / m * sum_r s_r x_r g_r^T + l2 * W)

    with g_r = p_r - onehot(y_r) and s_r the sample weight (1 when None); ``b`` likewise
    without the l2 term (untouched unless ``with_bias``). ``X`` is a C-contiguous float
    ndarray (n_samples, n_features) or a SciPy CSR matrix/array of the same dtype
    (int32 or int64 indices, never copied). ``G`` is an optional (batch_size, k)
    scratch. Returns the sum of s_r * log-loss_r, each loss taken at the weights before
    its batch's step (float).

    >>> X = np.array([[0.0, 1.0], [1.0, 0.0]]); y = np.array([0, 1])
    >>> W, b = np.zeros((2, 1)), np.zeros(1)
    >>> loss = logistic_sgd_epoch(X, y, W, b, np.arange(2), learning_rate=1.0)
    >>> round(loss, 4)  # 2 log 2: both rows were seen at W = 0
    1.3863
    """
    sparse = scipy.sparse.issparse(X)
    if sparse:
        # NOTE: the kernel trusts every CSR index: a malformed matrix is refused here.
        data, indices, indptr = check_csr(X)
        dtype, (n_samples, n_features) = data.dtype, X.shape
    else:
        check_float("X", X, ndim=2)
        dtype, (n_samples, n_features) = X.dtype, X.shape
    check_float("W", W, ndim=2)
    check_float("b", b, ndim=1)
    for name, array in (("W", W), ("b", b)):
        if array.dtype != dtype:
            raise TypeError(f"{name} has dtype {array.dtype} but X has {dtype}")
        check_writeable(name, array)
    if W.shape[0] != n_features or W.shape[1] < 1:
        raise ValueError(f"W must have shape ({n_features}, k >= 1), got {W.shape}")
    if n_features < 1:
        raise ValueError("X must have at least one feature")
    k = W.shape[1]
    if b.shape != (k,):
        raise ValueError(f"b must have shape ({k},), got {b.shape}")
    if may_overlap(W, b):
        raise ValueError("W overlaps b; pass separate arrays")
    check_index_array("y", y, n_samples, max(k, 2))
    check_index_array("order", order, None, max(n_samples, 1))
    if order.shape[0] and n_samples == 0:
        raise ValueError("order indexes rows of an X that has none")
    lr = check_scalar("learning_rate", learning_rate, low=0.0)
    l2 = check_scalar("l2", l2, low=0.0)
    weight_scale = check_scalar("weight_scale", weight_scale, low=0.0)
    fit_dtype(dtype, learning_rate=lr, l2=l2, weight_scale=weight_scale)
    batch_size = check_positive_int("batch_size", batch_size)
    weights = check_sample_weight(sample_weight, n_samples, dtype, reference="X")
    G = output("G", G, (batch_size, k), dtype, {"W": W, "b": b, "X": None if sparse else X})
    if order.shape[0] == 0:
        return 0.0
    if sparse:
        return logistic_kernels.sgd_epoch_csr(
            data, indices, indptr, y, weights, order, W, b, G, lr, l2, weight_scale,
            bool(with_bias),
        )
    return logistic_kernels.sgd_epoch_dense(
        X, y, weights, order, W, b, G, lr, l2, weight_scale, bool(with_bias)
    )


def logistic_loss_grad(
    X, y, W, b, sample_weight=None, scale=1.0, with_bias=True, dW=None, db=None,
    block_rows=None, n_threads=1,
):
    """Log-loss of the linear model X W + b and its gradient, in one pass over ``X``.

    ``X`` (n_samples, n_features) is a C-contiguous float ndarray, ``W``
    (n_features, k) and ``b`` (k,) of its dtype: the sigmoid neuron for ``k == 1``
    (labels ``y`` in {0, 1}), else softmax (labels in [0, k)). Returns
    ``(loss, dW, db)``: loss = sum_i s_i loss_i (a float, summed in float64), dW =
    scale * X^T G and db = scale * sum_i G_i (zero unless ``with_bias``) with
    G_i = s_i (p_i - onehot(y_i)), s_i the sample weight (1 when None). Rows are taken
    in blocks of ``block_rows`` (default: about 256 KB of X, to stay in cache).
    ``dW`` and ``db`` may be passed in; they must not overlap the inputs.

    ``n_threads`` > 1 splits the rows into that many parts run on OpenMP threads (in a
    build with OpenMP), whose gradients are then summed; each part calls BLAS, so limit
    BLAS to one thread meanwhile (``threadpoolctl.threadpool_limits(1, "blas")``), or
    its pools fight over the cores.

    >>> X = np.array([[0.0, 1.0], [1.0, 0.0]]); y = np.array([0, 1])
    >>> loss, dW, db = logistic_loss_grad(X, y, np.zeros((2, 1)), np.zeros(1))
    >>> round(loss, 4), dW.ravel().tolist(), db.tolist()
    (1.3863, [-0.5, 0.5], [0.0])
    """
    check_float("X", X, ndim=2)
    n_samples, n_features = X.shape
    dtype = X.dtype
    check_float("W", W, ndim=2)
    check_float("b", b, ndim=1)
    for name, array in (("W", W), ("b", b)):
        if array.dtype != dtype:
            raise TypeError(f"{name} has dtype {array.dtype} but X has {dtype}")
    if W.shape[0] != n_features or W.shape[1] < 1:
        raise ValueError(f"W must have shape ({n_features}, k >= 1), got {W.shape}")
    k = W.shape[1]
    if b.shape != (k,):
        raise ValueError(f"b must have shape ({k},), got {b.shape}")
    if max(n_samples, n_features, k) > BLAS_MAX_DIM:
        raise ValueError("dimensions must be below 2**31 (BLAS uses 32-bit ints)")
    check_index_array("y", y, n_samples, max(k, 2))
    scale = check_scalar("scale", scale)
    fit_dtype(dtype, scale=scale)
    weights = check_sample_weight(sample_weight, n_samples, dtype, reference="X")
    inputs = {"X": X, "W": W, "b": b, "sample_weight": weights}
    dW = output("dW", dW, W.shape, dtype, inputs)
    db = output("db", db, (k,), dtype, {**inputs, "dW": dW})
    if block_rows is not None:
        block_rows = check_positive_int("block_rows", block_rows)
    n_threads = check_positive_int("n_threads", n_threads)
    if n_samples == 0 or n_features == 0:
        dW[:] = 0
        db[:] = 0
        if n_samples == 0:
            return 0.0, dW, db
    if block_rows is None:
        block_rows = 262144 // max(1, n_features * dtype.itemsize)
    block_rows = min(max(1, n_samples), max(8, block_rows))
    parts = min(n_threads, n_samples)
    if n_features == 0:  # BLAS cannot take a zero leading dimension; p = softmax(b)
        X, W = np.zeros((n_samples, 1), dtype), np.zeros((1, k), dtype)
    direct = parts == 1 and n_features > 0  # the one part writes dW and db itself
    if direct:
        dW_parts, db_parts = dW.reshape(1, n_features, k), db.reshape(1, k)
    else:
        dW_parts = np.empty((parts, X.shape[1], k), dtype)
        db_parts = np.empty((parts, k), dtype)
    losses = np.empty(parts, np.float64)
    Z = np.empty((parts, block_rows, k), dtype)
    logistic_kernels.loss_grad_dense(
        X, y, weights, W, b, scale, dW_parts, db_parts, Z, losses, bool(with_bias)
    )
    if not direct:
        if n_features > 0:
            np.sum(dW_parts, axis=0, out=dW)
        np.sum(db_parts, axis=0, out=db)
    return float(losses.sum()), dW, db
