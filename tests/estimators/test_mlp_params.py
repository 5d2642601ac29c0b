"""MLPClassifier's parameters as scikit-learn shows them: the coefs_ and intercepts_ a
user assigns are what the network predicts, trains and saves from; _optimizer reports
the learning rate the training used; _loss_grad_lbfgs is scikit-learn's objective over
its packing of the weights. Each is checked against scikit-learn 1.9 doing the same."""

import copy
import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLP

from fastnn.estimators import _mlp_params
from fastnn.estimators._mlp import MLPClassifier
from fastnn.saving import load_model, save_model


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return X[:200] / 16.0, y[:200]


def _quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return call(*args, **kwargs)


def _new_weights(clf, seed):
    """Random weights shaped like ``clf``'s (coefs, intercepts), float64."""
    rng = np.random.default_rng(seed)
    return ([rng.uniform(-0.5, 0.5, W.shape) for W in clf.coefs_],
            [rng.uniform(-0.5, 0.5, b.shape) for b in clf.intercepts_])


def _both(X, y, **params):
    params = dict(hidden_layer_sizes=(6,), max_iter=3, shuffle=False, random_state=0,
                  solver="sgd") | params
    return _quiet(SkMLP(**params).fit, X, y), _quiet(MLPClassifier(**params).fit, X, y)


def _assign(clf, coefs, intercepts, how):
    if how == "lists":
        clf.coefs_, clf.intercepts_ = list(coefs), list(intercepts)
    elif how == "items":
        for i, (W, b) in enumerate(zip(coefs, intercepts)):
            clf.coefs_[i], clf.intercepts_[i] = W, b
    else:  # in place, into the arrays coefs_ and intercepts_ hand out
        for i, (W, b) in enumerate(zip(coefs, intercepts)):
            clf.coefs_[i][...], clf.intercepts_[i][...] = W, b


# ---------------------------------------------------------------- coefs_, intercepts_

@pytest.mark.parametrize("how", ["lists", "items", "in_place"])
def test_assigned_weights_are_what_predict_uses(data, how):
    X, y = data
    ref, clf = _both(X, y)
    coefs, intercepts = _new_weights(clf, 1)
    ref.coefs_, ref.intercepts_ = coefs, intercepts
    _assign(clf, coefs, intercepts, how)
    assert_allclose(clf.predict_proba(X[:1]), ref.predict_proba(X[:1]), rtol=1e-12)
    assert_allclose(clf.predict_proba(X), ref.predict_proba(X), rtol=1e-12)
    assert_array_equal(clf.predict(X), ref.predict(X))
    # the network's views again: writing into them is seen, as before
    assert all(W.base is not None for W in clf.coefs_ + clf.intercepts_)
    clf.intercepts_[-1][...] = ref.intercepts_[-1] = np.zeros(10)
    assert_allclose(clf.predict_proba(X), ref.predict_proba(X), rtol=1e-12)


def test_the_same_list_takes_later_items_too(data):
    X, y = data
    ref, clf = _both(X, y, hidden_layer_sizes=(5, 5, 5))
    coefs = clf.coefs_
    original = [W.copy() for W in coefs]
    coefs[1], coefs[2] = coefs[2], coefs[1]  # two (5, 5) views swapped
    clf.predict(X[:2])
    assert clf.coefs_ is coefs
    assert_array_equal(coefs[1], original[2])
    assert_array_equal(coefs[2], original[1])
    coefs[0] = np.zeros((64, 5))  # the same list, after a prediction
    ref.coefs_ = [np.zeros((64, 5)), original[2], original[1], original[3]]
    assert_allclose(clf.predict_proba(X), ref.predict_proba(X), rtol=1e-12)


def test_unchanged_weights_are_not_copied(data, monkeypatch):
    X, y = data
    _, clf = _both(X, y)
    calls = []
    checked = _mlp_params._checked_weights
    monkeypatch.setattr(_mlp_params, "_checked_weights",
                        lambda *args: calls.append(1) or checked(*args))
    coefs = clf.coefs_
    for rows in (X[:1], X):
        clf.predict_proba(rows)
    assert calls == [] and clf.coefs_ is coefs
    clf.coefs_[0] = clf.coefs_[0] * 2
    clf.predict(X[:1])
    clf.predict(X[:1])
    assert calls == [1]


