"""LogisticRegression(solver='lbfgs') on dask arrays, on a real two-process
LocalCluster (loopback): L-BFGS on the client, each chunk's loss and gradient on the
worker holding it. The fit must reach the in-process optimum, keep every chunk where it
is, compute classes and weights on the workers, fail clearly on bad chunks, and survive
a worker killed mid-fit. Every wait has a timeout (``within``)."""

import numpy as np
import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")

import dask.array as da  # noqa: E402
from _dask_cluster import (  # noqa: E402
    CHUNKS,
    TIMEOUT,
    kill_a_worker_at_wait,
    make,
    objective,
    scattered_rows,
    to_dask,
    two_worker_client,
    within,
)
from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402

from fastnn import LogisticRegression  # noqa: E402
from fastnn.estimators import _dask_chunks  # noqa: E402

pytestmark = pytest.mark.cluster  # a two-worker LocalCluster per module


@pytest.fixture(scope="module")
def client():
    yield from two_worker_client(TIMEOUT)


def test_without_a_client_the_fit_says_so_and_predictions_run_locally():
    """(First in the file: before the module's cluster and its Client exist.)"""
    from distributed import default_client

    try:
        default_client()
        pytest.skip("a distributed.Client is already active")
    except ValueError:
        pass
    X, y = make(2)
    dX, dy = da.from_array(X, chunks=(CHUNKS, 8)), da.from_array(y, chunks=(CHUNKS,))
    with pytest.raises(ValueError, match="start a distributed.Client first"):
        LogisticRegression().fit(dX, dy)
    clf = LogisticRegression().fit(X, y)
    assert_array_equal(clf.predict(dX).compute(), clf.predict(X))
    assert clf.score(dX, dy) == pytest.approx(clf.score(X, y), abs=1e-15)


