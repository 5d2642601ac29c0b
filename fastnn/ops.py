"""The one door into fastnn's compiled kernels.

Every function here checks its arrays before a kernel sees them: they must be
``numpy.ndarray`` of one floating dtype (float32 or float64, never mixed; ``take_rows``
also gathers intp labels), C-contiguous, with matching shapes; outputs must be writeable
and must not overlap an input unless the function says in-place is allowed. A bad call
raises ``TypeError`` (wrong type or dtype) or ``ValueError`` (wrong shape, layout,
range), naming the argument. Kernels run with bounds checks off, so nothing reaches
them that could be read or written out of bounds. NaN and inf are not searched for
(that would cost a pass over the data); they propagate as in NumPy. Arithmetic is in
the inputs' dtype, so where an intermediate overflows (a float32 ``X @ W`` past 3.4e38)
the result is inf or NaN even when the exact answer would be finite. Validation of user
data belongs to the layers and estimators.

Outputs are allocated when ``out`` is None, else written into ``out`` and returned;
the dtype of the inputs is the dtype of the outputs. Where a function allows in-place
work, ``out`` may be the input array itself (the same object); any other overlap is
refused.

Element-wise kernels split arrays above 131,072 elements across OpenMP's threads
(when built with OpenMP). In a loop that interleaves them with BLAS calls, limit one
pool with ``threadpoolctl.threadpool_limits(1, user_api="openmp")``: the two pools'
spinning threads otherwise fight for the cores (see README, "Building").

On x86-64 the element-wise kernels exist in two builds; the AVX2+FMA one is used when
the CPU has it (``SIMD == "avx2"``). Set ``FASTNN_SIMD=baseline`` before importing
fastnn to force the portable build.
"""

import functools
import importlib
import math
import os
import threading

import numpy as np

from fastnn._kernels.checks import (
    FLOATS,
    check_float,
    check_like,
    check_scalar,
    check_writeable,
    may_overlap,
    output,
)
from fastnn._kernels import cpu_features as _cpu
from fastnn._kernels import blas as _dense
from fastnn._kernels import gather as _rows

__all__ = [
    "SIMD", "bind",
    "sigmoid", "sigmoid_backward", "tanh", "tanh_backward",
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward",
    "elu", "elu_backward", "maxout", "maxout_backward", "dropout", "dropout_backward",
    "softmax", "softmax_backward", "log_softmax",
    "softmax_cross_entropy", "binary_cross_entropy", "squared_error",
    "dense_forward", "dense_backward",
    "sgd_update", "momentum_update", "adam_update", "l2_penalty",
    "take_rows",
]


def _load_kernels(name):
    """The AVX2 build of kernel module ``name`` where the CPU runs it, else the baseline."""
    wanted = os.environ.get("FASTNN_SIMD", "auto").strip().lower()
    if wanted not in ("auto", "baseline", "avx2"):
        raise ImportError(f"FASTNN_SIMD must be 'auto', 'baseline' or 'avx2', got {wanted!r}")
    if wanted != "baseline" and _cpu.has_avx2_fma():
        try:
            return importlib.import_module(f"fastnn._kernels.{name}_avx2"), "avx2"
        except ImportError:
            if wanted == "avx2":
                raise
    elif wanted == "avx2":
        raise ImportError("FASTNN_SIMD=avx2 but this CPU has no AVX2+FMA")
    return importlib.import_module(f"fastnn._kernels.{name}"), "baseline"


_activations, SIMD = _load_kernels("activations")
_losses, _ = _load_kernels("losses")
_optimizers, _ = _load_kernels("optimizers")

_NO_WEIGHTS = {dtype: np.empty(0, dtype) for dtype in FLOATS}
_NO_GRAD = {dtype: np.empty((0, 1), dtype) for dtype in FLOATS}
_BLAS_MAX_DIM = 2**31 - 1  # BLAS takes 32-bit ints


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _fit_dtype(dtype, **scalars):
    """Scalars reach float32 kernels as float32: refuse one that would become inf."""
    # NOTE: check_scalar only knows float64's range; alpha=1e300 made float32 leaky_relu
    # return inf * 0 = NaN for X = 0.
    if dtype == np.float32:
        for name, value in scalars.items():
            if abs(value) > _FLOAT32_MAX:
                raise ValueError(f"{name}={value} overflows float32, the arrays' dtype")


def _flat(array):
    """The 1-D view of a C-contiguous array that the element-wise kernels take."""
    return array if array.ndim == 1 else array.reshape(-1)


# ------------------------------------------------------------------------------ bind

_capture = threading.local()  # .calls: the list a bind() in this thread is filling


def _run(kernel, *args):
    """Call ``kernel`` now, or, inside :func:`bind`, record the call instead."""
    calls = getattr(_capture, "calls", None)
    if calls is None:
        kernel(*args)
    else:
        calls.append((kernel, args))


