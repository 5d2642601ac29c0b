"""MLPClassifier(solver='lbfgs') on dask arrays, data-parallel as LogisticRegression's
(``_logistic_dask``): SciPy's L-BFGS-B runs on the client while each worker computes,
for the chunks it holds, the network's data term (the sum of the rows' weighted losses
and its gradient, unscaled); the client adds those up in chunk order and adds the L2
penalty and the scaling with :func:`fastnn.models.objective.penalized`, the in-process
objective's own, so the function minimised is the in-process fit's. dask and
distributed are imported by this module only, once a dask collection reaches an
MLPClassifier.
"""

import threading

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils.multiclass import check_classification_targets

from fastnn._threads import training_threads
from fastnn.estimators._dask_chunks import (
    client_threads,
    dask_X,
    open_chunks,
    wait_for,
)
from fastnn.estimators._mlp_network import _loss_for, _network
from fastnn.estimators._mlp_solvers import fit_lbfgs, iteration_tasks
from fastnn.models.objective import data_term, penalized
from fastnn.nn.optimizers import SGD

# NOTE: each worker thread's networks, keyed by architecture: a network is built once
# per worker thread, not at every evaluation (a thread of its own: the flat weights
# and gradients are the network's buffers).
_NETWORKS = {}


# ------------------------------------------------------------------ on the workers

def chunk_summary(X, y, sample_weight):
    """One chunk's checks: ``(its labels, the sum of its weights)``.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
    y : ndarray of shape (n_rows,)
    sample_weight : ndarray of shape (n_rows,) or None

    Returns
    -------
    tuple of (ndarray, float)
    """
    assert_all_finite(X, input_name="X", estimator_name="MLPClassifier")
    check_classification_targets(y)
    if sample_weight is None:
        return np.unique(y), float(len(y))
    sample_weight = np.asarray(sample_weight, X.dtype)
    assert_all_finite(sample_weight, input_name="sample_weight")
    if (sample_weight < 0).any():
        raise ValueError("Negative values in sample weight")
    return np.unique(y), float(sample_weight.sum(dtype=np.float64))


def chunk_targets(X, y, sample_weight, binarizer, softmax):
    """A chunk's ``(targets, weights)`` as the network's loss takes them (those of
    ``MLPClassifier._targets``). ``X`` only makes dask run this where the rows are."""
    Y = binarizer.transform(y)
    targets = (Y.argmax(axis=1).astype(np.intp) if softmax
               else np.ascontiguousarray(Y, dtype=X.dtype))
    weights = None if sample_weight is None else np.asarray(sample_weight, X.dtype)
    return targets, weights


def _dense(X):
    return np.ascontiguousarray(X.toarray())


def _worker_network(architecture):
    key = (repr(architecture), threading.get_ident())
    model = _NETWORKS.get(key)
    if model is None:
        model = _network(architecture, None)
        model.compile(optimizer=SGD(), loss=_loss_for(architecture[4]))
        _NETWORKS[key] = model
    return model


def chunks_data_term(rows, targets, weights, architecture):
    """The data term ``(sum of weighted losses, its float64 gradient)`` of each of one
    worker's chunks at the flat ``weights``, as a list."""
    model = _worker_network(architecture)
    results = []
    with training_threads():
        for X, (y, sample_weight) in zip(rows, targets):
            # NOTE: arrays unpickled from another worker may be unaligned, which the
            # kernels refuse: np.require copies those (only those).
            X, y, sample_weight = model._check_data(
                np.require(X, model.dtype, ["C", "A"]), np.require(y, None, ["C", "A"]),
                None if sample_weight is None
                else np.require(sample_weight, None, ["C", "A"]))
            loss = data_term(model, X, y, sample_weight, 1.0)(weights)
            results.append((loss, model._grads.astype(np.float64)))
    return results


# ------------------------------------------------------------------ on the client

class DaskObjective:
    """``fun(weights) -> (loss, grad)``: the network's objective with the data term
    summed over the chunks on the workers.

    Parameters
    ----------
    model : Sequential
        The client's network: the penalty is computed on it.
    chunks : Chunks
        The futures of the chunks' rows and of their targets.
    architecture : tuple
        ``MLPClassifier._architecture``, for the workers' networks.
    scale : float
        1 / the sum of the sample weights.
    """

    def __init__(self, model, chunks, architecture, scale):
        self.model, self.chunks = model, chunks
        self.architecture, self.scale = architecture, scale

    def __call__(self, weights):
        loss, grad = self.chunks.summed(lambda: self._sums(weights),
                                        "the chunks' loss and gradient")
        model = self.model
        model.flat_weights[...] = weights
        # NOTE: scaled once here (the in-process kernel scales each row's gradient):
        # equal to rounding.
        model._grads[...] = grad * self.scale
        return penalized(model, loss, self.scale)

    def _sums(self, weights):
        """The chunks' summed data term at ``weights``: one task per worker (as
        LogisticRegression's), the results added in chunk order."""
        # NOTE: the weights go as a task argument (so a lost chunk is recomputed with
        # them anywhere), once per worker.
        return self.chunks.sum_by_worker(
            chunks_data_term, "the chunks' loss and gradient",
            weights=np.array(weights, self.model.dtype), architecture=self.architecture)


