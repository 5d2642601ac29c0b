"""The full-batch training objective of a :class:`fastnn.Sequential` (its ``objective``),
for L-BFGS: the weighted mean loss over every row and the kernels' L2 penalties, with
the gradient, from the layers' calls bound once on X itself."""

import numpy as np

from fastnn._threads import training_threads
from fastnn.models.epoch import add_penalty

__all__ = ["full_batch_objective"]


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
    plan = model._plan()
    loss = plan.loss_function
    runs_forward, A = plan.bind_forward(X, False)
    grad = np.empty(A.shape, X.dtype)
    runs_backward = plan.bind_backward(grad)
    if plan.first_backward is None:
        model._grads[...] = 0
    losses = np.empty(X.shape[0], X.dtype)
    penalized = model._penalized()
    params = model.flat_weights

    def fun(weights):
        params[...] = weights
        with training_threads():
            for run in runs_forward:
                run()
            loss(A, y, sample_weight, scale, True, losses, grad)
            for run in runs_backward:
                run()
            penalty = add_penalty(penalized, scale) if penalized else 0.0
        value = (float(losses.sum(dtype=np.float64)) + 0.5 * penalty) * scale
        return value, model._grads.astype(np.float64)

    return fun
