"""Weight initializers, by the names Keras uses (public namespace; defined in
:mod:`fastnn.nn.initializers`)."""

from fastnn.nn.initializers import NAMES, get
from fastnn.nn.initializers import (  # noqa: F401  (each one public by its name)
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    normal,
    ones,
    uniform,
    zeros,
)

__all__ = ["get", "NAMES"]
