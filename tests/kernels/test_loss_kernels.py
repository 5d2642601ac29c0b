"""Softmax, log-softmax and its backward, the cross-entropy losses and the squared error
against NumPy twins and finite differences."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastnn import ops

# ------------------------------------------------------------------------ NumPy twins
# All in float64; the tests cast the result to the tested dtype.


def _logsumexp(Z):
    m = Z.max(axis=1, keepdims=True)
    return m + np.log(np.exp(Z - m).sum(axis=1, keepdims=True))


def _log_softmax(Z):
    m = Z.max(axis=1, keepdims=True)
    shifted = Z - m
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _softmax(Z):
    return np.exp(_log_softmax(Z))


def _softmax_cross_entropy(Z, Y, weight=None, scale=1.0):
    """loss_i = w_i sum_c Y_ic (logsumexp(Z_i) - Z_ic); grad = scale w (softmax - Y)."""
    w = np.ones(len(Z)) if weight is None else weight
    loss = w * np.sum(Y * (_logsumexp(Z) - Z), axis=1)
    grad = scale * w[:, None] * (_softmax(Z) - Y)
    return loss, grad


def _binary_cross_entropy(Z, Y, weight=None, scale=1.0):
    """-y log p - (1 - y) log(1 - p), p = sigmoid(z), with log p = -log(1 + exp(-z))."""
    w = np.ones(len(Z)) if weight is None else weight
    per_output = Y * np.logaddexp(0, -Z) + (1 - Y) * np.logaddexp(0, Z)
    e = np.exp(-np.abs(Z))
    p = np.where(Z >= 0, 1 / (1 + e), e / (1 + e))
    if Z.ndim == 1:
        return w * per_output, scale * w * (p - Y)
    return w * per_output.sum(axis=1), scale * w[:, None] * (p - Y)


def _softmax_backward(Y, dY):
    """dY through each row's full Jacobian J_jk = dy_j / dz_k = y_j (delta_jk - y_k)."""
    J = Y[:, :, None] * (np.eye(Y.shape[1]) - Y[:, None, :])
    return np.einsum("ij,ijk->ik", dY, J)


def _squared_error(P, Y, weight=None, scale=1.0):
    """loss_i = w_i mean_j (P_ij - Y_ij)**2; grad = scale w 2 (P - Y) / n_outputs."""
    w = np.ones(len(P)) if weight is None else weight
    diff = P - Y
    if P.ndim == 1:
        return w * diff**2, scale * w * 2 * diff
    n_outputs = P.shape[1]
    return w * np.mean(diff**2, axis=1), scale * w[:, None] * 2 * diff / n_outputs


def _f64(*arrays):
    return [None if a is None else np.asarray(a, np.float64) for a in arrays]


def _one_hot(y, n_classes):
    return np.eye(n_classes)[y]


N_SAMPLES, N_CLASSES = 6, 4


@pytest.fixture
def logits(rng, dtype):
    return (3 * rng.normal(size=(N_SAMPLES, N_CLASSES))).astype(dtype)


@pytest.fixture
def labels(rng):
    return np.array([0, 3, 1, 2, 3, 0])


# --------------------------------------------------------------------------- softmax


def test_softmax_matches_numpy(logits, dtype, tol):
    P = ops.softmax(logits)
    assert P.dtype == dtype and P.shape == logits.shape
    assert_allclose(P, _softmax(*_f64(logits)).astype(dtype), **tol)
    row_sums = P.astype(np.float64).sum(axis=1)
    assert_allclose(row_sums, 1.0, rtol=0, atol=8 * np.finfo(dtype).eps)


def test_log_softmax_matches_numpy(logits, dtype, tol):
    logP = ops.log_softmax(logits)
    assert logP.dtype == dtype and logP.shape == logits.shape
    assert_allclose(logP, _log_softmax(*_f64(logits)).astype(dtype), **tol)
    assert_allclose(np.exp(logP.astype(np.float64)).sum(axis=1), 1.0, **tol)


@pytest.mark.parametrize(
    "function, twin", [(ops.softmax, _softmax), (ops.log_softmax, _log_softmax)]
)
def test_softmax_family_in_place(function, twin, logits, dtype, tol):
    expected = twin(*_f64(logits)).astype(dtype)
    assert function(logits, out=logits) is logits
    assert_allclose(logits, expected, **tol)


