# SAG and SAGA epochs for logistic regression (scikit-learn's sag/saga solvers) over the
# rows of a CSR matrix (int32 or int64 indices): the sigmoid neuron (W with one column,
# labels 0/1) or softmax (k >= 3 columns), each epoch drawing n_samples rows uniformly
# with replacement (the update is written out in _sag_rows.pxd, which holds the per-row
# pieces shared with sag_dense.pyx). CSR rows take the step just in time: a weight is
# only brought up to date when a row that reads it is drawn (cumulative step sums, see
# _catch_up).
# Nothing here validates: fastnn/ops/_sag.py checks shapes, labels and CSR indices.
from cython cimport floating
from libc.math cimport fabs
from libc.stdint cimport int32_t, int64_t, uint64_t

from fastnn._kernels._loss_rows cimport _weighted
from fastnn._kernels._sag_rows cimport (
    CONVERGED, DIVERGED, RAN_ALL, _draw_row, _epoch_end, _prefetch_row, _remember,
    _row_gradient, _soft_threshold, _step_intercept,
)

ctypedef fused csr_index:
    int32_t
    int64_t


cdef inline void _prefetch_csr_row(
    const floating* data, const csr_index* indices, const csr_index* indptr,
    const floating* memory, Py_ssize_t i, Py_ssize_t k,
) noexcept nogil:
    # Ask for row i's values, column indices and gradient memory before they are read.
    cdef Py_ssize_t start = indptr[i], nnz = indptr[i + 1] - indptr[i]
    _prefetch_row(data + start, nnz * <Py_ssize_t>sizeof(floating))
    _prefetch_row(indices + start, nnz * <Py_ssize_t>sizeof(csr_index))
    _prefetch_row(memory + i * k, k * <Py_ssize_t>sizeof(floating))


cdef inline floating _prox_catch_up(
    floating w, floating g, const floating* C, const floating* P,
    const Py_ssize_t* seen_at, Py_ssize_t h, Py_ssize_t t, floating l1,
) noexcept nogil:
    # The steps h+1..t of one weight w (stored units) whose gradient sum g did not
    # change: w <- soft(w - g (C[s] - C[s-1]), P[s] - P[s-1]) for each s.
    # NOTE: with u_s = g (C[s] - C[s-1]) and p_s = P[s] - P[s-1], u_s / p_s is
    # g / (l1 seen_s): when |u_s| <= p_s at every step the steps compose to one
    # soft(w - U, P) (the weight is pulled to 0 and held; lightning's shortcut); when
    # |u_s| >= p_s at every step the weight crosses 0 at most once, found by a binary
    # search on the monotone C and P. Only a window over which `seen` grew through
    # |g| / l1 takes the steps one by one, as scikit-learn does for every window.
    cdef floating sign = 1, U, v, p_cross, a
    cdef Py_ssize_t lo, hi, mid, s
    a = fabs(g)
    if a <= l1 * <floating>seen_at[h + 1]:
        v = w - g * (C[t] - C[h])
        return _soft_threshold(v, P[t] - P[h])
    if a < l1 * <floating>seen_at[t]:
        for s in range(h + 1, t + 1):
            w = _soft_threshold(w - g * (C[s] - C[s - 1]), P[s] - P[s - 1])
        return w
    if g < 0:  # mirror so that the drift -g is downwards
        sign, w, g = -1, -w, -g
    if w > 0:
        # the first s with w - g (C[s] - C[h]) - (P[s] - P[h]) <= 0: the step landing
        # at or past 0
        U = w + g * C[h] + P[h]
        lo, hi = h + 1, t + 1
        while lo < hi:
            mid = (lo + hi) // 2
            if g * C[mid] + P[mid] >= U:
                hi = mid
            else:
                lo = mid + 1
        if lo > t:
            return sign * (w - g * (C[t] - C[h]) - (P[t] - P[h]))
        v = w - g * (C[lo] - C[h]) - (P[lo - 1] - P[h])
        p_cross = P[lo] - P[lo - 1]
        w = v + p_cross if v < -p_cross else 0
        h = lo
    # at or below 0 the drift exceeds the shrinkage at every step
    return sign * (w - g * (C[t] - C[h]) + (P[t] - P[h]))


