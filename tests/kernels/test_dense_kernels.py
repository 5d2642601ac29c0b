"""The dense layer's forward and backward GEMMs against NumPy and finite differences."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import ops

# (n_samples, n_features, units), including the degenerate ones.
SHAPES = [
    (5, 4, 3), (1, 4, 3), (5, 1, 3), (5, 4, 1), (1, 1, 1), (8, 7, 6),
    (0, 4, 3), (5, 0, 3), (5, 4, 0), (0, 0, 0),
]


def _arrays(rng, shape, dtype):
    n_samples, n_features, units = shape
    X = rng.normal(size=(n_samples, n_features)).astype(dtype)
    W = rng.normal(size=(n_features, units)).astype(dtype)
    b = rng.normal(size=units).astype(dtype)
    dY = rng.normal(size=(n_samples, units)).astype(dtype)
    return X, W, b, dY


def _f64(*arrays):
    return [a.astype(np.float64) for a in arrays]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
def test_dense_forward_matches_numpy(shape, with_bias, rng, dtype, tol):
    X, W, b, _ = _arrays(rng, shape, dtype)
    X64, W64, b64 = _f64(X, W, b)
    expected = X64 @ W64 + (b64 if with_bias else 0)
    Y = ops.dense_forward(X, W, b if with_bias else None)
    assert Y.dtype == dtype and Y.shape == (shape[0], shape[2])
    assert_allclose(Y, expected.astype(dtype), **tol)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_dense_backward_matches_numpy(shape, rng, dtype, tol):
    X, W, _, dY = _arrays(rng, shape, dtype)
    X64, W64, dY64 = _f64(X, W, dY)
    dW, db, dX = ops.dense_backward(X, W, dY)
    assert dW.dtype == db.dtype == dX.dtype == dtype
    assert (dW.shape, db.shape, dX.shape) == (W.shape, (shape[2],), X.shape)
    assert_allclose(dW, (X64.T @ dY64).astype(dtype), **tol)
    assert_allclose(db, dY64.sum(axis=0).astype(dtype), **tol)
    assert_allclose(dX, (dY64 @ W64.T).astype(dtype), **tol)


def test_dense_backward_matches_finite_differences(rng, num_grad, fd_tol):
    X, W, b, dY = _arrays(rng, (4, 3, 2), np.float64)
    dW, db, dX = ops.dense_backward(X, W, dY)

    def objective(X, W, b):
        return np.sum(ops.dense_forward(X, W, b) * dY)

    assert_allclose(dX, num_grad(lambda X_: objective(X_, W, b), X), **fd_tol)
    assert_allclose(dW, num_grad(lambda W_: objective(X, W_, b), W), **fd_tol)
    assert_allclose(db, num_grad(lambda b_: objective(X, W, b_), b), **fd_tol)


def test_dense_backward_skips_dX_and_db_on_request(rng, dtype, tol):
    X, W, _, dY = _arrays(rng, (5, 4, 3), dtype)
    dW_full, db_full, _ = ops.dense_backward(X, W, dY)
    dW, db, dX = ops.dense_backward(X, W, dY, with_dX=False)
    assert dX is None
    assert_allclose(dW, dW_full, **tol)
    assert_allclose(db, db_full, **tol)
    dW, db, dX = ops.dense_backward(X, W, dY, with_bias=False)
    assert db is None
    assert_allclose(dW, dW_full, **tol)
    dY64, W64 = _f64(dY, W)
    assert_allclose(dX, (dY64 @ W64.T).astype(dtype), **tol)
    dW, db, dX = ops.dense_backward(X, W, dY, with_bias=False, with_dX=False)
    assert db is None and dX is None
    assert_allclose(dW, dW_full, **tol)


def test_dense_accepts_read_only_inputs(rng, dtype, tol):
    X, W, b, dY = _arrays(rng, (5, 4, 3), dtype)
    expected_Y = ops.dense_forward(X, W, b)
    expected_grads = ops.dense_backward(X, W, dY)
    for array in (X, W, b, dY):
        array.flags.writeable = False
    assert_allclose(ops.dense_forward(X, W, b), expected_Y, **tol)
    for got, expected in zip(ops.dense_backward(X, W, dY), expected_grads):
        assert_allclose(got, expected, **tol)


@pytest.mark.parametrize("shape", [(5, 4, 3), (5, 0, 3), (0, 4, 3)], ids=str)
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
def test_dense_forward_overwrites_preallocated_out(shape, with_bias, rng, dtype, tol):
    X, W, b, _ = _arrays(rng, shape, dtype)
    b = b if with_bias else None
    out = np.full((shape[0], shape[2]), np.nan, dtype)  # stale contents must not leak
    assert ops.dense_forward(X, W, b, out=out) is out
    assert_allclose(out, ops.dense_forward(X, W, b), **tol)


@pytest.mark.parametrize("shape", [(5, 4, 3), (5, 0, 3), (0, 4, 3)], ids=str)
def test_dense_backward_overwrites_preallocated_outputs(shape, rng, dtype, tol):
    X, W, _, dY = _arrays(rng, shape, dtype)
    dW_out = np.full(W.shape, np.nan, dtype)
    db_out = np.full(shape[2], np.nan, dtype)
    dX_out = np.full(X.shape, np.nan, dtype)
    dW, db, dX = ops.dense_backward(X, W, dY, dW=dW_out, db=db_out, dX=dX_out)
    assert dW is dW_out and db is db_out and dX is dX_out
    for got, expected in zip((dW, db, dX), ops.dense_backward(X, W, dY)):
        assert_allclose(got, expected, **tol)


def test_dense_forward_with_no_features_is_the_bias(dtype):
    b = np.array([1.5, -2.0], dtype)
    Y = ops.dense_forward(np.empty((3, 0), dtype), np.empty((0, 2), dtype), b)
    assert_array_equal(Y, np.tile(b, (3, 1)))


def test_dense_forward_known_values(dtype):
    X = np.array([[1.0, 2.0], [3.0, 4.0]], dtype)
    W = np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 2.0]], dtype)
    b = np.array([0.0, 10.0, -1.0], dtype)
    assert_array_equal(ops.dense_forward(X, W, b), [[2.0, 12.0, 2.0], [5.0, 14.0, 4.0]])
