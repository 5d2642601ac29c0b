"""Determinism: the same data, seed and thread counts give bit-identical weights.

Across thread counts (measured, and checked below):
- the stochastic solvers (Sequential, MLPClassifier sgd/adam, LogisticRegression sgd)
  on small mini-batches give the same bits with BLAS and OpenMP on 1 or 2 threads:
  fit holds OpenMP to the calling thread and each row's product is one thread's;
- LogisticRegression lbfgs on a large X splits the rows across the calling thread's
  OpenMP limit and sums the parts' gradients: another thread count sums in another
  order, so the weights agree to rounding (about 1e-12), not bit for bit;
- a large GEMM (MLPClassifier lbfgs's full-batch pass) may be split by OpenBLAS
  differently on 1 and 2 threads, with the same effect.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from threadpoolctl import threadpool_limits

from fastnn import LogisticRegression, MLPClassifier, OneVsAllClassifier, Sequential
from fastnn.layers import Dense, Dropout, Maxout
from fastnn.optimizers import SGD, Adam


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 10))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int) + (X[:, 3] > 0.7)
    return X, y


def _weights(estimator):
    if isinstance(estimator, Sequential):
        return [estimator.get_flat_weights()]
    if hasattr(estimator, "coefs_"):
        return list(estimator.coefs_) + list(estimator.intercepts_)
    if hasattr(estimator, "estimators_"):
        return [w for e in estimator.estimators_ for w in (e.coef_, e.intercept_)]
    return [estimator.coef_, estimator.intercept_]


def _sequential(seed, optimizer):
    model = Sequential([Maxout(16, input_dim=10), Dropout(0.3),
                        Dense(16, "elu"), Dropout(0.1), Dense(3, "softmax")], seed=seed)
    model.compile(optimizer, "sparse_categorical_crossentropy")
    return model


FITS = {
    "sequential-sgd": lambda X, y, s: _fit_seq(X, y, s, "sgd"),
    "sequential-adam": lambda X, y, s: _fit_seq(X, y, s, "adam"),
    "mlp-sgd-dropout": lambda X, y, s: MLPClassifier(
        (16, 8), solver="sgd", dropout=0.2, max_iter=4, random_state=s,
        learning_rate="invscaling").fit(X, y),
    "mlp-adam-early": lambda X, y, s: MLPClassifier(
        (16,), early_stopping=True, max_iter=4, random_state=s).fit(X, y),
    "mlp-lbfgs": lambda X, y, s: MLPClassifier(
        (16,), solver="lbfgs", max_iter=20, random_state=s).fit(X, y),
    "logistic-sgd": lambda X, y, s: LogisticRegression(
        solver="sgd", max_iter=4, random_state=s).fit(X, y),
    "logistic-lbfgs": lambda X, y, s: LogisticRegression(C=0.1 + s).fit(X, y),
    "one-vs-all": lambda X, y, s: OneVsAllClassifier(
        LogisticRegression(solver="sgd", max_iter=3, random_state=s)).fit(X, y),
}


def _fit_seq(X, y, seed, optimizer):
    optimizer = SGD(0.05, momentum=0.9, nesterov=True) if optimizer == "sgd" else Adam()
    model = _sequential(seed, optimizer)
    model.fit(X, y, epochs=3, batch_size=16, verbose=0)
    return model


def _fit(name, X, y, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _weights(FITS[name](X, y, seed))


@pytest.mark.parametrize("name", sorted(FITS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_seed_same_bits(data, name, dtype):
    X, y = data
    X = X.astype(dtype)
    first, second = _fit(name, X, y, 0), _fit(name, X, y, 0)
    for a, b in zip(first, second, strict=True):
        assert a.dtype == dtype
        assert_array_equal(a, b)
    other = _fit(name, X, y, 1)  # the check can fail: another seed, other weights
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))


def test_a_refit_repeats_the_first_fit(data):
    X, y = data
    clf = MLPClassifier((8,), solver="sgd", dropout=0.2, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = [w.copy() for w in _weights(clf.fit(X, y))]
        second = _weights(clf.fit(X, y))
    for a, b in zip(first, second):
        assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["sequential-sgd", "sequential-adam",
                                  "mlp-sgd-dropout", "logistic-sgd", "one-vs-all"])
def test_stochastic_solvers_give_the_same_bits_on_any_thread_count(data, name):
    X, y = data
    reference = _fit(name, X, y, 0)
    for user_api in ("blas", "openmp"):
        with threadpool_limits(1, user_api=user_api):
            for a, b in zip(reference, _fit(name, X, y, 0)):
                assert_array_equal(a, b)


def test_lbfgs_on_the_cores_agrees_across_thread_counts_to_rounding():
    # Big enough to be split across the calling thread's OpenMP threads.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 64))
    y = rng.integers(0, 3, 3000)
    two = LogisticRegression(tol=1e-10).fit(X, y).coef_
    assert_array_equal(two, LogisticRegression(tol=1e-10).fit(X, y).coef_)
    with threadpool_limits(1, user_api="openmp"):
        one = LogisticRegression(tol=1e-10).fit(X, y).coef_
        assert_array_equal(one, LogisticRegression(tol=1e-10).fit(X, y).coef_)
    assert_allclose(one, two, rtol=1e-6, atol=1e-9)