@pytest.mark.parametrize("function", [ops.softmax, ops.log_softmax])
@pytest.mark.parametrize("shift", [-1000, 50, 1000])
def test_softmax_family_is_shift_invariant(function, shift, dtype, tol):
    # Logits in the hundreds or thousands are exact in float32 and common enough.
    Z = np.array([[1.0, 2.0, 3.0]], dtype)
    assert_allclose(function(Z + np.asarray(shift, dtype)), function(Z), **tol)


def test_softmax_of_a_single_class_and_of_no_rows(dtype):
    assert ops.softmax(np.array([[5.0], [-3.0]], dtype)).tolist() == [[1.0], [1.0]]
    assert ops.log_softmax(np.array([[5.0], [-3.0]], dtype)).tolist() == [[0.0], [0.0]]
    assert ops.softmax(np.empty((0, 3), dtype)).shape == (0, 3)


# ------------------------------------------------------------------ softmax backward


def test_softmax_backward_matches_the_jacobian(logits, rng, dtype, tol):
    Y = ops.softmax(logits)
    dY = rng.normal(size=logits.shape).astype(dtype)
    dX = ops.softmax_backward(Y, dY)
    assert dX.dtype == dtype and dX.shape == logits.shape
    assert_allclose(dX, _softmax_backward(*_f64(Y, dY)).astype(dtype), **tol)


def test_softmax_backward_matches_finite_differences(rng, num_grad, fd_tol):
    Z = 2 * rng.normal(size=(4, 5))
    dY = rng.normal(size=Z.shape)
    dX = ops.softmax_backward(ops.softmax(Z), dY)
    expected = num_grad(lambda L: np.sum(ops.softmax(L) * dY), Z)
    assert_allclose(dX, expected, **fd_tol)


def test_softmax_backward_in_place_and_into_out(logits, rng, dtype, tol):
    Y = ops.softmax(logits)
    dY = rng.normal(size=logits.shape).astype(dtype)
    expected = ops.softmax_backward(Y, dY)
    out = np.full_like(dY, np.nan)
    assert ops.softmax_backward(Y, dY, out=out) is out
    assert_allclose(out, expected, **tol)
    assert ops.softmax_backward(Y, dY, out=dY) is dY
    assert_allclose(dY, expected, **tol)


def test_softmax_backward_of_a_constant_upstream_gradient_is_zero(logits, dtype):
    # Softmax rows sum to 1, so moving every output by the same amount is not possible.
    dX = ops.softmax_backward(ops.softmax(logits), np.full(logits.shape, 3.0, dtype))
    assert_allclose(dX, 0, atol=8 * np.finfo(dtype).eps)


def test_softmax_backward_of_empty_shapes(dtype):
    assert ops.softmax_backward(*[np.empty((0, 3), dtype)] * 2).shape == (0, 3)
    assert ops.softmax_backward(*[np.empty((2, 0), dtype)] * 2).shape == (2, 0)


# ------------------------------------------------------------- softmax cross-entropy


@pytest.mark.parametrize(
    "label_dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64, np.intp]
)
def test_softmax_cross_entropy_with_integer_labels(
    label_dtype, logits, labels, dtype, tol
):
    loss, grad = ops.softmax_cross_entropy(logits, labels.astype(label_dtype))
    assert loss.dtype == grad.dtype == dtype
    assert loss.shape == (N_SAMPLES,) and grad.shape == logits.shape
    expected_loss, expected_grad = _softmax_cross_entropy(
        *_f64(logits, _one_hot(labels, N_CLASSES))
    )
    assert_allclose(loss, expected_loss.astype(dtype), **tol)
    assert_allclose(grad, expected_grad.astype(dtype), **tol)


def test_softmax_cross_entropy_one_hot_targets_equal_labels(logits, labels, dtype, tol):
    Y = _one_hot(labels, N_CLASSES).astype(dtype)
    loss, grad = ops.softmax_cross_entropy(logits, Y)
    loss_labels, grad_labels = ops.softmax_cross_entropy(logits, labels)
    assert_allclose(loss, loss_labels, **tol)
    assert_allclose(grad, grad_labels, **tol)


