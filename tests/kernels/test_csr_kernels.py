"""The CSR kernels (fastnn/_kernels/csr.pyx.tp) through their door fastnn.ops.sparse:
each product against its NumPy twin on the dense matrix, for float32/float64 data and
int32/int64 indices, on matrices with empty rows and columns, unsorted and duplicate
column indices and explicit zeros; the bound form against the direct call; the gather
of mini-batch rows; and every malformed matrix refused with a clear error before any
kernel reads through it (tests/engine/test_fuzz_ops_sparse.py fuzzes the same)."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import ops

FLOATS = (np.float32, np.float64)
INDEXES = (np.int32, np.int64)
TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


def random_csr(rng, n, d, dtype, index, density=0.3, sort=False, tail=0):
    """A CSR matrix from its raw arrays (never canonicalised by SciPy): rows of random
    length (some empty), unsorted column indices with duplicates, a few explicit zeros,
    columns past d // 2 + 1 left empty half the time; ``tail`` unused entries after
    indptr[-1]. Returns (X, its dense twin)."""
    lengths = rng.binomial(d * 2, density, n) * (rng.random(n) > 0.2)
    high = d if rng.random() < 0.5 else d // 2 + 1
    nnz = int(lengths.sum())
    indices = rng.integers(0, max(high, 1), nnz + tail)
    data = rng.standard_normal(nnz + tail)
    data[rng.random(nnz + tail) < 0.1] = 0.0
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    if sort:
        for i in range(n):
            indices[indptr[i]:indptr[i + 1]].sort()
    X = sp.csr_matrix(
        (data.astype(dtype), indices.astype(np.int32), indptr.astype(np.int32)),
        shape=(n, d),
    )
    X.indices = indices.astype(index)  # SciPy's constructor would narrow int64
    X.indptr = indptr.astype(index)
    X.data = data.astype(dtype)
    dense = np.zeros((n, d), np.float64)
    rows = np.repeat(np.arange(n), lengths)
    np.add.at(dense, (rows, indices[:nnz]), data[:nnz].astype(dtype))
    return X, dense


CASES = [(0, 5, 3), (7, 0, 2), (1, 1, 1), (13, 9, 1), (40, 30, 10), (25, 60, 70),
         (64, 17, 3)]


@pytest.mark.parametrize("index", INDEXES)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n, d, k", CASES)
def test_products_equal_their_dense_twins(n, d, k, dtype, index):
    rng = np.random.default_rng(n * 1000 + d * 10 + k)
    X, dense = random_csr(rng, n, d, dtype, index, tail=3)
    W = rng.standard_normal((d, k)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype)
    R = rng.standard_normal((n, k)).astype(dtype)
    Y = ops.csr_matmul(X, W, b)
    assert Y.dtype == dtype and Y.shape == (n, k)
    assert_allclose(Y, dense @ W + b, **TOL[dtype])
    assert_allclose(ops.csr_matmul(X, W), dense @ W, **TOL[dtype])
    for n_threads in (1, 2, 3):
        dW = ops.csr_t_matmul(X, R, n_threads=n_threads)
        assert dW.dtype == dtype and dW.shape == (d, k)
        assert_allclose(dW, dense.T @ R, **TOL[dtype])
    Xt = ops.csr_transpose(X)
    assert Xt.shape == (d, n) and Xt.indices.dtype == index
    assert_allclose(ops.csr_matmul(Xt, R), dense.T @ R, **TOL[dtype])
    assert_allclose(sp.csr_matrix(tuple(Xt[:3]), shape=Xt.shape).toarray(), dense.T,
                    **TOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
def test_sorted_and_unsorted_rows_give_the_same_products(dtype):
    rng = np.random.default_rng(3)
    X, dense = random_csr(rng, 50, 40, dtype, np.int32)
    S = X.copy()
    S.sort_indices()
    W = rng.standard_normal((40, 5)).astype(dtype)
    assert_allclose(ops.csr_matmul(X, W), ops.csr_matmul(S, W), **TOL[dtype])
    R = rng.standard_normal((50, 5)).astype(dtype)
    assert_allclose(ops.csr_t_matmul(X, R), ops.csr_t_matmul(S, R), **TOL[dtype])


def test_products_do_not_depend_on_threads_but_parts_are_fixed():
    """csr_matmul's rows and the CSC view's rows are each one thread's: equal bit for
    bit however many threads run; csr_t_matmul equals itself for one n_threads."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(5)
    X, _ = random_csr(rng, 3000, 400, np.float64, np.int64, density=0.05)
    W = rng.standard_normal((400, 16))
    R = rng.standard_normal((3000, 16))
    Xt = ops.csr_transpose(X)
    with threadpool_limits(1, user_api="openmp"):
        one = (ops.csr_matmul(X, W), ops.csr_matmul(Xt, R),
               ops.csr_t_matmul(X, R, n_threads=2))
    two = (ops.csr_matmul(X, W), ops.csr_matmul(Xt, R),
           ops.csr_t_matmul(X, R, n_threads=2))
    for a, b in zip(one, two):
        assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", FLOATS)
