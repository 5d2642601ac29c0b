"""``Sequential``: a Keras-style stack of layers with compile / fit / evaluate / predict.

The training loop allocates nothing per batch. Every weight of the model lives in one
flat vector (each layer's ``W`` and ``b`` are views into it), so the optimizer updates
all of them with one kernel call; mini-batches are gathered by index into buffers
sized once per batch size; every array operation goes through :mod:`fastnn.ops`.
"""

import sys
import time
from math import isfinite

import numpy as np
from sklearn.utils.validation import check_array

from fastnn import losses as losses_module
from fastnn import metrics as metrics_module
from fastnn import ops
from fastnn import optimizers as optimizers_module
from fastnn._checks import FLOATS, check_positive_int
from fastnn._threads import fit_threads, training_threads
from fastnn.layers import Layer, private_buffers

__all__ = ["Sequential", "History", "Callback"]


class Callback:
    """A hook into :meth:`Sequential.fit`, as Keras' callbacks: override any of
    ``on_train_begin(logs)``, ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)`` (``logs`` holds the epoch's 'loss' and metrics) and
    ``on_train_end(logs)``. ``self.model`` is the model being fitted; setting
    ``model.stop_training = True`` ends fit after the current epoch. Between epochs a
    callback may change the optimizer (e.g. ``model.optimizer.learning_rate``).

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import Sequential
    >>> from fastnn.layers import Dense
    >>> from fastnn.models import Callback
    >>> class StopBelow(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         self.model.stop_training = logs["loss"] < 0.5
    >>> X, y = np.array([[0.0], [1.0]]), np.array([0, 1])
    >>> model = Sequential([Dense(1, activation="sigmoid", input_dim=1)], seed=0)
    >>> model.compile(optimizer="sgd", loss="binary_crossentropy")
    >>> history = model.fit(X, y, epochs=5000, verbose=0, callbacks=[StopBelow()])
    >>> len(history.epoch) < 5000 and history.history["loss"][-1] < 0.5
    True
    """

    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


