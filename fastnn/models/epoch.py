"""One pass of mini-batch training over the rows, for :mod:`fastnn.models.training`.

The batches of one size run in a compiled loop (:class:`fastnn.ops.training.BatchLoop`)
from the row gather through forward, loss, backward, the L2 terms, the divergence
checks and the optimizer step, with no Python between the kernels. The loop is built
once per batch size from the layers' bound calls, into buffers kept on the model
(:class:`Batches`); a fit's data is bound to it for that fit, the optimizer's update
until its state or settings change. It returns to Python at the end of a batch once
:data:`CHUNK_SECONDS` have passed, for the progress bar and Ctrl-C. Divergence is
caught per batch, before a NaN or inf can enter the weights (:class:`Diverged`).
When a callback has batch hooks, each run is one batch, with the hooks between runs.
"""

import functools
from collections import namedtuple

import numpy as np
import scipy.sparse as sp

from fastnn import ops
from fastnn.ops import training as loop_kernels
from fastnn.ops.optimizers import axpy

__all__ = ["Batches", "Diverged", "EpochRun", "add_penalty", "n_correct", "release_data",
           "run_epoch"]

_KEPT_BATCH_SIZES = 4

# NOTE: the compiled loop hands control back at the end of a batch once this long has
# passed: the progress bar moves and a Ctrl-C stops training within about this time
# plus one batch, with the weights of the last completed step.
CHUNK_SECONDS = 0.05


class Diverged(Exception):
    """Raised inside an epoch: ``what`` ('gradient', 'weights' or 'loss') became
    ``value`` at ``batch`` (None for the epoch's loss)."""

    def __init__(self, what, batch, value):
        super().__init__(what, batch, value)
        self.what, self.batch, self.value = what, batch, value


class Batches:
    """Mini-batches of one size: the gathered rows, X, y and weights, the per-sample
    losses and the loss gradient, and the :class:`fastnn.ops.training.BatchLoop`
    bound to these buffers (``loop``; None until :meth:`prepare`). A CSR X is
    gathered into a :class:`fastnn.ops.CSR` batch with room for its ``n_rows``
    fullest rows."""

    def __init__(self, n_rows, X, y, sample_weight, n_outputs):
        self.rows = np.empty(n_rows, np.intp)
        self.X = _x_buffer(X, n_rows)
        self.y = np.empty((n_rows, *y.shape[1:]), y.dtype)
        self.w = None if sample_weight is None else np.empty(n_rows, X.dtype)
        self.losses = np.empty(n_rows, X.dtype)
        self.grad = np.empty((n_rows, n_outputs), X.dtype)
        self.loop = self.threshold = None
        self.penalties = None  # the (W, dW, kernel_l2) the loop was bound with
        # set_data's: the (X, y, weights) gathered from, the optimizer bound, its update
        self.data_key = self.update_key = self.update = None

    def prepare(self, model, plan, count_correct):
        """Bind the calls of ``plan`` (a :class:`fastnn.models.training.TrainingPlan`)
        for ``model`` to these buffers, once."""
        self.threshold = plan.threshold
        runs_forward, output = plan.bind_forward(self.X, True)
        runs_backward = plan.bind_backward(self.grad) if plan.first_backward else []
        loss, divisor, multiplier = plan.loss.bind_training(
            output, self.y, self.w, self.losses, self.grad, plan.fused
        )
        self.penalties = model._penalized()
        penalties = [
            (ops.bind(ops.sum_of_squares, W.reshape(-1))[0],
             ops.bind(axpy, W, dW, 0.0)[0], l2)
            for W, dW, l2 in self.penalties
        ]
        self.loop = loop_kernels.BatchLoop(
            self.rows, self.w, runs_forward, output, self.y,
            _count_mode(plan, self.y) if count_correct else loop_kernels.COUNT_NONE,
            plan.threshold or 0.0, loss, divisor, multiplier, self.losses,
            runs_backward, penalties,
            ops.bind(ops.sum_of_squares, model._grads)[0] if runs_backward else None,
            ops.bind(ops.sum_of_squares, model.flat_weights)[0] if runs_backward else None,
        )
        self.count_correct = count_correct

    def set_data(self, model, X, y, sample_weight):
        """Bind the gathers from this fit's ``X``, ``y``, ``sample_weight`` and the
        optimizer's update to the loop, each unless bound already; returns the update
        (Calls or a callable)."""
        # NOTE: a key holds what it names, so no other object can take those ids
        # while it is kept: the same ids are the same objects.
        data_key = (X, y, sample_weight)
        if not _same(data_key, self.data_key):
            self.loop.set_gathers([
                ops.bind(
                    ops.csr_take_rows if sp.issparse(source) else ops.take_rows,
                    source, self.rows, out=out,
                )[0]
                for source, out in zip(data_key, (self.X, self.y, self.w))
                if source is not None
            ])
            self.data_key = data_key
        optimizer = model.optimizer
        # The optimizer's settings are bound into its Calls (all but the rate): one
        # changed between epochs (a callback, a user) rebinds them.
        update_key = (optimizer, optimizer._slots, optimizer.get_config())
        if not (_same(update_key[:2], self.update_key)
                and update_key[2] == self.update_key[2]):
            params, grads = [model.flat_weights], [model._grads]
            update = optimizer.bind_update(params, grads)
            if update is None:
                update = functools.partial(optimizer.apply, params, grads)
            self.loop.set_update(update)
            self.update, self.update_key = update, update_key
        return self.update

    def release_data(self):
        """Let go of a fit's data (called when a fit ends); the update stays bound to
        the model's own arrays."""
        if self.loop is not None:
            self.loop.set_gathers(None)
        self.data_key = None

    @classmethod
    def of(cls, model, n_rows, X, y, sample_weight, count_correct):
        """The batches of ``n_rows`` rows ``model`` keeps for this data's layout,
        prepared for its training plan."""
        batch = model._batches.get(n_rows)
        if (
            batch is None
            or batch.y.dtype != y.dtype
            or batch.y.shape[1:] != y.shape[1:]
            or (batch.w is None) != (sample_weight is None)
            or not _holds(batch.X, X, n_rows)
        ):
            if len(model._batches) >= _KEPT_BATCH_SIZES:
                model._batches.clear()
            batch = model._batches[n_rows] = cls(
                n_rows, X, y, sample_weight, model.n_outputs
            )
        if (
            batch.loop is None
            or batch.count_correct != count_correct
            or not _same_penalties(batch.penalties, model._penalized())
        ):
            # NOTE: an interrupted prepare leaves the batch unbound, not half bound.
            batch.loop = batch.data_key = batch.update_key = None
            batch.prepare(model, model._plan(), count_correct)
        return batch


