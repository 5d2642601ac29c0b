# Row gathers: out[i] = X[indices[i]], the copy of a shuffled mini-batch into a reused
# buffer, twice per batch (features and labels).
# NOTE: these take plain ndarrays read through NumPy's C API, not typed memoryviews:
# acquiring three memoryviews and dispatching on a fused dtype costs 1 to 1.5 us, five
# times the copy of a 32 x 64 float32 mini-batch itself (about 0.2 us).
# A row is copied as bytes (one memcpy), so one loop serves every dtype; ops.py checks
# dtypes, layout and shapes. The one check made here is the index range, one compare per
# row instead of a min/max pass in Python: every index is checked before any row is
# copied, and on a bad one nothing is written and its position is returned, else -1.
cimport numpy as cnp
from cython.parallel cimport prange
from libc.string cimport memcpy

from fastnn._kernels._math cimport _serial

cnp.import_array()


cdef inline Py_ssize_t _first_bad(
    const Py_ssize_t* indices, Py_ssize_t n, Py_ssize_t n_rows
) noexcept nogil:
    # NOTE: cast to size_t, a negative index becomes huge: one compare tests both ends.
    cdef Py_ssize_t i
    for i in range(n):
        if <size_t>indices[i] >= <size_t>n_rows:
            return i
    return -1


def take_rows(cnp.ndarray X, cnp.ndarray indices, cnp.ndarray out):
    """out[i] = X[indices[i]]; returns the position of the first bad index, or -1.

    X (1-D or 2-D) and out C-contiguous of one dtype, indices 1-D C-contiguous intp.
    """
    cdef Py_ssize_t i, bad
    cdef Py_ssize_t n = cnp.PyArray_DIM(indices, 0), n_rows = cnp.PyArray_DIM(X, 0)
    cdef Py_ssize_t row_len = cnp.PyArray_DIM(X, 1) if cnp.PyArray_NDIM(X) == 2 else 1
    cdef size_t row_bytes = row_len * cnp.PyArray_ITEMSIZE(X)
    cdef const char* src = <const char*>cnp.PyArray_DATA(X)
    cdef const Py_ssize_t* rows = <const Py_ssize_t*>cnp.PyArray_DATA(indices)
    cdef char* dst = <char*>cnp.PyArray_DATA(out)
    with nogil:
        bad = _first_bad(rows, n, n_rows)
        if bad < 0 and row_bytes > 0:
            # NOTE: copies are bound by memory bandwidth, which one core cannot saturate
            # on a large gather (a whole shuffled data set); mini-batches stay serial.
            if _serial(n * row_len):
                for i in range(n):
                    memcpy(dst + i * row_bytes, src + rows[i] * row_bytes, row_bytes)
            else:
                for i in prange(n, schedule="static"):
                    memcpy(dst + i * row_bytes, src + rows[i] * row_bytes, row_bytes)
    return bad
