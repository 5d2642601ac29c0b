"""L1 and elastic-net logistic regression by proximal Newton with coordinate descent
(``fit_cd``): newGLMNET (Yuan, Ho & Lin 2012, liblinear's ``solve_l1r_lr``) with
glmnet's active sets, on the problem's own objective (unpenalised intercept).

Each Newton step of one output column c:
  1. margins m = X w_c + b_c (minus, for softmax, the log-sum-exp of the other classes'
     logits: class c's part of the softmax loss is then the sigmoid loss of m), and per
     row p, g = a (p - t), h = a p (1 - p), a_i = s_i / weight_sum;
  2. the gradient X^T g + l2 w and Hessian diagonal of every column; a column at 0
     whose gradient lies well inside [-l1, l1] leaves the active set (shrinking);
  3. coordinate descent on the quadratic model (data Hessian X^T diag(h) X, the L2
     term, l1 |.|) over the active set, keeping X d up to date, to a tolerance that
     tightens (x 1/4) whenever one sweep sufficed;
  4. a backtracking line search on the exact objective, costed with X d (no pass
     over X), then w_c, b_c move.
Binary fits take one such step per iteration; softmax fits cycle over the classes
(glmnet's partial quadratic approximations), one iteration = one cycle.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from fastnn.estimators._logistic_problem import CONVERGENCE_HINT
from fastnn.ops import _cd as cd_ops

# NOTE: liblinear's constants. NU is a ridge on the model's diagonal (a column or
# intercept whose rows all saturated has no curvature left); SIGMA the Armijo fraction.
NU = 1e-12
SIGMA = 0.01
MAX_SWEEPS = 1000
MAX_HALVINGS = 20

_NOT_CONVERGED = (
    "newton-cd (proximal Newton coordinate descent) failed to converge after "
    "{n_iter} iteration(s): the minimum-norm subgradient's 1-norm is {ratio:.3g} "
    "times its value at zero coefficients, above tol={tol}.\n"
    "Increase the number of iterations to improve the convergence "
    "(max_iter={max_iter}).\n"
    "You might also want to scale the data as shown in:\n"
    "    https://scikit-learn.org/stable/modules/preprocessing.html\n"
)


class _Output:
    """One output column's state across Newton steps."""

    def __init__(self):
        self.first_gnorm1 = None  # the subgradient 1-norm at the first step
        self.inner_eps = 1.0  # the model's stop, relative to first_gnorm1
        self.gmax = np.inf  # the last largest violation (sets the shrinking margin)


class _Scratch:
    """The per-row and per-column float64 arrays one Newton step works in."""

    def __init__(self, n_samples, n_features):
        self.p, self.g, self.h, self.xd, self.offset, self.m = np.empty((6, n_samples))
        self.grad, self.hdiag, self.hx, self.u = np.empty((4, n_features))
        self.delta_b = np.zeros(1)


def fit_cd(problem, W, b):
    """Minimise ``problem`` (l1 > 0, finite C; binary or softmax) from ``W``, ``b`` in
    place; returns the number of iterations (binary: Newton steps; softmax: cycles of
    one Newton step per class).

    Stops when the 1-norm of the objective's minimum-norm subgradient (W's and the
    intercept's) is at most ``tol`` times its value at W = 0, b = 0 (liblinear's rule,
    scale-free). Warns (ConvergenceWarning) when ``max_iter`` iterations did not get
    there; stops quietly when no step decreases the objective any more (the
    precision of float64 is reached first, at a tol near 1e-15) or when
    ``problem.on_iteration(W, b, None)`` returns True. ``max_iter=0`` returns 0 at once.
    X is stored by columns once (a CSC copy of a CSR X, a column-major copy of a dense
    X; see fastnn.ops._cd); the model is float64, W and b keep X's dtype.
    """
    if problem.max_iter == 0:
        return 0
    fit = _Fit(problem)
    n_iter = fit.run(W, b)
    fit.write(W, b)
    return n_iter