cdef inline void _catch_up(
    floating* w, const floating* S, Py_ssize_t k, Py_ssize_t h, Py_ssize_t t,
    const floating* C, const floating* P, const Py_ssize_t* seen_at, floating l1,
    bint prox,
) noexcept nogil:
    # Bring one feature's k weights from step h to step t (cumulative indices).
    cdef Py_ssize_t c
    cdef floating step_sum = C[t] - C[h]
    if prox:
        for c in range(k):
            w[c] = _prox_catch_up(w[c], S[c], C, P, seen_at, h, t, l1)
    else:
        for c in range(k):
            w[c] = w[c] - step_sum * S[c]


cdef inline void _catch_up_all(
    floating* W, const floating* S, Py_ssize_t d, Py_ssize_t k, Py_ssize_t t,
    floating* C, floating* P, const Py_ssize_t* seen_at, Py_ssize_t* last,
    floating l1, bint prox, floating scale,
) noexcept nogil:
    # Every weight taken to step t and multiplied by scale (the L2 scale folded
    # back into W); the step sums then restart from C[t] = P[t] = 0.
    cdef Py_ssize_t j, c
    for j in range(d):
        if last[j] < t:
            _catch_up(W + j * k, S + j * k, k, last[j], t, C, P, seen_at, l1, prox)
        for c in range(k):
            W[j * k + c] = W[j * k + c] * scale
        last[j] = t
    C[t] = 0
    P[t] = 0


