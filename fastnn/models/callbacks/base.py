"""The hooks of :meth:`fastnn.Sequential.fit` as Keras defines them: :class:`Callback`,
the :class:`History` every fit records, :class:`LambdaCallback` and
:class:`TerminateOnNaN`, and :class:`CallbackList`, which calls a fit's callbacks in
order (History last, as Keras)."""

import math
import weakref

__all__ = ["Callback", "CallbackList", "History", "LambdaCallback", "TerminateOnNaN"]

_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_train_batch_begin",
                "on_train_batch_end")


class Callback:
    """A hook into :meth:`Sequential.fit`, as Keras' callbacks: override any of
    ``on_train_begin(logs)``, ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_train_batch_begin(batch, logs)``,
    ``on_train_batch_end(batch, logs)`` (or Keras 1's ``on_batch_begin`` and
    ``on_batch_end``, which they call) and ``on_train_end(logs)``.

    ``logs`` of an epoch's end hold its 'loss', the metrics and their ``'val_'`` twins;
    a callback may add keys (History records them). ``logs`` of a batch's end hold
    the epoch's 'loss' so far, the mean over its batches up to this one, as Keras
    2.2 and later (Keras 1 gave the batch's own loss). ``self.model`` is the model
    being fitted and ``self.params`` the fit's settings ('epochs', 'batch_size',
    'samples', 'steps', 'verbose'); setting ``model.stop_training = True`` ends fit
    after the current batch (within a batch hook) or epoch. Between epochs a
    callback may change the optimizer (e.g. ``model.optimizer.learning_rate``).

    A fit whose callbacks leave the batch hooks alone runs each epoch in the
    compiled loop; when one overrides them, the loop returns to Python after every
    batch to call them.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import Sequential
    >>> from fastnn.callbacks import Callback
    >>> from fastnn.layers import Dense
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
    params = None

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        """Keras 1's name of :meth:`on_train_batch_begin`."""

    def on_batch_end(self, batch, logs=None):
        """Keras 1's name of :meth:`on_train_batch_end`."""

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_train_end(self, logs=None):
        pass

    def _implements_train_batch_hooks(self):
        """Whether this callback overrides a batch hook (fit then calls them)."""
        return any(_overrides(self, name) for name in _BATCH_HOOKS)


def _overrides(callback, name):
    """Whether ``callback``'s ``name`` is its own (a subclass's method or an
    instance attribute), not :class:`Callback`'s."""
    method = getattr(callback, name)
    return getattr(method, "__func__", method) is not getattr(Callback, name)


class History(Callback):
    """What :meth:`Sequential.fit` returns (and leaves as ``model.history``):
    ``history`` maps 'loss', each metric and their ``'val_'`` twins (and any key a
    callback adds, such as 'learning_rate') to one value per epoch; ``epoch`` lists
    the epoch numbers; ``params`` are the fit's settings."""

    def __init__(self):
        self.history = {}
        self.epoch = []
        self._model = None

    # NOTE: the model keeps its History (``model.history``), so a strong reference
    # back would make every fitted model a reference cycle, freed only when the
    # garbage collector runs rather than when the model is dropped (measured: the
    # RSS of repeated fits crept by 1.2 KB a fit for 2,000 fits).
    @property
    def model(self):
        """The model being fitted (held weakly: None once it is gone)."""
        return None if self._model is None else self._model()

    def set_model(self, model):
        self._model = weakref.ref(model)

    def __getstate__(self):  # a weak reference does not pickle: the model itself does
        return {**self.__dict__, "_model": self.model}

    def __setstate__(self, state):
        model = state.pop("_model")
        self.__dict__.update(state)
        self._model = None if model is None else weakref.ref(model)

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class LambdaCallback(Callback):
    """A callback of plain functions, as Keras' ``LambdaCallback``: each argument
    given replaces that hook (same arguments: ``on_epoch_end(epoch, logs)``,
    ``on_train_batch_end(batch, logs)``, ``on_train_begin(logs)``...).

    Parameters
    ----------
    on_epoch_begin, on_epoch_end : callable(epoch, logs), optional
    on_train_batch_begin, on_train_batch_end : callable(batch, logs), optional
    on_batch_begin, on_batch_end : callable(batch, logs), optional
        Keras 1's names of the batch hooks.
    on_train_begin, on_train_end : callable(logs), optional

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import Sequential
    >>> from fastnn.callbacks import LambdaCallback
    >>> from fastnn.layers import Dense
    >>> batches = []
    >>> count = LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(batch))
    >>> model = Sequential([Dense(1, input_dim=2)], seed=0)
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> _ = model.fit(np.ones((10, 2)), np.ones(10), batch_size=4, epochs=2, verbose=0,
    ...               callbacks=[count])
    >>> batches
    [0, 1, 2, 0, 1, 2]
    """

    _HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end",
              *_BATCH_HOOKS)

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_batch_begin=None, on_batch_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None):
        given = locals()
        for name in self._HOOKS:
            function = given[name]
            if function is None:
                continue
            if not callable(function):
                raise TypeError(f"LambdaCallback's {name} must be callable, got "
                                f"{type(function).__name__}")
            setattr(self, name, function)


