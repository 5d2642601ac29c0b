"""Activations and dropout, forward and backward, against NumPy twins and finite
differences."""

from functools import partial

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import ops

# ------------------------------------------------------------------------ NumPy twins
# Each twin takes and returns float64; `_twin` casts in and out of the tested dtype.


def _sigmoid(x):
    e = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _relu(x):
    return np.where(x > 0, x, 0.0)


def _leaky_relu(x, alpha):
    return np.where(x > 0, x, alpha * x)


def _elu(x, alpha):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _twin(f, X):
    return f(X.astype(np.float64)).astype(X.dtype)


# Each case: (forward(X, **kw), float64 twin, backward(X, Y, dY, **kw), dX twin).
# The backward twins are the analytic derivatives, written from X where they can be.
CASES = {
    "sigmoid": (
        ops.sigmoid,
        _sigmoid,
        lambda X, Y, dY, **kw: ops.sigmoid_backward(Y, dY, **kw),
        lambda X, Y, dY: dY * Y * (1 - Y),
    ),
    "tanh": (
        ops.tanh,
        np.tanh,
        lambda X, Y, dY, **kw: ops.tanh_backward(Y, dY, **kw),
        lambda X, Y, dY: dY * (1 - Y**2),
    ),
    "relu": (
        ops.relu,
        _relu,
        lambda X, Y, dY, **kw: ops.relu_backward(X, dY, **kw),
        lambda X, Y, dY: np.where(X > 0, dY, 0.0),
    ),
    "leaky_relu-default": (
        ops.leaky_relu,
        partial(_leaky_relu, alpha=0.1),
        lambda X, Y, dY, **kw: ops.leaky_relu_backward(X, dY, **kw),
        lambda X, Y, dY: np.where(X > 0, dY, 0.1 * dY),
    ),
    "leaky_relu-0.01": (
        partial(ops.leaky_relu, alpha=0.01),
        partial(_leaky_relu, alpha=0.01),
        lambda X, Y, dY, **kw: ops.leaky_relu_backward(X, dY, alpha=0.01, **kw),
        lambda X, Y, dY: np.where(X > 0, dY, 0.01 * dY),
    ),
    "elu-default": (
        ops.elu,
        partial(_elu, alpha=1.0),
        lambda X, Y, dY, **kw: ops.elu_backward(X, Y, dY, **kw),
        lambda X, Y, dY: np.where(X > 0, dY, dY * np.exp(np.minimum(X, 0))),
    ),
    "elu-0.5": (
        partial(ops.elu, alpha=0.5),
        partial(_elu, alpha=0.5),
        lambda X, Y, dY, **kw: ops.elu_backward(X, Y, dY, alpha=0.5, **kw),
        lambda X, Y, dY: np.where(X > 0, dY, dY * 0.5 * np.exp(np.minimum(X, 0))),
    ),
}

SHAPES = [(7,), (5, 6), (3, 4, 5)]


def _inputs(rng, shape, dtype):
    # Both signs, away from the kinks of relu / leaky_relu / elu at 0, some beyond the
    # 0.625 switch of the float32 tanh and the saturation of sigmoid.
    magnitude = rng.uniform(1e-2, 6.0, size=shape)
    sign = rng.choice([-1.0, 1.0], size=shape)
    return (sign * magnitude).astype(dtype)


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(request):
    return CASES[request.param]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_forward_matches_numpy(case, shape, dtype, tol, rng):
    forward, twin, _, _ = case
    X = _inputs(rng, shape, dtype)
    X_before = X.copy()
    Y = forward(X)
    assert Y.dtype == dtype and Y.shape == shape
    assert_allclose(Y, _twin(twin, X), **tol)
    assert_array_equal(X, X_before)  # the input is untouched


def test_forward_in_place(case, dtype, tol, rng):
    forward, twin, _, _ = case
    X = _inputs(rng, (3, 4, 5), dtype)
    expected = _twin(twin, X)
    Y = forward(X, out=X)
    assert Y is X
    assert_allclose(X, expected, **tol)


