"""Layers, Keras-style (public namespace; defined in :mod:`fastnn.nn.layers`)."""

from fastnn.nn.layers import Activation, Dense, Dropout, Layer, Maxout
from fastnn.nn.layers import Step, private_buffers  # noqa: F401  (public by name)

__all__ = ["Layer", "Dense", "Activation", "Dropout", "Maxout"]
