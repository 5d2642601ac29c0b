"""Kernels take inputs as const memoryviews: read-only arrays (memory-mapped data,
arrays from other processes) work everywhere an input is only read."""

import numpy as np
import pytest

from fastnn import ops


def _frozen(array):
    array = array.copy()
    array.flags.writeable = False
    return array


def _calls(rng, dtype):
    """(name, function, read-only-able inputs) for every ops call that only reads them."""
    X = rng.standard_normal((6, 4)).astype(dtype)
    Y = ops.tanh(X)
    dY = rng.standard_normal((6, 4)).astype(dtype)
    labels = rng.integers(0, 4, size=6)
    targets = rng.random((6, 4)).astype(dtype)
    weights = rng.random(6).astype(dtype)
    W = rng.standard_normal((4, 3)).astype(dtype)
    b = rng.standard_normal(3).astype(dtype)
    dYd = rng.standard_normal((6, 3)).astype(dtype)
    argmax = ops.maxout(X, 2)[1]
    uniform = rng.random((6, 4), dtype=dtype)
    mask = uniform.copy()
    ops.dropout(X, mask, 0.5)
    P = ops.softmax(X)
    perm = rng.permutation(6)
    return [
        ("sigmoid", ops.sigmoid, (X,)),
        ("sigmoid_backward", ops.sigmoid_backward, (Y, dY)),
        ("tanh_backward", ops.tanh_backward, (Y, dY)),
        ("relu_backward", ops.relu_backward, (X, dY)),
        ("leaky_relu", ops.leaky_relu, (X,)),
        ("elu_backward", ops.elu_backward, (X, ops.elu(X), dY)),
        ("maxout", lambda X: ops.maxout(X, 2)[0], (X,)),
        ("maxout_backward", lambda d, a: ops.maxout_backward(d, a, 2), (np.ascontiguousarray(dY[:, :2]), argmax)),
        ("log_softmax", ops.log_softmax, (X,)),
        ("softmax_backward", ops.softmax_backward, (P, dY)),
        ("softmax_ce_labels", lambda z, y, w: ops.softmax_cross_entropy(z, y, w), (X, labels, weights)),
        ("softmax_ce_targets", ops.softmax_cross_entropy, (X, targets)),
        ("binary_ce", lambda z, t, w: ops.binary_cross_entropy(z, t, w), (X, targets, weights)),
        ("squared_error", ops.squared_error, (X, targets, weights)),
        ("squared_error_1d", ops.squared_error, (X[:, 0].copy(), targets[:, 0].copy())),
        # U becomes the mask, so only X can be read-only; each call gets a fresh U.
        ("dropout", lambda X: ops.dropout(X, uniform.copy(), 0.5), (X,)),
        ("dropout_backward", ops.dropout_backward, (mask, dY)),
        ("take_rows", ops.take_rows, (X, perm[1:4])),
        ("take_rows_labels", ops.take_rows, (labels.astype(np.intp), perm[2:5])),
        ("dense_forward", ops.dense_forward, (X, W, b)),
        ("dense_backward", ops.dense_backward, (X, W, dYd)),
    ]


N_CALLS = len(_calls(np.random.default_rng(0), np.float64))


@pytest.mark.parametrize("index", range(N_CALLS))
def test_read_only_inputs_give_the_same_answer(index, rng, dtype):
    name, function, inputs = _calls(rng, dtype)[index]
    expected = function(*inputs)
    got = function(*[_frozen(array) for array in inputs])
    if not isinstance(expected, tuple):
        expected, got = (expected,), (got,)
    for e, g in zip(expected, got):
        if e is None:
            assert g is None
        else:
            np.testing.assert_array_equal(g, e, err_msg=name)


def test_optimizers_read_a_read_only_gradient(rng, dtype):
    W = rng.standard_normal(10).astype(dtype)
    G = _frozen(rng.standard_normal(10).astype(dtype))
    expected = W - 0.1 * G
    ops.sgd_update(W, G, 0.1)
    np.testing.assert_allclose(W, expected, rtol=1e-6)
    V, M, S = (np.zeros_like(W) for _ in range(3))
    ops.momentum_update(W, G, V, 0.1, 0.9, nesterov=True)
    ops.adam_update(W, G, M, S, 0.1, t=1)
    assert np.all(np.isfinite(W))


def test_memory_mapped_input(tmp_path, dtype):
    path = tmp_path / "X.npy"
    np.save(path, np.linspace(-3, 3, 24, dtype=dtype).reshape(4, 6))
    X = np.load(path, mmap_mode="r")
    np.testing.assert_array_equal(ops.softmax(X), ops.softmax(np.array(X)))


def test_memory_mapped_rows_gather(tmp_path, dtype):
    # A data set kept on disk: mini-batches gathered straight from a memmap.
    path = tmp_path / "X.npy"
    np.save(path, np.arange(40, dtype=dtype).reshape(10, 4))
    X = np.load(path, mmap_mode="r")
    batch = np.random.default_rng(0).permutation(10)[3:7]
    np.testing.assert_array_equal(ops.take_rows(X, batch), np.array(X)[batch])
