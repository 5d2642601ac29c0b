"""Optimizers, Keras-style: :class:`SGD` (momentum, Nesterov, decay), :class:`Adam`,
:class:`RMSprop`, :class:`Adagrad`, :class:`Adadelta`, :class:`Adamax` and
:class:`Nadam`, one compiled kernel each (``fastnn.ops``), and :func:`get`, the
optimizer of a name. The base class (:mod:`.base`) owns the update count and the
state arrays.
"""

from fastnn.nn.optimizers.adam import Adam, Adamax, Nadam
from fastnn.nn.optimizers.adaptive import Adadelta, Adagrad, RMSprop
from fastnn.nn.optimizers.base import Optimizer
from fastnn.nn.optimizers.sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adam", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam",
    "NAMES", "get",
]

_BY_NAME = {
    "sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad,
    "adadelta": Adadelta, "adamax": Adamax, "nadam": Nadam,
}
NAMES = tuple(_BY_NAME)


def get(optimizer):
    """An optimizer instance from an instance or a name (any case): 'sgd', 'adam',
    'rmsprop', 'adagrad', 'adadelta', 'adamax' or 'nadam', with Keras' defaults."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in _BY_NAME:
        return _BY_NAME[optimizer.lower()]()
    names = ", ".join(repr(name) for name in NAMES)
    raise ValueError(
        f"unknown optimizer {optimizer!r}; expected {names} or an Optimizer instance"
    )
