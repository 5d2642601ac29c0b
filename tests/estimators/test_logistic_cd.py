"""fit_cd (proximal Newton coordinate descent for L1 and elastic-net logistic
regression) against scikit-learn's saga at tight tol and against the optimality
conditions checked directly: dense and CSR (int32/int64 indices, unsorted, explicit
zeros, empty rows and columns), sample weights, no intercept, softmax, float32."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from fastnn.estimators._logistic_cd import fit_cd
from fastnn.estimators._logistic_problem import LogisticProblem


def _data(rng, n=120, d=12, k=1, dtype=np.float64):
    X = rng.normal(size=(n, d))
    X[np.abs(X) < 0.7] = 0
    X[:, 3] = 0  # an empty column
    X[7] = 0  # an empty row
    w = np.zeros((d, max(k, 1)))
    w[:4] = rng.normal(size=(4, max(k, 1))) * 2
    Z = X @ w + 0.5 * rng.normal(size=(n, max(k, 1)))
    y = (Z[:, 0] > 0).astype(np.intp) if k == 1 else Z.argmax(axis=1).astype(np.intp)
    return X.astype(dtype), y


def _csr(X, index_dtype=np.int32):
    """An awkward CSR: unsorted indices, an explicit zero, the given index dtype."""
    coo = sp.coo_matrix(X)
    csr = sp.csr_matrix((  # an explicit zero, in the empty column
        np.append(coo.data, 0.0).astype(X.dtype), (np.append(coo.row, 0),
                                                   np.append(coo.col, 3))
    ), shape=X.shape)
    assert csr.nnz == coo.nnz + 1
    for i in range(X.shape[0]):
        start, stop = csr.indptr[i], csr.indptr[i + 1]
        csr.indices[start:stop] = csr.indices[start:stop][::-1].copy()
        csr.data[start:stop] = csr.data[start:stop][::-1].copy()
    csr.indices = csr.indices.astype(index_dtype)
    csr.indptr = csr.indptr.astype(index_dtype)
    return csr


def _problem(X, y, k=1, weights=None, **kwargs):
    weight_sum = X.shape[0] if weights is None else float(weights.sum())
    kwargs = {"C": 0.5, "l1_ratio": 1.0, "tol": 1e-10, "max_iter": 500, **kwargs}
    return LogisticProblem(X, y, weights, weight_sum, k, **kwargs)


def _fit(problem):
    k = problem.n_outputs
    W = np.zeros((problem.n_features, k), problem.dtype)
    b = np.zeros(k, problem.dtype)
    n_iter = fit_cd(problem, W, b)
    return W, b, n_iter


def _check_optimality(problem, W, b, atol):
    """The subgradient conditions of f at (W, b), in float64 NumPy."""
    X = problem.X.toarray() if sp.issparse(problem.X) else problem.X
    X = X.astype(np.float64)
    W, b = W.astype(np.float64), b.astype(np.float64)
    k = problem.n_outputs
    Z = X @ W + (b if problem.fit_intercept else 0.0)
    if k == 1:
        G = 1 / (1 + np.exp(-Z)) - (problem.y_index == 1)[:, None]
    else:
        G = np.exp(Z - Z.max(axis=1, keepdims=True))
        G /= G.sum(axis=1, keepdims=True)
        G[np.arange(len(G)), problem.y_index] -= 1
    s = np.ones(len(X)) if problem.weights is None else problem.weights
    G *= (s / problem.weight_sum)[:, None]
    grad = X.T @ G + problem.l2 * W
    nonzero = W != 0
    np.testing.assert_allclose(grad[nonzero], -problem.l1 * np.sign(W[nonzero]),
                               atol=atol)
    assert np.all(np.abs(grad[~nonzero]) <= problem.l1 + atol)
    if problem.fit_intercept:
        np.testing.assert_allclose(G.sum(axis=0), 0.0, atol=atol)


def _saga_objective(problem, X, y, sample_weight=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        saga = LogisticRegression(
            solver="saga", C=problem.C, l1_ratio=problem.l1_ratio, tol=1e-12,
            max_iter=20000, fit_intercept=problem.fit_intercept,
        ).fit(X, y, sample_weight=sample_weight)
    return problem.objective(saga.coef_.T, saga.intercept_)


LAYOUTS = ["dense", "csr32", "csr64"]


def _layout(X, layout):
    if layout == "dense":
        return X
    return _csr(X, np.int32 if layout == "csr32" else np.int64)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("l1_ratio", [1.0, 0.4])
def test_binary_reaches_the_minimiser(layout, l1_ratio, rng):
    X, y = _data(rng)
    Xin = _layout(X, layout)
    names = ("data", "indices", "indptr")
    sparse = sp.issparse(Xin)
    snapshot = [getattr(Xin, a).copy() for a in names] if sparse else Xin.copy()
    problem = _problem(Xin, y, l1_ratio=l1_ratio)
    W, b, n_iter = _fit(problem)
    assert 0 < n_iter < problem.max_iter
    _check_optimality(problem, W, b, atol=1e-9)
    f = problem.objective(W, b)
    f_saga = _saga_objective(problem, X, y)
    assert f <= f_saga * (1 + 1e-12)
    assert (f_saga - f) / f_saga < 1e-6
    assert 0 < np.count_nonzero(W) < W.size  # L1 zeroed some
    # the user's X is untouched
    if sp.issparse(Xin):
        for name, before in zip(names, snapshot):
            np.testing.assert_array_equal(getattr(Xin, name), before)
            assert getattr(Xin, name).dtype == before.dtype
    else:
        np.testing.assert_array_equal(Xin, snapshot)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sample_weights_and_intercept(fit_intercept, rng):
    X, y = _data(rng)
    weights = rng.uniform(0.0, 3.0, len(y))
    weights[:5] = 0.0
    problem = _problem(_csr(X), y, weights=weights, fit_intercept=fit_intercept,
                       C=2.0, l1_ratio=0.7)
    W, b, _ = _fit(problem)
    _check_optimality(problem, W, b, atol=1e-9)
    if not fit_intercept:
        assert not b.any()
    f_saga = _saga_objective(problem, X, y, sample_weight=weights)
    assert (problem.objective(W, b) - f_saga) / f_saga < 1e-6
    # an integer weight is the same as repeating the row
    counts = rng.integers(0, 3, len(y))
    repeated = _problem(np.repeat(X, counts, axis=0), np.repeat(y, counts),
                        fit_intercept=fit_intercept, C=2.0, l1_ratio=0.7)
    weighted = _problem(X, y, weights=counts.astype(np.float64),
                        fit_intercept=fit_intercept, C=2.0, l1_ratio=0.7)
    W1, b1, _ = _fit(repeated)
    W2, b2, _ = _fit(weighted)
    np.testing.assert_allclose(W1, W2, atol=1e-7)
    np.testing.assert_allclose(b1, b2, atol=1e-7)


@pytest.mark.parametrize("layout", ["dense", "csr64"])
def test_softmax_reaches_the_minimiser(layout, rng):
    X, y = _data(rng, n=150, d=10, k=3)
    problem = _problem(_layout(X, layout), y, k=3, C=1.0, l1_ratio=0.8)
    W, b, n_iter = _fit(problem)
    assert 0 < n_iter < problem.max_iter
    _check_optimality(problem, W, b, atol=1e-9)
    f_saga = _saga_objective(problem, X, y)
    assert (problem.objective(W, b) - f_saga) / f_saga < 1e-6


@pytest.mark.parametrize("k", [1, 3])
def test_float32_stays_float32(k, rng):
    X, y = _data(rng, k=k, dtype=np.float32)
    problem = _problem(_csr(X), y, k=k, tol=1e-8)
    W, b, _ = _fit(problem)
    assert W.dtype == np.float32 and b.dtype == np.float32
    reference = _problem(X.astype(np.float64), y, k=k)
    W64, b64, _ = _fit(reference)
    np.testing.assert_allclose(problem.objective(W, b), reference.objective(W64, b64),
                               rtol=1e-6)


def test_default_tol_is_close_and_warm_start_stays(rng):
    X, y = _data(rng)
    loose = _problem(X, y, tol=1e-4)
    W, b, n_iter = _fit(loose)
    tight = _problem(X, y)
    W_t, b_t, n_tight = _fit(tight)
    f, f_t = loose.objective(W, b), tight.objective(W_t, b_t)
    assert f_t <= f < f_t * (1 + 1e-3)
    assert 0 < n_iter < n_tight
    # from the minimiser, nothing is left to do
    assert fit_cd(tight, W_t, b_t) == 0


def test_max_iter_warns_in_sklearn_words(rng):
    X, y = _data(rng)
    problem = _problem(X, y, max_iter=1)
    with pytest.warns(ConvergenceWarning, match=r"(?s)failed to converge after 1 "
                      r"iteration\(s\).*Increase the number of iterations.*max_iter=1"):
        W, b, n_iter = _fit(problem)
    assert n_iter == 1
    assert problem.objective(W, b) < problem.objective(0 * W, 0 * b)
    problem = _problem(X, y, max_iter=0)
    W, b, n_iter = _fit(problem)
    assert n_iter == 0 and not W.any() and not b.any()


def test_strong_penalty_gives_zero_coefficients(rng):
    X, y = _data(rng)
    problem = _problem(X, y, C=1e-4)
    W0 = np.full((X.shape[1], 1), 0.3)
    b0 = np.zeros(1)
    fit_cd(problem, W0, b0)  # from a warm start away from the minimiser
    assert not W0.any()
    _check_optimality(problem, W0, b0, atol=1e-9)
    y_balanced = np.arange(len(y)) % 2
    problem = _problem(X, y_balanced, C=1e-4, fit_intercept=False)
    W, _, n_iter = _fit(problem)
    assert n_iter == 0 and not W.any()  # zero is the minimiser: no iteration


def test_on_iteration_can_stop(rng):
    X, y = _data(rng)
    seen = []

    def on_iteration(W, b, loss):
        assert loss is None
        seen.append(W.copy())
        return len(seen) == 2

    problem = _problem(X, y, on_iteration=on_iteration)
    W, _, n_iter = _fit(problem)
    assert n_iter == 2 and len(seen) == 2
    np.testing.assert_array_equal(W, seen[-1])  # it saw the caller's arrays
