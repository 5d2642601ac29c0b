"""LogisticRegression(solver='newton-cholesky') on dask arrays, and dask arrays of CSR
chunks for both data-parallel estimators, on a real two-process LocalCluster
(loopback). Newton: each worker sums its chunks' loss, gradient and Hessian, the
client solves; the fit must reach the in-process optimum. CSR chunks: the fit equals
the dense one to rounding. Every wait has a timeout (``within``)."""

import warnings

import numpy as np
import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")

import dask.array as da  # noqa: E402
import scipy.linalg  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from _dask_cluster import (  # noqa: E402
    CHUNKS,
    TIMEOUT,
    kill_a_worker_at_wait,
    make,
    objective,
    to_dask,
    two_worker_client,
    within,
)
from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402

from fastnn import LogisticRegression, MLPClassifier  # noqa: E402

pytestmark = pytest.mark.cluster  # a two-worker LocalCluster per module


@pytest.fixture(scope="module")
def client():
    yield from two_worker_client(TIMEOUT)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_newton_cholesky_reaches_the_in_process_optimum(client, n_classes):
    X, y = make(n_classes)
    dX, dy = to_dask(client, X, y)
    params = dict(solver="newton-cholesky", C=0.5, tol=1e-10)
    clf = within(TIMEOUT, LogisticRegression(**params).fit, dX, dy)
    local = LogisticRegression(**params).fit(X, y)
    assert isinstance(clf.coef_, np.ndarray)
    assert_allclose(objective(clf, X, y), objective(local, X, y), rtol=1e-8)
    assert_allclose(clf.coef_, local.coef_, rtol=1e-6, atol=1e-8)
    assert_allclose(clf.intercept_, local.intercept_, rtol=1e-6, atol=1e-8)
    # (the sums' order differs from the in-process fit's: a stop at the tol's edge may
    # come one Newton step apart on another CPU)
    assert abs(int(clf.n_iter_[0]) - int(local.n_iter_[0])) <= 1


@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_newton_cholesky_with_weights_and_float32(client, class_weight):
    X, y = make(3, dtype=np.float32)
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    dX, dy, dw = to_dask(client, X, y, sample_weight)
    params = dict(solver="newton-cholesky", class_weight=class_weight)
    clf = within(TIMEOUT, LogisticRegression(**params).fit, dX, dy, dw)
    local = LogisticRegression(**params).fit(X, y, sample_weight)
    assert clf.coef_.dtype == np.float32
    assert clf.predict_proba(dX).dtype == np.float32
    assert_allclose(clf.coef_, local.coef_, rtol=1e-3, atol=1e-4)  # float32, tol 1e-4


def test_newton_cholesky_falls_back_to_lbfgs_on_the_workers(client):
    """A singular Hessian (a repeated column, no penalty): scikit-learn's warning, and
    L-BFGS finishes from there with the chunks' objective, as in process."""
    X, y = make(2)
    X = np.hstack([X, X[:, :1]])
    dX, dy = to_dask(client, X, y)
    params = dict(solver="newton-cholesky", C=np.inf, max_iter=200)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = within(TIMEOUT, LogisticRegression(**params).fit, dX, dy)
        local = LogisticRegression(**params).fit(X, y)
    singular = [w for w in caught if issubclass(w.category, scipy.linalg.LinAlgWarning)]
    assert len(singular) == 2  # one for each fit
    assert_allclose(objective(clf, X, y), objective(local, X, y), rtol=1e-6)


def test_newton_cholesky_tree_path_same_chunking_same_fit(client):
    X, y = make(3, n_samples=1000)
    dX, dy = to_dask(client, X, y, chunks=(20,) * 50)  # beyond 32 chunks: a tree
    params = dict(solver="newton-cholesky", tol=1e-10)
    first = within(TIMEOUT, LogisticRegression(**params).fit, dX, dy)
    again = within(TIMEOUT, LogisticRegression(**params).fit, dX, dy)
    assert_array_equal(first.coef_, again.coef_)
    local = LogisticRegression(**params).fit(X, y)
    assert_allclose(objective(first, X, y), objective(local, X, y), rtol=1e-8)


def test_newton_cholesky_survives_a_worker_killed_mid_fit(client, monkeypatch):
    """As L-BFGS's: dask recomputes the dead worker's chunks from their source and
    the fit ends with the undisturbed fit's weights."""
    X, y = make(3, n_samples=4000)
    dX, dy = to_dask(client, X, y, chunks=(500,) * 8)
    params = dict(solver="newton-cholesky", tol=1e-10)
    undisturbed = within(TIMEOUT, LogisticRegression(**params).fit, dX, dy)
    waits, killed = kill_a_worker_at_wait(client, monkeypatch, 4, TIMEOUT)
    recovered = within(2 * TIMEOUT, LogisticRegression(**params).fit, dX, dy)
    assert killed and len(waits) > 4
    assert_array_equal(recovered.coef_, undisturbed.coef_)
    assert_array_equal(recovered.n_iter_, undisturbed.n_iter_)
    client.wait_for_workers(2, timeout=TIMEOUT)  # the nanny's restart, for what follows


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cholesky"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_csr_chunks_fit_as_the_dense_chunks(client, solver, dtype):
    X, y = make(3, dtype=dtype, sparse=True)
    dense_X, dy = to_dask(client, X, y)
    csr_X, _ = to_dask(client, X, y, csr=True)
    assert sp.issparse(csr_X._meta)
    # (float32 cannot reach a gradient of 1e-10)
    params = dict(solver=solver, tol=1e-10 if dtype == np.float64 else 1e-5,
                  max_iter=500)
    on_csr = within(TIMEOUT, LogisticRegression(**params).fit, csr_X, dy)
    on_dense = within(TIMEOUT, LogisticRegression(**params).fit, dense_X, dy)
    local = LogisticRegression(**params).fit(sp.csr_matrix(X), y)
    assert on_csr.coef_.dtype == dtype
    rtol = 1e-8 if dtype == np.float64 else 1e-4
    assert_allclose(objective(on_csr, X, y), objective(on_dense, X, y), rtol=rtol)
    assert_allclose(objective(on_csr, X, y), objective(local, X, y), rtol=rtol)
    proba = on_csr.predict_proba(csr_X)
    assert isinstance(proba, da.Array)
    assert_allclose(proba.compute(), on_csr.predict_proba(X), rtol=1e-5)


def test_csr_chunks_are_checked_on_the_workers(client):
    X, y = make(2, sparse=True)
    X[CHUNKS[0] + 3, 2] = np.nan  # in the third chunk
    dX, dy = to_dask(client, X, y, csr=True)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        within(TIMEOUT, LogisticRegression().fit, dX, dy)


def test_mlp_on_csr_chunks_equals_the_in_process_fit(client):
    X, y = make(3, n_samples=600, sparse=True)
    dX, dy = to_dask(client, X, y, chunks=(200,) * 3, csr=True)
    params = dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=30,
                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached, both fits
        clf = within(TIMEOUT, MLPClassifier(**params).fit, dX, dy)
        local = MLPClassifier(**params).fit(sp.csr_matrix(X), y)
    assert_allclose(clf.loss_, local.loss_, rtol=1e-6)
    assert_array_equal(clf.predict(dX).compute(), local.predict(X))