class _Fit:
    """The state of one fit: the columns, the float64 model and the stopping rule."""

    def __init__(self, problem):
        self.problem = problem
        self.columns = cd_ops.Columns.of(problem.X)
        n, d = self.columns.shape
        k = problem.n_outputs
        weights = problem.weights
        if weights is None:
            self.a = np.full(n, 1.0 / problem.weight_sum)
        else:
            self.a = np.asarray(weights, np.float64) / problem.weight_sum
        classes = np.arange(max(k, 2))[1:] if k == 1 else np.arange(k)
        self.targets = (problem.y_index[None, :] == classes[:, None]).astype(np.float64)
        self.l1, self.l2 = problem.l1, problem.l2
        self.k = k
        self.with_intercept = problem.fit_intercept
        self.coef = np.zeros((k, d))
        self.intercept = np.zeros(k)
        self.logits = np.empty((k, n))
        self.scratch = _Scratch(n, d)
        self.outputs = [_Output() for _ in range(k)]

    def start(self, W, b):
        self.coef[...] = W.T
        if self.with_intercept:
            self.intercept[...] = b
        self.refresh_logits()

    def refresh_logits(self):
        """Every class's logits X w_c + b_c, from X (the steps update them in place)."""
        for c in range(self.k):
            cd_ops.margins(self.columns, self.coef[c], self.intercept[c],
                           out=self.logits[c])

    def run(self, W, b):
        """Minimise from (W, b); they are written only for ``on_iteration``."""
        problem = self.problem
        self.start(W, b)
        at_zero = not (self.coef.any() or self.intercept.any())
        # NOTE: from zero coefficients a binary fit's first measure is the reference
        # itself; otherwise it costs one pass over X.
        reference = None if at_zero and self.k == 1 else self.gnorm1_at_zero()
        n_iter, stalled, tol = 0, 0, problem.tol
        for cycle in range(problem.max_iter + 1):
            last = cycle == problem.max_iter
            total, stepped, moved = 0.0, False, False
            for c in range(self.k):
                gnorm1 = self.measure(c)
                if reference is None:
                    reference = gnorm1
                total += gnorm1
                if reference == 0.0 or last or gnorm1 <= tol * reference / self.k:
                    continue
                stepped = True
                moved |= self.step(c)
            if reference == 0.0:  # W = 0, b = 0 is the minimiser
                self.coef[...] = 0.0
                self.intercept[...] = 0.0
                return 0
            if problem.verbose:
                print(f"newton-cd iteration {n_iter}: subgradient 1-norm "
                      f"{total / reference:.3e} of its value at zero")
            if total <= problem.tol * reference:
                break
            if last:
                warnings.warn(
                    _NOT_CONVERGED.format(n_iter=n_iter, ratio=total / reference,
                                          tol=problem.tol, max_iter=problem.max_iter)
                    + CONVERGENCE_HINT,
                    ConvergenceWarning,
                    stacklevel=3,
                )
                break
            n_iter += stepped
            stalled = 0 if moved else stalled + 1
            if stalled >= 2:  # no step decreases f: float64's precision is reached
                break
            if not moved:
                self.refresh_logits()  # liblinear's remedy: drop the accumulated drift
            if problem.on_iteration is not None:
                self.write(W, b)
                if problem.on_iteration(W, b, None):
                    break
        return n_iter

    def write(self, W, b):
        """The float64 model into the caller's W, b (X's dtype)."""
        W[...] = self.coef.T
        if self.with_intercept:
            b[...] = self.intercept

    def gnorm1_at_zero(self):
        """The minimum-norm subgradient's 1-norm at W = 0, b = 0."""
        s = self.scratch
        p0 = 0.5 if self.k == 1 else 1.0 / self.k
        total = 0.0
        for c in range(self.k):
            np.multiply(self.a, p0 - self.targets[c], out=s.g)
            cd_ops.column_gradients(self.columns, s.g, s.grad)
            total += float(np.maximum(np.abs(s.grad) - self.l1, 0.0).sum())
            if self.with_intercept:
                total += abs(float(s.g.sum()))
        return total

    def margins_of(self, c):
        """Class c's margins: its logits, less the other classes' log-sum-exp."""
        s = self.scratch
        if self.k == 1:
            s.offset.fill(0.0)
        else:
            others = np.delete(self.logits, c, axis=0)
            top = others.max(axis=0)
            # NOTE: log-sum-exp with the column max taken out: exp never overflows.
            np.log(np.exp(others - top).sum(axis=0), out=s.offset)
            s.offset += top
        np.subtract(self.logits[c], s.offset, out=s.m)

    def measure(self, c):
        """Class c's gradient, active set, Hessian diagonal and curvature at the current
        point; returns the 1-norm of its minimum-norm subgradient."""
        s, l1, w = self.scratch, self.l1, self.coef[c]
        out = self.outputs[c]
        self.margins_of(c)
        cd_ops.row_curvature(s.m, self.targets[c], self.a, s.p, s.g, s.h)
        cd_ops.column_gradients(self.columns, s.g, s.grad)
        s.grad += self.l2 * w
        self.grad_b = float(s.g.sum()) if self.with_intercept else 0.0
        self.hdiag_b = float(s.h.sum()) + NU
        violation = np.where(
            w > 0, np.abs(s.grad + l1),
            np.where(w < 0, np.abs(s.grad - l1), np.maximum(np.abs(s.grad) - l1, 0.0)),
        )
        gnorm1 = float(violation.sum()) + abs(self.grad_b)
        # NOTE: liblinear's shrinking margin: gmax / n_samples inside the bound.
        margin = out.gmax / max(1, self.columns.shape[0])
        self.active = np.flatnonzero((w != 0) | (np.abs(s.grad) >= l1 - margin))
        out.gmax = max(float(violation.max(initial=0.0)), abs(self.grad_b))
        if out.first_gnorm1 is None:
            out.first_gnorm1 = gnorm1
        cd_ops.column_curvatures(self.columns, s.h, self.active, s.hdiag, s.hx)
        s.hdiag[self.active] += self.l2 + NU
        return gnorm1

    def step(self, c):
        """One proximal Newton step of class c (after ``measure(c)``); returns whether
        it moved."""
        s, out, w = self.scratch, self.outputs[c], self.coef[c]
        s.u[...] = w
        s.xd.fill(0.0)
        s.delta_b[0] = 0.0
        sweeps, _ = cd_ops.quadratic_cd(
            self.columns, s.h, s.grad, s.hdiag, s.hx, w, s.u, s.xd, self.active,
            self.l1, self.l2 + NU, with_intercept=self.with_intercept,
            grad_b=self.grad_b, hdiag_b=self.hdiag_b, delta_b=s.delta_b,
            tol=out.inner_eps * out.first_gnorm1, max_sweeps=MAX_SWEEPS,
        )
        if sweeps == 1:
            out.inner_eps *= 0.25
        step, _ = cd_ops.line_search(
            s.m, s.xd, self.targets[c], self.a, s.p, w, s.u, self.active, s.grad,
            grad_b=self.grad_b, delta_b=float(s.delta_b[0]), l1=self.l1, l2=self.l2,
            sigma=SIGMA, max_halvings=MAX_HALVINGS,
        )
        if step == 0.0:
            out.inner_eps *= 0.25  # a looser model step found no decrease: refine it
            return False
        self.intercept[c] += step * s.delta_b[0]
        np.add(s.m, s.offset, out=self.logits[c])
        return True
