# Optimizer updates, in place, in one pass over a parameter's flat C-contiguous view.
# Each folds an optional L2 term into the gradient on the fly: g = G + l2 * W.
# SGD:       W -= lr g
# Momentum:  V = mu V - lr g;  W += V               (Keras and scikit-learn's form)
# Nesterov:  V = mu V - lr g;  W += mu V - lr g
# Adam:      M = b1 M + (1 - b1) g;  S = b2 S + (1 - b2) g**2;  W -= lr_t M / (sqrt(S) + eps)
#            with the bias correction already folded into lr_t by ops.py.
# Nothing here validates: ops.py checks that every array has the same size and dtype.
from cython cimport floating
from cython.parallel cimport prange

from fastnn._kernels._math cimport _serial, _sqrt


def sgd_update(floating[::1] W, const floating[::1] G, floating lr, floating l2):
    cdef Py_ssize_t i, n = W.shape[0]
    if _serial(n):
        with nogil:
            for i in range(n):
                W[i] = W[i] - lr * (G[i] + l2 * W[i])
    else:
        for i in prange(n, nogil=True, schedule="static"):
            W[i] = W[i] - lr * (G[i] + l2 * W[i])


def momentum_update(
    floating[::1] W,
    const floating[::1] G,
    floating[::1] V,
    floating lr,
    floating momentum,
    bint nesterov,
    floating l2,
):
    cdef Py_ssize_t i, n = W.shape[0]
    cdef floating step, v
    if nesterov:
        if _serial(n):
            with nogil:
                for i in range(n):
                    step = lr * (G[i] + l2 * W[i])
                    v = momentum * V[i] - step
                    V[i] = v
                    W[i] = W[i] + (momentum * v - step)
        else:
            for i in prange(n, nogil=True, schedule="static"):
                step = lr * (G[i] + l2 * W[i])
                v = momentum * V[i] - step
                V[i] = v
                W[i] = W[i] + (momentum * v - step)
    else:
        if _serial(n):
            with nogil:
                for i in range(n):
                    v = momentum * V[i] - lr * (G[i] + l2 * W[i])
                    V[i] = v
                    W[i] = W[i] + v
        else:
            for i in prange(n, nogil=True, schedule="static"):
                v = momentum * V[i] - lr * (G[i] + l2 * W[i])
                V[i] = v
                W[i] = W[i] + v


def adam_update(
    floating[::1] W,
    const floating[::1] G,
    floating[::1] M,
    floating[::1] S,
    floating lr_t,
    floating beta_1,
    floating beta_2,
    floating epsilon,
    floating l2,
):
    cdef Py_ssize_t i, n = W.shape[0]
    cdef floating g, m, s
    if _serial(n):
        with nogil:
            for i in range(n):
                g = G[i] + l2 * W[i]
                m = beta_1 * M[i] + (<floating>1 - beta_1) * g
                s = beta_2 * S[i] + (<floating>1 - beta_2) * g * g
                M[i] = m
                S[i] = s
                W[i] = W[i] - lr_t * m / (_sqrt(s) + epsilon)
    else:
        for i in prange(n, nogil=True, schedule="static"):
            g = G[i] + l2 * W[i]
            m = beta_1 * M[i] + (<floating>1 - beta_1) * g
            s = beta_2 * S[i] + (<floating>1 - beta_2) * g * g
            M[i] = m
            S[i] = s
            W[i] = W[i] - lr_t * m / (_sqrt(s) + epsilon)