@pytest.mark.parametrize("how", ["lists", "items"])
def test_float32_network_stays_float32(data, how):
    X, y = data
    clf = _quiet(MLPClassifier((4,), max_iter=2, random_state=0).fit,
                 X.astype(np.float32), y)
    coefs, intercepts = _new_weights(clf, 2)
    _assign(clf, coefs, intercepts, how)
    proba = clf.predict_proba(X.astype(np.float32))
    assert proba.dtype == np.float32
    assert all(W.dtype == np.float32 for W in clf.coefs_ + clf.intercepts_)
    assert_array_equal(clf.coefs_[0], coefs[0].astype(np.float32))


@pytest.mark.parametrize("change, error, match", [
    (lambda clf: setattr(clf, "coefs_", np.zeros(3)), TypeError, "coefs_ must be a list"),
    (lambda clf: clf.coefs_.append(np.zeros((6, 6))), ValueError, "holds 3 arrays"),
    (lambda clf: clf.coefs_.__setitem__(1, np.zeros((10, 6))), ValueError,
     r"coefs_\[1\] has shape \(10, 6\).*takes \(6, 10\)"),
    (lambda clf: clf.intercepts_.__setitem__(0, np.zeros((1, 6))), ValueError,
     r"intercepts_\[0\] has shape"),
    (lambda clf: clf.intercepts_.__setitem__(0, ["a"] * 6), TypeError, "real numbers"),
    (lambda clf: clf.coefs_.__setitem__(1, np.full((6, 10), np.nan)), ValueError,
     "NaN or inf"),
    (lambda clf: delattr(clf, "intercepts_"), ValueError, "deleted"),
])
def test_wrong_weights_are_refused_and_nothing_is_copied(data, change, error, match):
    X, y = data
    _, clf = _both(X, y)
    before = clf._model.get_flat_weights()
    clf.coefs_[0] = np.ones((64, 6))  # a good item alongside the wrong one
    change(clf)
    for call in (lambda: clf.predict(X), lambda: clf.partial_fit(X, y)):
        with pytest.raises(error, match=match):
            call()
        assert_array_equal(clf._model.get_flat_weights(), before)


