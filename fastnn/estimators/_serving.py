"""The estimators' serving path: when the ``X`` handed to a predict method may skip
scikit-learn's ``validate_data``.

A model in service predicts one row per call, and ``validate_data`` costs about 100 us
per call (more than a one-row prediction itself): an ``X`` that is already what the
validation would return goes straight to the model; anything else takes the full
validation, so what is accepted, rejected and returned does not change.
"""

import math

import numpy as np

from fastnn import ops
from fastnn.ops.checks import FLOATS

# NOTE: a set: `dtype in` a tuple compares float64 with float32 first (0.15 us).
_FLOAT_SET = frozenset(FLOATS)


def skips_validation(estimator, X, n_features, dtypes=_FLOAT_SET, order="C"):
    """Whether ``X`` may skip ``validate_data`` in ``estimator``'s predict methods.

    True for a non-empty, finite, 2-D ``np.ndarray`` (not a subclass) of one of
    ``dtypes``, ``n_features`` wide, C-contiguous unless ``order=None`` (a caller that
    passes ``X`` on to estimators which check it themselves), when ``estimator`` was
    not fitted on named columns. ``n_features=None`` (not fitted) is always False.

    Parameters
    ----------
    estimator : estimator object
        The fitted estimator (its ``feature_names_in_`` is read).
    X : object
        What the caller passed to predict.
    n_features : int or None
        The width of the fitted model, e.g. ``coef_.shape[1]``; None if not fitted.
    dtypes : tuple or frozenset of numpy.dtype, default=float32 and float64
        The dtypes the model computes in, e.g. ``(model.dtype,)``.
    order : {'C', None}, default='C'
        'C' requires a C-contiguous ``X``; None takes any layout.
    """
    return (
        n_features is not None
        and type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in dtypes
        and (order is None or X.flags.c_contiguous)
        and X.shape[0] > 0
        and X.shape[1] == n_features
        and "feature_names_in_" not in estimator.__dict__
        # NOTE: a sum of squares is finite only if every entry is; through BLAS's dot
        # it makes no temporary and no overflow warning (X.sum() warns), and costs
        # less than np.isfinite(X).all(). Huge finite entries whose squares overflow
        # only take the full validation, which accepts them.
        and math.isfinite(ops.sum_of_squares(X.ravel()))
    )
