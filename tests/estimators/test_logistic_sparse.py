"""LogisticRegression on CSR input, every solver: the same fit as on the same data
dense (to float tolerance), float32 kept float32, int32 and int64 indices, a text-like
matrix (unsorted rows, duplicate entries, explicit zeros, empty rows and columns), the
user's matrix never written, and malformed matrices refused before any kernel."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize._linesearch import LineSearchWarning
from sklearn.exceptions import ConvergenceWarning

from fastnn import LogisticRegression
from fastnn.estimators._logistic_objective import Objective
from fastnn.estimators._logistic_problem import LogisticProblem

SOLVERS = ["lbfgs", "newton-cg", "newton-cholesky", "sag", "saga", "sgd", "liblinear"]


def text_like(n_classes, dtype, index, seed=0):
    """A CSR matrix shaped like a small bag of words (80 x 40, ~10 % dense; rows 0 and
    7 and columns 3 and 39 empty) stored untidily: each row's entries reversed, one
    entry split into two duplicates, explicit zeros; and labels a linear model gives."""
    rng = np.random.default_rng(seed)
    dense = rng.random((80, 40)) * (rng.random((80, 40)) < 0.1) * 3
    dense[[0, 7]] = 0
    dense[:, [3, 39]] = 0
    coo = sp.coo_matrix(dense)
    rows, cols, vals = coo.row.tolist(), coo.col.tolist(), coo.data.tolist()
    half = vals[5] / 2  # a duplicate pair summing to the value
    vals[5] = half
    rows, cols, vals = rows + [rows[5]], cols + [cols[5]], vals + [half]
    rows, cols, vals = rows + [1, 2], cols + [3, 10], vals + [0.0, 0.0]  # zeros
    order = np.lexsort((-np.arange(len(rows)), rows))  # row-major, reversed in rows
    rows, cols, vals = (np.asarray(a)[order] for a in (rows, cols, vals))
    indptr = np.searchsorted(rows, np.arange(81)).astype(index)
    X = sp.csr_matrix((80, 40), dtype=dtype)
    X.data, X.indices, X.indptr = vals.astype(dtype), cols.astype(index), indptr
    assert not X.has_sorted_indices
    truth = rng.normal(0, 2, (40, n_classes))
    y = np.argmax(dense @ truth + rng.gumbel(size=(80, n_classes)), axis=1)
    return X, X.toarray(), y


def _fit(solver, X, y, **params):
    params = {"solver": solver, "random_state": 0, "tol": 1e-10, "max_iter": 3000,
              **params}
    if solver == "sgd":
        params.update(max_iter=30, tol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", LineSearchWarning)  # float32 at tol=1e-10
        return LogisticRegression(**params).fit(X, y)


def _assert_same_fit(on_csr, on_dense, X, dense, tol):
    np.testing.assert_allclose(on_csr.coef_, on_dense.coef_, **tol)
    np.testing.assert_allclose(on_csr.intercept_, on_dense.intercept_, **tol)
    np.testing.assert_allclose(on_csr.predict_proba(X), on_dense.predict_proba(dense),
                               **tol)


@pytest.mark.parametrize("index", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("solver", SOLVERS)
def test_csr_fits_equal_dense_fits(solver, n_classes, dtype, index):
    if solver == "liblinear" and n_classes > 2:
        pytest.skip("liblinear: two classes")
    X, dense, y = text_like(n_classes, dtype, index)
    saved = [a.copy() for a in (X.data, X.indices, X.indptr)]
    # NOTE: sag and saga take a sparse X's intercept steps at 1/100 (scikit-learn's
    # make_dataset), so with an intercept their paths differ (see below).
    params = dict(fit_intercept=False) if solver in ("sag", "saga") else {}
    on_csr, on_dense = _fit(solver, X, y, **params), _fit(solver, dense, y, **params)
    for a, b in zip((X.data, X.indices, X.indptr), saved):
        np.testing.assert_array_equal(a, b)  # the user's matrix is untouched
    assert on_csr.coef_.dtype == dtype
    # NOTE: float32 sums in another order round differently; the iterations carry
    # that rounding along (Newton-CG's inner CG and SAG's steps most).
    tol = dict(rtol=1e-2, atol=2e-3) if dtype == np.float32 else dict(
        rtol=1e-7, atol=1e-8)
    _assert_same_fit(on_csr, on_dense, X, dense, tol)


@pytest.mark.parametrize("solver", ["sag", "saga"])
def test_sag_with_an_intercept_reaches_the_dense_minimiser(solver):
    X, dense, y = text_like(2, np.float64, np.int32)
    on_csr = _fit(solver, X, y, max_iter=20000, tol=1e-7)
    on_dense = _fit(solver, dense, y, max_iter=20000, tol=1e-7)
    assert on_csr.n_iter_[0] < 20000
    _assert_same_fit(on_csr, on_dense, X, dense, dict(rtol=1e-3, atol=1e-3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_classes", [2, 4])
def test_the_csr_objective_equals_the_dense_one(n_classes, dtype):
    """One evaluation of L-BFGS's objective, CSR against dense, with sample weights and
    without an intercept too."""
    X, dense, y = text_like(n_classes, dtype, np.int32, seed=3)
    k = 1 if n_classes == 2 else n_classes
    weights = np.random.default_rng(1).random(80).astype(dtype)
    for fit_intercept in (True, False):
        values = []
        for data in (X, dense):
            problem = LogisticProblem(data, y, weights, float(weights.sum()), k,
                                      fit_intercept=fit_intercept, C=2.0)
            objective = Objective(problem)
            x = np.linspace(-1, 1, objective.params.size)
            values.append(objective(x))
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(values[0][0], values[1][0], rtol=tol)
        np.testing.assert_allclose(values[0][1], values[1][1], rtol=tol, atol=tol)


def test_malformed_csr_is_refused_by_every_solver():
    X, _, y = text_like(2, np.float64, np.int32)
    bad = X.copy()
    bad.indices = bad.indices.copy()
    bad.indices[4] = 40  # past n_features
    for solver in SOLVERS:
        with pytest.raises(ValueError):
            LogisticRegression(solver=solver).fit(bad, y)
    nan = X.copy()
    nan.data[2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LogisticRegression().fit(nan, y)
