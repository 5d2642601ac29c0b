# One epoch of mini-batch SGD for L2-penalised logistic regression: the sigmoid
# neuron (W with one column, labels 0/1) or softmax (W with k >= 2 columns, labels in
# [0, k)), over the rows of a dense X or of a CSR matrix, in the order given. Per batch:
# logits of each row, its loss and its gradient coefficient weight * (p - onehot), then
# W <- (1 - lr l2) W - lr/m sum_r x_r g_r^T and b <- b - lr/m sum_r g_r.
# W is (n_features, k) row-major; G is a caller-allocated (batch_size, k) scratch.
# Also the full-batch loss and gradient for L-BFGS, fused in one pass over a dense X.
# Nothing here validates: ops.py checks shapes, labels, the order and the CSR indices.
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t

from fastnn._kernels._blas cimport _block_add_xt, _block_logits
from fastnn._kernels._loss_rows cimport _row_bce_label, _row_ce_label

ctypedef fused csr_index:
    int32_t
    int64_t


cdef inline void _row_logits(
    const floating* x, const csr_index* idx, Py_ssize_t nnz, const floating* W,
    floating w_scale, const floating* b, bint with_bias, floating* z, Py_ssize_t k,
) noexcept nogil:
    # z = w_scale x W + b; x is dense (idx NULL, nnz = n_features) or a CSR row's values.
    cdef Py_ssize_t p, c, j
    cdef floating v
    for c in range(k):
        z[c] = 0
    for p in range(nnz):
        j = idx[p] if idx != NULL else p
        v = x[p]
        for c in range(k):
            z[c] = z[c] + v * W[j * k + c]
    for c in range(k):
        z[c] = w_scale * z[c] + (b[c] if with_bias else 0)


cdef inline double _row_loss_grad(
    floating* z, Py_ssize_t label, floating coef, Py_ssize_t k
) noexcept nogil:
    # Returns the row's log-loss; z becomes coef * (p - onehot(label)). The maths is
    # _loss_rows.pxd's: the sigmoid neuron's for k = 1, softmax's for k >= 2.
    if k == 1:
        return _row_bce_label(z, label, coef)
    return _row_ce_label(z, label, coef, z, k)


cdef inline void _rescale(floating* W, Py_ssize_t size, floating factor) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(size):
        W[j] = W[j] * factor


cdef double _epoch(
    const floating* data, const csr_index* indices, const csr_index* indptr,
    Py_ssize_t n_features, const Py_ssize_t* y, const floating* sample_weight,
    const Py_ssize_t* order, Py_ssize_t n, floating* W, floating* b, bint with_bias,
    floating* G, Py_ssize_t k, Py_ssize_t batch_size, floating lr, floating l2,
    floating weight_scale,
) noexcept nogil:
    # indices == NULL: data is a dense (rows, n_features) block; else CSR arrays.
    cdef Py_ssize_t start, stop, r, i, p, c, j, nnz
    cdef const floating* x
    cdef const csr_index* idx
    cdef floating weight, step, step_W, v, decay = <floating>1 - lr * l2
    # NOTE: the weights are w_scale * W: the L2 step (1 - lr l2) W_true then costs one
    # multiply of w_scale per batch, not a pass over all of W (which, for a wide sparse
    # X, would cost more than the batch's rows). W is rescaled when w_scale gets small,
    # so W's entries never grow towards overflow, and at the end of the epoch.
    cdef floating w_scale = 1
    cdef double total = 0, weighted_loss
    start = 0
    while start < n:
        stop = start + batch_size if start + batch_size < n else n
        for r in range(stop - start):
            i = order[start + r]
            if indices == NULL:
                x, idx, nnz = data + i * n_features, NULL, n_features
            else:
                x, idx, nnz = data + indptr[i], indices + indptr[i], indptr[i + 1] - indptr[i]
            weight = sample_weight[i] if sample_weight != NULL else 1
            _row_logits(x, idx, nnz, W, w_scale, b, with_bias, G + r * k, k)
            weighted_loss = weight * _row_loss_grad(G + r * k, y[i], weight * weight_scale, k)
            total = total + weighted_loss
        # (1 - lr l2) W_true is the L2 term's step lr * l2 * W_true, taken on the
        # weights the gradient was computed at.
        if l2 != 0:
            if decay > 0:
                w_scale = w_scale * decay
            else:  # the step overshoots zero: apply it to W itself
                _rescale(W, n_features * k, w_scale * decay)
                w_scale = 1
            if w_scale < <floating>1e-6:
                _rescale(W, n_features * k, w_scale)
                w_scale = 1
        step = lr / <floating>(stop - start)
        step_W = step / w_scale
        for r in range(stop - start):
            i = order[start + r]
            if indices == NULL:
                x, idx, nnz = data + i * n_features, NULL, n_features
            else:
                x, idx, nnz = data + indptr[i], indices + indptr[i], indptr[i + 1] - indptr[i]
            for p in range(nnz):
                j = idx[p] if idx != NULL else p
                v = step_W * x[p]
                for c in range(k):
                    W[j * k + c] = W[j * k + c] - v * G[r * k + c]
            if with_bias:
                for c in range(k):
                    b[c] = b[c] - step * G[r * k + c]
        start = stop
    if w_scale != 1:
        _rescale(W, n_features * k, w_scale)
    return total


