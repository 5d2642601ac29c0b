"""Whether an estimator's input is a dask collection, without importing dask: dask is
an optional extra, and fastnn imports and works without it."""

import sys


def is_dask(*arrays):
    """True when any of ``arrays`` is a dask collection (a dask array, say).

    Parameters
    ----------
    *arrays : objects
        The inputs of a fit or a prediction (None entries allowed).

    Returns
    -------
    bool
    """
    # NOTE: an object can only be a dask collection once dask has been imported, so
    # looking dask up in sys.modules keeps the test free for everyone else.
    dask = sys.modules.get("dask")
    if dask is None:
        return False
    return any(array is not None and dask.is_dask_collection(array) for array in arrays)
