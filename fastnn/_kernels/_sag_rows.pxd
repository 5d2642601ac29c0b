# Per-row pieces of the SAG and SAGA epochs, shared by sag_dense.pyx and sag_csr.pyx:
# the row draw, the L1 proximal step, a row's gradient coefficient, the intercept's
# step, the gradient memory and the end-of-epoch check, each a `cdef inline ...
# noexcept nogil` function inlined into the epochs' loops.
# Per drawn row i with gradient coefficient g_i = s_i (p_i - onehot(y_i)):
#   S += x_i (g_i - memory_i);  memory_i = g_i          (the sum of the last gradients)
#   W <- prox_{step l1} ((1 - step l2) W - step/seen S - [SAGA] step (1 - 1/seen) x_i dg)
# with `seen` the number of distinct rows drawn so far; b likewise, unpenalised.
from cython cimport floating
from libc.math cimport fabs, isfinite
from libc.stdint cimport uint64_t

from fastnn._kernels._loss_rows cimport _exp_neg_abs, _row_ce_label, _sigmoid_given

# Epoch outcomes, returned with the number of epochs run.
cdef enum:
    RAN_ALL = 0      # every epoch asked for ran, no convergence
    CONVERGED = 1    # max |W - W_before| <= tol max |W| after the last epoch run
    DIVERGED = -1    # a weight, intercept or loss became inf or NaN in the last epoch


cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define FASTNN_PREFETCH(p) __builtin_prefetch(p)
    #else
    #define FASTNN_PREFETCH(p) ((void)0)
    #endif
    """
    void FASTNN_PREFETCH(const void* p) noexcept nogil


cdef inline void _prefetch_row(const void* row, Py_ssize_t n_bytes) noexcept nogil:
    # NOTE: rows are drawn at random, so the hardware prefetcher cannot guess the next
    # one; asking for it one row ahead hides the memory latency behind this row's work.
    cdef const char* p = <const char*>row
    cdef Py_ssize_t offset = 0
    while offset < n_bytes:
        FASTNN_PREFETCH(p + offset)
        offset = offset + 64


cdef inline uint64_t _next_random(uint64_t* state) noexcept nogil:
    # NOTE: splitmix64: one add and two multiply-xorshift rounds; full period 2**64
    # and well mixed, so consecutive draws from a user's seed are independent enough.
    cdef uint64_t z
    state[0] = state[0] + <uint64_t>0x9E3779B97F4A7C15
    z = state[0]
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef inline Py_ssize_t _draw_row(uint64_t* state, Py_ssize_t n) noexcept nogil:
    # NOTE: Lemire's multiply-shift maps 32 random bits onto [0, n) without a division;
    # its bias (below n / 2**32) is far under the sampling noise of SAG itself.
    cdef uint64_t r = _next_random(state)
    if n <= <Py_ssize_t>0xFFFFFFFF:
        return <Py_ssize_t>(((r >> 32) * <uint64_t>n) >> 32)
    return <Py_ssize_t>(r % <uint64_t>n)


cdef inline floating _soft_threshold(floating w, floating t) noexcept nogil:
    # The L1 proximal step: w moves t towards 0 and stops there.
    # NOTE: w * 0 rather than 0: a NaN weight stays NaN, so divergence is still seen.
    if w > t:
        return w - t
    if w < -t:
        return w + t
    return w * 0


cdef inline double _row_gradient(
    floating* z, Py_ssize_t label, floating coef, Py_ssize_t k
) noexcept nogil:
    # z (the logits) becomes coef * (p - onehot(label)); returns a number that is finite
    # exactly when the row's log-loss is (the epoch's divergence check adds them up).
    # NOTE: the sigmoid's log-loss max(+-z, 0) + log1p(exp(-|z|)) is finite iff z is,
    # so |z| stands in for it and the log1p (a third of a binary row's maths) is saved.
    cdef floating zc, e
    if k == 1:
        zc = z[0]
        e = _exp_neg_abs(zc)
        z[0] = coef * (_sigmoid_given(zc, e) - (1 if label == 1 else 0))
        return fabs(zc)
    return _row_ce_label(z, label, coef, z, k)


cdef inline bint _epoch_end(
    floating* W, floating* W_before, Py_ssize_t size, const floating* b, Py_ssize_t k,
    double loss, double tol, bint* converged,
) noexcept nogil:
    # scikit-learn's stopping rule, max |W - W_before| <= tol max |W|, then
    # W_before = W; returns False when W, b or the epoch's loss is not finite.
    cdef Py_ssize_t j
    cdef floating change = 0, top = 0, d, a
    cdef bint finite = isfinite(loss)
    for j in range(size):
        a = fabs(W[j])
        d = fabs(W[j] - W_before[j])
        finite = finite and isfinite(W[j])
        top = a if a > top else top
        change = d if d > change else change
        W_before[j] = W[j]
    for j in range(k):
        finite = finite and isfinite(b[j])
    converged[0] = (change <= tol * top) if top != 0 else change == 0
    return finite


cdef inline void _step_intercept(
    floating* b, floating* b_sum, const floating* dg, Py_ssize_t k, floating g_step,
    floating decay, floating correction,
) noexcept nogil:
    # b <- b - decay g_step sum_i g_i - correction dg, g_step = step/seen (correction is
    # 0 for SAG).
    cdef Py_ssize_t c
    for c in range(k):
        b_sum[c] = b_sum[c] + dg[c]
        b[c] = b[c] - (g_step * b_sum[c] * decay + correction * dg[c])


cdef inline void _remember(
    floating* grad, floating* memory, Py_ssize_t k
) noexcept nogil:
    # grad becomes dg = grad - memory (what the row adds to S); memory = grad.
    cdef Py_ssize_t c
    cdef floating g
    for c in range(k):
        g = grad[c]
        grad[c] = g - memory[c]
        memory[c] = g
