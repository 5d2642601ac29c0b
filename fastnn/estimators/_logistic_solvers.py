"""How LogisticRegression minimises its objective: L-BFGS-B (SciPy) on the scaled
objective and its gradient (``_Objective``), or mini-batch SGD epochs, both on the
logistic kernels of :mod:`fastnn.ops` (this module holds every call to them)."""

import math
import os
import warnings

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from fastnn import ops
from fastnn._threads import _libs, fit_threads, single_thread_blas
from fastnn.ops import _logistic as logistic_ops
from fastnn.ops.checks import PARALLEL_MIN_SIZE


def _available_cores():
    """The cores this thread may split a fit across: the CPU affinity, capped by its
    OpenMP thread limit."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    # NOTE: the fused kernel asks OpenMP for its threads by number, which overrides
    # OpenMP's own limit, so the limit is read here: dask's workers start with
    # OMP_NUM_THREADS=1, joblib's loky workers with cores / n_jobs, and a user's
    # threadpool_limits sets it; without the cap every worker's fit takes every core.
    for lib in _libs("openmp"):
        cores = min(cores, lib.get_num_threads())
    return max(cores, 1)


_DIVERGED = (
    "LogisticRegression(solver='sgd') diverged at epoch {epoch}: the loss or the "
    "weights became inf or NaN. Scale the features (e.g. StandardScaler) or lower "
    "learning_rate (it is {lr})."
)


def _l2(estimator, weight_sum):
    """The L2 strength of the scaled objective (0 without a penalty)."""
    # NOTE: scikit-learn minimises the objective divided by C * sum(s): the mean
    # weighted loss plus l2 / 2 ||W||**2 with l2 = 1 / (C sum(s)). Same minimiser,
    # but the gradient is O(1) whatever n_samples is, so `tol` means the same here.
    if estimator.penalty is None or math.isinf(estimator.C):
        return 0.0
    return 1.0 / (estimator.C * weight_sum)


def fit_lbfgs(estimator, X, y_index, weights, weight_sum, W, b):
    """Fit ``W``, ``b`` in place by L-BFGS-B with ``estimator``'s parameters; returns
    the iteration count."""
    objective = _Objective(
        X, y_index, weights, weight_sum, W.shape[1], estimator.fit_intercept,
        _l2(estimator, weight_sum),
    )
    x0 = objective.pack(W, b)
    callback = _print_objective if estimator.verbose else None
    # NOTE: a large dense X is split across the cores in the fused kernel, each
    # part calling BLAS, so BLAS keeps to one thread; otherwise OpenMP keeps to one
    # thread and BLAS (or SciPy's sparse products) keeps the cores when X is large
    # enough to gain from them (fit_threads).
    # (single_thread_blas is reference-counted: BLAS's count is process-wide, so
    # fits overlapping in several threads must not restore it in the wrong order.)
    threads = (
        single_thread_blas()
        if objective.n_threads > 1
        else fit_threads(X.shape[0] * X.shape[1] * W.shape[1])
    )
    with threads:
        result = scipy.optimize.minimize(
            objective, x0, method="L-BFGS-B", jac=True, callback=callback,
            options={
                "maxiter": estimator.max_iter,
                "maxls": 50,
                "gtol": estimator.tol,
                "ftol": 64 * np.finfo(float).eps,
            },
        )
    if not np.all(np.isfinite(result.x)):
        raise ValueError(
            "L-BFGS produced non-finite weights; scale the features "
            "(e.g. StandardScaler)"
        )
    if result.status != 0:
        warnings.warn(
            f"L-BFGS did not converge ({result.message}) after {result.nit} "
            "iterations. Increase max_iter or scale the data (StandardScaler).",
            ConvergenceWarning,
            stacklevel=3,
        )
    objective.unpack(result.x, W, b)
    return result.nit


def fit_sgd(
    estimator, X, y_index, weights, weight_sum, W, b, epochs, first, stop_early
):
    """Run SGD epochs first, first + 1, ... on ``W``, ``b`` in place with
    ``estimator``'s parameters; returns the epoch count reached."""
    n_samples = X.shape[0]
    l2 = _l2(estimator, weight_sum)
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