def test_assigned_weights_are_trained_on_like_sklearn(data):
    X, y = data
    ref, clf = _both(X, y, solver="adam")
    coefs, intercepts = _new_weights(clf, 3)
    ref.coefs_, ref.intercepts_ = [W.copy() for W in coefs], [b.copy() for b in intercepts]
    clf.coefs_, clf.intercepts_ = coefs, intercepts
    ref.partial_fit(X, y)
    clf.partial_fit(X, y)  # the same Adam moments, the assigned weights
    assert_allclose(clf.loss_curve_, ref.loss_curve_, rtol=1e-10)
    for ours, theirs in zip(clf.coefs_ + clf.intercepts_, ref.coefs_ + ref.intercepts_):
        assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    ref.set_params(warm_start=True)
    clf.set_params(warm_start=True)
    ref.coefs_[0] = np.zeros((64, 6))
    clf.coefs_[0] = np.zeros((64, 6))
    _quiet(ref.fit, X, y)
    _quiet(clf.fit, X, y)
    assert_allclose(clf.loss_curve_, ref.loss_curve_, rtol=1e-9)
    assert_allclose(clf.coefs_[0], ref.coefs_[0], rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_unfitted_estimator_trains_from_assigned_weights(data, dtype):
    X, y = data
    X = X.astype(dtype)
    params = dict(hidden_layer_sizes=(6,), solver="sgd", shuffle=False, random_state=0,
                  momentum=0.5, learning_rate_init=0.1)
    template = _quiet(MLPClassifier(max_iter=1, **params).fit, X, y % 2)
    coefs, intercepts = _new_weights(template, 4)
    clf = MLPClassifier(**params)
    clf.coefs_, clf.intercepts_ = coefs, intercepts
    clf.partial_fit(X, y % 2, classes=[0, 1])
    # scikit-learn needs its private state set too, as its own test_fit does
    ref = SkMLP(**params)
    ref.coefs_, ref.intercepts_ = [W.copy() for W in coefs], [b.copy() for b in intercepts]
    ref.n_layers_, ref.out_activation_, ref.t_, ref.loss_curve_ = 3, "logistic", 0, []
    ref.best_loss_, ref._no_improvement_count = np.inf, 0
    ref.partial_fit(X, y % 2, classes=[0, 1])
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    assert_allclose(clf.loss_curve_, ref.loss_curve_, rtol=rtol)
    assert clf.coefs_[0].dtype == dtype and clf.t_ == len(y)
    assert_allclose(clf.coefs_[0], ref.coefs_[0], rtol=rtol, atol=1e-6)
    # fit(warm_start=True) starts from them too; a plain fit draws its own
    warm = MLPClassifier(max_iter=1, warm_start=True, **params)
    warm.coefs_, warm.intercepts_ = coefs, intercepts
    _quiet(warm.fit, X, y % 2)
    assert_allclose(warm.coefs_[0], clf.coefs_[0], rtol=rtol, atol=1e-6)
    cold = MLPClassifier(max_iter=1, **params)
    cold.coefs_, cold.intercepts_ = coefs, intercepts
    _quiet(cold.fit, X, y % 2)
    assert_array_equal(cold.coefs_[0], template.coefs_[0])


def test_assigned_weights_must_fit_the_architecture(data):
    X, y = data
    clf = MLPClassifier((6,), solver="sgd")
    clf.coefs_ = [np.zeros((64, 6)), np.zeros((6, 10))]
    with pytest.raises(ValueError, match="set both coefs_ and intercepts_"):
        clf.partial_fit(X, y, classes=np.arange(10))
    clf.intercepts_ = [np.zeros(6), np.zeros(1)]  # one output: binary, not 10 classes
    with pytest.raises(ValueError, match=r"layer widths \[64, 6, 10\] takes \(10,\)"):
        clf.partial_fit(X, y, classes=np.arange(10))


def test_saving_takes_the_assigned_weights(data, tmp_path):
    X, y = data
    ref, clf = _both(X, y)
    coefs, intercepts = _new_weights(clf, 5)
    ref.coefs_, ref.intercepts_ = coefs, intercepts
    clf.coefs_, clf.intercepts_ = list(coefs), list(intercepts)
    copied = pickle.loads(pickle.dumps(clf))
    assert_allclose(copied.predict_proba(X), ref.predict_proba(X), rtol=1e-12)
    clf.coefs_[1] = np.zeros((6, 10))
    ref.coefs_[1] = np.zeros((6, 10))
    save_model(clf, tmp_path / "m.fnn")
    assert_allclose(load_model(tmp_path / "m.fnn").predict_proba(X),
                    ref.predict_proba(X), rtol=1e-12)
    # weights set on an estimator never fitted are pickled with it
    fresh = MLPClassifier((6,), solver="sgd", shuffle=False, random_state=0)
    fresh.coefs_, fresh.intercepts_ = list(coefs), list(intercepts)
    again = pickle.loads(pickle.dumps(fresh))
    fresh.partial_fit(X, y, classes=np.arange(10))
    again.partial_fit(X, y, classes=np.arange(10))
    assert_array_equal(again.coefs_[0], fresh.coefs_[0])


def test_copies_of_coefs_are_plain_lists_of_arrays(data):
    X, y = data
    _, clf = _both(X, y)
    for copied in (copy.copy(clf.coefs_), copy.deepcopy(clf.coefs_),
                   pickle.loads(pickle.dumps(clf.coefs_)), clf.coefs_ + clf.intercepts_):
        assert type(copied) is list
    deep = copy.deepcopy(clf.coefs_)
    deep[0][...] = 0
    assert clf.coefs_[0].any()


# --------------------------------------------------------------------- _optimizer

@pytest.mark.parametrize("params", [
    dict(learning_rate="constant"),
    dict(learning_rate="invscaling", power_t=0.25),
    dict(learning_rate="adaptive", tol=0.5, n_iter_no_change=1, learning_rate_init=0.3),
    dict(solver="adam"),
])
def test_optimizer_learning_rate_is_sklearns(data, params):
    X, y = data
    ref, clf = _both(X, y, hidden_layer_sizes=(8,), max_iter=6, warm_start=True,
                     **params)
    rates = [(clf._optimizer.learning_rate, ref._optimizer.learning_rate)]
    for step in (ref, clf):
        _quiet(step.fit, X, y)  # a warm start begins a new optimizer, as scikit-learn
    rates.append((clf._optimizer.learning_rate, ref._optimizer.learning_rate))
    ref.partial_fit(X, y)
    clf.partial_fit(X, y)  # goes on at that rate
    rates.append((clf._optimizer.learning_rate, ref._optimizer.learning_rate))
    for ours, theirs in rates:
        assert ours == pytest.approx(theirs, rel=1e-13, abs=0)
    assert_allclose(clf.coefs_[0], ref.coefs_[0], rtol=1e-8, atol=1e-12)
    if params.get("learning_rate") == "adaptive":
        assert rates[0][0] < 0.3 / 5  # the plateaus did lower it


def test_optimizer_exists_after_stochastic_training_only(data, tmp_path):
    X, y = data
    assert not hasattr(MLPClassifier(), "_optimizer")
    lbfgs = _quiet(MLPClassifier((4,), solver="lbfgs", max_iter=3).fit, X, y)
    assert not hasattr(lbfgs, "_optimizer")
    _, clf = _both(X, y, learning_rate="invscaling")
    rate = clf._optimizer.learning_rate
    assert rate == 0.001 / (3 * len(y) + 1) ** 0.5
    save_model(clf, tmp_path / "m.fnn")
    for copied in (pickle.loads(pickle.dumps(clf)), load_model(tmp_path / "m.fnn")):
        assert copied._optimizer.learning_rate == rate
    with pytest.raises(AttributeError):
        clf._optimizer.learning_rate = 1.0  # read-only: the schedule sets it


# --------------------------------------------------------------- _loss_grad_lbfgs

@pytest.mark.parametrize("labels", ["multiclass", "binary", "multilabel"])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_grad_lbfgs_is_sklearns(data, labels, weighted):
    X, y = data
    y = {"multiclass": y, "binary": y % 2,
         "multilabel": np.c_[y % 2, y % 3 == 0, y > 4]}[labels]
    ref, clf = _both(X, y, hidden_layer_sizes=(7, 4), solver="lbfgs", alpha=0.3,
                     activation="tanh")
    n_params = sum(W.size for W in ref.coefs_ + ref.intercepts_)
    theta = np.random.default_rng(0).normal(0, 0.3, n_params)
    Y = ref._label_binarizer.transform(y)
    weights = np.random.default_rng(1).uniform(0, 2, len(y)) if weighted else None
    buffers = [[X] + [None] * 3, [None] * 3, [None] * 3, [None] * 3]
    theirs = ref._loss_grad_lbfgs(theta, X, Y, weights, *buffers)
    ours = clf._loss_grad_lbfgs(theta, X, Y, weights, None, None, None, None)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12)
    assert ours[1].dtype == np.float64
    assert_allclose(ours[1], theirs[1], rtol=1e-10, atol=1e-14)
    # both leave the network at theta
    assert_allclose(clf.predict_proba(X), ref.predict_proba(X), rtol=1e-10)


