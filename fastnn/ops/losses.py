"""Softmax, log-softmax and the losses, each with its gradient: the loss kernels' door."""

import numpy as np

from fastnn.ops._bind import bindable, run_kernel
from fastnn.ops._kernel_args import NO_GRAD
from fastnn.ops._loader import loss_kernels
from fastnn.ops.checks import (
    check_float,
    check_like,
    check_sample_weight,
    check_scalar,
    fit_dtype,
    output,
)


def _check_logits(logits):
    check_float("logits", logits, ndim=2)
    if logits.shape[1] == 0:
        raise ValueError("logits must have at least one column (class)")
    return logits


@bindable
def softmax(logits, out=None):
    """Row-wise softmax of ``logits`` (n_samples, n_classes); ``out`` may be ``logits``."""
    _check_logits(logits)
    out = output("out", out, logits.shape, logits.dtype, {"logits": logits}, ("logits",))
    run_kernel(loss_kernels.softmax_forward, logits, out)
    return out


@bindable
def softmax_backward(Y, dY, out=None):
    """dX = Y * (dY - sum(dY * Y, axis=1)), from the saved output Y = softmax(logits).

    ``Y`` and ``dY`` have shape (n_samples, n_classes); ``out`` may be ``dY``.
    """
    check_float("Y", Y, ndim=2)
    check_like("Y", Y, dY=dY)
    out = output("out", out, Y.shape, Y.dtype, {"Y": Y, "dY": dY}, inplace=("dY",))
    run_kernel(loss_kernels.softmax_backward, Y, dY, out)
    return out


def log_softmax(logits, out=None):
    """Row-wise log-softmax, computed as logits - logsumexp; ``out`` may be ``logits``."""
    _check_logits(logits)
    out = output("out", out, logits.shape, logits.dtype, {"logits": logits}, ("logits",))
    loss_kernels.log_softmax_forward(logits, out)
    return out


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


@bindable
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
    fit_dtype(logits.dtype, scale=scale)
    weights = check_sample_weight(sample_weight, n_samples, logits.dtype)
    if isinstance(y, np.ndarray) and y.ndim == 2:
        check_like("logits", logits, y=y)
        kernel, targets = loss_kernels.softmax_cross_entropy_targets, y
    else:
        kernel, targets = loss_kernels.softmax_cross_entropy_labels, _check_labels(
            y, n_samples, n_classes
        )
    loss, grad = _loss_outputs(logits, targets, weights, loss_out, grad_out, with_grad)
    bad = run_kernel(
        kernel, logits, targets, weights, scale, loss,
        grad if with_grad else NO_GRAD[logits.dtype], bool(with_grad),
    )
    labels = kernel is loss_kernels.softmax_cross_entropy_labels
    # the labels kernel checked the range first (bound, run() returns the position)
    if labels and bad is not None and bad >= 0:
        bad = int(bad)
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


def _check_rows_like(name, rows, y, scale):
    """``rows`` 1-D or 2-D, ``y`` of its dtype and shape; returns ``scale``, checked."""
    check_float(name, rows)
    if rows.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {rows.shape}")
    check_like(name, rows, y=y)
    scale = check_scalar("scale", scale)
    fit_dtype(rows.dtype, scale=scale)
    return scale


@bindable
def binary_cross_entropy(
    logits, y, sample_weight=None, scale=1.0, with_grad=True, loss_out=None, grad_out=None
):
    """Binary cross-entropy from logits (the sigmoid neuron's loss) and its gradient.

    ``logits`` and ``y`` (float targets in [0, 1], same dtype) have shape (n_samples,) or
    (n_samples, n_outputs) for multi-label. Computed as
    ``max(z, 0) - y z + log1p(exp(-|z|))``, so no logit overflows. Returns
    ``(loss, grad)``: loss of shape (n_samples,), summed over outputs and times the
    sample weight; grad shaped like ``logits``,
    scale * weight * (sigmoid(logits) - y), or None when ``with_grad`` is False.
    ``grad_out`` may be ``logits`` (in place).
    """
    scale = _check_rows_like("logits", logits, y, scale)
    logits_2d = logits if logits.ndim == 2 else logits.reshape(-1, 1)
    y_2d = y.reshape(logits_2d.shape)
    n_samples = logits_2d.shape[0]
    weights = check_sample_weight(sample_weight, n_samples, logits.dtype)
    loss, grad = _loss_outputs(logits, y, weights, loss_out, grad_out, with_grad)
    grad_2d = grad.reshape(logits_2d.shape) if with_grad else NO_GRAD[logits.dtype]
    if logits_2d.shape[1]:
        run_kernel(
            loss_kernels.binary_cross_entropy, logits_2d, y_2d, weights, scale, loss, grad_2d, bool(with_grad)
        )
    else:
        loss[:] = 0
    return loss, grad


@bindable
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
    scale = _check_rows_like("pred", pred, y, scale)
    pred_2d = pred if pred.ndim == 2 else pred.reshape(-1, 1)
    n_samples = pred_2d.shape[0]
    weights = check_sample_weight(sample_weight, n_samples, pred.dtype, "pred")
    loss, grad = _loss_outputs(
        pred, y, weights, loss_out, grad_out, with_grad, name="pred"
    )
    if pred_2d.shape[1]:
        run_kernel(
            loss_kernels.squared_error, pred_2d, y.reshape(pred_2d.shape), weights, scale, loss,
            grad.reshape(pred_2d.shape) if with_grad else NO_GRAD[pred.dtype],
            bool(with_grad),
        )
    else:
        loss[:] = 0
    return loss, grad