def bind(function, *args, **kwargs):
    """Check a call once and return ``(run, result)``: ``run()`` does its work.

    ``function`` is one of the layer operations (an activation or its backward,
    ``maxout``, ``dropout``, ``softmax``, ``dense_forward``, ``dense_backward`` and their
    backwards). The arguments are checked and the outputs allocated now, exactly as a
    direct call would, but no kernel runs until ``run()``; each ``run()`` then repeats
    the kernel on the same arrays, whose contents may change in between (their shapes,
    dtypes and memory must not: the arrays are held, not re-checked). A training loop
    binds each layer's calls once per batch size and skips the per-call checks, which
    on a 32-row mini-batch cost as much as the kernels.

    >>> X, out = np.array([-1.0, 2.0]), np.empty(2)
    >>> run, Y = bind(relu, X, out=out)
    >>> X[0] = 3.0; run(); Y
    array([3., 2.])
    """
    if function not in _BINDABLE:
        raise ValueError(f"{getattr(function, '__name__', function)!r} cannot be bound")
    _capture.calls = calls = []
    try:
        result = function(*args, **kwargs)
    finally:
        _capture.calls = None
    if len(calls) == 1:
        kernel, kernel_args = calls[0]
        return functools.partial(kernel, *kernel_args), result
    # An empty operand leaves no kernel call (NumPy filled the outputs): repeat the
    # checked call itself, which refills the same outputs only if they were passed in.
    passed = [*args, *kwargs.values()]
    results = result if isinstance(result, tuple) else (result,)
    if not all(
        any(array is given for given in passed) for array in results if array is not None
    ):
        raise ValueError("bind an operation on empty arrays with its outputs passed in")
    return functools.partial(function, *args, **kwargs), result


# ------------------------------------------------------------------------ activations


def _unary(kernel, X, out, *params):
    check_float("X", X)
    if params:
        _fit_dtype(X.dtype, alpha=params[0])
    out = output("out", out, X.shape, X.dtype, {"X": X}, inplace=("X",))
    _run(kernel, _flat(X), *params, _flat(out))
    return out


def _backward(kernel, saved_name, saved, dY, out, *params):
    check_float(saved_name, saved)
    if params:
        _fit_dtype(saved.dtype, alpha=params[0])
    check_like(saved_name, saved, dY=dY)
    out = output(
        "out", out, saved.shape, saved.dtype, {saved_name: saved, "dY": dY},
        inplace=("dY",),
    )
    _run(kernel, _flat(saved), _flat(dY), *params, _flat(out))
    return out


def sigmoid(X, out=None):
    """Logistic sigmoid 1 / (1 + exp(-X)), element-wise; ``out`` may be ``X``."""
    return _unary(_activations.sigmoid_forward, X, out)


def sigmoid_backward(Y, dY, out=None):
    """dX = dY * Y * (1 - Y) from the saved output ``Y = sigmoid(X)``."""
    return _backward(_activations.sigmoid_backward, "Y", Y, dY, out)


def tanh(X, out=None):
    """Hyperbolic tangent, element-wise; ``out`` may be ``X``."""
    return _unary(_activations.tanh_forward, X, out)


def tanh_backward(Y, dY, out=None):
    """dX = dY * (1 - Y**2) from the saved output ``Y = tanh(X)``."""
    return _backward(_activations.tanh_backward, "Y", Y, dY, out)


def relu(X, out=None):
    """max(0, X), element-wise; ``out`` may be ``X``."""
    return _unary(_activations.relu_forward, X, out)


def relu_backward(X, dY, out=None):
    """dX = dY where X > 0, else 0 (``X`` is the forward input)."""
    return _backward(_activations.relu_backward, "X", X, dY, out)


def leaky_relu(X, alpha=0.1, out=None):
    """X where X > 0, else alpha * X: the lecture's max(0.1x, x) for the default alpha."""
    alpha = check_scalar("alpha", alpha)
    return _unary(_activations.leaky_relu_forward, X, out, alpha)


def leaky_relu_backward(X, dY, alpha=0.1, out=None):
    """dX = dY where X > 0, else alpha * dY (``X`` is the forward input)."""
    alpha = check_scalar("alpha", alpha)
    return _backward(_activations.leaky_relu_backward, "X", X, dY, out, alpha)


def elu(X, alpha=1.0, out=None):
    """X where X > 0, else alpha * (exp(X) - 1), element-wise; ``out`` may be ``X``."""
    alpha = check_scalar("alpha", alpha, low=0.0)
    return _unary(_activations.elu_forward, X, out, alpha)


def elu_backward(X, Y, dY, alpha=1.0, out=None):
    """dX = dY where X > 0, else dY * (Y + alpha), from the input X and output Y."""
    alpha = check_scalar("alpha", alpha, low=0.0)
    check_float("X", X)
    check_like("X", X, Y=Y, dY=dY)
    _fit_dtype(X.dtype, alpha=alpha)
    out = output("out", out, X.shape, X.dtype, {"X": X, "Y": Y, "dY": dY}, ("dY",))
    _run(_activations.elu_backward, _flat(X), _flat(Y), _flat(dY), alpha, _flat(out))
    return out


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
        _run(_activations.maxout_forward, X, pieces, out, argmax)
    return out, argmax


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
    _run(_activations.maxout_backward, dY, argmax, out)
    return out


def _check_pieces(pieces):
    if isinstance(pieces, (bool, np.bool_)) or not isinstance(pieces, (int, np.integer)):
        raise TypeError(f"pieces must be an int, got {type(pieces).__name__}")
    if pieces < 1:
        raise ValueError(f"pieces must be >= 1, got {pieces}")
    return int(pieces)


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
    _run(_activations.dropout_forward, _flat(X), _flat(U), rate, keep_scale, _flat(out))
    return out