def test_callbacks_see_each_iteration_and_can_stop_the_fit(client):
    from sklearn.callback.tests._utils import RecordingCallback

    X, y = make()
    dX, dy = to_dask(client, X, y)

    class StopAtThird(RecordingCallback):
        def on_fit_task_end(self, estimator, context, **kwargs):
            super().on_fit_task_end(estimator, context, **kwargs)
            return context.task_name.endswith("-iter") and context.task_id == 2

    def hooks(recorder):
        return [(r["name"], r["context"].task_name, r["context"].task_id)
                for r in recorder.record]

    remote, local = StopAtThird(), StopAtThird()
    clf = LogisticRegression(max_iter=200, tol=1e-14).set_callbacks(remote)
    within(TIMEOUT, clf.fit, dX, dy)
    assert clf.n_iter_[0] == 3
    LogisticRegression(max_iter=200, tol=1e-14).set_callbacks(local).fit(X, y)
    assert hooks(remote) == hooks(local)  # the in-process fit's hooks, in order
    assert ("on_fit_task_end", "lbfgs-iter", 3) in hooks(remote)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_reaches_the_in_process_optimum(client, n_classes):
    X, y = make(n_classes)
    dX, dy = to_dask(client, X, y)
    params = dict(tol=1e-10, max_iter=1000)
    remote = within(TIMEOUT, LogisticRegression(**params).fit, dX, dy)
    local = LogisticRegression(**params).fit(X, y)
    assert type(remote.coef_) is np.ndarray and remote.coef_.dtype == np.float64
    assert_array_equal(remote.classes_, local.classes_)
    assert remote.n_features_in_ == X.shape[1]
    ours, theirs = objective(remote, X, y), objective(local, X, y)
    assert abs(ours - theirs) <= 1e-8 * abs(theirs)
    assert_allclose(remote.coef_, local.coef_, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("chunks", [CHUNKS, (20,) * 50], ids=["gathered", "tree"])
def test_same_chunking_same_fit_and_chunks_stay_put(client, chunks, monkeypatch):
    """Few chunks' results are summed on the client, many first in a tree of tasks:
    in a fixed order either way. No chunk of X reaches the client."""
    X, y = make()
    dX, dy = to_dask(client, X, y, chunks=chunks)
    where = client.who_has(dX)
    gathered, gather = [], client.gather

    def recorded(futures, *args, **kwargs):
        results = gather(futures, *args, **kwargs)
        gathered.extend(results if isinstance(results, list) else [results])
        return results

    monkeypatch.setattr(client, "gather", recorded)
    first = within(TIMEOUT, LogisticRegression().fit, dX, dy)
    assert gathered and not any(isinstance(result, np.ndarray) and result.ndim == 2
                                for result in gathered)
    monkeypatch.undo()
    second = within(TIMEOUT, LogisticRegression().fit, dX, dy)
    assert_array_equal(first.coef_, second.coef_)  # sum order fixed: bit for bit
    assert_array_equal(first.intercept_, second.intercept_)
    # no chunk of X was copied or moved to another worker
    assert client.who_has(dX) == where
    assert all(len(workers) == 1 for workers in where.values())
    local = LogisticRegression().fit(X, y)
    assert_allclose(first.coef_, local.coef_, rtol=1e-6, atol=1e-8)


def test_evaluations_call_the_workers_directly_and_tasks_give_the_same_fit(
        client, monkeypatch):
    """An evaluation is one direct call to the chunks' workers (client.run), not
    dask tasks; dask's tasks (the path after a lost worker) give the same fit, bit
    for bit."""
    X, y = make()
    dX, dy = to_dask(client, X, y)
    task_calls = []
    map_groups = _dask_chunks.Chunks.map_groups

    def recorded(chunks, *args, **kwargs):
        task_calls.append(args[0])
        return map_groups(chunks, *args, **kwargs)

    monkeypatch.setattr(_dask_chunks.Chunks, "map_groups", recorded)
    direct = within(TIMEOUT, LogisticRegression(tol=1e-8).fit, dX, dy)
    assert task_calls == []
    monkeypatch.setattr(_dask_chunks.Chunks, "_direct_results", lambda *args: None)
    through_tasks = within(TIMEOUT, LogisticRegression(tol=1e-8).fit, dX, dy)
    assert task_calls
    assert_array_equal(direct.coef_, through_tasks.coef_)
    assert_array_equal(direct.n_iter_, through_tasks.n_iter_)


def test_dask_dataframe_and_series_are_fitted_as_their_values(client):
    dd = pytest.importorskip("dask.dataframe")
    pandas = pytest.importorskip("pandas")
    X, y = make()
    frame = pandas.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame["label"] = y
    dframe = dd.from_pandas(frame, npartitions=3).persist()
    features = dframe[[f"f{i}" for i in range(X.shape[1])]]
    fitted = within(TIMEOUT, LogisticRegression().fit, features, dframe["label"])
    local = LogisticRegression().fit(X, y)
    assert_allclose(objective(fitted, X, y), objective(local, X, y), rtol=1e-8)
    proba = fitted.predict_proba(features)
    assert isinstance(proba, da.Array)
    assert_allclose(proba.compute(), fitted.predict_proba(X), rtol=1e-12)


def test_float32_stays_float32(client):
    X, y = make(dtype=np.float32)
    dX, dy = to_dask(client, X, y)
    remote = within(TIMEOUT, LogisticRegression(tol=1e-6).fit, dX, dy)
    local = LogisticRegression(tol=1e-6).fit(X, y)
    assert remote.coef_.dtype == np.float32 and remote.intercept_.dtype == np.float32
    assert_allclose(remote.coef_, local.coef_, rtol=1e-3, atol=1e-3)
    proba = remote.predict_proba(dX)
    assert proba.dtype == np.float32
    assert within(TIMEOUT, proba.compute).dtype == np.float32


@pytest.mark.parametrize("class_weight", [None, "balanced", {0: 2.0, 2: 0.5}])
def test_sample_and_class_weights_on_the_workers(client, class_weight):
    X, y = make()
    weights = np.random.default_rng(0).uniform(0.0, 3.0, len(y))
    dX, dy = to_dask(client, X, y)
    dw = da.from_array(weights, chunks=(CHUNKS,))
    params = dict(tol=1e-10, max_iter=1000, class_weight=class_weight)
    remote = within(TIMEOUT, LogisticRegression(**params).fit, dX, dy, dw)
    local = LogisticRegression(**params).fit(X, y, sample_weight=weights)
    assert_allclose(remote.coef_, local.coef_, rtol=1e-5, atol=1e-6)
    assert_allclose(remote.intercept_, local.intercept_, rtol=1e-5, atol=1e-6)


def test_string_labels_and_numpy_y(client):
    X, y = make(2)
    labels = np.array(["no", "yes"], dtype=object)[y]
    dX, _ = to_dask(client, X, y)
    remote = within(TIMEOUT, LogisticRegression().fit, dX, labels)
    assert list(remote.classes_) == ["no", "yes"]
    assert list(within(TIMEOUT, remote.predict(dX).compute)) == list(
        remote.predict(X))


def test_predictions_are_dask_arrays_equal_to_in_process(client):
    X, y = make()
    dX, dy = to_dask(client, X, y)
    clf = within(TIMEOUT, LogisticRegression().fit, dX, dy)
    for method in ("predict", "predict_proba", "predict_log_proba",
                   "decision_function"):
        out = getattr(clf, method)(dX)
        assert isinstance(out, da.Array), method
        computed = client.compute(out).result(timeout=TIMEOUT)
        assert_allclose(computed, getattr(clf, method)(X), rtol=1e-12, atol=1e-12)
    assert clf.score(dX, dy) == pytest.approx(clf.score(X, y), abs=1e-15)
    weights = np.arange(len(y), dtype=np.float64)
    assert clf.score(dX, dy, da.from_array(weights, chunks=(CHUNKS,))) == \
        pytest.approx(clf.score(X, y, sample_weight=weights), rel=1e-12)


def test_nan_in_a_chunk_is_found_on_the_workers(client):
    X, y = make()
    X[CHUNKS[0] + 3, 2] = np.nan  # in the third chunk
    dX, dy = to_dask(client, X, y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        within(TIMEOUT, LogisticRegression().fit, dX, dy)


def test_bad_inputs_and_parameters_are_refused(client):
    X, y = make()
    dX, dy = to_dask(client, X, y)
    with pytest.raises(ValueError, match="only 'lbfgs' and 'newton-cholesky' fit dask"):
        LogisticRegression(solver="saga").fit(dX, dy)
    with pytest.raises(ValueError, match="supports only 'l2' or None"):
        LogisticRegression(l1_ratio=0.5).fit(dX, dy)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        LogisticRegression().fit(dX, dy[:-1])
    with pytest.raises(ValueError, match="only one class"):
        within(TIMEOUT, LogisticRegression().fit, dX, da.zeros(len(y), chunks=CHUNKS))
    with pytest.raises(ValueError, match="Unknown label type"):
        within(TIMEOUT, LogisticRegression().fit, dX, dy + 0.5)
    with pytest.raises(ValueError, match="Negative values"):
        within(TIMEOUT, LogisticRegression().fit, dX, dy, -da.ones(len(y),
                                                                   chunks=CHUNKS))
    with pytest.raises(TypeError, match="must be a dask array"):
        LogisticRegression().fit(X, dy)


@pytest.mark.parametrize("chunks", [(500,) * 8, (20,) * 50], ids=["gathered", "tree"])
def test_a_worker_killed_mid_fit_is_recovered(client, monkeypatch, chunks):
    """A worker process killed while the chunks' tasks run: dask recomputes its
    chunks from their source on the other worker (the nanny restarts the dead one),
    and the fit ends with the undisturbed fit's weights, whether the client sums the
    chunks' results itself or after a tree of tasks (more than GATHERED chunks)."""
    X, y = make(n_samples=sum(chunks))
    dX, dy = to_dask(client, X, y, chunks=chunks)
    params = dict(tol=1e-8, max_iter=1000)
    undisturbed = within(TIMEOUT, LogisticRegression(**params).fit, dX, dy)
    waits, killed = kill_a_worker_at_wait(client, monkeypatch, 5, TIMEOUT)
    holders = set().union(*client.who_has(dX).values())
    recovered = within(2 * TIMEOUT, LogisticRegression(**params).fit, dX, dy)
    assert killed and len(waits) > 5 and killed[0] in holders  # it held chunks
    assert_array_equal(recovered.coef_, undisturbed.coef_)
    assert_array_equal(recovered.n_iter_, undisturbed.n_iter_)
    client.wait_for_workers(2, timeout=TIMEOUT)  # the nanny's restart, for what follows


def test_a_worker_lost_with_data_dask_cannot_recompute_is_named(client, monkeypatch):
    """Chunks scattered from the client have no source to recompute them from: the
    fit raises one error naming the dead worker, at once (no hang)."""
    X, y = make(n_samples=4000)
    dX = scattered_rows(client, X, 500)
    dy = da.from_array(y, chunks=500)
    _, killed = kill_a_worker_at_wait(client, monkeypatch, 4, TIMEOUT)
    with pytest.raises(RuntimeError, match="lost: tcp://"):
        within(TIMEOUT, LogisticRegression(tol=1e-8).fit, dX, dy)
    assert killed
    client.wait_for_workers(2, timeout=TIMEOUT)

