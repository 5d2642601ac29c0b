"""The dense layer's forward and backward: one GEMM each, through OpenBLAS; and
column_sums, the bias gradient of a layer whose weight gradient comes from elsewhere
(a sparse input's, :mod:`fastnn.ops.sparse`)."""

import numpy as np

from fastnn.ops._bind import bindable, run_kernel
from fastnn.ops._kernel_args import NO_GRAD, NO_WEIGHTS
from fastnn.ops._loader import blas_kernels
from fastnn.ops.checks import BLAS_MAX_DIM, check_float, output


def _check_dense(X, W):
    """Checks X @ W and returns its dimensions: (n_samples, n_features, units)."""
    check_float("X", X, ndim=2)
    check_float("W", W, ndim=2)
    if W.dtype != X.dtype:
        raise TypeError(f"W has dtype {W.dtype} but X has {X.dtype}; mixed dtypes are not allowed")
    if X.shape[1] != W.shape[0]:
        raise ValueError(
            f"X has {X.shape[1]} features but W expects {W.shape[0]} (W is {W.shape})"
        )
    if max(X.shape[0], X.shape[1], W.shape[1]) > BLAS_MAX_DIM:
        raise ValueError("dense dimensions must be below 2**31 (BLAS uses 32-bit ints)")
    return X.shape[0], X.shape[1], W.shape[1]


def _check_bias(b, units, dtype):
    check_float("b", b, ndim=1)
    if b.dtype != dtype:
        raise TypeError(f"b has dtype {b.dtype} but X has {dtype}")
    if b.shape[0] != units:
        raise ValueError(f"b has {b.shape[0]} entries but W has {units} units")


@bindable
def dense_forward(X, W, b=None, out=None):
    """Y = X @ W + b for X (n_samples, n_features), W (n_features, units), b (units,).

    One GEMM from OpenBLAS with the bias pre-broadcast into ``out``. ``out`` must
    not overlap ``X``, ``W`` or ``b``.
    """
    n_samples, n_features, units = _check_dense(X, W)
    if b is not None:
        _check_bias(b, units, X.dtype)
    out = output("out", out, (n_samples, units), X.dtype, {"X": X, "W": W, "b": b})
    if n_samples == 0 or units == 0:
        return out
    if n_features == 0:
        out[:] = 0 if b is None else b
        return out
    with_bias = b is not None
    run_kernel(blas_kernels.dense_forward, X, W, b if with_bias else NO_WEIGHTS[X.dtype], out, with_bias)
    return out


@bindable
def dense_backward(X, W, dY, with_bias=True, with_dX=True, dW=None, db=None, dX=None):
    """Gradients of Y = X @ W + b: returns ``(dW, db, dX)``.

    dW = X.T @ dY, db = dY.sum(axis=0) (None unless ``with_bias``), dX = dY @ W.T
    (None unless ``with_dX``: the first layer needs none). Outputs must not overlap
    the inputs.
    """
    n_samples, n_features, units = _check_dense(X, W)
    check_float("dY", dY, ndim=2)
    if dY.dtype != X.dtype:
        raise TypeError(f"dY has dtype {dY.dtype} but X has {X.dtype}")
    if dY.shape != (n_samples, units):
        raise ValueError(f"dY must have shape {(n_samples, units)}, got {dY.shape}")
    inputs = {"X": X, "W": W, "dY": dY}
    dW = output("dW", dW, W.shape, X.dtype, inputs)
    db = output("db", db, (units,), X.dtype, {**inputs, "dW": dW}) if with_bias else None
    dX = (
        output("dX", dX, X.shape, X.dtype, {**inputs, "dW": dW, "db": db})
        if with_dX
        else None
    )
    if n_samples == 0 or n_features == 0 or units == 0:
        dW[:] = 0
        if with_bias:
            with np.errstate(over="ignore"):  # inf, silently, as the kernel would give
                np.sum(dY, axis=0, out=db)
        if with_dX:
            dX[:] = 0
        return dW, db, dX
    run_kernel(
        blas_kernels.dense_backward,
        X, W, dY, dW,
        db if with_bias else NO_WEIGHTS[X.dtype],
        dX if with_dX else NO_GRAD[X.dtype],
        bool(with_bias), bool(with_dX),
    )
    return dW, db, dX


@bindable
def column_sums(dY, out=None):
    """db = dY.sum(axis=0) for dY (n_samples, units): the bias gradient of a layer.
    ``out`` (units,) must not overlap ``dY``."""
    check_float("dY", dY, ndim=2)
    out = output("out", out, (dY.shape[1],), dY.dtype, {"dY": dY})
    if dY.size == 0:
        out[:] = 0
        return out
    run_kernel(blas_kernels.column_sums, dY, out)
    return out