def dropout_backward(mask, dY, out=None):
    """dX = dY * mask, with the ``mask`` that :func:`dropout` left in ``U``."""
    return _backward(_activations.dropout_backward, "mask", mask, dY, out)


# --------------------------------------------------------------------- softmax family


def _check_logits(logits):
    check_float("logits", logits, ndim=2)
    if logits.shape[1] == 0:
        raise ValueError("logits must have at least one column (class)")
    return logits


def softmax(logits, out=None):
    """Row-wise softmax of ``logits`` (n_samples, n_classes); ``out`` may be ``logits``."""
    _check_logits(logits)
    out = output("out", out, logits.shape, logits.dtype, {"logits": logits}, ("logits",))
    _run(_losses.softmax_forward, logits, out)
    return out


def softmax_backward(Y, dY, out=None):
    """dX = Y * (dY - sum(dY * Y, axis=1)), from the saved output Y = softmax(logits).

    ``Y`` and ``dY`` have shape (n_samples, n_classes); ``out`` may be ``dY``.
    """
    check_float("Y", Y, ndim=2)
    check_like("Y", Y, dY=dY)
    out = output("out", out, Y.shape, Y.dtype, {"Y": Y, "dY": dY}, inplace=("dY",))
    _run(_losses.softmax_backward, Y, dY, out)
    return out


def log_softmax(logits, out=None):
    """Row-wise log-softmax, computed as logits - logsumexp; ``out`` may be ``logits``."""
    _check_logits(logits)
    out = output("out", out, logits.shape, logits.dtype, {"logits": logits}, ("logits",))
    _losses.log_softmax_forward(logits, out)
    return out


def _check_sample_weight(sample_weight, n_samples, dtype, reference="logits"):
    if sample_weight is None:
        return _NO_WEIGHTS[dtype]
    check_float("sample_weight", sample_weight, ndim=1)
    if sample_weight.dtype != dtype:
        raise TypeError(
            f"sample_weight has dtype {sample_weight.dtype} but {reference} has {dtype}"
        )
    if sample_weight.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has {sample_weight.shape[0]} entries for {n_samples} samples"
        )
    return sample_weight


def _loss_outputs(
    logits, targets, weights, loss_out, grad_out, with_grad, name="logits"
):
    """loss (n_samples,), and grad shaped like the input ``name``, which it may be."""
    n_samples = logits.shape[0]
    inputs = {name: logits, "y": targets, "sample_weight": weights}
    loss = output("loss_out", loss_out, (n_samples,), logits.dtype, inputs)
    if not with_grad:
        return loss, None
    grad = output(
        "grad_out", grad_out, logits.shape, logits.dtype,
        {**inputs, "loss_out": loss}, inplace=(name,),
    )
    return loss, grad


def softmax_cross_entropy(
    logits, y, sample_weight=None, scale=1.0, with_grad=True, loss_out=None, grad_out=None
):
    """Softmax cross-entropy from logits and its gradient, in one pass.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
    y : int ndarray of shape (n_samples,) with labels in [0, n_classes), or a float
        ndarray shaped like ``logits`` of one-hot (or probability) targets.
    sample_weight : ndarray of shape (n_samples,), optional
    scale : float, multiplies the gradient (pass 1 / n_samples for a mean loss).
    with_grad : bool, False to compute the loss only.
    loss_out, grad_out : optional outputs; ``grad_out`` may be ``logits`` (in place).

    Returns
    -------
    loss : ndarray of shape (n_samples,), weight * (logsumexp(logits) - logit of y).
    grad : ndarray like ``logits``, scale * weight * (softmax(logits) - Y), or None.
    """
    _check_logits(logits)
    n_samples, n_classes = logits.shape
    scale = check_scalar("scale", scale)
    _fit_dtype(logits.dtype, scale=scale)
    weights = _check_sample_weight(sample_weight, n_samples, logits.dtype)
    if isinstance(y, np.ndarray) and y.ndim == 2:
        check_like("logits", logits, y=y)
        kernel, targets = _losses.softmax_cross_entropy_targets, y
    else:
        kernel, targets = _losses.softmax_cross_entropy_labels, _check_labels(
            y, n_samples, n_classes
        )
    loss, grad = _loss_outputs(logits, targets, weights, loss_out, grad_out, with_grad)
    bad = kernel(
        logits, targets, weights, scale, loss,
        grad if with_grad else _NO_GRAD[logits.dtype], bool(with_grad),
    )
    if bad is not None and bad >= 0:  # the labels kernel checked the range first
        raise ValueError(
            f"labels must be in [0, {n_classes}), got values in "
            f"[{targets.min()}, {targets.max()}] (y[{bad}] = {targets[bad]})"
        )
    return loss, grad


def _check_labels(y, n_samples, n_classes):
    if not isinstance(y, np.ndarray):
        raise TypeError(f"y must be a numpy.ndarray, got {type(y).__name__}")
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"y must hold integer labels (or be 2-D one-hot targets), got dtype {y.dtype}"
        )
    if y.shape != (n_samples,):
        raise ValueError(f"y must have shape ({n_samples},), got {y.shape}")
    if y.dtype != np.intp or not y.flags.c_contiguous:
        y = np.ascontiguousarray(y, dtype=np.intp)
    return y  # the kernel checks the range


