"""Sequential learns: the network's gradient against finite differences, the lecture's
three points, digits; and does so reproducibly (seeds, dropout masks) in its dtype.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from fastnn import Sequential
from fastnn.layers import Activation, Dense, Dropout, Maxout
from fastnn.optimizers import SGD, Adam

from _sequential_cases import _data, _model

# The lecture's three-point table (x1, x2, y).
X3 = np.array([[-2.0, 4.0], [2.0, 2.6], [-0.4, 1.0]])
Y3 = np.array([0, 1, 1])


# ------------------------------------------- the network's gradient, end to end

def _network_gradient_check(model, X, y, sample_weight=None):
    """One SGD step with lr = 1 moves the weights by exactly minus the gradient of the
    mean loss; compare with central differences of ``evaluate`` in float64."""
    n = len(X)
    model.build(X.shape[1], np.float64)
    start = model.get_weights()
    model.train_on_batch(X, y, sample_weight=sample_weight)
    analytic = [a - b for a, b in zip(start, model.get_weights())]
    assert any(np.abs(g).max() > 1e-4 for g in analytic)
    eps = 1e-6
    for index, weight in enumerate(start):
        numerical = np.zeros_like(weight)
        for position in np.ndindex(weight.shape):
            values = []
            for step in (eps, -eps):
                trial = [w.copy() for w in start]
                trial[index][position] += step
                model.set_weights(trial)
                values.append(model.evaluate(X, y, batch_size=n,
                                             sample_weight=sample_weight))
            numerical[position] = (values[0] - values[1]) / (2 * eps)
        assert_allclose(analytic[index], numerical, rtol=1e-5, atol=1e-8,
                        err_msg=f"weight {index}")


@pytest.mark.parametrize("loss, head", [
    ("categorical_crossentropy", [Dense(3, activation="softmax")]),
    ("sparse_categorical_crossentropy", [Dense(3), Activation("softmax")]),
    ("binary_crossentropy", [Dense(2, activation="sigmoid")]),
    ("mse", [Dense(2, activation="elu")]),
    # Not fused: the loss reads the probabilities through a linear layer.
    ("categorical_crossentropy", [Dense(3, activation="softmax"), Activation("linear")]),
    ("sparse_categorical_crossentropy", [Dense(3, activation="softmax"),
                                         Activation("linear")]),
    ("binary_crossentropy", [Dense(2, activation="sigmoid"), Activation("linear")]),
], ids=["cce-fused", "sparse-fused", "bce-fused", "mse", "cce-plain", "sparse-plain",
        "bce-plain"])
def test_network_gradient_matches_finite_differences(loss, head, rng):
    model = Sequential([Dense(4, activation="tanh", input_dim=3),
                        Maxout(3, pieces=2, bias_initializer="normal"),
                        Dense(4, activation="sigmoid"), *head], seed=1)
    model.compile(SGD(learning_rate=1.0), loss)
    X = rng.normal(size=(6, 3))
    k = head[0].units
    if loss == "categorical_crossentropy":
        y = np.eye(k)[rng.integers(0, k, 6)]
    elif loss == "sparse_categorical_crossentropy":
        y = rng.integers(0, k, 6)
    elif loss == "binary_crossentropy":
        y = rng.uniform(0, 1, (6, k))
    else:
        y = rng.normal(size=(6, k))
    _network_gradient_check(model, X, y, sample_weight=rng.uniform(0.5, 2.0, 6))


def test_network_gradient_without_bias_and_first_layer_without_params(rng):
    model = Sequential([Activation("tanh"), Dense(4, activation="elu", use_bias=False),
                        Dense(2, activation="softmax")], seed=2)
    model.compile(SGD(learning_rate=1.0), "sparse_categorical_crossentropy")
    _network_gradient_check(model, rng.normal(size=(5, 3)), rng.integers(0, 2, 5))


# ---------------------------------------------------------------- learning

@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_lecture_three_points_with_one_sigmoid_neuron(optimizer, dtype):
    model = Sequential([Dense(1, activation="sigmoid", input_dim=2)], seed=0)
    opt = SGD(lr=0.5) if optimizer == "sgd" else Adam(lr=0.1)
    model.compile(opt, "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(X3.astype(dtype), Y3, epochs=200, batch_size=3, verbose=0)
    loss, acc = model.evaluate(X3.astype(dtype), Y3)
    assert acc == 1.0
    assert loss < 0.1 < history.history["loss"][0]
    P = model.predict(X3.astype(dtype)).ravel()
    assert P[0] < 0.5 < min(P[1], P[2])
    # The separating line x theta = 0 puts the points on the right sides.
    W, b = model.get_weights()
    assert_array_equal((X3 @ W.astype(np.float64) + b > 0).ravel(), Y3.astype(bool))


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


@pytest.mark.parametrize("optimizer", [SGD(lr=0.1, momentum=0.9), Adam(lr=0.005)],
                         ids=["sgd-momentum", "adam"])
@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy",
                                  "categorical_crossentropy"])
def test_digits(optimizer, loss, digits):
    X_train, X_test, y_train, y_test = digits
    model = Sequential([Dense(100, activation="relu", input_dim=64),
                        Dense(10, activation="softmax")], seed=0)
    model.compile(type(optimizer)(**optimizer.get_config()), loss, metrics=["accuracy"])
    if loss == "categorical_crossentropy":
        y_train, y_test = np.eye(10)[y_train], np.eye(10)[y_test]
    history = model.fit(X_train.astype(np.float32), y_train, epochs=5, batch_size=32,
                        verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    _, accuracy = model.evaluate(X_test, y_test)
    assert accuracy > 0.95
    predicted = model.predict(X_test).argmax(axis=1)
    expected = y_test if y_test.ndim == 1 else y_test.argmax(axis=1)
    assert np.mean(predicted == expected) == pytest.approx(accuracy)


# ---------------------------------------------------------------- determinism

def test_same_seed_same_weights_after_fit_with_dropout(rng):
    X, y = _data(rng, n=50)
    runs = []
    for _ in range(2):
        model = _model(seed=5, dropout=True)
        model.fit(X, y, epochs=3, batch_size=8, verbose=0)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        assert_array_equal(a, b)


def test_different_seeds_differ(rng):
    X, y = _data(rng, n=50)
    a, b = _model(seed=5, dropout=True), _model(seed=6, dropout=True)
    for model in (a, b):
        model.fit(X, y, epochs=1, verbose=0)
    assert not np.array_equal(a.get_weights()[0], b.get_weights()[0])


def test_dropout_seed_changes_only_the_masks(rng):
    """Same model seed, different Dropout seeds: same start, different training."""
    X, y = _data(rng, n=50)
    models = []
    for dropout_seed in (1, 2):
        model = Sequential([Dense(8, activation="tanh", input_dim=3),
                            Dropout(0.5, seed=dropout_seed), Dense(3, activation="softmax")],
                           seed=0)
        model.compile(SGD(lr=0.1), "sparse_categorical_crossentropy")
        model.build(3, np.float64)
        models.append((model, model.get_weights()))
    (a, start_a), (b, start_b) = models
    assert_array_equal(start_a[0], start_b[0])
    for model, _ in models:
        model.fit(X, y, epochs=1, verbose=0)
    assert not np.array_equal(a.get_weights()[0], b.get_weights()[0])


def test_dropout_is_off_in_predict_and_evaluate(rng):
    X, y = _data(rng)
    model = _model(dropout=True)
    assert_array_equal(model.predict(X), model.predict(X))
    assert model.evaluate(X, y) == model.evaluate(X, y)


# ---------------------------------------------------------------- dtypes

def test_the_model_keeps_its_dtype(rng, dtype):
    X, y = _data(rng, dtype=dtype)
    model = _model()
    history = model.fit(X, y, epochs=2, verbose=0)
    assert model.dtype == dtype
    assert all(w.dtype == dtype for w in model.get_weights())
    assert model.predict(X).dtype == dtype
    # Other inputs are converted to the model's dtype.
    other = np.float64 if dtype == np.float32 else np.float32
    assert model.predict(X.astype(other)).dtype == dtype
    assert isinstance(history.history["loss"][0], float)
    assert isinstance(model.evaluate(X.astype(other), y), float)
    model.fit(X.astype(other), y, verbose=0)
    assert all(w.dtype == dtype for w in model.get_weights())


def test_float32_and_float64_models_agree(rng):
    X, y = _data(rng)
    results = {}
    for dtype in (np.float32, np.float64):
        model = _model(seed=3)
        model.fit(X.astype(dtype), y, epochs=2, batch_size=8, verbose=0)
        results[dtype] = model.predict(X.astype(dtype))
    assert_allclose(results[np.float32], results[np.float64], rtol=1e-4, atol=1e-5)


def test_integer_inputs_make_a_float32_model():
    model = _model()
    model.fit(np.array([[1, 2, 3], [4, 5, 6]]), [0, 1], verbose=0)
    assert model.dtype == np.float32