def test_forward_into_preallocated_out(case, dtype, tol, rng):
    forward, twin, _, _ = case
    X = _inputs(rng, (4, 5), dtype)
    out = np.full_like(X, np.nan)
    assert forward(X, out=out) is out
    assert_allclose(out, _twin(twin, X), **tol)


def test_large_arrays_take_the_threaded_path(case, dtype, tol, rng):
    # Past PARALLEL_MIN_SIZE = 131072 elements the kernels switch to an OpenMP loop.
    forward, twin, backward, dX_twin = case
    X = _inputs(rng, (350, 400), dtype)
    dY = rng.normal(size=X.shape).astype(dtype)
    Y = forward(X)
    assert_allclose(Y, _twin(twin, X), **tol)
    f64 = [a.astype(np.float64) for a in (X, Y, dY)]
    assert_allclose(backward(X, Y, dY), dX_twin(*f64).astype(dtype), **tol)


def test_forward_of_empty_array(case, dtype):
    forward = case[0]
    Y = forward(np.empty((0, 3), dtype))
    assert Y.shape == (0, 3) and Y.dtype == dtype


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_backward_matches_analytic_formula(case, shape, dtype, tol, rng):
    forward, _, backward, dX_twin = case
    X = _inputs(rng, shape, dtype)
    Y = forward(X)
    dY = rng.normal(size=shape).astype(dtype)
    dX = backward(X, Y, dY)
    assert dX.dtype == dtype and dX.shape == shape
    f64 = [a.astype(np.float64) for a in (X, Y, dY)]
    assert_allclose(dX, dX_twin(*f64).astype(dtype), **tol)


def test_backward_in_place_on_dY(case, dtype, tol, rng):
    forward, _, backward, _ = case
    X = _inputs(rng, (3, 4, 5), dtype)
    Y = forward(X)
    dY = rng.normal(size=X.shape).astype(dtype)
    expected = backward(X, Y, dY)
    assert backward(X, Y, dY, out=dY) is dY
    assert_allclose(dY, expected, **tol)


@pytest.mark.parametrize("shape", [(6,), (3, 4)], ids=str)
def test_backward_matches_finite_differences(case, shape, rng, num_grad, fd_tol):
    forward, _, backward, _ = case
    X = _inputs(rng, shape, np.float64)
    dY = rng.normal(size=shape)
    dX = backward(X, forward(X), dY)
    expected = num_grad(lambda Z: np.sum(forward(Z) * dY), X)
    assert_allclose(dX, expected, **fd_tol)


def test_leaky_relu_is_the_lectures_max_of_point_one_x_and_x(dtype):
    X = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype)
    assert_allclose(ops.leaky_relu(X), np.array([-0.2, -0.05, 0.0, 0.5, 2.0], dtype))


def test_elu_known_values(dtype, tol):
    X = np.array([-1.0, 0.0, 1.0], dtype)
    expected = np.array([np.exp(-1.0) - 1.0, 0.0, 1.0]).astype(dtype)
    assert_allclose(ops.elu(X), expected, **tol)
    assert_allclose(ops.elu(X, alpha=2.0), expected * [2.0, 1.0, 1.0], **tol)


def test_small_inputs_keep_relative_accuracy(dtype, tol):
    # Near 0 the naive (1 - e)/(1 + e) and exp(x) - 1 cancel: check relative error only.
    X = np.array([1e-6, -1e-6, 3e-4, -3e-4, 0.3, -0.3, 0.6, -0.6], dtype)
    assert_allclose(ops.tanh(X), _twin(np.tanh, X), rtol=tol["rtol"], atol=0)
    elu_twin = _twin(partial(_elu, alpha=1.0), X)
    assert_allclose(ops.elu(X), elu_twin, rtol=tol["rtol"], atol=0)


# ---------------------------------------------------------------------------- maxout