def binary_cross_entropy(
    logits, y, sample_weight=None, scale=1.0, with_grad=True, loss_out=None, grad_out=None
):
    """Binary cross-entropy from logits (the sigmoid neuron's loss) and its gradient.

    ``logits`` and ``y`` (float targets in [0, 1], same dtype) have shape (n_samples,) or
    (n_samples, n_outputs) for multi-label. Computed as max(z, 0) - y z + log1p(exp(-|z|)),
    so no logit overflows. Returns ``(loss, grad)``: loss of shape (n_samples,), summed
    over outputs and times the sample weight; grad shaped like ``logits``,
    scale * weight * (sigmoid(logits) - y), or None when ``with_grad`` is False.
    ``grad_out`` may be ``logits`` (in place).
    """
    check_float("logits", logits)
    if logits.ndim not in (1, 2):
        raise ValueError(f"logits must be 1-D or 2-D, got shape {logits.shape}")
    check_like("logits", logits, y=y)
    scale = check_scalar("scale", scale)
    _fit_dtype(logits.dtype, scale=scale)
    logits_2d = logits if logits.ndim == 2 else logits.reshape(-1, 1)
    y_2d = y.reshape(logits_2d.shape)
    n_samples = logits_2d.shape[0]
    weights = _check_sample_weight(sample_weight, n_samples, logits.dtype)
    loss, grad = _loss_outputs(logits, y, weights, loss_out, grad_out, with_grad)
    grad_2d = grad.reshape(logits_2d.shape) if with_grad else _NO_GRAD[logits.dtype]
    if logits_2d.shape[1]:
        _losses.binary_cross_entropy(
            logits_2d, y_2d, weights, scale, loss, grad_2d, bool(with_grad)
        )
    else:
        loss[:] = 0
    return loss, grad


def squared_error(
    pred, y, sample_weight=None, scale=1.0, with_grad=True, loss_out=None, grad_out=None
):
    """Mean squared error and its gradient, in one pass.

    ``pred`` and ``y`` (same dtype) have shape (n_samples,) or (n_samples, n_outputs).
    Returns ``(loss, grad)``: loss of shape (n_samples,), the mean over outputs of
    (pred - y)**2 times the sample weight (0 when there are no outputs); grad shaped
    like ``pred``, scale * weight * 2 * (pred - y) / n_outputs, or None when
    ``with_grad`` is False. ``grad_out`` may be ``pred`` (in place).
    """
    check_float("pred", pred)
    if pred.ndim not in (1, 2):
        raise ValueError(f"pred must be 1-D or 2-D, got shape {pred.shape}")
    check_like("pred", pred, y=y)
    scale = check_scalar("scale", scale)
    _fit_dtype(pred.dtype, scale=scale)
    pred_2d = pred if pred.ndim == 2 else pred.reshape(-1, 1)
    n_samples = pred_2d.shape[0]
    weights = _check_sample_weight(sample_weight, n_samples, pred.dtype, "pred")
    loss, grad = _loss_outputs(
        pred, y, weights, loss_out, grad_out, with_grad, name="pred"
    )
    if pred_2d.shape[1]:
        _losses.squared_error(
            pred_2d, y.reshape(pred_2d.shape), weights, scale, loss,
            grad.reshape(pred_2d.shape) if with_grad else _NO_GRAD[pred.dtype],
            bool(with_grad),
        )
    else:
        loss[:] = 0
    return loss, grad


# ------------------------------------------------------------------------------ dense


def _check_dense(X, W):
    check_float("X", X, ndim=2)
    check_float("W", W, ndim=2)
    if W.dtype != X.dtype:
        raise TypeError(f"W has dtype {W.dtype} but X has {X.dtype}; mixed dtypes are not allowed")
    if X.shape[1] != W.shape[0]:
        raise ValueError(
            f"X has {X.shape[1]} features but W expects {W.shape[0]} (W is {W.shape})"
        )
    if max(X.shape[0], X.shape[1], W.shape[1]) > _BLAS_MAX_DIM:
        raise ValueError("dense dimensions must be below 2**31 (BLAS uses 32-bit ints)")
    return X.shape[0], X.shape[1], W.shape[1]


def _check_bias(b, units, dtype):
    check_float("b", b, ndim=1)
    if b.dtype != dtype:
        raise TypeError(f"b has dtype {b.dtype} but X has {dtype}")
    if b.shape[0] != units:
        raise ValueError(f"b has {b.shape[0]} entries but W has {units} units")


def dense_forward(X, W, b=None, out=None):
    """Y = X @ W + b for X (n_samples, n_features), W (n_features, units), b (units,).

    One GEMM from SciPy's BLAS with the bias pre-broadcast into ``out``. ``out`` must
    not overlap ``X``, ``W`` or ``b``.
    """
    n_samples, n_features, units = _check_dense(X, W)
    if b is not None:
        _check_bias(b, units, X.dtype)
    out = output("out", out, (n_samples, units), X.dtype, {"X": X, "W": W, "b": b})
    if n_samples == 0 or units == 0:
        return out
    if n_features == 0:
        out[:] = 0 if b is None else b
        return out
    with_bias = b is not None
    _run(_dense.dense_forward, X, W, b if with_bias else _NO_WEIGHTS[X.dtype], out, with_bias)
    return out


