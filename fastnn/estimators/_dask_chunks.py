"""The client's side of fastnn's dask fits: a dask array's chunks as futures held
where they are (``Chunks``: each evaluation one direct call to the workers holding
them, else tasks restricted to each chunk's worker, relocated when that worker dies),
waits that always end (``wait_for``: within TIMEOUT, naming lost workers), and the
checks and alignment of dask inputs. distributed is imported here only, by
``_logistic_dask`` and ``_mlp_dask``, once a dask collection reaches an estimator."""

import asyncio
import functools
import threading
import time
from contextlib import contextmanager

import numpy as np

from fastnn._threads import single_thread_blas

# Seconds any one wait for the workers may last before TimeoutError; the recomputation
# of a lost worker's chunks happens within it. Raise it for chunks that take longer.
TIMEOUT = 600.0
POLL = 1.0  # seconds between checks that the chunks' workers are alive


RELOCATIONS = 5  # lost workers one evaluation survives


class Relocated(Exception):
    """A worker holding chunks left the cluster while their tasks waited for it."""


class Chunks:
    """The client's futures of a dask X's row chunks (``rows``) and of their targets,
    with the worker holding each chunk (``holders``, None while unknown)."""

    def __init__(self, client, rows):
        self.client, self.rows, self.targets = client, rows, None
        self.workers = self.alive()  # at the fit's start, to name those lost
        self.direct = True  # sum_by_worker's direct calls, until one fails
        self.locate()

    def alive(self):
        return set(self.client.scheduler_info()["workers"])

    def lost(self):
        return ", ".join(sorted(self.workers - self.alive())) or "none"

    def locate(self):
        """Find each chunk's worker (none for a chunk dask is recomputing)."""
        who = self.client.who_has(self.rows)
        self.holders = [min(who.get(future.key) or [None]) for future in self.rows]

    def map(self, function, *iterables, strict=True, **kwargs):
        """``function`` over the chunks (one entry per chunk in each iterable), each
        task held to the worker holding its chunk's rows (``strict``) or sent there
        first (not ``strict``: for results dask may have to recompute later)."""
        # NOTE: strict restrictions: dask's work stealing would otherwise move a task
        # and copy its chunk to the thief (and the memory manager then drops one of
        # the two copies, maybe the first). A holder that dies is noticed by _wait.
        # A kept result (the targets) must not be strict: its recomputation after its
        # worker died would wait for that worker for ever.
        futures = [None] * len(self.rows)
        groups = {}
        for index, holder in enumerate(self.holders):
            groups.setdefault(holder, []).append(index)
        for holder, indices in groups.items():
            where = {} if holder is None else {"workers": [holder],
                                               "allow_other_workers": not strict}
            mapped = self.client.map(
                function, *([items[i] for i in indices] for items in iterables),
                pure=False, **where, **kwargs)
            for index, future in zip(indices, mapped):
                futures[index] = future
        return futures

    def compute_targets(self, function, *parts, **kwargs):
        """``self.targets``: ``function(rows, *parts, **kwargs)`` of each chunk (its
        labels and weights as the kernels take them), kept on the chunk's worker."""
        self.targets = self.map(function, self.rows, *parts, strict=False, **kwargs)
        # NOTE: waited for here, so that the first evaluation finds them in memory
        wait_for(self.targets, "the chunks' targets", self, gather=False)

    def map_groups(self, function, rows, targets, **kwargs):
        """``function(rows, targets, **kwargs)`` once per worker on the lists of the
        chunks it holds (strictly held there), and once per chunk of unknown place.
        Returns [(chunk indices, future of the list of their results)]."""
        groups = {}
        for index, holder in enumerate(self.holders):
            key = ("chunk", index) if holder is None else holder
            groups.setdefault(key, []).append(index)
        submitted = []
        for key, indices in groups.items():
            where = ({} if isinstance(key, tuple)
                     else {"workers": [key], "allow_other_workers": False})
            future = self.client.submit(
                function, [rows[i] for i in indices], [targets[i] for i in indices],
                pure=False, **where, **kwargs)
            submitted.append((indices, future))
        return submitted


    def summed(self, evaluate, what):
        """``evaluate()`` (which waits with ``relocate``), again after each worker
        lost meanwhile (dask recomputes its chunks elsewhere), up to RELOCATIONS
        times; then a RuntimeError naming the lost workers."""
        for _ in range(RELOCATIONS):
            try:
                return evaluate()
            except Relocated:  # a chunk's worker died: dask recomputes it elsewhere
                self.locate()
        raise RuntimeError(f"the fit lost a dask worker {RELOCATIONS} times while "
                           f"computing {what} (lost: {self.lost()})")

    def sum_by_worker(self, function, what, **kwargs):
        """``function(rows, targets, **kwargs)`` (a list of per-chunk ``(loss,
        gradient)``) once per worker on the chunks it holds; returns their sum, in
        chunk order. Raises Relocated when a holder dies meanwhile."""
        # NOTE: one call per worker for all its chunks, and the client sums the
        # chunks' results in chunk order, whichever way and wherever they were
        # computed: the same chunking gives the same fit, bit for bit.
        results = self.direct and self._direct_results(function, what, kwargs)
        if not results:
            # NOTE: from here on dask's own tasks, which it recomputes and
            # relocates when a worker is lost (_wait names what it cannot).
            self.direct = False
            results = [None] * len(self.rows)
            groups = self.map_groups(function, self.rows, self.targets, **kwargs)
            done = wait_for([future for _, future in groups], what, self,
                            relocate=True)
            for (indices, _), parts in zip(groups, done):
                for index, part in zip(indices, parts):
                    results[index] = part
        return sum_parts(*results)

    def _direct_results(self, function, what, kwargs):
        """Each chunk's ``function`` result, computed by one ``client.run`` call on
        the workers holding the chunks (and their targets) in memory; None when
        that cannot be done (a chunk not where it was, a worker gone, an error)."""
        # NOTE: a task costs a round trip through the scheduler's task states (11-13
        # ms on the 2-core development machine, one per evaluation), a client.run
        # call a relay through it (under 2 ms): on the 2,000,000 x 100 benchmark
        # that is 74 evaluations x ~10 ms.
        plan = {}
        for index, holder in enumerate(self.holders):
            if holder is None:
                return None
            plan.setdefault(holder, []).append(index)
        keys = {holder: ([self.rows[i].key for i in indices],
                         [self.targets[i].key for i in indices])
                for holder, indices in plan.items()}
        try:
            replies = _within_timeout(
                lambda: self.client.run(run_on_held_chunks, keys, function, kwargs,
                                        workers=list(keys), on_error="return"), what)
        except TimeoutError:
            raise
        except Exception:  # a worker gone mid-call: dask's own path takes over
            return None
        results = [None] * len(self.rows)
        for holder, indices in plan.items():
            parts = replies.get(holder)
            if not isinstance(parts, list) or len(parts) != len(indices):
                return None  # (an exception: the task path raises it properly)
            for index, part in zip(indices, parts):
                results[index] = part
        return results


