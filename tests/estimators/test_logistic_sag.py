"""fit_sag (solver='sag' and 'saga') on a LogisticProblem: the objective scikit-learn's
own sag/saga reach, on dense and CSR (int32 and int64 indices) X, binary and softmax,
every penalty; scikit-learn's stopping, warning and errors; float32 kept; X not copied."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from fastnn.estimators._logistic_problem import LogisticProblem
from fastnn.estimators._logistic_sag import fit_sag


def _data(n_classes, layout, dtype=np.float64, n=120, d=6, seed=0):
    X, y = make_classification(
        n, d, n_informative=4, n_redundant=0, n_classes=n_classes, random_state=seed
    )
    X = StandardScaler().fit_transform(X).astype(dtype)
    if layout != "dense":
        X[np.abs(X) < 0.5] = 0
        X = sp.csr_matrix(X)
        index = np.int32 if layout == "csr32" else np.int64
        X.indices, X.indptr = X.indices.astype(index), X.indptr.astype(index)
    return X, y


def _problem(X, y, C=1.0, l1_ratio=0.0, sample_weight=None, **kwargs):
    classes, y_index = np.unique(y, return_inverse=True)
    k = 1 if len(classes) == 2 else len(classes)
    weights = None if sample_weight is None else sample_weight.astype(X.dtype)
    weight_sum = X.shape[0] if sample_weight is None else float(sample_weight.sum())
    kwargs = {"tol": 1e-10, "max_iter": 5000, "random_state": 0, **kwargs}
    return LogisticProblem(X, y_index, weights, weight_sum, k, C=C, l1_ratio=l1_ratio,
                           **kwargs)


def _fit(problem, saga):
    k = problem.n_outputs
    W = np.zeros((problem.n_features, k), problem.dtype)
    b = np.zeros(k, problem.dtype)
    n_iter = fit_sag(problem, W, b, saga=saga)
    return W, b, n_iter


def _sklearn_objective(problem, X, y, solver, C, l1_ratio, sample_weight=None,
                       fit_intercept=True):
    model = LogisticRegression(
        solver=solver, C=C, l1_ratio=l1_ratio, tol=1e-10, max_iter=5000,
        fit_intercept=fit_intercept, random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y, sample_weight=sample_weight)
    return problem.objective(model.coef_.T, model.intercept_)


CASES = [
    ("sag", 1.0, 0.0),
    ("saga", 1.0, 0.0),
    ("saga", 0.3, 1.0),
    ("saga", 0.3, 0.5),
]


@pytest.mark.parametrize("solver, C, l1_ratio", CASES, ids=["sag", "saga-l2", "saga-l1",
                                                            "saga-enet"])
@pytest.mark.parametrize("layout", ["dense", "csr32", "csr64"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_objective_matches_sklearn(solver, C, l1_ratio, layout, n_classes):
    X, y = _data(n_classes, layout)
    problem = _problem(X, y, C=C, l1_ratio=l1_ratio)
    W, b, n_iter = _fit(problem, solver == "saga")
    ours = problem.objective(W, b)
    if layout == "csr64":  # scikit-learn's sag takes int32 indices only
        X = sp.csr_matrix((X.data, X.indices.astype(np.int32), X.indptr.astype(np.int32)),
                          shape=X.shape)
    theirs = _sklearn_objective(problem, X, y, solver, C, l1_ratio)
    assert ours <= theirs * (1 + 1e-6)
    assert theirs <= ours * (1 + 1e-6)
    assert 1 <= n_iter < 5000


@pytest.mark.parametrize("solver, C, l1_ratio", [CASES[0], CASES[3]], ids=["sag", "saga"])
@pytest.mark.parametrize("layout", ["dense", "csr32"])
def test_sample_weights_and_no_intercept(solver, C, l1_ratio, layout):
    X, y = _data(2, layout, seed=1)
    sample_weight = np.random.RandomState(0).uniform(0.2, 3.0, X.shape[0])
    for fit_intercept in (True, False):
        problem = _problem(X, y, C=C, l1_ratio=l1_ratio, sample_weight=sample_weight,
                           fit_intercept=fit_intercept)
        W, b, _ = _fit(problem, solver == "saga")
        if not fit_intercept:
            assert b[0] == 0
        theirs = _sklearn_objective(problem, X, y, solver, C, l1_ratio, sample_weight,
                                    fit_intercept)
        assert problem.objective(W, b) == pytest.approx(theirs, rel=1e-6)


def test_no_penalty_and_l1_zeros():
    X, y = _data(2, "dense")
    problem = _problem(X, y, C=np.inf, max_iter=20000, tol=1e-6)
    W, b, _ = _fit(problem, saga=False)
    reference = _problem(X, y, C=np.inf)
    assert reference.objective(W, b) < reference.objective(np.zeros_like(W), b)
    # a strong L1 penalty sets weights to exactly zero
    problem = _problem(X, y, C=0.02, l1_ratio=1.0)
    W, _, _ = _fit(problem, saga=True)
    assert np.sum(W == 0) >= 1


@pytest.mark.parametrize("layout", ["dense", "csr32"])
def test_float32_stays_float32(layout):
    X32, y = _data(3, layout, dtype=np.float32)
    problem = _problem(X32, y, C=0.5, l1_ratio=0.5, tol=1e-6)
    W, b, _ = _fit(problem, saga=True)
    assert W.dtype == b.dtype == np.float32
    X64 = X32.astype(np.float64)
    problem64 = _problem(X64, y, C=0.5, l1_ratio=0.5, tol=1e-6)
    W64, b64, _ = _fit(problem64, saga=True)
    assert problem64.objective(W, b) == pytest.approx(problem64.objective(W64, b64),
                                                      rel=1e-5)


@pytest.mark.parametrize("layout", ["dense", "csr32", "csr64"])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_x_is_neither_copied_nor_changed(layout, monkeypatch):
    X, y = _data(2, layout)
    before = X.copy()
    import fastnn.ops._sag as sag_ops

    seen = []
    original = sag_ops.SagData.__init__

    def spy(self, X_in, *args, **kwargs):
        original(self, X_in, *args, **kwargs)
        seen.append(self)

    monkeypatch.setattr(sag_ops.SagData, "__init__", spy)
    _fit(_problem(X, y, max_iter=5), saga=True)
    (data,) = seen
    if layout == "dense":
        assert data.X is X
    else:
        assert data.data is X.data and data.indices is X.indices
        assert (X != before).nnz == 0
    if layout == "dense":
        np.testing.assert_array_equal(X, before)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_deterministic_given_random_state():
    X, y = _data(2, "csr32")
    fits = [_fit(_problem(X, y, random_state=seed, max_iter=3), True)[0]
            for seed in (3, 3, 4)]
    np.testing.assert_array_equal(fits[0], fits[1])
    assert not np.array_equal(fits[0], fits[2])
    rng_fits = [_fit(_problem(X, y, random_state=np.random.RandomState(5), max_iter=3),
                     True)[0] for _ in range(2)]
    np.testing.assert_array_equal(rng_fits[0], rng_fits[1])


def test_infinite_weight_diverges():
    # an inf sample weight makes the gradients NaN: caught at the first epoch's end
    X, y = _data(2, "dense")
    sample_weight = np.ones(X.shape[0])
    sample_weight[3] = np.inf
    problem = _problem(X, y, sample_weight=sample_weight)
    W, b = np.zeros((X.shape[1], 1)), np.zeros(1)
    with pytest.raises(ValueError, match="epoch #1"):
        fit_sag(problem, W, b)
    assert np.all(W == 0) and b[0] == 0


@pytest.mark.parametrize("solver", ["sag", "saga"])
def test_max_iter_warns_with_sklearn_message(solver):
    X, y = _data(2, "dense")
    problem = _problem(X, y, tol=1e-15, max_iter=3)
    with pytest.warns(ConvergenceWarning,
                      match="The max_iter was reached which means the coef_ did not"):
        _, _, n_iter = _fit(problem, solver == "saga")
    assert n_iter == 3


def test_max_iter_zero_leaves_the_start():
    X, y = _data(2, "dense")
    problem = _problem(X, y, max_iter=0)
    W, b = np.full((X.shape[1], 1), 0.5), np.full(1, 0.25)
    assert fit_sag(problem, W, b) == 0
    assert np.all(W == 0.5) and b[0] == 0.25


@pytest.mark.parametrize("layout", ["dense", "csr32"])
@pytest.mark.parametrize("saga", [False, True])
def test_divergence_raises_and_restores(layout, saga):
    X, y = _data(2, layout)
    problem = _problem(X, y, max_iter=10)
    W = np.full((X.shape[1], 1), np.nan)
    b = np.full(1, 0.5)
    with pytest.raises(ValueError, match=r"Floating-point under-/overflow occurred at "
                       r"epoch #1\. Scaling input data with StandardScaler or "
                       r"MinMaxScaler might help\."):
        fit_sag(problem, W, b, saga=saga)
    assert np.isnan(W).all() and b[0] == 0.5
    # an X whose rows' norms overflow
    big = X * 1e200
    W, b = np.zeros((X.shape[1], 1)), np.zeros(1)
    with pytest.raises(ValueError, match="Floating-point under-/overflow"):
        fit_sag(_problem(big, y, max_iter=10), W, b, saga=saga)
    assert np.all(W == 0) and b[0] == 0


def test_sklearn_errors():
    X, y = np.zeros((2, 2)), np.array([0, 1])
    problem = _problem(X, y, fit_intercept=False)
    with pytest.raises(ZeroDivisionError, match="step_size \\* alpha_scaled == 1"):
        _fit(problem, saga=False)
    X, y = _data(2, "dense")
    with pytest.raises(ValueError, match="only an L2 penalty"):
        _fit(_problem(X, y, l1_ratio=1.0), saga=False)


def test_warm_start_stays_at_the_minimum():
    X, y = _data(3, "dense")
    problem = _problem(X, y, tol=1e-8)
    W, b, _ = _fit(problem, saga=False)
    best = problem.objective(W, b)
    fit_sag(problem, W, b)
    assert problem.objective(W, b) == pytest.approx(best, rel=1e-8)


def test_on_iteration_sees_every_epoch_and_can_stop():
    X, y = _data(2, "csr32")
    calls = []

    def on_iteration(W, b, loss):
        assert loss is None
        calls.append(W.copy())
        return len(calls) == 4

    problem = _problem(X, y, on_iteration=on_iteration)
    _, _, n_iter = _fit(problem, saga=True)
    assert n_iter == 4 and len(calls) == 4