def test_out_is_written_whole_and_never_the_users_matrix(dtype):
    rng = np.random.default_rng(8)
    X, dense = random_csr(rng, 20, 30, dtype, np.int64)
    saved = [a.copy() for a in (X.data, X.indices, X.indptr)]
    for a in (X.data, X.indices, X.indptr):
        a.flags.writeable = False  # read-only input is fine
    R = rng.standard_normal((20, 4)).astype(dtype)
    out = np.full((30, 4), np.nan, dtype)
    assert ops.csr_t_matmul(X, R, out=out, n_threads=2) is out
    assert_allclose(out, dense.T @ R, **TOL[dtype])  # untouched rows became 0
    W = rng.standard_normal((30, 4)).astype(dtype)
    out = np.full((20, 4), np.nan, dtype)
    assert ops.csr_matmul(X, W, out=out) is out
    assert_allclose(out, dense @ W, **TOL[dtype])
    for a, b in zip((X.data, X.indices, X.indptr), saved):
        assert_array_equal(a, b)


def test_indptr_of_another_dtype_and_csr_array_are_taken():
    rng = np.random.default_rng(9)
    X, dense = random_csr(rng, 10, 8, np.float64, np.int32)
    X.indptr = X.indptr.astype(np.int64)
    W = rng.standard_normal((8, 2))
    assert_allclose(ops.csr_matmul(X, W), dense @ W)
    A = sp.csr_array(dense)
    assert_allclose(ops.csr_matmul(A, W), dense @ W)


@pytest.mark.parametrize("dtype", FLOATS)
def test_bound_calls_follow_the_arrays_and_equal_direct_calls(dtype):
    rng = np.random.default_rng(11)
    X, dense = random_csr(rng, 30, 20, dtype, np.int32)
    W = rng.standard_normal((20, 6)).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    out = np.empty((30, 6), dtype)
    run, Y = ops.bind(ops.csr_matmul, X, W, b, out=out)
    assert Y is out
    W[:] = rng.standard_normal((20, 6))
    run()
    assert_array_equal(out, ops.csr_matmul(X, W, b))
    R = rng.standard_normal((30, 6)).astype(dtype)
    dW = np.empty((20, 6), dtype)
    run_t, _ = ops.bind(ops.csr_t_matmul, X, R, out=dW, n_threads=2)
    R *= 3
    run_t()
    assert_array_equal(dW, ops.csr_t_matmul(X, R, n_threads=2))


@pytest.mark.parametrize("index", INDEXES)
@pytest.mark.parametrize("dtype", FLOATS)
def test_take_rows_gathers_a_batch_into_reused_buffers(dtype, index):
    rng = np.random.default_rng(12)
    X, dense = random_csr(rng, 40, 25, dtype, index, tail=2)
    batch = ops.csr_rows_buffer(X, 8)
    W = rng.standard_normal((25, 3)).astype(dtype)
    out = np.empty((8, 3), dtype)
    rows = np.zeros(8, np.intp)
    gather, _ = ops.bind(ops.csr_take_rows, X, rows, out=batch)
    forward, _ = ops.bind(ops.csr_matmul, batch, W, out=out)  # valid: empty rows
    for _ in range(5):
        rows[:] = rng.choice(40, 8, replace=False)
        assert gather() == batch.indptr[-1]
        forward()
        assert_allclose(out, dense[rows] @ W, **TOL[dtype])
    rows[:] = np.argsort(np.diff(X.indptr))[-8:]  # the longest rows fit
    assert gather() >= 0
    rows[3] = 40
    before = batch.indptr.copy()
    assert gather() == -4  # -1 - position, nothing written
    assert_array_equal(batch.indptr, before)
    with pytest.raises(ValueError, match=r"rows\[3\] = 40 is out of range"):
        ops.csr_take_rows(X, rows, out=batch)
    small = ops.CSR(batch.data[:0], batch.indices[:0], batch.indptr, batch.shape)
    rows[3] = int(np.argmax(np.diff(X.indptr)))
    with pytest.raises(ValueError, match="too small"):
        ops.csr_take_rows(X, rows, out=small)
    taken = ops.csr_take_rows(X, np.array([3, 3, 0]))
    assert_allclose(sp.csr_matrix(tuple(taken[:3]), taken.shape).toarray(),
                    dense[[3, 3, 0]], **TOL[dtype])


# ------------------------------------------------------------------ refusals


def _valid(dtype=np.float64, index=np.int32):
    return sp.csr_matrix(
        (np.array([1.0, 2.0, 3.0], dtype), np.array([0, 2, 1], index),
         np.array([0, 2, 2, 3], index)), shape=(3, 3),
    )


def _corrupt(**arrays):
    X = _valid()
    for name, value in arrays.items():
        setattr(X, name, value)
    return X


