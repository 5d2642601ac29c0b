"""Callbacks into :meth:`fastnn.Sequential.fit`, the :class:`History` it returns, and
its per-epoch report (a tqdm progress bar or one line)."""

import sys

__all__ = ["Callback", "History"]


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
    their ``'val_'`` twins to one value per epoch; ``epoch`` lists the epoch numbers."""

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


def check_callbacks(callbacks):
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)) or not all(
        isinstance(callback, Callback) for callback in callbacks
    ):
        raise TypeError("callbacks must be a list of fastnn.models.Callback")
    return list(callbacks)


def progress_bar(verbose, epoch, epochs, n_batches):
    if verbose != 1:
        return None
    from tqdm.auto import tqdm  # a dependency; imported when a bar is first shown

    return tqdm(total=n_batches, desc=f"Epoch {epoch + 1}/{epochs}", unit="batch",
                file=sys.stdout, leave=True, dynamic_ncols=True)


def report_epoch(verbose, bar, epoch, epochs, logs, seconds):
    text = " - ".join(f"{key}: {value:.4f}" for key, value in logs.items())
    if bar is not None:
        bar.set_postfix_str(text, refresh=False)
        bar.close()
    elif verbose in (1, 2):
        print(f"Epoch {epoch + 1}/{epochs} - {seconds:.2f}s - {text}", flush=True)
