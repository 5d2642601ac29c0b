"""LogisticRegression: scikit-learn's objective reached on its datasets, the L-BFGS
objective's gradient against NumPy, dtypes, weights, sparse input, predictions, the
scikit-learn plumbing (pickle, Pipeline, GridSearchCV), SGD and partial_fit, errors.

The kernels under it (the SGD epoch, the fused loss and gradient) are checked against
their NumPy twins in kernels/test_logistic_kernels.py.
"""

import io
import pickle
import tracemalloc
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import datasets
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastnn.estimators._logistic import LogisticRegression
from fastnn.estimators._logistic_objective import Objective
from fastnn.estimators._logistic_problem import LogisticProblem
from fastnn.ops import _logistic as logistic_ops

TIGHT = dict(tol=1e-10, max_iter=10000)


def objective(clf_or_coef, X, y, C=1.0, sample_weight=None, intercept=None, classes=None):
    """scikit-learn's objective C * sum_i s_i loss_i + 0.5 ||coef||**2 in float64."""
    if intercept is None:
        coef, intercept, classes = clf_or_coef.coef_, clf_or_coef.intercept_, clf_or_coef.classes_
    else:
        coef = clf_or_coef
    X = X.toarray() if sp.issparse(X) else X
    Z = X.astype(np.float64) @ coef.T.astype(np.float64) + intercept
    index = np.searchsorted(classes, y)
    s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    if coef.shape[0] == 1:
        z, t = Z[:, 0], (index == 1)
        loss = np.logaddexp(0, z) - t * z
    else:
        m = Z.max(axis=1, keepdims=True)
        loss = np.log(np.exp(Z - m).sum(axis=1)) + m[:, 0] - Z[np.arange(len(y)), index]
    penalty = 0.5 * float((coef.astype(np.float64) ** 2).sum())
    return C * float(s @ loss) + penalty


def scaled(name):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def cancer():
    return scaled("breast_cancer")


@pytest.fixture(scope="module")
def iris():
    return scaled("iris")


# ------------------------------------------------------- agreement with scikit-learn


@pytest.mark.slow  # digits to tol=1e-10: about 20 s
@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "digits"])
def test_objective_matches_sklearn(name):
    X, y = scaled(name)
    ours = LogisticRegression(**TIGHT).fit(X, y)
    theirs = SkLogisticRegression(**TIGHT).fit(X, y)
    assert ours.coef_.shape == theirs.coef_.shape
    f_ours, f_theirs = objective(ours, X, y), objective(theirs, X, y)
    assert abs(f_ours - f_theirs) <= 1e-6 * abs(f_theirs)
    assert np.mean(ours.predict(X) == theirs.predict(X)) > 0.99


@pytest.mark.parametrize(
    "params",
    [
        dict(C=0.05),
        dict(C=20.0, fit_intercept=False),
        dict(class_weight="balanced"),
        dict(class_weight={0: 3.0, 1: 0.5, 2: 1.0}),
    ],
    ids=["C=0.05", "no-intercept", "balanced", "class-dict"],
)
def test_objective_matches_sklearn_with_params(params):
    X, y = scaled("wine")
    ours = LogisticRegression(**TIGHT, **params).fit(X, y)
    theirs = SkLogisticRegression(**TIGHT, **params).fit(X, y)
    from sklearn.utils.class_weight import compute_sample_weight

    s = compute_sample_weight(params.get("class_weight"), y)
    C = params.get("C", 1.0)
    f_ours = objective(ours, X, y, C=C, sample_weight=s)
    f_theirs = objective(theirs, X, y, C=C, sample_weight=s)
    assert abs(f_ours - f_theirs) <= 1e-6 * abs(f_theirs)
    if not params.get("fit_intercept", True):
        assert np.all(ours.intercept_ == 0)


