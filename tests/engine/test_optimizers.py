"""The engine's optimizers (fastnn.optimizers): constructor arguments and Keras 1 names,
several SGD / momentum / Nesterov / decay steps and Adam's first steps by hand, and the
optimizer driving a model's train step."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastnn import Sequential
from fastnn.layers import Dense
from fastnn.optimizers import SGD, Adam, get

EXACT = dict(rtol=1e-13, atol=1e-15)

W0 = np.array([1.0, -2.0, 0.5, 3.0])
GRADS = [np.array([0.5, -1.0, 2.0, 0.0]),
         np.array([-0.25, 0.75, 1.0, -3.0]),
         np.array([1.5, 0.5, -0.5, 2.0]),
         np.array([0.1, -0.2, 0.3, -0.4])]


def _run(optimizer, dtype=np.float64, grads=GRADS):
    w = W0.astype(dtype)
    trajectory = []
    for g in grads:
        optimizer.apply([w], [g.astype(dtype)])
        trajectory.append(w.copy())
    return trajectory


# ---------------------------------------------------------------- constructors

def test_sgd_defaults():
    sgd = SGD()
    assert (sgd.learning_rate, sgd.momentum, sgd.nesterov, sgd.decay) == (0.01, 0.0, False, 0.0)
    assert sgd.iterations == 0


def test_adam_defaults():
    adam = Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (
        0.001, 0.9, 0.999, 1e-7
    )


def test_keras1_lr_alias():
    assert SGD(lr=0.1).learning_rate == 0.1
    assert Adam(lr=0.02).learning_rate == 0.02
    assert SGD(learning_rate=0.3).learning_rate == 0.3
    assert SGD(0.3, lr=0.3).learning_rate == 0.3
    with pytest.raises(ValueError, match="disagree"):
        SGD(learning_rate=0.1, lr=0.2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(learning_rate=0.0), "learning_rate"),
    (dict(learning_rate=-0.1), "learning_rate"),
    (dict(learning_rate=float("nan")), "learning_rate"),
    (dict(momentum=1.5), "momentum"),
    (dict(momentum=-0.1), "momentum"),
    (dict(decay=-1e-6), "decay"),
])
def test_sgd_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SGD(**kwargs)


def test_sgd_nesterov_must_be_bool():
    with pytest.raises(TypeError, match="nesterov"):
        SGD(momentum=0.9, nesterov="yes")


@pytest.mark.parametrize("kwargs, match", [
    (dict(beta_1=1.0), "beta_1"),
    (dict(beta_2=1.5), "beta_2"),
    (dict(epsilon=0.0), "epsilon"),
    (dict(lr=-1.0), "learning_rate"),
])
def test_adam_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Adam(**kwargs)


@pytest.mark.parametrize("name, cls, lr", [("sgd", SGD, 0.01), ("adam", Adam, 0.001),
                                           ("SGD", SGD, 0.01), ("Adam", Adam, 0.001)])
def test_compile_accepts_names(name, cls, lr):
    model = Sequential([Dense(1, input_dim=2)])
    model.compile(optimizer=name, loss="mse")
    assert type(model.optimizer) is cls and model.optimizer.learning_rate == lr


def test_compile_keeps_an_instance():
    sgd = SGD(lr=0.5)
    model = Sequential([Dense(1, input_dim=2)])
    model.compile(optimizer=sgd, loss="mse")
    assert model.optimizer is sgd


@pytest.mark.parametrize("bad", ["rmsprops", "adagrad2", "sgdm", "", None, 0.1])
def test_unknown_optimizer(bad):
    every = "'sgd', 'adam', 'rmsprop', 'adagrad', 'adadelta', 'adamax', 'nadam'"
    with pytest.raises(ValueError, match=f"unknown optimizer.*expected {every} or an"):
        get(bad)
    model = Sequential([Dense(1, input_dim=2)])
    with pytest.raises(ValueError, match="unknown optimizer"):
        model.compile(optimizer=bad, loss="mse")


# ------------------------------------------------------------------ SGD by hand

def test_sgd_steps_by_hand(dtype):
    got = _run(SGD(learning_rate=0.1), dtype)
    w = W0.copy()
    for g, step in zip(GRADS, got):
        w = w - 0.1 * g
        assert step.dtype == dtype
        assert_allclose(step, w, rtol=1e-6 if dtype == np.float32 else 1e-13)


def test_sgd_decay_as_keras1():
    """lr_t = lr / (1 + decay * iterations), iterations = 0 for the first update."""
    sgd = SGD(lr=0.1, decay=0.5)
    rates = []
    w = W0.copy()
    for g in GRADS:
        rates.append(sgd.current_learning_rate())
        sgd.apply([w], [g])
    assert_allclose(rates, [0.1, 0.1 / 1.5, 0.1 / 2.0, 0.1 / 2.5], **EXACT)
    assert sgd.iterations == 4
    expected = W0.copy()
    for t, g in enumerate(GRADS):
        expected = expected - 0.1 / (1 + 0.5 * t) * g
    assert_allclose(w, expected, **EXACT)


@pytest.mark.parametrize("nesterov", [False, True], ids=["momentum", "nesterov"])
@pytest.mark.parametrize("decay", [0.0, 0.25])
def test_momentum_steps_by_hand(nesterov, decay, dtype):
    got = _run(SGD(lr=0.1, momentum=0.9, nesterov=nesterov, decay=decay), dtype)
    w, v = W0.copy(), np.zeros_like(W0)
    for t, (g, step) in enumerate(zip(GRADS, got)):
        lr_t = 0.1 / (1 + decay * t)
        v = 0.9 * v - lr_t * g
        w = w + (0.9 * v - lr_t * g if nesterov else v)
        assert step.dtype == dtype
        assert_allclose(step, w, rtol=1e-6 if dtype == np.float32 else 1e-13, atol=1e-7)


def test_first_momentum_steps_with_numbers():
    """w = 1, g = 1 twice, lr = 0.1, mu = 0.9.
    Momentum: v1 = -0.1, w1 = 0.9; v2 = -0.19, w2 = 0.71.
    Nesterov: w1 = 1 + 0.9 * -0.1 - 0.1 = 0.81; w2 = 0.81 + 0.9 * -0.19 - 0.1 = 0.539."""
    for nesterov, expected in [(False, [0.9, 0.71]), (True, [0.81, 0.539])]:
        sgd = SGD(lr=0.1, momentum=0.9, nesterov=nesterov)
        w = np.array([1.0])
        steps = []
        for _ in range(2):
            sgd.apply([w], [np.array([1.0])])
            steps.append(w[0])
        assert_allclose(steps, expected, **EXACT)


# ------------------------------------------------------------------ Adam by hand

def test_adam_first_step_is_lr_times_sign():
    w = W0.copy()
    Adam(learning_rate=0.01).apply([w], [GRADS[0]])
    # m_hat = g, v_hat = g^2: the step is lr * g / (|g| + eps'), zero where g is 0.
    assert_allclose(w, W0 - 0.01 * np.sign(GRADS[0]), rtol=1e-6)


def test_adam_steps_by_hand(dtype):
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    got = _run(Adam(learning_rate=lr), dtype)
    w, m, v = W0.copy(), np.zeros(4), np.zeros(4)
    for t, (g, step) in enumerate(zip(GRADS, got), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        w = w - lr_t * m / (np.sqrt(v) + eps)
        assert step.dtype == dtype
        assert_allclose(step, w, rtol=1e-6 if dtype == np.float32 else 1e-12)


def test_adam_custom_betas_by_hand():
    lr, b1, b2, eps = 0.05, 0.5, 0.75, 1e-3
    got = _run(Adam(lr=lr, beta_1=b1, beta_2=b2, epsilon=eps))
    w, m, v = W0.copy(), np.zeros(4), np.zeros(4)
    for t, (g, step) in enumerate(zip(GRADS, got), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
        assert_allclose(step, w, rtol=1e-12)


def test_several_parameter_arrays_share_one_step_count():
    adam = Adam(learning_rate=0.1)
    a, b = np.array([1.0, 2.0]), np.array([[3.0]])
    adam.apply([a, b], [np.array([1.0, -1.0]), np.array([[2.0]])])
    assert adam.iterations == 1
    assert_allclose(a, [0.9, 2.1], rtol=1e-6)
    assert_allclose(b, [[2.9]], rtol=1e-6)


def test_one_optimizer_cannot_serve_two_models(rng):
    sgd = SGD(lr=0.1, momentum=0.9)
    a = Sequential([Dense(2, input_dim=3)], seed=0)
    b = Sequential([Dense(4, input_dim=3)], seed=0)
    a.compile(sgd, "mse")
    b.compile(sgd, "mse")
    X = rng.normal(size=(4, 3))
    a.train_on_batch(X, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="own optimizer"):
        b.train_on_batch(X, np.zeros((4, 4)))


# ------------------------------------------------ the optimizer inside a model

def _linear_model(optimizer, dtype=np.float64):
    model = Sequential([Dense(1, input_dim=2)], seed=0)
    model.compile(optimizer, "mse")
    model.build(2, dtype)
    model.set_weights([np.array([[0.5], [-1.0]], dtype), np.array([0.25], dtype)])
    return model


X_LIN = np.array([[1.0, 2.0], [-1.0, 0.5], [3.0, -2.0]])
Y_LIN = np.array([[1.0], [0.0], [2.0]])


def _mse_grad(W, b):
    """d/dW, d/db of mean_i (x_i W + b - y_i)^2."""
    residual = X_LIN @ W + b - Y_LIN
    return 2 * X_LIN.T @ residual / len(X_LIN), 2 * residual.sum(axis=0) / len(X_LIN)


@pytest.mark.parametrize("nesterov", [False, True], ids=["momentum", "nesterov"])
def test_model_train_steps_by_hand(nesterov, dtype):
    model = _linear_model(SGD(lr=0.05, momentum=0.9, nesterov=nesterov, decay=0.1), dtype)
    W, b = np.array([[0.5], [-1.0]]), np.array([0.25])
    vW, vb = np.zeros_like(W), np.zeros_like(b)
    for t in range(3):
        loss_before = float(((X_LIN @ W + b - Y_LIN) ** 2).mean())
        loss = model.train_on_batch(X_LIN.astype(dtype), Y_LIN.astype(dtype))
        assert loss == pytest.approx(loss_before, rel=1e-5 if dtype == np.float32 else 1e-12)
        lr_t = 0.05 / (1 + 0.1 * t)
        gW, gb = _mse_grad(W, b)
        vW, vb = 0.9 * vW - lr_t * gW, 0.9 * vb - lr_t * gb
        W = W + (0.9 * vW - lr_t * gW if nesterov else vW)
        b = b + (0.9 * vb - lr_t * gb if nesterov else vb)
        got_W, got_b = model.get_weights()
        assert got_W.dtype == dtype
        tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12)
        assert_allclose(got_W, W, **tol)
        assert_allclose(got_b, b, **tol)
    assert model.optimizer.iterations == 3


def test_model_adam_steps_by_hand():
    model = _linear_model(Adam(lr=0.1))
    W, b = np.array([[0.5], [-1.0]]), np.array([0.25])
    state = [np.zeros(3), np.zeros(3)]
    for t in range(1, 4):
        model.train_on_batch(X_LIN, Y_LIN)
        gW, gb = _mse_grad(W, b)
        g = np.concatenate([gW.ravel(), gb])
        state[0] = 0.9 * state[0] + 0.1 * g
        state[1] = 0.999 * state[1] + 0.001 * g * g
        step = 0.1 * math.sqrt(1 - 0.999**t) / (1 - 0.9**t) * state[0] / (
            np.sqrt(state[1]) + 1e-7)
        W, b = W - step[:2].reshape(2, 1), b - step[2:]
        assert_allclose(model.get_weights()[0], W, rtol=1e-12)
        assert_allclose(model.get_weights()[1], b, rtol=1e-12)


def test_fit_counts_one_update_per_batch(rng):
    model = Sequential([Dense(1, input_dim=2)], seed=0)
    model.compile(SGD(lr=0.01, decay=1e-3), "mse")
    model.fit(rng.normal(size=(23, 2)), rng.normal(size=(23, 1)), batch_size=5, epochs=3,
              verbose=0)
    assert model.optimizer.iterations == 3 * 5  # ceil(23 / 5) = 5 batches per epoch
    assert model.optimizer.current_learning_rate() == pytest.approx(0.01 / (1 + 15e-3))


def test_sgd_momentum_turned_on_between_updates_starts_its_velocity_at_zero():
    w, g = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    optimizer = SGD(learning_rate=0.1)
    optimizer.apply([w], [g])  # no velocity yet: w = w - 0.1 g
    optimizer.momentum = 0.5
    optimizer.apply([w], [g])  # v = -0.1 g
    optimizer.apply([w], [g])  # v = 0.5 v - 0.1 g
    expected = np.array([1.0, 2.0]) - 0.1 * g - 0.1 * g - 0.15 * g
    assert_allclose(w, expected, rtol=1e-15)
    assert len(optimizer.get_state()[1]) == 1
    optimizer.momentum = 0.0  # the velocity is no longer state to save
    assert optimizer.get_state()[1] == []
