"""The small data set and the small compiled Sequential that the test_sequential*.py
modules share.
"""

import numpy as np

from fastnn import Sequential
from fastnn.layers import Dense, Dropout
from fastnn.optimizers import SGD


def _data(rng, n=40, d=3, k=3, dtype=np.float64):
    X = rng.normal(size=(n, d)).astype(dtype)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int) * (k > 2)
    return X, y


def _model(seed=0, k=3, dropout=False, optimizer=None, metrics=None,
           loss="sparse_categorical_crossentropy"):
    layers = [Dense(8, activation="tanh", input_dim=3)]
    if dropout:
        layers.append(Dropout(0.3))
    layers.append(Dense(k, activation="softmax"))
    model = Sequential(layers, seed=seed)
    model.compile(optimizer or SGD(lr=0.1, momentum=0.9), loss, metrics)
    return model
