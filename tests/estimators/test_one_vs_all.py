"""OneVsAllClassifier: scikit-learn's estimator checks, agreement with scikit-learn's
OneVsRestClassifier on the same binary estimator, and the meta-estimator's own contract
(n_jobs, sample_weight, partial_fit, float32, errors, pickle, Pipeline/GridSearchCV)."""

import doctest
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_breast_cancer, load_iris, make_classification
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.multiclass import OneVsRestClassifier
from sklearn.naive_bayes import BernoulliNB, GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastnn.estimators import _one_vs_all
from fastnn.estimators._logistic import LogisticRegression
from fastnn.estimators._one_vs_all import OneVsAllClassifier


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@parametrize_with_checks(
    [
        # the default: fastnn's LogisticRegression
        OneVsAllClassifier(),
        # decision_function, no predict_proba (tol so that sample_weight is exact)
        OneVsAllClassifier(LinearSVC(dual=False, tol=1e-12)),
        # predict_proba, no decision_function; partial_fit
        OneVsAllClassifier(BernoulliNB()),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_default_estimator_is_fastnn_logistic_regression(iris):
    X, y = iris
    clf = OneVsAllClassifier().fit(X, y)
    assert clf.estimator is None
    assert len(clf.estimators_) == 3
    assert all(type(e) is LogisticRegression for e in clf.estimators_)
    assert clf.score(X, y) > 0.9
    ovr = OneVsRestClassifier(LogisticRegression()).fit(X, y)
    assert_array_equal(clf.predict(X), ovr.predict(X))
    # (scikit-learn normalises the probabilities with its own code: to rounding)
    assert_allclose(clf.predict_proba(X), ovr.predict_proba(X), rtol=1e-12, atol=1e-15)


def test_binary_keeps_the_estimators_small_probabilities():
    """With two classes predict_proba is the binary estimator's own (no 1 - p that
    would round a tiny probability to 0), and so is predict_log_proba."""
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array(["no", "no", "yes", "yes"])
    clf = OneVsAllClassifier().fit(X, y)
    far = np.array([[60.0], [800.0]])
    proba = clf.predict_proba(far)
    assert_allclose(proba, clf.estimators_[0].predict_proba(far), rtol=1e-15)
    assert 0 < proba[0, 0] < 1e-20
    log_proba = clf.predict_log_proba(far)
    assert np.isfinite(log_proba).all()
    assert log_proba[1, 0] < -700


def test_partial_fit_with_fastnn_sgd_logistic_regression(iris):
    X, y = iris
    assert not hasattr(OneVsAllClassifier(), "partial_fit")  # lbfgs has none
    clf = OneVsAllClassifier(LogisticRegression(solver="sgd", random_state=0))
    order = np.random.default_rng(0).permutation(len(y))
    for start in range(0, len(y), 50):
        rows = order[start : start + 50]
        clf.partial_fit(X[rows], y[rows], classes=[0, 1, 2] if start == 0 else None)
    assert len(clf.estimators_) == 3
    assert clf.score(X, y) > 0.7


def test_serving_path_agrees_with_full_validation(iris):
    """A ready float ndarray skips validate_data; other inputs are validated first.
    Both give the same answers, to rounding: the serving path multiplies with np.dot,
    the validated one with @, and BLAS may order the sums differently for the two
    calls, or for one row and many (2.8e-17 apart on an AVX-512 Xeon)."""
    X, y = iris
    clf = OneVsAllClassifier().fit(X, y)
    expected = clf.predict_proba(X)
    assert_allclose(clf.predict_proba(X.tolist()), expected, rtol=1e-12, atol=1e-15)
    assert_allclose(clf.predict_proba(np.asfortranarray(X)), expected, rtol=1e-12,
                    atol=1e-15)
    assert_allclose(clf.predict_proba(X[:1]), expected[:1], rtol=1e-12, atol=1e-15)
    assert_array_equal(clf.predict(X[7:8]), clf.predict(X)[7:8])  # no tie in iris
    assert_allclose(clf.decision_function(X.tolist()), clf.decision_function(X),
                    rtol=1e-12, atol=1e-15)


# Agreement with scikit-learn's OneVsRestClassifier -----------------------------------


@pytest.mark.parametrize("labels", [None, np.array(["setosa", "versicolor", "zz"])])
def test_matches_one_vs_rest_logistic_regression(iris, labels):
    X, y = iris
    if labels is not None:
        y = labels[y]
    base = SklearnLogisticRegression(C=0.5)
    ova = OneVsAllClassifier(base).fit(X, y)
    ovr = OneVsRestClassifier(base).fit(X, y)

    assert_array_equal(ova.classes_, ovr.classes_)
    for ours, theirs in zip(ova.estimators_, ovr.estimators_):
        # exact: the same binary estimator fitted on the same rows and labels
        assert_array_equal(ours.coef_, theirs.coef_)
        assert_array_equal(ours.intercept_, theirs.intercept_)
    assert_array_equal(ova.predict(X), ovr.predict(X))
    assert_array_equal(ova.decision_function(X), ovr.decision_function(X))  # stacked
    # (each normalises the probabilities with its own code: to rounding)
    assert_allclose(ova.predict_proba(X), ovr.predict_proba(X), rtol=1e-12, atol=1e-15)
    assert_allclose(ova.predict_proba(X).sum(axis=1), 1.0, rtol=1e-15)
    assert_allclose(ova.predict_log_proba(X), np.log(ova.predict_proba(X)))


def test_matches_one_vs_rest_linear_svc(iris):
    X, y = iris
    base = LinearSVC(dual=False)
    ova = OneVsAllClassifier(base).fit(X, y)
    ovr = OneVsRestClassifier(base).fit(X, y)

    assert_array_equal(ova.predict(X), ovr.predict(X))
    assert_array_equal(ova.decision_function(X), ovr.decision_function(X))
    assert ova.decision_function(X).shape == (len(X), 3)
    # No predict_proba in LinearSVC, so none here either: hidden, as scikit-learn does.
    assert not hasattr(ova, "predict_proba")
    assert not hasattr(ova, "predict_log_proba")
    with pytest.raises(AttributeError, match="predict_proba"):
        ova.predict_proba(X)
    assert not hasattr(OneVsAllClassifier(base), "predict_proba")


def test_predict_proba_only_estimator(iris):
    """BernoulliNB has predict_proba but no decision_function: predict uses the
    probabilities, and there is no decision_function."""
    X, y = iris
    ova = OneVsAllClassifier(BernoulliNB()).fit(X, y)
    ovr = OneVsRestClassifier(BernoulliNB()).fit(X, y)
    assert not hasattr(ova, "decision_function")
    assert_array_equal(ova.predict(X), ovr.predict(X))
    assert_allclose(ova.predict_proba(X), ovr.predict_proba(X), rtol=1e-12, atol=1e-15)
    most_probable = ova.classes_[ova.predict_proba(X).argmax(axis=1)]
    assert_array_equal(ova.predict(X), most_probable)


# Binary problems: one estimator -------------------------------------------------------


def test_binary_problem_fits_one_estimator(cancer):
    X, y = cancer
    labels = np.array(["benign", "malignant"])[1 - y]  # a string class for each
    base = SklearnLogisticRegression()
    ova = OneVsAllClassifier(base).fit(X, labels)
    ovr = OneVsRestClassifier(base).fit(X, labels)
    direct = SklearnLogisticRegression().fit(X, labels)

    assert len(ova.estimators_) == 1
    assert_array_equal(ova.classes_, ["benign", "malignant"])
    # the one estimator is classes_[1] against classes_[0], as LogisticRegression itself
    # (exact: the same fit on the same rows and labels)
    assert_array_equal(ova.estimators_[0].coef_, direct.coef_)
    assert_array_equal(ova.predict(X), direct.predict(X))
    assert_array_equal(ova.predict(X), ovr.predict(X))

    scores = ova.decision_function(X)
    assert scores.shape == (len(X),)
    assert_array_equal(scores, direct.decision_function(X))
    assert_array_equal(scores, ovr.decision_function(X))

    proba = ova.predict_proba(X)
    assert proba.shape == (len(X), 2)
    # (scikit-learn computes 1 - p and renormalises: to rounding)
    assert_allclose(proba, ovr.predict_proba(X), rtol=1e-12, atol=1e-15)
    assert_allclose(proba, direct.predict_proba(X), rtol=1e-15, atol=1e-16)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-15)


# Details users rely on --------------------------------------------------------------


@pytest.mark.slow  # starts joblib worker processes
def test_n_jobs_does_not_change_the_result():
    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=6, n_classes=4, random_state=0
    )
    serial = OneVsAllClassifier(SklearnLogisticRegression(), n_jobs=1).fit(X, y)
    parallel = OneVsAllClassifier(SklearnLogisticRegression(), n_jobs=2).fit(X, y)
    assert len(parallel.estimators_) == 4
    # NOTE: to rounding, not bit for bit: joblib's workers are other processes with
    # BLAS held to fewer threads (cores // n_jobs), and L-BFGS carries any rounding on.
    for a, b in zip(serial.estimators_, parallel.estimators_):
        assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-8)
        assert_allclose(a.intercept_, b.intercept_, rtol=1e-6, atol=1e-8)
    assert_allclose(serial.predict_proba(X), parallel.predict_proba(X), rtol=1e-6,
                    atol=1e-10)


