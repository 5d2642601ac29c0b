"""MLPClassifier(solver='lbfgs') on dask arrays, on a real two-process LocalCluster
(loopback): L-BFGS on the client, each chunk's data term on the worker holding it. The
fit must equal the in-process fit to summation order, predict dask arrays block by
block, refuse other solvers and bad chunks clearly, and survive a worker killed
mid-fit. Every wait has a timeout."""

import numpy as np
import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")

import dask.array as da  # noqa: E402
from _dask_cluster import (  # noqa: E402
    kill_a_worker_at_wait,
    scattered_rows,
    two_worker_client,
    within,
)
from distributed import wait  # noqa: E402
from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402

from fastnn import MLPClassifier  # noqa: E402

pytestmark = [
    pytest.mark.cluster,  # a two-worker LocalCluster per module
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

TIMEOUT = 60
CHUNKS = (250, 1, 200, 149)  # uneven, one of a single row: 600 rows
PARAMS = {"hidden_layer_sizes": (10,), "solver": "lbfgs", "max_iter": 50,
          "random_state": 0, "alpha": 1e-3}


@pytest.fixture(scope="module")
def client():
    yield from two_worker_client(TIMEOUT)


def make(n_classes=3, n_samples=sum(CHUNKS)):
    return make_classification(n_samples, 8, n_informative=5, n_classes=n_classes,
                               random_state=0)


def to_dask(client, *arrays, chunks=CHUNKS):
    dask_arrays = [da.from_array(a, chunks=(chunks,) + a.shape[1:]) for a in arrays]
    dask_arrays = client.persist(dask_arrays)
    wait(dask_arrays, timeout=TIMEOUT)
    return dask_arrays


def test_without_a_client_the_fit_names_the_estimator():
    """(First in the file: before the module's cluster and its Client exist.)"""
    from distributed import default_client

    try:
        default_client()
        pytest.skip("a distributed.Client is already active")
    except ValueError:
        pass
    X, y = make()
    dX, dy = da.from_array(X, chunks=200), da.from_array(y, chunks=200)
    with pytest.raises(ValueError, match="MLPClassifier fits dask arrays on a "
                                         "dask.distributed cluster"):
        MLPClassifier(**PARAMS).fit(dX, dy)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_equals_the_in_process_fit(client, n_classes):
    X, y = make(n_classes)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    dX, dy, dw = to_dask(client, X, y, weights)
    fitted = within(TIMEOUT, MLPClassifier(**PARAMS).fit, dX, dy, dw)
    local = MLPClassifier(**PARAMS).fit(X, y, weights)
    assert_allclose(fitted.loss_, local.loss_, rtol=1e-6)
    assert fitted.n_iter_ == local.n_iter_
    assert_array_equal(fitted.classes_, local.classes_)
    assert isinstance(fitted.coefs_[0], np.ndarray)
    assert_array_equal(fitted.predict(X), local.predict(X))


def test_predictions_are_dask_arrays_equal_to_in_process(client):
    X, y = make()
    dX, dy = to_dask(client, X, y)
    clf = within(TIMEOUT, MLPClassifier(**PARAMS).fit, dX, dy)
    predicted, proba = clf.predict(dX), clf.predict_proba(dX)
    assert isinstance(predicted, da.Array) and isinstance(proba, da.Array)
    assert_array_equal(within(TIMEOUT, predicted.compute), clf.predict(X))
    assert_allclose(within(TIMEOUT, proba.compute), clf.predict_proba(X))


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_other_solvers_name_lbfgs(client, solver):
    X, y = make()
    dX, dy = to_dask(client, X, y)
    with pytest.raises(ValueError, match="'lbfgs'"):
        MLPClassifier(solver=solver).fit(dX, dy)


def test_nan_in_a_chunk_is_found_on_the_workers(client):
    X, y = make()
    X[300, 2] = np.nan
    dX, dy = to_dask(client, X, y)
    with pytest.raises(ValueError, match="Input X contains NaN."):
        within(TIMEOUT, MLPClassifier(**PARAMS).fit, dX, dy)


def test_multilabel_y_is_refused(client):
    X, y = make()
    dX, dY = to_dask(client, X, np.eye(3, dtype=int)[y])
    with pytest.raises(ValueError, match="multi-label"):
        MLPClassifier(**PARAMS).fit(dX, dY)


def test_warm_start_goes_on_from_the_held_weights_as_in_process(client):
    X, y = make()
    dX, dy = to_dask(client, X, y)
    params = dict(PARAMS, max_iter=15, warm_start=True)
    fitted = within(TIMEOUT, MLPClassifier(**params).fit, dX, dy)
    within(TIMEOUT, fitted.fit, dX, dy)
    local = MLPClassifier(**params).fit(X, y).fit(X, y)
    assert_allclose(fitted.loss_, local.loss_, rtol=1e-6)
    with pytest.raises(ValueError, match="same classes as in the previous call"):
        within(TIMEOUT, fitted.fit, dX, dy % 2)
    with pytest.raises(ValueError, match="X has 5 features, but MLPClassifier is "
                                         "expecting 8"):
        fitted.fit(dX[:, :5], dy)


def test_a_worker_killed_mid_fit_is_recovered(client, monkeypatch):
    """A worker process killed while the chunks' tasks run: dask recomputes its
    chunks from their source on the other worker (the nanny restarts the dead one),
    and the fit ends with the undisturbed fit's weights (the same chunking: the same
    sums in the same order, bit for bit)."""
    X, y = make(n_samples=4000)
    dX, dy = to_dask(client, X, y, chunks=(500,) * 8)
    undisturbed = within(TIMEOUT, MLPClassifier(**PARAMS).fit, dX, dy)
    waits, killed = kill_a_worker_at_wait(client, monkeypatch, 5, TIMEOUT)
    holders = set().union(*client.who_has(dX).values())
    recovered = within(2 * TIMEOUT, MLPClassifier(**PARAMS).fit, dX, dy)
    assert killed and len(waits) > 5 and killed[0] in holders  # it held chunks
    assert recovered.loss_ == undisturbed.loss_
    assert recovered.n_iter_ == undisturbed.n_iter_
    for ours, theirs in zip(recovered.coefs_ + recovered.intercepts_,
                            undisturbed.coefs_ + undisturbed.intercepts_):
        assert_array_equal(ours, theirs)
    client.wait_for_workers(2, timeout=TIMEOUT)  # the nanny's restart, for what follows


def test_a_worker_lost_with_data_dask_cannot_recompute_is_named(client, monkeypatch):
    """Chunks scattered from the client have no source to recompute them from: the
    fit raises one error naming the dead worker, at once (no hang)."""
    X, y = make(n_samples=4000)
    dX, dy = scattered_rows(client, X, 500), da.from_array(y, chunks=500)
    _, killed = kill_a_worker_at_wait(client, monkeypatch, 4, TIMEOUT)
    with pytest.raises(RuntimeError, match="lost: tcp://") as raised:
        within(TIMEOUT, MLPClassifier(**PARAMS).fit, dX, dy)
    assert killed and killed[0] in str(raised.value)
    client.wait_for_workers(2, timeout=TIMEOUT)