def _x_buffer(X, n_rows):
    """The buffer a batch of ``n_rows`` rows of ``X`` is gathered into."""
    if sp.issparse(X):
        return ops.csr_rows_buffer(X, n_rows)
    return np.empty((n_rows, X.shape[1]), X.dtype)


def _holds(buffer, X, n_rows):
    """Whether ``buffer`` takes any ``n_rows`` rows of ``X``: of its kind and dtypes,
    and for a CSR X with room for its fullest rows."""
    if not sp.issparse(X):
        return isinstance(buffer, np.ndarray) and buffer.dtype == X.dtype
    # NOTE: the capacity is measured on every call (a pass over X's indptr, and
    # csr_rows_buffer's check of X): a matrix changed in place between fits could
    # otherwise outgrow the buffer, and the loop's gather would leave stale rows.
    needed = ops.csr_rows_buffer(X, n_rows)
    return isinstance(buffer, ops.CSR) and all(
        mine.dtype == theirs.dtype and mine.shape[0] >= theirs.shape[0]
        for mine, theirs in zip(buffer[:3], needed[:3])
    )


def _same(key, bound):
    """Whether ``key`` names the very objects of ``bound`` (None: nothing bound)."""
    return bound is not None and all(a is b for a, b in zip(key, bound))


def _same_penalties(bound, current):
    """Whether the penalized kernels and their kernel_l2 are those bound."""
    return len(bound) == len(current) and all(
        W is W2 and l2 == l2b for (W, _, l2b), (W2, _, l2) in zip(bound, current)
    )


def release_data(model):
    """Let go of the last fit's data in ``model``'s kept batches."""
    for batch in model._batches.values():
        batch.release_data()


def _count_mode(plan, y):
    if plan.threshold is not None:
        return loop_kernels.COUNT_THRESHOLD
    if y.ndim == 1:
        return loop_kernels.COUNT_ARGMAX_LABELS
    return loop_kernels.COUNT_ARGMAX_TARGETS


class EpochRun(namedtuple("EpochRun", "correct penalty rows")):
    """What :func:`run_epoch` did: ``correct`` predictions counted, the summed L2
    ``penalty`` (sum over batches of sum(kernel_l2 * W**2) / 2), and the ``rows``
    of ``order`` run (fewer than all when a batch hook stopped training)."""

    __slots__ = ()

    def mean_loss(self, losses, sample_weight, order, total_weight):
        """The epoch's loss: the per-sample ``losses`` of the rows run and the
        penalty, over the weight of those rows (``total_weight`` for all)."""
        rows = order[:self.rows]
        weight = total_weight if self.rows == order.shape[0] else (
            self.rows if sample_weight is None
            else float(sample_weight[rows].sum(dtype=np.float64)))
        # NOTE: summed in float64: in float32 large finite losses overflow the sum.
        loss = float(losses[:self.rows].sum(dtype=np.float64)) + self.penalty
        return loss / weight if weight > 0 else 0.0


