"""What the engine offers trainers beyond Keras' fit: kernel L2 penalties, per-epoch
callbacks, the full-batch objective for L-BFGS, the flat weight vector."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import minimize

from fastnn import Sequential, load_model
from fastnn.layers import Dense, Dropout, Maxout
from fastnn.models import Callback
from fastnn.optimizers import SGD


def _data(rng, n=40, d=5, k=3):
    X = rng.normal(size=(n, d))
    y = rng.integers(0, k, n)
    return X, y


def _model(l2=0.0, dtype=np.float64, seed=0, dropout=0.0):
    layers = [Maxout(4, pieces=2, input_dim=5, kernel_l2=l2)]
    if dropout:
        layers.append(Dropout(dropout))
    layers += [Dense(6, "tanh", kernel_l2=l2), Dense(3, "softmax", kernel_l2=l2)]
    model = Sequential(layers, seed=seed)
    model.compile(SGD(0.1), "sparse_categorical_crossentropy")
    return model.build(5, dtype)


def _data_loss(model, X, y, sample_weight=None):
    """The weighted mean cross-entropy, in NumPy from predict."""
    p = model.predict(X)[np.arange(len(y)), y]
    w = np.ones(len(y)) if sample_weight is None else sample_weight
    return float((w * -np.log(p)).sum() / w.sum())


def _kernels(model):
    return [layer.W for layer in model.layers if layer.params]


@pytest.mark.parametrize("weighted", [False, True])
def test_objective_is_the_penalized_mean_loss(rng, weighted):
    X, y = _data(rng)
    sample_weight = rng.uniform(0.5, 2.0, len(y)) if weighted else None
    model = _model(l2=0.3)
    fun = model.objective(X, y, sample_weight)
    params = model.get_flat_weights()
    loss, grad = fun(params)
    total = len(y) if sample_weight is None else sample_weight.sum()
    penalty = 0.3 / 2 * sum((W**2).sum() for W in _kernels(model)) / total
    assert loss == pytest.approx(_data_loss(model, X, y, sample_weight) + penalty, rel=1e-12)
    assert grad.dtype == np.float64 and grad.shape == params.shape


def test_objective_gradient_matches_central_differences(rng, num_grad, fd_tol):
    X, y = _data(rng)
    model = _model(l2=0.5)
    fun = model.objective(X, y, rng.uniform(0.5, 2.0, len(y)))
    params = model.get_flat_weights()
    _, grad = fun(params)
    numeric = num_grad(lambda p: fun(p)[0], params)
    assert_allclose(grad, numeric, **fd_tol)


def test_objective_ignores_dropout_and_lbfgs_learns(rng):
    X, y = _data(rng, n=60)
    model = _model(l2=0.01, dropout=0.5)
    fun = model.objective(X, y)
    start = model.get_flat_weights()
    first = fun(start)
    assert fun(start)[0] == first[0]  # deterministic: dropout is off
    result = minimize(fun, start, jac=True, method="L-BFGS-B", options={"maxiter": 200})
    assert result.fun < 0.5 * first[0]
    fun(result.x)
    assert_allclose(model.get_flat_weights(), result.x)


def test_objective_refuses_no_weight(rng):
    X, y = _data(rng)
    with pytest.raises(ValueError, match="sums to 0"):
        _model().objective(X, y, np.zeros(len(y)))


def test_kernel_l2_gradient_step_is_weight_decay_on_kernels_only(rng):
    X, y = _data(rng, n=8)
    plain, decayed = _model(0.0), _model(0.4)
    before = decayed.get_weights()
    plain.train_on_batch(X, y)
    decayed.train_on_batch(X, y)
    # SGD(0.1), one batch of 8 rows: the penalty moves each kernel by -0.1 * 0.4 * W / 8
    for layer_plain, layer_decayed, (W, b) in zip(
        [layer for layer in plain.layers if layer.params],
        [layer for layer in decayed.layers if layer.params],
        zip(before[::2], before[1::2]),
    ):
        assert_allclose(layer_decayed.W, layer_plain.W - 0.1 * 0.4 * W / 8, rtol=1e-12)
        assert_allclose(layer_decayed.b, layer_plain.b, rtol=1e-12)  # no bias penalty


def test_fit_loss_includes_the_penalty_of_each_batch(rng):
    X, y = _data(rng, n=10)
    model = _model(l2=2.0)
    model.optimizer = SGD(1e-12)  # the weights stay put: the penalty is the same
    kernels = sum((W**2).sum() for W in _kernels(model))
    history = model.fit(X, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    # three batches (4, 4, 2 rows), each adds l2/2 * sum(W**2) to its summed loss
    expected = _data_loss(model, X, y) + 3 * (2.0 / 2 * kernels) / 10
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-9)


def test_kernel_l2_is_saved(tmp_path, rng):
    model = _model(l2=0.25)
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    assert [getattr(layer, "kernel_l2", None) for layer in loaded.layers] == [
        0.25, 0.25, 0.25
    ]
    with pytest.raises(ValueError, match="kernel_l2"):
        Dense(3, kernel_l2=-1.0)


def test_callbacks_see_every_epoch_and_can_stop_and_steer(rng):
    X, y = _data(rng)
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            calls.append("begin")

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(("epoch", epoch))

        def on_epoch_end(self, epoch, logs=None):
            calls.append(("loss", epoch, logs["loss"]))
            self.model.optimizer.learning_rate = 0.0 + 1e-300  # freeze from now on
            self.model.stop_training = epoch == 2

        def on_train_end(self, logs=None):
            calls.append("end")

    model = _model()
    history = model.fit(X, y, epochs=10, verbose=0, callbacks=[Recorder()])
    assert history.epoch == [0, 1, 2]
    assert calls[0] == "begin" and calls[-1] == "end"
    assert [call[1] for call in calls if call[0] == "epoch"] == [0, 1, 2]
    losses = [call[2] for call in calls if call[0] == "loss"]
    assert losses == history.history["loss"]
    assert losses[2] == pytest.approx(losses[1], rel=1e-12)  # the rate was frozen
    model.fit(X, y, epochs=2, verbose=0)  # stop_training is reset by the next fit
    with pytest.raises(TypeError, match="callbacks"):
        model.fit(X, y, verbose=0, callbacks=[print])


def test_flat_weights_round_trip_and_checks():
    model = _model()
    flat = model.get_flat_weights()
    assert flat.shape == (model.count_params(),)
    flat[:] = 0.5
    assert not np.allclose(model.get_flat_weights(), 0.5)  # a copy
    model.set_flat_weights(flat)
    assert all(np.all(weight == 0.5) for weight in model.get_weights())
    with pytest.raises(ValueError, match="real numbers"):
        model.set_flat_weights(flat[:-1])
    with pytest.raises(ValueError, match="NaN"):
        model.set_flat_weights(np.full_like(flat, np.nan))
    with pytest.raises(ValueError, match="not built"):
        Sequential([Dense(2)]).get_flat_weights()


def test_float32_loss_of_huge_finite_batches_does_not_overflow():
    X = np.full((64, 1), 1e19, np.float32)
    y = np.zeros(64, np.intp)
    model = Sequential([Dense(2, "softmax", input_dim=1)], seed=0)
    model.compile(SGD(1e-30), "sparse_categorical_crossentropy")
    model.build(1, np.float32)
    model.set_weights([np.array([[0.0, 1e19]], np.float32), np.zeros(2, np.float32)])
    # each row's loss is about 1e38 (finite in float32); their float32 sum is not
    loss = model.fit(X, y, batch_size=64, epochs=1, verbose=0).history["loss"][0]
    assert loss == pytest.approx(1e38, rel=1e-3)