BAD = {
    "negative index": (_corrupt(indices=np.array([0, -1, 1], np.int32)),
                       "out of range"),
    "index past n_features": (_corrupt(indices=np.array([0, 3, 1], np.int32)),
                              "out of range"),
    "decreasing indptr": (_corrupt(indptr=np.array([0, 2, 1, 3], np.int32)),
                          "indptr decreases"),
    "indptr[0] != 0": (_corrupt(indptr=np.array([1, 2, 2, 3], np.int32)),
                       r"indptr\[0\]"),
    "indptr past the data": (_corrupt(indptr=np.array([0, 2, 2, 4], np.int32)),
                             r"indptr\[-1\]"),
    "truncated indices": (_corrupt(indices=np.array([0, 2], np.int32)),
                          r"indptr\[-1\]"),
    "truncated data": (_corrupt(data=np.array([1.0, 2.0])), r"indptr\[-1\]"),
    "short indptr": (_corrupt(indptr=np.array([0, 2, 3], np.int32)),
                     "entries for 3 rows"),
    "NaN": (_corrupt(data=np.array([1.0, np.nan, 3.0])), "Input X contains NaN"),
    "inf": (_corrupt(data=np.array([1.0, -np.inf, 3.0])), "contains infinity"),
    "int64 indptr past int32": (
        _corrupt(indptr=np.array([0, 2**32, 2, 3], np.int64)), "more than 2\\*\\*31"),
    "2-D indices": (_corrupt(indices=np.array([[0, 2, 1]], np.int32)), "1-D"),
}
BAD_TYPES = {
    "float indices": _corrupt(indices=np.array([0.0, 2.0, 1.0])),
    "uint64 indptr": _corrupt(indptr=np.array([0, 2, 2, 3], np.uint64)),
    "list indices": _corrupt(indices=[0, 2, 1]),
    "int data": _corrupt(data=np.array([1, 2, 3])),
}


def _all_calls(X):
    d = X.shape[1]
    yield lambda: ops.csr_matmul(X, np.ones((d, 2)))
    yield lambda: ops.csr_t_matmul(X, np.ones((X.shape[0], 2)), n_threads=2)
    yield lambda: ops.csr_transpose(X)
    yield lambda: ops.csr_take_rows(X, np.arange(X.shape[0]))
    yield lambda: ops.csr_rows_buffer(X, 2)


@pytest.mark.parametrize("case", BAD)
def test_malformed_matrices_are_refused_with_the_problem_named(case):
    X, message = BAD[case]
    for call in _all_calls(X):
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.parametrize("case", BAD_TYPES)
def test_wrong_array_types_are_type_errors(case):
    for call in _all_calls(BAD_TYPES[case]):
        with pytest.raises(TypeError):
            call()


def test_nan_past_the_stored_entries_is_not_read():
    X = _valid()
    X.data = np.array([1.0, 2.0, 3.0, np.nan])
    X.indices = np.array([0, 2, 1, -7], np.int32)
    expected = np.array([[1.0, 0, 2], [0, 0, 0], [0, 3, 0]])
    assert_array_equal(ops.csr_matmul(X, np.eye(3)), expected)


def test_other_arguments_are_checked():
    X = _valid()
    with pytest.raises(ValueError, match="a sparse X must be CSR"):
        ops.csr_matmul(X.tocsc(), np.ones((3, 1)))
    with pytest.raises(TypeError, match="mixed dtypes"):
        ops.csr_matmul(X, np.ones((3, 1), np.float32))
    with pytest.raises(ValueError, match="3 rows"):
        ops.csr_matmul(X, np.ones((4, 1)))
    with pytest.raises(ValueError, match="C-contiguous"):
        ops.csr_matmul(X, np.ones((3, 2), order="F"))
    with pytest.raises(ValueError, match="3 entries but W has 2 units"):
        ops.csr_matmul(X, np.ones((3, 2)), b=np.ones(3))
    with pytest.raises(ValueError, match="shape"):
        ops.csr_matmul(X, np.ones((3, 2)), out=np.empty((3, 3)))
    out = np.empty((3, 2))
    out.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ops.csr_matmul(X, np.ones((3, 2)), out=out)
    R = np.ones((3, 2))
    with pytest.raises(ValueError, match="overlaps"):
        ops.csr_t_matmul(X, R[:, :], out=R)
    with pytest.raises(ValueError, match="overlaps X.data"):
        ops.csr_matmul(X, np.ones((3, 1)), out=X.data.reshape(3, 1))
    with pytest.raises(ValueError, match="n_threads"):
        ops.csr_t_matmul(X, R, n_threads=0)
    with pytest.raises(TypeError, match="intp"):
        ops.csr_take_rows(X, np.array([0, 1], np.int32))
    with pytest.raises(TypeError, match="CSR"):
        ops.csr_take_rows(X, np.array([0, 1]), out=(X.data, X.indices, X.indptr))