def run_epoch(model, X, y, sample_weight, order, batch_size, losses, count_correct,
              bar, hooks=None):
    """One pass of ``model`` over the rows in ``order``, as an :class:`EpochRun`.

    ``hooks`` (a :class:`fastnn.models.callbacks.CallbackList` whose callbacks use
    batch hooks, or None) runs the loop one batch at a time, around each batch its
    ``on_train_batch_begin`` and ``on_train_batch_end`` (logs: the epoch's 'loss' so
    far); ``model.stop_training`` set by one ends the epoch after that batch.
    """
    n_samples = X.shape[0]
    n_full, tail = divmod(n_samples, batch_size)
    order = np.ascontiguousarray(order, dtype=np.intp)
    optimizer = model.optimizer
    right = penalty = 0
    threshold = None
    so_far = None if hooks is None else _SoFar(losses, sample_weight, order,
                                                count_correct)
    for first_row, n_batches, n_rows in (
        (0, n_full, batch_size), (n_full * batch_size, int(tail > 0), tail)
    ):
        if not n_batches:
            continue
        batch = Batches.of(model, n_rows, X, y, sample_weight, count_correct)
        threshold = batch.threshold
        if hooks is not None:
            for index in range(n_batches):
                start = first_row + index * n_rows
                hooks.on_train_batch_begin(start // batch_size, {})
                # NOTE: bound again per batch: a hook may have changed the rate
                update = batch.set_data(model, X, y, sample_weight)
                ran_right, ran_penalty = _run(batch, optimizer, update, order, start, 1,
                                              batch_size, losses, bar)
                right += ran_right
                penalty += ran_penalty
                hooks.on_train_batch_end(start // batch_size, so_far.logs(
                    start + n_rows, penalty, _correct(right, threshold, y)))
                if model.stop_training:
                    return _epoch_run(right, penalty, start + n_rows, threshold, y)
            continue
        update = batch.set_data(model, X, y, sample_weight)
        ran_right, ran_penalty = _run(batch, optimizer, update, order, first_row,
                                      n_batches, batch_size, losses, bar)
        right += ran_right
        penalty += ran_penalty
    return _epoch_run(right, penalty, n_samples, threshold, y)


def _run(batch, optimizer, update, order, start, n_batches, batch_size, losses, bar):
    """``n_batches`` batches of ``batch`` from row ``start`` of ``order`` (the rows
    of the epoch's batches of ``batch_size`` before it), in runs of about
    :data:`CHUNK_SECONDS`; returns their right predictions and summed penalty
    sum(l2 * W**2), or raises :class:`Diverged`."""
    n_rows = batch.rows.shape[0]
    compiled_update = isinstance(update, list)
    # NOTE: the rates of every step these batches can take, once; each run takes
    # them from the steps already taken (the formulas are per step, so a slice
    # gives what optimizer.rates would give after those steps).
    rates = optimizer.rates(n_batches) if compiled_update else None
    done = stepped = right = penalty = 0
    while done < n_batches:
        status, ran, steps, batch_right, batch_penalty = batch.loop.run(
            order, start + done * n_rows, n_batches - done,
            optimizer if compiled_update else None,
            None if rates is None else rates[stepped:], losses, CHUNK_SECONDS,
        )
        done += ran
        stepped += steps
        right += batch_right
        penalty += batch_penalty
        if bar is not None:
            bar.update(ran)
        if status != loop_kernels.OK:
            what = "gradient" if status == loop_kernels.GRADIENT_DIVERGED else "weights"
            raise Diverged(what, start // batch_size + done - 1, "NaN or inf")
    return right, penalty


def _correct(right, threshold, y):
    if threshold is not None and y.ndim == 2:
        return right / y.shape[1]  # a row of k outputs counts its fraction right
    return right


def _epoch_run(right, penalty, rows, threshold, y):
    return EpochRun(_correct(right, threshold, y), 0.5 * penalty, rows)


class _SoFar:
    """The logs of a batch's end: the epoch's mean loss (and accuracy) over the
    rows run so far, as Keras 2.2+ reports them."""

    def __init__(self, losses, sample_weight, order, count_correct):
        self.losses, self.sample_weight, self.order = losses, sample_weight, order
        self.count_correct = count_correct
        self.rows = 0
        self.loss_sum = self.weight = 0.0

    def logs(self, rows, penalty, correct):
        """After the first ``rows`` of the order: ``penalty`` is sum(l2 * W**2)
        over the batches so far, ``correct`` the predictions right."""
        new = slice(self.rows, rows)
        self.loss_sum += float(self.losses[new].sum(dtype=np.float64))
        self.weight += (rows - self.rows if self.sample_weight is None else
                        float(self.sample_weight[self.order[new]].sum(dtype=np.float64)))
        self.rows = rows
        loss = (self.loss_sum + 0.5 * penalty) / self.weight if self.weight else 0.0
        logs = {"loss": loss}
        if self.count_correct:
            logs["accuracy"] = correct / rows
        return logs


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
