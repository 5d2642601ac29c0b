# Activations, forward and backward. Element-wise kernels take C-contiguous 1-D views
# (ops.py flattens N-d arrays without copying) and write into a caller-allocated `out`,
# which may be the input itself. Backward of sigmoid and tanh reads the saved output Y;
# relu and leaky_relu read the input X; elu reads X for the sign and Y to skip an exp.
# Maxout works on rows: unit j of a row owns the `pieces` adjacent columns j*pieces...
# Dropout turns the caller's uniform numbers U into the mask in place and keeps it for
# backward, which is one multiplication by the mask.
# Nothing here validates: ops.py checks shapes, dtypes and index ranges before calling.
from cython cimport floating
from cython.parallel cimport prange

from fastnn._kernels._math cimport _serial, _sigmoid, _tanh, _elu


def sigmoid_forward(const floating[::1] X, floating[::1] out):
    cdef Py_ssize_t i, n = X.shape[0]
    if _serial(n):
        with nogil:
            for i in range(n):
                out[i] = _sigmoid(X[i])
    else:
        for i in prange(n, nogil=True, schedule="static"):
            out[i] = _sigmoid(X[i])


def sigmoid_backward(const floating[::1] Y, const floating[::1] dY, floating[::1] out):
    # dX = dY * y * (1 - y)
    cdef Py_ssize_t i, n = Y.shape[0]
    if _serial(n):
        with nogil:
            for i in range(n):
                out[i] = dY[i] * Y[i] * (<floating>1 - Y[i])
    else:
        for i in prange(n, nogil=True, schedule="static"):
            out[i] = dY[i] * Y[i] * (<floating>1 - Y[i])


def tanh_forward(const floating[::1] X, floating[::1] out):
    cdef Py_ssize_t i, n = X.shape[0]
    if _serial(n):
        with nogil:
            for i in range(n):
                out[i] = _tanh(X[i])
    else:
        for i in prange(n, nogil=True, schedule="static"):
            out[i] = _tanh(X[i])


def tanh_backward(const floating[::1] Y, const floating[::1] dY, floating[::1] out):
    # dX = dY * (1 - y**2)
    cdef Py_ssize_t i, n = Y.shape[0]
    if _serial(n):
        with nogil:
            for i in range(n):
                out[i] = dY[i] * (<floating>1 - Y[i] * Y[i])
    else:
        for i in prange(n, nogil=True, schedule="static"):
            out[i] = dY[i] * (<floating>1 - Y[i] * Y[i])


def relu_forward(const floating[::1] X, floating[::1] out):
    cdef Py_ssize_t i, n = X.shape[0]
    if _serial(n):
        with nogil:
            for i in range(n):
                out[i] = 0 if X[i] <= 0 else X[i]  # NaN stays NaN, as np.maximum
    else:
        for i in prange(n, nogil=True, schedule="static"):
            out[i] = 0 if X[i] <= 0 else X[i]


def relu_backward(const floating[::1] X, const floating[::1] dY, floating[::1] out):
    cdef Py_ssize_t i, n = X.shape[0]
    if _serial(n):
        with nogil:
            for i in range(n):
                out[i] = dY[i] if X[i] > 0 else 0
    else:
        for i in prange(n, nogil=True, schedule="static"):
            out[i] = dY[i] if X[i] > 0 else 0


def leaky_relu_forward(const floating[::1] X, floating alpha, floating[::1] out):
    cdef Py_ssize_t i, n = X.shape[0]
    if _serial(n):
        with nogil:
            for i in range(n):
                out[i] = X[i] if X[i] > 0 else alpha * X[i]
    else:
        for i in prange(n, nogil=True, schedule="static"):
            out[i] = X[i] if X[i] > 0 else alpha * X[i]


