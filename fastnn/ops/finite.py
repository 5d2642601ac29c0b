"""When user data may skip scikit-learn's ``check_array``: the test the estimators'
serving path and ``Sequential``'s fit and predict share.

``check_array`` costs about 0.1 ms per call (on 1437 x 64 floats as on one row), as
much as an epoch's worth of a small network's kernels; an array it would hand back
unchanged needs none of it.
"""

import math

import numpy as np

from fastnn.ops.checks import FLOATS
from fastnn.ops.optimizers import sum_of_squares

__all__ = ["FLOAT_DTYPES", "is_clean_matrix"]

# NOTE: a set: `dtype in` a tuple compares float64 with float32 first (0.15 us).
FLOAT_DTYPES = frozenset(FLOATS)


def is_clean_matrix(X, dtypes=FLOAT_DTYPES, order="C"):
    """True for a non-empty, finite, 2-D ``np.ndarray`` (not a subclass) of one of
    ``dtypes``, C-contiguous unless ``order`` is None: what ``check_array`` (with
    those dtypes, that order, finite values required) returns as it is. Anything
    else should take ``check_array``, whose errors and conversions then apply.
    """
    return (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in dtypes
        and (order is None or X.flags.c_contiguous)
        and X.shape[0] > 0
        and X.shape[1] > 0
        # NOTE: a sum of squares is finite only if every entry is; through BLAS's dot
        # it makes no temporary and no overflow warning (X.sum() warns), and costs
        # less than np.isfinite(X).all(). Huge finite entries whose squares overflow
        # only take the full validation, which accepts them.
        and math.isfinite(sum_of_squares(X.ravel()))
    )
