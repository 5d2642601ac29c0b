"""The door of the coordinate-descent kernels (proximal Newton for L1 and elastic-net
logistic regression): private to :mod:`fastnn.estimators`.

``Columns.of(X)`` stores X by columns once per fit and is the only thing the kernels
read X through: a CSR matrix is checked (its indices are trusted by the kernels) and
copied to CSC (values, row indices and column pointers: O(nnz) memory, as liblinear
copies its data); a dense X is copied to column-major order (column j contiguous:
coordinate descent reads one column at a time, and a strided column of a row-major X
touches a cache line per entry). The model arrays (margins, curvature, w, gradients)
are float64 ndarrays; every function checks their lengths against the columns.
"""

import numpy as np
import scipy.sparse

from fastnn.ops._loader import cd_kernels
from fastnn.ops.checks import (
    INTP,
    check_csr,
    check_float,
    check_index_array,
    check_scalar,
    check_writeable,
)

_F64 = np.dtype(np.float64)
_NO_OFFSET = np.empty(0, np.float64)


class Columns:
    """X (n_samples, n_features) by columns, as the kernels read it: ``values`` (X's
    dtype), ``rows`` (intp row of each value; empty for a dense X, whose column j is
    ``values[colptr[j]:colptr[j] + n_samples]``) and ``colptr`` (intp, n_features + 1).
    Build it with :meth:`of`."""

    __slots__ = ("colptr", "dtype", "rows", "shape", "values")

    @classmethod
    def of(cls, X):
        """X's columns: X is a C-contiguous float32/float64 ndarray or a CSR matrix or
        array of that dtype (int32 or int64 indices, any order, explicit zeros allowed).
        X itself is never modified."""
        self = cls()
        if scipy.sparse.issparse(X):
            check_csr(X)
            n_samples, n_features = X.shape
            csc = _to_csc(X)
            self.values = np.ascontiguousarray(csc.data)
            self.rows = np.ascontiguousarray(csc.indices, dtype=INTP)
            self.colptr = np.ascontiguousarray(csc.indptr, dtype=INTP)
        else:
            check_float("X", X, ndim=2)
            n_samples, n_features = X.shape
            self.values = np.asfortranarray(X).ravel(order="F")
            self.rows = np.empty(0, INTP)
            self.colptr = np.arange(n_features + 1, dtype=INTP) * n_samples
        self.shape = (n_samples, n_features)
        self.dtype = self.values.dtype
        return self


def _to_csc(X):
    """A CSC copy of the stored entries of a checked CSR X (X untouched)."""
    stop = int(X.indptr[-1])
    csr = scipy.sparse.csr_matrix(
        (X.data[:stop], X.indices[:stop], X.indptr), shape=X.shape, copy=False
    )
    return csr.tocsc(copy=True)


def _columns(columns):
    if not isinstance(columns, Columns):
        raise TypeError(
            f"columns must be a Columns (Columns.of(X)), got {type(columns).__name__}"
        )
    return columns


