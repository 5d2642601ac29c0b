"""The classic optimizers' kernels (RMSprop, Adagrad, Adadelta, Adamax, Nadam) through
fastnn.ops against NumPy twins written from torch.optim's update rules (float64, then
cast), float32 and float64, a threaded size and an empty one; and first and second
steps computed by hand."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastnn import ops

SHAPES = [(784, 256), (7,), (0,)]  # (784, 256) is big enough for the threaded loop


# ------------------------------------------ NumPy twins (float64, returning new arrays)


def _rmsprop(W, G, S, lr, rho=0.9, eps=1e-7, l2=0.0):
    g = G + l2 * W
    S = rho * S + (1 - rho) * g**2
    return W - lr * g / (np.sqrt(S) + eps), S


def _rmsprop_full(W, G, S, A, B, lr, rho, eps, momentum, l2=0.0):
    """torch.optim.RMSprop(centered=True, momentum=momentum)'s step."""
    g = G + l2 * W
    S = rho * S + (1 - rho) * g**2
    A = rho * A + (1 - rho) * g
    B = momentum * B + g / (np.sqrt(S - A**2) + eps)
    return W - lr * B, S, A, B


def _adagrad(W, G, S, lr, eps=1e-7, l2=0.0):
    g = G + l2 * W
    S = S + g**2
    return W - lr * g / (np.sqrt(S) + eps), S


def _adadelta(W, G, S, D, lr, rho=0.95, eps=1e-7, l2=0.0):
    g = G + l2 * W
    S = rho * S + (1 - rho) * g**2
    d = np.sqrt(D + eps) / np.sqrt(S + eps) * g
    D = rho * D + (1 - rho) * d**2
    return W - lr * d, S, D


def _adamax(W, G, M, U, lr, t, b1=0.9, b2=0.999, eps=1e-7, l2=0.0):
    g = G + l2 * W
    M = b1 * M + (1 - b1) * g
    U = np.maximum(b2 * U, np.abs(g) + eps)
    return W - lr / (1 - b1**t) * M / U, M, U


def _mu(t, b1, decay):
    return b1 * (1 - 0.5 * 0.96 ** (t * decay))


def _nadam(W, G, M, S, lr, t, b1=0.9, b2=0.999, eps=1e-7, decay=0.004, l2=0.0):
    """torch.optim.NAdam's step t (its mu_product recomputed from step 1)."""
    g = G + l2 * W
    product = math.prod(_mu(k, b1, decay) for k in range(1, t + 1))
    mu, mu_next = _mu(t, b1, decay), _mu(t + 1, b1, decay)
    M = b1 * M + (1 - b1) * g
    S = b2 * S + (1 - b2) * g**2
    denom = np.sqrt(S / (1 - b2**t)) + eps
    W = W - lr * (1 - mu) / (1 - product) * g / denom
    W = W - lr * mu_next / (1 - product * mu_next) * M / denom
    return W, M, S