def sgd_epoch_dense(
    const floating[:, ::1] X,
    const Py_ssize_t[::1] y,
    const floating[::1] sample_weight,
    const Py_ssize_t[::1] order,
    floating[:, ::1] W,
    floating[::1] b,
    floating[:, ::1] G,
    floating learning_rate,
    floating l2,
    floating weight_scale,
    bint with_bias,
):
    """Returns the sum over rows of weight * log-loss, each taken before its batch's step."""
    cdef double total
    cdef Py_ssize_t n = order.shape[0], d = X.shape[1], k = W.shape[1]
    cdef const floating* sw = &sample_weight[0] if sample_weight.shape[0] > 0 else NULL
    with nogil:
        total = _epoch(
            &X[0, 0], <const int64_t*>NULL, <const int64_t*>NULL, d, &y[0], sw,
            &order[0], n, &W[0, 0], &b[0],
            with_bias, &G[0, 0], k, G.shape[0], learning_rate, l2, weight_scale,
        )
    return total


def sgd_epoch_csr(
    const floating[::1] data,
    const csr_index[::1] indices,
    const csr_index[::1] indptr,
    const Py_ssize_t[::1] y,
    const floating[::1] sample_weight,
    const Py_ssize_t[::1] order,
    floating[:, ::1] W,
    floating[::1] b,
    floating[:, ::1] G,
    floating learning_rate,
    floating l2,
    floating weight_scale,
    bint with_bias,
):
    """As sgd_epoch_dense for the CSR matrix (data, indices, indptr), int32 or int64
    indices (one type for both)."""
    cdef double total
    cdef Py_ssize_t n = order.shape[0], d = W.shape[0], k = W.shape[1]
    cdef const floating* sw = &sample_weight[0] if sample_weight.shape[0] > 0 else NULL
    # NOTE: a CSR matrix with no stored value has no &data[0]; NULL is never read
    # (every row has nnz = 0), and indices != NULL is what marks the input as CSR.
    cdef const floating* values = &data[0] if data.shape[0] > 0 else NULL
    cdef const csr_index* columns = &indices[0] if indices.shape[0] > 0 else &indptr[0]
    with nogil:
        total = _epoch(
            values, columns, &indptr[0], d, &y[0], sw, &order[0], n, &W[0, 0], &b[0],
            with_bias, &G[0, 0], k, G.shape[0], learning_rate, l2, weight_scale,
        )
    return total


cdef double _loss_grad_rows(
    const floating* X, Py_ssize_t n, Py_ssize_t d, const Py_ssize_t* y,
    const floating* sw, const floating* W, const floating* b, bint with_bias,
    floating scale, floating* dW, floating* db, floating* Z, Py_ssize_t block,
    Py_ssize_t k,
) noexcept nogil:
    # Rows [0, n) of X: returns sum_i s_i loss_i and writes (not adds) dW and db.
    # NOTE: X is read from memory once: each block of rows (sized by the caller to stay
    # in cache) gets its logits, losses and gradient rows, then adds its X_block^T G to
    # dW while X_block is still cached. Two full passes (X W, then X^T G) read it twice.
    # k = 1 (the sigmoid neuron) goes through GEMV: BLAS's GEMM is slow with one column.
    cdef Py_ssize_t start = 0, r, c, rows
    cdef const floating* x
    cdef floating weight
    # NOTE: the losses add up in double: a float32 running sum of 1e5 terms would round
    # off more than the decrease L-BFGS's line search has to see.
    cdef double total = 0
    for r in range(d * k):
        dW[r] = 0
    for c in range(k):
        db[c] = 0
    while start < n:
        rows = block if start + block < n else n - start
        x = X + start * d
        _block_logits(x, rows, d, W, b, with_bias, Z, k)
        for r in range(rows):
            weight = sw[start + r] if sw != NULL else 1
            total = total + weight * _row_loss_grad(
                Z + r * k, y[start + r], weight * scale, k
            )
            if with_bias:
                for c in range(k):
                    db[c] = db[c] + Z[r * k + c]
        _block_add_xt(x, rows, d, Z, dW, k)
        start = start + rows
    return total


def loss_grad_dense(
    const floating[:, ::1] X,
    const Py_ssize_t[::1] y,
    const floating[::1] sample_weight,
    const floating[:, ::1] W,
    const floating[::1] b,
    floating scale,
    floating[:, :, ::1] dW_parts,
    floating[:, ::1] db_parts,
    floating[:, :, ::1] Z,
    double[::1] losses,
    bint with_bias,
):
    """Part t of T = dW_parts.shape[0] takes rows [t n / T, (t + 1) n / T): losses[t] =
    sum s_i loss_i, dW_parts[t] = scale X_t^T G_t, db_parts[t] = scale sum G_t, with
    G_i = s_i (p_i - onehot(y_i)); Z[t] is its (block_rows, k) scratch. The parts run
    on T OpenMP threads (serially in a build without OpenMP); the caller sums them."""
    # NOTE: each part owns its outputs and scratch, so the threads share nothing they
    # write; BLAS inside must then run single-threaded (the caller limits it).
    cdef Py_ssize_t t, lo, hi, n = X.shape[0], d = X.shape[1], k = W.shape[1]
    cdef Py_ssize_t parts = dW_parts.shape[0]
    cdef const floating* sw = &sample_weight[0] if sample_weight.shape[0] > 0 else NULL
    for t in prange(parts, nogil=True, schedule="static", num_threads=parts):
        lo = t * n // parts
        hi = (t + 1) * n // parts
        losses[t] = _loss_grad_rows(
            &X[0, 0] + lo * d, hi - lo, d, &y[0] + lo, sw + lo if sw != NULL else NULL,
            &W[0, 0], &b[0], with_bias, scale, &dW_parts[t, 0, 0], &db_parts[t, 0],
            &Z[t, 0, 0], Z.shape[1], k,
        )