def test_sample_weight_reaches_every_binary_estimator(iris):
    X, y = iris
    sample_weight = np.random.default_rng(0).uniform(0.1, 3.0, size=len(y))
    ova = OneVsAllClassifier(SklearnLogisticRegression()).fit(
        X, y, sample_weight=sample_weight
    )
    unweighted = OneVsAllClassifier(SklearnLogisticRegression()).fit(X, y)
    for k, estimator in enumerate(ova.estimators_):
        expected = SklearnLogisticRegression().fit(
            X, (y == k).astype(int), sample_weight=sample_weight
        )
        assert_array_equal(estimator.coef_, expected.coef_)
        assert not np.allclose(estimator.coef_, unweighted.estimators_[k].coef_)


def test_sample_weight_refused_when_the_estimator_cannot_take_it(iris):
    X, y = iris
    clf = OneVsAllClassifier(KNeighborsClassifier())
    clf.fit(X, y)  # without weights it fits
    with pytest.raises(ValueError, match="KNeighborsClassifier.fit does not take"):
        clf.fit(X, y, sample_weight=np.ones(len(y)))


class _RecordingLogisticRegression(SklearnLogisticRegression):
    """Remembers the X its fit received (to show no copy was made on the way)."""

    def fit(self, X, y, sample_weight=None):
        self.fit_X_ = X
        return super().fit(X, y, sample_weight=sample_weight)


