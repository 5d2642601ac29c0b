"""The callbacks of :meth:`fastnn.Sequential.fit`, as Keras': the :class:`Callback`
protocol and the :class:`History` every fit records (:mod:`.base`), the standard
callbacks (:mod:`.stopping`, :mod:`.rates`, :mod:`.files`) and what ``verbose``
shows (:mod:`.progress`). Users import them from :mod:`fastnn.callbacks`."""

from fastnn.models.callbacks.base import (
    Callback,
    CallbackList,
    History,
    LambdaCallback,
    TerminateOnNaN,
)
from fastnn.models.callbacks.files import CSVLogger, ModelCheckpoint
from fastnn.models.callbacks.rates import LearningRateScheduler, ReduceLROnPlateau
from fastnn.models.callbacks.stopping import EarlyStopping

__all__ = [
    "Callback", "CallbackList", "History", "EarlyStopping", "ModelCheckpoint",
    "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger", "TerminateOnNaN",
    "LambdaCallback",
]
