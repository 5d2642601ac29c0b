"""LogisticRegression's L-BFGS on dask arrays, data-parallel as Spark MLlib's: SciPy's
L-BFGS-B runs on the client while each worker computes the loss and gradient of the
chunks it holds with fastnn's fused kernel. The per-chunk sums are added up in a tree,
in chunk order, and ``Objective`` adds the penalty and the scaling on the client, so the
function minimised is the in-process fit's. Also the predictions and the score on dask
arrays (``map_blocks`` on the workers). dask and distributed are imported by this module
only, and it is imported only once a dask collection reaches a LogisticRegression.

Per fit: one pass over the chunks checks them (finite X, classification labels) and
counts the labels and weights per class; a second builds each chunk's label indices and
weights beside its rows; then each L-BFGS evaluation sends the parameter vector with one
small task per chunk and brings back one loss and one gradient vector.
"""

import time
from contextlib import nullcontext

import numpy as np
from sklearn.utils import assert_all_finite
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets

from fastnn._threads import single_thread_blas
from fastnn.estimators._logistic_objective import Objective, available_cores
from fastnn.estimators._logistic_solvers import fit_lbfgs
from fastnn.ops import _logistic as logistic_ops
from fastnn.ops.checks import PARALLEL_MIN_SIZE

# Seconds any one wait for the workers may last before TimeoutError; the recomputation
# of a lost worker's chunks happens within it. Raise it for chunks that take longer.
TIMEOUT = 600.0
FAN_IN = 8  # the tree reduction adds this many partial sums per task
GATHERED = 32  # the client sums at most this many partial results itself
POLL = 1.0  # seconds between checks that the chunks' workers are alive
RELOCATIONS = 5  # lost workers one evaluation survives
DASK_SOLVERS = ("lbfgs",)


# ------------------------------------------------------------------ on the workers

def chunk_summary(X, y, sample_weight):
    """One chunk's checks and counts: ``(labels, counts, weight sums per label)``.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
    y : ndarray of shape (n_rows,)
    sample_weight : ndarray of shape (n_rows,) or None

    Returns
    -------
    tuple of three ndarrays
    """
    assert_all_finite(X, input_name="X", estimator_name="LogisticRegression")
    check_classification_targets(y)
    labels, inverse = np.unique(y, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(labels))
    if sample_weight is None:
        return labels, counts, counts.astype(np.float64)
    sample_weight = np.asarray(sample_weight, np.float64)
    assert_all_finite(sample_weight, input_name="sample_weight")
    if (sample_weight < 0).any():
        raise ValueError("Negative values in data passed to `sample_weight`")
    return labels, counts, np.bincount(inverse, sample_weight, minlength=len(labels))


def chunk_targets(X, y, sample_weight, classes, class_weights):
    """A chunk's ``(y_index, weights)`` for the kernel (weights None for all ones).

    ``X`` is not read: as an argument it makes dask run this task, and keep its result,
    on the worker holding the chunk's rows.
    """
    y_index = np.searchsorted(classes, y).astype(np.intp)
    if sample_weight is None and class_weights is None:
        return y_index, None
    weights = (np.ones(len(y_index)) if sample_weight is None
               else np.array(sample_weight, np.float64))
    if class_weights is not None:
        weights *= class_weights[y_index]
    return y_index, weights.astype(X.dtype)


