# The pieces of one proximal Newton step for L1 / elastic-net logistic regression
# (newGLMNET: Yuan, Ho & Lin 2012, as in liblinear's solve_l1r_lr, with glmnet's active
# sets), on X stored by columns:
#   row_curvature    p = sigmoid(m), g = a (p - t), h = a p (1 - p) per row of the
#                    margins m (data_loss: the loss itself, for tests and reports);
#   column_gradients grad_j = x_j . g for every column;
#   column_curvatures  hdiag_j = (x_j * x_j) . h and hx_j = x_j . h for active columns;
#   margins          m = X w + b - offset;
#   quadratic_cd     coordinate descent on the step's quadratic model + l1 ||u||_1;
#   line_search      the backtracking (Armijo) step along u - w, applied when found.
# A softmax class's step is the same binary problem with margins z_c - logsumexp of the
# other classes' logits (the offset), so multinomial fits reuse every piece.
# X's columns: `values` (float32 or float64) with `colptr`; `rows` holds each value's
# row (CSC), or is empty for a dense column-major X (column j is values[colptr[j]:]
# of n_samples entries). The model (w, margins, curvature) is float64 whatever X's
# dtype.
# Nothing here validates: fastnn/ops/_cd.py builds the columns and checks every array.
from cython cimport floating
from libc.math cimport exp, expm1, fabs, log1p, INFINITY


cdef inline double _softplus(double m) noexcept nogil:
    # NOTE: log(1 + exp(m)) as max(m, 0) + log1p(exp(-|m|)): exp never overflows.
    if m > 0:
        return m + log1p(exp(-m))
    return log1p(exp(m))


cdef inline double _sigmoid(double m) noexcept nogil:
    # NOTE: exp of -|m| only, so neither branch overflows.
    cdef double e
    if m >= 0:
        return 1.0 / (1.0 + exp(-m))
    e = exp(m)
    return e / (1.0 + e)


cdef inline double _softplus_change(double m, double p, double delta) noexcept nogil:
    # softplus(m + delta) - softplus(m), with p = sigmoid(m).
    # NOTE: log1p(p expm1(delta)) is exact to rounding for small steps, where the
    # difference of two softplus values would cancel (the line search compares changes
    # near 1e-16 of the objective at tight tol); large steps take the difference.
    if fabs(delta) < 1.0:
        return log1p(p * expm1(delta))
    return _softplus(m + delta) - _softplus(m)


cdef inline double _col_dot(
    const floating* values, const Py_ssize_t* rows, Py_ssize_t start, Py_ssize_t stop,
    const double* v,
) noexcept nogil:
    # x_j . v for column values[start:stop] (rows NULL: dense, rows start..stop-start).
    cdef Py_ssize_t p
    cdef double s = 0
    if rows == NULL:
        for p in range(stop - start):
            s = s + values[start + p] * v[p]
    else:
        for p in range(start, stop):
            s = s + values[p] * v[rows[p]]
    return s


cdef inline double _col_dot2(
    const floating* values, const Py_ssize_t* rows, Py_ssize_t start, Py_ssize_t stop,
    const double* u, const double* v,
) noexcept nogil:
    # sum_i x_ij u_i v_i
    cdef Py_ssize_t p, i
    cdef double s = 0
    if rows == NULL:
        for p in range(stop - start):
            s = s + values[start + p] * u[p] * v[p]
    else:
        for p in range(start, stop):
            i = rows[p]
            s = s + values[p] * u[i] * v[i]
    return s


cdef inline void _col_curvature(
    const floating* values, const Py_ssize_t* rows, Py_ssize_t start, Py_ssize_t stop,
    const double* h, double* square_sum, double* sum,
) noexcept nogil:
    # square_sum = sum_i x_ij**2 h_i and sum = sum_i x_ij h_i, in one pass.
    cdef Py_ssize_t p
    cdef double xh, s2 = 0, s1 = 0
    if rows == NULL:
        for p in range(stop - start):
            xh = values[start + p] * h[p]
            s1 = s1 + xh
            s2 = s2 + xh * values[start + p]
    else:
        for p in range(start, stop):
            xh = values[p] * h[rows[p]]
            s1 = s1 + xh
            s2 = s2 + xh * values[p]
    square_sum[0] = s2
    sum[0] = s1


