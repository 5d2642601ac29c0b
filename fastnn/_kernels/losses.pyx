# Softmax, log-softmax and its backward, the cross-entropy losses computed from logits
# and the squared error, row by row. Each loss writes the per-sample loss (times its
# sample weight) and, in the same pass, the gradient with respect to its first input
# (logits or predictions), times `scale * weight` (scale is typically 1 / batch_size).
# `grad` may be that input array itself: every row reads what it needs before it writes.
# An empty `sample_weight` means unweighted; `with_grad=False` skips the gradient
# (evaluation). Nothing here validates: ops.py checks labels are in range.
from cython cimport floating
from cython.parallel cimport prange

from fastnn._kernels._math cimport _exp_nonpos, _log, _log1p, _serial


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
    const floating* z, Py_ssize_t label, floating weight, floating scale,
    floating* grad, Py_ssize_t k,
) noexcept nogil:
    # loss = logsumexp(z) - z[label]; grad = scale * weight * (softmax(z) - onehot).
    cdef Py_ssize_t c
    cdef floating m = _row_max(z, k)
    cdef floating z_label = z[label]
    cdef floating s = _row_exp_sum(z, m, grad, k)
    cdef floating coef
    if grad != NULL:
        coef = scale * weight / s
        for c in range(k):
            grad[c] = grad[c] * coef
        grad[label] = grad[label] - scale * weight
    return _weighted(weight, (m - z_label) + _log(s))


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


cdef inline floating _row_bce(
    const floating* z, const floating* y, floating weight, floating scale,
    floating* grad, Py_ssize_t k,
) noexcept nogil:
    # Per output: loss = max(z, 0) - y z + log(1 + exp(-|z|)); grad = sigmoid(z) - y.
    # NOTE: this is -y log(sigmoid z) - (1 - y) log(1 - sigmoid z) rewritten so that
    # exp only sees -|z| <= 0 and log never sees 0; one exp serves loss and gradient.
    cdef Py_ssize_t c
    cdef floating zc, az, e, loss = 0
    for c in range(k):
        zc = z[c]
        az = zc if zc >= 0 else -zc
        e = _exp_nonpos(-az)
        loss = loss + ((zc if zc > 0 else 0) - y[c] * zc + _log1p(e))
        if grad != NULL:
            grad[c] = scale * weight * ((1 if zc >= 0 else e) / (<floating>1 + e) - y[c])
    return _weighted(weight, loss)


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


def softmax_forward(const floating[:, ::1] logits, floating[:, ::1] out):
    cdef Py_ssize_t i, n = logits.shape[0], k = logits.shape[1]
    if _serial(n * k):
        with nogil:
            for i in range(n):
                _row_softmax(&logits[i, 0], &out[i, 0], k)
    else:
        for i in prange(n, nogil=True, schedule="static"):
            _row_softmax(&logits[i, 0], &out[i, 0], k)


def log_softmax_forward(const floating[:, ::1] logits, floating[:, ::1] out):
    cdef Py_ssize_t i, n = logits.shape[0], k = logits.shape[1]
    if _serial(n * k):
        with nogil:
            for i in range(n):
                _row_log_softmax(&logits[i, 0], &out[i, 0], k)
    else:
        for i in prange(n, nogil=True, schedule="static"):
            _row_log_softmax(&logits[i, 0], &out[i, 0], k)


def softmax_cross_entropy_labels(
    const floating[:, ::1] logits,
    const Py_ssize_t[::1] labels,
    const floating[::1] sample_weight,
    floating scale,
    floating[::1] loss,
    floating[:, ::1] grad,
    bint with_grad,
):
    """Returns -1, or the position of the first label outside [0, n_classes), in which
    case nothing is written (the caller raises)."""
    cdef Py_ssize_t i, bad = -1, n = logits.shape[0], k = logits.shape[1]
    cdef bint weighted = sample_weight.shape[0] > 0
    # NOTE: the range check lives here, not in Python: two NumPy reductions per
    # mini-batch cost more than this whole kernel on a 32 x 10 batch.
    with nogil:
        for i in range(n):
            if labels[i] < 0 or labels[i] >= k:
                bad = i
                break
    if bad >= 0:
        return bad
    if _serial(n * k):
        with nogil:
            for i in range(n):
                loss[i] = _row_ce_label(
                    &logits[i, 0], labels[i], sample_weight[i] if weighted else 1, scale,
                    &grad[i, 0] if with_grad else NULL, k,
                )
    else:
        for i in prange(n, nogil=True, schedule="static"):
            loss[i] = _row_ce_label(
                &logits[i, 0], labels[i], sample_weight[i] if weighted else 1, scale,
                &grad[i, 0] if with_grad else NULL, k,
            )
    return -1