def chunk_loss_grad(X, targets, params, n_outputs, fit_intercept):
    """The unscaled data term of one chunk at ``params`` (the flat ``[W, b]`` in X's
    dtype): ``(sum_i s_i loss_i, its gradient as a float64 vector)``."""
    y_index, weights = targets
    X = np.ascontiguousarray(X)
    n_coef = X.shape[1] * n_outputs
    W = params[:n_coef].reshape(X.shape[1], n_outputs)
    b = params[n_coef:] if fit_intercept else np.zeros(n_outputs, params.dtype)
    n_threads = 1
    if X.size >= PARALLEL_MIN_SIZE:  # the in-process Objective's rule
        n_threads = min(available_cores(), max(1, X.shape[0] // 64))
    with single_thread_blas() if n_threads > 1 else nullcontext():
        loss, dW, db = logistic_ops.logistic_loss_grad(
            X, y_index, W, b, sample_weight=weights, with_bias=fit_intercept,
            n_threads=n_threads,
        )
    grad = np.empty(params.size, np.float64)
    grad[:n_coef] = dW.ravel()
    grad[n_coef:] = db[: params.size - n_coef]
    return float(loss), grad


def sum_parts(*parts):
    """The sum of partial ``(loss, gradient)`` results, in their order."""
    loss, grad = parts[0][0], parts[0][1].copy()
    for part_loss, part_grad in parts[1:]:
        loss += part_loss
        grad += part_grad
    return loss, grad


def _block_method(X, estimator, method):
    return getattr(estimator, method)(X)


# ------------------------------------------------------------------ on the client

class DaskObjective(Objective):
    """``Objective`` whose data term is summed over the chunks on the workers.

    Parameters
    ----------
    problem : LogisticProblem
        Its ``X`` is the dask array (only its shape and dtype are read here).
    chunks : _Chunks
        The futures of the chunks' rows and of their targets.
    """

    def __init__(self, problem, chunks):
        super().__init__(problem)
        self.chunks = chunks
        self.n_outputs = problem.n_outputs

    def data_loss_grad(self):
        for _ in range(RELOCATIONS):
            try:
                loss, grad = self._sums()
                break
            except _Relocated:  # a chunk's worker died: dask recomputes it elsewhere
                self.chunks.locate()
        else:
            raise RuntimeError(
                f"LogisticRegression's fit lost a dask worker {RELOCATIONS} times in "
                f"one evaluation (lost: {self.chunks.lost()})"
            )
        # NOTE: scaled here, once, in float64 (the in-process kernel scales each row's
        # gradient): equal to rounding.
        self.grad[:] = grad * self.scale
        return loss * self.scale

    def _sums(self):
        """The chunks' summed (loss, gradient) at ``self.params``."""
        client = self.chunks.client
        # NOTE: the parameters travel as a task argument, not as scattered data: the
        # scheduler keeps them with the tasks, so a chunk lost with its worker is
        # recomputed with them anywhere.
        parts = self.chunks.map(
            chunk_loss_grad, self.chunks.rows, self.chunks.targets,
            params=self.params.copy(), n_outputs=self.n_outputs,
            fit_intercept=self.fit_intercept,
        )
        # NOTE: a fixed tree (groups of FAN_IN in chunk order, while more than
        # GATHERED partial sums are left) and the client's sum of the last ones in
        # order fix the order of the float additions: the same chunking gives the
        # same fit, bit for bit. Few chunks skip the tree: a level costs a round trip
        # (about 10 ms on loopback), fetching a few more gradients less.
        while len(parts) > GATHERED:
            parts = [group[0] if len(group) == 1
                     else client.submit(sum_parts, *group, pure=False)
                     for group in (parts[i:i + FAN_IN]
                                   for i in range(0, len(parts), FAN_IN))]
        return sum_parts(*_wait(parts, "the chunks' loss and gradient", self.chunks,
                                relocate=True))


class _Relocated(Exception):
    """A worker holding chunks left the cluster while their tasks waited for it."""


class _Chunks:
    """The client's futures of a dask X's row chunks (``rows``) and of their targets,
    with the worker holding each chunk (``holders``, None while unknown)."""

    def __init__(self, client, rows):
        self.client, self.rows, self.targets = client, rows, None
        self.workers = self.alive()  # at the fit's start, to name those lost
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


def _wait(futures, what, chunks=None, relocate=False):
    """The results of a list of ``futures`` within TIMEOUT seconds, with a clear
    error otherwise (naming the workers lost since ``chunks`` were located); with
    ``relocate``, _Relocated when one of the chunks' holders has left the cluster
    meanwhile (the tasks held to it would wait for ever)."""
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
                    "(fastnn.estimators._logistic_dask.TIMEOUT)"
                ) from None
            if relocate and set(chunks.holders) - {None} - chunks.alive():
                client.cancel(futures)
                raise _Relocated from None
        except (KilledWorker, CancelledError) as error:
            raise _lost(what, chunks, error) from error
    try:
        return client.gather(futures)
    except (KilledWorker, CancelledError) as error:
        raise _lost(what, chunks, error) from error


def _lost(what, chunks, error):
    """The error of a fit whose results dask cannot give back."""
    lost = "" if chunks is None else f" (lost: {chunks.lost()})"
    return RuntimeError(
        f"LogisticRegression's fit could not get {what} from the dask workers"
        f"{lost}: data that dask cannot recompute (scattered data, say) was on a "
        f"worker that died, or tasks killed their workers: {error}"
    )


def _client():
    try:
        from distributed import get_client
    except ImportError:  # pragma: no cover - dask without distributed
        raise ValueError("LogisticRegression fits dask arrays with dask.distributed: "
                         "pip install distributed") from None
    try:
        return get_client()
    except ValueError:
        raise ValueError(
            "LogisticRegression fits dask arrays on a dask.distributed cluster: start "
            "a distributed.Client first (Client(LocalCluster()) on one machine), or "
            "fit on X.compute() and y.compute()"
        ) from None


def dask_X(X):
    """A dense dask array X of floats, one chunk wide (ValueError, TypeError)."""
    import dask.array as da

    if not isinstance(X, da.Array):
        raise TypeError(
            "with dask inputs X must be a dense dask array, got "
            f"{type(X).__name__} (a dask DataFrame: X.to_dask_array(lengths=True))"
        )
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D array, got a {X.ndim}D dask array instead")
    if not isinstance(X._meta, np.ndarray):
        raise TypeError(f"X's chunks must be NumPy arrays, not {type(X._meta).__name__}")
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


def _aligned(name, values, X):
    """``values`` (y or sample_weight) as a 1-D dask array chunked as X's rows."""
    import dask.array as da

    if values is None:
        return None
    n_samples = X.shape[0]
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


def _futures(client, array):
    """The futures of ``array``'s chunks in chunk order, once persisted."""
    from dask.core import flatten
    from distributed import futures_of

    if array is None:
        return None
    # NOTE: persisting an already persisted array computes nothing: its chunks stay
    # on the workers that hold them.
    by_key = {future.key: future for future in futures_of(client.persist(array))}
    return [by_key[key] for key in flatten(array.__dask_keys__())]


def _check_params(estimator, penalty):
    if estimator.solver not in DASK_SOLVERS:
        raise ValueError(
            f"solver={estimator.solver!r} does not take dask arrays: only "
            f"{' and '.join(repr(s) for s in DASK_SOLVERS)} fits dask X and y on the "
            "workers (or fit on X.compute(), or use dask_ml's Incremental with 'sgd')"
        )
    if penalty.l1_ratio > 0 and not np.isinf(penalty.C):
        raise ValueError("LogisticRegression on dask arrays takes an L2 penalty or "
                         f"none, got l1_ratio={penalty.l1_ratio}")


def _class_weights(class_weight, classes, counts):
    """Each class's weight (float64), or None without ``class_weight``."""
    if class_weight is None:
        return None
    if isinstance(class_weight, str):  # 'balanced', as scikit-learn computes it
        return counts.sum() / (len(classes) * counts.astype(np.float64))
    return compute_class_weight(class_weight, classes=classes, y=classes)


def fit_dask(estimator, X, y, sample_weight, penalty):
    """``estimator.fit(X, y, sample_weight)`` with dask arrays: data-parallel L-BFGS
    on the active distributed.Client. Returns the fitted estimator."""
    _check_params(estimator, penalty)
    client = _client()
    X = dask_X(X)
    y, sample_weight = _aligned("y", y, X), _aligned("sample_weight", sample_weight, X)
    if X.shape[0] < 1:
        raise ValueError("Found array with 0 sample(s) (shape=(0, "
                         f"{X.shape[1]})) while a minimum of 1 is required.")
    rows, y_parts = _futures(client, X), _futures(client, y)
    weight_parts = _futures(client, sample_weight) or [None] * len(rows)
    _wait(rows, "X's chunks")
    chunks = _Chunks(client, rows)
    summaries = _wait(chunks.map(chunk_summary, rows, y_parts, weight_parts,
                                 strict=False), "the chunks' checks", chunks)
    classes = np.unique(np.concatenate([labels for labels, _, _ in summaries]))
    counts, sums = np.zeros(len(classes), np.int64), np.zeros(len(classes))
    for labels, chunk_counts, chunk_sums in summaries:
        where = np.searchsorted(classes, labels)
        counts[where] += chunk_counts
        sums[where] += chunk_sums
    if len(classes) < 2:
        raise ValueError(
            "This solver needs samples of at least 2 classes in the data, but the "
            f"data contains only one class: {classes[0]!r}"
        )
    class_weights = _class_weights(estimator.class_weight, classes, counts)
    if sample_weight is None and class_weights is None:
        weight_sum = float(X.shape[0])
    else:
        weight_sum = float(sums.sum() if class_weights is None else sums @ class_weights)
        if not weight_sum > 0:
            raise ValueError("the sample weights (times the class weights) sum to zero")
    chunks.targets = chunks.map(chunk_targets, rows, y_parts, weight_parts,
                                strict=False, classes=classes,
                                class_weights=class_weights)

    estimator.n_features_in_ = X.shape[1]
    estimator.__dict__.pop("feature_names_in_", None)
    warm = (estimator.warm_start
            and isinstance(getattr(estimator, "coef_", None), np.ndarray)
            and np.array_equal(classes, estimator.classes_))
    W, b = estimator._initial_params(X, len(classes), warm)
    # NOTE: the labels and weights stay on the workers; the problem's own are empty.
    problem = estimator._problem(X, np.empty(0, np.intp), None, weight_sum,
                                 len(classes), penalty)
    metadata = None if sample_weight is None else {"sample_weight": sample_weight}
    callbacks = estimator._init_callback_context(
        max_subtasks=max(estimator.max_iter, 1) + 1)
    callbacks.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=metadata)

    def run(estimator, problem, W, b):
        return fit_lbfgs(problem, W, b, DaskObjective(problem, chunks))

    n_iter = estimator._run_solver(run, problem, W, b, callbacks, X, y, metadata,
                                   classes)
    return estimator._fitted(classes, W, b, n_iter, callbacks, X, y, metadata)


