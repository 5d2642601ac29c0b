"""Activations, maxout and dropout, and their backwards: the activation kernels' door.

The element-wise ones take 1-D views of C-contiguous arrays; ``out`` may be the input
where a docstring says so.
"""

import numpy as np

from fastnn.ops._bind import bindable, run_kernel
from fastnn.ops._kernel_args import flat
from fastnn.ops._loader import activation_kernels
from fastnn.ops.checks import (
    check_float,
    check_like,
    check_scalar,
    check_writeable,
    fit_dtype,
    may_overlap,
    output,
)


def _unary(kernel, X, out, *params):
    check_float("X", X)
    if params:
        fit_dtype(X.dtype, alpha=params[0])
    out = output("out", out, X.shape, X.dtype, {"X": X}, inplace=("X",))
    run_kernel(kernel, flat(X), *params, flat(out))
    return out


def _backward(kernel, saved_name, saved, dY, out, *params):
    check_float(saved_name, saved)
    if params:
        fit_dtype(saved.dtype, alpha=params[0])
    check_like(saved_name, saved, dY=dY)
    out = output(
        "out", out, saved.shape, saved.dtype, {saved_name: saved, "dY": dY},
        inplace=("dY",),
    )
    run_kernel(kernel, flat(saved), flat(dY), *params, flat(out))
    return out


@bindable
def sigmoid(X, out=None):
    """Logistic sigmoid 1 / (1 + exp(-X)), element-wise; ``out`` may be ``X``."""
    return _unary(activation_kernels.sigmoid_forward, X, out)


@bindable
def sigmoid_backward(Y, dY, out=None):
    """dX = dY * Y * (1 - Y) from the saved output ``Y = sigmoid(X)``."""
    return _backward(activation_kernels.sigmoid_backward, "Y", Y, dY, out)


@bindable
def tanh(X, out=None):
    """Hyperbolic tangent, element-wise; ``out`` may be ``X``."""
    return _unary(activation_kernels.tanh_forward, X, out)


@bindable
def tanh_backward(Y, dY, out=None):
    """dX = dY * (1 - Y**2) from the saved output ``Y = tanh(X)``."""
    return _backward(activation_kernels.tanh_backward, "Y", Y, dY, out)


@bindable
def relu(X, out=None):
    """max(0, X), element-wise; ``out`` may be ``X``."""
    return _unary(activation_kernels.relu_forward, X, out)


@bindable
def relu_backward(X, dY, out=None):
    """dX = dY where X > 0, else 0 (``X`` is the forward input)."""
    return _backward(activation_kernels.relu_backward, "X", X, dY, out)


@bindable
def leaky_relu(X, alpha=0.1, out=None):
    """X where X > 0, else alpha * X: the lecture's max(0.1x, x) for the default alpha."""
    alpha = check_scalar("alpha", alpha)
    return _unary(activation_kernels.leaky_relu_forward, X, out, alpha)


@bindable
def leaky_relu_backward(X, dY, alpha=0.1, out=None):
    """dX = dY where X > 0, else alpha * dY (``X`` is the forward input)."""
    alpha = check_scalar("alpha", alpha)
    return _backward(activation_kernels.leaky_relu_backward, "X", X, dY, out, alpha)


@bindable
def elu(X, alpha=1.0, out=None):
    """X where X > 0, else alpha * (exp(X) - 1), element-wise; ``out`` may be ``X``."""
    alpha = check_scalar("alpha", alpha, low=0.0)
    return _unary(activation_kernels.elu_forward, X, out, alpha)


@bindable
def elu_backward(X, Y, dY, alpha=1.0, out=None):
    """dX = dY where X > 0, else dY * (Y + alpha), from the input X and output Y."""
    alpha = check_scalar("alpha", alpha, low=0.0)
    check_float("X", X)
    check_like("X", X, Y=Y, dY=dY)
    fit_dtype(X.dtype, alpha=alpha)
    out = output("out", out, X.shape, X.dtype, {"X": X, "Y": Y, "dY": dY}, ("dY",))
    run_kernel(activation_kernels.elu_backward, flat(X), flat(Y), flat(dY), alpha, flat(out))
    return out


