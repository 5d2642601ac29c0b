"""column_sums, the bias gradient of a layer whose weight gradient is computed elsewhere
(a sparse input's), against NumPy; bound, it follows its array."""

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import ops
from fastnn.ops.dense import column_sums


def test_column_sums_match_numpy(dtype, tol, rng):
    dY = rng.normal(size=(37, 5)).astype(dtype)
    assert_allclose(column_sums(dY), dY.astype(np.float64).sum(axis=0), **tol)
    out = np.full(5, np.nan, dtype)
    run, db = ops.bind(column_sums, dY, out=out)
    dY *= 2
    run()
    assert db is out
    assert_allclose(out, dY.astype(np.float64).sum(axis=0), **tol)
    assert_array_equal(column_sums(np.empty((0, 3), dtype)), np.zeros(3, dtype))