def predict_blocks(estimator, method, X):
    """``estimator.<method>(X)`` for a dask array X: a dask array computed block by
    block on the workers (as dask_ml's ParallelPostFit)."""
    X = dask_X(X)
    # NOTE: one row of zeros gives the output's dtype and width, as the blocks' are.
    sample = getattr(estimator, method)(np.zeros((1, X.shape[1]), X.dtype))
    if sample.ndim == 1:
        return X.map_blocks(_block_method, estimator, method, drop_axis=1,
                            dtype=sample.dtype, meta=np.empty((0,), sample.dtype))
    return X.map_blocks(_block_method, estimator, method, dtype=sample.dtype,
                        chunks=(X.chunks[0], (sample.shape[1],)),
                        meta=np.empty((0, 0), sample.dtype))


def score_blocks(estimator, X, y, sample_weight=None):
    """Mean accuracy of ``estimator`` on dask ``X``, ``y``, computed on the workers."""
    predicted = predict_blocks(estimator, "predict", X)
    X = dask_X(X)
    right = predicted == _aligned("y", y, X)
    sample_weight = _aligned("sample_weight", sample_weight, X)
    if sample_weight is None:
        value = right.mean()
    else:
        value = (right * sample_weight).sum() / sample_weight.sum()
    try:
        client = _client()
    except ValueError:  # no cluster: dask's local scheduler
        return float(value.compute())
    return float(_wait([client.compute(value)], "the score")[0])
