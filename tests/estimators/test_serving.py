"""The one-row serving path of the three estimators (estimators/_serving.py,
estimators/_stacked.py, models.inference's Inference.serve): a single C-contiguous row
of the model's dtype skips validate_data and runs on bound buffers. It gives the
general path's answers (float32 staying float32), and every input it does not take,
or finds not finite, goes to scikit-learn's validation: the same errors and warnings.

No timing is asserted here (benchmarks/bench_estimators.py measures the path)."""

import copy
import pickle
import warnings
from functools import cache

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from fastnn import LogisticRegression, MLPClassifier, OneVsAllClassifier
from fastnn.estimators import _logistic, _one_vs_all
from fastnn.estimators._stacked import StackedServing
from fastnn.models import sparse as _network_input  # the MLP's validate_data

# The served row and the general path multiply in other orders (one row against two,
# one GEMM against a product per class): equal to rounding.
TOLERANCES = {np.float64: {"rtol": 1e-12, "atol": 1e-15},
              np.float32: {"rtol": 1e-4, "atol": 1e-6}}
KINDS = ["logistic", "one-vs-all", "mlp"]
PROBLEMS = {"ten-classes": lambda y: y, "binary": lambda y: (y >= 5).astype(int)}


@cache
def _digits(dtype):
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(dtype), y


@cache
def _fitted(kind, problem, dtype):
    X, y = _digits(dtype)
    y = PROBLEMS[problem](y)
    estimator = {
        "logistic": lambda: LogisticRegression(max_iter=300),
        "one-vs-all": lambda: OneVsAllClassifier(LogisticRegression(max_iter=300)),
        "mlp": lambda: MLPClassifier((24,), max_iter=20, random_state=0),
    }[kind]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def _methods(estimator):
    names = ["predict_proba", "predict_log_proba", "predict", "decision_function"]
    return [name for name in names if hasattr(estimator, name)]


def _validation_refused(monkeypatch):
    """Make every validate_data of the estimators raise: a served row never calls it."""

    def refuse(*args, **kwargs):
        raise AssertionError("the served row was validated")

    for module in (_logistic, _one_vs_all, _network_input):
        monkeypatch.setattr(module, "validate_data", refuse)


def _general(row):
    """The same row as two F-ordered rows: not the serving path's input."""
    return np.asfortranarray(np.repeat(row, 2, axis=0))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("kind", KINDS)
def test_a_served_row_gives_the_general_answers(kind, problem, dtype, monkeypatch):
    estimator = _fitted(kind, problem, dtype)
    X, _ = _digits(dtype)
    rows = [np.ascontiguousarray(X[i:i + 1]) for i in (0, 700, 1500)]
    expected = {name: [getattr(estimator, name)(_general(row))[:1] for row in rows]
                for name in _methods(estimator)}
    _validation_refused(monkeypatch)
    for name, answers in expected.items():
        for row, answer in zip(rows, answers):
            served = getattr(estimator, name)(row)
            assert served.dtype == answer.dtype and served.shape == answer.shape, name
            if name == "predict":
                assert_array_equal(served, answer)
            else:
                assert_allclose(served, answer, **TOLERANCES[dtype], err_msg=name)
            if name.startswith("predict_"):
                assert served.dtype == dtype, name  # float32 stays float32
    proba = estimator.predict_proba(rows[0])
    proba[...] = -1  # a copy, not a bound buffer
    assert (estimator.predict_proba(rows[0]) >= 0).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("problem", PROBLEMS)
def test_one_vs_all_serves_all_classes_in_one_pass(problem, dtype, monkeypatch):
    estimator = _fitted("one-vs-all", problem, dtype)
    X, _ = _digits(dtype)
    row = X[3:4]
    expected = estimator.predict_proba(_general(row))[:1]

    def refuse(self, X):
        raise AssertionError("a binary estimator was called")

    for name in ("predict_proba", "decision_function", "predict"):
        monkeypatch.setattr(LogisticRegression, name, refuse)
    proba = estimator.predict_proba(row)
    assert proba.dtype == dtype
    assert_allclose(proba, expected, **TOLERANCES[dtype])
    assert_allclose(proba.sum(), 1.0, rtol=10 * np.finfo(dtype).eps)
    if problem == "ten-classes":
        assert estimator.predict(row)[0] == expected.argmax()