def dense_backward(X, W, dY, with_bias=True, with_dX=True, dW=None, db=None, dX=None):
    """Gradients of Y = X @ W + b: returns ``(dW, db, dX)``.

    dW = X.T @ dY, db = dY.sum(axis=0) (None unless ``with_bias``), dX = dY @ W.T
    (None unless ``with_dX``: the first layer needs none). Outputs must not overlap
    the inputs.
    """
    n_samples, n_features, units = _check_dense(X, W)
    check_float("dY", dY, ndim=2)
    if dY.dtype != X.dtype:
        raise TypeError(f"dY has dtype {dY.dtype} but X has {X.dtype}")
    if dY.shape != (n_samples, units):
        raise ValueError(f"dY must have shape {(n_samples, units)}, got {dY.shape}")
    inputs = {"X": X, "W": W, "dY": dY}
    dW = output("dW", dW, W.shape, X.dtype, inputs)
    db = output("db", db, (units,), X.dtype, {**inputs, "dW": dW}) if with_bias else None
    dX = (
        output("dX", dX, X.shape, X.dtype, {**inputs, "dW": dW, "db": db})
        if with_dX
        else None
    )
    if n_samples == 0 or n_features == 0 or units == 0:
        dW[:] = 0
        if with_bias:
            with np.errstate(over="ignore"):  # inf, silently, as the kernel would give
                np.sum(dY, axis=0, out=db)
        if with_dX:
            dX[:] = 0
        return dW, db, dX
    _run(
        _dense.dense_backward,
        X, W, dY, dW,
        db if with_bias else _NO_WEIGHTS[X.dtype],
        dX if with_dX else _NO_GRAD[X.dtype],
        bool(with_bias), bool(with_dX),
    )
    return dW, db, dX


# ------------------------------------------------------------------------- optimizers


def _check_params(W, G, **state):
    """Parameter, gradient and optimizer state: one dtype and shape, no two overlapping."""
    check_float("W", W)
    check_like("W", W, G=G, **state)
    arrays = {"W": W, "G": G, **state}
    for name in ("W", *state):
        check_writeable(name, arrays[name])
    names = list(arrays)
    for i, name in enumerate(names):
        for other in names[i + 1:]:
            if may_overlap(arrays[name], arrays[other]):
                raise ValueError(f"{name} overlaps {other}; pass separate arrays")


def sgd_update(W, G, learning_rate, l2=0.0):
    """In place: W -= learning_rate * (G + l2 * W)."""
    _check_params(W, G)
    lr = check_scalar("learning_rate", learning_rate, low=0.0)
    l2 = check_scalar("l2", l2, low=0.0)
    _fit_dtype(W.dtype, learning_rate=lr, l2=l2)
    _optimizers.sgd_update(_flat(W), _flat(G), lr, l2)


def momentum_update(W, G, V, learning_rate, momentum, nesterov=False, l2=0.0):
    """In place, with g = G + l2 * W: V = momentum * V - learning_rate * g, then
    W += V, or with ``nesterov`` W += momentum * V - learning_rate * g (Keras' form)."""
    _check_params(W, G, V=V)
    lr = check_scalar("learning_rate", learning_rate, low=0.0)
    mu = check_scalar("momentum", momentum, low=0.0, high=1.0)
    l2 = check_scalar("l2", l2, low=0.0)
    _fit_dtype(W.dtype, learning_rate=lr, l2=l2)
    _optimizers.momentum_update(_flat(W), _flat(G), _flat(V), lr, mu, bool(nesterov), l2)


def adam_update(
    W, G, M, S, learning_rate, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7, l2=0.0
):
    """In place Adam step number ``t`` (1 for the first update), with g = G + l2 * W:
    M = beta_1 M + (1 - beta_1) g; S = beta_2 S + (1 - beta_2) g**2;
    W -= lr_t M / (sqrt(S) + epsilon), lr_t = lr sqrt(1 - beta_2**t) / (1 - beta_1**t)."""
    _check_params(W, G, M=M, S=S)
    lr = check_scalar("learning_rate", learning_rate, low=0.0)
    beta_1 = check_scalar("beta_1", beta_1, low=0.0, high=1.0)
    beta_2 = check_scalar("beta_2", beta_2, low=0.0, high=1.0)
    if beta_1 == 1.0 or beta_2 == 1.0:
        raise ValueError("beta_1 and beta_2 must be below 1")
    epsilon = check_scalar("epsilon", epsilon, low=0.0, low_open=True)
    l2 = check_scalar("l2", l2, low=0.0)
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)) or t < 1:
        raise ValueError(f"t must be an int >= 1 (the update count), got {t!r}")
    # NOTE: the bias corrections of M and S fold into one step size (Kingma & Ba, sec. 2).
    lr_t = lr * math.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)
    _fit_dtype(W.dtype, learning_rate=lr_t, epsilon=epsilon, l2=l2)
    _optimizers.adam_update(
        _flat(W), _flat(G), _flat(M), _flat(S), lr_t, beta_1, beta_2, epsilon, l2
    )


# ------------------------------------------------------------------------------- rows

_ROW_DTYPES = (*FLOATS, np.dtype(np.intp))
_INTP = np.dtype(np.intp)


