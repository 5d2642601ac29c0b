# SAG and SAGA epochs for logistic regression (scikit-learn's sag/saga solvers) over the
# rows of a dense X: the sigmoid neuron (W with one column, labels 0/1) or softmax
# (k >= 3 columns), each epoch drawing n_samples rows uniformly with replacement (the
# update is written out in _sag_rows.pxd, which holds the per-row pieces shared with
# sag_csr.pyx). Dense rows take the whole step on every weight, fused into the next
# row's logits (one pass over W per row).
# Nothing here validates: fastnn/ops/_sag.py checks shapes and labels.
from cython cimport floating
from libc.stdint cimport uint64_t

from fastnn._kernels._loss_rows cimport _weighted
from fastnn._kernels._sag_rows cimport (
    CONVERGED, DIVERGED, RAN_ALL, _draw_row, _epoch_end, _prefetch_row, _remember,
    _row_gradient, _soft_threshold, _step_intercept,
)

cdef inline floating _fused_step(
    const floating* x, const floating* x_prev, floating* w, floating* s, Py_ssize_t d,
    floating dg, floating decay, floating correction, floating g_step,
) noexcept nogil:
    # One weight column: the step row x_prev left pending (S += x_prev dg, then
    # w <- decay w - correction x_prev dg - g_step S), returning x . w at the new w.
    # NOTE: the dot product sums in four independent partial sums: one running sum
    # waits on each add's latency; four keep the adder busy (summation order differs
    # from a plain loop by rounding only).
    cdef Py_ssize_t j, top = d - d % 4
    cdef floating v0, v1, v2, v3, s0, s1, s2, s3, w0, w1, w2, w3
    cdef floating z0 = 0, z1 = 0, z2 = 0, z3 = 0
    for j in range(0, top, 4):
        v0 = x_prev[j] * dg
        v1 = x_prev[j + 1] * dg
        v2 = x_prev[j + 2] * dg
        v3 = x_prev[j + 3] * dg
        s0 = s[j] + v0
        s1 = s[j + 1] + v1
        s2 = s[j + 2] + v2
        s3 = s[j + 3] + v3
        s[j], s[j + 1], s[j + 2], s[j + 3] = s0, s1, s2, s3
        w0 = decay * w[j] - correction * v0 - g_step * s0
        w1 = decay * w[j + 1] - correction * v1 - g_step * s1
        w2 = decay * w[j + 2] - correction * v2 - g_step * s2
        w3 = decay * w[j + 3] - correction * v3 - g_step * s3
        w[j], w[j + 1], w[j + 2], w[j + 3] = w0, w1, w2, w3
        z0 = z0 + x[j] * w0
        z1 = z1 + x[j + 1] * w1
        z2 = z2 + x[j + 2] * w2
        z3 = z3 + x[j + 3] * w3
    for j in range(top, d):
        v0 = x_prev[j] * dg
        s0 = s[j] + v0
        s[j] = s0
        w0 = decay * w[j] - correction * v0 - g_step * s0
        w[j] = w0
        z0 = z0 + x[j] * w0
    return (z0 + z1) + (z2 + z3)


cdef inline floating _fused_step_prox(
    const floating* x, const floating* x_prev, floating* w, floating* s, Py_ssize_t d,
    floating dg, floating decay, floating correction, floating g_step, floating prox,
) noexcept nogil:
    # _fused_step followed by the L1 proximal step on each weight.
    cdef Py_ssize_t j
    cdef floating v, sj, wj, z0 = 0, z1 = 0
    for j in range(d):
        v = x_prev[j] * dg
        sj = s[j] + v
        s[j] = sj
        wj = _soft_threshold(decay * w[j] - correction * v - g_step * sj, prox)
        w[j] = wj
        if j % 2 == 0:
            z0 = z0 + x[j] * wj
        else:
            z1 = z1 + x[j] * wj
    return z0 + z1


cdef inline floating _fused_step_column(
    const floating* x, const floating* x_prev, floating* w, floating* s, Py_ssize_t d,
    Py_ssize_t k, floating dg, floating decay, floating correction, floating g_step,
    floating prox,
) noexcept nogil:
    # One class column of a softmax W (stride k): _fused_step, then the L1 proximal
    # step when prox > 0; returns x . w at the new w.
    # NOTE: a class at a time keeps dg and the logit in registers: over all classes
    # per feature, the compiler must reload dg[c] and z[c] after every store to s, w.
    cdef Py_ssize_t j
    cdef floating v, sj, wj, z0 = 0, z1 = 0
    for j in range(d):
        v = x_prev[j] * dg
        sj = s[j * k] + v
        s[j * k] = sj
        wj = decay * w[j * k] - correction * v - g_step * sj
        if prox > 0:
            wj = _soft_threshold(wj, prox)
        w[j * k] = wj
        if j % 2 == 0:
            z0 = z0 + x[j] * wj
        else:
            z1 = z1 + x[j] * wj
    return z0 + z1