async def run_on_held_chunks(keys, function, kwargs, dask_worker):
    """On a worker (through ``client.run``): the list of ``function([rows],
    [targets], **kwargs)`` results of the chunks that ``keys[its address]`` name in
    its memory, each chunk a call in its task thread pool (all its threads busy; its
    event loop free meanwhile)."""
    try:
        row_keys, target_keys = keys[dask_worker.address]
        loop = asyncio.get_running_loop()
        calls = [loop.run_in_executor(dask_worker.executor, functools.partial(
                     function, [dask_worker.data[row_key]],
                     [dask_worker.data[target_key]], **kwargs))
                 for row_key, target_key in zip(row_keys, target_keys)]
        return [part for parts in await asyncio.gather(*calls) for part in parts]
    except Exception as error:  # noqa: BLE001 - the client's task path raises it
        # NOTE: returned, not raised: distributed would log it on the worker, and
        # the client then takes dask's task path, which raises a real error again.
        return error


def _within_timeout(call, what):
    """``call()`` on a daemon thread, its result within TIMEOUT seconds."""
    outcome = {}

    def target():
        try:
            outcome["result"] = call()
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    if thread.is_alive():
        raise TimeoutError(f"the dask workers did not return {what} within "
                           f"{TIMEOUT:g} s (fastnn.estimators._dask_chunks.TIMEOUT)")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


@contextmanager
def client_threads():
    """Within the block (a dask fit's optimizer on the client), BLAS on one thread:
    the client's work is vector arithmetic on the parameters (and for Newton, one
    small linear system). The client calls no OpenMP kernel."""
    # NOTE: measured on a 2-core LocalCluster (2,000,000 x 100, lbfgs): without the
    # limit an OpenBLAS thread of the client spun between its calls, 4.8 s of CPU in
    # a 12 s fit, and the workers' kernels on the same cores ran 20 % slower.
    with single_thread_blas():
        yield


def sum_parts(*parts):
    """The element-wise sum of partial results, each a tuple of a float and arrays
    (or Nones), in their order."""
    total = [value.copy() if isinstance(value, np.ndarray) else value
             for value in parts[0]]
    for part in parts[1:]:
        for index, value in enumerate(part):
            if value is not None:
                total[index] += value
    return tuple(total)


def open_chunks(estimator, X, y, sample_weight):
    """A fit's dask inputs checked, aligned to X's row chunks and located: ``(X, y,
    sample_weight, chunks, y_parts, weight_parts)``, the parts being futures per
    chunk (``weight_parts`` Nones without weights). X never reaches the client."""
    client = get_client(type(estimator).__name__)
    X = dask_X(X)
    y, sample_weight = aligned("y", y, X), aligned("sample_weight", sample_weight, X)
    if X.shape[0] < 1:
        raise ValueError("Found array with 0 sample(s) (shape=(0, "
                         f"{X.shape[1]})) while a minimum of 1 is required.")
    rows, y_parts = chunk_futures(client, X), chunk_futures(client, y)
    weight_parts = chunk_futures(client, sample_weight) or [None] * len(rows)
    wait_for(rows, "X's chunks", gather=False)  # (never X to the client)
    return X, y, sample_weight, Chunks(client, rows), y_parts, weight_parts


