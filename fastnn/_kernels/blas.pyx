# The kernels that are calls into BLAS (the newest OpenBLAS, _blas.pxd): the dense (fully connected) layer,
# forward Y = X W + b and backward dW = X^T dY, db = column sums of dY, dX = dY W^T,
# each product one GEMM (level 3); and the level-1 sum of squares (dot) and axpy of the
# L2 penalty. _blas.pxd holds the BLAS wrappers, shared with logistic.pyx.
# Arrays are row-major (C-contiguous); BLAS is column-major, and a row-major matrix is
# its transpose in column-major, so every call below swaps its operands:
# row-major C = A B  <=>  column-major C^T = B^T A^T.
# Nothing here validates: ops.py checks shapes (all non-zero, below 2**31) and dtypes.
from cython cimport floating

from fastnn._kernels._blas cimport _axpy, _dot, _gemm


def dense_forward(
    const floating[:, ::1] X,
    const floating[:, ::1] W,
    const floating[::1] b,
    floating[:, ::1] Y,
    bint with_bias,
):
    # Y (n, units) = X (n, d) W (d, units) + b
    # NOTE: b is broadcast into Y first and the GEMM adds onto it (beta = 1): the bias
    # costs one write of Y instead of a separate read-add-write pass after the product.
    cdef Py_ssize_t i, j
    cdef int n = X.shape[0], d = X.shape[1], units = W.shape[1]
    cdef floating beta = 0
    with nogil:
        if with_bias:
            beta = 1
            for i in range(n):
                for j in range(units):
                    Y[i, j] = b[j]
        # Column-major: Y^T (units x n) = W^T (units x d) X^T (d x n).
        _gemm(c"N", c"N", units, n, d, 1, &W[0, 0], units, &X[0, 0], d,
              beta, &Y[0, 0], units)


def dense_backward(
    const floating[:, ::1] X,
    const floating[:, ::1] W,
    const floating[:, ::1] dY,
    floating[:, ::1] dW,
    floating[::1] db,
    floating[:, ::1] dX,
    bint with_bias,
    bint with_dX,
):
    # dW (d, units) = X^T dY; db (units,) = sum of dY's rows; dX (n, d) = dY W^T.
    cdef Py_ssize_t i, j
    cdef int n = X.shape[0], d = X.shape[1], units = W.shape[1]
    with nogil:
        # Column-major: dW^T (units x d) = dY^T (units x n) X (n x d).
        _gemm(c"N", c"T", units, d, n, 1, &dY[0, 0], units, &X[0, 0], d,
              0, &dW[0, 0], units)
        if with_bias:
            for j in range(units):
                db[j] = 0
            for i in range(n):
                for j in range(units):
                    db[j] = db[j] + dY[i, j]
        if with_dX:
            # Column-major: dX^T (d x n) = W (d x units) dY^T (units x n).
            _gemm(c"T", c"N", d, n, units, 1, &W[0, 0], units, &dY[0, 0], units,
                  0, &dX[0, 0], d)


# NOTE: BLAS takes 32-bit lengths; the vector kernels below walk longer vectors in
# chunks of this many elements.
cdef Py_ssize_t _CHUNK = 1 << 30


def sum_of_squares(const floating[::1] v):
    # sum(v**2) as BLAS's dot of v with itself: no temporary. An overflow gives inf,
    # which is what a finiteness test wants. v is not empty.
    cdef Py_ssize_t start = 0, n_total = v.shape[0]
    cdef int n
    cdef double total = 0
    with nogil:
        while start < n_total:
            n = <int>min(_CHUNK, n_total - start)
            total += _dot(n, &v[start], &v[start])
            start += n
    return total


def axpy(const floating[::1] x, floating[::1] y, double alpha):
    # In place: y += alpha x (same length, not empty, not overlapping).
    cdef Py_ssize_t start = 0, n_total = x.shape[0]
    cdef int n
    with nogil:
        while start < n_total:
            n = <int>min(_CHUNK, n_total - start)
            _axpy(n, <floating>alpha, &x[start], &y[start])
            start += n
