"""The Newton solvers' kernels (fastnn.ops._newton) against their NumPy twins: one
pass's loss, gradient, Hessian and probabilities, and the Hessian-vector product;
central finite differences for the gradient, the Hessian and the product; the arguments the door
refuses.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from fastnn.ops import _newton as newton_ops

TOL = {np.float32: 2e-5, np.float64: 1e-12}


def pass_twin(X, y, W, b, s, scale, with_bias):
    """NumPy twin of logistic_newton_pass in float64: (loss, dW, db, H, P)."""
    X = (X.toarray() if sp.issparse(X) else X).astype(np.float64)
    W, b = W.astype(np.float64), b.astype(np.float64)
    n, k = X.shape[0], W.shape[1]
    s = np.ones(n) if s is None else s.astype(np.float64)
    Z = X @ W + (b if with_bias else 0.0)
    if k == 1:
        P = 1 / (1 + np.exp(-Z))
        t = (y == 1)[:, None]
        loss = (np.logaddexp(0, Z) - t * Z)[:, 0]
        G = P - t
    else:
        top = Z.max(axis=1, keepdims=True)
        lse = top + np.log(np.exp(Z - top).sum(axis=1, keepdims=True))
        P = np.exp(Z - lse)
        loss = lse[:, 0] - Z[np.arange(n), y]
        G = P.copy()
        G[np.arange(n), y] -= 1
    G *= (s * scale)[:, None]
    Xa = np.c_[X, np.ones(n)] if with_bias else X
    H = np.zeros((Xa.shape[1] * k,) * 2)
    for i in range(n):
        A = np.diag(P[i]) - np.outer(P[i], P[i]) if k > 1 else P[i] * (1 - P[i])
        H += s[i] * scale * np.kron(np.outer(Xa[i], Xa[i]), A)
    db = G.sum(axis=0) if with_bias else np.zeros(k)
    return s @ loss, X.T @ G, db, H, P


def make(n, d, k, dtype, layout, seed=0, density=0.5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if layout != "dense":
        X[rng.random((n, d)) > density] = 0
        X = sp.csr_matrix(X)
        index = np.int64 if layout == "csr64" else np.int32
        X.indices, X.indptr = X.indices.astype(index), X.indptr.astype(index)
    X = X.astype(dtype)
    y = rng.integers(0, max(k, 2), n).astype(np.intp)
    W = (0.4 * rng.normal(size=(d, k))).astype(dtype)
    b = rng.normal(size=k).astype(dtype)
    s = rng.random(n).astype(dtype)
    return X, y, W, b, s


def flat(W, b, with_bias):
    return np.r_[W.ravel(), b] if with_bias else W.ravel()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["dense", "csr32", "csr64"])
@pytest.mark.parametrize("k", [1, 4])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("weighted", [True, False])
def test_pass_and_hessp_match_twin(dtype, layout, k, with_bias, weighted):
    X, y, W, b, s = make(120, 6, k, dtype, layout)
    s = s if weighted else None
    tol = TOL[dtype]
    loss, dW, db, H, P = pass_twin(X, y, W, b, s, 0.01, with_bias)
    for n_threads in (1, 2):
        out = newton_ops.logistic_newton_pass(
            X, y, W, b, sample_weight=s, scale=0.01, with_bias=with_bias,
            keep_proba=True, block_rows=16, n_threads=n_threads,
        )
        for array in (out.dW, out.db, out.H, out.P):
            assert array.dtype == dtype
        np.testing.assert_allclose(out.loss, loss, rtol=tol)
        np.testing.assert_allclose(out.dW, dW, rtol=tol, atol=tol * np.abs(dW).max())
        np.testing.assert_allclose(out.db, db, rtol=tol, atol=tol * np.abs(dW).max())
        np.testing.assert_allclose(out.H, H, rtol=tol, atol=tol * np.abs(H).max())
        np.testing.assert_allclose(out.P, P, rtol=tol, atol=tol)
        V = np.linspace(-1, 1, W.size).reshape(W.shape).astype(dtype)
        vb = np.linspace(0.5, -0.5, k).astype(dtype)
        hv, hvb = newton_ops.logistic_hessp(
            X, out.P, V, vb, sample_weight=s, scale=0.01, with_bias=with_bias,
            block_rows=16, n_threads=n_threads,
        )
        expected = H @ flat(V, vb, with_bias)
        got = flat(hv, hvb, with_bias)
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * np.abs(H).max())
        if not with_bias:
            assert not hvb.any() and not out.db.any()


@pytest.mark.parametrize("want", ["loss", "gradient"])
def test_pass_computes_only_what_is_wanted(want):
    X, y, W, b, _ = make(50, 4, 3, np.float64, "dense")
    out = newton_ops.logistic_newton_pass(X, y, W, b, want=want)
    assert out.H is None and out.P is None
    assert (out.dW is None) == (want == "loss")
    np.testing.assert_allclose(out.loss, pass_twin(X, y, W, b, None, 1.0, True)[0])


@pytest.mark.parametrize("layout", ["dense", "csr32"])
@pytest.mark.parametrize("k", [1, 3])
def test_central_finite_differences(layout, k):
    """Gradient = d loss, Hessian = d gradient, hessp = d gradient along v (float64)."""
    X, y, W, b, s = make(40, 5, k, np.float64, layout, seed=1)
    scale, eps = 1 / 40, 1e-6
    theta = flat(W, b, True)

    def at(t, want="gradient"):
        Wt, bt = t[: W.size].reshape(W.shape).copy(), t[W.size:].copy()
        return newton_ops.logistic_newton_pass(
            X, y, Wt, bt, sample_weight=s, scale=scale, want=want, keep_proba=True
        )

    here = at(theta, "hessian")
    grad = flat(here.dW, here.db, True)
    numeric_grad = np.empty_like(theta)
    numeric_H = np.empty((theta.size,) * 2)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = eps
        plus, minus = at(theta + e), at(theta - e)
        numeric_grad[i] = scale * (plus.loss - minus.loss) / (2 * eps)
        numeric_H[:, i] = (
            flat(plus.dW, plus.db, True) - flat(minus.dW, minus.db, True)
        ) / (2 * eps)
    np.testing.assert_allclose(grad, numeric_grad, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(here.H, numeric_H, rtol=1e-5, atol=1e-8)
    v = np.linspace(-1, 1, theta.size)
    hv, hvb = newton_ops.logistic_hessp(
        X, here.P, v[: W.size].reshape(W.shape).copy(), v[W.size:].copy(),
        sample_weight=s, scale=scale,
    )
    plus, minus = at(theta + eps * v), at(theta - eps * v)
    numeric = flat(plus.dW, plus.db, True) - flat(minus.dW, minus.db, True)
    numeric /= 2 * eps
    np.testing.assert_allclose(flat(hv, hvb, True), numeric, rtol=1e-5, atol=1e-8)


def test_csr_unsorted_and_duplicate_entries_match_dense():
    X, y, W, b, _ = make(30, 5, 3, np.float64, "dense", seed=2)
    data, indices, indptr = [], [], [0]
    for row in X:
        columns = np.flatnonzero(row)[::-1]  # unsorted
        # every value stored twice, split 1:3
        indices += list(columns) + list(columns)
        data += list(0.25 * row[columns]) + list(0.75 * row[columns])
        indptr.append(len(data))
    Xs = sp.csr_matrix((np.array(data), np.array(indices), np.array(indptr)), X.shape)
    dense = newton_ops.logistic_newton_pass(X, y, W, b, keep_proba=True)
    sparse = newton_ops.logistic_newton_pass(Xs, y, W, b, keep_proba=True)
    assert Xs.nnz == 2 * np.count_nonzero(X)
    np.testing.assert_allclose(sparse.loss, dense.loss, rtol=1e-12)
    for a, c in zip(dense[1:], sparse[1:]):
        np.testing.assert_allclose(c, a, rtol=1e-12, atol=1e-12)


def test_no_samples_and_no_stored_values():
    X, y, W, b, _ = make(10, 3, 1, np.float64, "dense")
    out = newton_ops.logistic_newton_pass(X[:0], y[:0], W, b, keep_proba=True)
    assert out.loss == 0 and not out.dW.any() and not out.H.any()
    empty = sp.csr_matrix((10, 3))
    out = newton_ops.logistic_newton_pass(empty, y, W, b)
    np.testing.assert_allclose(out.loss, pass_twin(empty, y, W, b, None, 1, True)[0])


def _bad_csr(kind):
    X = sp.csr_matrix(np.eye(4))
    if kind == "column":
        X.indices[1] = 7
    elif kind == "indptr":
        X.indptr[2] = 9
    elif kind == "negative":
        X.indices[0] = -1
    elif kind == "csc":
        X = X.tocsc()
    elif kind == "int16":
        X.indices = X.indices.astype(np.int16)
    return X


@pytest.mark.parametrize("kind", ["column", "indptr", "negative", "csc", "int16"])
def test_refuses_bad_csr(kind):
    y = np.array([0, 1, 0, 1])
    with pytest.raises((ValueError, TypeError), match="CSR|X.indices"):
        newton_ops.logistic_newton_pass(
            _bad_csr(kind), y, np.zeros((4, 1)), np.zeros(1)
        )


def test_refuses_bad_arguments():
    X, y, W, b, s = make(20, 3, 1, np.float64, "dense")
    call = newton_ops.logistic_newton_pass
    with pytest.raises(TypeError, match="X"):
        call(X.astype(np.int64), y, W, b)
    with pytest.raises(TypeError, match="W has dtype"):
        call(X, y, W.astype(np.float32), b)
    with pytest.raises(ValueError, match="contiguous"):
        call(np.asfortranarray(X), y, W, b)
    with pytest.raises(ValueError, match="W must have shape"):
        call(X, y, np.zeros((4, 1)), b)
    with pytest.raises(ValueError, match="k >= 3"):
        call(X, y, np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="b must have shape"):
        call(X, y, W, np.zeros(2))
    with pytest.raises(ValueError, match="y must hold"):
        call(X, y + 5, W, b)
    with pytest.raises(TypeError, match="y must have dtype"):
        call(X, y.astype(np.int32), W, b)
    with pytest.raises(ValueError, match="sample_weight"):
        call(X, y, W, b, sample_weight=s[:5])
    with pytest.raises(ValueError, match="want"):
        call(X, y, W, b, want="everything")
    P = np.full((20, 1), 0.5)
    with pytest.raises(ValueError, match="P must have shape"):
        newton_ops.logistic_hessp(X, P[:5], W, b)
    with pytest.raises(TypeError, match="P has dtype"):
        newton_ops.logistic_hessp(X, P.astype(np.float32), W, b)
    with pytest.raises(ValueError, match="overlap"):
        newton_ops.logistic_hessp(X, P, W, b, out=W)
