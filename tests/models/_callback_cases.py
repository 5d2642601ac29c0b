"""What the Keras callback tests share: a small binary problem, its model, a callback
that injects a monitored quantity, and one that records each epoch's weights.

A monitored quantity is often injected by ``scores`` placed before the callback that
watches it: the sequence of values is then exact, whatever the training does."""

import numpy as np

from fastnn import Sequential
from fastnn.callbacks import Callback, LambdaCallback
from fastnn.layers import Dense
from fastnn.optimizers import SGD


def binary_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + X[:, 1] + rng.normal(size=n) > 0).astype(int)
    return X, y


def binary_model(optimizer=None, seed=0):
    model = Sequential([Dense(8, "tanh", input_dim=4), Dense(1, "sigmoid")], seed=seed)
    model.compile(optimizer or SGD(learning_rate=0.1), "binary_crossentropy",
                  ["accuracy"])
    return model


def scores(values, key="score"):
    """A callback that puts ``values[epoch]`` into each epoch's logs as ``key``."""
    def put(epoch, logs):
        logs[key] = values[epoch]
    return LambdaCallback(on_epoch_end=put)


class Recorder(Callback):
    """Records the flat weights and the logs at each epoch's end."""

    def __init__(self):
        self.weights, self.logs = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_flat_weights())
        self.logs.append(dict(logs))
