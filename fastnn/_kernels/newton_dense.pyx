# The Newton solvers' passes over a dense X for logistic regression (the sigmoid neuron
# when W has one column, labels 0/1; softmax over k >= 3 columns otherwise): one pass
# gives the log-loss, its gradient and (on request) its Hessian, or the probabilities
# newton-cg's Hessian-vector products need; hessp_dense applies that Hessian to a vector.
# Coefficients are laid out as scikit-learn's: index j * k + c for feature j and class
# c, the intercept as feature j = n_features (n_dof = n_features + with_bias per class).
# The Hessian (N x N, N = n_dof k) is written in its row-major lower triangle only.
# X goes through BLAS in row blocks that stay in cache (CSR X: newton_csr.pyx).
# The per-row maths (probabilities, gradient, curvature) is in _newton_rows.pxd.
# Nothing here validates: fastnn/ops/_newton.py checks shapes and labels.
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport sqrt

from fastnn._kernels._blas cimport _block_add_xt, _block_logits, _syrk
from fastnn._kernels._loss_rows cimport _weighted
from fastnn._kernels._newton_rows cimport (
    GRADIENT, HESSIAN, _row_gradient, _row_hessp, _row_proba_loss,
)

cdef void _hessian_block(
    const floating* x, Py_ssize_t rows, Py_ssize_t d, bint with_bias,
    const floating* sw, const floating* P, floating scale, floating* H, floating* D,
    floating* T, Py_ssize_t k,
) noexcept nogil:
    # H += X_b^T D_b X_b over the block's rows (P: their probabilities), with the
    # intercept as a column of ones: the block is scaled into T, then one SYRK.
    cdef Py_ssize_t r, j, c, n_dof = d + with_bias, N = n_dof * k
    cdef floating q, v
    if k == 1:
        # NOTE: X^T diag(h) X = S^T S with S = diag(sqrt(h)) X (h >= 0): SYRK does half
        # the multiply-adds of a GEMM, on a scaled copy of the cached block.
        for r in range(rows):
            q = sqrt(scale * (sw[r] if sw != NULL else 1) * P[r] * (<floating>1 - P[r]))
            for j in range(d):
                T[r * n_dof + j] = q * x[r * d + j]
            if with_bias:
                T[r * n_dof + d] = q
        _syrk(c"U", c"N", <int>n_dof, <int>rows, 1, T, <int>n_dof, 1, H, <int>n_dof)
        return
    # NOTE: sum_i s_i (x_i x_i^T) kron (diag(p_i) - p_i p_i^T) splits into
    # -(x_i kron p_i)(x_i kron p_i)^T, one SYRK of width N on the rows
    # sqrt(s_i) x_i kron p_i, and one SYRK of width n_dof per class for the diag(p)
    # part (into D[c], scattered into H when the pass ends).
    for r in range(rows):
        q = sqrt(scale * (sw[r] if sw != NULL else 1))
        for j in range(n_dof):
            v = q * (x[r * d + j] if j < d else 1)
            for c in range(k):
                T[r * N + j * k + c] = v * P[r * k + c]
    _syrk(c"U", c"N", <int>N, <int>rows, -1, T, <int>N, 1, H, <int>N)
    for c in range(k):
        for r in range(rows):
            q = sqrt(scale * (sw[r] if sw != NULL else 1) * P[r * k + c])
            for j in range(d):
                T[r * n_dof + j] = q * x[r * d + j]
            if with_bias:
                T[r * n_dof + d] = q
        _syrk(c"U", c"N", <int>n_dof, <int>rows, 1, T, <int>n_dof, 1,
              D + c * n_dof * n_dof, <int>n_dof)


cdef void _scatter_class_blocks(
    const floating* D, floating* H, Py_ssize_t n_dof, Py_ssize_t k
) noexcept nogil:
    # H[j k + c, j' k + c] += D[c][j, j'] for j >= j' (the lower triangles).
    cdef Py_ssize_t c, j, i, N = n_dof * k
    for c in range(k):
        for j in range(n_dof):
            for i in range(j + 1):
                H[(j * k + c) * N + i * k + c] += D[(c * n_dof + j) * n_dof + i]


