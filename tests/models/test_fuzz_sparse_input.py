"""Fuzzing the networks' sparse input: a CSR (or CSC) matrix with one part spoiled
(an index negative or out of range, an indptr entry, NaN or inf data, an index dtype)
fed to Sequential's fit and predict and to MLPClassifier's fit (the products and the
row gather are fuzzed in tests/engine/test_fuzz_ops_sparse.py). Each
call either gives the dense input's answer or raises a clean ValueError/TypeError,
never crashes (a kernel reading out of bounds would)."""

import warnings

import numpy as np
import scipy.sparse as sp
from _fuzz import CLEAN_ERRORS, fuzz
from hypothesis import given
from hypothesis import strategies as st

from fastnn import MLPClassifier, Sequential
from fastnn.layers import Dense

SPOILS = ["none", "index", "indptr", "data", "indices-dtype", "indptr-length"]


@st.composite
def spoiled_sparse(draw):
    """(X, valid): a small CSR or CSC matrix, perhaps spoiled, and whether it is
    still well formed and finite (None: either answer is right)."""
    n = draw(st.integers(1, 8))
    d = draw(st.integers(1, 6))
    density = draw(st.sampled_from([0.0, 0.3, 1.0]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    X = sp.random(n, d, density=density, format="csr", dtype=dtype,
                  random_state=draw(st.integers(0, 2**16)))
    index_dtype = draw(st.sampled_from([np.int32, np.int64]))
    X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    if draw(st.booleans()):
        X = X.tocsc()
    spoil = draw(st.sampled_from(SPOILS))
    valid = True
    if spoil == "index" and X.nnz:
        position = draw(st.integers(0, X.nnz - 1))
        value = draw(st.sampled_from([-1, -(2**31), sum(X.shape), 2**31 - 1]))
        X.indices[position], valid = value, False
    elif spoil == "indptr" and len(X.indptr) > 1:
        position = draw(st.integers(0, len(X.indptr) - 1))
        value = draw(st.sampled_from([-1, X.nnz + 1, 2**31 - 1]))
        valid = X.indptr[position] == value
        X.indptr[position] = value
    elif spoil == "data" and X.nnz:
        X.data[draw(st.integers(0, X.nnz - 1))] = draw(
            st.sampled_from([np.nan, np.inf, -np.inf]))
        valid = False
    elif spoil == "indices-dtype":
        X.indices = X.indices.astype(np.float64)
        # NOTE: SciPy's transpose of a CSC (its CSR view) casts the indices back to
        # integers, as its conversions do: refused or taken, both are clean.
        valid = False if X.format == "csr" else None
    elif spoil == "indptr-length":
        X.indptr = X.indptr[:-1]
        valid = False
    return X, valid


def _dense_twin(X):
    return sp.csr_matrix((X.data, X.indices, X.indptr), shape=X.shape).toarray() if (
        X.format == "csr") else sp.csc_matrix((X.data, X.indices, X.indptr),
                                              shape=X.shape).toarray()


@fuzz(max_examples=40)
@given(case=spoiled_sparse(), seed=st.integers(0, 3))
def test_sequential_takes_or_refuses_a_spoiled_sparse_x(case, seed):
    X, valid = case
    y = np.arange(X.shape[0]) % 2
    model = Sequential([Dense(2, "softmax", input_dim=X.shape[1])], seed=seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    try:
        model.fit(X, y, epochs=1, batch_size=3, verbose=0)
        proba = model.predict(X)
    except CLEAN_ERRORS:
        assert valid is not True, "a well-formed sparse X was refused"
        return
    assert valid is not False, "a malformed sparse X was accepted"
    twin = Sequential([Dense(2, "softmax", input_dim=X.shape[1])], seed=seed)
    twin.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    twin.fit(_dense_twin(X).astype(X.dtype), y, epochs=1, batch_size=3, verbose=0)
    np.testing.assert_allclose(proba, twin.predict(_dense_twin(X).astype(X.dtype)),
                               rtol=1e-4, atol=1e-5)


@fuzz(max_examples=25)
@given(case=spoiled_sparse())
def test_mlp_classifier_takes_or_refuses_a_spoiled_sparse_x(case):
    X, valid = case
    y = np.arange(X.shape[0]) % 2
    clf = MLPClassifier((3,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            clf.fit(X, y)
            clf.predict_proba(X)
        except CLEAN_ERRORS:
            assert valid is not True, "a well-formed sparse X was refused"
            return
    assert valid is not False, "a malformed sparse X was accepted"
