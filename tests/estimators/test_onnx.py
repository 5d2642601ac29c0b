"""ONNX export (fastnn.onnx): onnxruntime gives each estimator's predict exactly and
its predict_proba within 1e-5, float32 and float64, with and without the ZipMap, on
the lecture's examples, iris and digits; the errors of what cannot be converted.
Skipped where the optional extra onnx is not installed."""

import importlib
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from fastnn import LogisticRegression, MLPClassifier, OneVsAllClassifier

REASON = 'the optional extra onnx is not installed (pip install ".[onnx]")'
skl2onnx = pytest.importorskip("skl2onnx", reason=REASON)
onnxruntime = pytest.importorskip("onnxruntime", reason=REASON)
fastnn_onnx = pytest.importorskip("fastnn.onnx", reason=REASON)

DTYPES = [np.float32, np.float64]
ATOL = 1e-5
ACTIVATIONS = ["relu", "tanh", "logistic", "identity", "leaky_relu", "elu", "maxout"]

# The lecture's three-point table (x1, x2, y), as in tests/models.
X3 = np.array([[-2.0, 4.0], [2.0, 2.6], [-0.4, 1.0]])
Y3 = np.array([0, 1, 1])
# The lecture's one-vs-all example (OneVsAllClassifier's docstring): three animals,
# and as a multilabel target whose last label every sample has.
X_ANIMALS = np.array([[10, 10], [8, 10], [-5, 5.5], [-5.4, 5.5], [-20, -20],
                      [-15, -20]])
Y_ANIMALS = np.array(["cat", "cat", "dog", "dog", "fox", "fox"])
Y_LABELS = np.array([[1, 0, 1], [1, 0, 1], [1, 1, 1], [1, 1, 1], [0, 1, 1], [0, 1, 1]])


def _iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _digits():
    X, y = load_digits(return_X_y=True)
    return X / 16, y


DATA = {"three_points": lambda: (X3, Y3), "animals": lambda: (X_ANIMALS, Y_ANIMALS),
        "iris": _iris, "digits": _digits}


def _run(model, X):
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def _check(estimator, X, zipmap=False):
    """estimator's predict (exactly) and predict_proba (to ATOL) from onnxruntime on
    the model skl2onnx.to_onnx makes of it for X; returns the outputs."""
    model = skl2onnx.to_onnx(estimator, X, options={"zipmap": zipmap})
    labels, proba = _run(model, X)
    assert_array_equal(labels, estimator.predict(X))
    expected = estimator.predict_proba(X)
    if zipmap:
        # a list of {class: probability}; ONNX's ZipMap holds float32 values
        assert [list(row) for row in proba] == [list(estimator.classes_)] * len(X)
        proba = np.array([list(row.values()) for row in proba])
    else:
        assert proba.dtype == X.dtype and proba.shape == expected.shape
    assert_allclose(proba, expected, rtol=0, atol=ATOL)
    return labels, proba


# ------------------------------------------------------------- LogisticRegression

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("zipmap", [False, True], ids=["tensor", "zipmap"])
@pytest.mark.parametrize("data", ["three_points", "animals", "iris", "digits"])
def test_logistic_regression(data, zipmap, dtype):
    X, y = DATA[data]()
    X = X.astype(dtype)
    _check(_fit(LogisticRegression(max_iter=300), X, y), X, zipmap)


def test_logistic_regression_raw_scores():
    clf = LogisticRegression().fit(X3, Y3)
    _, scores = _run(skl2onnx.to_onnx(clf, X3, options={"zipmap": False,
                                                        "raw_scores": True}), X3)
    z = clf.decision_function(X3)
    assert_allclose(scores, np.column_stack([-z, z]), atol=1e-12)


def test_logistic_regression_sparsified():
    clf = _fit(LogisticRegression(), *_iris()).sparsify()
    _check(clf, _iris()[0])


# ------------------------------------------------------------- OneVsAllClassifier

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("zipmap", [False, True], ids=["tensor", "zipmap"])
@pytest.mark.parametrize("data", ["three_points", "animals", "iris", "digits"])
def test_one_vs_all(data, zipmap, dtype):
    X, y = DATA[data]()
    X = X.astype(dtype)
    _check(_fit(OneVsAllClassifier(), X, y), X, zipmap)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_one_vs_all_multilabel_with_a_constant_label(dtype):
    X = X_ANIMALS.astype(dtype)
    with pytest.warns(UserWarning, match="Label 2 is present in all"):
        clf = OneVsAllClassifier().fit(X, Y_LABELS)
    labels, _ = _check(clf, X)
    assert_array_equal(labels, Y_LABELS)
    labels, _ = _check(clf, X, zipmap=True)
    assert labels.shape == Y_LABELS.shape


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_one_vs_all_row_that_every_estimator_gives_zero_is_uniform(dtype):
    X = X_ANIMALS.astype(dtype)
    clf = OneVsAllClassifier().fit(X, Y_ANIMALS)
    for shift, binary in zip([1000, 1010, 1020], clf.estimators_):
        binary.intercept_ = binary.intercept_ - dtype(shift)  # sigmoid rounds to 0
    clf.estimators_ = list(clf.estimators_)
    labels, proba = _check(clf, X)
    assert_array_equal(proba, np.full((len(X), 3), dtype(1 / 3)))
    assert_array_equal(labels, clf.classes_[clf.decision_function(X).argmax(axis=1)])


