"""Sequential: the Keras-style API (add / compile / fit / evaluate / predict, History,
train_on_batch, metrics, Keras 1 names, verbosity) and the model's structure (summary,
weights, layers built when the width is known).
"""

import math
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import Sequential
from fastnn.layers import Activation, Dense, Dropout, Maxout
from fastnn.optimizers import SGD

from _sequential_cases import _data, _model

# ---------------------------------------------------------------- structure

def test_layers_argument_and_add_give_the_same_stack():
    a, b = Dense(4, input_dim=3), Dense(2)
    model = Sequential([a, b])
    assert model.layers == [a, b]
    other = Sequential()
    assert other.layers == []
    c = Dense(4, input_dim=3)
    other.add(c)
    assert other.layers == [c]


def test_add_checks():
    model = Sequential()
    with pytest.raises(TypeError, match="fastnn Layer"):
        model.add("dense")
    layer = Dense(2, input_dim=2)
    model.add(layer)
    with pytest.raises(ValueError, match="already in the model"):
        model.add(layer)
    model.build()
    # a built model builds what it is given (Keras too), or refuses it whole
    with pytest.raises(ValueError, match="expects inputs of width 5, got 2"):
        model.add(Dense(2, input_dim=5))
    assert model.layers == [layer] and model.count_params() == 6


def test_empty_model():
    with pytest.raises(ValueError, match="no layers"):
        Sequential().compile("sgd", "mse")
    with pytest.raises(ValueError, match="not built"):
        Sequential().predict(np.ones((2, 3)))


def test_a_layer_in_two_models_is_not_silently_frozen(rng):
    """Keras shares a layer's weights between the models holding it; fastnn may refuse
    the second model instead, but training the first must not silently do nothing."""
    X = rng.normal(size=(50, 4))
    y = (X[:, 0] > 0).astype(int)
    shared = Dense(2, activation="softmax", input_dim=4)
    first = Sequential([shared], seed=0)
    first.compile(SGD(lr=0.5), "sparse_categorical_crossentropy")
    first.build(4, np.float64)
    try:
        second = Sequential([shared], seed=1)
        second.build(4, np.float64)
    except ValueError:
        return  # refusing to share a layer is a clear answer too
    before = first.evaluate(X, y)
    first.fit(X, y, epochs=5, verbose=0)
    assert first.evaluate(X, y) < before


def test_layers_are_built_when_the_width_is_known(rng):
    model = Sequential([Dense(5, activation="relu"), Maxout(3, pieces=2), Dense(2)], seed=0)
    assert not model.built
    model.compile("sgd", "mse")
    model.fit(rng.normal(size=(6, 4)), rng.normal(size=(6, 2)), verbose=0)
    assert model.built and model.input_dim == 4
    assert [w.shape for w in model.get_weights()] == [(4, 5), (5,), (5, 6), (6,), (3, 2), (2,)]


def test_summary_lists_layers_and_counts(capsys):
    model = Sequential([Dense(64, input_dim=20, name="hidden"), Activation("tanh"),
                        Dropout(0.5), Dense(10, activation="softmax", name="out")])
    model.summary()  # before the model is built: input_dim is known
    out = capsys.readouterr().out
    assert "hidden (Dense)" in out and "out (Dense)" in out
    assert "(None, 64)" in out and "(None, 10)" in out
    assert "1344" in out and "650" in out  # 20 * 64 + 64, 64 * 10 + 10
    assert "Total params: 1,994" in out
    assert model.count_params() == 1994


def test_summary_without_input_dim():
    with pytest.raises(ValueError, match="input_dim"):
        Sequential([Dense(3)]).summary()


def test_get_set_weights(rng, dtype):
    model = _model()
    model.build(3, dtype)
    weights = [rng.normal(size=w.shape).astype(dtype) for w in model.get_weights()]
    model.set_weights(weights)
    for got, expected in zip(model.get_weights(), weights):
        assert got.dtype == dtype
        assert_array_equal(got, expected)
    X = rng.normal(size=(5, 3)).astype(dtype)
    H = np.tanh(X.astype(np.float64) @ weights[0] + weights[1])
    Z = H @ weights[2] + weights[3]
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    assert_allclose(model.predict(X), P, rtol=1e-5 if dtype == np.float32 else 1e-12,
                    atol=1e-7)
    with pytest.raises(ValueError, match="takes 4 weight arrays, got 3"):
        model.set_weights(weights[:3])
    with pytest.raises(ValueError, match=r"shape \(3, 8\)"):
        model.set_weights([weights[0].T] + weights[1:])


