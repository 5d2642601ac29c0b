"""Extreme inputs: ±1e4, ±1e30, ±finfo.max, the smallest subnormal and 0.

Every kernel must give finite outputs where the true answer is finite and representable,
the right limiting values, and no warnings. The fastnn calls run under
``warnings.simplefilter("error")`` and ``np.errstate(all="raise")``; the expected values
are computed outside that block.
"""

import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import ops


@contextmanager
def strict():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            yield


def _extremes(dtype):
    finfo = np.finfo(dtype)
    tiny = finfo.smallest_subnormal
    values = [0.0, tiny, -tiny, 1e4, -1e4, 1e30, -1e30, finfo.max, -finfo.max]
    return np.array(values, dtype)


# Forward limits in the order of _extremes:
# 0, +sub, -sub, 1e4, -1e4, 1e30, -1e30, max, -max
def _expected_forward(name, X):
    dtype = X.dtype.type
    big = np.finfo(dtype).max
    tiny = np.finfo(dtype).smallest_subnormal
    return np.array(
        {
            "sigmoid": [0.5, 0.5, 0.5, 1, 0, 1, 0, 1, 0],
            "tanh": [0, tiny, -tiny, 1, -1, 1, -1, 1, -1],
            "relu": [0, tiny, 0, 1e4, 0, 1e30, 0, big, 0],
            "leaky_relu": np.where(X > 0, X, dtype(0.1) * X),
            "elu": [0, tiny, -tiny, 1e4, -1, 1e30, -1, big, -1],
        }[name],
        dtype,
    )


FORWARD = {
    "sigmoid": ops.sigmoid,
    "tanh": ops.tanh,
    "relu": ops.relu,
    "leaky_relu": ops.leaky_relu,
    "elu": ops.elu,
}


@pytest.mark.parametrize("name", list(FORWARD))
def test_activation_forward_limits(name, dtype):
    X = _extremes(dtype)
    with strict():
        Y = FORWARD[name](X)
    assert np.all(np.isfinite(Y)), Y
    assert_array_equal(Y, _expected_forward(name, X))


def test_activation_backward_limits(dtype):
    # dY = 1 gives the local derivative itself: 0 where the activations saturate.
    X = _extremes(dtype)
    ones = np.ones_like(X)
    with strict():
        dsigmoid = ops.sigmoid_backward(ops.sigmoid(X), ones)
        dtanh = ops.tanh_backward(ops.tanh(X), ones)
        drelu = ops.relu_backward(X, ones)
        dleaky = ops.leaky_relu_backward(X, ones)
        delu = ops.elu_backward(X, ops.elu(X), ones)
    positive = X > 0
    assert_array_equal(dsigmoid, [0.25, 0.25, 0.25, 0, 0, 0, 0, 0, 0])
    assert_array_equal(dtanh, [1, 1, 1, 0, 0, 0, 0, 0, 0])
    assert_array_equal(drelu, positive.astype(dtype))
    assert_array_equal(dleaky, np.where(positive, 1, dtype(0.1)).astype(dtype))
    assert_array_equal(delu, [1, 1, 1, 1, 0, 1, 0, 1, 0])


def test_activation_backward_with_extreme_upstream_gradients(dtype, tolerances):
    # dY itself extreme: every local derivative is in [0, 1], so dX stays finite.
    X = _extremes(dtype)
    dY = X[::-1].copy()
    with strict():
        Y_sigmoid, Y_tanh, Y_elu = ops.sigmoid(X), ops.tanh(X), ops.elu(X)
        got = [
            ops.sigmoid_backward(Y_sigmoid, dY),
            ops.tanh_backward(Y_tanh, dY),
            ops.relu_backward(X, dY),
            ops.leaky_relu_backward(X, dY),
            ops.elu_backward(X, Y_elu, dY),
        ]
    x, d = X.astype(np.float64), dY.astype(np.float64)
    s, t = Y_sigmoid.astype(np.float64), Y_tanh.astype(np.float64)
    expected = [
        d * (s * (1 - s)),
        d * (1 - t * t),
        np.where(x > 0, d, 0),
        np.where(x > 0, d, 0.1 * d),
        np.where(x > 0, d, d * np.exp(np.minimum(x, 0))),
    ]
    for dX, want in zip(got, expected):
        assert np.all(np.isfinite(dX)), dX
        assert_allclose(dX, want.astype(dtype), **tolerances[dtype])


def test_maxout_limits(dtype):
    # Units: (max, -max), (tiny, 0), (-1e30, 1e30)
    X = _extremes(dtype)[[7, 8, 1, 0, 6, 5]].reshape(1, 6)
    with strict():
        Y, argmax = ops.maxout(X, 2)
        dX = ops.maxout_backward(np.full((1, 3), np.finfo(dtype).max, dtype), argmax, 2)
    assert_array_equal(Y, X[:, [0, 2, 5]])
    assert_array_equal(argmax, [[0, 2, 5]])
    assert np.all(np.isfinite(dX))
    assert_array_equal(dX != 0, [[True, False, True, False, False, True]])


