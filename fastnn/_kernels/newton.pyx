# The Newton solvers' passes over X for logistic regression (the sigmoid neuron when W
# has one column, labels 0/1; softmax over k >= 3 columns otherwise): one pass gives the
# log-loss, its gradient and (on request) its Hessian, or the probabilities newton-cg's
# Hessian-vector products need; a second kernel applies that Hessian to a vector.
# Coefficients are laid out as scikit-learn's: index j * k + c for feature j and class
# c, the intercept as feature j = n_features (n_dof = n_features + with_bias per class).
# The Hessian (N x N, N = n_dof k) is written in its row-major lower triangle only.
# Dense X goes through BLAS in row blocks that stay in cache; CSR X row by row.
# The per-row maths (probabilities, gradient, curvature) is in _newton_rows.pxd.
# Nothing here validates: fastnn/ops/_newton.py checks shapes, labels and CSR indices.
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport sqrt
from libc.stdint cimport int32_t, int64_t

from fastnn._kernels._blas cimport _gemm, _gemv, _syrk
from fastnn._kernels._loss_rows cimport _weighted
from fastnn._kernels._newton_rows cimport (
    GRADIENT, HESSIAN, _row_curvature, _row_gradient, _row_hessp, _row_proba_loss,
)

ctypedef fused csr_index:
    int32_t
    int64_t


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
        for r in range(rows):
            for c in range(k):
                Z[r * k + c] = b[c] if with_bias else 0
        if d > 0:
            if k == 1:
                # column-major X_b^T is (d x rows): z = (X_b^T)^T w (GEMM is slow with
                # one column)
                _gemv(c"T", <int>d, <int>rows, 1, x, <int>d, W, 1, Z)
            else:
                # column-major Z^T (k x rows) = W^T (k x d) X_b^T (d x rows)
                _gemm(c"N", c"N", <int>k, <int>rows, <int>d, 1, W, <int>k,
                      x, <int>d, 1, Z, <int>k)
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
            if d > 0:
                if k == 1:
                    _gemv(c"N", <int>d, <int>rows, 1, x, <int>d, Z, 1, dW)
                else:
                    # column-major dW^T (k x d) += G^T (k x rows) X_b (rows x d)
                    _gemm(c"N", c"T", <int>k, <int>d, <int>rows, 1, Z, <int>k,
                          x, <int>d, 1, dW, <int>k)
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


cdef double _pass_csr_rows(
    const floating* data, const csr_index* indices, const csr_index* indptr,
    Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t d, const Py_ssize_t* y,
    const floating* sw, const floating* W, const floating* b, bint with_bias,
    floating scale, int mode, floating* dW, floating* db, floating* H, floating* P,
    floating* z, floating* A, Py_ssize_t k,
) noexcept nogil:
    # As _pass_rows for CSR rows [lo, hi); z (k) and A (k x k) are scratch.
    # NOTE: x_i x_i^T is accumulated over the row's pairs of stored values (with the
    # intercept's 1 as a last one): a row costs nnz^2 k^2 / 2, X is never densified.
    cdef Py_ssize_t i, p, q, c, e, j, u, top, bottom, n_dof = d + with_bias
    cdef Py_ssize_t N = n_dof * k, nnz
    cdef floating weight, v, f
    cdef double total = 0
    if mode >= GRADIENT:
        for j in range(d * k):
            dW[j] = 0
        for c in range(k):
            db[c] = 0
    if mode == HESSIAN:
        for j in range(N * N):
            H[j] = 0
    for i in range(lo, hi):
        nnz = indptr[i + 1] - indptr[i]
        for c in range(k):
            z[c] = b[c] if with_bias else 0
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            v = data[p]
            for c in range(k):
                z[c] = z[c] + v * W[j * k + c]
        weight = sw[i] if sw != NULL else 1
        total = total + _weighted(weight, _row_proba_loss(z, y[i], k))
        if P != NULL:
            for c in range(k):
                P[i * k + c] = z[c]
        if mode == HESSIAN:
            _row_curvature(z, scale * weight, A, k)
            for p in range(nnz + with_bias):
                j = indices[indptr[i] + p] if p < nnz else d
                v = data[indptr[i] + p] if p < nnz else 1
                for q in range(p + 1):
                    u = indices[indptr[i] + q] if q < nnz else d
                    f = v * (data[indptr[i] + q] if q < nnz else 1)
                    if q != p and u == j:  # a duplicate entry: (a + b)^2 has 2ab
                        f = 2 * f
                    top = j if j > u else u
                    bottom = u if j > u else j
                    # a block on the diagonal (top == bottom): its lower triangle
                    for c in range(k):
                        for e in range(k if top > bottom else c + 1):
                            H[(top * k + c) * N + bottom * k + e] += f * A[c * k + e]
        if mode >= GRADIENT:
            _row_gradient(z, y[i], scale * weight, k)
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                v = data[p]
                for c in range(k):
                    dW[j * k + c] = dW[j * k + c] + v * z[c]
            if with_bias:
                for c in range(k):
                    db[c] = db[c] + z[c]
    return total


