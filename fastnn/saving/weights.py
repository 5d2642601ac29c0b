"""The weights-only file of ``save_weights`` / ``load_weights``: the container of
:mod:`fastnn.saving.container` (one npz, no pickle) holding a JSON member ``weights``,
the layout the model writes (its layers and their weight counts), and the arrays
``weight_<i>`` in :meth:`Sequential.get_weights` order.

This module checks the file; whether its weights fit a model is the model's to say
(:class:`fastnn.models.saved_state.SavedState`)."""

import os

import numpy as np

from fastnn.saving.container import (
    Reader,
    json_array,
    member,
    open_archive,
    write_atomically,
)

__all__ = ["read_weights", "write_weights"]


def write_weights(path, layout, weights, overwrite=True):
    """Write ``weights`` (a list of float arrays) and their ``layout`` (JSON) to
    ``path``, atomically; ``FileExistsError`` if it exists and not ``overwrite``."""
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{os.fspath(path)} exists; pass overwrite=True to "
                              "replace it")
    arrays = {"weights": json_array(layout, "the weights layout")}
    for i, weight in enumerate(weights):
        arrays[f"weight_{i}"] = np.ascontiguousarray(weight)
    write_atomically(path, arrays)


def read_weights(path):
    """``(layout, weights)`` of the weights file at ``path``: its JSON layout and
    its arrays ``weight_0 ... weight_<n-1>``, each a finite float32 or float64 array
    no larger than the file says. ``ValueError`` for a file that is not an intact
    weights file (a model file included); ``FileNotFoundError`` for none."""
    return open_archive(path, _read, kind="weights")


def _read(archive, size):
    names = set(archive.files)
    if "weights" not in names:
        if "architecture" in names or "estimator" in names:
            raise ValueError("it is a whole model file (save, ModelCheckpoint); read it "
                             "with fastnn.load_model")
        raise ValueError("no weights member")
    layout = Reader(archive, size).json("weights")
    count = len(names) - 1
    expected = {"weights", *(f"weight_{i}" for i in range(count))}
    if names != expected:
        raise ValueError(f"unexpected members {sorted(names - expected)}")
    weights = []
    for i in range(count):
        weight = member(archive, f"weight_{i}", size, kinds="f")
        if weight.dtype not in (np.float32, np.float64):
            raise ValueError(f"member weight_{i} is {weight.dtype}, not float32 or "
                             "float64")
        if not np.isfinite(weight).all():
            raise ValueError(f"member weight_{i} holds NaN or inf")
        weights.append(weight)
    return layout, weights