@bindable
def maxout(X, pieces, out=None, argmax=None):
    """Max over groups of ``pieces`` adjacent columns: the lecture's max(w1.x+b1, w2.x+b2).

    ``X`` has shape (n_samples, units * pieces); unit j owns columns
    j*pieces ... j*pieces + pieces - 1. Returns ``(Y, argmax)``: Y of shape
    (n_samples, units) and, for backward, the winning column of X for each output
    (intp, ties go to the first piece).
    """
    check_float("X", X, ndim=2)
    pieces = _check_pieces(pieces)
    n_samples, width = X.shape
    if width % pieces:
        raise ValueError(
            f"X has {width} columns, which is not a multiple of pieces={pieces}"
        )
    shape = (n_samples, width // pieces)
    out = output("out", out, shape, X.dtype, {"X": X})
    if argmax is None:
        argmax = np.empty(shape, np.intp)
    elif not (
        isinstance(argmax, np.ndarray)
        and argmax.dtype == np.intp
        and argmax.shape == shape
        and argmax.flags.c_contiguous
        and argmax.flags.writeable
    ):
        raise ValueError(f"argmax must be a writeable C-contiguous intp array of shape {shape}")
    if shape[1]:
        run_kernel(activation_kernels.maxout_forward, X, pieces, out, argmax)
    return out, argmax


@bindable
def maxout_backward(dY, argmax, pieces, out=None):
    """dX of shape (n_samples, units * pieces): dY routed to each unit's winning column."""
    check_float("dY", dY, ndim=2)
    pieces = _check_pieces(pieces)
    if not isinstance(argmax, np.ndarray) or argmax.dtype.kind not in "iu":
        raise TypeError("argmax must be the integer array returned by maxout")
    if argmax.shape != dY.shape:
        raise ValueError(f"argmax has shape {argmax.shape} but dY has {dY.shape}")
    n_samples, units = dY.shape
    width = units * pieces
    if argmax.size and (argmax.min() < 0 or argmax.max() >= width):
        raise ValueError(f"argmax holds a column outside [0, {width})")
    argmax = np.ascontiguousarray(argmax, dtype=np.intp)
    out = output("out", out, (n_samples, width), dY.dtype, {"dY": dY})
    run_kernel(activation_kernels.maxout_backward, dY, argmax, out)
    return out


def _check_pieces(pieces):
    if isinstance(pieces, (bool, np.bool_)) or not isinstance(pieces, (int, np.integer)):
        raise TypeError(f"pieces must be an int, got {type(pieces).__name__}")
    if pieces < 1:
        raise ValueError(f"pieces must be >= 1, got {pieces}")
    return int(pieces)


@bindable
def dropout(X, U, rate, out=None):
    """Inverted dropout: out = X * mask, with the mask written over ``U``.

    ``U`` (shaped like ``X``, same dtype, writeable, not overlapping ``X``) holds
    uniform numbers in [0, 1), e.g. from ``rng.random(out=U)``; each becomes 0 where it
    is below ``rate`` (compared in X's dtype), else 1 / (1 - rate), so that E[out] = X.
    Keep ``U`` for :func:`dropout_backward`. ``rate`` is in [0, 1); ``out`` may be
    ``X``.

    >>> rng = np.random.default_rng(0)
    >>> X = np.ones((2, 3), np.float32)
    >>> U = rng.random(X.shape, dtype=np.float32)
    >>> Y = dropout(X, U, rate=0.5)         # U is now the mask: 0 or 2
    >>> dX = dropout_backward(U, np.ones_like(X))
    """
    check_float("X", X)
    check_like("X", X, U=U)
    check_writeable("U", U)
    if may_overlap(U, X):
        raise ValueError("U overlaps X; pass a separate array (U becomes the mask)")
    rate = check_scalar("rate", rate)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    out = output("out", out, X.shape, X.dtype, {"X": X, "U": U}, inplace=("X",))
    keep_scale = 1.0 / (1.0 - rate)
    run_kernel(activation_kernels.dropout_forward, flat(X), flat(U), rate, keep_scale, flat(out))
    return out


@bindable
def uniform_fill(bit_generator, out):
    """Fill ``out`` (a writeable C-contiguous float array) with the next uniform
    numbers in [0, 1) of ``bit_generator`` (a ``numpy.random.BitGenerator``), exactly
    as ``numpy.random.Generator(bit_generator).random(out=out)`` would, leaving the
    generator in the same state. Bound, the draw runs inside a compiled training loop
    (Dropout's masks); the generator must not be used by another thread meanwhile.

    >>> a, b = np.random.default_rng(7), np.random.default_rng(7)
    >>> U = uniform_fill(a.bit_generator, np.empty(3, np.float32))
    >>> bool((U == b.random(3, dtype=np.float32)).all())
    True
    """
    if not isinstance(bit_generator, np.random.BitGenerator):
        raise TypeError(
            f"bit_generator must be a numpy BitGenerator, got {type(bit_generator).__name__}"
        )
    check_float("out", out)
    check_writeable("out", out)
    if out.size:
        run_kernel(activation_kernels.uniform_fill, bit_generator, flat(out))
    return out


@bindable
def dropout_backward(mask, dY, out=None):
    """dX = dY * mask, with the ``mask`` that :func:`dropout` left in ``U``."""
    return _backward(activation_kernels.dropout_backward, "mask", mask, dY, out)
