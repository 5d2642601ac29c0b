"""The estimators' serving path: when the ``X`` handed to a predict method may skip
scikit-learn's ``validate_data``.

A model in service predicts one row per call, and ``validate_data`` costs about 100 us
per call (more than a one-row prediction itself): an ``X`` that is already what the
validation would return goes straight to the model; anything else takes the full
validation, so what is accepted, rejected and returned does not change.
"""

import numpy as np

from fastnn._checks import FLOATS


def skips_validation(estimator, X, n_features, dtypes=FLOATS, order="C"):
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
    dtypes : tuple of numpy.dtype, default=FLOATS
        The dtypes the model computes in (float32 and float64 by default).
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
        # NOTE: np.isfinite, not a sum: a sum of large finite values overflows with a
        # RuntimeWarning; validate_data would accept them silently.
        and np.isfinite(X).all()
    )