def wait_for(futures, what, chunks=None, relocate=False, gather=True):
    """The results of a list of ``futures`` within TIMEOUT seconds (None without
    ``gather``: the data stays on the workers), with a clear error otherwise (naming
    the workers lost since ``chunks`` were located); with ``relocate``, Relocated when
    one of the chunks' holders has left the cluster meanwhile (the tasks held to it
    would wait for ever)."""
    from concurrent.futures import CancelledError

    from distributed import KilledWorker, wait

    client = futures[0].client
    deadline = time.monotonic() + TIMEOUT
    while True:
        left = deadline - time.monotonic()
        try:
            wait(futures, timeout=max(min(POLL, left), 0.0))
            break
        except TimeoutError:
            if left <= POLL:
                raise TimeoutError(
                    f"the dask workers did not return {what} within {TIMEOUT:g} s "
                    "(fastnn.estimators._dask_chunks.TIMEOUT)"
                ) from None
            if relocate and set(chunks.holders) - {None} - chunks.alive():
                client.cancel(futures)
                raise Relocated from None
        except (KilledWorker, CancelledError) as error:
            raise _lost(what, chunks, error) from error
    if not gather:
        return None
    try:
        return client.gather(futures)
    except (KilledWorker, CancelledError) as error:
        raise _lost(what, chunks, error) from error


def _lost(what, chunks, error):
    """The error of a fit whose results dask cannot give back."""
    lost = "" if chunks is None else f" (lost: {chunks.lost()})"
    return RuntimeError(
        f"the fit could not get {what} from the dask workers"
        f"{lost}: data that dask cannot recompute (scattered data, say) was on a "
        f"worker that died, or tasks killed their workers: {error}"
    )


def get_client(estimator_name):
    """The active distributed.Client (ValueError naming ``estimator_name`` without
    one)."""
    try:
        from distributed import get_client as current_client
    except ImportError:  # pragma: no cover - dask without distributed
        raise ValueError(f"{estimator_name} fits dask arrays with dask.distributed: "
                         "pip install distributed") from None
    try:
        return current_client()
    except ValueError:
        raise ValueError(
            f"{estimator_name} fits dask arrays on a dask.distributed cluster: start "
            "a distributed.Client first (Client(LocalCluster()) on one machine), or "
            "fit on X.compute() and y.compute()"
        ) from None


def dask_X(X):
    """A dask array X of floats (chunks NumPy arrays or SciPy sparse matrices), one
    chunk wide (ValueError, TypeError)."""
    import dask.array as da
    import scipy.sparse as sp

    if hasattr(X, "to_dask_array"):  # a dask DataFrame: its values, by partition
        X = from_dataframe(X)
    if not isinstance(X, da.Array):
        raise TypeError(f"with dask inputs X must be a dask array or DataFrame, got "
                        f"{type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D array, got a {X.ndim}D dask array instead")
    if not isinstance(X._meta, np.ndarray) and not sp.issparse(X._meta):
        raise TypeError("X's chunks must be NumPy arrays or SciPy sparse matrices, "
                        f"not {type(X._meta).__name__}")
    if any(np.isnan(size) for size in X.chunks[0]):
        raise ValueError("X has unknown chunk sizes: call X.compute_chunk_sizes() first")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X must hold numbers, got dtype {X.dtype}")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if len(X.chunks[1]) > 1:
        # NOTE: the kernel needs whole rows: one column chunk (moves X once).
        X = X.rechunk({1: -1})
    return X


def from_dataframe(frame):
    """A dask DataFrame's (or Series') values as a dask array, one chunk per
    partition (fitted without feature names)."""
    # NOTE: lengths=True counts each partition's rows on the workers (a small pass):
    # the chunks need known sizes, and nothing reaches the client.
    return frame.to_dask_array(lengths=True)


def aligned(name, values, X):
    """``values`` (y or sample_weight) as a 1-D dask array chunked as X's rows."""
    import dask.array as da

    if values is None:
        return None
    n_samples = X.shape[0]
    if hasattr(values, "to_dask_array"):  # a dask Series or DataFrame
        values = from_dataframe(values)
    if name == "sample_weight" and np.ndim(values) == 0:
        values = da.full(n_samples, float(values), chunks=(X.chunks[0],))
    elif not isinstance(values, da.Array):
        values = da.from_array(np.asarray(values), chunks=(X.chunks[0],))
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {values.shape}")
    if values.shape[0] != n_samples:
        raise ValueError("Found input variables with inconsistent numbers of samples: "
                         f"[{n_samples}, {values.shape[0]}]")
    if values.chunks[0] != X.chunks[0]:
        values = values.rechunk((X.chunks[0],))
    return values


def chunk_futures(client, array):
    """The futures of ``array``'s chunks in chunk order, once persisted."""
    from dask.core import flatten
    from distributed import futures_of

    if array is None:
        return None
    # NOTE: persisting an already persisted array computes nothing: its chunks stay
    # on the workers that hold them.
    by_key = {future.key: future for future in futures_of(client.persist(array))}
    return [by_key[key] for key in flatten(array.__dask_keys__())]