def _maxout_twin(X, pieces):
    n_samples, width = X.shape
    groups = X.reshape(n_samples, width // pieces, pieces)
    winner = groups.argmax(axis=2)  # first maximum: ties go to the first piece
    argmax = winner + np.arange(width // pieces) * pieces
    return groups.max(axis=2), argmax


@pytest.mark.parametrize("pieces", [1, 2, 3])
def test_maxout_forward_matches_numpy(pieces, dtype, rng):
    X = rng.normal(size=(5, 4 * pieces)).astype(dtype)
    Y, argmax = ops.maxout(X, pieces)
    Y_twin, argmax_twin = _maxout_twin(X, pieces)
    assert Y.dtype == dtype and Y.shape == (5, 4)
    assert argmax.dtype == np.intp
    assert_array_equal(Y, Y_twin)  # a max is exact
    assert_array_equal(argmax, argmax_twin)


def test_maxout_is_the_lectures_max_of_two_affine_pieces(dtype):
    # max(w1.x + b1, w2.x + b2) for one unit: pieces are the two affine outputs.
    X = np.array([[1.0, 3.0], [-2.0, -5.0], [4.0, 4.0]], dtype)
    Y, argmax = ops.maxout(X, 2)
    assert_array_equal(Y, np.array([[3.0], [-2.0], [4.0]], dtype))
    assert_array_equal(argmax, [[1], [0], [0]])


@pytest.mark.parametrize("pieces", [2, 3])
def test_maxout_ties_go_to_the_first_piece(pieces, dtype):
    X = np.zeros((2, 2 * pieces), dtype)
    X[1, 1:pieces] = 7.0  # unit 0 of row 1: pieces 1.. tie at 7
    _, argmax = ops.maxout(X, pieces)
    assert_array_equal(argmax, [[0, pieces], [1, pieces]])


@pytest.mark.parametrize("pieces", [1, 2, 3])
def test_maxout_backward_routes_dY_to_the_winner_only(pieces, dtype, rng):
    X = rng.normal(size=(5, 4 * pieces)).astype(dtype)
    _, argmax = ops.maxout(X, pieces)
    dY = rng.normal(size=(5, 4)).astype(dtype)
    dX = ops.maxout_backward(dY, argmax, pieces)
    expected = np.zeros_like(X)
    np.put_along_axis(expected, argmax, dY, axis=1)
    assert dX.dtype == dtype and dX.shape == X.shape
    assert_array_equal(dX, expected)
    assert np.count_nonzero(dX) == np.count_nonzero(dY)


@pytest.mark.parametrize("pieces", [1, 2, 3])
def test_maxout_backward_matches_finite_differences(pieces, rng, num_grad, fd_tol):
    X = rng.normal(size=(3, 2 * pieces))
    dY = rng.normal(size=(3, 2))
    _, argmax = ops.maxout(X, pieces)
    dX = ops.maxout_backward(dY, argmax, pieces)
    expected = num_grad(lambda Z: np.sum(ops.maxout(Z, pieces)[0] * dY), X)
    assert_allclose(dX, expected, **fd_tol)


def test_maxout_into_preallocated_outputs(dtype, rng):
    X = rng.normal(size=(4, 6)).astype(dtype)
    out = np.full((4, 3), np.nan, dtype)
    argmax = np.full((4, 3), -1, np.intp)
    Y, A = ops.maxout(X, 2, out=out, argmax=argmax)
    assert Y is out and A is argmax
    Y_twin, argmax_twin = _maxout_twin(X, 2)
    assert_array_equal(out, Y_twin)
    assert_array_equal(argmax, argmax_twin)
    dX = np.full(X.shape, np.nan, dtype)
    assert ops.maxout_backward(np.ones((4, 3), dtype), argmax, 2, out=dX) is dX
    assert np.all((dX == 0) | (dX == 1)) and dX.sum() == 12


def test_maxout_of_empty_batch(dtype):
    Y, argmax = ops.maxout(np.empty((0, 6), dtype), 3)
    assert Y.shape == argmax.shape == (0, 2)
    dX = ops.maxout_backward(np.empty((0, 2), dtype), argmax, 3)
    assert dX.shape == (0, 6)


# --------------------------------------------------------------------------- dropout


def _dropout_twin(X, U, rate):
    """(out, mask) in X's dtype: mask 0 where U < rate, else 1 / (1 - rate)."""
    dtype = X.dtype.type
    keep = dtype(1 / (1 - rate))
    mask = np.where(U < dtype(rate), dtype(0), keep).astype(dtype)
    return X * mask, mask


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 0.9])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_dropout_matches_numpy(rate, shape, dtype, rng):
    X = _inputs(rng, shape, dtype)
    U = rng.random(shape, dtype=dtype)
    expected_out, expected_mask = _dropout_twin(X, U, rate)
    X_before = X.copy()
    out = ops.dropout(X, U, rate)
    assert out.dtype == dtype and out.shape == shape
    # One comparison and one product per element: exact, not approximately equal.
    assert_array_equal(U, expected_mask)
    assert_array_equal(out, expected_out)
    assert_array_equal(X, X_before)


