"""What the kernels are handed besides the checked arrays: 1-D views of them, and empty
arrays in the place of arguments a call leaves out (no weights, no gradient, no
optimizer state)."""

import numpy as np

from fastnn.ops._loader import FLOATS

NO_WEIGHTS = {dtype: np.empty(0, dtype) for dtype in FLOATS}
NO_GRAD = {dtype: np.empty((0, 1), dtype) for dtype in FLOATS}
NO_STATE = {dtype: np.empty(0, dtype) for dtype in FLOATS}  # never written: empty


def flat(array):
    """The 1-D view of a C-contiguous array that the element-wise kernels take."""
    return array if array.ndim == 1 else array.reshape(-1)