def newton_pass_csr(
    const floating[::1] data,
    const csr_index[::1] indices,
    const csr_index[::1] indptr,
    Py_ssize_t n_features,
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
    floating[:, ::1] P,
    floating[:, ::1] scratch,
    double[::1] losses,
):
    """newton_pass_dense for the CSR matrix (data, indices, indptr); scratch[t] holds
    k + k * k values."""
    cdef Py_ssize_t t, lo, hi, n = indptr.shape[0] - 1, k = W.shape[1]
    cdef Py_ssize_t parts = losses.shape[0]
    cdef const floating* sw = &sample_weight[0] if sample_weight.shape[0] > 0 else NULL
    cdef floating* probs = &P[0, 0] if P.shape[0] > 0 else NULL
    # NOTE: a matrix with no stored value has no &data[0]; no row then reads it.
    cdef const floating* values = &data[0] if data.shape[0] > 0 else NULL
    cdef const csr_index* columns = &indices[0] if indices.shape[0] > 0 else NULL
    for t in prange(parts, nogil=True, schedule="static", num_threads=parts):
        lo = t * n // parts
        hi = (t + 1) * n // parts
        losses[t] = _pass_csr_rows(
            values, columns, &indptr[0], lo, hi, n_features, &y[0], sw, &W[0, 0],
            &b[0], with_bias, scale, mode, &dW_parts[t, 0, 0], &db_parts[t, 0],
            &H_parts[t, 0, 0], probs, &scratch[t, 0], &scratch[t, k], k,
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
        for r in range(rows):
            for c in range(k):
                Z[r * k + c] = vb[c] if with_bias else 0
        if k == 1:
            _gemv(c"T", <int>d, <int>rows, 1, x, <int>d, V, 1, Z)
        else:
            _gemm(c"N", c"N", <int>k, <int>rows, <int>d, 1, V, <int>k,
                  x, <int>d, 1, Z, <int>k)
        for r in range(rows):
            _row_hessp(Z + r * k, P + (start + r) * k,
                       scale * (sw[start + r] if sw != NULL else 1), k)
            if with_bias:
                for c in range(k):
                    outb[c] = outb[c] + Z[r * k + c]
        if k == 1:
            _gemv(c"N", <int>d, <int>rows, 1, x, <int>d, Z, 1, out)
        else:
            _gemm(c"N", c"T", <int>k, <int>d, <int>rows, 1, Z, <int>k,
                  x, <int>d, 1, out, <int>k)
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


def hessp_csr(
    const floating[::1] data,
    const csr_index[::1] indices,
    const csr_index[::1] indptr,
    const floating[::1] sample_weight,
    const floating[:, ::1] P,
    const floating[:, ::1] V,
    const floating[::1] vb,
    floating scale,
    bint with_bias,
    floating[:, ::1] out,
    floating[::1] outb,
    floating[::1] z,
):
    """hessp_dense for the CSR matrix (data, indices, indptr), on one thread; z is a
    (k,) scratch."""
    cdef Py_ssize_t i, p, j, c, n = indptr.shape[0] - 1, k = V.shape[1]
    cdef const floating* sw = &sample_weight[0] if sample_weight.shape[0] > 0 else NULL
    cdef floating v
    with nogil:
        for j in range(V.shape[0]):
            for c in range(k):
                out[j, c] = 0
        for c in range(k):
            outb[c] = 0
        for i in range(n):
            for c in range(k):
                z[c] = vb[c] if with_bias else 0
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                v = data[p]
                for c in range(k):
                    z[c] = z[c] + v * V[j, c]
            _row_hessp(&z[0], &P[i, 0], scale * (sw[i] if sw != NULL else 1), k)
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                v = data[p]
                for c in range(k):
                    out[j, c] = out[j, c] + v * z[c]
            if with_bias:
                for c in range(k):
                    outb[c] = outb[c] + z[c]
