"""Layers and initializers: constructor arguments, forward against NumPy, backward
against finite differences (float64), dropout's mask, get/set weights, building."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import initializers
from fastnn.graph import gradient_check
from fastnn.layers import Activation, Dense, Dropout, Maxout

ACTIVATIONS = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softmax"]


def _np_activation(name, Z):
    """The NumPy twin of every activation, in float64."""
    Z = np.asarray(Z, np.float64)
    if name == "linear":
        return Z
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-Z))
    if name == "tanh":
        return np.tanh(Z)
    if name == "relu":
        return np.maximum(Z, 0.0)
    if name == "leaky_relu":
        return np.maximum(0.1 * Z, Z)  # the lecture's max(0.1 x, x)
    if name == "elu":
        return np.where(Z > 0, Z, np.expm1(np.minimum(Z, 0.0)))
    if name == "softmax":
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)
    raise AssertionError(name)


def _built(layer, input_dim, dtype=np.float64, seed=0):
    return layer.build(input_dim, dtype, np.random.default_rng(seed))


# ------------------------------------------------------------------ initializers

# (name, kind, expected bound or std) for a kernel of shape (fan_in, fan_out).
FAN_IN, FAN_OUT = 300, 500
INITIALIZERS = [
    ("uniform", "uniform", 0.05),
    ("normal", "normal", 0.05),
    ("glorot_uniform", "uniform", math.sqrt(6.0 / (FAN_IN + FAN_OUT))),
    ("glorot_normal", "normal", math.sqrt(2.0 / (FAN_IN + FAN_OUT))),
    ("he_uniform", "uniform", math.sqrt(6.0 / FAN_IN)),
    ("he_normal", "normal", math.sqrt(2.0 / FAN_IN)),
]


@pytest.mark.parametrize("name, kind, scale", INITIALIZERS, ids=lambda v: str(v))
def test_initializer_statistics(name, kind, scale, dtype):
    layer = _built(Dense(FAN_OUT, input_dim=FAN_IN, kernel_initializer=name), FAN_IN, dtype)
    W = layer.get_weights()[0]
    assert W.shape == (FAN_IN, FAN_OUT) and W.dtype == dtype
    W = W.astype(np.float64)
    assert abs(W.mean()) < 0.01 * scale
    if kind == "uniform":
        # U(-l, l): inside the bounds, reaching close to them, std l / sqrt(3).
        assert W.min() >= -scale and W.max() <= scale
        assert W.min() < -0.99 * scale and W.max() > 0.99 * scale
        assert W.std() == pytest.approx(scale / math.sqrt(3.0), rel=0.01)
    else:
        assert W.std() == pytest.approx(scale, rel=0.01)
        assert np.abs(W).max() > 3.5 * scale  # a normal, not a uniform of that std
    # The bias is zeros by default.
    assert_array_equal(layer.get_weights()[1], np.zeros(FAN_OUT, dtype))


@pytest.mark.parametrize("name, kind, scale", INITIALIZERS, ids=lambda v: str(v))
def test_initializer_functions_directly(name, kind, scale):
    rng = np.random.default_rng(1)
    init = initializers.get(name)
    W = init((FAN_IN, FAN_OUT), FAN_IN, FAN_OUT, rng, np.float32)
    assert W.dtype == np.float32 and W.shape == (FAN_IN, FAN_OUT)
    expected_std = scale / math.sqrt(3.0) if kind == "uniform" else scale
    assert W.astype(np.float64).std() == pytest.approx(expected_std, rel=0.01)


def test_zeros_and_ones_initializers(dtype):
    layer = _built(Dense(7, input_dim=5, kernel_initializer="zeros",
                         bias_initializer="ones"), 5, dtype)
    W, b = layer.get_weights()
    assert_array_equal(W, np.zeros((5, 7), dtype))
    assert_array_equal(b, np.ones(7, dtype))
    assert W.dtype == b.dtype == dtype


def test_keras1_init_uniform_is_plus_minus_0_05():
    layer = _built(Dense(400, input_dim=400, init="uniform"), 400)
    assert layer.kernel_initializer == "uniform"
    W = layer.get_weights()[0]
    assert W.min() >= -0.05 and W.max() <= 0.05
    assert W.min() < -0.0495 and W.max() > 0.0495
    # Not glorot_uniform, whose bound here would be sqrt(6 / 800) = 0.087.
    default = _built(Dense(400, input_dim=400), 400).get_weights()[0]
    assert default.max() > 0.08


def test_init_and_kernel_initializer_must_agree():
    with pytest.raises(ValueError, match="init='uniform'.*kernel_initializer='he_normal'"):
        Dense(3, init="uniform", kernel_initializer="he_normal")
    assert Dense(3, init="he_normal", kernel_initializer="he_normal").kernel_initializer == (
        "he_normal"
    )


def test_same_rng_same_weights_and_float32_matches_float64():
    a = _built(Dense(6, input_dim=4), 4, np.float64, seed=3).get_weights()
    b = _built(Dense(6, input_dim=4), 4, np.float64, seed=3).get_weights()
    c = _built(Dense(6, input_dim=4), 4, np.float32, seed=3).get_weights()
    d = _built(Dense(6, input_dim=4), 4, np.float64, seed=4).get_weights()
    assert_array_equal(a[0], b[0])
    assert_allclose(c[0], a[0].astype(np.float32))
    assert not np.array_equal(a[0], d[0])


@pytest.mark.parametrize("bad", ["glorot", "Uniform", None, 3])
def test_unknown_initializer_name(bad):
    with pytest.raises(ValueError, match="unknown initializer.*expected one of.*glorot_uniform"):
        Dense(3, kernel_initializer=bad)
    with pytest.raises(ValueError, match="unknown initializer"):
        Dense(3, bias_initializer=bad)


# ------------------------------------------------------------------ Dense

def test_dense_defaults_and_attributes():
    layer = Dense(4)
    assert layer.units == 4 and layer.activation == "linear" and layer.use_bias
    assert layer.kernel_initializer == "glorot_uniform"
    assert layer.bias_initializer == "zeros"
    assert not layer.built and layer.input_dim is None
    assert Dense(4, input_dim=3).input_dim == 3


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no-bias"])
def test_dense_forward_matches_numpy(activation, use_bias, dtype, tol, rng):
    layer = _built(Dense(5, activation=activation, input_dim=4, use_bias=use_bias,
                         bias_initializer="normal"), 4, dtype)
    X = rng.normal(size=(6, 4)).astype(dtype)
    Y = layer.forward(X)
    assert Y.shape == (6, 5) and Y.dtype == dtype
    weights = [w.astype(np.float64) for w in layer.get_weights()]
    assert len(weights) == (2 if use_bias else 1)
    Z = X.astype(np.float64) @ weights[0] + (weights[1] if use_bias else 0.0)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(Y, _np_activation(activation, Z), rtol=rtol, atol=10 * tol["atol"])


def test_dense_builds_from_the_first_input(rng, dtype):
    layer = Dense(3, activation="relu")
    assert not layer.built
    X = rng.normal(size=(2, 7)).astype(dtype)
    Y = layer.forward(X)
    assert layer.built and layer.input_dim == 7 and layer.dtype == dtype
    assert [w.shape for w in layer.get_weights()] == [(7, 3), (3,)]
    assert Y.dtype == dtype
    with pytest.raises(ValueError, match=r"expects a .* array of shape \(n_samples, 7\)"):
        layer.forward(rng.normal(size=(2, 6)).astype(dtype))


def test_dense_with_input_dim_refuses_another_width():
    layer = Dense(3, input_dim=4)
    with pytest.raises(ValueError, match="expects inputs of width 4, got 5"):
        layer.build(5, np.float64)


def test_dense_no_bias_has_only_a_kernel():
    layer = _built(Dense(3, input_dim=2, use_bias=False), 2)
    assert len(layer.params) == len(layer.grads) == 1
    assert layer.b is None and layer.W.shape == (2, 3)


@pytest.mark.parametrize("units", [0, -1])
def test_dense_units_must_be_positive(units):
    with pytest.raises(ValueError, match="units must be a positive int"):
        Dense(units)


@pytest.mark.parametrize("bad", ["swish", "ReLU", "soft_max"])
def test_unknown_activation_name(bad):
    with pytest.raises(ValueError, match=f"unknown activation '{bad}'.*expected one of.*relu"):
        Dense(3, activation=bad)
    with pytest.raises(ValueError, match=f"unknown activation '{bad}'"):
        Activation(bad)


# ------------------------------------------------------------------ Activation

@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_forward_matches_numpy(activation, dtype, tol, rng):
    X = (3 * rng.normal(size=(5, 6))).astype(dtype)
    Y = Activation(activation).forward(X)
    assert Y.shape == X.shape and Y.dtype == dtype
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(Y, _np_activation(activation, X), rtol=rtol, atol=10 * tol["atol"])


def test_activation_values_from_the_lecture():
    X = np.array([[-2.0, -0.5, 0.0, 1.5]])
    assert_allclose(Activation("relu").forward(X), [[0.0, 0.0, 0.0, 1.5]])
    assert_allclose(Activation("leaky_relu").forward(X), [[-0.2, -0.05, 0.0, 1.5]])
    assert_allclose(Activation("elu").forward(X),
                    [[math.exp(-2) - 1, math.exp(-0.5) - 1, 0.0, 1.5]])
    assert_allclose(Activation("sigmoid").forward(X)[0, 2], 0.5)
    assert_allclose(Activation("softmax").forward(X).sum(), 1.0)


def test_activation_none_is_linear():
    layer = Dense(2, activation=None)
    assert layer.activation == "linear"


# ------------------------------------------------------------------ Maxout

@pytest.mark.parametrize("pieces", [1, 2, 3])
def test_maxout_forward_matches_numpy(pieces, dtype, tol, rng):
    layer = _built(Maxout(4, pieces=pieces, input_dim=5, bias_initializer="normal"),
                   5, dtype)
    W, b = layer.get_weights()
    assert W.shape == (5, 4 * pieces) and b.shape == (4 * pieces,)
    X = rng.normal(size=(7, 5)).astype(dtype)
    Y = layer.forward(X)
    assert Y.shape == (7, 4) and Y.dtype == dtype
    Z = X.astype(np.float64) @ W.astype(np.float64) + b
    # Unit j owns the columns j * pieces ... j * pieces + pieces - 1.
    expected = Z.reshape(7, 4, pieces).max(axis=2)
    assert_allclose(Y, expected, rtol=1e-5 if dtype == np.float32 else 1e-12,
                    atol=10 * tol["atol"])


def test_maxout_two_pieces_is_the_lecture_formula():
    # max(w1.x + b1, w2.x + b2) with w1 = (1, 2), b1 = 0.5, w2 = (-1, 0), b2 = 3.
    layer = Maxout(1, pieces=2, input_dim=2)
    layer.set_weights([np.array([[1.0, -1.0], [2.0, 0.0]]), np.array([0.5, 3.0])])
    X = np.array([[1.0, 1.0], [0.0, 0.0], [-2.0, 5.0]])
    expected = np.maximum(X @ [1.0, 2.0] + 0.5, X @ [-1.0, 0.0] + 3.0)[:, None]
    assert_allclose(layer.forward(X), expected)
    assert_allclose(layer.forward(X), [[3.5], [3.0], [8.5]])


@pytest.mark.parametrize("pieces", [0, -2])
def test_maxout_pieces_must_be_positive(pieces):
    with pytest.raises(ValueError, match="pieces must be a positive int"):
        Maxout(3, pieces=pieces)


# ------------------------------------------------------------------ Dropout

def test_dropout_is_the_identity_at_inference(rng, dtype):
    layer = Dropout(0.5, seed=0)
    X = rng.normal(size=(30, 40)).astype(dtype)
    assert_array_equal(layer.forward(X), X)
    assert_array_equal(layer.forward(X, training=False), X)
    dY = rng.normal(size=X.shape).astype(dtype)
    assert_array_equal(layer.backward(dY), dY)


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_dropout_training_mask_scales_survivors(rate, dtype):
    layer = Dropout(rate, seed=1)
    X = np.full((400, 500), 2.0, dtype)
    Y = layer.forward(X, training=True)
    assert Y.dtype == dtype and Y.shape == X.shape
    kept = Y != 0
    # Survivors are scaled by 1 / (1 - rate): inverted dropout.
    assert_allclose(Y[kept], 2.0 / (1.0 - rate), rtol=1e-6)
    assert kept.mean() == pytest.approx(1.0 - rate, abs=0.005)
    # The mean is kept (expected output = input).
    assert Y.astype(np.float64).mean() == pytest.approx(2.0, rel=0.02)


def test_dropout_rate_zero_is_the_identity_while_training(rng):
    X = rng.normal(size=(5, 6))
    assert_array_equal(Dropout(0.0).forward(X, training=True), X)


def test_dropout_same_seed_same_mask_and_new_draw_each_call(rng):
    X = rng.normal(size=(50, 60)) + 10.0  # no zeros in X
    a = Dropout(0.5, seed=7).forward(X, training=True).copy()
    layer = Dropout(0.5, seed=7)
    b = layer.forward(X, training=True).copy()
    c = layer.forward(X, training=True).copy()
    d = Dropout(0.5, seed=8).forward(X, training=True)
    assert_array_equal(a, b)
    assert not np.array_equal(b != 0, c != 0)  # each training call draws a new mask
    assert not np.array_equal(a != 0, d != 0)


def test_dropout_backward_is_dY_times_the_mask(rng, dtype):
    rate = 0.3
    layer = Dropout(rate, seed=2)
    X = (rng.normal(size=(40, 30)) + 5.0).astype(dtype)  # no zeros in X
    Y = layer.forward(X, training=True).copy()
    mask = (Y != 0) / (1.0 - rate)
    assert 0 < (Y == 0).sum() < Y.size
    dY = rng.normal(size=X.shape).astype(dtype)
    dX = layer.backward(dY)
    assert dX.dtype == dtype
    assert_allclose(dX, dY * mask, rtol=1e-6)
    # And it is the derivative: Y = X * mask is linear in X with that fixed mask.
    assert_allclose(Y, X * mask, rtol=1e-6)


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5])
def test_dropout_rate_out_of_range(rate):
    with pytest.raises(ValueError, match="rate"):
        Dropout(rate)


@pytest.mark.parametrize("seed", [-1, 1.5, "0"])
def test_dropout_bad_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        Dropout(0.5, seed=seed)


# ------------------------------------------------- backward vs finite differences

def _check(layer, X):
    worst = gradient_check(layer, X, eps=1e-6, rtol=1e-5, atol=1e-8)
    assert worst < 1e-5


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_backward_matches_finite_differences(activation, rng):
    layer = Activation(activation)
    X = rng.normal(size=(4, 5))
    _check(layer, X)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no-bias"])
def test_dense_backward_matches_finite_differences(activation, use_bias, rng):
    layer = _built(Dense(3, activation=activation, input_dim=4, use_bias=use_bias,
                         bias_initializer="normal"), 4)
    assert len(layer.params) == (2 if use_bias else 1)
    _check(layer, rng.normal(size=(5, 4)))


@pytest.mark.parametrize("pieces", [1, 2, 3])
def test_maxout_backward_matches_finite_differences(pieces, rng):
    layer = _built(Maxout(3, pieces=pieces, input_dim=4, bias_initializer="normal"), 4)
    _check(layer, rng.normal(size=(5, 4)))


@pytest.mark.parametrize("make", [
    lambda: Dense(3, activation="elu", input_dim=4, bias_initializer="normal"),
    lambda: Maxout(2, pieces=3, input_dim=4, bias_initializer="normal"),
], ids=["dense", "maxout"])
def test_backward_overwrites_the_gradients(make, rng):
    """A second backward (other batch size, other data) must not add to the first."""
    layer = _built(make(), 4)
    _check(layer, rng.normal(size=(5, 4)))
    _check(layer, rng.normal(size=(3, 4)))
    _check(layer, rng.normal(size=(5, 4)))


def test_dense_backward_by_hand(rng):
    """dW = X^T dZ, db = column sums of dZ, dX = dZ W^T, dZ = dY * sigmoid'."""
    layer = _built(Dense(3, activation="sigmoid", input_dim=4, bias_initializer="normal"), 4)
    X, dY = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    Y = layer.forward(X).copy()
    dX = layer.backward(dY).copy()
    W = layer.get_weights()[0]
    dZ = dY * Y * (1 - Y)
    assert_allclose(layer.grads[0], X.T @ dZ, rtol=1e-12)
    assert_allclose(layer.grads[1], dZ.sum(axis=0), rtol=1e-12)
    assert_allclose(dX, dZ @ W.T, rtol=1e-12)