def _rows(dtype):
    big = np.finfo(dtype).max
    tiny = np.finfo(dtype).smallest_subnormal
    return np.array(
        [
            [big, -big, 0.0],
            [1e30, -1e30, 0.0],
            [1e4, -1e4, 0.0],
            [-big, 0.0, big],
            [tiny, 0.0, -tiny],
            [-1e30, -1e30, -1e30],
        ],
        dtype,
    )


def test_softmax_limits(dtype):
    with strict():
        P = ops.softmax(_rows(dtype))
    third = dtype(1) / dtype(3)
    expected = [[1, 0, 0], [1, 0, 0], [1, 0, 0], [0, 0, 1], [third] * 3, [third] * 3]
    assert np.all(np.isfinite(P))
    assert_allclose(P, np.array(expected, dtype), rtol=4 * np.finfo(dtype).eps, atol=0)


def test_log_softmax_limits(dtype):
    logits = _rows(dtype)[1:3]  # rows whose exact answer is representable
    with strict():
        logP = ops.log_softmax(logits)
    assert_array_equal(logP, np.array([[0, -2e30, -1e30], [0, -2e4, -1e4]], dtype))


@pytest.mark.parametrize("big", [1e4, 1e30, "max"])
def test_log_softmax_of_equal_huge_logits_is_minus_log_n(big, dtype, tolerances):
    # Shift invariance: log_softmax([b, b]) = [-log 2, -log 2] for any b.
    big = np.finfo(dtype).max if big == "max" else big
    with strict():
        logP = ops.log_softmax(np.full((1, 2), big, dtype))
    expected = np.full((1, 2), -np.log(2)).astype(dtype)
    assert_allclose(logP, expected, **tolerances[dtype])


def test_softmax_cross_entropy_limits_with_labels(dtype, tolerances):
    big = np.finfo(dtype).max
    logits = np.array(
        [[big, -big, 0.0], [big, -big, 0.0], [1e30, 1e30, -1e30], [-1e4, 1e4, 0]], dtype
    )
    y = np.array([0, 2, 0, 1])
    with strict():
        loss, grad = ops.softmax_cross_entropy(logits, y)
    # Row 1: logsumexp = max, so loss = max - 0 exactly; row 2: a tie, loss = log 2.
    expected_loss = np.array([0.0, big, np.log(2), 0.0]).astype(dtype)
    expected_grad = np.array([[0, 0, 0], [1, 0, -1], [-0.5, 0.5, 0], [0, 0, 0]], dtype)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
    assert_allclose(loss, expected_loss, **tolerances[dtype])
    assert_allclose(grad, expected_grad, **tolerances[dtype])


@pytest.mark.parametrize("big", [1e30, "max"])
def test_softmax_cross_entropy_limits_with_targets(big, dtype, tolerances):
    big = np.finfo(dtype).max if big == "max" else big
    logits = np.array([[big, -big, 0.0], [big, big, -big]], dtype)
    Y = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], dtype)
    with strict():
        loss, grad = ops.softmax_cross_entropy(logits, Y)
    assert_allclose(grad, np.zeros((2, 3), dtype), **tolerances[dtype])
    assert_allclose(loss, np.array([0.0, np.log(2)]).astype(dtype), **tolerances[dtype])


@pytest.mark.parametrize("target", ["right", "wrong", "soft"])
def test_binary_cross_entropy_limits(target, dtype, tolerances):
    X = _extremes(dtype)
    y = {
        "right": (X > 0).astype(dtype),  # the label the logit predicts
        "wrong": (X <= 0).astype(dtype),
        "soft": np.full_like(X, 0.5),
    }[target]
    with strict():
        loss, grad = ops.binary_cross_entropy(X, y)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
    z, t = X.astype(np.float64), y.astype(np.float64)
    expected_loss = t * np.logaddexp(0, -z) + (1 - t) * np.logaddexp(0, z)
    e = np.exp(-np.abs(z))
    expected_grad = np.where(z >= 0, 1 / (1 + e), e / (1 + e)) - t
    assert_allclose(loss, expected_loss.astype(dtype), **tolerances[dtype])
    assert_allclose(grad, expected_grad.astype(dtype), **tolerances[dtype])
    if target == "right":  # a huge correct logit costs nothing and pulls nothing
        assert np.all(loss[3:] == 0) and np.all(grad[3:] == 0)


def test_binary_cross_entropy_multilabel_and_weighted_limits(dtype, tolerances):
    big = np.finfo(dtype).max
    logits = np.array([[big, -big], [1e30, -1e30]], dtype)
    Y = np.array([[1.0, 0.0], [1.0, 0.0]], dtype)
    weight = np.array([1e4, 0.5], dtype)
    with strict():
        loss, grad = ops.binary_cross_entropy(logits, Y, sample_weight=weight)
    assert_array_equal(loss, np.zeros(2, dtype))
    assert_array_equal(grad, np.zeros((2, 2), dtype))