cdef double _pass_rows(
    const floating* X, Py_ssize_t n, Py_ssize_t d, const Py_ssize_t* y,
    const floating* sw, const floating* W, const floating* b, bint with_bias,
    floating scale, int mode, floating* dW, floating* db, floating* H, floating* D,
    floating* P, floating* Z, floating* T, Py_ssize_t block, Py_ssize_t k,
) noexcept nogil:
    # Rows [0, n) of a dense X: returns sum_i s_i loss_i; writes (not adds) dW, db from
    # mode GRADIENT, H (and its scratch D) in mode HESSIAN; P (n x k probabilities) when
    # not NULL. Z is a (block x k) scratch, T a (block x N) one.
    cdef Py_ssize_t start = 0, r, c, rows, n_dof = d + with_bias, N = n_dof * k
    cdef const floating* x
    cdef floating weight
    cdef double total = 0  # NOTE: in double: float32 sums of 1e5 losses round off
    if mode >= GRADIENT:
        for r in range(d * k):
            dW[r] = 0
        for c in range(k):
            db[c] = 0
    if mode == HESSIAN:
        for r in range(N * N):
            H[r] = 0
        if k > 1:
            for r in range(k * n_dof * n_dof):
                D[r] = 0
    while start < n:
        rows = block if start + block < n else n - start
        x = X + start * d
        _block_logits(x, rows, d, W, b, with_bias, Z, k)
        for r in range(rows):
            weight = sw[start + r] if sw != NULL else 1
            total = total + _weighted(
                weight, _row_proba_loss(Z + r * k, y[start + r], k)
            )
            if P != NULL:
                for c in range(k):
                    P[(start + r) * k + c] = Z[r * k + c]
        if mode == HESSIAN:
            _hessian_block(x, rows, d, with_bias, sw + start if sw != NULL else NULL,
                           Z, scale, H, D, T, k)
        if mode >= GRADIENT:
            for r in range(rows):
                weight = sw[start + r] if sw != NULL else 1
                _row_gradient(Z + r * k, y[start + r], scale * weight, k)
                if with_bias:
                    for c in range(k):
                        db[c] = db[c] + Z[r * k + c]
            _block_add_xt(x, rows, d, Z, dW, k)
        start = start + rows
    if mode == HESSIAN and k > 1:
        _scatter_class_blocks(D, H, n_dof, k)
    return total


def newton_pass_dense(
    const floating[:, ::1] X,
    const Py_ssize_t[::1] y,
    const floating[::1] sample_weight,
    const floating[:, ::1] W,
    const floating[::1] b,
    floating scale,
    bint with_bias,
    int mode,
    floating[:, :, ::1] dW_parts,
    floating[:, ::1] db_parts,
    floating[:, :, ::1] H_parts,
    floating[:, ::1] D_parts,
    floating[:, ::1] P,
    floating[:, :, ::1] Z,
    floating[:, ::1] T,
    double[::1] losses,
):
    """Part t of T = losses.shape[0] takes rows [t n / T, (t + 1) n / T) of a dense X
    (n_features >= 1): losses[t] = sum s_i loss_i; from mode 1 dW_parts[t] = scale
    X_t^T G_t and db_parts[t] = scale sum G_t (G_i = s_i (p_i - onehot(y_i)); from mode
    2 H_parts[t] = the lower triangle of scale sum_i s_i x_i x_i^T kron (diag(p_i) -
    p_i p_i^T), x_i with a trailing 1 when with_bias. P (n x k, or 0 rows) receives
    the probabilities. Z[t], T[t] and D_parts[t] are the part's scratch. The parts run
    on T OpenMP threads; the caller sums them."""
    # NOTE: each part owns its outputs and scratch, so the threads share nothing they
    # write; BLAS inside must then run single-threaded (the caller limits it).
    cdef Py_ssize_t t, lo, hi, n = X.shape[0], d = X.shape[1], k = W.shape[1]
    cdef Py_ssize_t parts = losses.shape[0]
    cdef const floating* sw = &sample_weight[0] if sample_weight.shape[0] > 0 else NULL
    cdef floating* probs = &P[0, 0] if P.shape[0] > 0 else NULL
    for t in prange(parts, nogil=True, schedule="static", num_threads=parts):
        lo = t * n // parts
        hi = (t + 1) * n // parts
        losses[t] = _pass_rows(
            &X[0, 0] + lo * d, hi - lo, d, &y[0] + lo, sw + lo if sw != NULL else NULL,
            &W[0, 0], &b[0], with_bias, scale, mode, &dW_parts[t, 0, 0],
            &db_parts[t, 0], &H_parts[t, 0, 0], &D_parts[t, 0],
            probs + lo * k if probs != NULL else NULL, &Z[t, 0, 0], &T[t, 0],
            Z.shape[1], k,
        )