def _random(rng, shape, dtype, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(dtype)


def _f64(*arrays):
    return [a.astype(np.float64) for a in arrays]


def _check(got, expected, dtype, tol):
    for array, want in zip(got, expected):
        assert array.dtype == dtype
        assert_allclose(array, want.astype(dtype), **tol)


# ------------------------------------------------------- first and second steps by hand


def test_rmsprop_two_steps_by_hand(dtype, tol):
    # w = 1, g = 1 then 0.5, lr = 0.01, rho = 0.9, eps = 1e-7:
    # S1 = 0.1, w1 = 1 - 0.01 / (sqrt(0.1) + 1e-7);
    # S2 = 0.09 + 0.1 * 0.25 = 0.115, w2 = w1 - 0.005 / (sqrt(0.115) + 1e-7).
    W, S = np.array([1.0], dtype), np.zeros(1, dtype)
    ops.rmsprop_update(W, np.array([1.0], dtype), S, 0.01)
    w1 = 1 - 0.01 / (math.sqrt(0.1) + 1e-7)
    assert_allclose(S, [0.1], **tol)
    assert_allclose(W, [w1], **tol)
    assert_allclose(W, [0.968377], rtol=0, atol=1e-6)
    ops.rmsprop_update(W, np.array([0.5], dtype), S, 0.01)
    assert_allclose(S, [0.115], **tol)
    assert_allclose(W, [w1 - 0.005 / (math.sqrt(0.115) + 1e-7)], **tol)


def test_adagrad_two_steps_by_hand(dtype, tol):
    # S starts at 0.1 (Keras 3's initial value); g = 2 then -1, lr = 0.1, eps = 1e-7:
    # S1 = 4.1, w1 = 1 - 0.2 / sqrt(4.1); S2 = 5.1, w2 = w1 + 0.1 / sqrt(5.1).
    W, S = np.array([1.0], dtype), np.full(1, 0.1, dtype)
    ops.adagrad_update(W, np.array([2.0], dtype), S, 0.1)
    w1 = 1 - 0.2 / (math.sqrt(4.1) + 1e-7)
    assert_allclose(S, [4.1], **tol)
    assert_allclose(W, [w1], **tol)
    ops.adagrad_update(W, np.array([-1.0], dtype), S, 0.1)
    assert_allclose(S, [5.1], **tol)
    assert_allclose(W, [w1 + 0.1 / (math.sqrt(5.1) + 1e-7)], **tol)


def test_adadelta_two_steps_by_hand(dtype, tol):
    # rho = 0.5, eps = 0.01, lr = 1, g = 1 twice:
    # S1 = 0.5, d1 = sqrt(0.01) / sqrt(0.51), D1 = 0.5 d1**2 = 0.01 / 1.02;
    # S2 = 0.75, d2 = sqrt(D1 + 0.01) / sqrt(0.76).
    W, S, D = np.array([1.0], dtype), np.zeros(1, dtype), np.zeros(1, dtype)
    G = np.array([1.0], dtype)
    ops.adadelta_update(W, G, S, D, 1.0, rho=0.5, epsilon=0.01)
    d1 = 0.1 / math.sqrt(0.51)
    assert_allclose(S, [0.5], **tol)
    assert_allclose(D, [0.5 * d1**2], **tol)
    assert_allclose(W, [1 - d1], **tol)
    ops.adadelta_update(W, G, S, D, 1.0, rho=0.5, epsilon=0.01)
    d2 = math.sqrt(0.5 * d1**2 + 0.01) / math.sqrt(0.76)
    assert_allclose(S, [0.75], **tol)
    assert_allclose(D, [0.25 * d1**2 + 0.5 * d2**2], **tol)
    assert_allclose(W, [1 - d1 - d2], **tol)


def test_adamax_two_steps_by_hand(dtype, tol):
    # g = 2 then 1, lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-7:
    # M1 = 0.2, U1 = 2 + 1e-7, w1 = 1 - 0.1 / 0.1 * 0.2 / U1 (about 0.9);
    # M2 = 0.28, U2 = max(0.999 U1, 1 + 1e-7) = 0.999 U1;
    # w2 = w1 - 0.1 / 0.19 * M2 / U2.
    W, M, U = np.array([1.0], dtype), np.zeros(1, dtype), np.zeros(1, dtype)
    ops.adamax_update(W, np.array([2.0], dtype), M, U, 0.1, 1)
    U1 = 2 + 1e-7
    w1 = 1 - 0.2 / U1
    assert_allclose(M, [0.2], **tol)
    assert_allclose(U, [U1], **tol)
    assert_allclose(W, [w1], **tol)
    ops.adamax_update(W, np.array([1.0], dtype), M, U, 0.1, 2)
    assert_allclose(M, [0.28], **tol)
    assert_allclose(U, [0.999 * U1], **tol)
    assert_allclose(W, [w1 - 0.1 / 0.19 * 0.28 / (0.999 * U1)], **tol)


def test_nadam_two_steps_by_hand(dtype, tol):
    # g = 1 twice, lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-7, schedule 0.004:
    # mu_t = 0.9 (1 - 0.5 * 0.96**(0.004 t)); M1 = 0.1, S1 = 0.001, S1 / (1 - b2) = 1;
    # w1 = 1 - 0.1 ((1 - mu1) / (1 - mu1) + mu2 0.1 / (1 - mu1 mu2)) / (1 + 1e-7).
    mu1, mu2, mu3 = (0.9 * (1 - 0.5 * 0.96 ** (0.004 * t)) for t in (1, 2, 3))
    W, M, S = np.array([1.0], dtype), np.zeros(1, dtype), np.zeros(1, dtype)
    G = np.array([1.0], dtype)
    ops.nadam_update(W, G, M, S, 0.1, 1)
    w1 = 1 - 0.1 * (1 + mu2 * 0.1 / (1 - mu1 * mu2)) / (1 + 1e-7)
    assert_allclose(W, [w1], **tol)
    assert_allclose(W, [0.894355], rtol=0, atol=1e-6)
    ops.nadam_update(W, G, M, S, 0.1, 2)  # M2 = 0.19, S2 / (1 - b2**2) = 1
    step = (1 - mu2) / (1 - mu1 * mu2) + mu3 * 0.19 / (1 - mu1 * mu2 * mu3)
    assert_allclose(M, [0.19], **tol)
    assert_allclose(W, [w1 - 0.1 * step / (1 + 1e-7)], **tol)


def test_nadam_takes_the_running_product_or_computes_it(rng, dtype):
    W, G, M = (_random(rng, (7,), dtype) for _ in range(3))
    S = _random(rng, (7,), dtype, 0.0, 1.0)
    given = [a.copy() for a in (W, M, S)]
    product = ops.optimizers.nadam_mu_product(5, 0.9, 0.004)
    ops.nadam_update(W, G, M, S, 0.01, 5)
    ops.nadam_update(given[0], G, given[1], given[2], 0.01, 5, mu_product=product)
    for got, want in zip((W, M, S), given):
        assert np.array_equal(got, want)


# --------------------------------------------------------------- one step, any shape


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_rmsprop_matches_numpy(shape, l2, rng, dtype, tol):
    W, G = _random(rng, shape, dtype), _random(rng, shape, dtype)
    S = _random(rng, shape, dtype, 0.0, 1.0)
    expected = _rmsprop(*_f64(W, G, S), 0.01, 0.8, 1e-6, l2)
    assert ops.rmsprop_update(W, G, S, 0.01, rho=0.8, epsilon=1e-6, l2=l2) is None
    _check((W, S), expected, dtype, tol)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_rmsprop_centered_with_momentum_matches_numpy(shape, l2, rng, dtype, tol):
    W, G, A, B = (_random(rng, shape, dtype) for _ in range(4))
    S = (A.astype(np.float64) ** 2 + _random(rng, shape, np.float64, 0.1, 1.0)).astype(
        dtype)  # a second moment above the square of the mean
    expected = _rmsprop_full(*_f64(W, G, S, A, B), 0.01, 0.8, 1e-6, 0.9, l2)
    ops.rmsprop_update(W, G, S, 0.01, rho=0.8, epsilon=1e-6, l2=l2, momentum=0.9,
                       centered=True, A=A, B=B)
    _check((W, S, A, B), expected, dtype, tol)


@pytest.mark.parametrize("centered", [False, True], ids=["plain", "centered"])
def test_rmsprop_options_alone_match_numpy(centered, rng, dtype, tol):
    """centered without momentum, momentum without centering (momentum 0 with a
    buffer is the plain step)."""
    W, G, A, B = (_random(rng, (7,), dtype) for _ in range(4))
    S = _random(rng, (7,), dtype, 1.0, 2.0)
    W_opt, S_opt, A_opt, B_opt = (a.copy() for a in (W, S, A, B))
    if centered:
        w, s, a, _ = _rmsprop_full(*_f64(W, G, S, A, np.zeros(7, dtype)), 0.01, 0.9,
                                   1e-7, 0.0)
        ops.rmsprop_update(W_opt, G, S_opt, 0.01, centered=True, A=A_opt)
        _check((W_opt, S_opt, A_opt), (w, s, a), dtype, tol)
    else:
        _, s = _rmsprop(*_f64(W, G, S), 0.01)
        b = 0.5 * B.astype(np.float64) + G.astype(np.float64) / (np.sqrt(s) + 1e-7)
        ops.rmsprop_update(W_opt, G, S_opt, 0.01, momentum=0.5, B=B_opt)
        _check((W_opt, S_opt, B_opt), (W.astype(np.float64) - 0.01 * b, s, b), dtype,
               tol)


def test_rmsprop_centered_variance_below_zero_is_taken_as_zero():
    W, G = np.array([1.0]), np.array([1.0])
    S, A = np.array([0.99]), np.array([1.0])  # S - A**2 becomes 0.995 - 1 < 0
    ops.rmsprop_update(W, G, S, 0.1, rho=0.5, epsilon=0.01, centered=True, A=A)
    assert W[0] == 1.0 - 0.1 * 1.0 / 0.01


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_adagrad_matches_numpy(shape, l2, rng, dtype, tol):
    W, G = _random(rng, shape, dtype), _random(rng, shape, dtype)
    S = _random(rng, shape, dtype, 0.0, 1.0)
    expected = _adagrad(*_f64(W, G, S), 0.05, 1e-6, l2)
    ops.adagrad_update(W, G, S, 0.05, epsilon=1e-6, l2=l2)
    _check((W, S), expected, dtype, tol)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_adadelta_matches_numpy(shape, l2, rng, dtype, tol):
    W, G = _random(rng, shape, dtype), _random(rng, shape, dtype)
    S, D = (_random(rng, shape, dtype, 0.0, 1.0) for _ in range(2))
    expected = _adadelta(*_f64(W, G, S, D), 0.5, 0.9, 1e-6, l2)
    ops.adadelta_update(W, G, S, D, 0.5, rho=0.9, epsilon=1e-6, l2=l2)
    _check((W, S, D), expected, dtype, tol)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("l2", [0.0, 0.01])
@pytest.mark.parametrize("t", [1, 2, 50])
def test_adamax_matches_numpy(shape, l2, t, rng, dtype, tol):
    W, G, M = (_random(rng, shape, dtype) for _ in range(3))
    U = _random(rng, shape, dtype, 0.0, 1.0)
    expected = _adamax(*_f64(W, G, M, U), 0.01, t, 0.8, 0.99, 1e-6, l2)
    ops.adamax_update(W, G, M, U, 0.01, t, beta_1=0.8, beta_2=0.99, epsilon=1e-6,
                      l2=l2)
    _check((W, M, U), expected, dtype, tol)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("l2", [0.0, 0.01])
@pytest.mark.parametrize("t", [1, 2, 50])
def test_nadam_matches_numpy(shape, l2, t, rng, dtype, tol):
    W, G, M = (_random(rng, shape, dtype) for _ in range(3))
    S = _random(rng, shape, dtype, 0.0, 1.0)
    expected = _nadam(*_f64(W, G, M, S), 0.01, t, 0.8, 0.99, 1e-6, 0.01, l2)
    ops.nadam_update(W, G, M, S, 0.01, t, beta_1=0.8, beta_2=0.99, epsilon=1e-6,
                     schedule_decay=0.01, l2=l2)
    _check((W, M, S), expected, dtype, tol)


def test_adamax_norm_takes_a_nan_gradient():
    W, M, U = np.zeros(3), np.zeros(3), np.ones(3)
    ops.adamax_update(W, np.array([1.0, np.nan, 0.5]), M, U, 0.1, 1)
    assert U[0] == 1.0 + 1e-7 and np.isnan(U[1]) and U[2] == 0.999
    assert np.isnan(W[1]) and np.isfinite(W[[0, 2]]).all()


def test_several_steps_match_a_numpy_loop(rng, dtype, tol):
    shape = (5, 3)
    W0 = _random(rng, shape, dtype)
    grads = [_random(rng, shape, dtype) for _ in range(6)]
    got = {name: [W0.copy()] + [np.zeros(shape, dtype) for _ in range(n)]
           for name, n in [("rmsprop", 1), ("adagrad", 1), ("adadelta", 2),
                           ("adamax", 2), ("nadam", 2)]}
    want = {name: _f64(*arrays) for name, arrays in got.items()}
    for t, G in enumerate(grads, start=1):
        ops.rmsprop_update(*got["rmsprop"][:1], G, *got["rmsprop"][1:], 0.01, l2=0.01)
        ops.adagrad_update(*got["adagrad"][:1], G, *got["adagrad"][1:], 0.1, l2=0.01)
        ops.adadelta_update(*got["adadelta"][:1], G, *got["adadelta"][1:], 1.0,
                            epsilon=1e-4, l2=0.01)
        ops.adamax_update(*got["adamax"][:1], G, *got["adamax"][1:], 0.01, t, l2=0.01)
        ops.nadam_update(*got["nadam"][:1], G, *got["nadam"][1:], 0.01, t, l2=0.01)
        (g,) = _f64(G)
        w = want
        w["rmsprop"] = list(_rmsprop(w["rmsprop"][0], g, *w["rmsprop"][1:], 0.01,
                                     l2=0.01))
        w["adagrad"] = list(_adagrad(w["adagrad"][0], g, *w["adagrad"][1:], 0.1,
                                     l2=0.01))
        w["adadelta"] = list(_adadelta(w["adadelta"][0], g, *w["adadelta"][1:], 1.0,
                                       eps=1e-4, l2=0.01))
        w["adamax"] = list(_adamax(w["adamax"][0], g, *w["adamax"][1:], 0.01, t,
                                   l2=0.01))
        w["nadam"] = list(_nadam(w["nadam"][0], g, *w["nadam"][1:], 0.01, t, l2=0.01))
    # float32 rounding compounds over the steps: allow a few times the one-step tol.
    loose = {key: 5 * value for key, value in tol.items()}
    for name, arrays in got.items():
        _check(arrays, want[name], dtype, loose)


def test_zero_learning_rate_leaves_W_but_updates_state(rng, dtype):
    for update, n_slots, extra in [
        (ops.rmsprop_update, 1, ()), (ops.adagrad_update, 1, ()),
        (ops.adadelta_update, 2, ()), (ops.adamax_update, 2, (1,)),
        (ops.nadam_update, 2, (1,)),
    ]:
        W, G = _random(rng, (7,), dtype), _random(rng, (7,), dtype)
        slots = [_random(rng, (7,), dtype, 0.1, 1.0) for _ in range(n_slots)]
        W_before, first_before = W.copy(), slots[0].copy()
        update(W, G, *slots, 0.0, *extra)
        assert np.array_equal(W, W_before), update.__name__
        assert not np.array_equal(slots[0], first_before), update.__name__