def test_unpenalised_matches_sklearn():
    X, y = datasets.make_classification(
        300, 6, n_informative=4, flip_y=0.2, random_state=0
    )
    ours = LogisticRegression(penalty=None, **TIGHT).fit(X, y)
    theirs = SkLogisticRegression(C=np.inf, **TIGHT).fit(X, y)
    f_ours = objective(ours, X, y) - 0.5 * float((ours.coef_**2).sum())
    f_theirs = objective(theirs, X, y) - 0.5 * float((theirs.coef_**2).sum())
    assert abs(f_ours - f_theirs) <= 1e-6 * abs(f_theirs)
    same = LogisticRegression(C=np.inf, **TIGHT).fit(X, y)
    np.testing.assert_allclose(same.coef_, ours.coef_)


# ------------------------------------------------------------ the L-BFGS objective


def _objective(X, y, weights, weight_sum, n_outputs, l2):
    """The Objective of a problem whose L2 strength is ``l2``."""
    C = 1.0 / (l2 * weight_sum)
    return Objective(LogisticProblem(X, y, weights, weight_sum, n_outputs, C=C))


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_objective_gradient_against_numpy(n_classes, sparse, rng, num_grad, fd_tol):
    n, d = 40, 5
    X = rng.normal(size=(n, d))
    X[X < -0.5] = 0.0
    y = rng.integers(0, n_classes, n)
    s = rng.uniform(0.5, 2.0, n)
    l2 = 0.3
    k = 1 if n_classes == 2 else n_classes
    f = _objective(sp.csr_matrix(X) if sparse else X, y, s, s.sum(), k, l2)
    x = rng.normal(size=d * k + k)

    def twin(x):
        W, b = x[: d * k].reshape(d, k), x[d * k:]
        classes = np.arange(n_classes)
        value = objective(W.T, X, y, C=1.0, sample_weight=s, intercept=b, classes=classes)
        # objective() is C sum s loss + 0.5||W||^2; Objective divides by sum(s) and
        # takes l2 / 2 ||W||^2
        penalty = 0.5 * float((W**2).sum())
        return (value - penalty) / s.sum() + 0.5 * l2 * float((W**2).sum())

    value, grad = f(x)
    assert grad.dtype == np.float64
    np.testing.assert_allclose(value, twin(x), rtol=1e-12)
    np.testing.assert_allclose(grad, num_grad(twin, x), **fd_tol)


def test_objective_float32_computes_in_float32(rng):
    X = rng.normal(size=(30, 4)).astype(np.float32)
    y = rng.integers(0, 3, 30)
    f = _objective(X, y, None, 30.0, 3, 0.1)
    assert f.params.dtype == f.grad.dtype == np.float32
    f64 = _objective(X.astype(np.float64), y, None, 30.0, 3, 0.1)
    x = rng.normal(size=4 * 3 + 3)
    (v32, g32), (v64, g64) = f(x), f64(x)
    np.testing.assert_allclose(v32, v64, rtol=1e-5)
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-6)


def test_objective_split_across_threads_agrees(rng):
    X = rng.normal(size=(3000, 50))  # 150k elements: large enough to be split
    y = rng.integers(0, 3, 3000)
    split = _objective(X, y, None, 3000.0, 3, 0.01)
    split.n_threads = 2  # even on a one-core machine
    serial = _objective(X, y, None, 3000.0, 3, 0.01)
    serial.n_threads = 1
    x = 0.1 * rng.normal(size=50 * 3 + 3)
    (v2, g2), (v1, g1) = split(x), serial(x)
    np.testing.assert_allclose(v2, v1, rtol=1e-13)
    np.testing.assert_allclose(g2, g1, rtol=1e-11, atol=1e-15)


# ------------------------------------------------------------------- dtypes, no copy