cdef inline void _col_axpy(
    const floating* values, const Py_ssize_t* rows, Py_ssize_t start, Py_ssize_t stop,
    double alpha, double* v,
) noexcept nogil:
    # v += alpha x_j
    cdef Py_ssize_t p
    if rows == NULL:
        for p in range(stop - start):
            v[p] = v[p] + alpha * values[start + p]
    else:
        for p in range(start, stop):
            v[rows[p]] = v[rows[p]] + alpha * values[p]


cdef inline const Py_ssize_t* _rows_or_null(const Py_ssize_t[::1] rows) noexcept nogil:
    return &rows[0] if rows.shape[0] > 0 else NULL


cdef inline const floating* _values_or_null(const floating[::1] values) noexcept nogil:
    # NOTE: a CSC X with no stored value has no &values[0]; every column is then empty,
    # so the NULL is never read.
    return &values[0] if values.shape[0] > 0 else NULL


def row_curvature(
    const double[::1] margins,
    const double[::1] targets,
    const double[::1] weights,
    double[::1] p,
    double[::1] g,
    double[::1] h,
):
    """p = sigmoid(m), g = a (p - t), h = a p (1 - p) per row of the margins m."""
    cdef Py_ssize_t i, n = margins.shape[0]
    cdef double pi, a
    with nogil:
        for i in range(n):
            a = weights[i]
            pi = _sigmoid(margins[i])
            p[i] = pi
            g[i] = a * (pi - targets[i])
            h[i] = a * pi * (1.0 - pi)


def data_loss(
    const double[::1] margins, const double[::1] targets, const double[::1] weights
):
    """sum_i a_i (log(1 + exp(m_i)) - t_i m_i), in float64."""
    cdef Py_ssize_t i, n = margins.shape[0]
    cdef double loss = 0
    with nogil:
        for i in range(n):
            if weights[i] != 0:
                loss = loss + weights[i] * (
                    _softplus(margins[i]) - targets[i] * margins[i]
                )
    return loss


def column_gradients(
    const floating[::1] values,
    const Py_ssize_t[::1] rows,
    const Py_ssize_t[::1] colptr,
    const double[::1] g,
    double[::1] grad,
):
    """grad_j = sum_i x_ij g_i for every column j."""
    cdef Py_ssize_t j, d = colptr.shape[0] - 1
    cdef const floating* x = _values_or_null(values)
    cdef const Py_ssize_t* r = _rows_or_null(rows)
    with nogil:
        for j in range(d):
            grad[j] = _col_dot(x, r, colptr[j], colptr[j + 1], &g[0])


def column_curvatures(
    const floating[::1] values,
    const Py_ssize_t[::1] rows,
    const Py_ssize_t[::1] colptr,
    const double[::1] h,
    const Py_ssize_t[::1] active,
    double[::1] hdiag,
    double[::1] hx,
):
    """hdiag_j = sum_i x_ij**2 h_i and hx_j = sum_i x_ij h_i for the columns j in
    ``active`` (the others are left as they are)."""
    cdef Py_ssize_t s, j
    cdef const floating* x = _values_or_null(values)
    cdef const Py_ssize_t* r = _rows_or_null(rows)
    with nogil:
        for s in range(active.shape[0]):
            j = active[s]
            _col_curvature(x, r, colptr[j], colptr[j + 1], &h[0], &hdiag[j], &hx[j])


def margins(
    const floating[::1] values,
    const Py_ssize_t[::1] rows,
    const Py_ssize_t[::1] colptr,
    const double[::1] w,
    double b,
    const double[::1] offset,
    double[::1] out,
):
    """out = X w + b - offset (offset may be empty: none)."""
    cdef Py_ssize_t i, j, n = out.shape[0], d = colptr.shape[0] - 1
    cdef const floating* x = _values_or_null(values)
    cdef const Py_ssize_t* r = _rows_or_null(rows)
    with nogil:
        for i in range(n):
            out[i] = b - (offset[i] if offset.shape[0] > 0 else 0)
        for j in range(d):
            if w[j] != 0:
                _col_axpy(x, r, colptr[j], colptr[j + 1], w[j], &out[0])


