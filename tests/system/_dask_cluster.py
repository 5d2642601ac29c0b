"""What the dask test modules share: ``within`` (a call with a timeout, so a hung dask
wait cannot hang the run), ``two_worker_client`` (a real two-process LocalCluster
on loopback, for a module-scoped fixture), ``kill_a_worker_at_wait`` (a worker
process killed while a fit waits for it), ``scattered_rows`` (a dask array dask
cannot recompute), and LogisticRegression's data (``make``, ``to_dask``) and
reference objective (``objective``)."""

import os
import signal
import threading

import numpy as np
import pytest
import scipy.sparse as sp
from distributed import Client, LocalCluster, wait
from sklearn.datasets import make_classification

from fastnn.estimators._logistic_problem import LogisticProblem

CHUNKS = (300, 1, 250, 449)  # uneven, one of a single row
TIMEOUT = 60


def within(seconds, function, *args, **kwargs):
    """``function(*args, **kwargs)`` in a daemon thread; fail the test if it has not
    returned after ``seconds`` (a dask task whose result cannot be unpickled makes
    dask wait forever without an error)."""
    outcome = {}

    def run():
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"{getattr(function, '__name__', function)} did not return within "
                    f"{seconds} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def two_worker_client(timeout):
    """Yield a Client of a LocalCluster of two single-threaded worker processes,
    closed afterwards; every step within ``timeout`` seconds."""

    def start():
        # NOTE: host and dashboard on 127.0.0.1 keep every socket on loopback; with
        # dashboard_address=None the dashboard still binds a fixed port, ":0" binds
        # every interface.
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address="127.0.0.1:0")
        return cluster, Client(cluster)

    cluster, client = within(timeout, start)
    yield client
    within(timeout, client.close, timeout=timeout)
    within(timeout, cluster.close, timeout=timeout)


def kill_a_worker_at_wait(client, monkeypatch, number, timeout):
    """SIGKILL a worker process just before a dask fit's ``number``-th wait for its
    workers (1: X's chunks, 2: their checks, 3: their targets, 4: the first
    evaluation, ...), whether through dask's tasks or a direct call; every wait of the
    fit bounded by ``timeout`` seconds. Returns the lists of waits and of killed
    addresses (filled as the fit runs)."""
    from fastnn.estimators import _dask_chunks, _logistic_dask, _mlp_dask

    pids = client.run(os.getpid)
    wait, within_timeout = _dask_chunks.wait_for, _dask_chunks._within_timeout
    waits, killed = [], []

    def count_and_kill(what):
        waits.append(what)
        if len(waits) == number:
            address, pid = min(pids.items())
            os.kill(pid, signal.SIGKILL)
            killed.append(address)

    def kill_then_wait(future, what, *chunks, **relocate):
        count_and_kill(what)
        return wait(future, what, *chunks, **relocate)

    def kill_then_call(call, what):
        count_and_kill(what)
        return within_timeout(call, what)

    monkeypatch.setattr(_dask_chunks, "TIMEOUT", timeout)
    # NOTE: each module calls the wait_for it imported: the fits' own waits, and those
    # of the chunks they open and sum (_dask_chunks), are all replaced; so is the
    # wait of the direct calls (_within_timeout).
    for module in (_dask_chunks, _logistic_dask, _mlp_dask):
        monkeypatch.setattr(module, "wait_for", kill_then_wait)
    monkeypatch.setattr(_dask_chunks, "_within_timeout", kill_then_call)
    return waits, killed


def scattered_rows(client, X, chunk_rows):
    """X as a dask array of chunks of ``chunk_rows`` rows scattered from the client,
    alternately to each worker: chunks with no source to recompute them from."""
    import dask.array as da

    # NOTE: alternate workers, so that a killed one surely held some chunks
    workers = sorted(client.scheduler_info()["workers"])
    starts = range(0, len(X), chunk_rows)
    parts = [client.scatter(X[start:start + chunk_rows], workers=[workers[i % 2]])
             for i, start in enumerate(starts)]
    return da.concatenate([
        da.from_delayed(part, shape=(min(chunk_rows, len(X) - start), X.shape[1]),
                        dtype=X.dtype) for part, start in zip(parts, starts)])


def make(n_classes=3, dtype=np.float64, n_samples=sum(CHUNKS), sparse=False):
    """A classification problem of 8 features (about half zeros if ``sparse``)."""
    X, y = make_classification(n_samples, 8, n_informative=5, n_classes=n_classes,
                               random_state=0)
    if sparse:
        X[np.abs(X) < 0.7] = 0
    return X.astype(dtype), y


def to_dask(client, X, *vectors, chunks=CHUNKS, csr=False):
    """X (as CSR chunks with ``csr``) and the ``vectors`` as dask arrays of ``chunks``
    rows, persisted on the workers."""
    import dask.array as da

    dX = da.from_array(X, chunks=(chunks, X.shape[1]))
    if csr:
        dX = dX.map_blocks(sp.csr_matrix, dtype=X.dtype)
    persisted = client.persist([dX] + [da.from_array(v, chunks=(chunks,))
                                       for v in vectors])
    wait(persisted, timeout=TIMEOUT)
    return persisted


def objective(clf, X, y, sample_weight=None):
    """The in-process objective (LogisticProblem's reference) at clf's weights."""
    classes, y_index = np.unique(y, return_inverse=True)
    n_outputs = 1 if len(classes) == 2 else len(classes)
    weights = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    total = len(y) if weights is None else weights.sum()
    problem = LogisticProblem(X, y_index, weights, total, n_outputs, C=clf.C)
    return problem.objective(clf.coef_.T, clf.intercept_)
