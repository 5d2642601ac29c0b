"""ops.bind: a call checked once, then repeated on the same arrays; and a model's
bound training path equal to the layers' one-call-at-a-time path."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn import Sequential, ops
from fastnn._threads import single_thread_blas, training_threads
from fastnn.layers import Activation, Dense, Dropout, Maxout
from fastnn.optimizers import SGD


def _calls(rng, dtype):
    """(function, args builder) for every bindable operation."""
    X = rng.normal(size=(5, 6)).astype(dtype)
    dY = rng.normal(size=(5, 6)).astype(dtype)
    Y = ops.sigmoid(X)
    W = rng.normal(size=(6, 4)).astype(dtype)
    b = rng.normal(size=4).astype(dtype)
    dZ = rng.normal(size=(5, 4)).astype(dtype)
    P = ops.softmax(X)
    U = rng.random((5, 6)).astype(dtype)
    Z, argmax = ops.maxout(X, 2)
    dM = rng.normal(size=(5, 3)).astype(dtype)
    return {
        "sigmoid": (ops.sigmoid, (X,)),
        "sigmoid_backward": (ops.sigmoid_backward, (Y, dY)),
        "tanh": (ops.tanh, (X,)),
        "tanh_backward": (ops.tanh_backward, (Y, dY)),
        "relu": (ops.relu, (X,)),
        "relu_backward": (ops.relu_backward, (X, dY)),
        "leaky_relu": (ops.leaky_relu, (X, 0.1)),
        "leaky_relu_backward": (ops.leaky_relu_backward, (X, dY, 0.1)),
        "elu": (ops.elu, (X, 1.0)),
        "elu_backward": (ops.elu_backward, (X, ops.elu(X), dY, 1.0)),
        "softmax": (ops.softmax, (X,)),
        "softmax_backward": (ops.softmax_backward, (P, dY)),
        "maxout": (ops.maxout, (X, 2)),
        "maxout_backward": (ops.maxout_backward, (dM, argmax, 2)),
        "dropout": (ops.dropout, (X, U, 0.3)),
        "dropout_backward": (ops.dropout_backward, (U, dY)),
        "dense_forward": (ops.dense_forward, (X, W, b)),
        "dense_backward": (ops.dense_backward, (X, W, dZ)),
    }


NAMES = list(_calls(np.random.default_rng(0), np.float64))


def _arrays(result):
    if isinstance(result, tuple):
        return [a for a in result if a is not None]
    return [result]


@pytest.mark.parametrize("name", NAMES)
def test_a_bound_call_equals_the_direct_call_and_follows_new_contents(name, dtype):
    function, args = _calls(np.random.default_rng(1), dtype)[name]
    args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
    expected = _arrays(function(*[a.copy() if isinstance(a, np.ndarray) else a
                                  for a in args]))
    run, result = ops.bind(function, *args)
    run()
    for got, want in zip(_arrays(result), expected):
        assert got.dtype == want.dtype
        # exact: run() is the very kernel call the direct call makes, same shapes
        assert_array_equal(got, want)
    # New contents in the same input arrays: run() computes from them.
    first = args[0]
    if name in ("dropout",):
        return  # dropout's U became the mask; its inputs are not re-usable as such
    first[...] = first[::-1].copy()
    fresh = _arrays(function(*[a.copy() if isinstance(a, np.ndarray) else a
                               for a in args]))
    run()
    for got, want in zip(_arrays(result), fresh):
        assert_array_equal(got, want)


def test_bind_checks_the_call_at_once():
    X = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="out must have shape"):
        ops.bind(ops.relu, X, out=np.empty((3, 2), np.float32))
    with pytest.raises(TypeError, match="mixed dtypes"):
        ops.bind(ops.relu_backward, X, np.ones((2, 3)))


def test_bind_refuses_what_it_cannot_repeat():
    X = np.ones((2, 3))
    with pytest.raises(ValueError, match="cannot be bound"):
        ops.bind(ops.l2_penalty, X, np.ones((2, 3)), 0.1)
    with pytest.raises(ValueError, match="cannot be bound"):
        ops.bind(np.exp, X)


def test_bind_runs_nothing_until_run():
    X = np.array([[-1.0, 2.0]])
    out = np.full((1, 2), 7.0)
    run, Y = ops.bind(ops.relu, X, out=out)
    assert_array_equal(out, [[7.0, 7.0]])
    run()
    assert_array_equal(Y, [[0.0, 2.0]])


def test_an_empty_operand_repeats_the_checked_call():
    X = np.ones((3, 0))
    W = np.ones((0, 2))
    b = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="outputs passed in"):
        ops.bind(ops.dense_forward, X, W, b)
    run, Y = ops.bind(ops.dense_forward, X, W, b, out=np.empty((3, 2)))
    run()
    assert_array_equal(Y, np.tile(b, (3, 1)))
    b[...] = [5.0, 6.0]
    run()
    assert_array_equal(Y, np.tile(b, (3, 1)))


def _network(seed, dtype):
    layers = [
        Dense(7, activation="tanh", input_dim=5),
        Maxout(4, pieces=3),
        Dropout(0.25, seed=3),
        Activation("elu"),
        Dense(3),
        Activation("softmax"),
    ]
    model = Sequential(layers, seed=seed)
    model.compile(SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
                  "sparse_categorical_crossentropy")
    model.build(5, dtype)
    return model


def test_bound_training_equals_layer_by_layer_training(rng, dtype):
    """fit binds every layer once per batch size; the same steps taken through each
    layer's own forward/backward give the same weights, bit for bit (the same kernels
    on the same shapes, with the thread counts fit uses for GEMMs this small)."""
    X = rng.normal(size=(23, 5)).astype(dtype)
    y = rng.integers(0, 3, 23)
    fitted = _network(0, dtype)
    fitted.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0)

    manual = _network(0, dtype)
    steps = [step for layer in manual.layers for step in layer._steps()][:-1]
    assert steps  # the softmax is fused into the loss, as in fit
    optimizer = manual.optimizer
    with training_threads(), single_thread_blas():
        _train_layer_by_layer(manual, optimizer, X, y)
    for got, want in zip(fitted.get_weights(), manual.get_weights()):
        assert_array_equal(got, want)


def _train_layer_by_layer(manual, optimizer, X, y):
    for _ in range(2):
        for start in range(0, 23, 8):
            A = np.ascontiguousarray(X[start:start + 8])
            for layer in manual.layers[:-1]:
                A = layer.forward(A, training=True)
            _, dA = ops.softmax_cross_entropy(A, y[start:start + 8], scale=1 / len(A))
            for index, layer in reversed(list(enumerate(manual.layers[:-1]))):
                dA = layer.backward(dA, need_dX=index > 0)
            optimizer.apply([manual._params], [manual._grads])