def softmax_cross_entropy_targets(
    const floating[:, ::1] logits,
    const floating[:, ::1] Y,
    const floating[::1] sample_weight,
    floating scale,
    floating[::1] loss,
    floating[:, ::1] grad,
    bint with_grad,
):
    cdef Py_ssize_t i, n = logits.shape[0], k = logits.shape[1]
    cdef bint weighted = sample_weight.shape[0] > 0
    if _serial(n * k):
        with nogil:
            for i in range(n):
                loss[i] = _row_ce_target(
                    &logits[i, 0], &Y[i, 0], sample_weight[i] if weighted else 1, scale,
                    &grad[i, 0] if with_grad else NULL, k,
                )
    else:
        for i in prange(n, nogil=True, schedule="static"):
            loss[i] = _row_ce_target(
                &logits[i, 0], &Y[i, 0], sample_weight[i] if weighted else 1, scale,
                &grad[i, 0] if with_grad else NULL, k,
            )


def binary_cross_entropy(
    const floating[:, ::1] logits,
    const floating[:, ::1] Y,
    const floating[::1] sample_weight,
    floating scale,
    floating[::1] loss,
    floating[:, ::1] grad,
    bint with_grad,
):
    cdef Py_ssize_t i, n = logits.shape[0], k = logits.shape[1]
    cdef bint weighted = sample_weight.shape[0] > 0
    if _serial(n * k):
        with nogil:
            for i in range(n):
                loss[i] = _row_bce(
                    &logits[i, 0], &Y[i, 0], sample_weight[i] if weighted else 1, scale,
                    &grad[i, 0] if with_grad else NULL, k,
                )
    else:
        for i in prange(n, nogil=True, schedule="static"):
            loss[i] = _row_bce(
                &logits[i, 0], &Y[i, 0], sample_weight[i] if weighted else 1, scale,
                &grad[i, 0] if with_grad else NULL, k,
            )


def softmax_backward(
    const floating[:, ::1] Y, const floating[:, ::1] dY, floating[:, ::1] out
):
    cdef Py_ssize_t i, n = Y.shape[0], k = Y.shape[1]
    if _serial(n * k):
        with nogil:
            for i in range(n):
                _row_softmax_backward(&Y[i, 0], &dY[i, 0], &out[i, 0], k)
    else:
        for i in prange(n, nogil=True, schedule="static"):
            _row_softmax_backward(&Y[i, 0], &dY[i, 0], &out[i, 0], k)


def squared_error(
    const floating[:, ::1] pred,
    const floating[:, ::1] Y,
    const floating[::1] sample_weight,
    floating scale,
    floating[::1] loss,
    floating[:, ::1] grad,
    bint with_grad,
):
    # k >= 1: ops.py writes a zero loss itself when there are no outputs.
    cdef Py_ssize_t i, n = pred.shape[0], k = pred.shape[1]
    cdef bint weighted = sample_weight.shape[0] > 0
    if _serial(n * k):
        with nogil:
            for i in range(n):
                loss[i] = _row_squared_error(
                    &pred[i, 0], &Y[i, 0], sample_weight[i] if weighted else 1, scale,
                    &grad[i, 0] if with_grad else NULL, k,
                )
    else:
        for i in prange(n, nogil=True, schedule="static"):
            loss[i] = _row_squared_error(
                &pred[i, 0], &Y[i, 0], sample_weight[i] if weighted else 1, scale,
                &grad[i, 0] if with_grad else NULL, k,
            )
