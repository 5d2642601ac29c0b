"""Property-based fuzzing of fastnn.ops.sparse: CSR matrices built from raw arrays and
then corrupted (negative or out-of-range column indices, a decreasing or shifted
``indptr``, truncated arrays, NaN or inf among the stored values, index arrays of the
wrong type, layout or dtype) go to every CSR op. A matrix that a plain Python reading
of the CSR format finds valid must give the dense twin's products; any other must
raise ValueError or TypeError, never crash (the kernels read through the indices
unchecked, so a bad one that got through would read out of bounds)."""

import numpy as np
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from fastnn import ops

from _fuzz import CLEAN_ERRORS, FLOATS, fuzz, strict

CORRUPTIONS = [
    None, None, None, "negative index", "index past the end", "index in the tail",
    "decreasing indptr", "indptr start", "indptr past the data", "short data",
    "short indices", "short indptr", "long indptr", "nan", "inf", "nan in the tail",
    "float indices", "uint indices", "strided indices", "2-D indptr",
    "mixed index dtypes",
    "huge int64 indptr", "list data",
]


@st.composite
def corrupt_csr(draw):
    """(X, shape, data, indices, indptr, corruption) with raw arrays set on X."""
    n = draw(st.integers(0, 6))
    d = draw(st.integers(0, 6))
    dtype = draw(st.sampled_from(FLOATS))
    index = draw(st.sampled_from([np.int32, np.int64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    lengths = rng.integers(0, 4, n) if d else np.zeros(n, int)
    nnz = int(lengths.sum())
    tail = draw(st.integers(0, 2))
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(index)
    indices = rng.integers(0, max(d, 1), nnz + tail).astype(index)
    data = rng.standard_normal(nnz + tail).astype(dtype)
    kind = draw(st.sampled_from(CORRUPTIONS))
    at = draw(st.integers(0, 10**6))
    if kind == "negative index" and nnz:
        indices[at % nnz] = -1 - at % 3
    elif kind == "index past the end" and nnz:
        indices[at % nnz] = d + at % 3
    elif kind == "index in the tail" and tail:
        indices[nnz] = -5  # unused: still valid
    elif kind == "decreasing indptr" and n >= 1:
        indptr[1 + at % n] = indptr[at % n] - 1 - at % 2
    elif kind == "indptr start":
        indptr[0] = 1
    elif kind == "indptr past the data":
        indptr[-1] += tail + 1
    elif kind == "short data":
        data = data[: max(0, nnz - 1 - at % 2)]
    elif kind == "short indices":
        indices = indices[: max(0, nnz - 1)]
    elif kind == "short indptr":
        indptr = indptr[:-1]
    elif kind == "long indptr":
        indptr = np.append(indptr, indptr[-1])
    elif kind == "nan" and nnz:
        data[at % nnz] = np.nan
    elif kind == "inf" and nnz:
        data[at % nnz] = -np.inf if at % 2 else np.inf
    elif kind == "nan in the tail" and tail:
        data[-1] = np.nan  # unused: still valid
    elif kind == "float indices":
        indices = indices.astype(np.float64)
    elif kind == "uint indices":
        indices = indices.astype(np.uint32)
    elif kind == "strided indices":
        indices = np.repeat(indices, 2)[::2]
    elif kind == "2-D indptr":
        indptr = indptr.reshape(1, -1)
    elif kind == "mixed index dtypes":
        indptr = indptr.astype(np.int64 if index == np.int32 else np.int32)
    elif kind == "huge int64 indptr" and n >= 1:
        indptr = indptr.astype(np.int64)
        indices = indices.astype(np.int32)
        indptr[1:] += 2**32  # wraps to the valid values when cast to int32
        indptr[1:] -= 2**32 * (at % 2)
    elif kind == "list data":
        data = data.tolist()
    X = sp.csr_matrix((max(n, 0), d), dtype=dtype)
    X.data, X.indices, X.indptr = data, indices, indptr
    return X, (n, d), data, indices, indptr


def python_valid(shape, data, indices, indptr):
    """The CSR format read in plain Python: whether every op may accept X."""
    n, d = shape
    if not all(isinstance(a, np.ndarray) for a in (data, indices, indptr)):
        return False
    if data.dtype not in FLOATS or data.ndim != 1:
        return False
    if any(a.dtype not in (np.int32, np.int64) or a.ndim != 1
           or not a.flags.c_contiguous for a in (indices, indptr)):
        return False
    if indptr.shape[0] != n + 1 or indptr[0] != 0:
        return False
    if indptr.dtype != indices.dtype and int(indptr.max()) >= 2**31:
        return False
    pointers = [int(p) for p in indptr]
    if any(b < a for a, b in zip(pointers, pointers[1:])):
        return False
    end = pointers[-1]
    if end > len(data) or end > len(indices):
        return False
    return all(0 <= int(j) < d for j in indices[:end]) and bool(
        np.isfinite(data[:end]).all())


def dense_of(shape, data, indices, indptr):
    dense = np.zeros(shape)
    for i in range(shape[0]):
        for p in range(int(indptr[i]), int(indptr[i + 1])):
            dense[i, int(indices[p])] += float(data[p])
    return dense


@fuzz()
@given(case=corrupt_csr(), k=st.integers(1, 4), which=st.sampled_from(
    ["matmul", "t_matmul", "t_matmul_parts", "transpose", "take_rows", "rows_buffer"]))
def test_corrupt_csr_is_refused_and_valid_csr_is_right(case, k, which):
    X, shape, data, indices, indptr = case
    n, d = shape
    valid = python_valid(shape, data, indices, indptr)
    dtype = data.dtype if isinstance(data, np.ndarray) and data.dtype in FLOATS else (
        np.dtype(np.float64))
    W = np.linspace(-1, 1, d * k).reshape(d, k).astype(dtype)
    R = np.linspace(-2, 2, n * k).reshape(n, k).astype(dtype)
    calls = {
        "matmul": lambda: ops.csr_matmul(X, W),
        "t_matmul": lambda: ops.csr_t_matmul(X, R),
        "t_matmul_parts": lambda: ops.csr_t_matmul(X, R, n_threads=3),
        "transpose": lambda: ops.csr_matmul(ops.csr_transpose(X), R),
        "take_rows": lambda: ops.csr_take_rows(X, np.arange(n)),
        "rows_buffer": lambda: ops.csr_rows_buffer(X, max(n, 1)),
    }
    try:
        with strict():
            result = calls[which]()
    except CLEAN_ERRORS as error:
        assert not valid, f"a valid matrix was refused: {error!r}"
        return
    assert valid, "a malformed matrix was accepted"
    dense = dense_of(shape, data, indices, indptr)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    if which == "matmul":
        np.testing.assert_allclose(result, dense @ W, rtol=tol, atol=tol)
    elif which in ("t_matmul", "t_matmul_parts", "transpose"):
        np.testing.assert_allclose(result, dense.T @ R, rtol=tol, atol=tol)
    elif which == "take_rows":
        np.testing.assert_allclose(
            dense_of(shape, result.data, result.indices, result.indptr), dense,
            rtol=tol, atol=tol,
        )
