"""Losses, by Keras' names (public namespace; defined in :mod:`fastnn.nn.losses`)."""

from fastnn.nn.losses import NAMES, Loss, get
from fastnn.nn.losses import (  # noqa: F401  (each one public by its name)
    EPSILON,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    MeanSquaredError,
    SparseCategoricalCrossentropy,
)

__all__ = ["Loss", "get", "NAMES"]
