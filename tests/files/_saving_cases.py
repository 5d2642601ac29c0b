"""What the Sequential file tests share: a small trained model, and the tools that
rewrite a saved file's members (architecture JSON, .npy weights) to check what
load_model refuses.
"""

import io
import json
import zipfile

import numpy as np
import pytest

from fastnn import Sequential, load_model
from fastnn.layers import Activation, Dense, Dropout, Maxout
from fastnn.optimizers import Adam


def _data(dtype=np.float32, n=40):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4)).astype(dtype)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    return X, y


def _model(optimizer=None, dropout=False, metrics=("accuracy",)):
    layers = [Dense(6, activation="relu", input_dim=4, init="uniform"),
              Maxout(5, pieces=3),
              Activation("tanh")]
    if dropout:
        layers.append(Dropout(0.25, seed=3))
    layers.append(Dense(3, activation="softmax", use_bias=True))
    model = Sequential(layers, seed=0)
    model.compile(optimizer or Adam(lr=0.01), "sparse_categorical_crossentropy",
                  list(metrics))
    return model


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _architecture(members):
    raw = np.load(io.BytesIO(members["architecture.npy"]), allow_pickle=False)
    return json.loads(raw.tobytes().decode())


def _write(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _with_architecture(path, members, architecture):
    changed = dict(members)
    changed["architecture.npy"] = _npy(
        np.frombuffer(json.dumps(architecture).encode(), np.uint8))
    return _write(path, changed)


def _refused(path, match="not a valid fastnn model file"):
    with pytest.raises(ValueError, match=match):
        load_model(path)
