"""The logistic-regression kernels against their NumPy twins: logistic_ops.logistic_sgd_epoch
(one SGD epoch, dense and CSR, with L2 decay) and logistic_ops.logistic_loss_grad (the fused
loss and gradient), and the arguments they refuse.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from fastnn.ops import _logistic as logistic_ops

# ------------------------------------------------------------------- the SGD epoch


def sgd_epoch_twin(X, y, W, b, order, lr, l2, batch_size, s, scale, with_bias):
    """NumPy twin of logistic_ops.logistic_sgd_epoch, in float64."""
    X = X.toarray() if sp.issparse(X) else X
    W, b = W.astype(np.float64), b.astype(np.float64)
    k = W.shape[1]
    s = np.ones(len(y)) if s is None else s.astype(np.float64)
    total = 0.0
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        Z = X[rows].astype(np.float64) @ W + (b if with_bias else 0)
        if k == 1:
            t = (y[rows] == 1).astype(float)[:, None]
            loss = (np.logaddexp(0, Z) - t * Z)[:, 0]
            G = 1 / (1 + np.exp(-Z)) - t
        else:
            m = Z.max(axis=1, keepdims=True)
            lse = np.log(np.exp(Z - m).sum(axis=1, keepdims=True)) + m
            loss = (lse[:, 0] - Z[np.arange(len(rows)), y[rows]])
            G = np.exp(Z - lse)
            G[np.arange(len(rows)), y[rows]] -= 1
        total += float(s[rows] @ loss)
        G *= (s[rows] * scale)[:, None]
        grad_W = X[rows].T @ G / len(rows)
        W = W - lr * (grad_W + l2 * W)
        if with_bias:
            b = b - lr * G.mean(axis=0)
    return total, W, b


@pytest.mark.parametrize("k", [1, 4])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_sgd_epoch_against_numpy(k, sparse, weighted, dtype, rng):
    n, d = 37, 6
    X = rng.normal(size=(n, d)).astype(dtype)
    X[np.abs(X) < 0.6] = 0
    y = rng.integers(0, max(k, 2), n).astype(np.intp)
    W0 = (0.3 * rng.normal(size=(d, k))).astype(dtype)
    b0 = (0.1 * rng.normal(size=k)).astype(dtype)
    order = np.concatenate([rng.permutation(n), [3, 3]]).astype(np.intp)  # repeats allowed
    s = rng.uniform(0.2, 3.0, n).astype(dtype) if weighted else None
    W, b = W0.copy(), b0.copy()
    Xin = sp.csr_matrix(X) if sparse else X
    loss = logistic_ops.logistic_sgd_epoch(
        Xin, y, W, b, order, learning_rate=0.5, l2=0.05, batch_size=8,
        sample_weight=s, weight_scale=1.3,
    )
    want_loss, want_W, want_b = sgd_epoch_twin(
        X, y, W0, b0, order, 0.5, 0.05, 8, s, 1.3, True
    )
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(loss, want_loss, **tol)
    np.testing.assert_allclose(W, want_W, **tol)
    np.testing.assert_allclose(b, want_b, **tol)
    # without the bias, b is left alone
    b2 = b0.copy()
    logistic_ops.logistic_sgd_epoch(Xin, y, W0.copy(), b2, order, 0.5, with_bias=False)
    np.testing.assert_array_equal(b2, b0)


def test_sgd_epoch_refuses_bad_arguments(rng):
    X = rng.normal(size=(5, 3))
    W, b, order = np.zeros((3, 2)), np.zeros(2), np.arange(5)
    y = np.array([0, 1, 1, 0, 1])
    call = logistic_ops.logistic_sgd_epoch
    with pytest.raises(ValueError, match="y must hold values"):
        call(X, np.array([0, 1, 2, 0, 1]), W, b, order, 0.1)
    with pytest.raises(ValueError, match="order must hold values"):
        call(X, y, W, b, np.array([0, 5]), 0.1)
    with pytest.raises(TypeError, match="order must have dtype intp"):
        call(X, y, W, b, order.astype(np.int32), 0.1)
    with pytest.raises(TypeError, match="W has dtype"):
        call(X, y, W.astype(np.float32), b, order, 0.1)
    with pytest.raises(ValueError, match="W must have shape"):
        call(X, y, np.zeros((4, 2)), b, order, 0.1)
    with pytest.raises(ValueError, match="b must have shape"):
        call(X, y, W, np.zeros(3), order, 0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        call(X, y, W, b, order, -1.0)
    with pytest.raises(ValueError, match="C-contiguous"):
        call(np.asfortranarray(X), y, W, b, order, 0.1)
    bad = sp.csr_matrix(X)
    bad.indices = bad.indices.copy()
    bad.indices[0] = 7
    with pytest.raises(ValueError, match="column index"):
        call(bad, y, W, b, order, 0.1)
    with pytest.raises(ValueError, match="CSR"):
        call(sp.csc_matrix(X), y, W, b, order, 0.1)
    assert call(X, y, W, b, order[:0], 0.1) == 0.0


# ------------------------------------------------------- the fused loss and gradient


def loss_grad_twin(X, y, W, b, s, scale, with_bias):
    """NumPy twin of logistic_ops.logistic_loss_grad, in float64."""
    X, W, b = X.astype(np.float64), W.astype(np.float64), b.astype(np.float64)
    n, k = len(y), W.shape[1]
    s = np.ones(n) if s is None else s.astype(np.float64)
    Z = X @ W + (b if with_bias else 0)
    if k == 1:
        t = (y == 1).astype(float)[:, None]
        loss = (np.logaddexp(0, Z) - t * Z)[:, 0]
        G = 1 / (1 + np.exp(-Z)) - t
    else:
        lse = np.logaddexp.reduce(Z, axis=1, keepdims=True)
        loss = lse[:, 0] - Z[np.arange(n), y]
        G = np.exp(Z - lse)
        G[np.arange(n), y] -= 1
    G *= s[:, None]
    db = scale * G.sum(axis=0) if with_bias else np.zeros(k)
    return float(s @ loss), scale * X.T @ G, db


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("block_rows", [None, 8, 1000])
@pytest.mark.parametrize("n_threads", [1, 3])
def test_loss_grad_against_numpy(k, weighted, with_bias, block_rows, n_threads, dtype, rng):
    n, d = 53, 7  # 53 rows: the last block of 8 is partial
    X = rng.normal(size=(n, d)).astype(dtype)
    y = rng.integers(0, max(k, 2), n).astype(np.intp)
    W = rng.normal(size=(d, k)).astype(dtype)
    b = rng.normal(size=k).astype(dtype)
    s = rng.uniform(0.1, 2.0, n).astype(dtype) if weighted else None
    loss, dW, db = logistic_ops.logistic_loss_grad(
        X, y, W, b, sample_weight=s, scale=0.25, with_bias=with_bias,
        block_rows=block_rows, n_threads=n_threads,
    )
    want = loss_grad_twin(X, y, W, b, s, 0.25, with_bias)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, want[0], **tol)
    np.testing.assert_allclose(dW, want[1], **tol)
    np.testing.assert_allclose(db, want[2], **tol)
    assert dW.dtype == db.dtype == dtype


def test_loss_grad_extreme_logits_stay_finite():
    X = np.array([[1e4], [-1e4], [0.0]])
    y = np.array([0, 0, 1], dtype=np.intp)
    # logits 1e4, -1e4, 0 (sigmoid) and [1e4, -1e4, 0], [-1e4, 1e4, 0], [0, 0, 0]
    cases = ((np.ones((1, 1)), 1e4 + np.log(2)), (np.array([[1.0, -1.0, 0.0]]), 2e4 + np.log(3)))
    for W, want in cases:
        loss, dW, db = logistic_ops.logistic_loss_grad(X, y, W, np.zeros(W.shape[1]))
        assert np.isfinite(loss) and np.all(np.isfinite(dW)) and np.all(np.isfinite(db))
        assert loss == pytest.approx(want, rel=1e-12)


def test_loss_grad_refuses_bad_arguments(rng):
    X = rng.normal(size=(5, 3))
    W, b, y = np.zeros((3, 2)), np.zeros(2), np.array([0, 1, 1, 0, 1])
    call = logistic_ops.logistic_loss_grad
    with pytest.raises(ValueError, match="y must hold values"):
        call(X, np.array([0, 1, 2, 0, 1]), W, b)
    with pytest.raises(ValueError, match="y must have 5 entries"):
        call(X, y[:4], W, b)
    with pytest.raises(TypeError, match="b has dtype"):
        call(X, y, W, b.astype(np.float32))
    with pytest.raises(ValueError, match="W must have shape"):
        call(X, y, np.zeros((2, 2)), b)
    with pytest.raises(ValueError, match="dW overlaps"):
        call(X, y, W, b, dW=W)
    with pytest.raises(ValueError, match="sample_weight"):
        call(X, y, W, b, sample_weight=np.ones(4))
    with pytest.raises(ValueError, match="C-contiguous"):
        call(np.asfortranarray(X), y, W, b)
    loss, dW, db = call(X[:0], y[:0], W, b)
    assert loss == 0.0 and not dW.any() and not db.any()
    b = np.array([0.5, -0.5])
    loss, dW, db = call(np.zeros((5, 0)), y, np.zeros((0, 2)), b)  # logits = b
    want = loss_grad_twin(np.zeros((5, 0)), y, np.zeros((0, 2)), b, None, 1.0, True)
    assert dW.shape == (0, 2)
    np.testing.assert_allclose(loss, want[0], rtol=1e-12)
    np.testing.assert_allclose(db, want[2], rtol=1e-12)


@pytest.mark.parametrize("l2", [0.9, 1.5], ids=["rescaled", "overshoot"])
def test_sgd_epoch_strong_decay_against_numpy(l2, dtype, rng):
    # lr * l2 = 0.9 shrinks the weights' scale below 1e-6 within the epoch (so the
    # kernel folds it into W); 1.5 overshoots zero (decay < 0, applied to W directly).
    n, d, k = 20, 4, 3
    X = rng.normal(size=(n, d)).astype(dtype)
    y = rng.integers(0, k, n).astype(np.intp)
    W0, b0 = rng.normal(size=(d, k)).astype(dtype), rng.normal(size=k).astype(dtype)
    order = np.tile(rng.permutation(n), 8).astype(np.intp)  # 40 batches of 4
    W, b = W0.copy(), b0.copy()
    loss = logistic_ops.logistic_sgd_epoch(X, y, W, b, order, 1.0, l2=l2, batch_size=4)
    want_loss, want_W, want_b = sgd_epoch_twin(X, y, W0, b0, order, 1.0, l2, 4, None, 1.0, True)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(loss, want_loss, **tol)
    np.testing.assert_allclose(W, want_W, **tol)
    np.testing.assert_allclose(b, want_b, **tol)