def l2_penalty(W, dW, l2, scale=1.0):
    """In place: dW += scale * l2 * W; returns l2 * sum(W**2), of W before the update.

    The L2 term of a weight matrix (scikit-learn's ``alpha``), through SciPy's BLAS
    (axpy and dot). ``W`` and ``dW`` are C-contiguous arrays of one dtype and shape.
    """
    check_float("W", W)
    check_like("W", W, dW=dW)
    check_writeable("dW", dW)
    if may_overlap(W, dW):
        raise ValueError("dW overlaps W; pass separate arrays")
    l2 = check_scalar("l2", l2, low=0.0)
    scale = check_scalar("scale", scale)
    _fit_dtype(W.dtype, **{"l2 * scale": l2 * scale})
    if W.size == 0:
        return 0.0
    w, dw = _flat(W), _flat(dW)
    if not (W.flags.aligned and dW.flags.aligned):
        # NOTE: BLAS may load a misaligned float with an aligned vector load; a
        # misaligned array (a view at an odd byte offset) takes NumPy's path.
        with np.errstate(over="ignore", invalid="ignore"):
            penalty = l2 * float(np.dot(w, w)) if l2 else 0.0
            dw += W.dtype.type(l2 * scale) * w
        return penalty
    # 0, not 0 * inf, when W**2 overflows and l2 is 0
    penalty = l2 * _dense.sum_of_squares(w) if l2 else 0.0
    _dense.axpy(w, dw, l2 * scale)
    return penalty


__all__ += ["sum_of_squares"]


def sum_of_squares(v):
    """sum(v**2) of a 1-D float vector, as a float, through BLAS's dot (no temporary,
    no warning): NaN if ``v`` holds NaN, inf if it holds inf or the sum overflows.

    A training loop's cheap finiteness test: a sum of squares is finite only if every
    term is (about 1 us for 10,000 weights, against about 10 us for ``isfinite``).

    Bound (:func:`bind`), ``run()`` returns the sum: about 0.5 us, a third of the
    checked call.

    >>> sum_of_squares(np.array([3.0, 4.0]))
    25.0
    """
    check_float("v", v, ndim=1)
    calls = getattr(_capture, "calls", None)
    if not v.shape[0]:  # a model without weights has an empty vector
        kernel, args = _zero, ()
    elif not v.flags.aligned:  # see l2_penalty
        kernel, args = _misaligned_sum_of_squares, (v,)
    else:
        kernel, args = _dense.sum_of_squares, (v,)
    if calls is not None:  # inside bind(): run() returns the sum
        calls.append((kernel, args))
        return None
    return float(kernel(*args))


def _misaligned_sum_of_squares(v):
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.dot(v, v))


def _zero():
    return 0.0


def take_rows(X, indices, out=None):
    """out[i] = X[indices[i]]: gather a mini-batch into a reused buffer.

    ``X`` is a C-contiguous float32, float64 or intp (labels) array of shape
    (n_rows,) or (n_rows, n_features); ``indices`` a 1-D C-contiguous intp array, such
    as a slice ``perm[start:stop]`` of a permutation, with every value in [0, n_rows)
    (negative indices are errors). ``out`` has shape (len(indices),) + X.shape[1:] and
    X's dtype, and overlaps neither input. The kernel checks every index before it
    copies a row: on a bad one ``out`` is left untouched.

    >>> X = np.arange(6.0).reshape(3, 2)
    >>> take_rows(X, np.array([2, 0]))
    array([[4., 5.],
           [0., 1.]])
    """
    # NOTE: this runs twice per mini-batch, so the checks are written out rather than
    # going through check_float and output() (their messages assume floats), and the
    # overlap test is a byte-range compare in C (70 ns; np.may_share_memory takes 450).
    if not isinstance(X, np.ndarray):
        raise TypeError(f"X must be a numpy.ndarray, got {type(X).__name__}")
    if X.dtype not in _ROW_DTYPES:
        raise TypeError(f"X must have dtype float32, float64 or intp, got {X.dtype}")
    ndim = X.ndim
    if ndim != 1 and ndim != 2:
        raise ValueError(f"X must be 1-D or 2-D, got shape {X.shape}")
    if not X.flags.c_contiguous:
        raise ValueError("X must be C-contiguous; pass np.ascontiguousarray(X)")
    if not isinstance(indices, np.ndarray):
        raise TypeError(
            f"indices must be a numpy.ndarray, got {type(indices).__name__}"
        )
    if indices.dtype != _INTP:
        raise TypeError(
            f"indices must have dtype intp, got {indices.dtype}; "
            "pass indices.astype(np.intp)"
        )
    if indices.ndim != 1:
        raise ValueError(f"indices must be 1-D, got shape {indices.shape}")
    if not indices.flags.c_contiguous:
        raise ValueError(
            "indices must be C-contiguous; pass np.ascontiguousarray(indices)"
        )
    shape = (len(indices),) if ndim == 1 else (len(indices), X.shape[1])
    if out is None:
        out = np.empty(shape, X.dtype)
    else:
        _check_rows_out(out, shape, X, indices)
    bad = _rows.take_rows(X, indices, out)
    if bad >= 0:
        raise ValueError(
            f"indices[{bad}] = {indices[bad]} is out of range for X with "
            f"{len(X)} rows"
        )
    return out


def _check_rows_out(out, shape, X, indices):
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != X.dtype:
        raise TypeError(f"out must have dtype {X.dtype}, got {out.dtype}")
    if out.shape != shape:
        raise ValueError(f"out must have shape {shape}, got {out.shape}")
    flags = out.flags
    if not flags.c_contiguous:
        raise ValueError("out must be C-contiguous; pass np.ascontiguousarray(out)")
    if not flags.writeable:
        raise ValueError("out is read-only; it is written in place")
    if may_overlap(out, X):
        raise ValueError("out overlaps X; pass a separate array")
    if may_overlap(out, indices):
        raise ValueError("out overlaps indices; pass a separate array")