def test_softmax_cross_entropy_with_soft_targets(logits, rng, dtype, tol):
    Y = rng.dirichlet(np.ones(N_CLASSES), size=N_SAMPLES).astype(dtype)
    loss, grad = ops.softmax_cross_entropy(logits, Y)
    expected_loss, expected_grad = _softmax_cross_entropy(*_f64(logits, Y))
    assert_allclose(loss, expected_loss.astype(dtype), **tol)
    assert_allclose(grad, expected_grad.astype(dtype), **tol)


@pytest.mark.parametrize("targets", ["labels", "one-hot"])
def test_softmax_cross_entropy_with_sample_weight_and_scale(
    targets, logits, labels, rng, dtype, tol
):
    weight = rng.uniform(0.0, 3.0, size=N_SAMPLES).astype(dtype)
    weight[2] = 0
    Y = _one_hot(labels, N_CLASSES)
    y = labels if targets == "labels" else Y.astype(dtype)
    scale = 1 / N_SAMPLES
    loss, grad = ops.softmax_cross_entropy(logits, y, sample_weight=weight, scale=scale)
    expected_loss, expected_grad = _softmax_cross_entropy(
        *_f64(logits, Y, weight), scale
    )
    assert_allclose(loss, expected_loss.astype(dtype), **tol)
    assert_allclose(grad, expected_grad.astype(dtype), **tol)
    assert loss[2] == 0 and not grad[2].any()


def test_softmax_cross_entropy_scale_multiplies_the_gradient_only(
    logits, labels, dtype, tol
):
    loss_1, grad_1 = ops.softmax_cross_entropy(logits, labels)
    loss_s, grad_s = ops.softmax_cross_entropy(logits, labels, scale=-0.25)
    assert_allclose(loss_s, loss_1, **tol)
    assert_allclose(grad_s, -0.25 * grad_1, **tol)


@pytest.mark.parametrize("targets", ["labels", "one-hot"])
def test_softmax_cross_entropy_without_grad(targets, logits, labels, dtype, tol):
    y = labels if targets == "labels" else _one_hot(labels, N_CLASSES).astype(dtype)
    loss, grad = ops.softmax_cross_entropy(logits, y, with_grad=False)
    assert grad is None
    assert_allclose(loss, ops.softmax_cross_entropy(logits, y)[0], **tol)


@pytest.mark.parametrize("targets", ["labels", "one-hot"])
def test_softmax_cross_entropy_grad_in_place(targets, logits, labels, dtype, tol):
    y = labels if targets == "labels" else _one_hot(labels, N_CLASSES).astype(dtype)
    expected_loss, expected_grad = ops.softmax_cross_entropy(logits.copy(), y)
    loss, grad = ops.softmax_cross_entropy(logits, y, grad_out=logits)
    assert grad is logits
    assert_allclose(loss, expected_loss, **tol)
    assert_allclose(logits, expected_grad, **tol)


def test_softmax_cross_entropy_into_preallocated_outputs(logits, labels, dtype, tol):
    loss_out = np.full(N_SAMPLES, np.nan, dtype)
    grad_out = np.full(logits.shape, np.nan, dtype)
    loss, grad = ops.softmax_cross_entropy(
        logits, labels, loss_out=loss_out, grad_out=grad_out
    )
    assert loss is loss_out and grad is grad_out
    expected_loss, expected_grad = ops.softmax_cross_entropy(logits, labels)
    assert_allclose(loss_out, expected_loss, **tol)
    assert_allclose(grad_out, expected_grad, **tol)


def test_softmax_cross_entropy_of_uniform_logits_is_log_n_classes(dtype, tol):
    loss, grad = ops.softmax_cross_entropy(np.zeros((2, 5), dtype), np.array([0, 4]))
    assert_allclose(loss, np.full(2, np.log(5)).astype(dtype), **tol)
    assert_allclose(grad[0], np.array([-0.8, 0.2, 0.2, 0.2, 0.2]).astype(dtype), **tol)