def test_get_weights_before_build():
    with pytest.raises(ValueError, match="not built"):
        Sequential([Dense(3)]).get_weights()


# ---------------------------------------------------------------- the API

def test_fit_returns_history(rng):
    X, y = _data(rng)
    model = _model(metrics=["accuracy"])
    history = model.fit(X, y, epochs=4, batch_size=8, verbose=0,
                        validation_data=(X[:10], y[:10]))
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 4 for values in history.history.values())
    assert history.epoch == [0, 1, 2, 3]
    assert all(isinstance(v, float) and math.isfinite(v)
               for values in history.history.values() for v in values)
    assert all(0.0 <= v <= 1.0 for v in history.history["accuracy"])
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_history_without_metrics_holds_only_the_loss(rng):
    X, y = _data(rng)
    history = _model().fit(X, y, epochs=2, verbose=0)
    assert list(history.history) == ["loss"]


def test_evaluate_returns_loss_or_list(rng):
    X, y = _data(rng)
    plain = _model()
    loss = plain.evaluate(X, y)
    assert isinstance(loss, float)
    P = plain.predict(X).astype(np.float64)
    assert loss == pytest.approx(-np.log(P[np.arange(len(y)), y]).mean(), rel=1e-10)
    with_metrics = _model(metrics=["accuracy"])
    result = with_metrics.evaluate(X, y, batch_size=7)
    assert isinstance(result, list) and len(result) == 2
    assert result[0] == pytest.approx(loss, rel=1e-12)
    assert result[1] == pytest.approx(np.mean(P.argmax(axis=1) == y))
    # Keras 1's show_accuracy=True in evaluate adds the accuracy too.
    assert plain.evaluate(X, y, show_accuracy=True) == pytest.approx(result)


def test_evaluate_does_not_depend_on_batch_size(rng):
    X, y = _data(rng, n=37)
    model = _model()
    values = [model.evaluate(X, y, batch_size=b) for b in (1, 5, 32, 37, 1000)]
    assert_allclose(values, values[0], rtol=1e-12)


def test_predict_shape_and_batch_sizes(rng, dtype):
    X, _ = _data(rng, n=23, dtype=dtype)
    model = _model()
    P = model.predict(X)
    assert P.shape == (23, 3) and P.dtype == dtype
    assert_allclose(P.sum(axis=1), 1.0, rtol=1e-6)
    for batch_size in (1, 4, 23, 100):
        assert_allclose(model.predict(X, batch_size=batch_size), P,
                        rtol=1e-6 if dtype == np.float32 else 1e-12)
    # predict returns a new array each time, not a buffer the next call overwrites.
    # (5 rows are another GEMM shape than 23, which BLAS may sum in another order)
    first = model.predict(X[:5])
    model.predict(X[5:10])
    assert_allclose(first, P[:5], rtol=1e-6 if dtype == np.float32 else 1e-12)


def test_train_on_batch_and_test_on_batch(rng):
    X, y = _data(rng, n=16)
    model = _model(optimizer=SGD(lr=0.5))
    before = model.evaluate(X, y)
    assert model.test_on_batch(X, y) == pytest.approx(before, rel=1e-12)
    weights = model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    loss = model.train_on_batch(X, y)
    assert loss == pytest.approx(before, rel=1e-12)  # the loss before the step
    assert not np.array_equal(weights[0], model.get_weights()[0])
    assert model.evaluate(X, y) < before
    with_metrics = _model(optimizer=SGD(lr=0.5), metrics=["accuracy"])
    loss, acc = with_metrics.train_on_batch(X, y)
    assert loss == pytest.approx(before, rel=1e-12) and 0 <= acc <= 1


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "plain"])
def test_multi_label_accuracy_counts_each_output(fused, rng):
    """With binary_crossentropy over several sigmoid outputs (multi-label), accuracy is
    the fraction of outputs on the right side of 0.5, as Keras' binary accuracy."""
    X = rng.normal(size=(50, 4))
    Y = (rng.random((50, 3)) < 0.5).astype(float)
    layers = [Dense(3, activation="sigmoid", input_dim=4)]
    if not fused:
        layers.append(Activation("linear"))
    model = Sequential(layers, seed=0)
    model.compile(SGD(lr=0.1), "binary_crossentropy", metrics=["accuracy"])
    P = model.predict(X)
    expected = np.mean((P > 0.5) == (Y > 0.5))
    assert expected != np.mean(P.argmax(axis=1) == Y.argmax(axis=1))  # the two differ here
    _, accuracy = model.evaluate(X, Y)
    assert accuracy == pytest.approx(expected)
    history = model.fit(X, Y, epochs=1, batch_size=50, verbose=0)
    assert history.history["accuracy"][0] == pytest.approx(expected)