def test_float32_stays_float32_and_is_not_copied(iris):
    X, y = iris
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    clf = OneVsAllClassifier(_RecordingLogisticRegression()).fit(X32, y)
    for estimator in clf.estimators_:
        assert estimator.fit_X_ is X32
        assert estimator.coef_.dtype == np.float32
    assert clf.decision_function(X32).dtype == np.float32
    assert clf.predict_proba(X32).dtype == np.float32
    # float64 stays float64
    clf64 = OneVsAllClassifier(SklearnLogisticRegression()).fit(X, y)
    assert clf64.predict_proba(X).dtype == np.float64


def test_sparse_input_and_nan_follow_the_estimators_tags(iris):
    X, y = iris
    X_csr = sp.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X))
    dense = OneVsAllClassifier(LinearSVC(dual=False)).fit(X_csr.toarray(), y)
    sparse = OneVsAllClassifier(LinearSVC(dual=False)).fit(X_csr, y)
    assert_allclose(
        sparse.decision_function(X_csr), dense.decision_function(X_csr.toarray())
    )
    # GaussianNB takes no sparse input, so neither does its one-vs-all
    assert not get_tags(OneVsAllClassifier(GaussianNB())).input_tags.sparse
    with pytest.raises(TypeError, match="dense data is required"):
        OneVsAllClassifier(GaussianNB()).fit(X_csr, y)

    # NaN: refused for LinearSVC, passed on to an estimator that handles it
    X_nan = X.copy()
    X_nan[::7, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        OneVsAllClassifier(LinearSVC()).fit(X_nan, y)
    trees = OneVsAllClassifier(HistGradientBoostingClassifier(max_iter=5))
    assert trees.fit(X_nan, y).score(X_nan, y) > 0.9


def test_rows_without_any_positive_probability_become_uniform(iris):
    """If every binary estimator gives a row probability 0, the row has no preference:
    it is uniform, still summing to 1 (scikit-learn's OneVsRest leaves it all zeros)."""
    X, y = iris
    never = DummyClassifier(strategy="constant", constant=0)
    proba = OneVsAllClassifier(never).fit(X, y).predict_proba(X[:5])
    assert_array_equal(proba, np.full((5, 3), 1 / 3))


def test_pickle_round_trip(iris):
    X, y = iris
    clf = OneVsAllClassifier(SklearnLogisticRegression()).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert_array_equal(restored.predict(X), clf.predict(X))
    assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert_array_equal(restored.classes_, clf.classes_)


def test_pipeline_and_grid_search_route_estimator_parameters():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(), OneVsAllClassifier(SklearnLogisticRegression())
    )
    grid = GridSearchCV(pipe, {"onevsallclassifier__estimator__C": [1e-4, 1.0]}, cv=3)
    grid.fit(X, y)
    assert grid.best_params_ == {"onevsallclassifier__estimator__C": 1.0}
    fitted = grid.best_estimator_[-1]
    assert all(e.C == 1.0 for e in fitted.estimators_)
    assert grid.score(X, y) > 0.9
    # the tiny C really reached the clones: they barely move from zero
    weak = pipe.set_params(onevsallclassifier__estimator__C=1e-4).fit(X, y)
    assert np.abs(weak[-1].estimators_[0].coef_).max() < 1e-2


