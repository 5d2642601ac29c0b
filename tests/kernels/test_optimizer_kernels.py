"""Optimizer updates against a NumPy transcription of the formulas in the docstrings."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastnn import ops

SHAPES = [(784, 256), (7,), (0,)]  # (784, 256) is big enough for the threaded loop


# ------------------------------------------ NumPy twins (float64, returning new arrays)


def _sgd(W, G, lr, l2=0.0):
    return W - lr * (G + l2 * W)


def _momentum(W, G, V, lr, mu, nesterov=False, l2=0.0):
    g = G + l2 * W
    V = mu * V - lr * g
    W = W + (mu * V - lr * g if nesterov else V)
    return W, V


def _adam(W, G, M, S, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7, l2=0.0):
    g = G + l2 * W
    M = beta_1 * M + (1 - beta_1) * g
    S = beta_2 * S + (1 - beta_2) * g**2
    lr_t = lr * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    W = W - lr_t * M / (np.sqrt(S) + epsilon)
    return W, M, S


def _random(rng, shape, dtype, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(dtype)


def _f64(*arrays):
    return [a.astype(np.float64) for a in arrays]


# ----------------------------------------------------------------- hand-computed steps


def test_sgd_one_step_by_hand(dtype, tol):
    W = np.array([1.0, -2.0, 0.5], dtype)
    G = np.array([0.1, 0.2, -0.3], dtype)
    ops.sgd_update(W, G, learning_rate=0.1)
    assert_allclose(W, np.array([0.99, -2.02, 0.53], dtype), **tol)
    ops.sgd_update(W, G, learning_rate=0.5, l2=0.1)  # g = G + 0.1 W
    expected = [
        0.99 - 0.5 * (0.1 + 0.099),
        -2.02 - 0.5 * (0.2 - 0.202),
        0.53 - 0.5 * (-0.3 + 0.053),
    ]
    assert_allclose(W, np.array(expected, dtype), **tol)


@pytest.mark.parametrize("nesterov", [False, True], ids=["classic", "nesterov"])
def test_momentum_one_step_by_hand(nesterov, dtype, tol):
    W = np.array([1.0, -1.0], dtype)
    G = np.array([0.5, -2.0], dtype)
    V = np.array([0.2, 0.1], dtype)
    ops.momentum_update(W, G, V, learning_rate=0.1, momentum=0.9, nesterov=nesterov)
    V_new = np.array([0.9 * 0.2 - 0.05, 0.9 * 0.1 + 0.2])  # [0.13, 0.29]
    step = 0.9 * V_new - np.array([0.05, -0.2]) if nesterov else V_new
    assert_allclose(V, V_new.astype(dtype), **tol)
    assert_allclose(W, (np.array([1.0, -1.0]) + step).astype(dtype), **tol)


def test_adam_first_step_by_hand(dtype, tol):
    # From M = S = 0 the first step is lr * g / (|g| + epsilon'), about lr * sign(g).
    W = np.array([1.0, -1.0, 0.0], dtype)
    G = np.array([0.5, -2.0, 0.25], dtype)
    M, S = np.zeros(3, dtype), np.zeros(3, dtype)
    ops.adam_update(W, G, M, S, learning_rate=0.01, t=1)
    g = np.array([0.5, -2.0, 0.25])
    lr_t = 0.01 * math.sqrt(1 - 0.999) / (1 - 0.9)
    assert_allclose(M, (0.1 * g).astype(dtype), **tol)
    assert_allclose(S, (0.001 * g**2).astype(dtype), **tol)
    step = lr_t * 0.1 * g / (np.sqrt(0.001) * np.abs(g) + 1e-7)
    expected_W = np.array([1.0, -1.0, 0.0]) - step
    assert_allclose(W, expected_W.astype(dtype), **tol)
    assert_allclose(W, np.array([0.99, -0.99, -0.01]), rtol=0, atol=1e-5)


# --------------------------------------------------------------- one step, any shape


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_sgd_update_matches_numpy(shape, l2, rng, dtype, tol):
    W, G = _random(rng, shape, dtype), _random(rng, shape, dtype)
    expected = _sgd(*_f64(W, G), 0.05, l2)
    assert ops.sgd_update(W, G, 0.05, l2=l2) is None  # in place
    assert W.dtype == dtype
    assert_allclose(W, expected.astype(dtype), **tol)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("nesterov", [False, True], ids=["classic", "nesterov"])
@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_momentum_update_matches_numpy(shape, nesterov, l2, rng, dtype, tol):
    W, G, V = (_random(rng, shape, dtype) for _ in range(3))
    expected_W, expected_V = _momentum(*_f64(W, G, V), 0.05, 0.9, nesterov, l2)
    ops.momentum_update(W, G, V, 0.05, 0.9, nesterov=nesterov, l2=l2)
    assert W.dtype == V.dtype == dtype
    assert_allclose(V, expected_V.astype(dtype), **tol)
    assert_allclose(W, expected_W.astype(dtype), **tol)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("l2", [0.0, 0.01])
@pytest.mark.parametrize("t", [1, 2, 50])
def test_adam_update_matches_numpy(shape, l2, t, rng, dtype, tol):
    W, G, M = (_random(rng, shape, dtype) for _ in range(3))
    S = _random(rng, shape, dtype, 0.0, 1.0)
    expected = _adam(*_f64(W, G, M, S), 0.01, t, 0.8, 0.99, 1e-6, l2)
    ops.adam_update(W, G, M, S, 0.01, t, beta_1=0.8, beta_2=0.99, epsilon=1e-6, l2=l2)
    for got, want in zip((W, M, S), expected):
        assert got.dtype == dtype
        assert_allclose(got, want.astype(dtype), **tol)


def test_adam_default_hyperparameters(rng, dtype, tol):
    W, G, M = (_random(rng, (7,), dtype) for _ in range(3))
    S = _random(rng, (7,), dtype, 0.0, 1.0)
    expected = _adam(*_f64(W, G, M, S), 0.001, 3)  # beta 0.9 / 0.999, epsilon 1e-7
    ops.adam_update(W, G, M, S, 0.001, 3)
    for got, want in zip((W, M, S), expected):
        assert_allclose(got, want.astype(dtype), **tol)


def test_l2_is_added_to_the_gradient(rng, dtype, tol):
    W, G = _random(rng, (7,), dtype), _random(rng, (7,), dtype)
    W_l2, W_plain = W.copy(), W.copy()
    ops.sgd_update(W_l2, G, 0.1, l2=0.5)
    ops.sgd_update(W_plain, G + np.asarray(0.5, dtype) * W, 0.1)
    assert_allclose(W_l2, W_plain, **tol)
    assert not np.allclose(W_l2, _sgd(*_f64(W, G), 0.1))


def test_zero_learning_rate_leaves_W_but_updates_state(rng, dtype):
    W, G, M, S = (_random(rng, (7,), dtype) for _ in range(4))
    S = np.abs(S)
    W_before, M_before = W.copy(), M.copy()
    ops.adam_update(W, G, M, S, 0.0, 1)
    assert np.array_equal(W, W_before)
    assert not np.array_equal(M, M_before)


# ------------------------------------------------------------------- several steps


def test_several_steps_match_a_numpy_loop(rng, dtype, tol):
    shape = (5, 3)
    W0 = _random(rng, shape, dtype)
    grads = [_random(rng, shape, dtype) for _ in range(5)]

    W_sgd, W_mom, W_nes, W_adam = (W0.copy() for _ in range(4))
    V_mom, V_nes, M, S = (np.zeros(shape, dtype) for _ in range(4))
    w_sgd, w_mom, w_nes, w_adam = _f64(W0, W0, W0, W0)
    v_mom, v_nes, m, s = (np.zeros(shape) for _ in range(4))
    for t, G in enumerate(grads, start=1):
        ops.sgd_update(W_sgd, G, 0.1, l2=0.01)
        ops.momentum_update(W_mom, G, V_mom, 0.1, 0.9, l2=0.01)
        ops.momentum_update(W_nes, G, V_nes, 0.1, 0.9, nesterov=True, l2=0.01)
        ops.adam_update(W_adam, G, M, S, 0.01, t, l2=0.01)
        (g,) = _f64(G)
        w_sgd = _sgd(w_sgd, g, 0.1, 0.01)
        w_mom, v_mom = _momentum(w_mom, g, v_mom, 0.1, 0.9, False, 0.01)
        w_nes, v_nes = _momentum(w_nes, g, v_nes, 0.1, 0.9, True, 0.01)
        w_adam, m, s = _adam(w_adam, g, m, s, 0.01, t, l2=0.01)

    for got, want in [
        (W_sgd, w_sgd), (W_mom, w_mom), (V_mom, v_mom), (W_nes, w_nes), (V_nes, v_nes),
        (W_adam, w_adam), (M, m), (S, s),
    ]:
        # float32 rounding compounds over the steps: allow a few times the one-step tol.
        loose = {key: 5 * value for key, value in tol.items()}
        assert_allclose(got, want.astype(dtype), **loose)


def test_l2_penalty_adds_the_gradient_and_returns_the_penalty(rng, dtype, tol):
    W = rng.normal(size=(4, 3)).astype(dtype)
    dW = rng.normal(size=(4, 3)).astype(dtype)
    expected_dW = dW.astype(np.float64) + 0.25 * 0.5 * W.astype(np.float64)
    penalty = ops.l2_penalty(W, dW, 0.5, scale=0.25)
    assert penalty == pytest.approx(0.5 * float(np.sum(W.astype(np.float64) ** 2)),
                                    rel=1e-6)
    np.testing.assert_allclose(dW, expected_dW.astype(dtype), **tol)
    assert dW.dtype == dtype


def test_l2_penalty_bad_calls():
    W = np.ones((2, 2))
    with pytest.raises(TypeError, match="mixed dtypes"):
        ops.l2_penalty(W, np.ones((2, 2), np.float32), 0.1)
    with pytest.raises(ValueError, match="dW overlaps W"):
        ops.l2_penalty(W, W, 0.1)
    with pytest.raises(ValueError, match="l2 must be in"):
        ops.l2_penalty(W, np.ones((2, 2)), -1.0)
    read_only = np.ones((2, 2))
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="dW is read-only"):
        ops.l2_penalty(W, read_only, 0.1)