def quadratic_cd(
    const floating[::1] values,
    const Py_ssize_t[::1] rows,
    const Py_ssize_t[::1] colptr,
    const double[::1] h,
    const double[::1] grad,
    const double[::1] hdiag,
    const double[::1] hx,
    const double[::1] w,
    double[::1] u,
    double[::1] xd,
    Py_ssize_t[::1] active,
    double l1,
    double shift,
    bint with_intercept,
    double grad_b,
    double hdiag_b,
    double[::1] delta_b,
    double tol,
    Py_ssize_t max_sweeps,
):
    """Cyclic coordinate descent on the quadratic model of a Newton step from (w, b),
    over the columns in ``active`` (and the intercept when ``with_intercept``):

        min  grad.d + grad_b db + 1/2 r^T diag(h) r + shift/2 ||d||^2
             + (hdiag_b - sum h)/2 db^2 + l1 ||u||_1,   d = u - w, r = X d + db,

    ``hdiag`` holds the model's diagonal over ``active`` (shift included), ``hx`` the
    sums x_j . h, ``hdiag_b`` the intercept's (sum h plus its own ridge). On entry
    u = w + d, xd = X d and delta_b[0] = db; on exit they hold the minimiser found and
    xd = X d + db (the step's change of the margins); db is the model's minimiser
    given d throughout (so its entry value only matters without an intercept).
    ``active`` is reordered (shrunk columns moved to its end). Stops when the model's
    minimum-norm subgradient has 1-norm <= tol over the whole active set, or after
    max_sweeps sweeps. Returns (sweeps, that 1-norm)."""
    cdef Py_ssize_t n_active = active.shape[0], qp_active = n_active
    cdef Py_ssize_t s, j, sweeps = 0, n = xd.shape[0], i
    cdef const floating* x = _values_or_null(values)
    cdef const Py_ssize_t* r = _rows_or_null(rows)
    cdef double hj, G, Gp, Gn, z, violation, gnorm1 = 0, gmax_new, bound
    cdef double gmax_old = INFINITY, db = delta_b[0], hxd = 0, data_curvature
    with nogil:
        # NOTE: the intercept's column is all ones, so xd leaves db out and keeps
        # hxd = h . xd up to date (column j's step z adds z hx_j); db is then kept at
        # its optimum -(grad_b + hxd) / hdiag_b after every step, in O(1). That is
        # coordinate descent on the model with the intercept eliminated: column j's
        # curvature becomes its h-weighted variance hdiag_j - hx_j**2 / hdiag_b (X
        # centred, implicitly), which all-positive features (strongly collinear with
        # the intercept) need, or each sweep only undoes the intercept's last move.
        if with_intercept:
            for i in range(n):
                hxd = hxd + h[i] * xd[i]
            db = -(grad_b + hxd) / hdiag_b
        while sweeps < max_sweeps:
            gmax_new = 0
            gnorm1 = 0
            # NOTE: liblinear's shrinking: a coordinate at 0 whose model gradient sits
            # well inside [-l1, l1] (by the last sweep's largest violation / n) stays at
            # 0 this time; it is brought back before the stop is trusted.
            bound = gmax_old / n if n > 0 else INFINITY
            s = 0
            while s < qp_active:
                j = active[s]
                hj = hdiag[j]
                if with_intercept:
                    data_curvature = hj - shift - hx[j] * hx[j] / hdiag_b
                    hj = shift + (data_curvature if data_curvature > 0 else 0)
                G = grad[j] + shift * (u[j] - w[j]) + db * hx[j] + _col_dot2(
                    x, r, colptr[j], colptr[j + 1], &h[0], &xd[0]
                )
                Gp = G + l1
                Gn = G - l1
                violation = 0
                if u[j] == 0:
                    if Gp < 0:
                        violation = -Gp
                    elif Gn > 0:
                        violation = Gn
                    elif Gp > bound and Gn < -bound:
                        qp_active = qp_active - 1
                        active[s], active[qp_active] = active[qp_active], active[s]
                        continue
                elif u[j] > 0:
                    violation = fabs(Gp)
                else:
                    violation = fabs(Gn)
                gmax_new = violation if violation > gmax_new else gmax_new
                gnorm1 = gnorm1 + violation
                # the 1-D lasso: u_j <- soft-threshold(u_j - G / hj, l1 / hj)
                if Gp < hj * u[j]:
                    z = -Gp / hj
                elif Gn > hj * u[j]:
                    z = -Gn / hj
                else:
                    z = -u[j]
                s = s + 1
                if fabs(z) < 1e-12:
                    continue
                # NOTE: liblinear's cap: where hj is tiny (separable data, only the
                # ridge left) a raw step can be huge; ten per sweep still goes anywhere.
                z = 10.0 if z > 10.0 else (-10.0 if z < -10.0 else z)
                u[j] = u[j] + z
                _col_axpy(x, r, colptr[j], colptr[j + 1], z, &xd[0])
                if with_intercept:
                    hxd = hxd + z * hx[j]
                    db = -(grad_b + hxd) / hdiag_b
            sweeps = sweeps + 1
            if gnorm1 <= tol:
                if qp_active == n_active:
                    break
                qp_active = n_active
                gmax_old = INFINITY
                continue
            gmax_old = gmax_new
        if db != 0:
            for i in range(n):
                xd[i] = xd[i] + db
    delta_b[0] = db
    return sweeps, gnorm1


