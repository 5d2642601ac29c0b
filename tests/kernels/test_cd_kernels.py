"""The proximal Newton coordinate-descent kernels (fastnn.ops._cd) against plain NumPy
twins, float32 and float64 X, dense and CSR (int32 and int64 indices, unsorted,
explicit zeros, empty rows and columns); and the arguments the door refuses."""

import numpy as np
import pytest
import scipy.sparse as sp

from fastnn.ops import _cd as cd_ops


def _matrix(rng, dtype, n=23, d=7):
    X = rng.normal(size=(n, d)).astype(dtype)
    X[np.abs(X) < 0.5] = 0
    X[3] = 0  # an empty row
    X[:, 2] = 0  # an empty column
    return X


def _awkward_csr(X, index_dtype):
    """X as a CSR with unsorted indices, an explicit zero, of the given index dtype."""
    csr = sp.csr_matrix(X)
    data, indices, indptr = [], [], [0]
    for i in range(X.shape[0]):
        start, stop = csr.indptr[i], csr.indptr[i + 1]
        cols = list(csr.indices[start:stop][::-1])
        vals = list(csr.data[start:stop][::-1])
        if i == 5:
            cols.append(2)
            vals.append(0.0)  # an explicit zero in the empty column
        indices += cols
        data += vals
        indptr.append(len(indices))
    out = sp.csr_matrix(
        (np.array(data, X.dtype), np.array(indices), np.array(indptr)), shape=X.shape
    )
    # NOTE: SciPy's constructor picks the index dtype; set it as a user's data can hold.
    out.indices = np.array(indices, index_dtype)
    out.indptr = np.array(indptr, index_dtype)
    assert out.indices.dtype == index_dtype and not out.has_sorted_indices
    return out


LAYOUTS = ["dense", "csr32", "csr64"]


def _columns(X, layout):
    if layout == "dense":
        return cd_ops.Columns.of(X)
    csr = _awkward_csr(X, np.int32 if layout == "csr32" else np.int64)
    before = (csr.data.copy(), csr.indices.copy(), csr.indptr.copy())
    columns = cd_ops.Columns.of(csr)
    for a, b in zip(before, (csr.data, csr.indices, csr.indptr)):
        np.testing.assert_array_equal(a, b)  # X untouched
    return columns


