"""The smooth part of a LogisticProblem's objective and its gradient on a flat float64
vector (``Objective``): what L-BFGS minimises and what the Newton solvers start from.
It holds every full-batch call to the logistic kernels of :mod:`fastnn.ops`."""

import os

import numpy as np
import scipy.sparse as sp

from fastnn import ops
from fastnn._threads import _libs
from fastnn.ops import _logistic as logistic_ops
from fastnn.ops.checks import PARALLEL_MIN_SIZE


def available_cores():
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


class Objective:
    """A LogisticProblem's smooth part (data term and L2) and its gradient, on
    L-BFGS's flat float64 vector ``x = [W.ravel(), b]`` (no ``b`` without an intercept).

    Computes in X's dtype into a gradient vector allocated once: a dense X goes
    through the fused kernel logistic_loss_grad (one pass over X), a CSR X through
    fastnn.ops.sparse's products (X W + b, then X^T R by X's CSC view) around ops' loss
    kernels, each call bound once per fit.
    """

    def __init__(self, problem):
        X, n_outputs, fit_intercept = problem.X, problem.n_outputs, problem.fit_intercept
        n_samples, n_features = X.shape
        dtype = X.dtype
        self.X, self.weights, self.l2 = X, problem.weights, problem.l2
        self.sparse = sp.issparse(X)
        self.scale = 1.0 / problem.weight_sum
        self.fit_intercept = fit_intercept
        self.n_coef = n_features * n_outputs
        size = self.n_coef + (n_outputs if fit_intercept else 0)
        self.params = np.zeros(size, dtype)
        self.grad = np.zeros(size, dtype)
        self.W = self.params[: self.n_coef].reshape(n_features, n_outputs)
        self.dW = self.grad[: self.n_coef].reshape(n_features, n_outputs)
        self.b = self.params[self.n_coef:] if fit_intercept else None
        self.db = self.grad[self.n_coef:] if fit_intercept else None
        self.y_index = problem.y_index
        self.n_threads = 1
        if not self.sparse:
            # NOTE: below ~100k elements of X a thread team costs more than it saves.
            if n_samples * n_features >= PARALLEL_MIN_SIZE:
                self.n_threads = min(available_cores(), max(1, n_samples // 64))
            # the fused kernel takes a b and a db even without an intercept
            self.b_or_zero = self.b if fit_intercept else np.zeros(n_outputs, dtype)
            self.db_or_scratch = self.db if fit_intercept else np.empty(n_outputs, dtype)
            return
        # NOTE: X^T R through X's CSC view, built once per fit (one more copy of the
        # stored values): each iteration then reads X by columns, each thread writing
        # its own rows of dW, where a scatter would need a dW per thread.
        self.Xt = ops.csr_transpose(X)
        if n_samples * n_outputs + X.nnz * n_outputs >= PARALLEL_MIN_SIZE:
            self.n_threads = available_cores()
        self.Z = np.empty((n_samples, n_outputs), dtype)
        self.loss = np.empty(n_samples, dtype)
        if n_outputs == 1:
            target = (self.y_index == 1).astype(dtype).reshape(-1, 1)
            loss_function = ops.binary_cross_entropy
        else:
            target = self.y_index
            loss_function = ops.softmax_cross_entropy
        # NOTE: each kernel call is checked once here and bound to the fit's arrays
        # (W and b are views of params): an iteration runs three compiled calls.
        self.logits = ops.bind(ops.csr_matmul, X, self.W, self.b, out=self.Z)[0]
        self.residuals = ops.bind(
            loss_function, self.Z, target, sample_weight=self.weights,
            scale=self.scale, loss_out=self.loss, grad_out=self.Z,
        )[0]
        self.gradient = ops.bind(ops.csr_matmul, self.Xt, self.Z, out=self.dW)[0]

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
        value = self.data_loss_grad()
        if self.l2:
            W64 = x[: self.n_coef]
            value += 0.5 * self.l2 * float(W64 @ W64)
            self.dW += self.l2 * self.W
        return value, self.grad.astype(np.float64)

    def data_loss_grad(self):
        """The data term at ``self.params``: returns ``scale * sum_i s_i loss_i`` and
        writes its gradient into ``self.grad`` (the penalty is added by the caller).
        The dask path (``_logistic_dask.DaskObjective``) overrides this alone."""
        W, b = self.W, self.b
        if self.sparse:
            return self._sparse_loss_grad(W, b)
        loss, _, _ = logistic_ops.logistic_loss_grad(
            self.X, self.y_index, W, self.b_or_zero, sample_weight=self.weights,
            scale=self.scale, with_bias=self.fit_intercept, dW=self.dW,
            db=self.db_or_scratch, n_threads=self.n_threads,
        )
        return loss * self.scale

    def _sparse_loss_grad(self, W, b):
        """CSR X: Z = X W + b, the losses and R = their gradient in Z, dW = X^T R."""
        self.logits()
        self.residuals()
        self.gradient()
        if b is not None:
            np.sum(self.Z, axis=0, out=self.db)
        # NOTE: the per-sample losses are summed in float64: in float32 the rounding of
        # a sum of 1e5 terms would be larger than the decrease L-BFGS's line search needs.
        return float(self.loss.sum(dtype=np.float64)) * self.scale