@pytest.mark.parametrize("rate", [0.0, 0.25, 0.5, 0.8])
def test_dropout_mask_holds_exactly_two_values(rate, dtype, rng):
    U = rng.random((40, 50), dtype=dtype)
    dropped = U < dtype(rate)
    ops.dropout(np.ones_like(U), U, rate)
    assert np.all(U[dropped] == 0)
    assert np.all(U[~dropped] == dtype(1 / (1 - rate)))
    if rate == 0:
        assert np.all(U == 1)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_preserves_the_mean(rate, dtype, rng):
    # Inverted dropout: E[out] = X. With X = 1 the mean of n masks has standard
    # deviation sqrt(rate / (1 - rate) / n); allow 5 of them. n is past the parallel
    # threshold, so this also runs the threaded loop.
    n = 1_000_000
    X = np.ones(n, dtype)
    U = rng.random(n, dtype=dtype)
    out = ops.dropout(X, U, rate)
    sigma = np.sqrt(rate / (1 - rate) / n)
    assert abs(out.mean(dtype=np.float64) - 1) < 5 * sigma
    assert abs(np.mean(U == 0) - rate) < 5 * np.sqrt(rate * (1 - rate) / n)


def test_dropout_in_place_and_into_out(dtype, rng):
    X = _inputs(rng, (5, 6), dtype)
    U = rng.random(X.shape, dtype=dtype)
    expected_out, expected_mask = _dropout_twin(X, U, 0.3)
    out = np.full_like(X, np.nan)
    assert ops.dropout(X, U.copy(), 0.3, out=out) is out
    assert_array_equal(out, expected_out)
    assert ops.dropout(X, U, 0.3, out=X) is X
    assert_array_equal(X, expected_out)
    assert_array_equal(U, expected_mask)


def test_dropout_of_empty_array(dtype):
    out = ops.dropout(np.empty((0, 3), dtype), np.empty((0, 3), dtype), 0.5)
    assert out.shape == (0, 3) and out.dtype == dtype


@pytest.mark.parametrize("shape", [(7,), (350, 400)], ids=["small", "threaded"])
def test_dropout_backward_matches_numpy(shape, dtype, rng):
    U = rng.random(shape, dtype=dtype)
    ops.dropout(np.ones(shape, dtype), U, 0.4)
    dY = rng.normal(size=shape).astype(dtype)
    dX = ops.dropout_backward(U, dY)
    assert dX.dtype == dtype and dX.shape == shape
    assert_array_equal(dX, dY * U)
    assert ops.dropout_backward(U, dY, out=dY) is dY
    assert_array_equal(dY, dX)


def test_dropout_backward_matches_finite_differences(rng, num_grad, fd_tol):
    # With its uniform numbers fixed, dropout is linear in X.
    X = rng.normal(size=(3, 4))
    uniform = rng.random(X.shape)
    dY = rng.normal(size=X.shape)
    mask = uniform.copy()
    ops.dropout(X, mask, 0.5)
    dX = ops.dropout_backward(mask, dY)
    expected = num_grad(lambda Z: np.sum(ops.dropout(Z, uniform.copy(), 0.5) * dY), X)
    assert_allclose(dX, expected, **fd_tol)