def line_search(
    double[::1] margins,
    const double[::1] xd,
    const double[::1] targets,
    const double[::1] weights,
    const double[::1] p,
    double[::1] w,
    const double[::1] u,
    const Py_ssize_t[::1] active,
    const double[::1] grad,
    double grad_b,
    double delta_b,
    double l1,
    double l2,
    double sigma,
    Py_ssize_t max_halvings,
):
    """Backtracking along the step (u - w, delta_b), X-image ``xd``: the first
    step = 1, 1/2, 1/4, ... with f(w + step d) - f(w) <= sigma step decrease, where
    decrease = grad.d + grad_b delta_b + l1 (||u||_1 - ||w||_1) (grad of the smooth
    part, L2 included; f is the data loss plus l1 ||.||_1 + l2/2 ||.||^2). When found,
    w and margins move by that step in place. Returns (step, change of f); step 0
    (nothing moved) when no halving up to max_halvings decreases f enough."""
    cdef Py_ssize_t s, j, i, t, n = margins.shape[0], n_active = active.shape[0]
    cdef double decrease = grad_b * delta_b, step = 1.0, change = 0, dj, wj, moved
    cdef bint found = False
    with nogil:
        for s in range(n_active):
            j = active[s]
            decrease = decrease + grad[j] * (u[j] - w[j])
            decrease = decrease + l1 * (fabs(u[j]) - fabs(w[j]))
        for t in range(max_halvings if decrease < 0 else 0):  # else no descent (or NaN)
            change = 0
            for s in range(n_active):
                j = active[s]
                wj = w[j]
                dj = step * (u[j] - wj)
                moved = wj + dj
                change = change + l1 * (fabs(moved) - fabs(wj))
                change = change + l2 * dj * (wj + 0.5 * dj)
            for i in range(n):
                if weights[i] != 0:
                    change = change + weights[i] * (
                        _softplus_change(margins[i], p[i], step * xd[i])
                        - targets[i] * step * xd[i]
                    )
            if change <= sigma * step * decrease:
                found = True
                break
            step = 0.5 * step
        if found:
            for s in range(n_active):
                j = active[s]
                # NOTE: a full step copies u: w + (u - w) may miss an exact 0 of u.
                w[j] = u[j] if step == 1.0 else w[j] + step * (u[j] - w[j])
            for i in range(n):
                margins[i] = margins[i] + step * xd[i]
    return (step, change) if found else (0.0, 0.0)