def test_loss_grad_lbfgs_of_maxout_float32_and_loaded_models(data, tmp_path):
    X, y = data
    clf = _quiet(MLPClassifier((5,), activation="maxout", solver="lbfgs", max_iter=2,
                               random_state=0).fit, X.astype(np.float32), y)
    theta = np.hstack([W.ravel() for W in clf.coefs_ + clf.intercepts_]).astype(float)
    Y = clf._label_binarizer.transform(y)
    loss, grad = clf._loss_grad_lbfgs(theta, X, Y, None, [], [], [], [])
    assert grad.shape == theta.shape and grad.dtype == np.float64
    # a central difference along the gradient, in float64
    clf64 = _quiet(MLPClassifier((5,), activation="maxout", solver="lbfgs", max_iter=2,
                                 random_state=0).fit, X, y)
    loss64, grad64 = clf64._loss_grad_lbfgs(theta, X, Y, None, [], [], [], [])
    assert loss == pytest.approx(loss64, rel=1e-5)
    step = 1e-6 * grad64 / np.linalg.norm(grad64)
    difference = (clf64._loss_grad_lbfgs(theta + step, X, Y, None, [], [], [], [])[0]
                  - clf64._loss_grad_lbfgs(theta - step, X, Y, None, [], [], [], [])[0])
    assert difference / 2 == pytest.approx(step @ grad64, rel=1e-5)
    save_model(clf64, tmp_path / "m.fnn")  # L-BFGS keeps no optimizer in the file
    loaded = load_model(tmp_path / "m.fnn")
    assert loaded._loss_grad_lbfgs(theta, X, Y, None, [], [], [], [])[0] == loss64
    with pytest.raises(ValueError, match="must be 710 real numbers"):
        clf64._loss_grad_lbfgs(theta[1:], X, Y, None, [], [], [], [])
    with pytest.raises(ValueError, match="binarized labels"):
        clf64._loss_grad_lbfgs(theta, X, y, None, [], [], [], [])
