"""fastnn on a real dask.distributed cluster (two worker processes on loopback):
dask_ml's Incremental trains block by block on the workers, ParallelPostFit and
Incremental predict on dask arrays, GridSearchCV under joblib's dask backend fits on
the workers, and a worker's fastnn keeps to the worker's thread budget.

A task whose result cannot be unpickled makes dask wait forever without an error, so
every wait here has a timeout: ``.result(timeout=...)``, or :func:`within` for the
calls that block inside dask_ml and scikit-learn.
"""

import os

import numpy as np
import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")
pytest.importorskip("dask_ml")

import dask.array as da  # noqa: E402
import joblib  # noqa: E402
from _dask_cluster import two_worker_client, within  # noqa: E402
from dask_ml.wrappers import Incremental, ParallelPostFit  # noqa: E402
from distributed import get_task_stream  # noqa: E402
from numpy.testing import assert_array_equal  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from fastnn import LogisticRegression, MLPClassifier, OneVsAllClassifier  # noqa: E402

pytestmark = pytest.mark.cluster  # a two-worker LocalCluster per module

TIMEOUT = 60  # seconds for any one wait; the whole file takes about 15 s
CLASSES = np.array([0, 1, 2])
CHUNKS = (100, 1, 99, 100)  # Incremental's blocks, one of a single row


@pytest.fixture(scope="module")
def client():
    yield from two_worker_client(TIMEOUT)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(sum(CHUNKS), 10, n_informative=5, n_classes=3,
                               random_state=0)
    return X.astype(np.float32), y


def blocks():
    """The row slices of the dask arrays' blocks."""
    starts = np.cumsum((0,) + CHUNKS)
    return [slice(start, stop) for start, stop in zip(starts[:-1], starts[1:])]


def worker_pids(client):
    return {
        client.submit(os.getpid, workers=[address], pure=False).result(timeout=TIMEOUT)
        for address in client.scheduler_info()["workers"]
    }


def learned(clf):
    if hasattr(clf, "estimators_"):
        return [a for e in clf.estimators_ for a in learned(e)]
    if hasattr(clf, "coefs_"):
        return clf.coefs_ + clf.intercepts_
    return [clf.coef_, clf.intercept_]


def test_workers_keep_blas_and_openmp_to_threads_per_worker(client):
    """distributed starts its workers with OMP/OPENBLAS/MKL_NUM_THREADS=1; fastnn's
    L-BFGS, which names its OpenMP thread count, must keep to it too."""

    def thread_budget():
        import threadpoolctl

        # (importing fastnn loads its kernels and their OpenMP runtime)
        from fastnn.estimators._logistic_objective import available_cores

        pools = {(lib["user_api"], lib["filepath"]): lib["num_threads"]
                 for lib in threadpoolctl.threadpool_info()}
        return pools, available_cores()

    for address in client.scheduler_info()["workers"]:
        future = client.submit(thread_budget, workers=[address], pure=False)
        pools, cores = future.result(timeout=TIMEOUT)
        assert "blas" in {api for api, _ in pools}, pools
        assert set(pools.values()) == {1}, pools  # threads_per_worker=1
        assert cores == 1


@pytest.mark.parametrize("make", [
    lambda: LogisticRegression(solver="sgd", random_state=0),
    lambda: OneVsAllClassifier(LogisticRegression(solver="sgd", random_state=0)),
    lambda: MLPClassifier((16,), solver="sgd", learning_rate_init=0.05, random_state=0),
    lambda: MLPClassifier((16,), solver="adam", dropout=0.2, random_state=0),
], ids=["logistic_sgd", "one_vs_all_sgd", "mlp_sgd", "mlp_adam_dropout"])
def test_incremental_trains_block_by_block_on_the_workers(client, data, make):
    """The model travels from block to block between the worker processes and ends
    exactly where the same partial_fit calls end in this process."""
    X, y = data
    dX, dy = da.from_array(X, chunks=(CHUNKS, 10)), da.from_array(y, chunks=(CHUNKS,))
    incremental = Incremental(make(), shuffle_blocks=False)
    with get_task_stream(client) as stream:
        within(TIMEOUT, incremental.fit, dX, dy, classes=CLASSES)
    # the graph holds the model as task -1, then one partial_fit task per block
    ran = [task for task in stream.data
           if task["key"][0].startswith("fit-") and task["key"][1] >= 0]
    assert len(ran) == len(CHUNKS)

    local = make()
    with threadpool_limits(1, user_api="blas"):  # as in the workers: same rounding
        for rows in blocks():
            local.partial_fit(X[rows], y[rows], classes=CLASSES)
    remote = incremental.estimator_
    for ours, theirs in zip(learned(local), learned(remote), strict=True):
        assert theirs.dtype == np.float32
        # exact: README's promise (same blocks, same kernels, BLAS on one thread)
        assert_array_equal(theirs, ours)

    predicted = incremental.predict(dX)
    assert isinstance(predicted, da.Array)
    labels = client.compute(predicted).result(timeout=TIMEOUT)
    assert_array_equal(labels, local.predict(X))


def test_parallel_post_fit_predicts_on_dask_arrays(client, data):
    X, y = data
    clf = MLPClassifier((16,), max_iter=50, random_state=0)
    with pytest.warns(Warning):  # ConvergenceWarning: 50 epochs
        clf.fit(X, y)
    wrapped = ParallelPostFit(clf)
    dX = da.from_array(X, chunks=(CHUNKS, 10))
    proba = client.compute(wrapped.predict_proba(dX)).result(timeout=TIMEOUT)
    labels = client.compute(wrapped.predict(dX)).result(timeout=TIMEOUT)
    assert proba.dtype == np.float32
    with threadpool_limits(1, user_api="blas"):  # as in the workers, block by block
        # exact: the same predict on the same blocks with the workers' thread count
        assert_array_equal(proba, np.vstack([clf.predict_proba(X[rows])
                                             for rows in blocks()]))
        assert_array_equal(labels, np.hstack([clf.predict(X[rows])
                                              for rows in blocks()]))


def test_grid_search_under_the_dask_backend_fits_on_the_workers(client, data):
    """Each fit is scored by a scorer that reports the process it ran in."""
    X, y = data

    def pid(estimator, X, y):
        return os.getpid()

    def search(backend):
        grid = GridSearchCV(
            LogisticRegression(), {"C": [0.1, 1.0, 10.0]}, cv=3,
            scoring={"accuracy": "accuracy", "pid": pid}, refit="accuracy",
        )
        with joblib.parallel_backend(backend):
            return grid.fit(X, y)

    remote = within(TIMEOUT, search, "dask")
    results = remote.cv_results_
    pids = {int(p) for split in range(3) for p in results[f"split{split}_test_pid"]}
    assert pids and pids <= worker_pids(client)
    assert os.getpid() not in pids
    here = search("sequential")
    assert_array_equal(remote.cv_results_["mean_test_accuracy"],
                       here.cv_results_["mean_test_accuracy"])
    assert remote.best_params_ == here.best_params_