@pytest.mark.parametrize("targets", ["labels", "soft"])
def test_softmax_cross_entropy_grad_matches_finite_differences(
    targets, rng, num_grad, fd_tol
):
    Z = rng.normal(size=(4, 3)) * 2
    labels = np.array([2, 0, 1, 2])
    y = labels if targets == "labels" else rng.dirichlet(np.ones(3), size=4)
    weight = rng.uniform(0.5, 2.0, size=4)
    _, grad = ops.softmax_cross_entropy(Z, y, sample_weight=weight)
    def total_loss(L):
        loss, _ = ops.softmax_cross_entropy(L, y, sample_weight=weight, with_grad=False)
        return loss.sum()

    expected = num_grad(total_loss, Z)
    assert_allclose(grad, expected, **fd_tol)


def test_large_batches_take_the_threaded_path(rng, dtype, tol):
    # Past PARALLEL_MIN_SIZE = 131072 logits the row loops switch to OpenMP.
    n_samples, n_classes = 16384, 10
    Z = (3 * rng.normal(size=(n_samples, n_classes))).astype(dtype)
    y = rng.integers(0, n_classes, size=n_samples)
    Y = _one_hot(y, n_classes)
    (Z64,) = _f64(Z)
    assert_allclose(ops.softmax(Z), _softmax(Z64).astype(dtype), **tol)
    assert_allclose(ops.log_softmax(Z), _log_softmax(Z64).astype(dtype), **tol)
    expected_loss, expected_grad = _softmax_cross_entropy(Z64, Y, scale=0.5)
    for targets in (y, Y.astype(dtype)):
        loss, grad = ops.softmax_cross_entropy(Z, targets, scale=0.5)
        assert_allclose(loss, expected_loss.astype(dtype), **tol)
        assert_allclose(grad, expected_grad.astype(dtype), **tol)
    T = rng.uniform(size=Z.shape).astype(dtype)
    expected_loss, expected_grad = _binary_cross_entropy(Z64, *_f64(T))
    loss, grad = ops.binary_cross_entropy(Z, T)
    assert_allclose(loss, expected_loss.astype(dtype), **tol)
    assert_allclose(grad, expected_grad.astype(dtype), **tol)
    expected_loss, expected_grad = _squared_error(Z64, *_f64(T), scale=0.5)
    loss, grad = ops.squared_error(Z, T, scale=0.5)
    assert_allclose(loss, expected_loss.astype(dtype), **tol)
    assert_allclose(grad, expected_grad.astype(dtype), **tol)
    P = ops.softmax(Z)
    expected = _softmax_backward(*_f64(P, T))
    assert_allclose(ops.softmax_backward(P, T), expected.astype(dtype), **tol)


# -------------------------------------------------------------- binary cross-entropy


@pytest.mark.parametrize("shape", [(7,), (5, 3)], ids=["1-D", "multi-label"])
def test_binary_cross_entropy_matches_numpy(shape, rng, dtype, tol):
    Z = (3 * rng.normal(size=shape)).astype(dtype)
    Y = rng.uniform(size=shape).astype(dtype)
    Y[:2] = np.round(Y[:2])  # some hard 0/1 targets too
    loss, grad = ops.binary_cross_entropy(Z, Y)
    assert loss.dtype == grad.dtype == dtype
    assert loss.shape == (shape[0],) and grad.shape == shape
    expected_loss, expected_grad = _binary_cross_entropy(*_f64(Z, Y))
    assert_allclose(loss, expected_loss.astype(dtype), **tol)
    assert_allclose(grad, expected_grad.astype(dtype), **tol)


@pytest.mark.parametrize("shape", [(7,), (7, 3)], ids=["1-D", "multi-label"])
def test_binary_cross_entropy_with_sample_weight_and_scale(shape, rng, dtype, tol):
    Z = (3 * rng.normal(size=shape)).astype(dtype)
    Y = rng.uniform(size=shape).astype(dtype)
    weight = rng.uniform(0.0, 3.0, size=7).astype(dtype)
    weight[1] = 0
    loss, grad = ops.binary_cross_entropy(Z, Y, sample_weight=weight, scale=0.5)
    expected_loss, expected_grad = _binary_cross_entropy(*_f64(Z, Y, weight), 0.5)
    assert_allclose(loss, expected_loss.astype(dtype), **tol)
    assert_allclose(grad, expected_grad.astype(dtype), **tol)
    assert loss[1] == 0 and not np.any(grad[1])