@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_float32_stays_float32(solver, cancer):
    X, y = cancer
    X32 = X.astype(np.float32)
    clf = LogisticRegression(solver=solver, random_state=0, max_iter=300).fit(X32, y)
    assert clf.coef_.dtype == clf.intercept_.dtype == np.float32
    assert clf.predict_proba(X32).dtype == np.float32
    assert clf.decision_function(X32).dtype == np.float32
    assert clf.predict_log_proba(X32).dtype == np.float32
    clf64 = LogisticRegression(solver=solver, random_state=0, max_iter=300).fit(X, y)
    assert clf64.coef_.dtype == np.float64
    np.testing.assert_allclose(clf.coef_, clf64.coef_, rtol=1e-2, atol=1e-3)


def test_fit_does_not_copy_X(rng):
    n, d = 100_000, 50  # 20 MB of float32
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(np.int64)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            LogisticRegression(max_iter=5).fit(X, y)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 0.25 * X.nbytes, (peak, X.nbytes)


# ---------------------------------------------------------------------- weights


@pytest.mark.parametrize("n_classes", [2, 3])
def test_sample_weight_equals_repetition(n_classes, rng):
    X, y = datasets.make_classification(
        60, 5, n_informative=3, n_classes=n_classes, random_state=1
    )
    counts = rng.integers(0, 4, len(y))
    weighted = LogisticRegression(**TIGHT).fit(X, y, sample_weight=counts)
    repeated = LogisticRegression(**TIGHT).fit(
        np.repeat(X, counts, axis=0), np.repeat(y, counts)
    )
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, atol=1e-7)


def test_class_weight_equals_sample_weight(iris):
    X, y = iris
    weights = {0: 0.5, 1: 2.0, 2: 1.0}
    by_class = LogisticRegression(class_weight=weights, **TIGHT).fit(X, y)
    by_sample = LogisticRegression(**TIGHT).fit(
        X, y, sample_weight=np.vectorize(weights.get)(y)
    )
    np.testing.assert_allclose(by_class.coef_, by_sample.coef_, rtol=1e-7, atol=1e-8)


def test_zero_weights_refused(iris):
    X, y = iris
    with pytest.raises(ValueError, match="non-zero"):
        LogisticRegression().fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="sum to zero"):
        LogisticRegression(class_weight={0: 0.0, 1: 0.0, 2: 0.0}).fit(X, y)


# ------------------------------------------------------------------------- sparse


@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_csr_equals_dense(solver, dtype):
    X, y = scaled("wine")
    X = np.where(np.abs(X) < 0.5, 0.0, X).astype(dtype)
    params = dict(solver=solver, random_state=0, max_iter=50, tol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = LogisticRegression(**params).fit(X, y)
        sparse = LogisticRegression(**params).fit(sp.csr_matrix(X), y)
    assert sparse.coef_.dtype == dtype
    # NOTE: float32 sums in another order round differently, and 50 L-BFGS iterations
    # carry those differences along: float32 agrees to the solver's noise, not to 1 ulp.
    tol = dict(rtol=2e-3, atol=3e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, **tol)
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_array(X)), dense.predict_proba(X), **tol
    )


# -------------------------------------------------------------------- predictions


