# Per-row maths of softmax and the losses, shared by losses.pyx (softmax, the losses)
# and logistic.pyx (LogisticRegression's epochs and L-BFGS objective): one
# `cdef inline ... noexcept nogil` function per row of k logits or outputs, inlined into
# their loops. A loss returns the row's loss and, when `grad` is not NULL, writes its
# gradient with respect to the row (`grad` may be the row itself: each reads what it
# needs first).
from cython cimport floating

from fastnn._kernels._math cimport _exp_nonpos, _log, _log1p


cdef inline floating _weighted(floating weight, floating loss) noexcept nogil:
    # NOTE: a sample of weight 0 contributes 0 even where its loss overflowed to inf
    # (0 * inf is NaN): a weight of 0 removes a sample.
    return 0 if weight == 0 else weight * loss


cdef inline floating _row_max(const floating* z, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t c
    cdef floating m = z[0]
    for c in range(1, k):
        m = z[c] if z[c] > m else m
    return m


cdef inline floating _row_exp_sum(
    const floating* z, floating m, floating* out, Py_ssize_t k
) noexcept nogil:
    # out[c] = exp(z[c] - m) (when out is not NULL); returns their sum.
    # NOTE: subtracting the row max m makes every exponent <= 0, so exp never overflows,
    # and the max term contributes exactly 1, so the sum is >= 1 and log(sum) >= 0.
    cdef Py_ssize_t c
    cdef floating e, s = 0
    for c in range(k):
        e = _exp_nonpos(z[c] - m)
        if out != NULL:
            out[c] = e
        s = s + e
    return s


cdef inline void _row_softmax(const floating* z, floating* out, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t c
    cdef floating m = _row_max(z, k)
    cdef floating inv = <floating>1 / _row_exp_sum(z, m, out, k)
    for c in range(k):
        out[c] = out[c] * inv


cdef inline void _row_log_softmax(
    const floating* z, floating* out, Py_ssize_t k
) noexcept nogil:
    # NOTE: log p = (z - m) - log sum exp(z - m): never the log of an underflowed p, and
    # z - m is taken first so huge logits keep the precision of their differences.
    cdef Py_ssize_t c
    cdef floating m = _row_max(z, k)
    cdef floating log_sum = _log(_row_exp_sum(z, m, NULL, k))
    for c in range(k):
        out[c] = (z[c] - m) - log_sum


cdef inline floating _row_ce_label(
    const floating* z, Py_ssize_t label, floating coef, floating* grad, Py_ssize_t k,
) noexcept nogil:
    # loss = logsumexp(z) - z[label]; grad = coef * (softmax(z) - onehot(label)).
    # z and grad may be one row: z[label] is read before the exp pass overwrites it.
    cdef Py_ssize_t c
    cdef floating m = _row_max(z, k)
    cdef floating z_label = z[label]
    cdef floating s = _row_exp_sum(z, m, grad, k)
    cdef floating scaled
    if grad != NULL:
        scaled = coef / s
        for c in range(k):
            grad[c] = grad[c] * scaled
        grad[label] = grad[label] - coef
    return (m - z_label) + _log(s)


cdef inline floating _row_ce_target(
    const floating* z, const floating* y, floating weight, floating scale,
    floating* grad, Py_ssize_t k,
) noexcept nogil:
    # loss = sum_c y_c (logsumexp(z) - z_c); grad = scale * weight * (softmax(z) sum(y) - y).
    # NOTE: sum_c y_c (z_c - m) keeps magnitudes small when logits are huge; a class with
    # y_c = 0 contributes nothing even where z_c - m overflows to -inf (0 * -inf is NaN).
    cdef Py_ssize_t c
    cdef floating m = _row_max(z, k)
    cdef floating y_sum = 0, yz_sum = 0, s, coef
    for c in range(k):
        y_sum = y_sum + y[c]
        yz_sum = yz_sum + (y[c] * (z[c] - m) if y[c] != 0 else 0)
    s = _row_exp_sum(z, m, grad, k)
    if grad != NULL:
        coef = scale * weight * y_sum / s
        for c in range(k):
            grad[c] = grad[c] * coef - scale * weight * y[c]
    return _weighted(weight, y_sum * _log(s) - yz_sum)


cdef inline floating _exp_neg_abs(floating z) noexcept nogil:
    # NOTE: e = exp(-|z|) is in (0, 1]: it never overflows, and the log-loss
    # log1p(e) and the sigmoid of z are both written with it (one exp for the two).
    cdef floating az = z if z >= 0 else -z
    return _exp_nonpos(-az)


cdef inline floating _sigmoid_given(floating z, floating e) noexcept nogil:
    # sigmoid(z) from e = exp(-|z|): 1 / (1 + e) for z >= 0, e / (1 + e) below.
    return (1 if z >= 0 else e) / (<floating>1 + e)


cdef inline floating _row_bce(
    const floating* z, const floating* y, floating weight, floating scale,
    floating* grad, Py_ssize_t k,
) noexcept nogil:
    # Per output: loss = max(z, 0) - y z + log(1 + exp(-|z|)); grad = sigmoid(z) - y.
    # NOTE: this is -y log(sigmoid z) - (1 - y) log(1 - sigmoid z) rewritten so that
    # exp only sees -|z| <= 0 and log never sees 0; one exp serves loss and gradient.
    cdef Py_ssize_t c
    cdef floating zc, e, loss = 0
    for c in range(k):
        zc = z[c]
        e = _exp_neg_abs(zc)
        loss = loss + ((zc if zc > 0 else 0) - y[c] * zc + _log1p(e))
        if grad != NULL:
            grad[c] = scale * weight * (_sigmoid_given(zc, e) - y[c])
    return _weighted(weight, loss)


cdef inline floating _row_bce_label(
    floating* z, Py_ssize_t label, floating coef
) noexcept nogil:
    # One logit and a label 0/1 (the sigmoid neuron): returns -log p(label), and z[0]
    # becomes coef * (sigmoid(z) - label).
    # NOTE: _row_bce's loss with y in {0, 1}: max(z, 0) - y z is max(+-z, 0), so a logit
    # that overflowed to inf gives an inf loss (divergence), not inf - inf = NaN.
    cdef floating zc = z[0]
    cdef floating y = 1 if label == 1 else 0
    cdef floating e = _exp_neg_abs(zc)
    z[0] = coef * (_sigmoid_given(zc, e) - y)
    zc = -zc if label == 1 else zc
    return (zc if zc > 0 else 0) + _log1p(e)


cdef inline void _row_softmax_backward(
    const floating* y, const floating* dy, floating* out, Py_ssize_t k
) noexcept nogil:
    # dx = y * (dy - sum_c dy_c y_c); out may be dy (the sum is taken before any write).
    # NOTE: this is the Jacobian diag(y) - y y^T applied to dy without forming it:
    # O(k) per row instead of O(k**2).
    cdef Py_ssize_t c
    cdef floating dot = 0
    for c in range(k):
        dot = dot + dy[c] * y[c]
    for c in range(k):
        out[c] = y[c] * (dy[c] - dot)


cdef inline floating _row_squared_error(
    const floating* p, const floating* y, floating weight, floating scale,
    floating* grad, Py_ssize_t k,
) noexcept nogil:
    # loss = weight * mean_c (p_c - y_c)**2; grad = scale * weight * 2 (p - y) / k.
    # NOTE: 2 scale weight / k is formed first and then multiplies p - y: with k > 2 a
    # difference near the float max still gives a finite gradient (2 (p - y) overflows).
    cdef Py_ssize_t c
    cdef floating d, loss = 0
    cdef floating coef = <floating>2 * scale * weight / <floating>k
    for c in range(k):
        d = p[c] - y[c]
        loss = loss + d * d
        if grad != NULL:
            grad[c] = coef * d
    return _weighted(weight, loss / <floating>k)
