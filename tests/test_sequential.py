"""Sequential: the Keras-style API (add / compile / fit / evaluate / predict, History,
Keras 1 names, verbosity), the network's gradient against finite differences, learning
(the lecture's three points, digits), determinism, dtypes, batching, validation,
sample weights, and bad input."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from fastnn import Sequential
from fastnn.layers import Activation, Dense, Dropout, Maxout
from fastnn.optimizers import SGD, Adam

# The lecture's three-point table (x1, x2, y).
X3 = np.array([[-2.0, 4.0], [2.0, 2.6], [-0.4, 1.0]])
Y3 = np.array([0, 1, 1])


def _data(rng, n=40, d=3, k=3, dtype=np.float64):
    X = rng.normal(size=(n, d)).astype(dtype)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int) * (k > 2)
    return X, y


def _model(seed=0, k=3, dropout=False, optimizer=None, metrics=None,
           loss="sparse_categorical_crossentropy"):
    layers = [Dense(8, activation="tanh", input_dim=3)]
    if dropout:
        layers.append(Dropout(0.3))
    layers.append(Dense(k, activation="softmax"))
    model = Sequential(layers, seed=seed)
    model.compile(optimizer or SGD(lr=0.1, momentum=0.9), loss, metrics)
    return model


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
    with pytest.raises(ValueError, match="built"):
        model.add(Dense(2))


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


# ---------------------------------------------------------------- batching

@pytest.mark.parametrize("n, batch_size", [(20, 7), (20, 6), (5, 2), (9, 1)])
def test_batches_that_do_not_divide_n(n, batch_size, rng):
    """One epoch without shuffling = train_on_batch on consecutive slices."""
    X, y = _data(rng, n=n)
    fitted, stepped = _model(seed=4), _model(seed=4)
    history = fitted.fit(X, y, epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
    losses = []
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        losses.append(stepped.train_on_batch(X[start:stop], y[start:stop]) * (stop - start))
    for a, b in zip(fitted.get_weights(), stepped.get_weights()):
        assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert history.history["loss"][0] == pytest.approx(sum(losses) / n, rel=1e-12)
    assert fitted.optimizer.iterations == -(-n // batch_size)


def test_batch_size_larger_than_n(rng):
    X, y = _data(rng, n=10)
    fitted, stepped = _model(seed=4), _model(seed=4)
    fitted.fit(X, y, epochs=1, batch_size=1000, verbose=0)
    stepped.train_on_batch(X, y)
    for a, b in zip(fitted.get_weights(), stepped.get_weights()):
        assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert fitted.optimizer.iterations == 1


def test_shuffle_changes_the_order_but_not_the_data(rng):
    X, y = _data(rng, n=30)
    a, b = _model(seed=4), _model(seed=4)
    a.fit(X, y, epochs=1, batch_size=5, shuffle=True, verbose=0)
    b.fit(X, y, epochs=1, batch_size=5, shuffle=False, verbose=0)
    assert not np.array_equal(a.get_weights()[0], b.get_weights()[0])


# ---------------------------------------------------------------- validation

def test_validation_split_takes_the_last_rows_before_shuffling(rng):
    X, y = _data(rng, n=40)
    split = int(40 * (1 - 0.25))
    model = _model(seed=4, metrics=["accuracy"])
    history = model.fit(X, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0)
    # Trained on the first 30 rows only: the same as fitting them without validation.
    reference = _model(seed=4, metrics=["accuracy"])
    reference_history = reference.fit(X[:split], y[:split], epochs=3, batch_size=8,
                                      verbose=0)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        assert_array_equal(a, b)
    assert history.history["loss"] == reference_history.history["loss"]
    # Validated on the last 10 rows with the weights at the end of each epoch.
    val_loss, val_acc = model.evaluate(X[split:], y[split:])
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-12)
    assert history.history["val_accuracy"][-1] == pytest.approx(val_acc)


def test_validation_data(rng):
    X, y = _data(rng, n=40)
    X_val, y_val = _data(rng, n=15)
    model = _model(seed=4)
    history = model.fit(X, y, epochs=2, validation_data=(X_val, y_val), verbose=0)
    reference = _model(seed=4)
    reference.fit(X, y, epochs=2, verbose=0)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        assert_array_equal(a, b)
    assert list(history.history) == ["loss", "val_loss"]
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(X_val, y_val),
                                                            rel=1e-12)


@pytest.mark.parametrize("split", [1.0, -0.1, 1.5])
def test_validation_split_out_of_range(split, rng):
    X, y = _data(rng)
    with pytest.raises(ValueError, match="validation_split"):
        _model().fit(X, y, validation_split=split, verbose=0)


def test_validation_data_checks(rng):
    X, y = _data(rng)
    with pytest.raises(ValueError, match="validation_data must be a pair"):
        _model().fit(X, y, validation_data=(X,), verbose=0)
    with pytest.raises(ValueError, match="features"):
        _model().fit(X, y, validation_data=(X[:, :2], y), verbose=0)


# ---------------------------------------------------------------- sample weights

def test_zero_sample_weight_removes_the_sample_from_fit(rng):
    X, y = _data(rng, n=12)
    w = np.ones(12)
    w[[2, 7]] = 0.0
    keep = w > 0
    weighted, removed = _model(seed=4), _model(seed=4)
    weighted.fit(X, y, sample_weight=w, batch_size=100, epochs=3, shuffle=False, verbose=0)
    removed.fit(X[keep], y[keep], batch_size=100, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(weighted.get_weights(), removed.get_weights()):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_zero_sample_weight_removes_the_sample_from_evaluate(rng):
    X, y = _data(rng, n=12)
    w = np.ones(12)
    w[[2, 7]] = 0.0
    model = _model()
    assert model.evaluate(X, y, sample_weight=w) == pytest.approx(
        model.evaluate(X[w > 0], y[w > 0]), rel=1e-10)


def test_zero_weighted_samples_in_a_batch_of_their_own_change_nothing(rng):
    X, y = _data(rng, n=12)
    w = np.ones(12)
    w[10:] = 0.0
    weighted = _model(seed=4, optimizer=SGD(lr=0.1))
    removed = _model(seed=4, optimizer=SGD(lr=0.1))
    weighted.fit(X, y, sample_weight=w, batch_size=5, epochs=1, shuffle=False, verbose=0)
    removed.fit(X[:10], y[:10], batch_size=5, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(weighted.get_weights(), removed.get_weights()):
        assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_weighted_loss_is_the_weighted_mean(rng):
    """The loss with sample weights is sum(w l) / sum(w), as scikit-learn's average: a
    constant weight changes neither the loss nor the training."""
    X, y = _data(rng, n=20)
    w = rng.uniform(0.0, 3.0, 20)
    model = _model()
    P = model.predict(X).astype(np.float64)
    per_sample = -np.log(P[np.arange(20), y])
    assert model.evaluate(X, y, sample_weight=w) == pytest.approx(
        np.average(per_sample, weights=w), rel=1e-10)
    assert model.evaluate(X, y, sample_weight=np.full(20, 2.5)) == pytest.approx(
        model.evaluate(X, y), rel=1e-12)
    plain, weighted = _model(seed=4), _model(seed=4)
    history = plain.fit(X, y, epochs=2, batch_size=6, shuffle=False, verbose=0)
    weighted_history = weighted.fit(X, y, sample_weight=np.full(20, 2.5), epochs=2,
                                    batch_size=6, shuffle=False, verbose=0)
    assert_allclose(weighted_history.history["loss"], history.history["loss"], rtol=1e-10)
    for a, b in zip(plain.get_weights(), weighted.get_weights()):
        assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_sample_weights_summing_to_zero(rng):
    X, y = _data(rng, n=12)
    with pytest.raises(ValueError, match="sample_weight"):
        _model().fit(X, y, sample_weight=np.zeros(12), verbose=0)
    with pytest.raises(ValueError, match="sample_weight"):
        _model().evaluate(X, y, sample_weight=np.zeros(12))


def test_progress_bar_counts_a_batch_of_zero_weights(rng, capsys):
    X, y = _data(rng, n=12)
    w = np.ones(12)
    w[10:] = 0.0
    _model().fit(X, y, sample_weight=w, batch_size=5, shuffle=False, verbose=1)
    out = capsys.readouterr().out
    assert "3/3" in out  # the bar ends full even though the last batch made no step


def test_sample_weight_checks(rng):
    X, y = _data(rng, n=12)
    with pytest.raises(ValueError, match="sample_weight must be 12 non-negative numbers"):
        _model().fit(X, y, sample_weight=np.ones(11), verbose=0)
    with pytest.raises(ValueError, match="sample_weight must be 12 non-negative numbers"):
        _model().fit(X, y, sample_weight=-np.ones(12), verbose=0)


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
