"""MLPClassifier(solver='lbfgs') on dask arrays, on a real two-process LocalCluster
(loopback): L-BFGS on the client, each chunk's data term on the worker holding it. The
fit must equal the in-process fit to summation order, predict dask arrays block by
block, and refuse other solvers and bad chunks clearly. Every wait has a timeout."""

import numpy as np
import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")

import dask.array as da  # noqa: E402
from _dask_cluster import two_worker_client, within  # noqa: E402
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


def make(n_classes=3):
    return make_classification(sum(CHUNKS), 8, n_informative=5, n_classes=n_classes,
                               random_state=0)


def to_dask(client, *arrays):
    dask_arrays = [da.from_array(a, chunks=(CHUNKS,) + a.shape[1:]) for a in arrays]
    dask_arrays = client.persist(dask_arrays)
    wait(dask_arrays, timeout=TIMEOUT)
    return dask_arrays


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