def test_proba_log_proba_decision_consistent(iris, cancer):
    for X, y in (iris, cancer):
        clf = LogisticRegression(max_iter=1000).fit(X, y)
        proba = clf.predict_proba(X)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), atol=1e-12)
        np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
        sk = SkLogisticRegression(max_iter=1000)
        sk.classes_, sk.coef_, sk.intercept_ = clf.classes_, clf.coef_, clf.intercept_
        sk.n_features_in_ = X.shape[1]
        np.testing.assert_allclose(proba, sk.predict_proba(X), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(clf.decision_function(X), sk.decision_function(X))


def test_binary_probabilities_extreme_scores():
    clf = LogisticRegression().fit([[-1.0], [1.0]], [0, 1])
    clf.coef_ = np.array([[1.0]])
    clf.intercept_ = np.array([0.0])
    X = np.array([[-800.0], [-40.0], [0.0], [40.0], [800.0]])
    proba, log_proba = clf.predict_proba(X), clf.predict_log_proba(X)
    assert np.all(np.isfinite(log_proba))
    np.testing.assert_allclose(log_proba[:, 1], [-800.0, -40.0, -np.log(2), -np.exp(-40.0), 0.0],
                               rtol=1e-2, atol=1e-300)
    assert proba[1, 1] == pytest.approx(np.exp(-40.0), rel=1e-12)  # not 1 - 1
    np.testing.assert_array_equal(clf.predict(X), [0, 0, 0, 1, 1])


def test_one_row_fast_path_agrees_with_validated_path(iris):
    X, y = iris
    clf = LogisticRegression().fit(X, y)
    full = clf.predict_proba(X)
    for i in (0, 75, 149):
        row = np.ascontiguousarray(X[i:i + 1])
        np.testing.assert_allclose(clf.predict_proba(row), full[i:i + 1], rtol=1e-14)
        np.testing.assert_allclose(clf.predict_proba(row.tolist()), full[i:i + 1], rtol=1e-14)
        np.testing.assert_allclose(
            clf.predict_proba(np.asfortranarray(np.tile(row, (2, 1)))),
            full[[i, i]], rtol=1e-14,
        )



@pytest.mark.parametrize("dtype, huge", [(np.float64, 1e200), (np.float32, 1e30)])
def test_huge_finite_rows_are_predicted_without_a_warning(dtype, huge, iris):
    """The serving path's finiteness test (a sum of squares) overflows on huge
    entries: they take the full validation, silently, with the same answers."""
    X, y = iris
    clf = LogisticRegression(max_iter=1000).fit(X.astype(dtype), y)
    row = np.full((1, X.shape[1]), huge, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = clf.decision_function(row)
        validated = clf.decision_function(np.asfortranarray(np.tile(row, (2, 1))))
    assert np.isfinite(scores).all()
    np.testing.assert_allclose(scores, validated[:1], rtol=1e-6)

@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_predict_refuses_non_finite_rows(bad, iris):
    X, y = iris
    clf = LogisticRegression().fit(X, y)
    row = X[:1].copy()
    row[0, 2] = bad
    for method in (clf.predict, clf.predict_proba, clf.decision_function):
        with pytest.raises(ValueError, match="NaN|infinity"):
            method(row)


def test_predict_wrong_width_and_unfitted(iris):
    X, y = iris
    with pytest.raises(NotFittedError):
        LogisticRegression().predict_proba(X[:1])
    clf = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="3 features"):
        clf.predict(np.ascontiguousarray(X[:1, :3]))
    with pytest.raises(ValueError, match="NaN"):
        LogisticRegression().fit(np.where(X > 2, np.nan, X), y)
    with pytest.raises(ValueError, match="2 classes"):
        LogisticRegression().fit(X[:10], y[:10])


# ------------------------------------------------------- scikit-learn plumbing


@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_pickle_round_trip(solver, cancer):
    X, y = cancer
    clf = LogisticRegression(solver=solver, random_state=0, max_iter=300).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    assert again.get_params() == clf.get_params()
    assert not hasattr(clone(clf), "coef_")


def test_pipeline_grid_search(iris):
    X, y = datasets.load_iris(return_X_y=True)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        {"logisticregression__C": [0.001, 1.0]},
        cv=3,
    ).fit(X, y)
    assert search.best_params_ == {"logisticregression__C": 1.0}
    assert search.best_score_ > 0.9
    assert search.score(X, y) > 0.95


def test_warm_start_continues_from_solution(cancer):
    X, y = cancer
    clf = LogisticRegression(warm_start=True, **TIGHT).fit(X, y)
    first = clf.n_iter_[0]
    coef = clf.coef_.copy()
    clf.fit(X, y)
    assert clf.n_iter_[0] <= 2 < first
    np.testing.assert_allclose(clf.coef_, coef, rtol=1e-5, atol=1e-7)
    cold = LogisticRegression(warm_start=False, **TIGHT).fit(X, y)
    cold.fit(X, y)
    assert cold.n_iter_[0] == first