def _error(call, X):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            call(X)
        except Exception as error:  # noqa: BLE001  (compared, not handled)
            return type(error), str(error).split("\n")[0]  # not the array it shows
    return None


def _validated(X_bad):
    """``X_bad`` as the general path gets it: a row as two F-ordered rows (the same
    messages, but for the array some show after the first line), anything else as it
    is."""
    if getattr(X_bad, "ndim", 0) == 2 and X_bad.shape[0] == 1:
        return np.asfortranarray(np.repeat(X_bad, 2, axis=0))
    return X_bad


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", KINDS)
def test_bad_rows_get_scikit_learns_errors(kind, dtype):
    """Each bad row, in the served shape where it can be, fails as the general path
    fails, message for message."""
    estimator = _fitted(kind, "ten-classes", dtype)
    X, _ = _digits(dtype)
    row = np.ascontiguousarray(X[:1])
    bad = {}
    for value in (np.nan, np.inf, -np.inf):
        bad[str(value)] = row.copy()
        bad[str(value)][0, 5] = value
    bad["narrow"] = np.ascontiguousarray(row[:, :-1])
    bad["wide"] = np.ascontiguousarray(np.hstack([row, row[:, :1]]))
    bad["1-D"] = row[0]
    bad["empty"] = row[:0]
    bad["letters"] = np.full((1, 64), "a")
    bad["complex"] = row.astype(np.complex128)
    for name, X_bad in bad.items():
        for method in _methods(estimator):
            call = getattr(estimator, method)
            served = _error(call, X_bad)
            assert served is not None, (name, method)
            assert served == _error(call, _validated(X_bad)), (name, method)
            if name in ("nan", "inf", "-inf"):
                assert served[0] is ValueError, (name, method)
                assert "NaN" in served[1] or "infinity" in served[1], (name, method)
            if name in ("narrow", "wide"):
                assert "features" in served[1], (name, method)


