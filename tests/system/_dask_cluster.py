"""What the dask test modules share: ``within`` (a call with a timeout, so a hung dask
wait cannot hang the run) and ``two_worker_client`` (a real two-process LocalCluster
on loopback, for a module-scoped fixture)."""

import threading

import pytest
from distributed import Client, LocalCluster


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