_BINDABLE = frozenset({
    sigmoid, sigmoid_backward, tanh, tanh_backward, relu, relu_backward,
    leaky_relu, leaky_relu_backward, elu, elu_backward, maxout, maxout_backward,
    dropout, dropout_backward, softmax, softmax_backward, dense_forward, dense_backward,
    sum_of_squares,
})


# ----------------------------------------------------------------- logistic regression

import scipy.sparse as _sparse  # noqa: E402

from fastnn._kernels.checks import check_positive_int  # noqa: E402
from fastnn._kernels import logistic as _logistic  # noqa: E402

__all__ += ["logistic_sgd_epoch"]


def _check_intp_range(name, array, n, high):
    """``array`` must be a 1-D C-contiguous intp array of length ``n`` in [0, high)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(array).__name__}")
    if array.dtype != _INTP:
        raise TypeError(f"{name} must have dtype intp, got {array.dtype}")
    if array.ndim != 1 or not array.flags.c_contiguous:
        raise ValueError(f"{name} must be a 1-D C-contiguous array")
    if n is not None and array.shape[0] != n:
        raise ValueError(f"{name} must have {n} entries, got {array.shape[0]}")
    if array.size and (array.min() < 0 or array.max() >= high):
        raise ValueError(f"{name} must hold values in [0, {high})")


def logistic_sgd_epoch(
    X, y, W, b, order, learning_rate, l2=0.0, batch_size=32, sample_weight=None,
    weight_scale=1.0, with_bias=True, G=None,
):
    """One epoch of mini-batch SGD for L2-penalised logistic regression, in place.

    ``W`` (n_features, k) and ``b`` (k,) are updated in place: with ``k == 1`` the
    sigmoid neuron (labels ``y`` in {0, 1}), else softmax (labels in [0, k)). Rows are
    visited in ``order`` (intp indices into X, e.g. a permutation; repeats allowed) in
    batches of ``batch_size``; each batch takes the step

        W <- W - learning_rate * (weight_scale / m * sum_r s_r x_r g_r^T + l2 * W)

    with g_r = p_r - onehot(y_r) and s_r the sample weight (1 when None); ``b`` likewise
    without the l2 term (untouched unless ``with_bias``). ``X`` is a C-contiguous float
    ndarray (n_samples, n_features) or a SciPy CSR matrix/array of the same dtype
    (its index arrays are converted to intp). ``G`` is an optional (batch_size, k)
    scratch. Returns the sum of s_r * log-loss_r, each loss taken at the weights before
    its batch's step (float).

    >>> X = np.array([[0.0, 1.0], [1.0, 0.0]]); y = np.array([0, 1])
    >>> W, b = np.zeros((2, 1)), np.zeros(1)
    >>> loss = logistic_sgd_epoch(X, y, W, b, np.arange(2), learning_rate=1.0)
    >>> round(loss, 4)  # 2 log 2: both rows were seen at W = 0
    1.3863
    """
    sparse = _sparse.issparse(X)
    if sparse:
        if X.format != "csr":
            raise ValueError(f"a sparse X must be CSR, got {X.format}")
        data = X.data
        check_float("X.data", data, ndim=1)
        dtype, (n_samples, n_features) = data.dtype, X.shape
    else:
        check_float("X", X, ndim=2)
        dtype, (n_samples, n_features) = X.dtype, X.shape
    check_float("W", W, ndim=2)
    check_float("b", b, ndim=1)
    for name, array in (("W", W), ("b", b)):
        if array.dtype != dtype:
            raise TypeError(f"{name} has dtype {array.dtype} but X has {dtype}")
        check_writeable(name, array)
    if W.shape[0] != n_features or W.shape[1] < 1:
        raise ValueError(f"W must have shape ({n_features}, k >= 1), got {W.shape}")
    if n_features < 1:
        raise ValueError("X must have at least one feature")
    k = W.shape[1]
    if b.shape != (k,):
        raise ValueError(f"b must have shape ({k},), got {b.shape}")
    if may_overlap(W, b):
        raise ValueError("W overlaps b; pass separate arrays")
    _check_intp_range("y", y, n_samples, max(k, 2))
    _check_intp_range("order", order, None, max(n_samples, 1))
    if order.shape[0] and n_samples == 0:
        raise ValueError("order indexes rows of an X that has none")
    lr = check_scalar("learning_rate", learning_rate, low=0.0)
    l2 = check_scalar("l2", l2, low=0.0)
    weight_scale = check_scalar("weight_scale", weight_scale, low=0.0)
    _fit_dtype(dtype, learning_rate=lr, l2=l2, weight_scale=weight_scale)
    batch_size = check_positive_int("batch_size", batch_size)
    weights = _check_sample_weight(sample_weight, n_samples, dtype, reference="X")
    G = output("G", G, (batch_size, k), dtype, {"W": W, "b": b, "X": None if sparse else X})
    if sparse:
        indptr = np.ascontiguousarray(X.indptr, dtype=np.intp)
        indices = np.ascontiguousarray(X.indices, dtype=np.intp)
        # NOTE: the kernel trusts every CSR index: a malformed matrix is refused here.
        if (
            indptr.shape != (n_samples + 1,)
            or indptr[0] != 0
            or indptr[-1] > min(data.shape[0], indices.shape[0])
            or np.any(indptr[1:] < indptr[:-1])
        ):
            raise ValueError("X is not a valid CSR matrix (indptr)")
        if indices.size and (indices.min() < 0 or indices.max() >= n_features):
            raise ValueError("X is not a valid CSR matrix (a column index is out of range)")
    if order.shape[0] == 0:
        return 0.0
    if sparse:
        return _logistic.sgd_epoch_csr(
            data, indices, indptr, y, weights, order, W, b, G, lr, l2, weight_scale,
            bool(with_bias),
        )
    return _logistic.sgd_epoch_dense(
        X, y, weights, order, W, b, G, lr, l2, weight_scale, bool(with_bias)
    )


__all__ += ["logistic_loss_grad"]


def logistic_loss_grad(
    X, y, W, b, sample_weight=None, scale=1.0, with_bias=True, dW=None, db=None,
    block_rows=None, n_threads=1,
):
    """Log-loss of the linear model X W + b and its gradient, in one pass over ``X``.

    ``X`` (n_samples, n_features) is a C-contiguous float ndarray, ``W``
    (n_features, k) and ``b`` (k,) of its dtype: the sigmoid neuron for ``k == 1``
    (labels ``y`` in {0, 1}), else softmax (labels in [0, k)). Returns
    ``(loss, dW, db)``: loss = sum_i s_i loss_i (a float, summed in float64), dW =
    scale * X^T G and db = scale * sum_i G_i (zero unless ``with_bias``) with
    G_i = s_i (p_i - onehot(y_i)), s_i the sample weight (1 when None). Rows are taken
    in blocks of ``block_rows`` (default: about 256 KB of X, to stay in cache).
    ``dW`` and ``db`` may be passed in; they must not overlap the inputs.

    ``n_threads`` > 1 splits the rows into that many parts run on OpenMP threads (in a
    build with OpenMP), whose gradients are then summed; each part calls BLAS, so limit
    BLAS to one thread meanwhile (``threadpoolctl.threadpool_limits(1, "blas")``), or
    its pools fight over the cores.

    >>> X = np.array([[0.0, 1.0], [1.0, 0.0]]); y = np.array([0, 1])
    >>> loss, dW, db = logistic_loss_grad(X, y, np.zeros((2, 1)), np.zeros(1))
    >>> round(loss, 4), dW.ravel().tolist(), db.tolist()
    (1.3863, [-0.5, 0.5], [0.0])
    """
    check_float("X", X, ndim=2)
    n_samples, n_features = X.shape
    dtype = X.dtype
    check_float("W", W, ndim=2)
    check_float("b", b, ndim=1)
    for name, array in (("W", W), ("b", b)):
        if array.dtype != dtype:
            raise TypeError(f"{name} has dtype {array.dtype} but X has {dtype}")
    if W.shape[0] != n_features or W.shape[1] < 1:
        raise ValueError(f"W must have shape ({n_features}, k >= 1), got {W.shape}")
    k = W.shape[1]
    if b.shape != (k,):
        raise ValueError(f"b must have shape ({k},), got {b.shape}")
    if max(n_samples, n_features, k) > _BLAS_MAX_DIM:
        raise ValueError("dimensions must be below 2**31 (BLAS uses 32-bit ints)")
    _check_intp_range("y", y, n_samples, max(k, 2))
    scale = check_scalar("scale", scale)
    _fit_dtype(dtype, scale=scale)
    weights = _check_sample_weight(sample_weight, n_samples, dtype, reference="X")
    inputs = {"X": X, "W": W, "b": b, "sample_weight": weights}
    dW = output("dW", dW, W.shape, dtype, inputs)
    db = output("db", db, (k,), dtype, {**inputs, "dW": dW})
    if block_rows is not None:
        block_rows = check_positive_int("block_rows", block_rows)
    n_threads = check_positive_int("n_threads", n_threads)
    if n_samples == 0 or n_features == 0:
        dW[:] = 0
        db[:] = 0
        if n_samples == 0:
            return 0.0, dW, db
    if block_rows is None:
        block_rows = 262144 // max(1, n_features * dtype.itemsize)
    block_rows = min(max(1, n_samples), max(8, block_rows))
    parts = min(n_threads, n_samples)
    if n_features == 0:  # BLAS cannot take a zero leading dimension; p = softmax(b)
        X, W = np.zeros((n_samples, 1), dtype), np.zeros((1, k), dtype)
    direct = parts == 1 and n_features > 0  # the one part writes dW and db itself
    if direct:
        dW_parts, db_parts = dW.reshape(1, n_features, k), db.reshape(1, k)
    else:
        dW_parts = np.empty((parts, X.shape[1], k), dtype)
        db_parts = np.empty((parts, k), dtype)
    losses = np.empty(parts, np.float64)
    Z = np.empty((parts, block_rows, k), dtype)
    _logistic.loss_grad_dense(
        X, y, weights, W, b, scale, dW_parts, db_parts, Z, losses, bool(with_bias)
    )
    if not direct:
        if n_features > 0:
            np.sum(dW_parts, axis=0, out=dW)
        np.sum(db_parts, axis=0, out=db)
    return float(losses.sum()), dW, db
