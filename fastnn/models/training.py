"""Training a :class:`fastnn.Sequential`: compile, fit, train_on_batch and the
full-batch objective, as the :class:`Trainer` that Sequential inherits (Keras'
models delegate to its ``trainers/`` the same way).

Every weight of a model lives in one flat vector (each layer's ``W`` and ``b`` are
views into it), so the optimizer updates all of them with one kernel call. The layers'
steps on the training path form a :class:`TrainingPlan`; :mod:`fastnn.models.epoch`
runs it over mini-batches. An epoch that diverges (a NaN or inf in a gradient, the
weights or the loss) is rolled back to the weights and optimizer state before it.
"""

import time
from collections import namedtuple

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array

from fastnn import metrics as metrics_module
from fastnn._threads import fit_threads, training_threads
from fastnn.models.callbacks.base import CallbackList
from fastnn.models.epoch import (
    Diverged,
    release_data,
    run_epoch,
)
from fastnn.models.objective import full_batch_objective
from fastnn.models.progress import progress_bar, report_epoch
from fastnn.nn import losses as losses_module
from fastnn.nn import optimizers as optimizers_module
from fastnn.nn.layers import bind_steps
from fastnn.ops.checks import check_positive_int

__all__ = ["Trainer", "TrainingPlan"]


class TrainingPlan(namedtuple(
    "TrainingPlan", "forward backward first_backward loss fused threshold"
)):
    """The layers' steps on a model's training path (see :meth:`Trainer._plan`).

    ``forward``: each step's ``bind_forward``; ``backward``: the ``bind_backward`` of
    the steps after the first with weights, last step first; ``first_backward``: that
    first step's, which needs no dX (None when no step has weights); ``loss``: the
    :class:`fastnn.nn.losses.Loss`; ``fused``: the final activation is fused into it
    (it works from the logits, see :attr:`loss_function`); ``threshold``: the
    accuracy threshold for binary outputs (None: the argmax of a row).
    """

    __slots__ = ()

    @property
    def loss_function(self):
        """What turns the output into per-sample losses and dL/doutput: the loss, or
        its ``from_logits`` when the final activation is fused into it."""
        return self.loss.from_logits if self.fused else self.loss

    def bind_forward(self, X, training):
        """``(runs, output)``: the forward bound from ``X``."""
        return bind_steps(self.forward, X, training)

    def bind_backward(self, grad):
        """The runs of the backward bound from dL/doutput ``grad`` down to every
        parameter gradient."""
        runs, dA = bind_steps(self.backward, grad, True)
        if self.first_backward is not None:
            runs += self.first_backward(dA, False)[0]
        return runs