class TerminateOnNaN(Callback):
    """Stop training when the loss becomes NaN or inf, as Keras' ``TerminateOnNaN``.

    Without it, fastnn's fit raises a ValueError when an epoch diverges (a NaN or
    inf in a gradient, the weights or the loss). With it, fit prints Keras' message
    ("Batch 3: Invalid loss, terminating training", or "Epoch 4: ..." when the
    epoch's mean loss is what overflowed) and returns the History of the
    epochs before; the weights and optimizer state are those before the epoch that
    diverged (fastnn catches the NaN before it enters the weights, where Keras
    keeps the NaN weights and records the failed epoch).

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import Sequential
    >>> from fastnn.callbacks import TerminateOnNaN
    >>> from fastnn.layers import Dense
    >>> from fastnn.optimizers import SGD
    >>> X = np.array([[1e3], [-1e3]], np.float32)
    >>> model = Sequential([Dense(1, input_dim=1)], seed=0)
    >>> model.compile(optimizer=SGD(learning_rate=10.0), loss="mse")
    >>> history = model.fit(X, X, epochs=20, verbose=0, callbacks=[TerminateOnNaN()])
    Epoch 4: Invalid loss, terminating training
    >>> len(history.epoch), bool(np.isfinite(model.get_flat_weights()).all())
    (3, True)
    """

    def on_diverged(self, epoch, batch):
        """Called by fit when epoch ``epoch`` diverged at ``batch`` (None: its
        mean loss was not finite): print Keras' message and stop."""
        where = f"Batch {batch}" if batch is not None else f"Epoch {epoch + 1}"
        print(f"{where}: Invalid loss, terminating training", flush=True)
        self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.on_diverged(None, batch)

    def _implements_train_batch_hooks(self):
        return False  # fit reports a divergence without them: on_diverged


class CallbackList:
    """The callbacks of one fit, each set up for ``model`` and ``params``, with the
    :class:`History` (``history``) last, as Keras adds it; calls each hook on them
    in order. ``batch_hooks``: whether one overrides a batch hook."""

    def __init__(self, callbacks, model, params):
        if callbacks is None:
            callbacks = []
        if not isinstance(callbacks, (list, tuple)) or not all(
            isinstance(callback, Callback) for callback in callbacks
        ):
            raise TypeError("callbacks must be a list of fastnn.callbacks.Callback")
        self.history = History()
        self.callbacks = [*callbacks, self.history]
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(params)
        self.batch_hooks = any(
            callback._implements_train_batch_hooks() for callback in callbacks
        )
        # what fit calls instead of raising when an epoch diverges
        self.stop_on_divergence = [callback.on_diverged for callback in callbacks
                                   if isinstance(callback, TerminateOnNaN)]

    def on_train_begin(self, logs=None):
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        for callback in self.callbacks:
            callback.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        for callback in self.callbacks:
            callback.on_train_batch_end(batch, logs)

    def on_train_end(self, logs=None):
        for callback in self.callbacks:
            callback.on_train_end(logs)
