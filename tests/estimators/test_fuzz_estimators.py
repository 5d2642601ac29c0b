"""Property-based fuzzing of fit/predict: the three estimators and ``Sequential``.

Each example draws a tiny data set: 0, 1 or a few rows and features, float32/float64
or another type (int, bool, object, a list), constant columns, values scaled up to
1e30, sometimes NaN or inf; labels as ints, strings, floats, bools or a mix; sample
weights with zeros. Fits are kept short (a few iterations). Then:

* bad input (NaN/inf, no rows or features, mixed label types, mismatched lengths)
  raises ValueError or TypeError;
* anything else either fits, or raises a ValueError (one class, divergence);
* a fitted model predicts known classes and finite probabilities that sum to 1,
  with no RuntimeWarning anywhere (they are errors here).

Profiles: see tests/_fuzz.py.
"""

import warnings

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning

from fastnn import LogisticRegression, MLPClassifier, OneVsAllClassifier, Sequential
from fastnn.layers import Activation, Dense, Dropout, Maxout
from fastnn.optimizers import SGD, Adam

from _fuzz import CLEAN_ERRORS, fuzz, specials


def _run(function, *args, **kwargs):
    """Call under warnings-as-errors (scikit-learn's ConvergenceWarning after
    max_iter=3 and DataConversionWarning for a column y are fair); returns
    (result, None) or (None, the clean error)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DataConversionWarning)  # a column-vector y
        try:
            return function(*args, **kwargs), None
        except CLEAN_ERRORS as error:
            return None, error


@st.composite
def datasets(draw):
    """(X, y, sample_weight, valid): valid is True when the data must be accepted,
    False when it must be refused, None when either is fair."""
    n = draw(st.sampled_from([0, 1, 2, 3, 5, 12, 30]), label="n_samples")
    f = draw(st.sampled_from([0, 1, 1, 2, 5]), label="n_features")
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1.0, 1.0, 1e3, 1e15, 1e30]), label="scale")
    X = (rng.normal(size=(n, f)) * scale).astype(dtype)
    valid = n >= 1 and f >= 1
    if n and f and draw(st.booleans()):
        X[:, draw(st.integers(0, f - 1))] = draw(st.sampled_from([0.0, 1.0, 1e30]))
    nonfinite = draw(st.sampled_from([None] * 6 + [np.nan, np.inf, -np.inf]))
    if nonfinite is not None and X.size:
        X.flat[draw(st.integers(0, X.size - 1))] = nonfinite
        valid = False
    elif X.size and draw(st.integers(0, 4)) == 0:
        where = draw(st.integers(0, X.size - 1))
        X.flat[where] = draw(st.sampled_from(specials(dtype)))
    layout = draw(st.sampled_from(["C"] * 5 + ["F", "strided", "readonly", "int",
                                               "bool", "object", "list", "1d"]))
    if layout == "F":
        X = np.asfortranarray(X)
    elif layout == "strided":
        X = np.repeat(X, 2, axis=0)[::2]
    elif layout == "readonly":
        X.flags.writeable = False
    elif layout == "int":
        X = np.nan_to_num(X).clip(-1e6, 1e6).astype(np.int64)
        valid = n >= 1 and f >= 1  # the NaN or inf became a number
    elif layout == "bool":
        X = X != 0
        valid = n >= 1 and f >= 1
    elif layout == "object":
        X = X.astype(object)
    elif layout == "list":
        X = X.tolist()
    elif layout == "1d":
        X, valid = X.reshape(-1), False

    n_classes = draw(st.sampled_from([1, 2, 2, 3, 4]), label="n_classes")
    labels = rng.integers(0, n_classes, n)
    if n >= n_classes and draw(st.booleans()):
        labels[:n_classes] = np.arange(n_classes)
    kind = draw(st.sampled_from(["int", "int", "str", "float", "continuous", "bool",
                                 "mixed", "nan", "2d", "short"]), label="labels")
    if kind == "str":
        y = np.array([f"c{label}" for label in labels])
    elif kind == "float":
        y = labels.astype(float) - 0.0  # integral floats are class labels
    elif kind == "continuous":
        y = labels.astype(float) + rng.uniform(0.1, 0.9, n)  # refused: not classes
        valid = False if n else valid
    elif kind == "bool":
        y = labels % 2 == 0
    elif kind == "mixed":
        y = np.array([1 if label % 2 else "a" for label in labels], dtype=object)
        valid = False if len(set(map(type, y))) > 1 else valid
    elif kind == "nan":
        y = labels.astype(float)
        if n:
            y[0] = np.nan
            valid = False
    elif kind == "2d":
        y = labels.reshape(-1, 1)  # scikit-learn warns (DataConversionWarning), ravels
        valid = None if valid else valid
    elif kind == "short":
        y = labels[:-1] if n else labels[:0]
        valid = False if n else valid
    else:
        y = labels
    if valid and len(np.unique(np.asarray(y).astype(str))) < 2:
        valid = None  # one class: refused by logistic regression

    weights = draw(st.sampled_from(["none", "none", "ones", "some_zeros", "all_zeros",
                                    "negative", "wrong_length", "nan"]),
                   label="weights")
    if weights == "none":
        sample_weight = None
    elif weights == "ones":
        sample_weight = np.ones(n)
    elif weights == "some_zeros":
        sample_weight = rng.uniform(0, 2, n) * (rng.uniform(size=n) > 0.3)
        valid = None if valid else valid
    elif weights == "all_zeros":
        sample_weight = np.zeros(n)
        valid = None if valid else valid
    elif weights == "negative":
        sample_weight = -np.ones(n)
        valid = False if n else valid
    elif weights == "wrong_length":
        sample_weight = np.ones(n + 1)
        valid = False
    else:
        sample_weight = np.ones(n)
        if n:
            sample_weight[0] = np.nan
            valid = False
    if scale >= 1e15 and valid:
        valid = None  # may diverge: a ValueError saying so is fair
    return X, y, sample_weight, valid


ESTIMATORS = {
    "lr_lbfgs": lambda: LogisticRegression(max_iter=5),
    "lr_sgd": lambda: LogisticRegression(solver="sgd", max_iter=3, random_state=0),
    "ova": lambda: OneVsAllClassifier(LogisticRegression(max_iter=5)),
    "mlp_adam": lambda: MLPClassifier((3,), max_iter=3, random_state=0),
    "mlp_sgd": lambda: MLPClassifier((2, 2), solver="sgd", activation="tanh",
                                     max_iter=3, random_state=0),
    "mlp_lbfgs": lambda: MLPClassifier((3,), solver="lbfgs", max_iter=3,
                                       random_state=0),
    "mlp_maxout": lambda: MLPClassifier((2,), activation="maxout", dropout=0.2,
                                        max_iter=3, random_state=0),
}


@fuzz(max_examples=40)
@given(data=datasets(), name=st.sampled_from(sorted(ESTIMATORS)))
def test_estimator_fit_predict(data, name):
    X, y, sample_weight, valid = data
    estimator = ESTIMATORS[name]()
    fitted, error = _run(estimator.fit, X, y, sample_weight=sample_weight)
    if valid is True:
        assert error is None, f"valid data was refused: {error!r}"
    if valid is False:
        assert error is not None, "invalid data was accepted"
    if error is not None:
        return
    assert fitted is estimator
    classes = estimator.classes_
    labels, error = _run(estimator.predict, X)
    assert error is None, repr(error)
    assert np.isin(labels, classes).all()
    proba, error = _run(estimator.predict_proba, X)
    assert error is None, repr(error)
    # NOTE: as scikit-learn's, an MLP fitted on one class gives two probability columns.
    width = 2 if name.startswith("mlp") and len(classes) == 1 else len(classes)
    assert proba.shape == (len(labels), width)
    assert np.isfinite(proba).all(), "NaN or inf probabilities from finite data"
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    # a row of other width, or NaN, is refused at predict time
    if np.ndim(X) == 2 and np.shape(X)[1]:
        wider = np.zeros((1, np.shape(X)[1] + 1))
        assert _run(estimator.predict, wider)[1] is not None
        bad = np.full((1, np.shape(X)[1]), np.nan)
        assert _run(estimator.predict_proba, bad)[1] is not None


# --------------------------------------------------------------------------- Sequential


@st.composite
def networks(draw):
    """A small random Sequential, its loss and the width of its output."""
    layers, width = [], None
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["dense", "dense", "activation", "dropout",
                                     "maxout"]))
        if kind == "dense":
            width = draw(st.integers(1, 4))
            layers.append(Dense(width, activation=draw(st.sampled_from(
                [None, "relu", "tanh", "sigmoid", "elu", "leaky_relu", "linear"]))))
        elif kind == "activation":
            layers.append(Activation(draw(st.sampled_from(
                ["relu", "tanh", "sigmoid", "softmax", "elu"]))))
        elif kind == "dropout":
            layers.append(Dropout(draw(st.sampled_from([0.0, 0.5, 0.9])), seed=0))
        else:
            width = draw(st.integers(1, 3))
            layers.append(Maxout(width, pieces=draw(st.integers(1, 3))))
    loss = draw(st.sampled_from(["sparse_categorical_crossentropy",
                                 "categorical_crossentropy", "binary_crossentropy",
                                 "mse"]))
    out = draw(st.integers(1, 4))
    final = {"sparse_categorical_crossentropy": "softmax",
             "categorical_crossentropy": "softmax", "binary_crossentropy": "sigmoid",
             "mse": draw(st.sampled_from([None, "linear", "tanh"]))}[loss]
    layers.append(Dense(out, activation=final))
    optimizer = draw(st.sampled_from(["sgd", "adam", "sgd_fast", "adam_fast"]))
    optimizer = {"sgd": "sgd", "adam": "adam",
                 "sgd_fast": SGD(lr=10.0, momentum=0.9, nesterov=True),
                 "adam_fast": Adam(lr=1.0)}[optimizer]
    return layers, loss, out, optimizer


@fuzz(max_examples=40)
@given(data=st.data(), net=networks(), dtype=st.sampled_from([np.float32, np.float64]))
def test_sequential_fit_predict(data, net, dtype):
    layers, loss, out, optimizer = net
    n = data.draw(st.sampled_from([0, 1, 2, 7, 20]), label="n_samples")
    f = data.draw(st.sampled_from([1, 1, 3]), label="n_features")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    scale = data.draw(st.sampled_from([1.0, 1.0, 1e3, 1e15, 1e30]), label="scale")
    X = (rng.normal(size=(n, f)) * scale).astype(dtype)
    valid = n >= 1
    if X.size and data.draw(st.integers(0, 5)) == 0:
        X.flat[data.draw(st.integers(0, X.size - 1))] = data.draw(
            st.sampled_from([np.nan, np.inf]))
        valid = False
    labels = rng.integers(0, out, n)
    if loss == "sparse_categorical_crossentropy":
        y = labels
        if n and data.draw(st.integers(0, 5)) == 0:
            y = labels.copy()
            y[0] = data.draw(st.sampled_from([out, -1]))
            valid = False
    elif loss == "categorical_crossentropy":
        y = np.eye(out, dtype=dtype)[labels]
    elif loss == "binary_crossentropy":
        y = rng.integers(0, 2, (n, out)).astype(dtype)
    else:
        size = data.draw(st.sampled_from([1.0, 1e20]))
        y = (rng.normal(size=(n, out)) * size).astype(dtype)
    sample_weight = data.draw(st.sampled_from([None, "zeros", "some"]))
    if sample_weight == "zeros":
        sample_weight = np.zeros(n, dtype)
    elif sample_weight == "some":
        sample_weight = (rng.uniform(size=n) > 0.5).astype(dtype)
    model = Sequential(layers, seed=0)
    model.compile(optimizer, loss)
    batch_size = data.draw(st.sampled_from([1, 4, 32]))
    epochs = data.draw(st.sampled_from([1, 2]))
    history, error = _run(model.fit, X, y, batch_size=batch_size, epochs=epochs,
                          verbose=0, sample_weight=sample_weight)
    if valid is False:
        assert error is not None, "invalid data was accepted"
        return
    if error is not None:
        # fair refusals: no rows, and divergence (named as such)
        message = str(error)
        assert n == 0 or any(word in message for word in (
            "overflow", "diverge", "learning rate", "NaN", "inf", "finite",
            "sample_weight sums to 0")), message
        return
    assert all(np.isfinite(v).all() for v in history.history.values()), history.history
    Y, error = _run(model.predict, X)
    if error is not None:
        message = str(error)
        assert any(w in message for w in ("overflow", "finite", "NaN", "inf")), message
        return
    assert Y.shape == (n, out) and Y.dtype == dtype
    assert np.isfinite(Y).all(), "NaN or inf predictions from finite data after a fit"
    if loss in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        np.testing.assert_allclose(Y.sum(axis=1), 1.0, rtol=1e-4)


def test_sequential_without_weights_trains_and_predicts():
    """A network of one Activation has an empty weight vector; the training loop's
    finiteness test (ops.sum_of_squares) raised SciPy's _fblas.error on it (found by
    fuzzing ops with empty arrays)."""
    X = np.random.default_rng(0).normal(size=(6, 3))
    model = Sequential([Activation("softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    history, error = _run(model.fit, X, np.arange(6) % 3, epochs=2, verbose=0)
    assert error is None, repr(error)
    assert np.isfinite(history.history["loss"]).all()
    np.testing.assert_allclose(model.predict(X).sum(axis=1), 1.0)
