"""The good calls of fastnn.ops that the error tests (test_ops_errors_*.py) break one
thing at a time, and the small array makers they share.
"""

import math

import numpy as np

from fastnn import ops

# ------------------------------------------------------------------------- good calls


def _array(*shape, dtype=np.float64):
    size = math.prod(shape)
    return np.linspace(-1.0, 1.0, size).reshape(shape).astype(dtype)


def _good_calls():
    """name -> (function, keyword arguments of a call that succeeds)."""
    X = _array(4, 6)
    labels = np.array([0, 2, 1, 2])
    onehot = np.eye(3)[labels]
    binary = np.array([0.0, 1.0, 0.5, 1.0])
    weight = np.array([1.0, 0.5, 2.0, 1.0])
    return {
        "sigmoid": (ops.sigmoid, dict(X=X)),
        "sigmoid_backward": (
            ops.sigmoid_backward, dict(Y=_array(4, 6), dY=_array(4, 6))
        ),
        "tanh": (ops.tanh, dict(X=X)),
        "tanh_backward": (ops.tanh_backward, dict(Y=_array(4, 6), dY=_array(4, 6))),
        "relu": (ops.relu, dict(X=X)),
        "relu_backward": (ops.relu_backward, dict(X=X, dY=_array(4, 6))),
        "leaky_relu": (ops.leaky_relu, dict(X=X)),
        "leaky_relu_backward": (ops.leaky_relu_backward, dict(X=X, dY=_array(4, 6))),
        "elu": (ops.elu, dict(X=X)),
        "elu_backward": (ops.elu_backward, dict(X=X, Y=_array(4, 6), dY=_array(4, 6))),
        "maxout": (ops.maxout, dict(X=X, pieces=2)),
        "dropout": (
            ops.dropout,
            dict(X=X, U=np.linspace(0.0, 0.99, 24).reshape(4, 6), rate=0.5),
        ),
        "dropout_backward": (
            ops.dropout_backward, dict(mask=_array(4, 6), dY=_array(4, 6))
        ),
        "maxout_backward": (
            ops.maxout_backward,
            dict(dY=_array(4, 3), argmax=np.tile([0, 3, 5], (4, 1)), pieces=2),
        ),
        "softmax": (ops.softmax, dict(logits=_array(4, 3))),
        "softmax_backward": (
            ops.softmax_backward, dict(Y=_array(4, 3), dY=_array(4, 3))
        ),
        "log_softmax": (ops.log_softmax, dict(logits=_array(4, 3))),
        "softmax_cross_entropy[labels]": (
            ops.softmax_cross_entropy,
            dict(logits=_array(4, 3), y=labels, sample_weight=weight.copy()),
        ),
        "softmax_cross_entropy[targets]": (
            ops.softmax_cross_entropy,
            dict(logits=_array(4, 3), y=onehot, sample_weight=weight.copy()),
        ),
        "binary_cross_entropy[1-D]": (
            ops.binary_cross_entropy,
            dict(logits=_array(4), y=binary, sample_weight=weight),
        ),
        "binary_cross_entropy[2-D]": (
            ops.binary_cross_entropy,
            dict(logits=_array(4, 3), y=onehot, sample_weight=weight.copy()),
        ),
        "squared_error[1-D]": (
            ops.squared_error, dict(pred=_array(4), y=binary, sample_weight=weight)
        ),
        "squared_error[2-D]": (
            ops.squared_error,
            dict(pred=_array(4, 3), y=onehot, sample_weight=weight.copy()),
        ),
        "dense_forward": (
            ops.dense_forward, dict(X=_array(4, 3), W=_array(3, 2), b=_array(2))
        ),
        "dense_backward": (
            ops.dense_backward, dict(X=_array(4, 3), W=_array(3, 2), dY=_array(4, 2))
        ),
        "sgd_update": (
            ops.sgd_update, dict(W=_array(4, 3), G=_array(4, 3), learning_rate=0.1)
        ),
        "momentum_update": (
            ops.momentum_update,
            dict(
                W=_array(4, 3), G=_array(4, 3), V=_array(4, 3),
                learning_rate=0.1, momentum=0.9,
            ),
        ),
        "adam_update": (
            ops.adam_update,
            dict(
                W=_array(4, 3), G=_array(4, 3), M=_array(4, 3), S=np.abs(_array(4, 3)),
                learning_rate=0.1, t=1,
            ),
        ),
        "rmsprop_update": (
            ops.rmsprop_update,
            dict(W=_array(4, 3), G=_array(4, 3), S=np.abs(_array(4, 3)),
                 learning_rate=0.1),
        ),
        "rmsprop_update[centered, momentum]": (
            ops.rmsprop_update,
            dict(W=_array(4, 3), G=_array(4, 3), S=np.abs(_array(4, 3)) + 1,
                 A=_array(4, 3), B=_array(4, 3), learning_rate=0.1, momentum=0.9,
                 centered=True),
        ),
        "adagrad_update": (
            ops.adagrad_update,
            dict(W=_array(4, 3), G=_array(4, 3), S=np.abs(_array(4, 3)),
                 learning_rate=0.1),
        ),
        "adadelta_update": (
            ops.adadelta_update,
            dict(W=_array(4, 3), G=_array(4, 3), S=np.abs(_array(4, 3)),
                 D=np.abs(_array(4, 3)), learning_rate=1.0),
        ),
        "adamax_update": (
            ops.adamax_update,
            dict(W=_array(4, 3), G=_array(4, 3), M=_array(4, 3), U=np.abs(_array(4, 3)),
                 learning_rate=0.1, t=1),
        ),
        "nadam_update": (
            ops.nadam_update,
            dict(W=_array(4, 3), G=_array(4, 3), M=_array(4, 3), S=np.abs(_array(4, 3)),
                 learning_rate=0.1, t=1),
        ),
        "take_rows": (ops.take_rows, dict(X=X, indices=np.array([3, 0, 1]))),
        "take_rows[labels]": (
            ops.take_rows, dict(X=labels.astype(np.intp), indices=np.array([3, 0, 1]))
        ),
    }


def _call(name, **changes):
    function, kwargs = _good_calls()[name]
    kwargs.update(changes)
    return function(**kwargs)


def _strided(value):
    """Same shape and values, every other element of a twice-as-wide array."""
    return np.repeat(value, 2, axis=-1)[..., ::2]


def _read_only(array):
    array.flags.writeable = False
    return array


def _overlapping(first, second_shape, offset=1):
    """A copy of ``first`` and an array of ``second_shape`` starting ``offset`` elements
    into it: the two share part of their memory."""
    size = math.prod(second_shape)
    buffer = np.zeros(first.size + size, first.dtype)
    copy = buffer[: first.size].reshape(first.shape)
    copy[...] = first
    return copy, buffer[offset : offset + size].reshape(second_shape)
