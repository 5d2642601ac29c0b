"""The Newton solvers of a LogisticProblem with an L2 penalty or none (``l1 == 0``):
``fit_newton_cholesky`` (exact Hessian from one compiled pass over X, Cholesky solve)
and ``fit_newton_cg`` (scikit-learn's own ``_newton_cg`` driver on compiled loss,
gradient and Hessian-vector products). Both follow scikit-learn 1.9's solvers step for
step: their stopping rules, iteration counts, warnings and solutions.

The coefficients travel as scikit-learn's flat vector: ``coef[j * k + c]`` for feature j
(the intercept as j = n_features) and output c, in X's dtype; W and b are views of it
only at the ends.
"""

import copy
import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.optimize import _newton_cg

from fastnn._threads import fit_threads, single_thread_blas
from fastnn.estimators._logistic_objective import available_cores
from fastnn.estimators._logistic_solvers import fit_lbfgs
from fastnn.ops import _newton as newton_ops
from fastnn.ops.checks import PARALLEL_MIN_SIZE

# scikit-learn's solver class, named in its warnings.
_SOLVER = "NewtonCholeskySolver"
# NOTE: per-thread Hessians beyond this many bytes cost more to zero and sum than a
# thread team saves; BLAS's own threads take the rows' SYRK instead.
_PART_HESSIAN_MAX_BYTES = 64 * 2**20


class _Evaluation:
    """The smooth objective ``value`` (float), its flat ``grad`` and, when asked, its
    ``H`` (with the L2 term) and the probabilities ``P``, at one coef."""

    __slots__ = ("H", "P", "grad", "value")

    def __init__(self, value, grad, H, P):
        self.value, self.grad, self.H, self.P = value, grad, H, P


