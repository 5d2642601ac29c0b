"""The compiled inner loop of training (``BatchLoop``) and what its runs report.

A :class:`BatchLoop` runs mini-batches of one size from the row gather to the optimizer
step with no Python between kernels; :mod:`fastnn.models.epoch` builds it from bound
calls (:func:`fastnn.ops.bind`) and owns the epoch around it.
"""

from fastnn.ops._loader import train_kernels

BatchLoop = train_kernels.BatchLoop
OK = train_kernels.OK
GRADIENT_DIVERGED = train_kernels.GRADIENT_DIVERGED
WEIGHTS_DIVERGED = train_kernels.WEIGHTS_DIVERGED
COUNT_NONE = train_kernels.COUNT_NONE
COUNT_ARGMAX_LABELS = train_kernels.COUNT_ARGMAX_LABELS
COUNT_ARGMAX_TARGETS = train_kernels.COUNT_ARGMAX_TARGETS
COUNT_THRESHOLD = train_kernels.COUNT_THRESHOLD
