"""Optimizers, Keras-style (public namespace; defined in :mod:`fastnn.nn.optimizers`):
``SGD``, ``Adam``, ``RMSprop``, ``Adagrad``, ``Adadelta``, ``Adamax``, ``Nadam``."""

from fastnn.nn.optimizers import (
    NAMES,
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    Nadam,
    Optimizer,
    RMSprop,
    get,
)

__all__ = [
    "Optimizer", "SGD", "Adam", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam",
    "NAMES", "get",
]
