"""The callbacks that write files, as Keras': ``ModelCheckpoint`` (the model or its
weights, in fastnn's safe format) and ``CSVLogger`` (one row per epoch)."""

import collections
import csv
import numbers
import os

from fastnn.models.callbacks.base import Callback
from fastnn.models.callbacks.monitor import Monitor, check_number, check_verbose

__all__ = ["CSVLogger", "ModelCheckpoint"]


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) after every epoch, or every
    ``save_freq`` batches, as Keras' ``ModelCheckpoint``.

    The model is written by :meth:`Sequential.save` (read back by
    :func:`fastnn.load_model`), the weights alone by :meth:`Sequential.save_weights`
    (read back by :meth:`Sequential.load_weights`): fastnn's safe format, whatever
    the file's extension (Keras 3 requires '.keras' or '.weights.h5').

    Parameters
    ----------
    filepath : str or path-like
        May hold ``{epoch}`` (counting from 1) and any key of the epoch's logs, with
        a format: ``'model-{epoch:02d}-{val_loss:.2f}.npz'``. Missing folders are
        created.
    monitor : str, default 'val_loss'
        What ``save_best_only`` compares (missing: Keras' warning, no file).
    verbose : int, default 0
        1 prints each save.
    save_best_only : bool, default False
        Save only when ``monitor`` improves on the best so far.
    save_weights_only : bool, default False
    mode : {'auto', 'min', 'max'}, default 'auto'
        As :class:`EarlyStopping`; another is a ValueError (Keras warns).
    save_freq : 'epoch' or int > 0, default 'epoch'
        'epoch' saves at each epoch's end; an int, after that many batches (the
        logs are then the epoch's so far, and the fit calls the batch hooks).
    initial_value_threshold : float, optional
        The value ``save_best_only`` must beat first.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from fastnn import Sequential, load_model
    >>> from fastnn.callbacks import ModelCheckpoint
    >>> from fastnn.layers import Dense
    >>> folder = tempfile.mkdtemp()
    >>> model = Sequential([Dense(1, input_dim=1)], seed=0)
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> checkpoint = ModelCheckpoint(os.path.join(folder, "model-{epoch:02d}.npz"))
    >>> _ = model.fit(np.ones((4, 1)), np.ones(4), epochs=2, verbose=0,
    ...               callbacks=[checkpoint])
    >>> sorted(os.listdir(folder))
    ['model-01.npz', 'model-02.npz']
    >>> saved = load_model(os.path.join(folder, "model-02.npz"))
    >>> bool((saved.predict(np.ones((1, 1))) == model.predict(np.ones((1, 1)))).all())
    True
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        self.filepath = os.fspath(filepath)
        self._monitor = Monitor(
            "ModelCheckpoint", monitor, mode,
            "Can save best model only with {monitor} available, skipping.",
        )
        self.monitor, self.mode = monitor, mode
        self.verbose = check_verbose(verbose)
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        if save_freq != "epoch" and (
            isinstance(save_freq, bool) or not isinstance(save_freq, numbers.Integral)
            or save_freq < 1
        ):
            raise ValueError(f"Unrecognized save_freq: {save_freq!r}. Expected save_freq "
                             "are 'epoch' or integer values > 0")
        self.save_freq = save_freq
        self.initial_value_threshold = check_number(
            "initial_value_threshold", initial_value_threshold, optional=True)
        self.best = (self._monitor.worst if initial_value_threshold is None
                     else self.initial_value_threshold)
        self._epoch = 0
        self._batches_since_save = 0

    def _implements_train_batch_hooks(self):
        return self.save_freq != "epoch"

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _save(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._filepath(epoch, batch, logs)
        if self.save_best_only:
            current = self._monitor.value(logs)
            if current is None:
                return
            if not self._monitor.better(current, self.best):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from "
                      f"{self.best:.5f} to {current:.5f}, saving model to {filepath}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
        if os.path.isdir(filepath):
            raise OSError("Please specify a non-directory filepath for ModelCheckpoint. "
                          f"Filepath used is an existing directory: {filepath}")
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath)

    def _filepath(self, epoch, batch, logs):
        keys = dict(logs)
        if batch is not None and "batch" not in keys:
            keys["batch"] = batch + 1
        try:
            return self.filepath.format(epoch=epoch + 1, **keys)
        except KeyError as error:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {error}") from None


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file, as Keras' ``CSVLogger``.

    The columns are 'epoch' then the first epoch's keys, sorted; when that epoch
    has no ``'val_'`` key, a ``'val_'`` column per key is added (filled 'NA'), as Keras
    does. A later key not in the first epoch's logs is left out.

    Parameters
    ----------
    filename : str or path-like
    separator : str, default ','
    append : bool, default False
        Append to an existing file (no second header) rather than overwrite it.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from fastnn import Sequential
    >>> from fastnn.callbacks import CSVLogger
    >>> from fastnn.layers import Dense
    >>> path = os.path.join(tempfile.mkdtemp(), "training.csv")
    >>> model = Sequential([Dense(1, input_dim=1)], seed=0)
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> _ = model.fit(np.ones((4, 1)), np.ones(4), epochs=2, verbose=0,
    ...               validation_data=(np.ones((2, 1)), np.ones(2)),
    ...               callbacks=[CSVLogger(path)])
    >>> with open(path) as file:
    ...     print(file.readline().strip(), len(file.readlines()))
    epoch,loss,val_loss 2
    """

    def __init__(self, filename, separator=",", append=False):
        self.csv_file = self.writer = self.keys = None
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"separator must be one character, got {separator!r}")
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = bool(append)
        self.append_header = True

    def on_train_begin(self, logs=None):
        mode = "w"
        if self.append:
            mode = "a"
            if os.path.exists(self.filename):
                with open(self.filename, encoding="utf-8") as file:
                    self.append_header = not file.readline()
        self._close()
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")
        self.writer = self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys += ["val_" + key for key in self.keys]
        if self.writer is None:
            self.writer = csv.DictWriter(
                self.csv_file, fieldnames=["epoch", *self.keys], delimiter=self.sep,
                lineterminator="\n",
            )
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict(epoch=epoch)
        row.update((key, logs.get(key, "NA")) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        self._close()
        self.writer = None

    def _close(self):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()

    def __del__(self):
        # NOTE: a fit that raised never called on_train_end; close the file here
        # rather than leave it to the interpreter's warning.
        self._close()