class NewtonPasses:
    """A LogisticProblem's passes over X in sklearn's flat coefficient layout, and the
    thread plan they run under (``threads()``)."""

    def __init__(self, problem, want_hessian):
        if problem.l1:
            raise ValueError("the Newton solvers take an L2 penalty or none (l1 == 0)")
        X, k = problem.X, problem.n_outputs
        self.problem, self.X, self.k = problem, X, k
        self.n_features = X.shape[1]
        self.with_bias = problem.fit_intercept
        self.n_coef = self.n_features * k
        self.size = self.n_coef + (k if self.with_bias else 0)
        self.dtype = X.dtype
        self.scale = 1.0 / problem.weight_sum
        self.l2 = problem.l2
        work = X.nnz if sp.issparse(X) else X.shape[0] * X.shape[1]
        hessian_bytes = self.size**2 * self.dtype.itemsize if want_hessian else 0
        cores = available_cores()
        self.n_threads = 1
        # NOTE: below ~100k elements of X a thread team costs more than it saves.
        parts_fit = hessian_bytes * cores <= _PART_HESSIAN_MAX_BYTES
        if work >= PARALLEL_MIN_SIZE and parts_fit:
            self.n_threads = min(cores, max(1, X.shape[0] // 64))
        self.gemm_macs = work * max(k, self.size if want_hessian else k)

    def threads(self):
        """Parts on OpenMP threads keep BLAS to one; otherwise BLAS keeps the cores."""
        if self.n_threads > 1:
            return single_thread_blas()
        return fit_threads(self.gemm_macs)

    def pack(self, W, b):
        coef = np.empty(self.size, self.dtype)
        coef[: self.n_coef] = W.ravel()
        if self.with_bias:
            coef[self.n_coef:] = b
        return coef

    def unpack(self, coef, W, b):
        W[:] = coef[: self.n_coef].reshape(W.shape)
        if self.with_bias:
            b[:] = coef[self.n_coef:]

    def split(self, coef):
        """(W, b) views of ``coef`` (b all zeros without an intercept)."""
        coef = np.ascontiguousarray(coef, self.dtype)
        W = coef[: self.n_coef].reshape(self.n_features, self.k)
        b = coef[self.n_coef:] if self.with_bias else np.zeros(self.k, self.dtype)
        return W, b

    def __call__(self, coef, want, keep_proba=False):
        """The objective at ``coef`` (the data term plus the L2 term): its value,
        and its gradient (``want`` "gradient"), and Hessian too ("hessian")."""
        value, grad, H, P = self.data_term(coef, want, keep_proba)
        w = self.split(coef)[0].ravel()
        w64 = w.astype(np.float64)
        value += 0.5 * self.l2 * float(w64 @ w64)
        if grad is not None:
            grad[: self.n_coef] += self.l2 * w
        if H is not None:
            diagonal = H.ravel()[:: self.size + 1]
            diagonal[: self.n_coef] += self.l2
        return _Evaluation(value, grad, H, P)

    def data_term(self, coef, want, keep_proba=False):
        """The data term at ``coef``: ``(scale * sum_i s_i loss_i, its flat gradient
        or None, its Hessian or None, the probabilities or None)``, gradient and
        Hessian in X's dtype. The dask path (``_logistic_dask.DaskPasses``) overrides
        this alone."""
        W, b = self.split(coef)
        problem = self.problem
        out = newton_ops.logistic_newton_pass(
            self.X, problem.y_index, W, b, sample_weight=problem.weights,
            scale=self.scale, with_bias=self.with_bias, want=want,
            keep_proba=keep_proba, n_threads=self.n_threads,
        )
        grad = None
        if want != "loss":
            grad = np.empty(self.size, self.dtype)
            grad[: self.n_coef] = out.dW.ravel()
            if self.with_bias:
                grad[self.n_coef:] = out.db
        H = out.H if want == "hessian" else None
        return out.loss * self.scale, grad, H, out.P

    def lbfgs_objective(self, problem):
        """The objective L-BFGS takes over with after a failed Newton step (None:
        the in-process one)."""
        return None

    def hessp(self, P, v):
        """The objective's Hessian (probabilities P) times the flat vector v."""
        V, vb = self.split(v)
        problem = self.problem
        out, outb = newton_ops.logistic_hessp(
            self.X, P, V, vb, sample_weight=problem.weights, scale=self.scale,
            with_bias=self.with_bias, n_threads=self.n_threads,
        )
        result = np.empty(self.size, self.dtype)
        result[: self.n_coef] = out.ravel() + self.l2 * V.ravel()
        if self.with_bias:
            result[self.n_coef:] = outb
        return result


def _free_indices(passes, problem):
    """The coefficients the Newton step solves for, as scikit-learn's solver: a
    multinomial without penalty keeps every class but the last (whose coefficients
    stay 0), one with an intercept keeps all but the last class's intercept (the
    predictions do not change when a constant is added to every class). None: all."""
    k, size = passes.k, passes.size
    if k > 1 and problem.l2 == 0:
        return np.flatnonzero(np.arange(size) % k != k - 1)
    if k > 1 and passes.with_bias:
        return np.arange(size - 1)
    return None


def _newton_step(evaluation, free, iteration, verbose):
    """Solve H step = -grad on the free coefficients by Cholesky; None (after
    scikit-learn's LinAlgWarning) when H is singular or ill-conditioned."""
    H, g = evaluation.H, evaluation.grad
    if free is not None:
        g[np.setdiff1d(np.arange(g.size), free)] = 0  # as scikit-learn's solver
        H, g = H[np.ix_(free, free)], g[free]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
            solution = scipy.linalg.solve(H, -g, check_finite=False, assume_a="pos")
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgWarning) as error:
        warnings.warn(
            f"The inner solver of {_SOLVER} stumbled upon a singular or very "
            f"ill-conditioned Hessian matrix at iteration {iteration}. It will now "
            "resort to lbfgs instead.\n"
            "Further options are to use another solver or to avoid such situation "
            "in the first place. Possible remedies are removing collinear features"
            " of X or increasing the penalization strengths.\n"
            "The original Linear Algebra message was:\n" + str(error),
            scipy.linalg.LinAlgWarning,
            stacklevel=4,
        )
        if verbose:
            print(
                "  The inner solver stumbled upon a singular or ill-conditioned "
                "Hessian matrix and resorts to LBFGS instead."
            )
        return None
    if free is None:
        return solution
    step = np.zeros(evaluation.grad.size, solution.dtype)
    step[free] = solution
    return step


def _line_search(passes, coef, step, current, iteration, want_next, verbose):
    """scikit-learn's backtracking (Armijo, else a loss change within rounding and a
    smaller sum |gradient|) from ``current`` along ``step``; returns (coef, evaluation)
    or None (after its ConvergenceWarning) when 21 halvings found no decrease. The full
    step's pass also computes ``want_next`` ("hessian": the next iteration's)."""
    beta, sigma = 0.5, 0.00048828125  # 1/2, 1/2**11, as scikit-learn's
    eps = 16 * np.finfo(passes.dtype).eps
    armijo = sigma * float(current.grad @ step)
    sum_abs_grad_old = -1.0
    t = 1.0
    for i in range(21):  # until and including t = beta**20 ~ 1e-6
        trial = coef + step if t == 1.0 else coef + passes.dtype.type(t) * step
        trial_eval = passes(trial, want_next if t == 1.0 else "gradient")
        improvement = trial_eval.value - current.value
        if verbose >= 2:
            print(f"    line search iteration={i + 1}, step size={t}")
        if improvement <= t * armijo:
            return trial, trial_eval
        if abs(improvement) <= abs(current.value * eps):
            if sum_abs_grad_old < 0:
                sum_abs_grad_old = float(np.abs(current.grad).sum())
            if float(np.abs(trial_eval.grad).sum()) < sum_abs_grad_old:
                return trial, trial_eval
        t *= beta
    warnings.warn(
        f"Line search of Newton solver {_SOLVER} at iteration #{iteration} did not "
        "converge after 21 line search refinement iterations. It will now resort to "
        "lbfgs instead.",
        ConvergenceWarning,
        stacklevel=3,
    )
    if verbose:
        print("  Line search did not converge and resorts to lbfgs instead.")
    return None


def _to_reference_class(passes, coef, problem):
    """scikit-learn's solver starts from the coefficients with the last class's
    subtracted (all of them without penalty, the intercepts with one): the same
    predictions, and the last class's free coefficients at 0."""
    k = passes.k
    if k > 1 and problem.l2 == 0:
        by_feature = coef.reshape(-1, k)
        by_feature -= by_feature[:, -1:]
    elif k > 1 and passes.with_bias:
        coef[-k:] -= coef[-1]


def _to_symmetric(passes, coef, problem):
    """scikit-learn's result: coefficients (without penalty) or intercepts (with
    one) summing to 0 over the classes."""
    k = passes.k
    if k > 1 and problem.l2 == 0:
        by_feature = coef.reshape(-1, k)
        by_feature -= by_feature.mean(axis=1, keepdims=True)
    elif k > 1 and passes.with_bias:
        coef[-k:] -= coef[-k:].mean()


def fit_newton_cholesky(problem, W, b, passes=None):
    """Minimise ``problem`` (L2 or no penalty) from ``W``, ``b`` in place by Newton
    steps on the exact Hessian; returns the iteration count (scikit-learn's
    ``NewtonCholeskySolver``: the Newton steps taken, plus L-BFGS's iterations after a
    fallback).

    Each iteration solves H step = -grad by Cholesky and backtracks along the step;
    it stops when max |grad| <= tol and half the squared Newton decrement
    step^T H step <= tol. One compiled pass over X gives the loss, gradient and
    Hessian of a point, so the line search's full step costs the next iteration's pass.
    Warnings are scikit-learn's: a singular or ill-conditioned Hessian (LinAlgWarning)
    or a failed line search (ConvergenceWarning) hands the rest of the budget to
    L-BFGS (``fit_lbfgs``, whose "lbfgs failed to converge" it may then raise);
    "Newton solver did not converge after N iterations." (ConvergenceWarning) when
    ``max_iter`` runs out. A multinomial's result has scikit-learn's symmetric
    parametrisation (the intercepts, or without penalty all coefficients, sum to 0
    over the classes).
    """
    if passes is None:
        passes = NewtonPasses(problem, want_hessian=True)
    verbose, tol, max_iter = problem.verbose, problem.tol, problem.max_iter
    coef = passes.pack(W, b)
    _to_reference_class(passes, coef, problem)
    free = _free_indices(passes, problem)
    iteration, converged, fallback, stopped = 1, False, False, False
    rate = 0.0  # max |grad| after a step / (max |grad| before it)**2
    with passes.threads():
        current = passes(coef, "hessian" if max_iter >= 1 else "loss")
        while iteration <= max_iter and not converged:
            if verbose:
                print(f"Newton iter={iteration}")
            if current.H is None:
                current = passes(coef, "hessian")
            step = _newton_step(current, free, iteration, verbose)
            if step is None:
                fallback = True
                break
            if float(current.grad @ step) > 0:
                if verbose:
                    print(
                        "  The inner solver found a Newton step that is not a "
                        "descent direction and resorts to LBFGS steps instead."
                    )
                fallback = True
                break
            decrement = 0.5 * float(step @ (current.H @ step))
            # NOTE: the full step's pass computes the next Hessian too, unless this
            # step is likely the last: max_iter, or a decrement within tol and a
            # gradient that Newton's quadratic convergence (its rate measured on the
            # previous step) takes to a tenth of tol. A wrong guess costs one pass.
            g_max = float(np.max(np.abs(current.grad)))
            last = iteration == max_iter or (
                decrement <= tol and rate * g_max**2 <= 0.1 * tol
            )
            found = _line_search(
                passes, coef, step, current, iteration,
                "gradient" if last else "hessian", verbose,
            )
            if found is None:
                fallback = True
                break
            coef, current = found
            max_grad = float(np.max(np.abs(current.grad)))
            # (g_max**2 underflows to 0 for gradients below 1e-154: no rate then)
            rate = max_grad / g_max**2 if g_max**2 > 0 else 0.0
            if verbose:
                print("  Check Convergence")
                print(f"    1. max |gradient| {max_grad} <= {tol} {max_grad <= tol}")
                if max_grad <= tol:
                    print(f"    2. Newton decrement {decrement} <= {tol} "
                          f"{decrement <= tol}")
            converged = max_grad <= tol and decrement <= tol
            if converged and verbose:
                print(f"  Solver did converge at loss = {current.value}.")
            iteration += 1
            if problem.on_iteration is not None:
                passes.unpack(coef, W, b)
                if problem.on_iteration(W, b, current.value):
                    stopped = True
                    break
    if not (converged or stopped):
        if fallback:
            # scikit-learn's fallback: L-BFGS from here with the iterations left
            passes.unpack(coef, W, b)
            rest = copy.copy(problem)
            rest.max_iter = max_iter - iteration
            iteration += fit_lbfgs(rest, W, b, passes.lbfgs_objective(rest))
            coef = passes.pack(W, b)
        else:
            warnings.warn(
                f"Newton solver did not converge after {iteration - 1} iterations.",
                ConvergenceWarning,
                stacklevel=2,
            )
    _to_symmetric(passes, coef, problem)
    passes.unpack(coef, W, b)
    return iteration - 1


def fit_newton_cg(problem, W, b):
    """Minimise ``problem`` (L2 or no penalty) from ``W``, ``b`` in place by
    scikit-learn's ``_newton_cg`` (Newton steps solved by conjugate gradients, Wolfe
    line search); returns its iteration count (the Newton steps taken).

    Its loss and gradient come from one compiled pass over X, which also keeps the
    probabilities that the compiled Hessian-vector products of the CG iterations
    reuse; a point is evaluated once however often the driver asks for it. Warnings
    are the driver's: "newton-cg failed to converge at loss = ... Increase the number
    of iterations." (ConvergenceWarning) and "Line Search failed" (UserWarning).
    """
    passes = NewtonPasses(problem, want_hessian=False)
    last = {"coef": None, "evaluation": None}
    reported = _IterationReports(problem, passes, W, b)

    def evaluate(coef):
        if last["coef"] is None or not np.array_equal(coef, last["coef"]):
            last["evaluation"] = passes(coef, "gradient", keep_proba=True)
            last["coef"] = np.array(coef, copy=True)
        return last["evaluation"]

    def grad_hess(coef):
        evaluation = evaluate(coef)
        reported.starting_at(coef, evaluation.value)
        return evaluation.grad.copy(), lambda v: passes.hessp(evaluation.P, v)

    x0 = passes.pack(W, b)
    with passes.threads():
        try:
            coef, n_iter = _newton_cg(
                grad_hess=grad_hess,
                func=lambda coef: evaluate(coef).value,
                grad=lambda coef: evaluate(coef).grad.copy(),
                x0=x0,
                maxiter=problem.max_iter,
                tol=problem.tol,
                verbose=problem.verbose,
            )
            reported.ended_at(coef, n_iter, lambda: evaluate(coef).value)
        except _StopAsked as stop:
            coef, n_iter = stop.coef, stop.n_iter
    if not np.all(np.isfinite(coef)):
        raise ValueError(
            "newton-cg produced non-finite weights; scale the features "
            "(e.g. StandardScaler)"
        )
    passes.unpack(coef, W, b)
    return n_iter


class _StopAsked(Exception):
    """A callback asked newton-cg to stop after iteration ``n_iter``, at ``coef``."""

    def __init__(self, coef, n_iter):
        super().__init__(coef, n_iter)
        self.coef, self.n_iter = coef, n_iter


class _IterationReports:
    """``problem.on_iteration`` for scikit-learn's ``_newton_cg`` driver, which has no
    callback: iteration k has ended when the driver asks for the gradient and Hessian
    at its k-th iterate (every call but the first), or when the driver returns after
    its last iteration without asking."""

    def __init__(self, problem, passes, W, b):
        self.on_iteration = problem.on_iteration
        self.passes, self.W, self.b = passes, W, b
        self.calls = 0

    def _report(self, coef, value, n_iter):
        self.passes.unpack(coef, self.W, self.b)
        if self.on_iteration(self.W, self.b, value):
            raise _StopAsked(np.array(coef, copy=True), n_iter)

    def starting_at(self, coef, value):
        """The driver begins an iteration at ``coef``: the previous one ended there."""
        if self.on_iteration is not None and self.calls > 0:
            self._report(coef, value, self.calls)
        self.calls += 1

    def ended_at(self, coef, n_iter, value):
        """The driver returned ``coef`` after ``n_iter`` iterations."""
        if self.on_iteration is not None and n_iter == self.calls:
            self._report(coef, value(), n_iter)
