"""The activation functions by name (public namespace; defined in
:mod:`fastnn.nn.activations`)."""

from fastnn.nn.activations import NAMES, get
from fastnn.nn.activations import ActivationFunction as Activation

__all__ = ["get", "NAMES", "Activation"]
