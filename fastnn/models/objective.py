"""The full-batch training objective of a :class:`fastnn.Sequential` (its ``objective``),
for L-BFGS: the weighted mean loss over every row and the kernels' L2 penalties, with
the gradient, from the layers' calls bound once on X itself. Its two halves serve the
data-parallel fit too (``fastnn.estimators._mlp_dask``): ``data_term`` on each worker's
rows, ``penalized`` on the client, so both fits minimise one definition."""

import numpy as np

from fastnn._threads import training_threads
from fastnn.models.epoch import add_penalty

__all__ = ["data_term", "full_batch_objective", "penalized"]


def data_term(model, X, y, sample_weight, scale):
    """``run(weights) -> sum of the rows' weighted losses`` for checked ``(X, y)``,
    leaving the gradient of that sum times ``scale`` in ``model._grads``; the layers'
    calls are bound once, on X itself. Call it within ``training_threads()``."""
    plan = model._plan()
    loss = plan.loss_function
    runs_forward, A = plan.bind_forward(X, False)
    grad = np.empty(A.shape, X.dtype)
    runs_backward = plan.bind_backward(grad)
    if plan.first_backward is None:
        model._grads[...] = 0
    losses = np.empty(X.shape[0], X.dtype)
    params = model.flat_weights

    def run(weights):
        params[...] = weights
        for step in runs_forward:
            step()
        loss(A, y, sample_weight, scale, True, losses, grad)
        for step in runs_backward:
            step()
        return float(losses.sum(dtype=np.float64))

    return run


def penalized(model, data_loss, scale):
    """The objective ``(value, float64 gradient)`` at the model's weights from its data
    term: ``data_loss`` (the sum of the rows' weighted losses) and its gradient times
    ``scale`` (1 / the total weight) already in ``model._grads``. Adds the kernels' L2
    penalties (``kernel_l2 / 2 * sum(W**2)``, and their gradients) and scales."""
    penalized_kernels = model._penalized()
    penalty = add_penalty(penalized_kernels, scale) if penalized_kernels else 0.0
    return (data_loss + 0.5 * penalty) * scale, model._grads.astype(np.float64)


def full_batch_objective(model, x, y, sample_weight=None):
    """``fun(weights) -> (loss, grad)`` for ``model`` on ``(x, y)``: see
    :meth:`fastnn.models.training.Trainer.objective`."""
    X, y, sample_weight = model._check_data(x, y, sample_weight)
    if X.shape[0] == 0:
        raise ValueError("the objective needs at least one sample")
    total_weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())
    if total_weight <= 0:
        raise ValueError("sample_weight sums to 0: the objective is undefined")
    scale = 1.0 / total_weight
    run = data_term(model, X, y, sample_weight, scale)

    def fun(weights):
        with training_threads():
            return penalized(model, run(weights), scale)

    return fun
