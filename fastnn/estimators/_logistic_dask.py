"""LogisticRegression's L-BFGS and newton-cholesky on dask arrays, data-parallel as
Spark MLlib's: the optimizer runs on the client while each worker computes the data
term (loss and gradient; for Newton also the Hessian) of the chunks it holds, dense or
CSR, with the in-process solvers' own passes (``Objective``, ``NewtonPasses``) on an
unscaled problem per chunk. The per-chunk sums are added up in chunk order (by the
client, after a tree of tasks when there are many chunks), and the client adds the
penalty and the scaling with the in-process code, so the function minimised is the
in-process fit's. Also the predictions and the score on dask arrays (``map_blocks`` on
the workers). dask and distributed are imported by this module only, and it is
imported only once a dask collection reaches a LogisticRegression.

Per fit: one pass over the chunks checks them (finite X, classification labels) and
counts the labels and weights per class; a second builds each chunk's label indices and
weights beside its rows; then each evaluation sends the parameter vector with one
small task per worker (per chunk beyond 32 chunks), held to the chunks' worker
(``_dask_chunks.Chunks``), and brings back one data term per chunk (or per tree node).
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import assert_all_finite
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets

from fastnn.estimators._dask_chunks import (
    aligned,
    client_threads,
    dask_X,
    get_client,
    open_chunks,
    sum_parts,
    wait_for,
)
from fastnn.estimators._logistic_newton import NewtonPasses, fit_newton_cholesky
from fastnn.estimators._logistic_objective import Objective
from fastnn.estimators._logistic_problem import LogisticProblem
from fastnn.estimators._logistic_solvers import fit_lbfgs, objective_threads

FAN_IN = 8  # the tree reduction adds this many partial sums per task
GATHERED = 32  # the client sums at most this many partial results itself
DASK_SOLVERS = ("lbfgs", "newton-cholesky")


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


def chunk_problem(X, targets, n_outputs, fit_intercept):
    """One chunk as an unscaled LogisticProblem without penalty (``weight_sum`` 1):
    its smooth objective is the chunk's ``sum_i s_i loss_i``, which the in-process
    solvers' own passes (``Objective``, ``NewtonPasses``) compute, dense or CSR."""
    y_index, weights = targets
    if sp.issparse(X):
        X = X.tocsr() if X.format != "csr" else X
    else:
        # NOTE: a chunk unpickled from another worker may be unaligned or strided;
        # the kernels take C-contiguous arrays (a copy of those only).
        X = np.require(X, None, ["C", "A"])
    return LogisticProblem(X, y_index, weights, 1.0, n_outputs,
                           fit_intercept=fit_intercept, C=np.inf)


def chunk_loss_grad(X, targets, params, n_outputs, fit_intercept):
    """The data term of one chunk at ``params`` (the flat ``[W, b]`` in X's dtype):
    ``(sum_i s_i loss_i, its gradient as a float64 vector)``."""
    objective = Objective(chunk_problem(X, targets, n_outputs, fit_intercept))
    objective.params[:] = params
    with objective_threads(objective, n_outputs):
        loss = objective.data_loss_grad()
    return float(loss), objective.grad.astype(np.float64)


def chunk_newton_term(X, targets, coef, n_outputs, fit_intercept, want):
    """The data term of one chunk at the flat ``coef`` (scikit-learn's layout, X's
    dtype): ``(sum_i s_i loss_i, its gradient, its Hessian)``, the last two float64
    (None when ``want`` does not ask for them: "loss", "gradient", "hessian")."""
    passes = NewtonPasses(chunk_problem(X, targets, n_outputs, fit_intercept),
                     want_hessian=want == "hessian")
    with passes.threads():
        loss, grad, H, _ = passes.data_term(coef, want)
    return (float(loss), None if grad is None else grad.astype(np.float64),
            None if H is None else H.astype(np.float64))


def each_chunk(rows, targets, term, **kwargs):
    """``term(X, targets, **kwargs)`` of several chunks (one worker's), as a list."""
    return [term(X, target, **kwargs) for X, target in zip(rows, targets)]


def _block_method(X, estimator, method):
    return getattr(estimator, method)(X)


# ------------------------------------------------------------------ on the client