@pytest.mark.parametrize("binary", [
    MLPClassifier((5,), solver="lbfgs", max_iter=50, random_state=0),
    make_pipeline(StandardScaler(), LogisticRegression()),
], ids=["mlp", "pipeline"])
def test_one_vs_all_of_other_estimators(binary):
    X, y = _iris()
    _check(_fit(OneVsAllClassifier(binary), X, y), X)


def test_one_vs_all_without_probabilities_is_refused():
    clf = OneVsAllClassifier(LinearSVC()).fit(*_iris())
    with pytest.raises(ValueError, match="no predict_proba"):
        skl2onnx.to_onnx(clf, _iris()[0])


# ------------------------------------------------------------------ MLPClassifier

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("data", ["three_points", "digits"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mlp_activation(activation, data, dtype):
    X, y = DATA[data]()
    X = X.astype(dtype)
    clf = MLPClassifier((8, 6), activation, learning_rate_init=0.01, max_iter=10,
                        random_state=0)
    _check(_fit(clf, X, y), X)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("zipmap", [False, True, "columns"],
                         ids=["tensor", "zipmap", "columns"])
def test_mlp_with_dropout_and_string_classes(zipmap, dtype):
    X = X_ANIMALS.astype(dtype)
    clf = _fit(MLPClassifier((8,), "maxout", dropout=0.2, learning_rate_init=0.05,
                             max_iter=50, random_state=0), X, Y_ANIMALS)
    if zipmap != "columns":
        _check(clf, X, zipmap)
        return
    labels, *columns = _run(skl2onnx.to_onnx(clf, X, options={"zipmap": "columns"}), X)
    assert_array_equal(labels, clf.predict(X))
    assert_allclose(np.column_stack(columns), clf.predict_proba(X), atol=ATOL)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_mlp_multilabel(dtype):
    X = X_ANIMALS.astype(dtype)
    clf = _fit(MLPClassifier((6,), "elu", solver="lbfgs", random_state=0), X, Y_LABELS)
    labels, _ = _check(clf, X)
    assert labels.shape == Y_LABELS.shape


def test_mlp_in_a_pipeline_and_float32_input_to_a_float64_network():
    X, y = _digits()
    pipe = _fit(make_pipeline(StandardScaler(), MLPClassifier(
        (16,), "leaky_relu", solver="lbfgs", max_iter=30, random_state=0)),
        X[:300], y[:300])
    _check(pipe, X)
    X32 = X.astype(np.float32)
    _check(pipe[-1], pipe[0].transform(X32).astype(np.float32))


def test_mlp_of_one_class_is_refused():
    clf = _fit(MLPClassifier((3,), solver="lbfgs", max_iter=5), X3, [1, 1, 1])
    with pytest.raises(ValueError, match="one class"):
        skl2onnx.to_onnx(clf, X3)


# ----------------------------------------------------------- the module and errors

@pytest.mark.parametrize("cls", [LogisticRegression, OneVsAllClassifier, MLPClassifier])
@pytest.mark.parametrize("convert", [skl2onnx.to_onnx, fastnn_onnx.to_onnx],
                         ids=["skl2onnx", "fastnn"])
def test_unfitted_estimator_is_refused(convert, cls):
    with pytest.raises(NotFittedError, match=f"This {cls.__name__} instance is not"):
        convert(cls(), X3)


@pytest.mark.parametrize("cls", [LogisticRegression, OneVsAllClassifier, MLPClassifier])
def test_nocl_and_output_class_labels(cls):
    clf = _fit(cls(), X_ANIMALS, Y_ANIMALS)
    options = {"zipmap": False, "nocl": True}
    labels, _ = _run(skl2onnx.to_onnx(clf, X_ANIMALS, options=options), X_ANIMALS)
    assert_array_equal(labels, np.searchsorted(clf.classes_, clf.predict(X_ANIMALS)))
    options = {"zipmap": False, "output_class_labels": True}
    *_, classes = _run(skl2onnx.to_onnx(clf, X_ANIMALS, options=options), X_ANIMALS)
    assert_array_equal(classes, clf.classes_)


@pytest.mark.parametrize("cls", [LogisticRegression, OneVsAllClassifier, MLPClassifier])
def test_float_classes_are_int64_labels(cls):
    labels, _ = _check(_fit(cls(), X3, [-1.0, 2.0, 2.0]), X3)
    assert labels.dtype == np.int64


def test_to_onnx_is_skl2onnx_s():
    clf = LogisticRegression().fit(X3.astype(np.float32), Y3)
    ours = fastnn_onnx.to_onnx(clf, X3.astype(np.float32), options={"zipmap": False})
    theirs = skl2onnx.to_onnx(clf, X3.astype(np.float32), options={"zipmap": False})
    assert ours.graph == theirs.graph


def test_options_are_left_as_given():
    options = {"zipmap": False}
    skl2onnx.to_onnx(LogisticRegression().fit(X3, Y3), X3, options=options)
    assert options == {"zipmap": False}


def test_without_skl2onnx_the_import_says_what_to_install(monkeypatch):
    for name in [name for name in sys.modules if name.startswith("fastnn.onnx")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "skl2onnx", None)  # import skl2onnx fails
    with pytest.raises(ImportError, match=r'pip install "fastnn-cython\[onnx\]"'):
        importlib.import_module("fastnn.onnx")
