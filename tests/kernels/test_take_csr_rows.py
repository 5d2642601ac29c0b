"""take_csr_rows, the mini-batch gather of CSR rows into a reused CSR batch, against
SciPy's X[indices] (a copy is exact); column_sums, a layer's db, against NumPy."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import ops
from fastnn.ops.dense import column_sums
from fastnn.ops.rows import csr_batch, csr_capacity, take_csr_rows

INDEX_DTYPES = [np.int32, np.int64]


def _csr(rng, n, d, dtype, index_dtype, density=0.2):
    X = sp.random(n, d, density=density, format="csr", dtype=dtype, random_state=rng)
    X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    return X


def _assert_same_rows(batch, expected):
    nnz = batch.indptr[-1]
    assert_array_equal(batch.indptr, expected.indptr)
    assert_array_equal(batch.indices[:nnz], expected.indices)
    assert_array_equal(batch.data[:nnz], expected.data)


@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_take_csr_rows_matches_scipy(dtype, index_dtype, rng):
    X = _csr(rng, 60, 9, dtype, index_dtype)
    X.data[X.indptr[3]:X.indptr[4]] = 0  # an empty row
    X.eliminate_zeros()
    X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    indices = np.array([3, 0, 59, 3, 17], np.intp)  # repeats and an empty row
    before = X.copy()
    batch = take_csr_rows(X, indices)
    assert batch.dtype == dtype and batch.indices.dtype == index_dtype
    _assert_same_rows(batch, X[indices])
    assert_array_equal(X.toarray(), before.toarray())


def test_a_bound_gather_refills_its_batch(dtype, rng):
    # The training loop: one permutation per epoch, a slice per batch, one CSR batch
    # with room for the fullest rows, reused by the bound call.
    X = _csr(rng, 103, 7, dtype, np.int32)
    rows = np.empty(16, np.intp)
    batch = csr_batch(16, 7, csr_capacity(X, 16), dtype, np.int32)
    run, out = ops.bind(take_csr_rows, X, rows, out=batch)
    assert out is batch
    perm = rng.permutation(103)
    for start in range(0, 96, 16):
        rows[:] = perm[start:start + 16]
        assert run() == -1
        _assert_same_rows(batch, X[perm[start:start + 16]])


def test_capacity_is_the_fullest_rows(rng):
    X = sp.csr_matrix(np.array([[1, 1, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]], float))
    assert csr_capacity(X, 1) == 3
    assert csr_capacity(X, 2) == 5
    assert csr_capacity(X, 10) == 6
    assert csr_capacity(sp.csr_matrix((4, 3)), 2) == 1  # never an empty buffer


def test_bad_indices_and_too_small_a_batch_write_nothing(rng):
    X = _csr(rng, 20, 5, np.float64, np.int32, density=0.5)
    batch = csr_batch(2, 5, 1, np.float64, np.int32)
    with pytest.raises(ValueError, match="out holds 1 entries"):
        take_csr_rows(X, np.array([0, 1], np.intp), out=batch)
    assert not batch.indptr.any()
    for bad in (20, -1):
        with pytest.raises(ValueError, match=r"indices\[1\] = .* out of range"):
            take_csr_rows(X, np.array([0, bad], np.intp))


@pytest.mark.parametrize("change, error, match", [
    (lambda b: setattr(b, "data", b.data.astype(np.float32)), TypeError, "out.data"),
    (lambda b: setattr(b, "indices", b.indices.astype(np.int64)), TypeError,
     "out.indices"),
    (lambda b: setattr(b, "indptr", b.indptr[:-1]), ValueError, "out.indptr"),
    (lambda b: setattr(b, "indices", b.indices[:-1]), ValueError, "as many entries"),
])
def test_a_wrong_batch_is_refused(change, error, match, rng):
    X = _csr(rng, 20, 5, np.float64, np.int32)
    batch = csr_batch(3, 5, csr_capacity(X, 3), np.float64, np.int32)
    change(batch)
    with pytest.raises(error, match=match):
        take_csr_rows(X, np.array([0, 1, 2], np.intp), out=batch)


def test_a_malformed_x_is_refused_before_the_kernel(rng):
    X = _csr(rng, 20, 5, np.float64, np.int32, density=0.5)
    X.indices[3] = 5
    with pytest.raises(ValueError, match="column index is out of range"):
        take_csr_rows(X, np.array([0], np.intp))
    with pytest.raises(TypeError, match="scipy.sparse CSR"):
        take_csr_rows(X.toarray(), np.array([0], np.intp))


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
