"""Sequential on CSR input: the first Dense (or Maxout) layer multiplies the sparse
rows, the mini-batches gather CSR rows, nothing is densified, and the results are the
dense input's to float tolerance; malformed sparse input is a ValueError."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from fastnn import Sequential
from fastnn.layers import Dense, Dropout, Maxout

# CSR and dense sum the same products in different orders
CLOSE = {np.float32: {"rtol": 1e-4, "atol": 1e-5},
         np.float64: {"rtol": 1e-9, "atol": 1e-11}}


def _data(dtype, n=150, d=30, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.15, format="csr", dtype=dtype, random_state=rng)
    return X, rng.integers(0, 3, n)


def _model(first=None, optimizer="adam", metrics=("accuracy",)):
    first = first or Dense(8, "tanh", input_dim=30)
    model = Sequential([first, Dense(3, "softmax")], seed=0)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=list(metrics))
    return model


@pytest.fixture
def no_densifying(monkeypatch):
    """Every way SciPy densifies a sparse matrix raises while the test runs."""
    def refuse(*args, **kwargs):
        raise AssertionError("a sparse matrix was densified")

    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.csr_array):
        for name in ("toarray", "todense"):
            monkeypatch.setattr(cls, name, refuse)


@pytest.mark.parametrize("first", [
    lambda: Dense(8, "tanh", input_dim=30),
    lambda: Dense(8, "relu", input_dim=30, use_bias=False, kernel_l2=0.01),
    lambda: Maxout(4, pieces=2, input_dim=30),
], ids=["dense", "no-bias-l2", "maxout"])
def test_fit_predict_evaluate_equal_the_dense_input(first, dtype):
    X, y = _data(dtype)
    dense = X.toarray()
    sparse_model, dense_model = _model(first()), _model(first())
    weights = np.linspace(0.5, 1.5, X.shape[0])
    fits = [
        model.fit(x, y, epochs=3, batch_size=32, verbose=0, sample_weight=weights,
                  validation_split=0.2).history
        for model, x in ((sparse_model, X), (dense_model, dense))
    ]
    assert sparse_model.dtype == dtype
    for key in fits[0]:
        assert_allclose(fits[0][key], fits[1][key], **CLOSE[dtype])
    assert_allclose(sparse_model.get_flat_weights(), dense_model.get_flat_weights(),
                    **CLOSE[dtype])
    assert_allclose(sparse_model.predict(X, batch_size=40),
                    dense_model.predict(dense, batch_size=40), **CLOSE[dtype])
    assert_allclose(sparse_model.evaluate(X, y, verbose=0),
                    dense_model.evaluate(dense, y, verbose=0), **CLOSE[dtype])
    assert_allclose(sparse_model.train_on_batch(X[:20], y[:20]),
                    dense_model.train_on_batch(dense[:20], y[:20]), **CLOSE[dtype])
    assert_allclose(sparse_model.predict(X[:1]), dense_model.predict(dense[:1]),
                    **CLOSE[dtype])


def test_the_sparse_backward_passes_a_finite_difference_check(num_grad, fd_tol):
    X, y = _data(np.float64, n=12, d=6)
    model = _model(Dense(3, "tanh", input_dim=6))
    fun = model.objective(X, y)
    weights = np.random.default_rng(1).normal(size=model.count_params())
    assert_allclose(fun(weights)[1], num_grad(lambda w: fun(w)[0], weights), **fd_tol)
    dense_fun = model.objective(X.toarray(), y)
    assert_allclose(fun(weights)[1], dense_fun(weights)[1], rtol=1e-12, atol=1e-14)


def test_nothing_is_densified(no_densifying):
    X, y = _data(np.float32)
    model = _model()
    model.fit(X, y, epochs=2, batch_size=16, verbose=0, validation_data=(X, y))
    model.evaluate(X, y, verbose=0)
    model.objective(X, y)(model.get_flat_weights())
    assert model.predict(X).shape == (150, 3)


def test_a_huge_sparse_x_trains_and_predicts_in_little_memory():
    # dense, X would take 200000 * 2000000 * 4 bytes = 1.6 TB
    n, d = 200_000, 2_000_000
    rng = np.random.default_rng(0)
    rows = np.repeat(np.arange(n), 2)
    X = sp.csr_matrix((np.ones(2 * n, np.float32),
                       (rows, rng.integers(0, d, 2 * n))), shape=(n, d))
    y = rng.integers(0, 2, n)
    model = Sequential([Dense(1, "sigmoid", input_dim=d)], seed=0)
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    model.fit(X, y, epochs=1, batch_size=1000, verbose=0)
    assert model.predict(X, batch_size=50_000).shape == (n, 1)


@pytest.mark.parametrize("convert", [
    lambda X: X.tocsc(), lambda X: X.tocoo(), lambda X: sp.csr_array(X),
    lambda X: sp.csr_matrix((X.data, X.indices.astype(np.int64),
                             X.indptr.astype(np.int64)), shape=X.shape),
], ids=["csc", "coo", "csr_array", "int64-indices"])
def test_other_sparse_inputs_equal_csr(convert):
    X, y = _data(np.float64)
    a, b = _model(), _model()
    a.fit(X, y, epochs=2, verbose=0)
    b.fit(convert(X), y, epochs=2, verbose=0)
    assert_allclose(a.get_flat_weights(), b.get_flat_weights(), rtol=1e-12)
    assert_allclose(a.predict(X), b.predict(convert(X)), rtol=1e-12)


def test_a_csr_x_of_the_models_dtype_is_not_copied():
    X, y = _data(np.float32)
    model = _model()
    model.fit(X, y, epochs=1, verbose=0)
    assert model._check_x(X) is X
    X64 = X.astype(np.float64)
    assert model._check_x(X64).dtype == np.float32  # the model keeps its dtype


def test_only_a_first_dense_or_maxout_layer_takes_sparse_input():
    X, y = _data(np.float32)
    model = Sequential([Dropout(0.5), Dense(3, "softmax", input_dim=30)], seed=0)
    model.compile(loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="only a first Dense or Maxout layer"):
        model.fit(X, y, verbose=0)


def _malformed(what):
    X = sp.csr_matrix(np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0], [4.0, 0.0, 0.0]]))
    if what == "nan":
        X.data[1] = np.nan
    elif what == "inf":
        X.data[0] = np.inf
    elif what == "negative index":
        X.indices[2] = -1
    elif what == "index out of range":
        X.indices[2] = 3
    elif what == "decreasing indptr":
        X.indptr[2] = 1
    elif what == "indptr past the entries":
        X.indptr[-1] = 7
    elif what == "csc index out of range":
        X = X.tocsc()
        X.indices[0] = 9
    return X


@pytest.mark.parametrize("what, match", [
    ("nan", "contains NaN"), ("inf", "contains infinity"),
    ("negative index", "column index is out of range"),
    ("index out of range", "column index is out of range"),
    ("decreasing indptr", "indptr"), ("indptr past the entries", "indptr"),
    ("csc index out of range", "column index is out of range"),
])
def test_malformed_sparse_input_is_a_value_error(what, match):
    model = Sequential([Dense(2, "softmax", input_dim=3)], seed=0)
    model.compile(loss="sparse_categorical_crossentropy")
    X = _malformed(what)
    with pytest.raises(ValueError, match=match):
        model.fit(X, np.array([0, 1, 1]), verbose=0)
    with pytest.raises(ValueError, match=match):
        model.predict(X)
