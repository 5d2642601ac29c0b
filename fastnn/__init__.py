"""fastnn: a compact, compiled neural-network library.

The engine is :mod:`fastnn.ops`, typed Cython kernels behind one validating door. On it:
:mod:`fastnn.layers`, :mod:`fastnn.losses`, :mod:`fastnn.optimizers` and the Keras-style
:class:`Sequential` (:mod:`fastnn.models`); the scikit-learn estimators
:class:`LogisticRegression`, :class:`OneVsAllClassifier`, :class:`MLPClassifier`
(:mod:`fastnn.estimators`); the teaching gate API in :mod:`fastnn.graph`.
"""

from fastnn import ops
from fastnn.estimators import LogisticRegression, MLPClassifier, OneVsAllClassifier
from fastnn.models import Sequential
from fastnn.saving import load_model

__version__ = "0.1.0"

__all__ = [
    "ops", "Sequential", "load_model",
    "LogisticRegression", "OneVsAllClassifier", "MLPClassifier", "__version__",
]
