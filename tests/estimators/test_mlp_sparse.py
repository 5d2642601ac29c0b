"""MLPClassifier and OneVsAllClassifier on sparse X: CSR kept as it is (other formats
converted once), never densified, the results of the same data dense to float
tolerance for every solver; malformed sparse input is a ValueError."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from fastnn import LogisticRegression, MLPClassifier, OneVsAllClassifier

CLOSE = {np.float32: {"rtol": 1e-4, "atol": 1e-5},
         np.float64: {"rtol": 1e-9, "atol": 1e-11}}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _data(dtype, n=240, d=40, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.1, format="csr", dtype=dtype, random_state=rng)
    return X, rng.integers(0, n_classes, n)


def _assert_same_fit(a, b, X, dtype):
    assert_allclose(a.loss_, b.loss_, **CLOSE[dtype])
    for coef_a, coef_b in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert coef_a.dtype == dtype
        assert_allclose(coef_a, coef_b, **CLOSE[dtype])
    assert_allclose(a.predict_proba(X), b.predict_proba(X.toarray()), **CLOSE[dtype])
    assert_array_equal(a.predict(X), b.predict(X.toarray()))


@pytest.mark.parametrize("params", [
    dict(solver="adam"), dict(solver="sgd", learning_rate="invscaling"),
    dict(solver="lbfgs"), dict(solver="adam", early_stopping=True),
    dict(solver="sgd", batch_size=50, alpha=0.01),
], ids=["adam", "sgd", "lbfgs", "early-stopping", "sgd-alpha"])
@pytest.mark.parametrize("n_classes", [2, 4])
def test_mlp_on_csr_equals_dense(params, n_classes, dtype):
    X, y = _data(dtype, n_classes=n_classes)
    sparse = MLPClassifier((16,), max_iter=8, random_state=0, **params).fit(X, y)
    dense = MLPClassifier((16,), max_iter=8, random_state=0, **params).fit(
        X.toarray(), y)
    _assert_same_fit(sparse, dense, X, dtype)
    if params.get("early_stopping"):
        assert_allclose(sparse.validation_scores_, dense.validation_scores_)


def test_mlp_partial_fit_and_sample_weight_on_csr_equal_dense(dtype):
    X, y = _data(dtype)
    weights = np.linspace(0.1, 2.0, X.shape[0])
    sparse = MLPClassifier((8,), random_state=0)
    dense = MLPClassifier((8,), random_state=0)
    for _ in range(3):
        sparse.partial_fit(X, y, classes=[0, 1, 2], sample_weight=weights)
        dense.partial_fit(X.toarray(), y, classes=[0, 1, 2], sample_weight=weights)
    _assert_same_fit(sparse, dense, X, dtype)


def test_mlp_multilabel_on_csr_equals_dense():
    X, _ = _data(np.float64)
    Y = (np.random.default_rng(3).random((X.shape[0], 3)) > 0.5).astype(int)
    sparse = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, Y)
    dense = MLPClassifier((8,), max_iter=5, random_state=0).fit(X.toarray(), Y)
    _assert_same_fit(sparse, dense, X, np.float64)


@pytest.mark.parametrize("convert", [lambda X: X.tocsc(), lambda X: X.tocoo()],
                         ids=["csc", "coo"])
def test_mlp_takes_other_sparse_formats(convert):
    X, y = _data(np.float32)
    a = MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    b = MLPClassifier((8,), max_iter=3, random_state=0).fit(convert(X), y)
    assert_allclose(a.predict_proba(X), b.predict_proba(convert(X)), rtol=1e-6)


def test_nothing_is_densified(monkeypatch):
    X, y = _data(np.float32)

    def refuse(*args, **kwargs):
        raise AssertionError("a sparse matrix was densified")

    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        for name in ("toarray", "todense"):
            monkeypatch.setattr(cls, name, refuse)
    for solver in ("adam", "lbfgs"):
        clf = MLPClassifier((8,), max_iter=3, solver=solver, random_state=0,
                            early_stopping=solver == "adam").fit(X, y)
        clf.predict_proba(X)
        clf.predict(X[:1])
    OneVsAllClassifier().fit(X, y).predict_proba(X)
    OneVsAllClassifier(MLPClassifier((4,), max_iter=2, random_state=0)).fit(
        X.tocsc(), y).predict(X)


def test_a_huge_sparse_x_fits_and_predicts():
    # dense, X would take 200000 * 2000000 * 4 bytes = 1.6 TB
    n, d = 200_000, 2_000_000
    rng = np.random.default_rng(0)
    X = sp.csr_matrix((np.ones(2 * n, np.float32),
                       (np.repeat(np.arange(n), 2), rng.integers(0, d, 2 * n))),
                      shape=(n, d))
    y = rng.integers(0, 2, n)
    clf = MLPClassifier((1,), max_iter=1, batch_size=2000, random_state=0).fit(X, y)
    assert clf.predict(X).shape == (n,)


@pytest.mark.parametrize("estimator", [
    None, LogisticRegression(solver="newton-cholesky"),
    MLPClassifier((6,), max_iter=4, random_state=0),
], ids=["default", "newton", "mlp"])
def test_one_vs_all_on_csr_equals_dense(estimator, dtype):
    X, y = _data(dtype, n_classes=4)
    sparse = OneVsAllClassifier(estimator).fit(X, y)
    dense = OneVsAllClassifier(estimator).fit(X.toarray(), y)
    # the logistic solvers stop at their tolerance: the fits agree to it
    close = CLOSE[dtype] if estimator is not None and not isinstance(
        estimator, LogisticRegression) else dict(rtol=1e-4, atol=1e-5)
    assert_allclose(sparse.predict_proba(X), dense.predict_proba(X.toarray()), **close)
    assert_allclose(sparse.predict_proba(X.tocsc()),
                    dense.predict_proba(X.toarray()), **close)


def _spoiled_csc(C):
    C.indices[0] = 10**6
    return C


@pytest.mark.parametrize("make", [
    lambda X: (X.data.__setitem__(0, np.nan), X)[1],
    lambda X: (X.indices.__setitem__(0, -3), X)[1],
    lambda X: (X.indices.__setitem__(0, 40), X)[1],
    lambda X: (X.indptr.__setitem__(5, X.indptr[4] - 1), X)[1],
    lambda X: _spoiled_csc(X.tocsc()),
], ids=["nan", "negative-index", "index-out-of-range", "indptr", "csc-index"])
@pytest.mark.parametrize("estimator", [
    MLPClassifier((4,), max_iter=2), OneVsAllClassifier(),
    OneVsAllClassifier(MLPClassifier((4,), max_iter=2)),
], ids=["mlp", "one-vs-all", "one-vs-all-mlp"])
def test_malformed_sparse_input_is_a_value_error(make, estimator):
    X, y = _data(np.float64)
    with pytest.raises(ValueError):
        estimator.fit(make(X.copy()), y)
    fitted = estimator.fit(X, y)
    with pytest.raises(ValueError):
        fitted.predict(make(X.copy()))
