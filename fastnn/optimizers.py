"""Optimizers, Keras-style: ``SGD`` and ``Adam`` (public namespace; defined in
:mod:`fastnn.nn.optimizers`)."""

from fastnn.nn.optimizers import SGD, Adam, Optimizer, get

__all__ = ["Optimizer", "SGD", "Adam", "get"]