# partial_fit --------------------------------------------------------------------------


def test_partial_fit_over_chunks_matches_one_vs_rest():
    X, y = make_classification(
        n_samples=400, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    labels = np.array(["a", "b", "c"])[y]
    base = SGDClassifier(random_state=0)
    ova, ovr = OneVsAllClassifier(base), OneVsRestClassifier(base)
    for start in range(0, 400, 100):
        rows = slice(start, start + 100)
        classes = ["c", "a", "b"] if start == 0 else None
        ova.partial_fit(X[rows], labels[rows], classes=classes)
        ovr.partial_fit(X[rows], labels[rows], classes=classes)
    assert_array_equal(ova.classes_, ["a", "b", "c"])
    for ours, theirs in zip(ova.estimators_, ovr.estimators_):
        assert_array_equal(ours.coef_, theirs.coef_)
    assert_array_equal(ova.predict(X), ovr.predict(X))
    assert_array_equal(ova.decision_function(X), ovr.decision_function(X))
    assert (ova.predict(X) == labels).mean() > 0.6


def test_partial_fit_classes_rules(iris):
    X, y = iris
    clf = OneVsAllClassifier(BernoulliNB())
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    assert not hasattr(clf, "classes_")

    clf.partial_fit(X[:10], y[:10], classes=[0, 1, 2])  # a chunk of class 0 only
    assert len(clf.estimators_) == 3
    clf.partial_fit(X[50:60], y[50:60], classes=[2, 1, 0])  # the same classes
    clf.partial_fit(X[100:110], y[100:110])
    # naive Bayes counts add up: three chunks learn what one fit on them learns
    rows = np.r_[0:10, 50:60, 100:110]
    whole = OneVsAllClassifier(BernoulliNB()).fit(X[rows], y[rows])
    assert_allclose(clf.predict_proba(X), whole.predict_proba(X), rtol=1e-12)

    # scikit-learn's messages, word for word
    with pytest.raises(ValueError, match=r"^`classes=\[0, 1, 2, 3\]` is not the same "
                       r"as on last call to partial_fit, was: array\(\[0, 1, 2\]\)$"):
        clf.partial_fit(X[:10], y[:10], classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"^Mini-batch contains \[0 1 7\] while "
                       r"classes must be subset of \[0 1 2\]$"):
        clf.partial_fit(X[:3], [0, 1, 7])
    # a refused call leaves the classifier as it was
    assert_allclose(clf.predict_proba(X), whole.predict_proba(X), rtol=1e-12)


class _NaiveBayesWithoutWeights(BernoulliNB):
    """A partial_fit that takes no sample_weight."""

    def partial_fit(self, X, y, classes=None):
        return super().partial_fit(X, y, classes=classes)


def test_partial_fit_passes_sample_weight(iris):
    X, y = iris
    sample_weight = np.random.default_rng(1).uniform(0.1, 3.0, size=len(y))
    chunked = OneVsAllClassifier(BernoulliNB())
    even, odd = slice(0, None, 2), slice(1, None, 2)
    chunked.partial_fit(X[even], y[even], [0, 1, 2], sample_weight=sample_weight[even])
    chunked.partial_fit(X[odd], y[odd], sample_weight=sample_weight[odd])
    whole = OneVsAllClassifier(BernoulliNB()).fit(X, y, sample_weight=sample_weight)
    unweighted = OneVsAllClassifier(BernoulliNB()).fit(X, y)
    assert_allclose(chunked.predict_proba(X), whole.predict_proba(X), rtol=1e-12)
    assert not np.allclose(chunked.predict_proba(X), unweighted.predict_proba(X))

    refuses = OneVsAllClassifier(_NaiveBayesWithoutWeights())
    refuses.partial_fit(X, y, classes=[0, 1, 2])  # without weights it learns
    with pytest.raises(ValueError, match="partial_fit does not take sample_weight"):
        refuses.partial_fit(X, y, sample_weight=sample_weight)


def test_partial_fit_is_hidden_when_the_estimator_has_none(iris):
    X, y = iris
    clf = OneVsAllClassifier(SklearnLogisticRegression())
    assert not hasattr(clf, "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit"):
        clf.partial_fit(X, y, classes=[0, 1, 2])


# Errors -------------------------------------------------------------------------------


def test_predict_before_fit_raises_not_fitted():
    clf = OneVsAllClassifier(SklearnLogisticRegression())
    X = np.zeros((2, 4))
    for method in (clf.predict, clf.predict_proba, clf.decision_function):
        with pytest.raises(NotFittedError):
            method(X)


def test_invalid_input_raises(iris):
    X, y = iris
    clf = OneVsAllClassifier(SklearnLogisticRegression())
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(X_nan, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, y + 0.5)
    with pytest.raises(ValueError, match="only one class: 2"):
        clf.fit(X, np.full(len(X), 2))
    with pytest.raises(ValueError, match="Input y contains NaN"):
        clf.fit(X, np.where(y == 1, np.nan, y))
    with pytest.raises(ValueError, match="Multioutput target data is not supported"):
        clf.fit(X, np.column_stack([y, y]))  # two columns of three classes
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, y[:-1])

    clf.fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        clf.predict_proba(X_nan)


def test_invalid_parameters_raise(iris):
    X, y = iris
    with pytest.raises(ValueError, match="'estimator' parameter"):
        OneVsAllClassifier(StandardScaler()).fit(X, y)
    with pytest.raises(ValueError, match="'n_jobs' parameter"):
        OneVsAllClassifier(SklearnLogisticRegression(), n_jobs=1.5).fit(X, y)


def test_docstring_example_runs():
    result = doctest.testmod(_one_vs_all, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
