"""Sequential refuses bad input with a clear error (before compile, wrong widths, NaN,
labels out of range, unknown names, bad arguments) and survives divergence: the
weights of the last good epoch come back and training goes on.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn import Sequential
from fastnn.layers import Dense
from fastnn.optimizers import SGD

from _sequential_cases import _data, _model

# ---------------------------------------------------------------- bad input

def test_fit_before_compile(rng):
    X, y = _data(rng)
    model = Sequential([Dense(3, input_dim=3)])
    with pytest.raises(ValueError, match="compile"):
        model.fit(X, y, verbose=0)
    with pytest.raises(ValueError, match="compile"):
        model.evaluate(X, y)


def test_compile_needs_a_loss():
    with pytest.raises(ValueError, match="loss"):
        Sequential([Dense(3, input_dim=3)]).compile("sgd")


def test_wrong_input_width(rng):
    X, y = _data(rng)
    model = _model()
    model.fit(X, y, verbose=0)
    for call in (lambda: model.fit(X[:, :2], y, verbose=0),
                 lambda: model.predict(X[:, :2]),
                 lambda: model.evaluate(np.hstack([X, X]), y)):
        with pytest.raises(ValueError, match=r"(2|6) features, but the model expects 3"):
            call()
    # Before the model is built, the first layer's input_dim is what is expected.
    with pytest.raises(ValueError, match="width 3, got 2"):
        _model().fit(X[:, :2], y, verbose=0)


@pytest.mark.parametrize("bad, match", [(np.nan, "NaN"), (np.inf, "infinity"),
                                        (-np.inf, "infinity")])
def test_nan_or_inf_in_x(bad, match, rng):
    X, y = _data(rng)
    X[3, 1] = bad
    model = _model()
    for call in (lambda: model.fit(X, y, verbose=0), lambda: model.predict(X),
                 lambda: model.evaluate(X, y)):
        with pytest.raises(ValueError, match=match):
            call()


def test_y_whose_width_does_not_match_the_last_layer(rng):
    X, y = _data(rng)
    model = _model(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"needs targets of shape \(40, 3\).*got \(40, 4\)"):
        model.fit(X, np.eye(4)[y], verbose=0)
    with pytest.raises(ValueError, match=r"needs targets of shape \(40, 3\).*got \(39, 3\)"):
        model.fit(X, np.eye(3)[y][:39], verbose=0)


def test_labels_out_of_range(rng):
    X, y = _data(rng)
    y[0] = 3
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\).*got values in \[0, 3\]"):
        _model().fit(X, y, verbose=0)


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown activation 'sigmoida'"):
        Sequential([Dense(3, activation="sigmoida", input_dim=2)])
    with pytest.raises(ValueError, match="unknown initializer 'glorot'"):
        Sequential([Dense(3, init="glorot", input_dim=2)])
    model = Sequential([Dense(3, input_dim=2)])
    with pytest.raises(ValueError, match="unknown loss 'categorical crossentropy'"):
        model.compile("sgd", "categorical crossentropy")
    with pytest.raises(ValueError, match="unknown optimizer 'sgdm'"):
        model.compile("sgdm", "mse")
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        model.compile("sgd", "mse", metrics=["f1"])


def test_predict_before_the_model_is_built(rng):
    model = Sequential([Dense(3), Dense(2)])
    with pytest.raises(ValueError, match="not built"):
        model.predict(rng.normal(size=(2, 3)))
    # With input_dim declared the model builds itself, as Keras does.
    assert Sequential([Dense(2, input_dim=3)]).predict(rng.normal(size=(2, 3))).shape == (2, 2)


@pytest.mark.parametrize("x, match", [
    (np.empty((0, 3)), "0 sample"),
    (np.ones(3), "Expected 2D array"),
    (np.ones((2, 3, 1)), "dim 3"),
    (np.array([["a", "b", "c"], ["d", "e", "f"]]), "string"),
])
def test_bad_x(x, match):
    model = _model()
    with pytest.raises(ValueError, match=match):
        model.fit(x, np.zeros(len(x), int), verbose=0)
    with pytest.raises(ValueError, match=match):
        model.predict(x)


@pytest.mark.parametrize("kwargs, error", [
    (dict(batch_size=0), ValueError), (dict(epochs=0), ValueError),
    (dict(batch_size=2.5), TypeError), (dict(epochs="3"), TypeError),
])
def test_bad_fit_arguments(kwargs, error, rng):
    X, y = _data(rng)
    with pytest.raises(error, match="batch_size|epochs"):
        _model().fit(X, y, verbose=0, **kwargs)


# ---------------------------------------------------------------- divergence

@pytest.mark.parametrize("loss", ["mse", "categorical_crossentropy"])
def test_diverging_learning_rate(loss, dtype):
    rng = np.random.default_rng(0)
    X = (1000.0 * rng.normal(size=(200, 5))).astype(dtype)  # unscaled inputs
    if loss == "mse":
        y, head = X.sum(axis=1, keepdims=True), Dense(1)
    else:
        y, head = np.eye(3)[rng.integers(0, 3, 200)], Dense(3, activation="softmax")
    model = Sequential([Dense(8, activation="relu", input_dim=5), head], seed=0)
    model.compile(SGD(lr=1e6, momentum=0.9), loss)
    with pytest.raises(ValueError, match="learning rate"):
        model.fit(X, y, epochs=5, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert np.isfinite(model.predict(X)).all()


def test_divergence_restores_the_weights_of_the_epoch(rng):
    X = 1000.0 * rng.normal(size=(200, 5))
    model = Sequential([Dense(8, activation="relu", input_dim=5), Dense(1)], seed=0)
    model.compile(SGD(lr=1e6), "mse")
    model.build(5, np.float64)
    start = model.get_weights()
    with pytest.raises(ValueError, match=r"diverged at epoch 1.*learning rate"):
        model.fit(X, X.sum(axis=1), epochs=1, verbose=0)
    for a, b in zip(start, model.get_weights()):
        assert_array_equal(a, b)
    assert model.optimizer.iterations == 0  # the epoch's updates are undone too


def test_training_goes_on_after_a_divergence_with_a_lower_rate(rng):
    X = 100.0 * rng.normal(size=(100, 5))  # unscaled inputs
    y = X @ np.arange(1.0, 6.0)
    model = Sequential([Dense(1, input_dim=5)], seed=0)
    model.compile(SGD(lr=1e6, momentum=0.9), "mse")
    with pytest.raises(ValueError, match="learning rate"):
        model.fit(X, y, epochs=10, verbose=0)
    # The momentum state was restored with the weights: a sane rate now trains.
    model.optimizer.learning_rate = 5e-6
    history = model.fit(X, y, epochs=20, verbose=0)
    assert history.history["loss"][-1] < 0.01 * history.history["loss"][0]


def test_a_diverged_model_can_still_be_saved_and_loaded(tmp_path):
    from fastnn import load_model

    rng = np.random.default_rng(0)
    X = 1000.0 * rng.normal(size=(200, 5))
    model = Sequential([Dense(8, activation="relu", input_dim=5), Dense(1)], seed=0)
    model.compile(SGD(lr=1e6, momentum=0.9), "mse")
    with pytest.raises(ValueError, match="learning rate"):
        model.fit(X, X.sum(axis=1), epochs=1, verbose=0)
    model.save(tmp_path / "model.fnn")
    loaded = load_model(tmp_path / "model.fnn")
    assert_array_equal(loaded.predict(X), model.predict(X))