def sag_epochs_csr(
    const floating[::1] data, const csr_index[::1] indices, const csr_index[::1] indptr,
    const Py_ssize_t[::1] y, const floating[::1] sample_weight, floating weight_scale,
    floating[:, ::1] W, floating[::1] b, floating[:, ::1] memory, floating[:, ::1] S,
    floating[::1] b_sum, unsigned char[::1] seen, Py_ssize_t[::1] n_seen,
    floating[:, ::1] W_before, uint64_t[::1] random_state, floating[::1] scratch,
    floating[::1] C, floating[::1] P, Py_ssize_t[::1] seen_at, Py_ssize_t[::1] last,
    double step, double l2, double l1, bint saga, bint fit_intercept, double tol,
    double intercept_decay, Py_ssize_t n_epochs,
):
    """Run up to n_epochs epochs on a CSR X; returns (epochs run, outcome). C, P,
    seen_at have n_samples + 1 entries, last n_features."""
    cdef Py_ssize_t n = indptr.shape[0] - 1, d = W.shape[0], k = W.shape[1]
    cdef Py_ssize_t epoch = 0, t, i, i_next, j, c, p, h, start, stop, n_seen_i = -1
    cdef floating* w = &W[0, 0]
    cdef floating* s = &S[0, 0]
    cdef floating* z = &scratch[0]
    cdef floating weight, n_seen_f = 1, v, dg0, z0, correction = 0, scaled_correction
    cdef floating inv_scale, inv_seen = 1, g_step, c_now, l1_step
    cdef floating step_f = <floating>step, l1_f = <floating>l1, b_decay = <floating>intercept_decay
    cdef bint has_weights = sample_weight.shape[0] > 0, converged = False
    cdef bint prox = saga and l1 > 0
    cdef int outcome = RAN_ALL
    cdef double loss
    # NOTE: the weights are w_scale * W: the L2 step (1 - step l2) costs one multiply
    # of w_scale per row, not a pass over W; W is rescaled when w_scale gets small
    # and at the end of each epoch (scikit-learn's scheme).
    cdef floating w_scale = 1, decay = <floating>(1 - step * l2)
    with nogil:
        C[0] = 0
        P[0] = 0
        for j in range(d):
            last[j] = 0
        while epoch < n_epochs:
            loss = 0
            i_next = _draw_row(&random_state[0], n)
            for t in range(n):
                i = i_next
                start, stop = indptr[i], indptr[i + 1]
                if t + 1 < n:
                    # the same draws in the same order, one row ahead
                    i_next = _draw_row(&random_state[0], n)
                    _prefetch_csr_row(&data[0], &indices[0], &indptr[0], &memory[0, 0],
                                      i_next, k)
                if not seen[i]:
                    seen[i] = 1
                    n_seen[0] = n_seen[0] + 1
                if n_seen[0] != n_seen_i:
                    # NOTE: 1/seen changes only when a new row is seen: one division
                    # then, not one per row.
                    n_seen_i = n_seen[0]
                    n_seen_f = <floating>n_seen_i
                    inv_seen = 1 / n_seen_f
                if prox:
                    seen_at[t + 1] = n_seen_i
                c_now = C[t]
                if k == 1 and not prox:
                    # NOTE: the logit sums in a local: through the pointers the compiler
                    # must assume each store to w may change it, and reload it.
                    z0 = 0
                    for p in range(start, stop):
                        j = indices[p]
                        h = last[j]
                        if h < t:
                            w[j] = w[j] - (c_now - C[h]) * s[j]
                            last[j] = t
                        z0 = z0 + data[p] * w[j]
                    z[0] = z0
                else:
                    for c in range(k):
                        z[c] = 0
                    for p in range(start, stop):
                        j = indices[p]
                        if last[j] < t:
                            _catch_up(w + j * k, s + j * k, k, last[j], t, &C[0], &P[0],
                                      &seen_at[0], l1_f, prox)
                            last[j] = t
                        v = data[p]
                        for c in range(k):
                            z[c] = z[c] + v * w[j * k + c]
                for c in range(k):
                    z[c] = w_scale * z[c] + (b[c] if fit_intercept else 0)
                weight = (sample_weight[i] if has_weights else 1) * weight_scale
                loss = loss + _weighted(weight, <floating>_row_gradient(z, y[i], weight, k))
                _remember(z, &memory[i, 0], k)  # z is now dg
                w_scale = w_scale * decay
                # NOTE: one division for 1/w_scale per row; every step below multiplies.
                inv_scale = 1 / w_scale
                g_step = step_f * inv_seen
                if saga:
                    correction = step_f - g_step  # step (1 - 1/seen)
                    scaled_correction = correction * inv_scale
                    for p in range(start, stop):
                        j = indices[p]
                        v = data[p]
                        for c in range(k):
                            s[j * k + c] = s[j * k + c] + v * z[c]
                            w[j * k + c] = w[j * k + c] - scaled_correction * v * z[c]
                elif k == 1:
                    dg0 = z[0]
                    for p in range(start, stop):
                        j = indices[p]
                        s[j] = s[j] + data[p] * dg0
                else:
                    for p in range(start, stop):
                        j = indices[p]
                        v = data[p]
                        for c in range(k):
                            s[j * k + c] = s[j * k + c] + v * z[c]
                if fit_intercept:
                    _step_intercept(&b[0], &b_sum[0], z, k, g_step, b_decay, correction)
                C[t + 1] = c_now + g_step * inv_scale
                if prox:
                    P[t + 1] = P[t] + step_f * l1_f * inv_scale
                if w_scale < <floating>1e-9:
                    _catch_up_all(w, s, d, k, t + 1, &C[0], &P[0], &seen_at[0],
                                  &last[0], l1_f, prox, w_scale)
                    w_scale = 1
            _catch_up_all(w, s, d, k, n, &C[0], &P[0], &seen_at[0], &last[0], l1_f,
                          prox, w_scale)
            w_scale = 1
            for j in range(d):
                last[j] = 0
            C[0] = 0
            P[0] = 0
            epoch = epoch + 1
            if not _epoch_end(w, &W_before[0, 0], d * k, &b[0], k, loss, tol, &converged):
                outcome = DIVERGED
                break
            if converged:
                outcome = CONVERGED
                break
    return epoch, outcome


def max_row_norm_csr(const floating[::1] data, const csr_index[::1] indptr):
    """max_i ||x_i||^2 of a CSR matrix, in float64."""
    cdef Py_ssize_t i, p
    cdef double top = 0, total, v
    with nogil:
        for i in range(indptr.shape[0] - 1):
            total = 0
            for p in range(indptr[i], indptr[i + 1]):
                v = data[p]
                total = total + v * v
            top = total if total > top else top
    return top
