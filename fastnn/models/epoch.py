"""One pass of mini-batch training over the rows, for :mod:`fastnn.models.training`.

The layers' calls are bound once per batch size to buffers kept on the model
(:class:`Batches`); each batch then gathers its rows into those buffers and only runs
the calls: nothing is allocated per batch. Divergence is caught per batch, before a
NaN or inf can enter the weights (:class:`Diverged`).
"""

from math import isfinite

import numpy as np

from fastnn import ops

__all__ = ["Batches", "Diverged", "add_penalty", "n_correct", "run_epoch"]

_KEPT_BATCH_SIZES = 4


class Diverged(Exception):
    """Raised inside an epoch: ``what`` ('gradient', 'weights' or 'loss') became
    ``value`` at ``batch`` (None for the epoch's loss)."""

    def __init__(self, what, batch, value):
        super().__init__(what, batch, value)
        self.what, self.batch, self.value = what, batch, value


def _non_finite(vector):
    return not np.isfinite(vector).all()


class Batches:
    """Mini-batches of one size: the gathered X, y and weights, the loss gradient, and
    the layers' calls bound to these buffers (``runs_forward`` fills ``output``,
    ``runs_backward`` goes from ``grad`` to every parameter gradient)."""

    def __init__(self, n_rows, X, y, sample_weight, n_outputs):
        self.X = np.empty((n_rows, X.shape[1]), X.dtype)
        self.y = np.empty((n_rows, *y.shape[1:]), y.dtype)
        self.w = None if sample_weight is None else np.empty(n_rows, X.dtype)
        self.grad = np.empty((n_rows, n_outputs), X.dtype)
        self.runs_forward = self.output = self.runs_backward = None

    def prepare(self, plan):
        """Bind the calls of ``plan`` (a :class:`fastnn.models.training.TrainingPlan`)
        to these buffers, once."""
        runs_forward, A = plan.bind_forward(self.X, True)
        runs_backward = plan.bind_backward(self.grad)
        # NOTE: set together at the end: an interrupted bind leaves the batch unbound
        # (runs_forward None), never half bound.
        self.output, self.runs_backward = A, runs_backward
        self.runs_forward = runs_forward  # last: marks the batch bound

    @classmethod
    def of(cls, model, n_rows, X, y, sample_weight):
        """The batches of ``n_rows`` rows ``model`` keeps for this data's layout."""
        batch = model._batches.get(n_rows)
        if (
            batch is None
            or batch.y.dtype != y.dtype
            or batch.y.shape[1:] != y.shape[1:]
            or (batch.w is None) != (sample_weight is None)
        ):
            if len(model._batches) >= _KEPT_BATCH_SIZES:
                model._batches.clear()
            batch = model._batches[n_rows] = cls(
                n_rows, X, y, sample_weight, model.n_outputs
            )
        return batch


def run_epoch(model, X, y, sample_weight, order, batch_size, losses, count_correct,
              bar):
    """One pass of ``model`` over the rows in ``order``; returns the number predicted
    right and the summed L2 penalty, sum over batches of sum(kernel_l2 * W**2) / 2."""
    plan = model._plan()
    loss, threshold = plan.loss, plan.threshold
    apply = model.optimizer.apply
    flat_params, flat_grads = model.flat_weights, model._grads
    params, grads = [flat_params], [flat_grads]
    params_squared, _ = ops.bind(ops.sum_of_squares, flat_params)
    grads_squared, _ = ops.bind(ops.sum_of_squares, flat_grads)
    penalized = model._penalized()
    take_rows = ops.take_rows
    n_samples = X.shape[0]
    correct = 0
    penalty = 0.0
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        rows = order[start:stop]
        batch = Batches.of(model, stop - start, X, y, sample_weight)
        if batch.runs_forward is None:
            batch.prepare(plan)
        take_rows(X, rows, out=batch.X)
        y_batch = take_rows(y, rows, out=batch.y)
        scale = 1.0 / (stop - start)
        weights = None
        if batch.w is not None:
            weights = take_rows(sample_weight, rows, out=batch.w)
            total_weight = float(weights.sum())
            scale = 1.0 / total_weight if total_weight > 0 else 0.0
        for run in batch.runs_forward:
            run()
        if count_correct:
            correct += n_correct(batch.output, y_batch, threshold)
        loss(batch.output, y_batch, weights, scale, True, losses[start:stop],
             batch.grad)
        if bar is not None:
            bar.update(1)
        if scale == 0.0 or plan.first_backward is None:  # nothing to learn from this
            continue
        for run in batch.runs_backward:
            run()
        if penalized:
            penalty += add_penalty(penalized, scale)
        # NOTE: divergence is caught per batch, before a NaN or inf can enter the
        # weights: a non-finite gradient stops training before the step (fit then
        # restores the state from before the epoch). A sum of squares is finite
        # only if every term is, so one bound BLAS dot (about 0.5 us) stands in for
        # isfinite; when it overflows on finite values, the exact check decides.
        # The step itself can overflow only through a huge learning rate, so the
        # weights are checked after it the same way.
        if not isfinite(grads_squared()) and _non_finite(flat_grads):
            raise Diverged("gradient", start // batch_size, "NaN or inf")
        apply(params, grads)
        if not isfinite(params_squared()) and _non_finite(flat_params):
            raise Diverged("weights", start // batch_size, "NaN or inf")
    return correct, 0.5 * penalty


def add_penalty(penalized, scale):
    """dW += kernel_l2 * scale * W for each penalized kernel; returns
    sum(kernel_l2 * W**2) over them (the weights before this batch's update)."""
    return sum(ops.l2_penalty(W, dW, l2, scale) for W, dW, l2 in penalized)


def n_correct(A, y, threshold):
    """Right predictions in a batch: the argmax of each row (``threshold`` None), or
    each output on the right side of ``threshold`` (binary and multi-label; a row of
    k outputs counts its fraction of right outputs, as Keras' binary accuracy)."""
    if threshold is not None:
        return int(np.count_nonzero((A > threshold) == (y > 0.5))) / y.shape[1]
    if y.ndim == 1:
        return int(np.count_nonzero(A.argmax(axis=1) == y))
    return int(np.count_nonzero(A.argmax(axis=1) == y.argmax(axis=1)))