class Trainer:
    """What :class:`fastnn.Sequential` inherits to train: the model supplies
    ``layers``, ``flat_weights`` and its gradients, ``_check_x`` and ``predict``."""

    # ---------------------------------------------------------------- compiling

    def compile(self, optimizer="sgd", loss=None, metrics=None):
        """Choose the optimizer (an instance or a name from
        :data:`fastnn.optimizers.NAMES`: 'sgd', 'adam', 'rmsprop', ...), the loss (a
        name from :data:`fastnn.losses.NAMES`) and the metrics reported ('accuracy' or
        callables)."""
        if loss is None:
            raise ValueError(f"compile needs a loss, one of {', '.join(losses_module.NAMES)}")
        if not self.layers:
            raise ValueError("the model has no layers; add some before compile")
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = losses_module.get(loss)
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise TypeError(f"metrics must be a list, got {type(metrics).__name__}")
        self.metrics = [metrics_module.get(metric) for metric in metrics or ()]
        self._batches.clear()  # bound to the previous loss's training path

    def _require_compiled(self, what):
        if self.loss is None:
            raise ValueError(f"{what}: compile the model first (model.compile(...))")

    def _plan(self):
        """The layers' steps on the training path, as a :class:`TrainingPlan`.

        When the network ends in the activation that matches the loss (softmax for the
        categorical cross-entropies, sigmoid for the binary one), that last step is left
        out and the loss works from the logits: one fused kernel, gradient p - y. The
        backward stops at the first layer with weights, which needs no dX.
        """
        steps = [step for layer in self.layers for step in layer._steps()]
        fused = steps[-1].activation is not None and (
            steps[-1].activation == self.loss.fused_activation
        )
        if fused:
            steps = steps[:-1]
        with_params = [i for i, step in enumerate(steps) if step.has_params]
        first = with_params[0] if with_params else len(steps)
        # Accuracy: argmax of a row, or a threshold (logit 0, probability 0.5) for
        # binary outputs.
        threshold = None
        sparse = isinstance(self.loss, losses_module.SparseCategoricalCrossentropy)
        if not sparse and (self.loss.fused_activation == "sigmoid" or self.n_outputs == 1):
            threshold = 0.0 if fused else 0.5
        return TrainingPlan(
            forward=[step.bind_forward for step in steps],
            backward=[step.bind_backward for step in reversed(steps[first + 1:])],
            first_backward=steps[first].bind_backward if with_params else None,
            loss=self.loss,
            fused=fused,
            threshold=threshold,
        )

    # -------------------------------------------------------------- checking data

    def _check_data(self, x, y, sample_weight=None):
        self._require_compiled("fit/evaluate")
        X = self._check_x(x)
        y = self.loss.check_targets(y, X.shape[0], self.n_outputs, X.dtype)
        if sample_weight is not None:
            sample_weight = check_array(
                sample_weight, dtype=X.dtype, ensure_2d=False, input_name="sample_weight"
            )
            if sample_weight.shape != (X.shape[0],) or (sample_weight < 0).any():
                raise ValueError(
                    f"sample_weight must be {X.shape[0]} non-negative numbers, "
                    f"got shape {sample_weight.shape}"
                )
        return X, y, sample_weight

    # ----------------------------------------------------------------- training

    def fit(self, x=None, y=None, batch_size=32, epochs=1, verbose=1,
            validation_split=0.0, validation_data=None, shuffle=True,
            sample_weight=None, initial_epoch=0, callbacks=None, **keras1):
        """Train for ``epochs`` passes over ``(x, y)`` in shuffled mini-batches.

        Keras 1's ``nb_epoch`` (for ``epochs``) and ``show_accuracy=True`` (report
        accuracy) are accepted. ``verbose``: 0 silent, 1 a progress bar per epoch
        (tqdm), 2 one line per epoch. The last ``validation_split`` of the rows
        (before shuffling) or ``validation_data`` ``(x_val, y_val)`` is evaluated
        after each epoch as 'val_*'. ``callbacks``, a list of
        :class:`fastnn.callbacks.Callback` (EarlyStopping, ModelCheckpoint...), are
        called around the fit, each epoch and, when one overrides a batch hook, each
        batch, as Keras calls them. The loss of an epoch includes the layers'
        ``kernel_l2`` penalties. Returns a :class:`fastnn.callbacks.History` (also
        left as ``model.history``).
        """
        epochs, show_accuracy = keras1_fit_args(epochs, keras1)
        batch_size = check_positive_int("batch_size", batch_size)
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        X, y, sample_weight = self._check_data(x, y, sample_weight)
        if validation_data is None and validation_split:
            split = int(X.shape[0] * (1.0 - validation_split))
            if split == 0:
                raise ValueError("validation_split leaves no training rows")
            validation_data = (X[split:], y[split:])
            X, y = X[:split], y[:split]
            sample_weight = None if sample_weight is None else sample_weight[:split]
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_val, y_val)")
            validation_data = self._check_data(*validation_data)[:2]
        metric_names = self._metric_names(show_accuracy)
        n_samples = X.shape[0]
        callbacks = CallbackList(callbacks, self, {
            "epochs": epochs, "batch_size": batch_size, "samples": n_samples,
            "steps": -(-n_samples // batch_size), "verbose": verbose,
        })
        total_weight = n_samples if sample_weight is None else float(sample_weight.sum())
        if total_weight <= 0:
            raise ValueError("sample_weight sums to 0: there is nothing to fit")
        losses = np.empty(n_samples, X.dtype)
        self.stop_training = False
        callbacks.on_train_begin({})
        logs = {}
        try:
            for epoch in range(initial_epoch, epochs):
                callbacks.on_epoch_begin(epoch, {})
                started = time.perf_counter()
                saved = self._snapshot()  # restored if the epoch diverges
                order = (
                    self._rng.permutation(n_samples) if shuffle else np.arange(n_samples)
                )
                bar = progress_bar(verbose, epoch, epochs, -(-n_samples // batch_size))
                try:
                    with fit_threads(self._largest_gemm(min(batch_size, n_samples), X)):
                        run = run_epoch(
                            self, X, y, sample_weight, order, batch_size, losses,
                            "accuracy" in metric_names, bar,
                            callbacks if callbacks.batch_hooks else None,
                        )
                    loss = run.mean_loss(losses, sample_weight, order, total_weight)
                    if not np.isfinite(loss):
                        raise Diverged("loss", None, loss)
                except BaseException as error:  # KeyboardInterrupt too: close the bar
                    if bar is not None:
                        bar.close()
                    if not isinstance(error, Diverged):
                        raise
                    if not callbacks.stop_on_divergence:
                        raise self._diverged(error, epoch, saved) from None
                    self._restore(saved)  # TerminateOnNaN: stop, with these weights
                    for on_diverged in callbacks.stop_on_divergence:
                        on_diverged(epoch, error.batch)
                    break
                logs = {"loss": loss}
                if "accuracy" in metric_names:
                    logs["accuracy"] = run.correct / run.rows
                for name, function in self.metrics:
                    if name != "accuracy":
                        logs[name] = function(y, self.predict(X, batch_size))
                if validation_data is not None:
                    values = self._evaluate(*validation_data, batch_size, metric_names)
                    logs.update(("val_" + name, value) for name, value in values.items())
                seconds = time.perf_counter() - started
                report_epoch(verbose, bar, epoch, epochs, logs, seconds)
                callbacks.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        finally:  # the model keeps no reference to this fit's data
            release_data(self)
        callbacks.on_train_end(dict(logs))
        return callbacks.history

    def _diverged(self, diverged, epoch, saved):
        """Restore ``saved`` (the weights and optimizer state before the epoch) and
        return the ValueError for ``diverged``
        (a :class:`fastnn.models.epoch.Diverged`)."""
        where = f"epoch {epoch + 1}"
        if diverged.batch is not None:
            where += f", batch {diverged.batch + 1}"
        self._restore(saved)
        rate = self.optimizer.current_learning_rate()
        return ValueError(
            f"training diverged at {where}: the {diverged.what} became "
            f"{diverged.value} with learning rate {rate:g}. Lower the learning rate or "
            "scale the inputs; the weights and optimizer state were restored to their "
            "values before this epoch"
        )

    def _largest_gemm(self, batch_size, X=None):
        """Multiply-adds of the largest GEMM in a batch of ``batch_size`` rows: the
        batch times the largest weight matrix (but the first layer's, which is no GEMM,
        when ``X`` is sparse)."""
        # NOTE: a sparse X's first product is a compiled scatter, not BLAS; counting it
        # left BLAS two threads for the small GEMMs after it, which spin-wait: measured
        # 1.9 s against 0.78 s for 2 epochs of a 10000 x 50000 CSR into (64,) hidden.
        width, largest = self.input_dim, 0
        skip = sp.issparse(X)
        for layer in self.layers:
            if skip and layer.params:
                width, skip = layer.output_dim(width), False
                continue
            for shape in layer.param_shapes(width):
                if len(shape) == 2:
                    largest = max(largest, shape[0] * shape[1])
            width = layer.output_dim(width)
        return batch_size * largest

    def _snapshot(self):
        iterations, slots = self.optimizer.get_state()
        return self.flat_weights.copy(), iterations, [slot.copy() for slot in slots]

    def _restore(self, snapshot):
        params, iterations, slots = snapshot
        self.flat_weights[...] = params
        self.optimizer.set_state(iterations, slots, [self.flat_weights])

    def _metric_names(self, show_accuracy=False):
        names = [name for name, _ in self.metrics]
        if show_accuracy and "accuracy" not in names:
            names.insert(0, "accuracy")
        return names

    def _penalized(self):
        """``(W, dW, kernel_l2)`` for each kernel with an L2 penalty (views into the
        model's flat vectors)."""
        return [
            (layer.params[0], layer.grads[0], layer.kernel_l2)
            for layer in self.layers
            if getattr(layer, "kernel_l2", 0.0) and layer.params
        ]

    def train_on_batch(self, x, y, sample_weight=None):
        """One gradient step on ``(x, y)``; returns the loss before the step (and the
        metrics, as a list, when the model was compiled with some)."""
        X, y, sample_weight = self._check_data(x, y, sample_weight)
        losses = np.empty(X.shape[0], X.dtype)
        saved = self._snapshot()
        try:
            with training_threads():
                run = run_epoch(
                    self, X, y, sample_weight, np.arange(X.shape[0]), X.shape[0],
                    losses, bool(self.metrics), None,
                )
        except Diverged as diverged:
            raise self._diverged(diverged, 0, saved) from None
        finally:
            release_data(self)
        total_weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        loss = float(losses.sum(dtype=np.float64)) + run.penalty
        loss = loss / total_weight if total_weight > 0 else 0.0
        return self._logs(loss, run.correct / X.shape[0], X, y)

    def objective(self, x, y, sample_weight=None):
        """The training objective on all of ``(x, y)`` as a function of the weights,
        for full-batch optimizers such as L-BFGS.

        Returns ``fun``: ``fun(params)`` copies ``params`` (shape
        ``(count_params(),)``, the layout of :meth:`get_flat_weights`) into the model
        and returns ``(loss, grad)``: the weighted mean loss over all rows plus the
        kernels' L2 penalties (``kernel_l2 / 2 * sum(W**2) / total weight``), and its
        gradient as a new float64 vector. The data are checked once and the layers'
        calls bound once, on ``x`` itself (no copy of the rows); dropout is off, as the
        objective must be deterministic. After ``fun(p)`` the model holds ``p``.

        Examples
        --------
        >>> import numpy as np
        >>> from scipy.optimize import minimize
        >>> from fastnn import Sequential
        >>> from fastnn.layers import Dense
        >>> X = np.array([[-2.0, 4.0], [2.0, 2.6], [-0.4, 1.0], [1.0, -1.0]])
        >>> y = np.array([0, 1, 1, 0])
        >>> model = Sequential([Dense(3, "tanh", input_dim=2, kernel_l2=0.1),
        ...                     Dense(1, "sigmoid")], seed=0)
        >>> model.compile(loss="binary_crossentropy")
        >>> fun = model.objective(X, y)
        >>> result = minimize(fun, model.get_flat_weights(), jac=True, method="L-BFGS-B")
        >>> bool(result.fun < fun(model.get_flat_weights() * 0)[0])
        True
        """
        return full_batch_objective(self, x, y, sample_weight)


def keras1_fit_args(epochs, keras1):
    nb_epoch = keras1.pop("nb_epoch", None)
    show_accuracy = bool(keras1.pop("show_accuracy", False))
    if keras1:
        raise TypeError(f"fit got unexpected keyword arguments {sorted(keras1)}")
    if nb_epoch is not None:
        if epochs not in (1, nb_epoch):
            raise TypeError(f"epochs={epochs} and nb_epoch={nb_epoch} (Keras 1) disagree")
        epochs = nb_epoch
    return check_positive_int("epochs", epochs), show_accuracy