class History:
    """What :meth:`Sequential.fit` returns: ``history`` maps 'loss', each metric and
    their 'val_' twins to one value per epoch; ``epoch`` lists the epoch numbers."""

    def __init__(self, params):
        self.history = {}
        self.epoch = []
        self.params = params

    def _append(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class _Diverged(Exception):
    """Raised inside an epoch: ``what`` ('gradient', 'weights' or 'loss') became
    ``value`` at ``batch`` (None for the epoch's loss)."""

    def __init__(self, what, batch, value):
        super().__init__(what, batch, value)
        self.what, self.batch, self.value = what, batch, value


def _non_finite(vector):
    return not np.isfinite(vector).all()


class _Batches:
    """Mini-batches of one size: the gathered X, y and weights, the loss gradient, and
    the layers' calls bound to these buffers (``runs_forward`` fills ``output``,
    ``runs_backward`` goes from ``grad`` to every parameter gradient)."""

    def __init__(self, n_rows, X, y, sample_weight, n_outputs):
        self.X = np.empty((n_rows, X.shape[1]), X.dtype)
        self.y = np.empty((n_rows, *y.shape[1:]), y.dtype)
        self.w = None if sample_weight is None else np.empty(n_rows, X.dtype)
        self.grad = np.empty((n_rows, n_outputs), X.dtype)
        self.runs_forward = self.output = self.runs_backward = None

    def bind(self, binds_forward, binds_backward, bind_first):
        """Bind every layer's forward and backward calls to these buffers, once."""
        runs_forward, A = [], self.X
        for bind in binds_forward:
            runs, A = bind(A, True)
            runs_forward += runs
        runs_backward, dA = [], self.grad
        for bind in binds_backward:
            runs, dA = bind(dA, True)
            runs_backward += runs
        if bind_first is not None:
            runs, _ = bind_first(dA, False)
            runs_backward += runs
        # NOTE: set together at the end: an interrupted bind leaves the batch unbound
        # (runs_forward None), never half bound.
        self.output, self.runs_backward = A, runs_backward
        self.runs_forward = runs_forward  # last: marks the batch bound


class Sequential:
    """A linear stack of layers, trained by backpropagation.

    Parameters
    ----------
    layers : list of :class:`fastnn.layers.Layer`, optional
    seed : int, optional
        Seeds the initial weights, the shuffling and the dropout masks: the same seed
        gives the same model. None draws fresh entropy.
    name : str, optional

    The model takes the dtype of the first data it sees (float32 or float64; other
    numbers become float32) and keeps it: later inputs are converted to it.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import Sequential
    >>> from fastnn.layers import Dense
    >>> X = np.array([[-2.0, 4.0], [2.0, 2.6], [-0.4, 1.0]], np.float32)
    >>> y = np.array([0, 1, 1])
    >>> model = Sequential([Dense(1, activation="sigmoid", input_dim=2)], seed=0)
    >>> model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    >>> history = model.fit(X, y, epochs=300, batch_size=3, verbose=0)
    >>> model.evaluate(X, y, verbose=0)[1]
    1.0
    """

    def __init__(self, layers=None, seed=None, name="sequential"):
        self.layers = []
        self.name = name
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self.dtype = None
        self.optimizer = self.loss = None
        self.metrics = []
        self._params = self._grads = None
        self._batches = {}
        self.stop_training = False
        for layer in layers or []:
            self.add(layer)

    # ---------------------------------------------------------------- structure

    def add(self, layer):
        """Append ``layer`` to the stack."""
        if not isinstance(layer, Layer):
            raise TypeError(f"add takes a fastnn Layer, got {type(layer).__name__}")
        if any(layer is other for other in self.layers):
            raise ValueError(f"{layer.name} is already in the model")
        if self.built:
            raise ValueError("the model is built; add layers before fitting it")
        self.layers.append(layer)

    @property
    def built(self):
        return self.dtype is not None

    @property
    def input_dim(self):
        return self.layers[0].input_dim if self.layers else None

    def _widths(self, input_dim=None):
        """The output width of every layer for inputs of ``input_dim`` (or declared)."""
        width = input_dim or self.input_dim
        if width is None:
            raise ValueError(
                "the first layer needs input_dim (e.g. Dense(64, input_dim=20)) "
                "before the model can be built or summarised without data"
            )
        widths = []
        for layer in self.layers:
            width = layer.output_dim(width)
            widths.append(width)
        return widths

    def build(self, input_dim=None, dtype=np.float32):
        """Create every layer's weights (inputs of width ``input_dim``, ``dtype``)."""
        if not self.layers:
            raise ValueError("the model has no layers; add some first")
        dtype = np.dtype(dtype)
        if dtype not in FLOATS:
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
        if self.built:
            if dtype != self.dtype or (input_dim and input_dim != self.input_dim):
                raise ValueError(
                    f"the model is built for width {self.input_dim} {self.dtype}"
                )
            return self
        width = input_dim or self.input_dim
        self._widths(width)  # raises without a width
        for layer in self.layers:
            layer.build(width, dtype, self._rng)
            width = layer.output_dim(width)
        self._pack(dtype)
        self.dtype = dtype
        return self

    def _pack(self, dtype):
        """Move every parameter into one flat vector (and every gradient into another)."""
        for layer in self.layers:
            owner = layer._model() if layer._model is not None else None
            if owner is not None and owner is not self:
                raise ValueError(
                    f"{layer.name} already belongs to another built model; fastnn does "
                    "not share layers between models (use a new layer, and set_weights "
                    "to copy weights)"
                )
        total = sum(layer.count_params() for layer in self.layers)
        self._params, self._grads = np.empty(total, dtype), np.zeros(total, dtype)
        offset = 0
        for layer in self.layers:
            params, grads = [], []
            for param in layer.params:
                end = offset + param.size
                view = self._params[offset:end].reshape(param.shape)
                view[...] = param
                params.append(view)
                grads.append(self._grads[offset:end].reshape(param.shape))
                offset = end
            layer._attach(params, grads, self)

    @property
    def n_outputs(self):
        return self._widths()[-1]

    def count_params(self):
        if self.built:
            return int(self._params.size)
        return _count_params(self)

    def summary(self, print_fn=print):
        """Print each layer's name, type, output shape and parameter count."""
        widths = self._widths()
        rows = [("Layer (type)", "Output Shape", "Param #")]
        width = self.input_dim
        for layer, out in zip(self.layers, widths):
            rows.append((
                f"{layer.name} ({type(layer).__name__})",
                f"(None, {out})",
                str(_layer_params(layer, width)),
            ))
            width = out
        sizes = [max(len(row[i]) for row in rows) + 3 for i in range(3)]
        rule = "=" * sum(sizes)
        lines = [f'Model: "{self.name}"', rule]
        for index, row in enumerate(rows):
            lines.append("".join(cell.ljust(size) for cell, size in zip(row, sizes)))
            lines.append(rule if index in (0, len(rows) - 1) else "-" * sum(sizes))
        lines.append(f"Total params: {self.count_params():,}")
        print_fn("\n".join(lines))

    # ------------------------------------------------------------------ weights

    def get_weights(self):
        """Copies of every layer's weights, layer after layer."""
        self._require_built("get_weights")
        return [weight for layer in self.layers for weight in layer.get_weights()]

    def set_weights(self, weights):
        """Set the weights from a list shaped like :meth:`get_weights`."""
        if not self.built:
            first = np.asarray(weights[0]) if len(weights) else None
            if first is None or first.ndim != 2:
                raise ValueError("set_weights on an unbuilt model needs the first kernel")
            self.build(first.shape[0], first.dtype if first.dtype in FLOATS else np.float32)
        counts = [len(layer.params) for layer in self.layers]
        if len(weights) != sum(counts):
            raise ValueError(f"the model takes {sum(counts)} weight arrays, got {len(weights)}")
        start = 0
        for layer, count in zip(self.layers, counts):
            layer.set_weights(list(weights[start:start + count]))
            start += count

    def _require_built(self, what):
        if not self.built:
            raise ValueError(
                f"{what}: the model is not built yet; fit it, or call build(input_dim)"
            )

    # ---------------------------------------------------------------- compiling

    def compile(self, optimizer="sgd", loss=None, metrics=None):
        """Choose the optimizer ('sgd', 'adam' or an instance), the loss (a name from
        :data:`fastnn.losses.NAMES`) and the metrics reported ('accuracy' or callables)."""
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
        """The layers' steps on the training path, as bindings (see :mod:`fastnn.layers`).

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
        return (
            [step.bind_forward for step in steps],
            [step.bind_backward for step in reversed(steps[first + 1:])],
            steps[first].bind_backward if with_params else None,
            self.loss.from_logits if fused else self.loss,
            threshold,
        )

    # -------------------------------------------------------------- checking data

    def _check_x(self, x, name="x"):
        if not self.layers:
            raise ValueError("the model has no layers")
        x = check_array(
            x, dtype=self.dtype if self.built else list(FLOATS), order="C",
            input_name=name, estimator="Sequential",
        )
        if x.dtype not in FLOATS:
            x = x.astype(np.float32)
        if not self.built:
            self.build(x.shape[1], x.dtype)
        if x.shape[1] != self.input_dim:
            raise ValueError(
                f"{name} has {x.shape[1]} features, but the model expects "
                f"{self.input_dim}"
            )
        return x

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
        after each epoch as 'val_*'. ``callbacks``, a list of :class:`Callback`, are
        called around each epoch. The loss of an epoch includes the layers'
        ``kernel_l2`` penalties. Returns a :class:`History`.
        """
        epochs, show_accuracy = _keras1_fit_args(epochs, keras1)
        batch_size = check_positive_int("batch_size", batch_size)
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        callbacks = _check_callbacks(callbacks)
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
        history = History({"epochs": epochs, "batch_size": batch_size,
                           "samples": X.shape[0], "verbose": verbose})
        n_samples = X.shape[0]
        total_weight = n_samples if sample_weight is None else float(sample_weight.sum())
        if total_weight <= 0:
            raise ValueError("sample_weight sums to 0: there is nothing to fit")
        losses = np.empty(n_samples, X.dtype)
        self.stop_training = False
        for callback in callbacks:
            callback.set_model(self)
            callback.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            for callback in callbacks:
                callback.on_epoch_begin(epoch, {})
            started = time.perf_counter()
            saved = self._snapshot()  # restored if the epoch diverges
            order = (
                self._rng.permutation(n_samples) if shuffle else np.arange(n_samples)
            )
            bar = _progress(verbose, epoch, epochs, -(-n_samples // batch_size))
            try:
                with fit_threads(self._largest_gemm(min(batch_size, n_samples))):
                    correct, penalty = self._epoch(
                        X, y, sample_weight, order, batch_size, losses,
                        "accuracy" in metric_names, bar,
                    )
            except BaseException as error:  # KeyboardInterrupt too: close the bar
                if bar is not None:
                    bar.close()
                if isinstance(error, _Diverged):
                    raise self._diverged(error, epoch, saved) from None
                raise
            # NOTE: summed in float64: in float32 large finite losses overflow the sum.
            loss = (float(losses.sum(dtype=np.float64)) + penalty) / total_weight
            if not np.isfinite(loss):
                if bar is not None:
                    bar.close()
                raise self._diverged(_Diverged("loss", None, loss), epoch, saved)
            logs = {"loss": loss}
            if "accuracy" in metric_names:
                logs["accuracy"] = correct / n_samples
            for name, function in self.metrics:
                if name != "accuracy":
                    logs[name] = function(y, self.predict(X, batch_size))
            if validation_data is not None:
                values = self._evaluate(*validation_data, batch_size, metric_names)
                logs.update(("val_" + name, value) for name, value in values.items())
            history._append(epoch, logs)
            _report(verbose, bar, epoch, epochs, logs, time.perf_counter() - started)
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for callback in callbacks:
            callback.on_train_end({})
        return history

    def _diverged(self, diverged, epoch, saved):
        """Restore ``saved`` (the weights and optimizer state before the epoch) and
        return the ValueError for ``diverged`` (a :class:`_Diverged`)."""
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

    def _largest_gemm(self, batch_size):
        """Multiply-adds of the largest GEMM in a batch of ``batch_size`` rows: the
        batch times the largest weight matrix."""
        width, largest = self.input_dim, 0
        for layer in self.layers:
            for shape in layer.param_shapes(width):
                if len(shape) == 2:
                    largest = max(largest, shape[0] * shape[1])
            width = layer.output_dim(width)
        return batch_size * largest

    def _snapshot(self):
        iterations, slots = self.optimizer.get_state()
        return self._params.copy(), iterations, [slot.copy() for slot in slots]

    def _restore(self, snapshot):
        params, iterations, slots = snapshot
        self._params[...] = params
        self.optimizer.set_state(iterations, slots, [self._params])

    def _metric_names(self, show_accuracy=False):
        names = [name for name, _ in self.metrics]
        if show_accuracy and "accuracy" not in names:
            names.insert(0, "accuracy")
        return names

    def _epoch(self, X, y, sample_weight, order, batch_size, losses, count_correct, bar):
        """One pass over the rows in ``order``; returns the number predicted right and
        the summed L2 penalty, sum over batches of sum(kernel_l2 * W**2) / 2.

        The layers' calls are bound once per batch size (:meth:`_Batches.bind`); each
        batch then gathers its rows into the bound buffers and runs the calls.
        """
        binds_forward, binds_backward, bind_first, loss, threshold = self._plan()
        apply = self.optimizer.apply
        params, grads = [self._params], [self._grads]
        params_squared, _ = ops.bind(ops.sum_of_squares, self._params)
        grads_squared, _ = ops.bind(ops.sum_of_squares, self._grads)
        penalized = self._penalized()
        take_rows = ops.take_rows
        n_samples = X.shape[0]
        correct = 0
        penalty = 0.0
        for start in range(0, n_samples, batch_size):
            stop = min(start + batch_size, n_samples)
            rows = order[start:stop]
            batch = self._batch_buffers(stop - start, X, y, sample_weight)
            if batch.runs_forward is None:
                batch.bind(binds_forward, binds_backward, bind_first)
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
                correct += _n_correct(batch.output, y_batch, threshold)
            loss(batch.output, y_batch, weights, scale, True, losses[start:stop],
                 batch.grad)
            if bar is not None:
                bar.update(1)
            if scale == 0.0 or bind_first is None:  # nothing to learn from this batch
                continue
            for run in batch.runs_backward:
                run()
            if penalized:
                penalty += _add_penalty(penalized, scale)
            # NOTE: divergence is caught per batch, before a NaN or inf can enter the
            # weights: a non-finite gradient stops training before the step (fit then
            # restores the state from before the epoch). A sum of squares is finite
            # only if every term is, so one bound BLAS dot (about 0.5 us) stands in for
            # isfinite; when it overflows on finite values, the exact check decides.
            # The step itself can overflow only through a huge learning rate, so the
            # weights are checked after it the same way.
            if not isfinite(grads_squared()) and _non_finite(self._grads):
                raise _Diverged("gradient", start // batch_size, "NaN or inf")
            apply(params, grads)
            if not isfinite(params_squared()) and _non_finite(self._params):
                raise _Diverged("weights", start // batch_size, "NaN or inf")
        return correct, 0.5 * penalty

    def _penalized(self):
        """``(W, dW, kernel_l2)`` for each kernel with an L2 penalty (views into the
        model's flat vectors)."""
        return [
            (layer.params[0], layer.grads[0], layer.kernel_l2)
            for layer in self.layers
            if getattr(layer, "kernel_l2", 0.0) and layer.params
        ]

    def _batch_buffers(self, n_rows, X, y, sample_weight):
        batch = self._batches.get(n_rows)
        if (
            batch is None
            or batch.y.dtype != y.dtype
            or batch.y.shape[1:] != y.shape[1:]
            or (batch.w is None) != (sample_weight is None)
        ):
            if len(self._batches) >= 4:
                self._batches.clear()
            batch = self._batches[n_rows] = _Batches(
                n_rows, X, y, sample_weight, self.n_outputs
            )
        return batch

    def train_on_batch(self, x, y, sample_weight=None):
        """One gradient step on ``(x, y)``; returns the loss before the step (and the
        metrics, as a list, when the model was compiled with some)."""
        X, y, sample_weight = self._check_data(x, y, sample_weight)
        losses = np.empty(X.shape[0], X.dtype)
        saved = self._snapshot()
        try:
            with training_threads():
                correct, penalty = self._epoch(
                    X, y, sample_weight, np.arange(X.shape[0]), X.shape[0], losses,
                    bool(self.metrics), None,
                )
        except _Diverged as diverged:
            raise self._diverged(diverged, 0, saved) from None
        total_weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        loss = float(losses.sum(dtype=np.float64)) + penalty
        loss = loss / total_weight if total_weight > 0 else 0.0
        return self._logs(loss, correct / X.shape[0], X, y)

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
        X, y, sample_weight = self._check_data(x, y, sample_weight)
        if X.shape[0] == 0:
            raise ValueError("the objective needs at least one sample")
        total_weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        if total_weight <= 0:
            raise ValueError("sample_weight sums to 0: the objective is undefined")
        scale = 1.0 / total_weight
        binds_forward, binds_backward, bind_first, loss, _ = self._plan()
        runs_forward, A = [], X
        for bind in binds_forward:
            runs, A = bind(A, False)
            runs_forward += runs
        grad = np.empty(A.shape, X.dtype)
        runs_backward, dA = [], grad
        for bind in binds_backward:
            runs, dA = bind(dA, True)
            runs_backward += runs
        if bind_first is not None:
            runs_backward += bind_first(dA, False)[0]
        else:
            self._grads[...] = 0
        losses = np.empty(X.shape[0], X.dtype)
        penalized = self._penalized()
        params = self._params

        def fun(weights):
            params[...] = weights
            with training_threads():
                for run in runs_forward:
                    run()
                loss(A, y, sample_weight, scale, True, losses, grad)
                for run in runs_backward:
                    run()
                penalty = _add_penalty(penalized, scale) if penalized else 0.0
            value = (float(losses.sum(dtype=np.float64)) + 0.5 * penalty) * scale
            return value, self._grads.astype(np.float64)

        return fun

    def get_flat_weights(self):
        """A copy of every weight in one vector (each layer's ``W`` then ``b``, layer
        after layer): the point an optimizer such as :meth:`objective` works on."""
        self._require_built("get_flat_weights")
        return self._params.copy()

    def set_flat_weights(self, weights):
        """Set every weight from one vector shaped like :meth:`get_flat_weights`."""
        self._require_built("set_flat_weights")
        weights = np.asarray(weights)
        if weights.shape != self._params.shape or weights.dtype.kind not in "iuf":
            raise ValueError(f"weights must be {self._params.size} real numbers, "
                             f"got shape {weights.shape}")
        if not np.isfinite(weights).all():
            raise ValueError("weights hold NaN or inf")
        self._params[...] = weights

    def test_on_batch(self, x, y, sample_weight=None):
        """The loss (and metrics) on ``(x, y)`` without updating the weights."""
        X, y, sample_weight = self._check_data(x, y, sample_weight)
        values = self._evaluate(X, y, X.shape[0], self._metric_names(), sample_weight)
        return self._as_result(values)

    def _logs(self, loss, accuracy, X, y):
        values = {"loss": loss}
        for name, function in self.metrics:
            values[name] = accuracy if name == "accuracy" else function(y, self.predict(X))
        return self._as_result(values)

    @staticmethod
    def _as_result(values):
        return values["loss"] if len(values) == 1 else list(values.values())

    # --------------------------------------------------------------- inference

    def evaluate(self, x, y, batch_size=32, verbose=1, sample_weight=None,
                 show_accuracy=False):
        """The mean loss on ``(x, y)``, or ``[loss, *metrics]`` when the model was
        compiled with metrics (``show_accuracy=True``, Keras 1, adds accuracy)."""
        X, y, sample_weight = self._check_data(x, y, sample_weight)
        batch_size = check_positive_int("batch_size", batch_size)
        names = self._metric_names(show_accuracy)
        values = self._evaluate(X, y, batch_size, names, sample_weight)
        if verbose:
            print(" - ".join(f"{key}: {value:.4f}" for key, value in values.items()))
        return self._as_result(values)

    def _evaluate(self, X, y, batch_size, metric_names, sample_weight=None):
        binds_forward, _, _, loss, threshold = self._plan()
        n_samples = X.shape[0]
        if n_samples == 0:
            raise ValueError("cannot evaluate on zero samples")
        losses = np.empty(n_samples, X.dtype)
        correct = 0
        with training_threads():
            for start, stop, A in _forward_chunks(binds_forward, X, batch_size):
                weights = None if sample_weight is None else sample_weight[start:stop]
                loss(A, y[start:stop], weights, 1.0, False, losses[start:stop], None)
                if "accuracy" in metric_names:
                    correct += _n_correct(A, y[start:stop], threshold)
        total_weight = n_samples if sample_weight is None else float(sample_weight.sum())
        if total_weight <= 0:
            raise ValueError("sample_weight sums to 0: the mean loss is undefined")
        values = {"loss": float(losses.sum(dtype=np.float64)) / total_weight}
        for name, function in self.metrics:
            if name != "accuracy":
                values[name] = function(y, self.predict(X, batch_size))
        if "accuracy" in metric_names:
            values = {"loss": values.pop("loss"), "accuracy": correct / n_samples, **values}
        return values

    def predict(self, x, batch_size=32, verbose=0):
        """The network's output for ``x``, shape (n_samples, n_outputs).

        Safe to call from several threads at once on one model (each call binds the
        layers to its own buffers), though not while the model is being fitted.
        """
        if not self.built and self.input_dim is None:
            self._require_built("predict")
        X = self._check_x(x)
        batch_size = check_positive_int("batch_size", batch_size)
        steps = [step.bind_forward for layer in self.layers for step in layer._steps()]
        out = np.empty((X.shape[0], self.n_outputs), X.dtype)
        with training_threads():
            for start, stop, A in _forward_chunks(steps, X, batch_size):
                out[start:stop] = A
        return check_finite_output(out)

    def save(self, path):
        """Save the architecture (JSON), weights and optimizer state (npz) to ``path``;
        :func:`fastnn.load_model` reads it back without unpickling anything."""
        from fastnn.saving import save_model

        save_model(self, path)

    def __repr__(self):
        return f"Sequential({self.layers!r})"


# ------------------------------------------------------------------------ helpers


def _forward_chunks(binds_forward, X, batch_size):
    """Yield ``(start, stop, output)`` for the inference forward of each chunk of
    ``batch_size`` rows of ``X``; ``output`` is overwritten by the next chunk.

    The layers are bound once per chunk size, to an input buffer the rows are copied
    into and to buffers of this call alone (:func:`fastnn.layers.private_buffers`),
    so concurrent calls on one model do not share any array.
    """
    bound = {}
    for start in range(0, X.shape[0], batch_size):
        stop = min(start + batch_size, X.shape[0])
        chunk = bound.get(stop - start)
        if chunk is None:
            A0 = A = np.empty((stop - start, X.shape[1]), X.dtype)
            runs = []
            with private_buffers():
                for bind in binds_forward:
                    more, A = bind(A, False)
                    runs += more
            chunk = bound[stop - start] = (A0, runs, A)
        A0, runs, A = chunk
        A0[...] = X[start:stop]
        for run in runs:
            run()
        yield start, stop, A


def _keras1_fit_args(epochs, keras1):
    nb_epoch = keras1.pop("nb_epoch", None)
    show_accuracy = bool(keras1.pop("show_accuracy", False))
    if keras1:
        raise TypeError(f"fit got unexpected keyword arguments {sorted(keras1)}")
    if nb_epoch is not None:
        if epochs not in (1, nb_epoch):
            raise TypeError(f"epochs={epochs} and nb_epoch={nb_epoch} (Keras 1) disagree")
        epochs = nb_epoch
    return check_positive_int("epochs", epochs), show_accuracy


def _add_penalty(penalized, scale):
    """dW += kernel_l2 * scale * W for each penalized kernel; returns
    sum(kernel_l2 * W**2) over them (the weights before this batch's update)."""
    return sum(ops.l2_penalty(W, dW, l2, scale) for W, dW, l2 in penalized)


def _check_callbacks(callbacks):
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)) or not all(
        isinstance(callback, Callback) for callback in callbacks
    ):
        raise TypeError("callbacks must be a list of fastnn.models.Callback")
    return list(callbacks)


def check_finite_output(Y):
    """``Y``, the network's output for finite input, if it is finite; else a
    ValueError (weights that are finite but huge, from a diverged fit, overflow)."""
    # NOTE: a sum is finite only if every term is, so one reduction stands in for
    # isfinite; only an overflowing sum of finite values takes the full test.
    if not isfinite(Y.sum()) and not np.isfinite(Y).all():
        raise ValueError(
            "the network's output is not finite for this finite input: its weights "
            "are too large for it (did training diverge? lower the learning rate or "
            "scale the features, and fit again)"
        )
    return Y


def _n_correct(A, y, threshold):
    """Right predictions in a batch: the argmax of each row (``threshold`` None), or
    each output on the right side of ``threshold`` (binary and multi-label; a row of
    k outputs counts its fraction of right outputs, as Keras' binary accuracy)."""
    if threshold is not None:
        return int(np.count_nonzero((A > threshold) == (y > 0.5))) / y.shape[1]
    if y.ndim == 1:
        return int(np.count_nonzero(A.argmax(axis=1) == y))
    return int(np.count_nonzero(A.argmax(axis=1) == y.argmax(axis=1)))


def _layer_params(layer, input_dim):
    if input_dim is None:
        return 0
    return sum(int(np.prod(shape)) for shape in layer.param_shapes(input_dim))


def _count_params(model):
    total, width = 0, model.input_dim
    for layer in model.layers:
        total += _layer_params(layer, width)
        width = layer.output_dim(width) if width else None
    return total


def _progress(verbose, epoch, epochs, n_batches):
    if verbose != 1:
        return None
    from tqdm.auto import tqdm  # a dependency; imported when a bar is first shown

    return tqdm(total=n_batches, desc=f"Epoch {epoch + 1}/{epochs}", unit="batch",
                file=sys.stdout, leave=True, dynamic_ncols=True)


def _report(verbose, bar, epoch, epochs, logs, seconds):
    text = " - ".join(f"{key}: {value:.4f}" for key, value in logs.items())
    if bar is not None:
        bar.set_postfix_str(text, refresh=False)
        bar.close()
    elif verbose in (1, 2):
        print(f"Epoch {epoch + 1}/{epochs} - {seconds:.2f}s - {text}", flush=True)
