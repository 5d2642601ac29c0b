"""What Keras' callbacks cost Sequential.fit, same data, same run: the median time of
REPEATS fits (after a warm-up) of the digits MLP with no callback, with the epoch
callbacks (EarlyStopping, ReduceLROnPlateau, CSVLogger, TerminateOnNaN: the compiled
epochs stay whole), and with one batch hook (a LambdaCallback: the loop returns to
Python after every batch); each as a ratio to the plain fit.

    python benchmarks/bench_keras_callbacks.py [REPEATS]
"""

import os
import statistics
import sys
import tempfile
import time

import numpy as np
from sklearn.datasets import load_digits

from fastnn import Sequential
from fastnn.callbacks import (
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from fastnn.layers import Dense

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
EPOCHS = 20


def _median_seconds(X, y, batch_size, callbacks):
    def fit():
        model = Sequential([Dense(100, "relu", input_dim=64), Dense(10, "softmax")],
                           seed=0)
        model.compile("adam", "sparse_categorical_crossentropy")
        start = time.perf_counter()
        model.fit(X, y, epochs=EPOCHS, batch_size=batch_size, verbose=0,
                  callbacks=callbacks())
        return time.perf_counter() - start

    fit()  # warm-up
    return statistics.median(fit() for _ in range(REPEATS))


def main():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    folder = tempfile.mkdtemp()

    def epoch_callbacks():
        return [EarlyStopping("loss", patience=100),
                ReduceLROnPlateau("loss", patience=100),
                CSVLogger(os.path.join(folder, "log.csv")), TerminateOnNaN()]

    def batch_hook():
        return [LambdaCallback(on_train_batch_end=lambda batch, logs: None)]

    print(f"ms per fit of {EPOCHS} epochs, digits 1797x64, MLP 64-100-10 adam "
          "(ratio to the plain fit)")
    print(f"{'batch_size':>10} {'plain':>8} {'epoch callbacks':>18} {'a batch hook':>18}")
    for batch_size in (32, 128):
        plain = _median_seconds(X, y, batch_size, list)
        cells = []
        for callbacks in (epoch_callbacks, batch_hook):
            seconds = _median_seconds(X, y, batch_size, callbacks)
            cells.append(f"{seconds * 1e3:9.1f} ({seconds / plain:5.2f})")
        print(f"{batch_size:>10} {plain * 1e3:8.1f} {cells[0]:>18} {cells[1]:>18}")


if __name__ == "__main__":
    main()