def test_backward_without_dX(rng):
    layer = _built(Dense(3, activation="tanh", input_dim=4), 4)
    X, dY = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    layer.forward(X)
    layer.backward(dY)
    dW = layer.grads[0].copy()
    layer.grads[0][...] = 0.0
    layer.forward(X)
    assert layer.backward(dY, need_dX=False) is None
    assert_allclose(layer.grads[0], dW, rtol=1e-12)


def test_backward_before_forward_raises():
    with pytest.raises(RuntimeError, match="backward called before forward"):
        _built(Dense(3, input_dim=2), 2).backward(np.ones((1, 3)))


# ------------------------------------------------------------ get/set weights

def test_get_set_weights_round_trip(rng, dtype):
    layer = _built(Dense(3, activation="relu", input_dim=2), 2, dtype)
    W = rng.normal(size=(2, 3)).astype(dtype)
    b = rng.normal(size=3).astype(dtype)
    layer.set_weights([W, b])
    got = layer.get_weights()
    assert_array_equal(got[0], W)
    assert_array_equal(got[1], b)
    assert got[0].dtype == dtype
    # get_weights returns copies: changing them leaves the layer alone.
    got[0][...] = 0.0
    assert_array_equal(layer.get_weights()[0], W)
    X = rng.normal(size=(4, 2)).astype(dtype)
    expected = np.maximum(X.astype(np.float64) @ W + b, 0.0)
    assert_allclose(layer.forward(X), expected, rtol=1e-5 if dtype == np.float32 else 1e-12,
                    atol=1e-6)


def test_set_weights_builds_an_unbuilt_layer():
    layer = Dense(3)
    layer.set_weights([np.ones((5, 3)), np.zeros(3)])
    assert layer.built and layer.input_dim == 5 and layer.dtype == np.float64


def test_set_weights_wrong_shape_count_or_values():
    layer = _built(Dense(3, input_dim=2), 2)
    with pytest.raises(ValueError, match=r"weight 0 must have shape \(2, 3\), got \(3, 2\)"):
        layer.set_weights([np.ones((3, 2)), np.zeros(3)])
    with pytest.raises(ValueError, match="takes 2 weight arrays"):
        layer.set_weights([np.ones((2, 3))])
    with pytest.raises(ValueError, match="finite"):
        layer.set_weights([np.full((2, 3), np.nan), np.zeros(3)])
    with pytest.raises(ValueError, match="not built"):
        Dropout(0.5).set_weights([np.ones(1)])


def test_maxout_and_dropout_weights():
    assert [w.shape for w in _built(Maxout(2, pieces=3, input_dim=4), 4).get_weights()] == [
        (4, 6), (6,)
    ]
    assert _built(Dropout(0.5), 4).get_weights() == []
    assert _built(Activation("tanh"), 4).get_weights() == []