@pytest.mark.parametrize("shape", [(7,), (5, 3)], ids=["1-D", "multi-label"])
def test_binary_cross_entropy_without_grad_and_in_place(shape, rng, dtype, tol):
    Z = (3 * rng.normal(size=shape)).astype(dtype)
    Y = rng.uniform(size=shape).astype(dtype)
    expected_loss, expected_grad = ops.binary_cross_entropy(Z, Y)
    loss, grad = ops.binary_cross_entropy(Z, Y, with_grad=False)
    assert grad is None
    assert_allclose(loss, expected_loss, **tol)
    loss, grad = ops.binary_cross_entropy(Z, Y, grad_out=Z)
    assert grad is Z
    assert_allclose(loss, expected_loss, **tol)
    assert_allclose(Z, expected_grad, **tol)


def test_binary_cross_entropy_into_preallocated_outputs(rng, dtype, tol):
    Z = rng.normal(size=(4, 2)).astype(dtype)
    Y = rng.uniform(size=(4, 2)).astype(dtype)
    loss_out, grad_out = np.full(4, np.nan, dtype), np.full((4, 2), np.nan, dtype)
    loss, grad = ops.binary_cross_entropy(Z, Y, loss_out=loss_out, grad_out=grad_out)
    assert loss is loss_out and grad is grad_out
    expected_loss, expected_grad = _binary_cross_entropy(*_f64(Z, Y))
    assert_allclose(loss_out, expected_loss.astype(dtype), **tol)
    assert_allclose(grad_out, expected_grad.astype(dtype), **tol)


@pytest.mark.parametrize("shape", [(6,), (4, 3)], ids=["1-D", "multi-label"])
def test_binary_cross_entropy_grad_matches_finite_differences(
    shape, rng, num_grad, fd_tol
):
    Z = 2 * rng.normal(size=shape)
    Y = rng.uniform(size=shape)
    weight = rng.uniform(0.5, 2.0, size=shape[0])
    _, grad = ops.binary_cross_entropy(Z, Y, sample_weight=weight)
    def total_loss(L):
        loss, _ = ops.binary_cross_entropy(L, Y, sample_weight=weight, with_grad=False)
        return loss.sum()

    expected = num_grad(total_loss, Z)
    assert_allclose(grad, expected, **fd_tol)


def test_binary_cross_entropy_is_minus_log_of_the_bernoulli_likelihood(dtype, tol):
    # The lecture's table: actual y, predicted P(y = 1), likelihood of what happened.
    y = np.array([1, 0, 1, 0, 0, 0, 1, 0, 0], dtype)
    p = np.array([0.8, 0.2, 0.9, 0.01, 0.2, 0.4, 0.95, 0.3, 0.18])
    likelihood = np.array([0.8, 0.8, 0.9, 0.99, 0.8, 0.6, 0.95, 0.7, 0.82])
    assert_allclose(np.where(y == 1, p, 1 - p), likelihood)  # the table itself
    logits = np.log(p / (1 - p)).astype(dtype)
    loss, grad = ops.binary_cross_entropy(logits, y)
    assert_allclose(loss, -np.log(likelihood).astype(dtype), **tol)
    assert_allclose(grad, (p - y).astype(dtype), **tol)


def test_binary_cross_entropy_with_no_outputs_is_zero(dtype):
    empty = np.empty((3, 0), dtype)
    loss, grad = ops.binary_cross_entropy(empty, empty.copy())
    assert loss.tolist() == [0.0, 0.0, 0.0] and grad.shape == (3, 0)


# --------------------------------------------------------------------- squared error

SQUARED_ERROR_SHAPES = pytest.mark.parametrize(
    "shape", [(7,), (7, 1), (7, 3)], ids=["1-D", "one-output", "multi-output"]
)