def _print_objective(intermediate_result):
    print(f"L-BFGS objective {intermediate_result.fun:.10g}")


class _Objective:
    """The scaled objective and its gradient on L-BFGS's flat float64 vector.

    Computes in X's dtype into a gradient vector allocated once: a dense X goes
    through the fused kernel logistic_loss_grad (one pass over X), a CSR X through SciPy's
    sparse products around ops' loss kernels.
    """

    def __init__(self, X, y_index, weights, weight_sum, n_outputs, fit_intercept, l2):
        n_samples, n_features = X.shape
        dtype = X.dtype
        self.X, self.weights, self.l2 = X, weights, l2
        self.sparse = sp.issparse(X)
        self.scale = 1.0 / weight_sum
        self.fit_intercept = fit_intercept
        self.n_coef = n_features * n_outputs
        size = self.n_coef + (n_outputs if fit_intercept else 0)
        self.params = np.zeros(size, dtype)
        self.grad = np.zeros(size, dtype)
        self.W = self.params[: self.n_coef].reshape(n_features, n_outputs)
        self.dW = self.grad[: self.n_coef].reshape(n_features, n_outputs)
        self.b = self.params[self.n_coef:] if fit_intercept else None
        self.db = self.grad[self.n_coef:] if fit_intercept else None
        self.y_index = np.ascontiguousarray(y_index, dtype=np.intp)
        self.n_threads = 1
        if not self.sparse:
            # NOTE: below ~100k elements of X a thread team costs more than it saves.
            if n_samples * n_features >= PARALLEL_MIN_SIZE:
                self.n_threads = min(_available_cores(), max(1, n_samples // 64))
            # the fused kernel takes a b and a db even without an intercept
            self.b_or_zero = self.b if fit_intercept else np.zeros(n_outputs, dtype)
            self.db_or_scratch = self.db if fit_intercept else np.empty(n_outputs, dtype)
            return
        self.loss = np.empty(n_samples, dtype)
        if n_outputs == 1:
            self.target = (self.y_index == 1).astype(dtype).reshape(-1, 1)
            self.loss_function = ops.binary_cross_entropy
        else:
            self.target = self.y_index
            self.loss_function = ops.softmax_cross_entropy

    def pack(self, W, b):
        x = np.empty(self.params.size, np.float64)
        x[: self.n_coef] = W.ravel()
        if self.fit_intercept:
            x[self.n_coef:] = b
        return x

    def unpack(self, x, W, b):
        W[:] = x[: self.n_coef].reshape(W.shape)
        if self.fit_intercept:
            b[:] = x[self.n_coef:]

    def __call__(self, x):
        # NOTE: L-BFGS-B works in float64; only the small parameter vector is cast to
        # X's dtype (never X), and the gradient back.
        self.params[:] = x
        W, b = self.W, self.b
        if self.sparse:
            value = self._sparse_loss_grad(W, b)
        else:
            loss, _, _ = logistic_ops.logistic_loss_grad(
                self.X, self.y_index, W, self.b_or_zero, sample_weight=self.weights,
                scale=self.scale, with_bias=self.fit_intercept, dW=self.dW,
                db=self.db_or_scratch, n_threads=self.n_threads,
            )
            value = loss * self.scale
        if self.l2:
            W64 = x[: self.n_coef]
            value += 0.5 * self.l2 * float(W64 @ W64)
            self.dW += self.l2 * W
        return value, self.grad.astype(np.float64)

    def _sparse_loss_grad(self, W, b):
        """CSR X: SciPy's sparse products around the fused loss kernels."""
        Z = np.asarray(self.X @ W)
        if b is not None:
            Z += b
        Z = np.ascontiguousarray(Z, dtype=W.dtype)
        loss, G = self.loss_function(
            Z, self.target, sample_weight=self.weights, scale=self.scale,
            loss_out=self.loss, grad_out=Z,
        )
        self.dW[:] = self.X.T @ G
        if b is not None:
            self.db[:] = G.sum(axis=0)
        # NOTE: the per-sample losses are summed in float64: in float32 the rounding of
        # a sum of 1e5 terms would be larger than the decrease L-BFGS's line search needs.
        return float(loss.sum(dtype=np.float64)) * self.scale