def _vector(name, array, n, writeable=False):
    """A float64 C-contiguous 1-D ndarray of length n."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(array).__name__}")
    if array.dtype != _F64:
        raise TypeError(f"{name} must have dtype float64, got {array.dtype}")
    if array.ndim != 1 or not array.flags.c_contiguous:
        raise ValueError(f"{name} must be a 1-D C-contiguous array")
    if array.shape[0] != n:
        raise ValueError(f"{name} must have {n} entries, got {array.shape[0]}")
    if writeable:
        check_writeable(name, array)
    return array


def _indices(name, array, high, writeable=True):
    check_index_array(name, array, None, high)
    if writeable:
        check_writeable(name, array)
    if array.size and np.bincount(array, minlength=high).max() > 1:
        raise ValueError(f"{name} must not repeat an index")
    return array


def row_curvature(margins, targets, weights, p, g, h):
    """Per row of the margins m: p = sigmoid(m), g = a (p - t), h = a p (1 - p), written
    into ``p``, ``g``, ``h`` (weights ``a``, targets ``t`` in {0, 1}); all float64 of
    one length."""
    n = _vector("margins", margins, getattr(margins, "shape", (0,))[0]).shape[0]
    _vector("targets", targets, n)
    _vector("weights", weights, n)
    for name, array in (("p", p), ("g", g), ("h", h)):
        _vector(name, array, n, writeable=True)
    _distinct(margins=margins, targets=targets, weights=weights, p=p, g=g, h=h)
    cd_kernels.row_curvature(margins, targets, weights, p, g, h)


def data_loss(margins, targets, weights):
    """sum_i a_i (log(1 + exp(m_i)) - t_i m_i) (a float, summed in float64)."""
    n = _vector("margins", margins, getattr(margins, "shape", (0,))[0]).shape[0]
    _vector("targets", targets, n)
    _vector("weights", weights, n)
    return cd_kernels.data_loss(margins, targets, weights)


def column_gradients(columns, g, grad=None):
    """grad_j = x_j . g for every column of X (float64, allocated when None)."""
    columns = _columns(columns)
    n, d = columns.shape
    _vector("g", g, n)
    grad = np.empty(d) if grad is None else _vector("grad", grad, d, writeable=True)
    _distinct(g=g, grad=grad)
    cd_kernels.column_gradients(columns.values, columns.rows, columns.colptr, g, grad)
    return grad


def column_curvatures(columns, h, active, hdiag=None, hx=None):
    """hdiag_j = (x_j * x_j) . h and hx_j = x_j . h for the columns j in ``active``
    (intp); the other entries of ``hdiag`` and ``hx`` (float64, n_features; zeros when
    allocated here) are left as they are. Returns (hdiag, hx)."""
    columns = _columns(columns)
    n, d = columns.shape
    _vector("h", h, n)
    _indices("active", active, d, writeable=False)
    hdiag = np.zeros(d) if hdiag is None else _vector("hdiag", hdiag, d, writeable=True)
    hx = np.zeros(d) if hx is None else _vector("hx", hx, d, writeable=True)
    _distinct(h=h, hdiag=hdiag, hx=hx)
    cd_kernels.column_curvatures(
        columns.values, columns.rows, columns.colptr, h, active, hdiag, hx
    )
    return hdiag, hx


def margins(columns, w, b=0.0, offset=None, out=None):
    """X w + b - offset (float64, n_samples; offset None: 0), into ``out``."""
    columns = _columns(columns)
    n, d = columns.shape
    _vector("w", w, d)
    b = check_scalar("b", b)
    offset = _NO_OFFSET if offset is None else _vector("offset", offset, n)
    out = np.empty(n) if out is None else _vector("out", out, n, writeable=True)
    _distinct(w=w, offset=offset, out=out)
    cd_kernels.margins(columns.values, columns.rows, columns.colptr, w, b, offset, out)
    return out


def quadratic_cd(columns, h, grad, hdiag, hx, w, u, xd, active, l1, shift, *,
                 with_intercept, grad_b=0.0, hdiag_b=1.0, delta_b=None, tol=0.0,
                 max_sweeps=1000):
    """Coordinate descent on one Newton step's model (see ``cd.quadratic_cd``): ``u``,
    ``xd`` and ``delta_b`` (float64, length 1; zero when None) in place; ``active``
    (intp, distinct columns) is reordered. ``hdiag`` over ``active`` and ``hdiag_b``
    must be > 0. Returns (sweeps, the model's subgradient 1-norm at the end)."""
    columns = _columns(columns)
    n, d = columns.shape
    _vector("h", h, n)
    _vector("xd", xd, n, writeable=True)
    for name, array in (("grad", grad), ("hdiag", hdiag), ("hx", hx), ("w", w)):
        _vector(name, array, d)
    _vector("u", u, d, writeable=True)
    _indices("active", active, d)
    delta_b = np.zeros(1) if delta_b is None else _vector(
        "delta_b", delta_b, 1, writeable=True
    )
    _distinct(h=h, xd=xd, grad=grad, hdiag=hdiag, hx=hx, w=w, u=u, delta_b=delta_b,
              active=active)
    l1 = check_scalar("l1", l1, low=0.0)
    shift = check_scalar("shift", shift, low=0.0)
    grad_b = check_scalar("grad_b", grad_b)
    hdiag_b = check_scalar("hdiag_b", hdiag_b, low=0.0, low_open=True)
    tol = check_scalar("tol", tol, low=0.0)
    if not isinstance(max_sweeps, (int, np.integer)) or max_sweeps < 0:
        raise ValueError(f"max_sweeps must be an int >= 0, got {max_sweeps!r}")
    if active.size and not np.all(hdiag[active] > 0):
        raise ValueError("hdiag must be > 0 on the active columns")
    sweeps, gnorm1 = cd_kernels.quadratic_cd(
        columns.values, columns.rows, columns.colptr, h, grad, hdiag, hx, w, u, xd,
        active, l1, shift, bool(with_intercept), grad_b, hdiag_b, delta_b, tol,
        int(max_sweeps),
    )
    return sweeps, gnorm1


def line_search(margins, xd, targets, weights, p, w, u, active, grad, *, grad_b=0.0,
                delta_b=0.0, l1, l2, sigma=0.01, max_halvings=20):
    """Backtracking along (u - w, delta_b) (see ``cd.line_search``); moves ``w`` and
    ``margins`` in place when a step is found. Returns (step, change of the objective);
    step 0.0 when none was found."""
    n = _vector("margins", margins, getattr(margins, "shape", (0,))[0], True).shape[0]
    for name, array in (("xd", xd), ("targets", targets), ("weights", weights),
                        ("p", p)):
        _vector(name, array, n)
    d = _vector("w", w, getattr(w, "shape", (0,))[0], writeable=True).shape[0]
    _vector("u", u, d)
    _vector("grad", grad, d)
    _indices("active", active, d)
    _distinct(margins=margins, xd=xd, targets=targets, weights=weights, p=p, w=w, u=u,
              grad=grad, active=active)
    grad_b = check_scalar("grad_b", grad_b)
    delta_b = check_scalar("delta_b", delta_b)
    l1 = check_scalar("l1", l1, low=0.0)
    l2 = check_scalar("l2", l2, low=0.0)
    sigma = check_scalar("sigma", sigma, low=0.0, high=1.0, low_open=True)
    if not isinstance(max_halvings, (int, np.integer)) or max_halvings < 0:
        raise ValueError(f"max_halvings must be an int >= 0, got {max_halvings!r}")
    return cd_kernels.line_search(
        margins, xd, targets, weights, p, w, u, active, grad, grad_b, delta_b, l1, l2,
        sigma, int(max_halvings),
    )


def _distinct(**arrays):
    """No written array may share memory with another argument."""
    items = [(name, a) for name, a in arrays.items() if a.size]
    for i, (name, a) in enumerate(items):
        for other, b in items[i + 1:]:
            if np.may_share_memory(a, b):
                raise ValueError(f"{name} overlaps {other}; pass separate arrays")