cdef void _hessp_rows(
    const floating* X, Py_ssize_t n, Py_ssize_t d, const floating* sw,
    const floating* P, const floating* V, const floating* vb, bint with_bias,
    floating scale, floating* out, floating* outb, floating* Z, Py_ssize_t block,
    Py_ssize_t k,
) noexcept nogil:
    # Rows [0, n) of a dense X: out = X^T R, outb = sum R (written, not added), with
    # R_i = scale s_i (diag(p_i) - p_i p_i^T)(x_i V + vb).
    cdef Py_ssize_t start = 0, r, c, rows
    cdef const floating* x
    for r in range(d * k):
        out[r] = 0
    for c in range(k):
        outb[c] = 0
    while start < n:
        rows = block if start + block < n else n - start
        x = X + start * d
        _block_logits(x, rows, d, V, vb, with_bias, Z, k)
        for r in range(rows):
            _row_hessp(Z + r * k, P + (start + r) * k,
                       scale * (sw[start + r] if sw != NULL else 1), k)
            if with_bias:
                for c in range(k):
                    outb[c] = outb[c] + Z[r * k + c]
        _block_add_xt(x, rows, d, Z, out, k)
        start = start + rows


def hessp_dense(
    const floating[:, ::1] X,
    const floating[::1] sample_weight,
    const floating[:, ::1] P,
    const floating[:, ::1] V,
    const floating[::1] vb,
    floating scale,
    bint with_bias,
    floating[:, :, ::1] out_parts,
    floating[:, ::1] outb_parts,
    floating[:, :, ::1] Z,
):
    """Part t of T = out_parts.shape[0] takes rows [t n / T, (t + 1) n / T) of a dense
    X (n_features >= 1): out_parts[t] = X_t^T R_t and outb_parts[t] = sum R_t with
    R_i = scale s_i (diag(p_i) - p_i p_i^T)(x_i V + vb) (k = 1: p_i (1 - p_i)), P the
    probabilities of a pass. On T OpenMP threads; the caller sums the parts."""
    cdef Py_ssize_t t, lo, hi, n = X.shape[0], d = X.shape[1], k = V.shape[1]
    cdef Py_ssize_t parts = out_parts.shape[0]
    cdef const floating* sw = &sample_weight[0] if sample_weight.shape[0] > 0 else NULL
    for t in prange(parts, nogil=True, schedule="static", num_threads=parts):
        lo = t * n // parts
        hi = (t + 1) * n // parts
        _hessp_rows(
            &X[0, 0] + lo * d, hi - lo, d, sw + lo if sw != NULL else NULL,
            &P[0, 0] + lo * k, &V[0, 0], &vb[0], with_bias, scale,
            &out_parts[t, 0, 0], &outb_parts[t, 0], &Z[t, 0, 0], Z.shape[1], k,
        )
