"""LogisticRegression reads its parameters as scikit-learn 1.9 does: the deprecated
``penalty`` and its mapping onto ``l1_ratio`` and ``C``, every refusal and warning word
for word, ``max_iter=0``, ``sparsify``, the 'liblinear' objective and scikit-learn's
callbacks."""

import json
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

import fastnn.saving
from fastnn import LogisticRegression, load_model


@pytest.fixture(scope="module")
def binary():
    return make_classification(120, 6, n_informative=4, random_state=0)


@pytest.fixture(scope="module")
def three():
    return make_classification(150, 6, n_informative=4, n_classes=3, random_state=1)


def test_explicit_penalty_is_deprecated_with_the_same_fit(binary):
    X, y = binary
    with pytest.warns(FutureWarning, match="'penalty' was deprecated in version 1.8"):
        explicit = LogisticRegression(penalty="l2").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default says nothing
        default = LogisticRegression().fit(X, y)
    assert_array_equal(explicit.coef_, default.coef_)


def test_c_inf_is_penalty_none(binary):
    X, y = binary
    with pytest.warns(FutureWarning):
        none = LogisticRegression(penalty=None).fit(X, y)
    inf = LogisticRegression(C=np.inf).fit(X, y)
    assert_allclose(none.coef_, inf.coef_)
    with pytest.warns(UserWarning, match="Setting penalty=None will ignore the C"):
        LogisticRegression(penalty=None, C=2.0).fit(X, y)


@pytest.mark.parametrize("params, match", [
    (dict(l1_ratio=1.0), "Solver lbfgs supports only 'l2' or None penalties, got l1"),
    (dict(l1_ratio=0.5, solver="newton-cg"),
     "Solver newton-cg supports only 'l2' or None penalties, got elasticnet"),
    (dict(l1_ratio=0.5, solver="sgd"), "Solver sgd supports only 'l2'"),
    (dict(dual=True), "Solver lbfgs supports only dual=False, got dual=True"),
    (dict(l1_ratio=0.5, solver="liblinear"),
     "Only 'saga' solver supports elasticnet penalty, got solver=liblinear"),
    (dict(C=np.inf, solver="liblinear"), "C=np.inf as well as penalty=None is not "
     "supported for the liblinear solver"),
    (dict(l1_ratio=1.0, solver="liblinear", dual=True), "penalty='l1' and "
     "loss='logistic_regression' are not supported when dual=True"),
])
def test_refusals_are_scikit_learns(binary, params, match):
    X, y = binary
    with pytest.raises(ValueError, match=match):
        LogisticRegression(**params).fit(X, y)


def test_liblinear_refuses_three_classes(three):
    X, y = three
    with pytest.raises(ValueError, match="'liblinear' solver does not support multi"):
        LogisticRegression(solver="liblinear").fit(X, y)


@pytest.mark.parametrize("params, category, match", [
    (dict(l1_ratio=None), FutureWarning, "'l1_ratio=None' was deprecated"),
    (dict(n_jobs=2), FutureWarning, "'n_jobs' has no effect since 1.8"),
    (dict(l1_ratio=0.5, C=np.inf), UserWarning,
     r"l1_ratio parameter is only used when penalty is 'elasticnet'. Got \(penalty=None"),
])
def test_warnings_are_scikit_learns(binary, params, category, match):
    X, y = binary
    with pytest.warns(category, match=match):
        LogisticRegression(**params).fit(X, y)


@pytest.mark.parametrize("solver", ["lbfgs", "liblinear", "newton-cg",
                                    "newton-cholesky", "sag", "saga"])
def test_parameters_match_scikit_learns(solver):
    ours = LogisticRegression(solver=solver).get_params()
    theirs = SkLogisticRegression(solver=solver).get_params()
    assert {k: v for k, v in ours.items() if k in theirs} == theirs


def test_max_iter_zero_is_allowed(binary):
    X, y = binary
    clf = LogisticRegression(solver="liblinear", max_iter=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    assert clf.n_iter_[0] == 0


def test_liblinear_fits_scikit_learns_objective(binary):
    X, y = binary
    for scaling in (1.0, 3.0):
        ours = LogisticRegression(solver="liblinear", tol=1e-10,
                                  intercept_scaling=scaling).fit(X, y)
        theirs = SkLogisticRegression(solver="liblinear", tol=1e-10,
                                      intercept_scaling=scaling).fit(X, y)
        assert_allclose(ours.coef_, theirs.coef_, rtol=1e-5, atol=1e-6)
        assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-5, atol=1e-6)


