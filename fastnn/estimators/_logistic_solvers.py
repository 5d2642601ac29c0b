"""L-BFGS (SciPy's L-BFGS-B on the compiled loss and gradient, ``fit_lbfgs``) and
fastnn's mini-batch SGD epochs (``fit_sgd``, with ``partial_fit``)."""

import math
import warnings
from contextlib import nullcontext

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.optimize import _check_optimize_result

from fastnn import ops
from fastnn._threads import fit_threads, single_thread_blas
from fastnn.estimators._logistic_objective import Objective
from fastnn.estimators._logistic_problem import CONVERGENCE_HINT
from fastnn.ops import _logistic as logistic_ops

_DIVERGED = (
    "LogisticRegression(solver='sgd') diverged at epoch {epoch}: the loss or the "
    "weights became inf or NaN. Scale the features (e.g. StandardScaler) or lower "
    "learning_rate (it is {lr})."
)


def objective_threads(objective, n_outputs):
    """The thread rule of a full-batch fit: a large dense X is split across the cores in
    the fused kernel, each part calling BLAS, so BLAS keeps to one thread; otherwise
    OpenMP keeps to one thread and BLAS (or SciPy's sparse products) keeps the cores
    when X is large enough to gain from them (fit_threads)."""
    # NOTE: single_thread_blas is reference-counted: BLAS's count is process-wide, so
    # fits overlapping in several threads must not restore it in the wrong order.
    if objective.n_threads > 1:
        return single_thread_blas()
    n_samples, n_features = objective.X.shape
    return fit_threads(n_samples * n_features * n_outputs)


def fit_lbfgs(problem, W, b, objective=None):
    """Minimise ``problem`` (L2 or no penalty) from ``W``, ``b`` in place by L-BFGS-B;
    returns the iteration count. Stops as scikit-learn's does: the largest gradient
    entry of the scaled objective below ``tol`` (or no decrease left to find).
    ``objective`` replaces the in-process ``Objective(problem)`` (the dask path's,
    whose data term runs on the workers: no thread limits are set here then)."""
    local = objective is None
    if local:
        objective = Objective(problem)
    x0 = objective.pack(W, b)
    on_iteration = problem.on_iteration

    def callback(intermediate_result):
        if problem.verbose:
            print(f"L-BFGS objective {intermediate_result.fun:.10g}")
        if on_iteration is not None:
            objective.unpack(intermediate_result.x, W, b)
            if on_iteration(W, b, float(intermediate_result.fun)):
                raise StopIteration

    with objective_threads(objective, problem.n_outputs) if local else nullcontext():
        result = scipy.optimize.minimize(
            objective, x0, method="L-BFGS-B", jac=True,
            callback=callback if problem.verbose or on_iteration else None,
            options={
                "maxiter": problem.max_iter,
                "maxls": 50,
                "gtol": problem.tol,
                "ftol": 64 * np.finfo(float).eps,
            },
        )
    if not np.all(np.isfinite(result.x)):
        raise ValueError(
            "L-BFGS produced non-finite weights; scale the features "
            "(e.g. StandardScaler)"
        )
    objective.unpack(result.x, W, b)
    if result.status == 99:  # a callback's StopIteration: a stop that was asked for
        return result.nit
    return _check_optimize_result(
        "lbfgs", result, problem.max_iter, extra_warning_msg=CONVERGENCE_HINT
    )


def fit_sgd(estimator, problem, W, b, epochs, first, stop_early):
    """Run SGD epochs first, first + 1, ... of ``problem`` (L2 or no penalty) on ``W``,
    ``b`` in place with ``estimator``'s SGD parameters; returns the epoch count
    reached."""
    X, y_index, weights = problem.X, problem.y_index, problem.weights
    weight_sum, l2 = problem.weight_sum, problem.l2
    n_samples = X.shape[0]
    rng = check_random_state(estimator.random_state)
    order = np.arange(n_samples, dtype=np.intp)
    G = np.empty((min(estimator.batch_size, n_samples), W.shape[1]), X.dtype)
    # NOTE: each sample's gradient is scaled by n / sum(s), so a mini-batch mean is
    # an unbiased estimate of the gradient of the mean-weighted objective.
    weight_scale = n_samples / weight_sum
    best, stalled, epoch = math.inf, 0, first
    for epoch in range(first, first + epochs):
        if estimator.shuffle:
            rng.shuffle(order)
        lr = estimator.learning_rate / (1.0 + epoch) ** estimator.power_t
        W_before, b_before = W.copy(), b.copy()
        loss = logistic_ops.logistic_sgd_epoch(
            X, y_index, W, b, order, lr, l2=l2, batch_size=G.shape[0],
            sample_weight=weights, weight_scale=weight_scale,
            with_bias=estimator.fit_intercept, G=G,
        )
        # NOTE: through BLAS's dot: an overflowing sum is inf (caught below), not a
        # RuntimeWarning from NumPy.
        value = loss / weight_sum + 0.5 * l2 * ops.sum_of_squares(W.ravel())
        if not (math.isfinite(value) and np.isfinite(W).all() and np.isfinite(b).all()):
            W[:], b[:] = W_before, b_before
            raise ValueError(_DIVERGED.format(epoch=epoch + 1, lr=lr))
        if estimator.verbose:
            print(f"SGD epoch {epoch + 1}: objective {value:.10g}, learning rate {lr:.4g}")
        if problem.on_iteration is not None and problem.on_iteration(W, b, value):
            return epoch + 1
        if not stop_early:
            continue
        stalled = stalled + 1 if value > best - estimator.tol else 0
        best = min(best, value)
        if stalled >= estimator.n_iter_no_change:
            return epoch + 1
    if stop_early:
        warnings.warn(
            f"SGD reached max_iter={estimator.max_iter} epochs before the objective "
            "stopped improving; increase max_iter.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return epoch + 1