@pytest.mark.parametrize("kind", KINDS)
def test_rows_the_path_does_not_take_are_validated_as_before(kind):
    estimator = _fitted(kind, "ten-classes", np.float64)
    X, _ = _digits(np.float64)
    row = np.ascontiguousarray(X[5:6])
    expected = estimator.predict_proba(row)
    wide = np.ascontiguousarray(np.repeat(row, 2, axis=1))
    others = {
        "list": row.tolist(),
        "strided": wide[:, ::2],
        "float32": row.astype(np.float32),
        "subclass": row.view(type("Row", (np.ndarray,), {})),
    }
    assert not others["strided"].flags.c_contiguous
    for name, X_other in others.items():
        tolerance = TOLERANCES[np.float32 if name == "float32" else np.float64]
        assert_allclose(estimator.predict_proba(X_other), expected, **tolerance,
                        err_msg=name)
    pixels = np.round(row * 16).astype(np.int64)  # digits' own integers
    assert_allclose(estimator.predict_proba(pixels),
                    estimator.predict_proba(pixels.astype(np.float64)), rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_feature_names_are_checked_as_before(kind):
    pd = pytest.importorskip("pandas")
    X, y = _digits(np.float64)
    columns = [f"pixel{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X[:400], columns=columns)
    named = clone(_fitted(kind, "ten-classes", np.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        named.fit(frame, y[:400])
    row = np.ascontiguousarray(X[:1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_frame = named.predict_proba(frame.iloc[:1])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        assert_allclose(named.predict_proba(row), from_frame, rtol=1e-12)
    unnamed = _fitted(kind, "ten-classes", np.float64)
    with pytest.warns(UserWarning, match="was fitted without feature names"):
        unnamed.predict_proba(pd.DataFrame(row, columns=columns))


@pytest.mark.parametrize("kind", KINDS)
def test_unfitted_is_not_fitted(kind):
    estimator = {"logistic": LogisticRegression, "one-vs-all": OneVsAllClassifier,
                 "mlp": MLPClassifier}[kind]()
    row = np.zeros((1, 4))
    for method in _methods(estimator):
        with pytest.raises(NotFittedError):
            getattr(estimator, method)(row)


@pytest.mark.parametrize("dtype, huge", [(np.float64, 1e200), (np.float32, 1e30)])
@pytest.mark.parametrize("kind", ["logistic", "one-vs-all"])
def test_huge_finite_rows_take_the_full_validation(kind, dtype, huge):
    """The row's sum of squares overflows: it is validated (and accepted), silently."""
    estimator = _fitted(kind, "ten-classes", dtype)
    row = np.full((1, 64), huge, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        served = estimator.decision_function(row)
        expected = estimator.decision_function(_general(row))[:1]
    assert np.isfinite(served).all()
    assert_allclose(served, expected, rtol=1e-5)



def test_weights_set_by_hand_are_served_or_validated_as_before():
    X, _ = _digits(np.float64)
    clf = copy.deepcopy(_fitted("logistic", "binary", np.float64))
    clf.coef_ = np.round(clf.coef_ * 4).astype(np.float16)  # no kernel takes float16
    clf.intercept_ = np.array([-1.0], np.float32)
    row = X[:1].astype(np.float16)
    expected = np.dot(row.astype(np.float64), clf.coef_.T) - 1.0
    assert_allclose(clf.decision_function(row), expected.ravel(), rtol=1e-12)
    clf.coef_ = clf.coef_.astype(np.float32)  # float32 weights, a float32 intercept
    served = clf.predict_proba(row.astype(np.float32))
    assert served.dtype == np.float32
    assert_allclose(served, clf.predict_proba(_general(row.astype(np.float32)))[:1],
                    **TOLERANCES[np.float32])

# One-vs-all's stacked weights -------------------------------------------------------


def test_one_vs_all_restacks_when_its_estimators_change():
    X, y = _digits(np.float64)
    ova = OneVsAllClassifier(LogisticRegression(solver="sgd", random_state=0))
    row = X[9:10]
    for start in range(0, 600, 200):
        ova.partial_fit(X[start:start + 200], y[start:start + 200],
                        classes=np.unique(y))
        assert_allclose(ova.predict_proba(row), ova.predict_proba(_general(row))[:1],
                        rtol=1e-12, atol=1e-15)
    # A binary estimator refitted in place is seen once estimators_ is set again.
    ova.estimators_[0].fit(X[:300], (y[:300] == 3).astype(int))
    ova.estimators_ = list(ova.estimators_)
    assert_allclose(ova.predict_proba(row), ova.predict_proba(_general(row))[:1],
                    rtol=1e-12, atol=1e-15)
    # ... and so is a replaced one.
    ova.estimators_[1] = copy.deepcopy(ova.estimators_[2])
    assert_allclose(ova.decision_function(row)[0, 1], ova.decision_function(row)[0, 2])


def test_one_vs_all_rows_no_estimator_claims_are_uniform():
    X, _ = _digits(np.float64)
    ova = copy.deepcopy(_fitted("one-vs-all", "ten-classes", np.float64))
    for binary in ova.estimators_:
        binary.intercept_ = np.array([-1e4])  # every probability underflows to 0
    ova.estimators_ = list(ova.estimators_)
    row = X[:1]
    assert_array_equal(ova.predict_proba(row), np.full((1, 10), 0.1))
    assert_array_equal(ova.predict_proba(_general(row))[:1], np.full((1, 10), 0.1))


def test_one_vs_all_of_other_estimators_takes_the_general_path():
    X, y = _digits(np.float64)
    ours = OneVsAllClassifier(SkLogisticRegression(C=0.5, max_iter=300)).fit(X, y)
    theirs = OneVsRestClassifier(SkLogisticRegression(C=0.5, max_iter=300)).fit(X, y)
    row = X[11:12]
    assert ours._serve.stacked(ours.estimators_, 64) is None
    assert_allclose(ours.predict_proba(row), theirs.predict_proba(row), rtol=1e-12)
    assert_array_equal(ours.predict(row), theirs.predict(row))


def test_one_vs_all_serving_state_is_not_pickled():
    ova = _fitted("one-vs-all", "ten-classes", np.float32)
    X, _ = _digits(np.float32)
    row = X[:1]
    served = ova.predict_proba(row)
    assert ova._serve._stacked is not None
    for copied in (pickle.loads(pickle.dumps(ova)), copy.deepcopy(ova)):
        assert isinstance(copied._serve, StackedServing)
        assert copied._serve._stacked is None  # stacks its own at its first row
        assert_array_equal(copied.predict_proba(row), served)
    assert len(pickle.dumps(StackedServing())) < 100