def _sigmoid(m):
    return 0.5 * (1 + np.tanh(0.5 * m))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_columns_gradients_curvatures_margins(layout, dtype, rng):
    X = _matrix(rng, dtype)
    n, d = X.shape
    columns = _columns(X, layout)
    assert columns.dtype == dtype and columns.shape == (n, d)
    X64 = X.astype(np.float64)
    g, h = rng.normal(size=n), rng.uniform(0, 0.25, n)
    np.testing.assert_allclose(cd_ops.column_gradients(columns, g), X64.T @ g,
                               rtol=1e-12, atol=1e-12)
    active = np.array([4, 0, 2, 6], np.intp)
    hdiag, hx = cd_ops.column_curvatures(columns, h, active)
    np.testing.assert_allclose(hdiag[active], (X64 ** 2).T[active] @ h, rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_allclose(hx[active], X64.T[active] @ h, rtol=1e-12, atol=1e-14)
    assert not hdiag[[1, 3, 5]].any()  # the others untouched
    w, offset = rng.normal(size=d), rng.normal(size=n)
    np.testing.assert_allclose(cd_ops.margins(columns, w, 0.3, offset),
                               X64 @ w + 0.3 - offset, rtol=1e-12, atol=1e-12)


def test_row_curvature_and_loss(rng):
    n = 50
    m = np.concatenate([rng.normal(size=n - 4) * 5, [800.0, -800.0, 0.0, 40.0]])
    t = (rng.random(n) > 0.5).astype(np.float64)
    a = rng.uniform(0, 2, n)
    a[0] = 0
    p, g, h = np.empty(n), np.empty(n), np.empty(n)
    cd_ops.row_curvature(m, t, a, p, g, h)
    q = _sigmoid(m)
    np.testing.assert_allclose(p, q, rtol=1e-11, atol=1e-300)
    np.testing.assert_allclose(g, a * (q - t), rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(h, a * q * (1 - q), rtol=1e-11, atol=1e-300)
    loss = cd_ops.data_loss(m, t, a)
    np.testing.assert_allclose(loss, np.sum(a * (np.logaddexp(0, m) - t * m)),
                               rtol=1e-13)


def _model(X64, h, grad, shift, w, u, db, grad_b, hdiag_b, l1, with_intercept):
    """The quadratic model quadratic_cd minimises, in NumPy."""
    d_ = u - w
    r = X64 @ d_ + (db if with_intercept else 0.0)
    value = grad @ d_ + 0.5 * r @ (h * r) + 0.5 * shift * d_ @ d_ + l1 * np.abs(u).sum()
    if with_intercept:
        value += grad_b * db + 0.5 * (hdiag_b - h.sum()) * db ** 2
    return value


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("with_intercept", [True, False])
def test_quadratic_cd_minimises_the_model(layout, with_intercept, dtype, rng):
    X = _matrix(rng, dtype, n=40, d=9)
    X64 = X.astype(np.float64)
    n, d = X.shape
    columns = _columns(X, layout)
    h = rng.uniform(0.01, 0.25, n) / n
    grad = rng.normal(size=d) * 0.05
    w = rng.normal(size=d) * (rng.random(d) > 0.5)
    shift, l1, nu = 0.01, 0.02, 1e-12
    active = np.arange(d, dtype=np.intp)
    hdiag, hx = cd_ops.column_curvatures(columns, h, active)
    hdiag += shift
    grad_b, hdiag_b = 0.07, h.sum() + nu
    u, xd, delta_b = w.copy(), np.zeros(n), np.zeros(1)
    sweeps, gnorm1 = cd_ops.quadratic_cd(
        columns, h, grad, hdiag, hx, w, u, xd, active, l1, shift,
        with_intercept=with_intercept, grad_b=grad_b, hdiag_b=hdiag_b,
        delta_b=delta_b, tol=1e-11, max_sweeps=10000,
    )
    # NOTE: coordinate moves below 1e-12 are skipped (liblinear's), so the model's
    # subgradient stops near hdiag * 1e-12 per coordinate.
    assert gnorm1 <= 1e-11 and sweeps < 10000
    assert sorted(active) == list(range(d))  # reordered, not changed
    db = delta_b[0]
    np.testing.assert_allclose(xd, X64 @ (u - w) + db, rtol=1e-10, atol=1e-12)
    # the model's optimality conditions, checked directly
    r = X64 @ (u - w) + db
    G = grad + X64.T @ (h * r) + shift * (u - w)
    nonzero = u != 0
    np.testing.assert_allclose(G[nonzero], -l1 * np.sign(u[nonzero]), atol=1e-11)
    assert np.all(np.abs(G[~nonzero]) <= l1 + 1e-11)
    if with_intercept:
        assert abs(grad_b + h @ r + (hdiag_b - h.sum()) * db) < 1e-12
    else:
        assert db == 0
    # and no random perturbation does better
    best = _model(X64, h, grad, shift, w, u, db, grad_b, hdiag_b, l1, with_intercept)
    for _ in range(20):
        v = u + rng.normal(size=d) * 1e-3
        assert best <= _model(X64, h, grad, shift, w, v, db + rng.normal() * 1e-3,
                              grad_b, hdiag_b, l1, with_intercept) + 1e-15


def _objective(m, t, a, w, l1, l2):
    return (np.sum(a * (np.logaddexp(0, m) - t * m)) + l1 * np.abs(w).sum()
            + 0.5 * l2 * w @ w)


def test_line_search_takes_the_first_sufficient_step(rng):
    n, d = 30, 5
    m, t, a = rng.normal(size=n), (rng.random(n) > 0.5) * 1.0, np.full(n, 1.0 / n)
    p = _sigmoid(m)
    w = np.array([0.5, 0.0, -0.2, 0.0, 1.0])
    X = rng.normal(size=(n, d))
    grad = X.T @ (a * (p - t)) + 0.1 * w
    grad_b = float(np.sum(a * (p - t)))
    u = w - 40.0 * grad  # steepest descent, too long a step: it is halved
    xd = X @ (u - w) + 0.05
    active = np.arange(d, dtype=np.intp)
    l1, l2, sigma = 0.01, 0.1, 0.01
    before = _objective(m, t, a, w, l1, l2)
    decrease = grad @ (u - w) + grad_b * 0.05 + l1 * (np.abs(u).sum() - np.abs(w).sum())
    expected = None
    for k in range(20):  # the twin: the first halving with enough decrease
        step = 0.5 ** k
        change = _objective(m + step * xd, t, a, w + step * (u - w), l1, l2) - before
        if change <= sigma * step * decrease:
            expected = (step, change)
            break
    assert expected is not None and expected[0] < 1
    m0, w0 = m.copy(), w.copy()
    step, change = cd_ops.line_search(m, xd, t, a, p, w, u, active, grad, grad_b=grad_b,
                                      delta_b=0.05, l1=l1, l2=l2, sigma=sigma)
    assert step == expected[0]
    np.testing.assert_allclose(change, expected[1], rtol=1e-9)
    np.testing.assert_allclose(m, m0 + step * xd, rtol=1e-14)
    np.testing.assert_allclose(w, w0 + step * (u - w0), rtol=1e-14)
    # a direction that does not descend is refused and nothing moves
    m1, w1 = m.copy(), w.copy()
    step, change = cd_ops.line_search(m, -xd, t, a, p, w, w.copy(), active, grad,
                                      l1=l1, l2=l2)
    assert (step, change) == (0.0, 0.0)
    np.testing.assert_array_equal(m, m1)
    np.testing.assert_array_equal(w, w1)


def test_full_step_keeps_exact_zeros(rng):
    n = 10
    m, t, a = np.zeros(n), (np.arange(n) % 2) * 1.0, np.full(n, 0.1)
    w, u = np.array([0.3]), np.array([0.0])
    grad = np.array([1.0])
    step, _ = cd_ops.line_search(m, np.full(n, -0.3) * 1e-3, t, a, _sigmoid(m), w, u,
                                 np.array([0], np.intp), grad, l1=0.1, l2=0.0)
    assert step == 1.0 and w[0] == 0.0


# ------------------------------------------------------------------- refusals


def test_columns_refuse_bad_input():
    with pytest.raises(TypeError, match="float32 or float64"):
        cd_ops.Columns.of(np.zeros((3, 2), np.int64))
    with pytest.raises(ValueError, match="C-contiguous"):
        cd_ops.Columns.of(np.asfortranarray(np.ones((3, 2))))
    with pytest.raises(ValueError, match="must be CSR"):
        cd_ops.Columns.of(sp.csc_matrix(np.ones((3, 2))))
    with pytest.raises(TypeError, match="float32 or float64"):
        cd_ops.Columns.of(sp.csr_matrix(np.ones((3, 2), np.int64)))
    bad = sp.csr_matrix(np.eye(3))
    bad.indices[1] = 7  # out of range
    with pytest.raises(ValueError, match="column index is out of range"):
        cd_ops.Columns.of(bad)
    bad = sp.csr_matrix(np.eye(3))
    bad.indices[1] = -1
    with pytest.raises(ValueError, match="column index is out of range"):
        cd_ops.Columns.of(bad)
    bad = sp.csr_matrix(np.eye(3))
    bad.indptr[2] = 9
    with pytest.raises(ValueError, match="indptr"):
        cd_ops.Columns.of(bad)


def test_door_refuses_bad_arrays(rng):
    X = rng.normal(size=(6, 3))
    columns = cd_ops.Columns.of(X)
    g = np.zeros(6)
    with pytest.raises(TypeError, match="Columns"):
        cd_ops.column_gradients(X, g)
    with pytest.raises(ValueError, match="must have 6 entries"):
        cd_ops.column_gradients(columns, np.zeros(5))
    with pytest.raises(TypeError, match="float64"):
        cd_ops.column_gradients(columns, np.zeros(6, np.float32))
    with pytest.raises(ValueError, match="overlaps"):
        buf = np.zeros(9)
        cd_ops.column_gradients(columns, buf[:6], buf[3:6])
    h, w, u, xd = np.full(6, 0.1), np.zeros(3), np.zeros(3), np.zeros(6)
    hdiag, hx = cd_ops.column_curvatures(columns, h, np.arange(3, dtype=np.intp))
    args = (columns, h, np.zeros(3), hdiag, hx, w, u, xd)
    with pytest.raises(ValueError, match=r"values in \[0, 3\)"):
        cd_ops.quadratic_cd(*args, np.array([0, 3], np.intp), 0.1, 0.0,
                            with_intercept=False)
    with pytest.raises(ValueError, match="repeat"):
        cd_ops.quadratic_cd(*args, np.array([1, 1], np.intp), 0.1, 0.0,
                            with_intercept=False)
    with pytest.raises(TypeError, match="intp"):
        cd_ops.quadratic_cd(*args, np.array([1], np.int32), 0.1, 0.0,
                            with_intercept=False)
    with pytest.raises(ValueError, match="hdiag must be > 0"):
        cd_ops.quadratic_cd(columns, h, np.zeros(3), np.zeros(3), hx, w, u, xd,
                            np.array([0], np.intp), 0.1, 0.0, with_intercept=False)
    with pytest.raises(ValueError, match="l1 must be in"):
        cd_ops.quadratic_cd(*args, np.array([0], np.intp), -1.0, 0.0,
                            with_intercept=False)
    with pytest.raises(ValueError, match="read-only"):
        ro = np.zeros(3)
        ro.flags.writeable = False
        cd_ops.quadratic_cd(columns, h, np.zeros(3), hdiag, hx, w, ro, xd,
                            np.array([0], np.intp), 0.1, 0.0, with_intercept=False)
    with pytest.raises(ValueError, match="sigma"):
        cd_ops.line_search(np.zeros(6), xd, np.zeros(6), h, h.copy(), w, u,
                           np.array([0], np.intp), np.zeros(3), l1=0.1, l2=0.0,
                           sigma=2.0)
