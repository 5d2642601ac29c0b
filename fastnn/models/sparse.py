"""A sparse X as the networks take it: checked before SciPy or a kernel reads through
its indices, then one CSR matrix (other formats converted once, as scikit-learn's
``check_array(accept_sparse="csr")`` converts them), never densified."""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array, validate_data

from fastnn.ops.checks import FLOATS, check_csr

__all__ = ["check_sparse_structure", "check_sparse_x", "validate_csr_data"]


def check_sparse_structure(X):
    """Refuse a malformed CSR or CSC matrix ``X`` (ValueError: an inconsistent indptr,
    an index out of range) before SciPy converts it or a kernel reads through it."""
    # NOTE: SciPy's compiled conversions trust the indices (a CSC's tocsr writes where
    # they point); a CSC is checked as the CSR of its transpose, the same arrays. COO
    # checks its indices' range itself when converted.
    if X.format not in ("csr", "csc"):
        return
    rows = X if X.format == "csr" else X.T
    if rows.dtype not in FLOATS:  # check_csr reads float data; the structure is all
        placeholder = sp.csr_matrix(rows.shape)
        placeholder.data = np.zeros(rows.indices.shape, np.float64)
        placeholder.indices, placeholder.indptr = rows.indices, rows.indptr
        rows = placeholder
    check_csr(rows)


def check_sparse_x(model, x, name):
    """The sparse ``x`` as ``model`` (a :class:`fastnn.Sequential`) takes it: CSR of
    the model's dtype (float32 or float64 before the model is built), finite, well
    formed; the user's arrays are not copied when they are that already."""
    first = model.layers[0]
    if not getattr(first, "takes_sparse", False):
        raise ValueError(
            f"{name} is a sparse matrix, which only a first Dense or Maxout layer takes; "
            f"the first layer is {first.name} ({type(first).__name__})"
        )
    check_sparse_structure(x)
    return check_array(
        x, accept_sparse="csr", dtype=model.dtype if model.built else list(FLOATS),
        input_name=name, estimator="Sequential",
    )


def validate_csr_data(estimator, X, *args, **kwargs):
    """scikit-learn's ``validate_data(estimator, X, ...)`` for an estimator whose
    network takes sparse X as CSR (``accept_sparse="csr"``), a sparse X's structure
    checked first (:func:`check_sparse_structure`)."""
    if sp.issparse(X):
        check_sparse_structure(X)
    return validate_data(estimator, X, *args, accept_sparse="csr", **kwargs)