def _check(clf, y):
    if clf.solver != "lbfgs":
        raise ValueError(
            f"solver={clf.solver!r} does not take dask arrays: only 'lbfgs' fits dask X "
            "and y on the workers (for 'sgd' or 'adam', use dask_ml's Incremental: see "
            "docs/scale-out.md, or fit on X.compute())"
        )
    if getattr(y, "ndim", 1) != 1:
        raise ValueError("MLPClassifier fits dask arrays of single-label y only (1-D y);"
                         " multi-label y is not supported with dask yet: fit on "
                         "y.compute()")


def fit_dask(clf, X, y, sample_weight, sizes, first_pass):
    """``clf.fit(X, y, sample_weight)`` with dask arrays: data-parallel L-BFGS on the
    active distributed.Client. Returns the fitted ``clf``."""
    _check(clf, y)
    X = dask_X(X)
    if not first_pass:
        if X.shape[1] != clf.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but MLPClassifier is "
                             f"expecting {clf.n_features_in_} features as input.")
        # the network keeps the dtype it was built in, as in process
        X = X.astype(clf._model.dtype)
    if sp.issparse(X._meta):
        # NOTE: the dask fit still densifies each chunk once, on the worker that
        # holds it (the in-process fit keeps a CSR X sparse; not yet wired here).
        X = X.map_blocks(_dense, dtype=X.dtype, meta=np.empty((0, 0), X.dtype))
    X, y, sample_weight, chunks, y_parts, weight_parts = open_chunks(
        clf, X, y, sample_weight)
    rows = chunks.rows
    summaries = wait_for(chunks.map(chunk_summary, rows, y_parts, weight_parts,
                                 strict=False), "the chunks' checks", chunks)
    classes = np.unique(np.concatenate([labels for labels, _ in summaries]))
    # NOTE: summed in chunk order, as the in-process sum of the weights, to rounding
    total_weight = sum(weight for _, weight in summaries)
    if not total_weight > 0:
        raise ValueError("sample_weight sums to 0: the objective is undefined")

    if first_pass:
        # the state of the in-process fit's first pass, from the classes alone
        clf._label_binarizer = LabelBinarizer().fit(classes)
        clf.classes_ = clf._label_binarizer.classes_
        clf.n_features_in_ = X.shape[1]
        clf.__dict__.pop("feature_names_in_", None)
        n_outputs = (len(classes) if clf._label_binarizer.y_type_ == "multiclass"
                     else 1)
        assigned = clf._assigned_weights() if clf.warm_start else None
        clf._initialize(np.empty((0, X.shape[1]), X.dtype), np.empty((0, n_outputs)),
                        sizes, check_random_state(clf.random_state), assigned)
    else:  # a warm start: from the weights the estimator holds, as in process
        clf._check_classes(classes)
        clf._sync_weights()
    softmax = clf._label_binarizer.y_type_ == "multiclass"
    chunks.compute_targets(chunk_targets, y_parts, weight_parts,
                           binarizer=clf._label_binarizer, softmax=softmax)

    callbacks = clf._init_callback_context(task_name="fit",
                                           max_subtasks=max(clf.max_iter, 1) + 1)
    metadata = None if sample_weight is None else {"sample_weight": sample_weight}
    callbacks.call_on_fit_task_begin(estimator=clf, X=X, y=y, metadata=metadata)
    iterations = iteration_tasks(clf, callbacks, X, y, metadata)
    fun = DaskObjective(clf._model, chunks, clf._architecture, 1.0 / total_weight)
    try:
        with client_threads():
            fit_lbfgs(clf, X, None, None, iterations, fun=fun)
    finally:
        if iterations is not None:
            iterations.close()
    if not np.isfinite(clf._model.flat_weights).all():
        raise ValueError("training diverged: the weights overflowed to NaN or inf. "
                         "Scale the inputs (e.g. StandardScaler)")
    callbacks.call_on_fit_task_end(estimator=clf, X=X, y=y, metadata=metadata,
                                   reconstruction_attributes={})
    return clf