def test_max_iter_warns_and_verbose_prints(cancer):
    X, y = cancer
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        LogisticRegression(max_iter=2).fit(X, y)
    out = io.StringIO()
    with redirect_stdout(out):
        LogisticRegression(verbose=1, max_iter=1000).fit(X, y)
    assert "L-BFGS objective" in out.getvalue()


# ------------------------------------------------------------- SGD and partial_fit


def test_sgd_approaches_lbfgs_objective(cancer):
    X, y = cancer
    exact = objective(LogisticRegression(**TIGHT).fit(X, y), X, y)
    sgd = LogisticRegression(
        solver="sgd", max_iter=500, tol=1e-7, random_state=0, learning_rate=0.2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sgd.fit(X, y)
    assert objective(sgd, X, y) <= exact * 1.05
    assert sgd.score(X, y) > 0.97


def test_sgd_divergence_raises_and_keeps_finite_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)).astype(np.float32) * np.float32(1e18)
    y = (X[:, 0] > 0).astype(int)
    clf = LogisticRegression(solver="sgd", learning_rate=1e20, random_state=0, power_t=0)
    with pytest.raises(ValueError, match="diverged.*[Ss]cale.*learning_rate"):
        clf.fit(X, y)
    assert not hasattr(clf, "coef_") and not hasattr(clf, "classes_")
    with pytest.raises(ValueError, match="diverged"):
        clf.partial_fit(X, y, classes=[0, 1])
    assert not hasattr(clf, "classes_")  # the next call is a first call again
    fitted = LogisticRegression(solver="sgd", random_state=0).fit(X[:, :1] * 0, y)
    coef = fitted.coef_.copy()
    with pytest.raises(ValueError, match="diverged"):
        fitted.set_params(learning_rate=1e20, power_t=0).fit(X[:, :1], y + 5)
    np.testing.assert_array_equal(fitted.coef_, coef)  # the last good fit stays
    np.testing.assert_array_equal(fitted.classes_, [0, 1])


def test_partial_fit_semantics_and_learning(cancer):
    X, y = cancer
    assert not hasattr(LogisticRegression(), "partial_fit")
    clf = LogisticRegression(solver="sgd", random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    for epoch in range(30):
        for chunk in np.array_split(np.arange(len(y)), 4):
            clf.partial_fit(X[chunk], y[chunk], classes=[0, 1] if epoch == 0 else None)
    assert clf.n_iter_[0] == 120
    assert clf.score(X, y) > 0.97
    clf.partial_fit(X[:10], y[:10], classes=np.array([1, 0]))  # the same classes again
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(X[:2], np.array([0, 2]))
    with pytest.raises(ValueError, match="not the same"):
        clf.partial_fit(X[:2], y[:2], classes=[0, 1, 2])
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:2, :5], y[:2])
    with pytest.raises(ValueError, match="balanced"):
        LogisticRegression(solver="sgd", class_weight="balanced").partial_fit(
            X, y, classes=[0, 1]
        )
    fit = LogisticRegression(solver="sgd", random_state=0, max_iter=30, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit.fit(X, y)
    assert abs(fit.score(X, y) - clf.score(X, y)) < 0.02


def test_partial_fit_multiclass_and_string_labels(iris):
    X, y = iris
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = LogisticRegression(solver="sgd", random_state=0)
    for _ in range(40):
        clf.partial_fit(X, labels, classes=labels)
    assert clf.coef_.shape == (3, 4)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert clf.score(X, labels) > 0.9


def test_docstring_examples():
    import doctest

    from fastnn.estimators import _logistic

    assert doctest.testmod(_logistic).failed == 0
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(logistic_ops.logistic_sgd_epoch, globs={"np": np}):
        test.globs["logistic_sgd_epoch"] = logistic_ops.logistic_sgd_epoch
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