def test_softmax_backward_limits(dtype, tolerances):
    # Saturated rows (one-hot Y) pass nothing back; uniform rows pass dY minus its mean.
    # NOTE: dot = sum(dY * Y) is a weighted mean of dY, so dY - dot cannot overflow
    # while |dY| <= max / 2; beyond that the kernel may give inf (not tested).
    big = np.finfo(dtype).max / 4
    P = ops.softmax(_rows(dtype))
    dY = np.tile(np.array([big, -big, 0.0], dtype), (6, 1))
    dY[:, 1] = np.array([-big, 1e30, -1e4, -big, -big, -big], dtype)
    with strict():
        dX = ops.softmax_backward(P, dY)
    assert np.all(np.isfinite(dX))
    assert_array_equal(dX[:4], np.zeros((4, 3), dtype))
    # Uniform rows: dX = (dY - mean dY) / 3, rounded at the scale of dY, not of dX.
    y, d = P.astype(np.float64), dY.astype(np.float64)
    expected = y * (d - np.sum(y * d, axis=1, keepdims=True))
    atol = 4 * np.finfo(dtype).eps * float(big)
    rtol = tolerances[dtype]["rtol"]
    assert_allclose(dX, expected.astype(dtype), rtol=rtol, atol=atol)


@pytest.mark.parametrize("target", ["zero", "equal"])
def test_squared_error_limits(target, dtype, tolerances):
    # One output per sample: loss = (x - y)**2 and grad = 2 (x - y). (x - y)**2 passes
    # the float max for |x - y| >= 1e30 in float32 and at max in float64: the true loss
    # is not representable there and becomes inf, never NaN.
    X = _extremes(dtype)
    y = np.zeros_like(X) if target == "zero" else X.copy()
    with strict():
        loss, grad = ops.squared_error(X, y)
    assert not np.any(np.isnan(loss)) and not np.any(np.isnan(grad))
    if target == "equal":  # exactly right, however huge: no loss, no pull
        assert np.all(loss == 0) and np.all(grad == 0)
        return
    with np.errstate(over="ignore"):
        x = X.astype(np.float64)
        expected_loss, expected_grad = (x * x).astype(dtype), (2 * x).astype(dtype)
    assert_allclose(loss, expected_loss, **tolerances[dtype])
    assert_allclose(grad, expected_grad, **tolerances[dtype])
    representable = np.abs(x) <= np.sqrt(np.finfo(dtype).max)
    assert np.all(np.isfinite(loss[representable]))


def test_squared_error_gradient_stays_finite_when_the_loss_overflows(dtype):
    # 2 * weight / n_outputs is formed before it meets the difference: with 4 outputs
    # and weight 0.5, a difference at the float max gives grad = max / 4, finite,
    # although the squares overflow.
    big = np.finfo(dtype).max
    pred = np.array([[big, -big, 1e30, 0.0]], dtype)
    weight = np.array([0.5], dtype)
    with strict():
        loss, grad = ops.squared_error(pred, np.zeros_like(pred), sample_weight=weight)
    assert loss[0] == np.inf
    quarter = dtype(0.25)
    expected = np.array([[big * quarter, -big * quarter, 2.5e29, 0]], dtype)
    assert_array_equal(grad, expected)


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.5])
def test_dropout_limits(rate, dtype, tolerances):
    # Kept extremes are scaled by 1 / (1 - rate): finfo.max then overflows, as the true
    # value does; dropped ones become exactly 0, and nothing becomes NaN.
    X = _extremes(dtype)
    U = np.linspace(0, 1, X.size, endpoint=False).astype(dtype)
    mask = U.copy()
    dY = X[::-1].copy()
    with strict():
        out = ops.dropout(X, mask, rate)
        dX = ops.dropout_backward(mask, dY)
    assert not np.any(np.isnan(out)) and not np.any(np.isnan(dX))
    dropped = U < dtype(rate)
    assert np.all(out[dropped] == 0) and np.all(dX[dropped] == 0)
    keep = np.float64(dtype(1 / (1 - rate)))
    with np.errstate(over="ignore"):
        expected_out = np.where(dropped, 0, X.astype(np.float64) * keep).astype(dtype)
        expected_dX = np.where(dropped, 0, dY.astype(np.float64) * keep).astype(dtype)
    assert_allclose(out, expected_out, **tolerances[dtype])
    assert_allclose(dX, expected_dX, **tolerances[dtype])


def test_dropout_uniform_numbers_at_the_edges(dtype):
    # U < rate drops: U == rate is kept, 0 is dropped (unless rate is 0), and the
    # largest number below 1 is always kept.
    rate = dtype(0.25)
    below_one = np.nextafter(dtype(1), dtype(0))
    U = np.array([0.0, np.nextafter(rate, dtype(0)), rate, below_one], dtype)
    with strict():
        ops.dropout(np.ones(4, dtype), U, float(rate))
    keep = dtype(1 / (1 - float(rate)))
    assert_array_equal(U, np.array([0, 0, keep, keep], dtype))
    U = np.array([0.0, below_one], dtype)
    ops.dropout(np.ones(2, dtype), U, 0.0)
    assert_array_equal(U, [1, 1])
