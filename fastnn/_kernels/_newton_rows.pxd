# Per-row maths of the Newton solvers' passes, shared by their dense and CSR loops: a
# row's logits to probabilities and loss, its gradient coefficient, its k x k curvature
# and that curvature applied to a vector, each a `cdef inline ... noexcept nogil`
# function inlined into the loops; and the pass modes (LOSS, GRADIENT, HESSIAN).
from cython cimport floating

from fastnn._kernels._loss_rows cimport (
    _exp_neg_abs, _row_exp_sum, _row_max, _sigmoid_given,
)
from fastnn._kernels._math cimport _log, _log1p

cdef enum:
    LOSS = 0
    GRADIENT = 1
    HESSIAN = 2


cdef inline floating _row_proba_loss(
    floating* z, Py_ssize_t label, Py_ssize_t k
) noexcept nogil:
    # The row's logits z become its probabilities (k = 1: p of class 1); returns
    # -log p(label).
    cdef Py_ssize_t c
    cdef floating zc, e, m, s, inv
    if k == 1:
        # NOTE: exp only sees -|z| and log1p(e) is the loss for either label, as in
        # _loss_rows._row_bce_label (loss max(+-z, 0) + log1p(exp(-|z|))).
        zc = z[0]
        e = _exp_neg_abs(zc)
        z[0] = _sigmoid_given(zc, e)
        zc = -zc if label == 1 else zc
        return (zc if zc > 0 else 0) + _log1p(e)
    # NOTE: softmax with the row max subtracted (no overflow); the loss is
    # (m - z_label) + log sum exp(z - m), never the log of an underflowed p.
    m = _row_max(z, k)
    zc = z[label]
    s = _row_exp_sum(z, m, z, k)
    inv = <floating>1 / s
    for c in range(k):
        z[c] = z[c] * inv
    return (m - zc) + _log(s)


cdef inline void _row_gradient(
    floating* p, Py_ssize_t label, floating coef, Py_ssize_t k
) noexcept nogil:
    # p becomes coef * (p - onehot(label)).
    cdef Py_ssize_t c
    if k == 1:
        p[0] = coef * (p[0] - (1 if label == 1 else 0))
        return
    for c in range(k):
        p[c] = coef * p[c]
    p[label] = p[label] - coef


cdef inline void _row_curvature(
    const floating* p, floating coef, floating* A, Py_ssize_t k
) noexcept nogil:
    # A (k x k) = coef (diag(p) - p p^T), the row's Hessian of the loss in its logits
    # (k = 1: coef p (1 - p)).
    cdef Py_ssize_t c, e
    if k == 1:
        A[0] = coef * p[0] * (<floating>1 - p[0])
        return
    for c in range(k):
        for e in range(k):
            A[c * k + e] = -coef * p[c] * p[e]
        A[c * k + c] = A[c * k + c] + coef * p[c]



cdef inline void _row_hessp(
    floating* z, const floating* p, floating coef, Py_ssize_t k
) noexcept nogil:
    # z (the row's logits of the direction) becomes coef (diag(p) - p p^T) z.
    # NOTE: the k x k curvature applied without forming it: O(k) per row.
    cdef Py_ssize_t c
    cdef floating dot = 0
    if k == 1:
        z[0] = coef * p[0] * (<floating>1 - p[0]) * z[0]
        return
    for c in range(k):
        dot = dot + p[c] * z[c]
    for c in range(k):
        z[c] = coef * p[c] * (z[c] - dot)
