# The Newton solvers' passes over a CSR X (int32 or int64 indices) for logistic
# regression, row by row, X never densified: newton_pass_csr and hessp_csr, the CSR
# twins of newton_dense.pyx's passes (coefficient layout and lower-triangle Hessian as
# there). The per-row maths (probabilities, gradient, curvature) is in _newton_rows.pxd.
# Nothing here validates: fastnn/ops/_newton.py checks shapes, labels and CSR indices.
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t

from fastnn._kernels._loss_rows cimport _weighted
from fastnn._kernels._newton_rows cimport (
    GRADIENT, HESSIAN, _row_curvature, _row_gradient, _row_hessp, _row_proba_loss,
)

ctypedef fused csr_index:
    int32_t
    int64_t



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