def sag_epochs_dense(
    const floating[:, ::1] X, const Py_ssize_t[::1] y, const floating[::1] sample_weight,
    floating weight_scale, floating[:, ::1] W, floating[::1] b,
    floating[:, ::1] memory, floating[:, ::1] S, floating[::1] b_sum,
    unsigned char[::1] seen, Py_ssize_t[::1] n_seen, floating[:, ::1] W_before,
    uint64_t[::1] random_state, floating[::1] scratch,
    double step, double l2, double l1, bint saga, bint fit_intercept, double tol,
    Py_ssize_t n_epochs,
):
    """Run up to n_epochs epochs on a dense X; returns (epochs run, outcome)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k = W.shape[1]
    cdef Py_ssize_t epoch = 0, t, i, i_next, j, c, previous = -1
    cdef floating* w = &W[0, 0]
    cdef floating* s = &S[0, 0]
    cdef floating* z = &scratch[0]
    cdef floating* dg = &scratch[k]
    cdef const floating* x
    cdef const floating* x_prev
    cdef floating weight, n_seen_f, decay, v, wj, sj, dg0, z0, g_step = 0, correction = 0
    cdef floating prox = 0, pending_decay = 1, step_f = <floating>step
    cdef floating prox_step = <floating>(step * l1) if saga else 0
    cdef bint has_weights = sample_weight.shape[0] > 0, converged = False
    cdef int outcome = RAN_ALL
    cdef double loss
    with nogil:
        decay = <floating>(1 - step * l2)
        while epoch < n_epochs:
            loss = 0
            previous = -1
            i_next = _draw_row(&random_state[0], n)
            for t in range(n + 1):
                # Row t's logits, fused with the step that row `previous` left pending.
                i = i_next
                if t + 1 < n:
                    i_next = _draw_row(&random_state[0], n)
                    _prefetch_row(&X[i_next, 0], d * sizeof(floating))
                x = &X[i, 0]
                for c in range(k):
                    z[c] = 0
                if previous >= 0:
                    x_prev = &X[previous, 0]
                    if k == 1:
                        # NOTE: the logit sums in a local and dg[0] is read once: through
                        # the pointers the compiler must assume every store to s or w
                        # may change them, and reload and store them per element.
                        dg0 = dg[0]
                        if prox > 0:
                            z[0] = _fused_step_prox(x, x_prev, w, s, d, dg0, pending_decay,
                                                    correction, g_step, prox)
                        else:
                            z[0] = _fused_step(x, x_prev, w, s, d, dg0, pending_decay,
                                               correction, g_step)
                    else:
                        for c in range(k):
                            z[c] = _fused_step_column(x, x_prev, w + c, s + c, d, k, dg[c],
                                                      pending_decay, correction, g_step,
                                                      prox)
                else:
                    for j in range(d):
                        for c in range(k):
                            z[c] = z[c] + x[j] * w[j * k + c]
                if t == n:
                    break  # the last row's step is taken; the epoch is over
                if not seen[i]:
                    seen[i] = 1
                    n_seen[0] = n_seen[0] + 1
                n_seen_f = <floating>n_seen[0]
                for c in range(k):
                    z[c] = z[c] + (b[c] if fit_intercept else 0)
                weight = (sample_weight[i] if has_weights else 1) * weight_scale
                loss = loss + _weighted(weight, <floating>_row_gradient(z, y[i], weight, k))
                for c in range(k):
                    dg[c] = z[c]
                _remember(dg, &memory[i, 0], k)
                # NOTE: SAGA's unbiasing term uses (1 - 1/seen): scikit-learn's form,
                # which is 0 for the first row and tends to 1.
                correction = step_f * (1 - 1 / n_seen_f) if saga else 0
                g_step = step_f / n_seen_f
                if fit_intercept:
                    _step_intercept(&b[0], &b_sum[0], dg, k, g_step, 1, correction)
                pending_decay = decay
                prox = prox_step
                previous = i
            epoch = epoch + 1
            if not _epoch_end(w, &W_before[0, 0], d * k, &b[0], k, loss, tol, &converged):
                outcome = DIVERGED
                break
            if converged:
                outcome = CONVERGED
                break
    return epoch, outcome


def max_row_norm_dense(const floating[:, ::1] X):
    """max_i ||x_i||^2 in float64."""
    cdef Py_ssize_t i, j
    cdef double top = 0, total, v
    with nogil:
        for i in range(X.shape[0]):
            total = 0
            for j in range(X.shape[1]):
                v = X[i, j]
                total = total + v * v
            top = total if total > top else top
    return top
