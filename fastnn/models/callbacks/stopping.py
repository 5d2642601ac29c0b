"""Keras' ``EarlyStopping``: stop a fit when a monitored quantity stops improving,
and optionally go back to the weights of its best epoch."""

from fastnn.models.callbacks.base import Callback
from fastnn.models.callbacks.monitor import (
    Monitor,
    check_count,
    check_number,
    check_verbose,
)

__all__ = ["EarlyStopping"]


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has stopped improving, as Keras'
    ``EarlyStopping``.

    Parameters
    ----------
    monitor : str, default 'val_loss'
        A key of the epoch's logs. A fit whose logs lack it warns (Keras' message)
        each epoch and goes on.
    min_delta : float, default 0
        A change smaller than ``|min_delta|`` is no improvement.
    patience : int >= 0, default 0
        Epochs without improvement after which training stops.
    verbose : int, default 0
        1 prints the epoch it stopped at and the best epoch restored.
    mode : {'auto', 'min', 'max'}, default 'auto'
        'auto' maximizes a name holding 'acc' and minimizes any other (Keras 2's
        rule; Keras 3 looks the metric up and refuses a name it cannot place).
        Another mode is a ValueError (Keras warns and uses 'auto').
    baseline : float, optional
        The value to beat: while no epoch beats it, the wait is not reset, so a fit
        that never reaches it stops after ``patience`` epochs.
    restore_best_weights : bool, default False
        At the end of the fit (stopped early or not), set the weights of the best
        epoch, as Keras 3 does.
    start_from_epoch : int >= 0, default 0
        Epochs of warm-up before improvement is watched.

    Attributes
    ----------
    stopped_epoch : int
        The epoch training stopped at (0 if it did not stop early).
    best, best_epoch : float, int
        The best value seen and its epoch.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import Sequential
    >>> from fastnn.callbacks import EarlyStopping
    >>> from fastnn.layers import Dense
    >>> from fastnn.optimizers import Adam
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    >>> model = Sequential([Dense(1, "sigmoid", input_dim=3)], seed=0)
    >>> model.compile(optimizer=Adam(learning_rate=0.1), loss="binary_crossentropy")
    >>> stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True,
    ...                      verbose=1)
    >>> history = model.fit(X, y, epochs=1000, validation_split=0.25, verbose=0,
    ...                     callbacks=[stop])
    Epoch 5: early stopping
    Restoring model weights from the end of the best epoch: 2.
    >>> len(history.epoch), stop.best_epoch
    (5, 1)
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0,
                 mode="auto", baseline=None, restore_best_weights=False,
                 start_from_epoch=0):
        self._monitor = Monitor(
            "EarlyStopping", monitor, mode,
            "Early stopping conditioned on metric `{monitor}` which is not available. "
            "Available metrics are: {keys}",
        )
        self.monitor, self.mode = monitor, mode
        self.min_delta = abs(check_number("min_delta", min_delta))
        self.patience = check_count("patience", patience)
        self.verbose = check_verbose(verbose)
        self.baseline = check_number("baseline", baseline, optional=True)
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = check_count("start_from_epoch", start_from_epoch)
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        # NOTE: reset here, so that one instance serves several fits (as Keras).
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best = self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = self._monitor.value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # the first epoch watched is the best so far
            self.best_weights, self.best_epoch = self.model.get_flat_weights(), epoch
        self.wait += 1
        if self._improves(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_flat_weights()
            # the wait restarts only for a value that beats the baseline too
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def _improves(self, value, reference):
        return reference is None or self._monitor.better(value, reference, self.min_delta)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_flat_weights(self.best_weights)