def test_sparsify_keeps_the_predictions(three):
    X, y = three
    clf = LogisticRegression().fit(X, y)
    dense = clf.decision_function(X)
    clf.sparsify()
    assert sp.issparse(clf.coef_)
    assert_allclose(clf.decision_function(X), dense)
    assert_allclose(clf.decision_function(sp.csr_matrix(X)), dense)
    assert_allclose(clf.predict_proba(X[:1]), clf.densify().predict_proba(X[:1]))


def _saved_params(path):
    with np.load(path) as archive:
        return json.loads(archive["estimator"].tobytes())["estimator"]["params"]


def test_new_parameters_save_only_when_set(binary, tmp_path):
    """Files of models that use none of the parameters added since the first format
    are the first format's (older fastnn reads them); set ones are kept."""
    X, y = binary
    fastnn.saving.save_model(LogisticRegression().fit(X, y), tmp_path / "a.fastnn")
    assert not {"l1_ratio", "dual", "intercept_scaling", "n_jobs"} & set(
        _saved_params(tmp_path / "a.fastnn"))
    clf = LogisticRegression(solver="liblinear", intercept_scaling=2.5).fit(X, y)
    fastnn.saving.save_model(clf, tmp_path / "b.fastnn")
    assert _saved_params(tmp_path / "b.fastnn")["intercept_scaling"] == 2.5
    loaded = load_model(tmp_path / "b.fastnn")
    assert loaded.get_params() == clf.get_params()
    assert_allclose(loaded.predict_proba(X), clf.predict_proba(X))


def _sklearn_objective(clf, X, y, C, l1_ratio):
    """C sum_i loss_i + l1_ratio ||W||_1 + (1 - l1_ratio) / 2 ||W||^2 of a fit."""
    proba = np.clip(clf.predict_proba(X), 1e-300, 1.0)
    index = np.searchsorted(clf.classes_, y)
    coef = np.asarray(clf.coef_.toarray() if sp.issparse(clf.coef_) else clf.coef_)
    return (-C * np.log(proba[np.arange(len(y)), index]).sum()
            + l1_ratio * np.abs(coef).sum() + 0.5 * (1 - l1_ratio) * (coef ** 2).sum())


@pytest.mark.parametrize("solver, l1_ratio", [
    ("lbfgs", 0.0), ("newton-cholesky", 0.0), ("newton-cg", 0.0), ("sag", 0.0),
    ("saga", 0.0), ("saga", 0.5), ("saga", 1.0), ("liblinear", 1.0)])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_every_solver_reaches_scikit_learns_minimum(solver, l1_ratio, n_classes, sparse):
    """Through the estimator (routing included): fastnn's objective is no worse than
    scikit-learn's own solver's by 1e-6 relative, at a tight tolerance."""
    if solver == "liblinear" and n_classes == 3:
        pytest.skip("liblinear is binary")
    X, y = make_classification(200, 8, n_informative=5, n_classes=n_classes,
                               random_state=3)
    X = sp.csr_matrix(X) if sparse else X
    C = 0.3
    params = dict(solver=solver, l1_ratio=l1_ratio, C=C, tol=1e-10, max_iter=10_000)
    ours = LogisticRegression(**params).fit(X, y)
    if solver == "liblinear":
        params = dict(params, penalty="l1", l1_ratio=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SkLogisticRegression(**params).fit(X, y)
    if solver == "liblinear":  # (its intercept is penalised: compare coefficients)
        assert_allclose(ours.coef_, theirs.coef_, atol=1e-4)
        return
    mine = _sklearn_objective(ours, X, y, C, l1_ratio)
    reference = _sklearn_objective(theirs, X, y, C, l1_ratio)
    assert mine <= reference * (1 + 1e-6)


def test_liblinear_warns_in_its_own_words(binary):
    X, y = binary
    with pytest.warns(ConvergenceWarning, match="Liblinear failed to converge, "
                      "increase the number of iterations."):
        LogisticRegression(solver="liblinear", max_iter=1, tol=1e-12).fit(X, y)
    clf = LogisticRegression(solver="liblinear", max_iter=0).fit(X, y)
    assert not clf.coef_.any() and not clf.intercept_.any()
