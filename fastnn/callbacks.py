"""Callbacks of :meth:`fastnn.Sequential.fit`, Keras-style (public namespace; defined
in :mod:`fastnn.models.callbacks`): the :class:`Callback` base class, the
:class:`History` a fit returns, and Keras' standard callbacks. ``verbose`` of fit
stands in for Keras' ``ProgbarLogger``."""

from fastnn.models.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)

__all__ = [
    "Callback", "History", "EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau",
    "LearningRateScheduler", "CSVLogger", "TerminateOnNaN", "LambdaCallback",
]