def test_single_sigmoid_output_accuracy_uses_the_threshold(rng):
    X = rng.normal(size=(40, 4))
    y = rng.integers(0, 2, 40)
    model = Sequential([Dense(1, activation="sigmoid", input_dim=4)], seed=0)
    model.compile(SGD(lr=0.1), "binary_crossentropy", metrics=["accuracy"])
    _, accuracy = model.evaluate(X, y)
    assert accuracy == pytest.approx(np.mean((model.predict(X).ravel() > 0.5) == y))


def test_callable_metrics(rng):
    def mean_proba(y_true, proba):
        return float(np.mean(proba[:, 1]))

    X, y = _data(rng)
    model = _model(k=3, metrics=["accuracy", mean_proba])
    history = model.fit(X, y, epochs=2, verbose=0, validation_split=0.25)
    assert list(history.history) == ["loss", "accuracy", "mean_proba", "val_loss",
                                      "val_accuracy", "val_mean_proba"]
    loss, accuracy, mean = model.evaluate(X, y)
    assert mean == pytest.approx(float(np.mean(model.predict(X)[:, 1])), rel=1e-12)


def test_keras1_nb_epoch_and_show_accuracy(rng):
    X, y = _data(rng)
    history = _model().fit(X, y, nb_epoch=3, show_accuracy=True, verbose=0)
    assert len(history.history["loss"]) == 3
    assert len(history.history["accuracy"]) == 3


def test_unknown_fit_keyword():
    model = _model()
    with pytest.raises(TypeError, match="unexpected keyword.*nb_epochs"):
        model.fit(np.ones((2, 3)), [0, 1], nb_epochs=3, verbose=0)


def test_verbose_0_is_silent(rng, capsys):
    X, y = _data(rng)
    model = _model(metrics=["accuracy"])
    model.fit(X, y, epochs=2, verbose=0, validation_split=0.25)
    model.evaluate(X, y, verbose=0)  # Keras' default, verbose=1, prints the result
    model.predict(X)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_2_prints_one_line_per_epoch(rng, capsys):
    X, y = _data(rng)
    history = _model(metrics=["accuracy"]).fit(X, y, epochs=3, verbose=2,
                                                validation_split=0.25)
    captured = capsys.readouterr()
    lines = [line for line in (captured.out + captured.err).splitlines() if line.strip()]
    assert len(lines) == 3
    for epoch, line in enumerate(lines):
        assert f"Epoch {epoch + 1}/3" in line
        assert f"loss: {history.history['loss'][epoch]:.4f}" in line
        assert "accuracy:" in line and "val_loss:" in line and "val_accuracy:" in line


def test_verbose_1_shows_a_progress_bar_per_epoch(rng, capsys):
    X, y = _data(rng)
    history = _model(metrics=["accuracy"]).fit(X, y, epochs=2, verbose=1, batch_size=8)
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "5/5" in out  # 40 samples in batches of 8: tqdm's counter
    assert f"loss: {history.history['loss'][-1]:.4f}" in out and "accuracy:" in out


def test_default_verbose_prints(rng, capsys):
    X, y = _data(rng)
    _model().fit(X, y)
    captured = capsys.readouterr()
    assert "loss" in captured.out + captured.err


@pytest.mark.parametrize("activation", ["elu", "softmax", "leaky_relu"])
def test_a_fitted_model_pickles_and_its_copy_trains_on_alone(activation):
    # the activations are one object per name and the layers' link to their model is
    # weak: both pickle by name / not at all, and the copy re-attaches its layers
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, 30)
    model = Sequential([Dense(4, activation, input_dim=3), Dropout(0.1),
                        Maxout(3, 2), Dense(2), Activation("softmax")], seed=0)
    model.compile("nadam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=2, verbose=0)
    copy = pickle.loads(pickle.dumps(model))
    assert copy.history.model is copy
    assert all(layer._model() is copy for layer in copy.layers)
    assert_array_equal(copy.predict(X), model.predict(X))
    copy.fit(X, y, epochs=1, verbose=0)
    model.fit(X, y, epochs=1, verbose=0)
    assert_array_equal(copy.predict(X), model.predict(X))  # same path, same state
    assert not np.shares_memory(copy.flat_weights, model.flat_weights)