@SQUARED_ERROR_SHAPES
def test_squared_error_matches_numpy(shape, rng, dtype, tol):
    P = rng.normal(size=shape).astype(dtype)
    Y = rng.normal(size=shape).astype(dtype)
    loss, grad = ops.squared_error(P, Y)
    assert loss.dtype == grad.dtype == dtype
    assert loss.shape == (7,) and grad.shape == shape
    expected_loss, expected_grad = _squared_error(*_f64(P, Y))
    assert_allclose(loss, expected_loss.astype(dtype), **tol)
    assert_allclose(grad, expected_grad.astype(dtype), **tol)


@SQUARED_ERROR_SHAPES
def test_squared_error_with_sample_weight_and_scale(shape, rng, dtype, tol):
    P = rng.normal(size=shape).astype(dtype)
    Y = rng.normal(size=shape).astype(dtype)
    weight = rng.uniform(0.0, 3.0, size=7).astype(dtype)
    weight[4] = 0
    loss, grad = ops.squared_error(P, Y, sample_weight=weight, scale=1 / 7)
    expected_loss, expected_grad = _squared_error(*_f64(P, Y, weight), 1 / 7)
    assert_allclose(loss, expected_loss.astype(dtype), **tol)
    assert_allclose(grad, expected_grad.astype(dtype), **tol)
    assert loss[4] == 0 and not np.any(grad[4])


@SQUARED_ERROR_SHAPES
def test_squared_error_without_grad_and_in_place(shape, rng, dtype, tol):
    P = rng.normal(size=shape).astype(dtype)
    Y = rng.normal(size=shape).astype(dtype)
    expected_loss, expected_grad = ops.squared_error(P, Y)
    loss, grad = ops.squared_error(P, Y, with_grad=False)
    assert grad is None
    assert_allclose(loss, expected_loss, **tol)
    loss, grad = ops.squared_error(P, Y, grad_out=P)
    assert grad is P
    assert_allclose(loss, expected_loss, **tol)
    assert_allclose(P, expected_grad, **tol)


def test_squared_error_into_preallocated_outputs(rng, dtype, tol):
    P = rng.normal(size=(4, 2)).astype(dtype)
    Y = rng.normal(size=(4, 2)).astype(dtype)
    loss_out, grad_out = np.full(4, np.nan, dtype), np.full((4, 2), np.nan, dtype)
    loss, grad = ops.squared_error(P, Y, loss_out=loss_out, grad_out=grad_out)
    assert loss is loss_out and grad is grad_out
    expected_loss, expected_grad = _squared_error(*_f64(P, Y))
    assert_allclose(loss_out, expected_loss.astype(dtype), **tol)
    assert_allclose(grad_out, expected_grad.astype(dtype), **tol)


@pytest.mark.parametrize("shape", [(6,), (4, 3)], ids=["1-D", "multi-output"])
def test_squared_error_grad_matches_finite_differences(shape, rng, num_grad, fd_tol):
    P = rng.normal(size=shape)
    Y = rng.normal(size=shape)
    weight = rng.uniform(0.5, 2.0, size=shape[0])
    _, grad = ops.squared_error(P, Y, sample_weight=weight)

    def total_loss(L):
        loss, _ = ops.squared_error(L, Y, sample_weight=weight, with_grad=False)
        return loss.sum()

    expected = num_grad(total_loss, P)
    assert_allclose(grad, expected, **fd_tol)


def test_squared_error_known_values(dtype):
    P = np.array([[1.0, 2.0], [0.0, 0.0], [3.0, -1.0]], dtype)
    Y = np.array([[1.0, 4.0], [0.0, 0.0], [0.0, 1.0]], dtype)
    loss, grad = ops.squared_error(P, Y, scale=0.5)
    assert loss.tolist() == [2.0, 0.0, 6.5]  # mean of (0, 4), (0, 0), (9, 4)
    assert grad.tolist() == [[0.0, -1.0], [0.0, 0.0], [1.5, -1.0]]


def test_squared_error_with_no_outputs_is_zero(dtype):
    empty = np.empty((3, 0), dtype)
    loss, grad = ops.squared_error(empty, empty.copy(), sample_weight=np.ones(3, dtype))
    assert loss.tolist() == [0.0, 0.0, 0.0] and grad.shape == (3, 0)
    loss, grad = ops.squared_error(np.empty(0, dtype), np.empty(0, dtype))
    assert loss.shape == grad.shape == (0,)