def leaky_relu_backward(
    const floating[::1] X, const floating[::1] dY, floating alpha, floating[::1] out
):
    cdef Py_ssize_t i, n = X.shape[0]
    if _serial(n):
        with nogil:
            for i in range(n):
                out[i] = dY[i] if X[i] > 0 else alpha * dY[i]
    else:
        for i in prange(n, nogil=True, schedule="static"):
            out[i] = dY[i] if X[i] > 0 else alpha * dY[i]


def elu_forward(const floating[::1] X, floating alpha, floating[::1] out):
    cdef Py_ssize_t i, n = X.shape[0]
    if _serial(n):
        with nogil:
            for i in range(n):
                out[i] = _elu(X[i], alpha)
    else:
        for i in prange(n, nogil=True, schedule="static"):
            out[i] = _elu(X[i], alpha)


def elu_backward(
    const floating[::1] X,
    const floating[::1] Y,
    const floating[::1] dY,
    floating alpha,
    floating[::1] out,
):
    # NOTE: for x <= 0, d/dx alpha (e**x - 1) = alpha e**x = y + alpha: no second exp.
    cdef Py_ssize_t i, n = X.shape[0]
    if _serial(n):
        with nogil:
            for i in range(n):
                out[i] = dY[i] if X[i] > 0 else dY[i] * (Y[i] + alpha)
    else:
        for i in prange(n, nogil=True, schedule="static"):
            out[i] = dY[i] if X[i] > 0 else dY[i] * (Y[i] + alpha)


def dropout_forward(
    const floating[::1] X, floating[::1] U, floating rate, floating keep_scale,
    floating[::1] out,
):
    # U[i] = 0 where U[i] < rate, else keep_scale = 1 / (1 - rate); out = X * U.
    # NOTE: inverted dropout scales the kept units at training time, so E[out] = X and
    # inference needs no rescaling. The select has no branch, so gcc vectorises it.
    cdef Py_ssize_t i, n = X.shape[0]
    if _serial(n):
        with nogil:
            for i in range(n):
                U[i] = 0 if U[i] < rate else keep_scale
                out[i] = X[i] * U[i]
    else:
        for i in prange(n, nogil=True, schedule="static"):
            U[i] = 0 if U[i] < rate else keep_scale
            out[i] = X[i] * U[i]


def dropout_backward(
    const floating[::1] mask, const floating[::1] dY, floating[::1] out
):
    # dX = dY * mask
    cdef Py_ssize_t i, n = mask.shape[0]
    if _serial(n):
        with nogil:
            for i in range(n):
                out[i] = dY[i] * mask[i]
    else:
        for i in prange(n, nogil=True, schedule="static"):
            out[i] = dY[i] * mask[i]


def maxout_forward(
    const floating[:, ::1] X, Py_ssize_t pieces, floating[:, ::1] out, Py_ssize_t[:, ::1] argmax
):
    # out[i, j] = max_p X[i, j*pieces + p]; argmax[i, j] = the winning column of X.
    # NOTE: ties go to the first piece, so backward routes to one piece only. A NaN
    # wins (the first one, as np.max and np.argmax): `value == value` is false for NaN.
    cdef Py_ssize_t i, j, p, col, best
    cdef Py_ssize_t n = out.shape[0], units = out.shape[1]
    cdef floating value, x
    with nogil:
        for i in range(n):
            for j in range(units):
                best = j * pieces
                value = X[i, best]
                for p in range(1, pieces):
                    col = j * pieces + p
                    x = X[i, col]
                    if x > value or (x != x and value == value):
                        value = x
                        best = col
                out[i, j] = value
                argmax[i, j] = best


def maxout_backward(
    const floating[:, ::1] dY, const Py_ssize_t[:, ::1] argmax, floating[:, ::1] out
):
    # dX is zero except at each unit's winning column, which receives dY.
    cdef Py_ssize_t i, j, k
    cdef Py_ssize_t n = dY.shape[0], units = dY.shape[1], width = out.shape[1]
    with nogil:
        for i in range(n):
            for k in range(width):
                out[i, k] = 0
            for j in range(units):
                out[i, argmax[i, j]] = dY[i, j]
