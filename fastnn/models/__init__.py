"""Models: :class:`Sequential` (its structure, weights and inference in
:mod:`~fastnn.models.sequential`, its training in :mod:`~fastnn.models.training` and
:mod:`~fastnn.models.epoch`), the callbacks of fit (:mod:`~fastnn.models.callbacks`),
and the forward pass in chunks that every prediction runs
(:mod:`~fastnn.models.inference`)."""

from fastnn.models.callbacks import Callback, History
from fastnn.models.inference import check_finite_output  # noqa: F401  (public by name)
from fastnn.models.sequential import Sequential

__all__ = ["Sequential", "History", "Callback"]