def summed_terms(chunks, term, what, **kwargs):
    """``term(X, targets, **kwargs)`` of every chunk on its worker, summed in chunk
    order (a tuple of a float and float64 arrays or None); again after a worker was
    lost (dask recomputes its chunks elsewhere)."""
    # NOTE: the parameters travel as task arguments, not as scattered data: the
    # scheduler keeps them with the tasks, so a chunk lost with its worker is
    # recomputed with them anywhere.
    def evaluate():
        if len(chunks.rows) <= GATHERED:
            return chunks.sum_by_worker(each_chunk, what, term=term, **kwargs)
        parts = chunks.map(term, chunks.rows, chunks.targets, **kwargs)
        # NOTE: a fixed tree (groups of FAN_IN in chunk order, while more than
        # GATHERED partial sums are left) and the client's sum of the last ones in
        # order fix the order of the float additions: the same chunking gives the
        # same fit, bit for bit.
        while len(parts) > GATHERED:
            parts = [group[0] if len(group) == 1
                     else chunks.client.submit(sum_parts, *group, pure=False)
                     for group in (parts[i:i + FAN_IN]
                                   for i in range(0, len(parts), FAN_IN))]
        return sum_parts(*wait_for(parts, what, chunks, relocate=True))

    return chunks.summed(evaluate, what)


class DaskObjective(Objective):
    """``Objective`` whose data term is summed over the chunks on the workers.

    Parameters
    ----------
    problem : LogisticProblem
        Its ``X`` is the dask array (only its shape and dtype are read here).
    chunks : Chunks
        The futures of the chunks' rows and of their targets.
    """

    def __init__(self, problem, chunks):
        super().__init__(problem)
        self.chunks = chunks
        self.n_outputs = problem.n_outputs

    def data_loss_grad(self):
        loss, grad = summed_terms(
            self.chunks, chunk_loss_grad, "the chunks' loss and gradient",
            params=self.params.copy(), n_outputs=self.n_outputs,
            fit_intercept=self.fit_intercept)
        # NOTE: scaled here, once, in float64 (the in-process kernel scales each row's
        # gradient): equal to rounding.
        self.grad[:] = grad * self.scale
        return loss * self.scale


class DaskPasses(NewtonPasses):
    """newton-cholesky's ``NewtonPasses`` whose data term (loss, gradient, Hessian)
    is summed over the chunks on the workers; the client solves the Newton system.

    Parameters
    ----------
    problem : LogisticProblem
        Its ``X`` is the dask array (only its shape and dtype are read here).
    chunks : Chunks
        The futures of the chunks' rows and of their targets.
    """

    def __init__(self, problem, chunks):
        super().__init__(problem, want_hessian=True)
        self.chunks = chunks
        self.n_threads = 1  # the workers split their own chunks

    def data_term(self, coef, want, keep_proba=False):
        loss, grad, H = summed_terms(
            self.chunks, chunk_newton_term, "the chunks' loss, gradient and Hessian",
            coef=np.array(coef, self.dtype), n_outputs=self.k,
            fit_intercept=self.with_bias, want=want)
        # NOTE: summed in float64 and scaled once here (the in-process kernel scales
        # in X's dtype): equal to rounding.
        if grad is not None:
            grad = (grad * self.scale).astype(self.dtype)
        if H is not None:
            H = (H * self.scale).astype(self.dtype)
        return loss * self.scale, grad, H, None

    def lbfgs_objective(self, problem):
        return DaskObjective(problem, self.chunks)


def _check_params(estimator, penalty):
    if estimator.solver not in DASK_SOLVERS:
        raise ValueError(
            f"solver={estimator.solver!r} does not take dask arrays: only "
            f"{' and '.join(repr(s) for s in DASK_SOLVERS)} fit dask X and y on the "
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
    X, y, sample_weight, chunks, y_parts, weight_parts = open_chunks(
        estimator, X, y, sample_weight)
    rows = chunks.rows
    summaries = wait_for(chunks.map(chunk_summary, rows, y_parts, weight_parts,
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
    chunks.compute_targets(chunk_targets, y_parts, weight_parts, classes=classes,
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
        if estimator.solver == "newton-cholesky":
            return fit_newton_cholesky(problem, W, b, DaskPasses(problem, chunks))
        return fit_lbfgs(problem, W, b, DaskObjective(problem, chunks))

    with client_threads():
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
    right = predicted == aligned("y", y, X)
    sample_weight = aligned("sample_weight", sample_weight, X)
    if sample_weight is None:
        value = right.mean()
    else:
        value = (right * sample_weight).sum() / sample_weight.sum()
    try:
        client = get_client(type(estimator).__name__)
    except ValueError:  # no cluster: dask's local scheduler
        return float(value.compute())
    return float(wait_for([client.compute(value)], "the score")[0])
