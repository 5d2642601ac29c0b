"""The callbacks that change the learning rate between epochs, as Keras':
``ReduceLROnPlateau`` and ``LearningRateScheduler``. Both set
``model.optimizer.learning_rate``; the next epoch's compiled loop binds the new rate
(every optimizer has ``learning_rate``) and both add the rate to the epoch's logs as
'learning_rate', as Keras 3."""

import inspect
import numbers

import numpy as np

from fastnn.models.callbacks.base import Callback
from fastnn.models.callbacks.monitor import (
    Monitor,
    check_count,
    check_number,
    check_verbose,
)
from fastnn.ops.checks import check_scalar

__all__ = ["LearningRateScheduler", "ReduceLROnPlateau"]


def _learning_rate(model):
    optimizer = model.optimizer
    if not hasattr(optimizer, "learning_rate"):
        raise ValueError('Optimizer must have a "learning_rate" attribute.')
    return float(optimizer.learning_rate)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has stopped
    improving for ``patience`` epochs, as Keras' ``ReduceLROnPlateau``.

    Parameters
    ----------
    monitor : str, default 'val_loss'
        A key of the epoch's logs (missing: Keras' warning, and the fit goes on).
    factor : float in (0, 1), default 0.1
        new rate = rate * factor.
    patience : int >= 0, default 10
    verbose : int, default 0
        1 prints each reduction.
    mode : {'auto', 'min', 'max'}, default 'auto'
        As :class:`EarlyStopping` ('acc' in the name: larger is better); another is
        a ValueError (Keras warns and uses 'auto').
    min_delta : float, default 1e-4 (Keras 1's ``epsilon`` is accepted)
        A change of at most ``min_delta`` is no improvement.
    cooldown : int >= 0, default 0
        Epochs after a reduction during which the wait does not count.
    min_lr : float >= 0, default 0
        The rate is never reduced below it.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import Sequential
    >>> from fastnn.callbacks import ReduceLROnPlateau
    >>> from fastnn.layers import Dense
    >>> from fastnn.optimizers import SGD
    >>> X, y = np.ones((8, 1)), np.ones(8)
    >>> model = Sequential([Dense(1, input_dim=1)], seed=0)
    >>> model.compile(optimizer=SGD(learning_rate=0.1), loss="mse")
    >>> reduce = ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5, patience=0)
    >>> history = model.fit(X, y, epochs=3, verbose=0, callbacks=[reduce])
    >>> history.history["learning_rate"], model.optimizer.learning_rate
    ([0.1, 0.1, 0.05], 0.025)
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0,
                 mode="auto", min_delta=1e-4, cooldown=0, min_lr=0.0, epsilon=None):
        self._monitor = Monitor(
            "Learning rate reduction", monitor, mode,
            "Learning rate reduction is conditioned on metric `{monitor}` which is "
            "not available. Available metrics are: {keys}.",
        )
        self.monitor, self.mode = monitor, mode
        factor = check_number("factor", factor)
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        if factor <= 0.0:
            raise ValueError(f"ReduceLROnPlateau needs a factor > 0, got {factor}")
        self.factor = factor
        self.patience = check_count("patience", patience)
        self.verbose = check_verbose(verbose)
        if epsilon is not None:  # Keras 1's name
            min_delta = epsilon
        self.min_delta = check_number("min_delta", min_delta)
        self.cooldown = check_count("cooldown", cooldown)
        self.min_lr = check_scalar("min_lr", check_number("min_lr", min_lr), low=0.0)
        self._reset()

    def _reset(self):
        self.best = self._monitor.worst
        self.wait = self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        logs["learning_rate"] = _learning_rate(self.model)
        current = self._monitor.value(logs)
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._monitor.better(current, self.best, self.min_delta):
            self.best, self.wait = current, 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = _learning_rate(self.model)
                # NOTE: compared in float32, as Keras: a rate that float32 rounds to
                # min_lr is not reduced again.
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    if new_lr > 0:
                        self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing "
                              f"learning rate to {new_lr}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)``,
    as Keras' ``LearningRateScheduler`` (``schedule(epoch)``, Keras 1's form, is
    accepted too).

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch, lr)`` (``epoch`` counts from 0, ``lr`` is the current
        rate) returns the epoch's rate, a number > 0 (else a ValueError).
    verbose : int, default 0
        1 prints each rate set.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import Sequential
    >>> from fastnn.callbacks import LearningRateScheduler
    >>> from fastnn.layers import Dense
    >>> model = Sequential([Dense(1, input_dim=1)], seed=0)
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> halve = LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr / 2)
    >>> history = model.fit(np.ones((4, 1)), np.ones(4), epochs=4, verbose=0,
    ...                     callbacks=[halve])
    >>> history.history["learning_rate"]
    [0.01, 0.01, 0.005, 0.0025]
    """

    def __init__(self, schedule, verbose=0):
        if not callable(schedule):
            raise TypeError(f"schedule must be callable, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = check_verbose(verbose)
        self._takes_rate = _takes_two_arguments(schedule)

    def on_epoch_begin(self, epoch, logs=None):
        rate = _learning_rate(self.model)
        rate = self.schedule(epoch, rate) if self._takes_rate else self.schedule(epoch)
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
            raise ValueError("The output of the `schedule` function should be a float. "
                             f"Got: {rate!r}")
        rate = float(rate)
        if not np.isfinite(rate) or rate <= 0:
            raise ValueError(f"The output of the `schedule` function should be a finite "
                             f"rate > 0. Got: {rate}")
        self.model.optimizer.learning_rate = rate
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _learning_rate(self.model)


def _takes_two_arguments(function):
    """Whether ``function`` can be called with (epoch, lr); Keras tries and catches
    the TypeError, which would also hide one raised inside the schedule."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin without a signature: Keras' new form
        return True
    try:
        signature.bind(0, 0.0)
    except TypeError:
        return False
    return True
