"""take_rows: the mini-batch gather, against NumPy's X[indices] (a copy is exact)."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn import ops

ROW_DTYPES = [np.float32, np.float64, np.intp]


@pytest.fixture(params=ROW_DTYPES, ids=lambda dtype: np.dtype(dtype).name)
def row_dtype(request):
    return request.param


def _data(rng, shape, dtype):
    if np.dtype(dtype).kind == "i":
        return rng.integers(-1000, 1000, size=shape).astype(dtype)
    return rng.normal(size=shape).astype(dtype)


@pytest.mark.parametrize("shape", [(50,), (50, 7)], ids=["1-D", "2-D"])
def test_take_rows_matches_numpy(shape, row_dtype, rng):
    X = _data(rng, shape, row_dtype)
    indices = rng.integers(0, 50, size=20)  # repeats allowed
    X_before = X.copy()
    Y = ops.take_rows(X, indices)
    assert Y.dtype == row_dtype and Y.shape == (20,) + shape[1:]
    assert_array_equal(Y, X[indices])
    assert_array_equal(X, X_before)


def test_take_rows_from_slices_of_a_permutation(row_dtype, rng):
    # The training loop: one permutation per epoch, a non-owning slice per batch,
    # features and labels gathered into buffers reused from batch to batch.
    n_samples, batch_size = 103, 16
    X = _data(rng, (n_samples, 5), row_dtype)
    y = rng.integers(0, 10, size=n_samples).astype(np.intp)
    perm = rng.permutation(n_samples)
    X_buffer = np.empty((batch_size, 5), row_dtype)
    y_buffer = np.empty(batch_size, np.intp)
    seen = []
    for start in range(0, n_samples, batch_size):
        batch = perm[start:start + batch_size]
        assert batch.base is perm
        X_out, y_out = X_buffer[: len(batch)], y_buffer[: len(batch)]
        assert ops.take_rows(X, batch, out=X_out) is X_out
        assert ops.take_rows(y, batch, out=y_out) is y_out
        assert_array_equal(X_out, X[batch])
        assert_array_equal(y_out, y[batch])
        seen.append(y_out.copy())
    assert_array_equal(np.concatenate(seen), y[perm])


def test_take_rows_into_preallocated_out(row_dtype, rng):
    X = _data(rng, (9, 4), row_dtype)
    indices = np.array([8, 0, 3, 3])
    out = np.full((4, 4), 7, row_dtype)
    assert ops.take_rows(X, indices, out=out) is out
    assert_array_equal(out, X[indices])


def test_take_rows_of_the_first_and_last_row(row_dtype, rng):
    X = _data(rng, (6, 3), row_dtype)
    assert_array_equal(ops.take_rows(X, np.array([0, 5])), X[[0, 5]])


def test_take_rows_with_no_indices_or_no_columns(row_dtype):
    X = np.arange(12).reshape(4, 3).astype(row_dtype)
    empty = ops.take_rows(X, np.empty(0, np.intp))
    assert empty.shape == (0, 3) and empty.dtype == row_dtype
    no_columns = ops.take_rows(np.empty((4, 0), row_dtype), np.array([3, 1, 1]))
    assert no_columns.shape == (3, 0)
    assert ops.take_rows(np.empty(0, row_dtype), np.empty(0, np.intp)).shape == (0,)


@pytest.mark.parametrize(
    "bad, position",
    [(-1, 2), (10, 2), (-(2**62), 0), (2**62, 4)],
    ids=["minus-one", "n_rows", "very-negative", "huge"],
)
def test_take_rows_checks_every_index_in_the_kernel(bad, position, row_dtype):
    X = np.arange(20).reshape(10, 2).astype(row_dtype)
    indices = np.array([0, 9, 5, 1, 2])
    indices[position] = bad
    out = np.full((5, 2), 42, row_dtype)
    message = rf"indices\[{position}\] = {bad} is out of range for X with 10 rows"
    with pytest.raises(ValueError, match=message):
        ops.take_rows(X, indices, out=out)
    assert np.all(out == 42)  # checked before any row is copied


def test_take_rows_reports_the_first_bad_index():
    with pytest.raises(ValueError, match=r"indices\[1\] = 3 is out"):
        ops.take_rows(np.zeros(3), np.array([0, 3, -1, 7]))


def test_take_rows_from_an_empty_x_refuses_any_index():
    message = r"indices\[0\] = 0 is out of range for X with 0 rows"
    with pytest.raises(ValueError, match=message):
        ops.take_rows(np.empty((0, 4)), np.array([0]))


def test_take_rows_accepts_int64_labels_as_intp():
    # On 64-bit platforms int64 is intp: the labels NumPy makes by default gather as is.
    y = np.array([3, 1, 4, 1, 5], np.int64)
    assert_array_equal(ops.take_rows(y, np.array([4, 0])), [5, 3])


def test_large_gathers_take_the_threaded_path(dtype, rng):
    # Past PARALLEL_MIN_SIZE = 131072 elements the copy loop switches to OpenMP.
    X = _data(rng, (3000, 100), dtype)
    indices = rng.permutation(3000)[:2000]
    assert_array_equal(ops.take_rows(X, indices), X[indices])
