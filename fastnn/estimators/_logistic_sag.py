"""SAG and SAGA (``fit_sag``): scikit-learn's ``sag`` and ``saga`` solvers on compiled
epochs, with scikit-learn's step size, stopping rule, warnings and errors."""

import math
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from fastnn.ops import _sag as sag_ops

# scikit-learn's make_dataset: a sparse X's intercept takes 1/100 of each SAG step.
SPARSE_INTERCEPT_DECAY = 0.01

_DIVERGED = (
    "Floating-point under-/overflow occurred at epoch #{epoch}. Scaling input data "
    "with StandardScaler or MinMaxScaler might help."
)
_NOT_CONVERGED = "The max_iter was reached which means the coef_ did not converge"
_STEP_ALPHA = (
    "Current sag implementation does not handle the case step_size * alpha_scaled == 1"
)


def auto_step_size(max_squared_sum, l2, fit_intercept, n_samples, saga):
    """scikit-learn's ``get_auto_step_size`` for the log-loss: 1/L for SAG and
    1/(2L + min(2 n l2, L)) for SAGA, L = (max_i ||x_i||^2 + fit_intercept) / 4 + l2
    the largest per-row Lipschitz constant."""
    lipschitz = 0.25 * (max_squared_sum + int(fit_intercept)) + l2
    if saga:
        return 1.0 / (2 * lipschitz + min(2 * n_samples * l2, lipschitz))
    return 1.0 / lipschitz


def fit_sag(problem, W, b, saga=False):
    """Minimise ``problem`` from ``W``, ``b`` in place by SAG, or SAGA when ``saga``
    (the only one of the two with L1 and elastic net); returns the epochs run.

    As scikit-learn's solvers: each epoch draws n_samples rows with replacement (the
    order is fixed by ``problem.random_state``); the fit stops after the first epoch
    whose largest weight change is at most ``tol`` times the largest weight (the
    intercept is not looked at), else after ``max_iter`` epochs with a
    ``ConvergenceWarning`` (also when the last epoch allowed converged, as in
    scikit-learn). Raises ``ValueError`` ("Floating-point under-/overflow occurred at
    epoch #N. ...") with ``W``, ``b`` restored when a weight, the intercept or the loss
    becomes inf or NaN, and scikit-learn's ``ZeroDivisionError`` when its step size
    would zero the weights' L2 scale (X all zeros without an intercept).
    ``problem.on_iteration(W, b, None)`` is called after every epoch; True stops the fit.
    """
    if problem.l1 != 0 and not saga:
        raise ValueError("solver='sag' supports only an L2 penalty; use 'saga'")
    n_samples = problem.n_samples
    if problem.max_iter == 0:
        return 0
    data = sag_ops.SagData(problem.X, problem.y_index, problem.n_outputs, problem.weights)
    # NOTE: the rows' weights are scaled to mean 1 (n / sum s), so the mean of the
    # weighted losses is the problem's data term and l1, l2 apply as they are;
    # scikit-learn's C sum s_i loss_i with alpha / n has the same minimiser.
    weight_scale = n_samples / problem.weight_sum
    l2 = problem.l2
    l1 = problem.l1 if saga else 0.0
    max_squared_sum = data.max_squared_row_norm()
    if not math.isfinite(max_squared_sum):  # a row's norm overflows: no step would do
        raise ValueError(_DIVERGED.format(epoch=1))
    step = auto_step_size(max_squared_sum, l2, problem.fit_intercept, n_samples, saga)
    if step * l2 == 1:
        raise ZeroDivisionError(_STEP_ALPHA)
    seed = check_random_state(problem.random_state).randint(np.iinfo(np.int32).max)
    state = sag_ops.SagState(data, seed)
    W_start, b_start = W.copy(), b.copy()
    on_iteration = problem.on_iteration
    # one epoch per call when something looks at every epoch, else all in one call
    chunk = 1 if (on_iteration is not None or problem.verbose) else problem.max_iter
    n_iter = 0
    while n_iter < problem.max_iter:
        epochs, outcome = sag_ops.sag_epochs(
            data, W, b, state, step=step, l2=l2, l1=l1, saga=saga,
            fit_intercept=problem.fit_intercept, tol=problem.tol,
            n_epochs=min(chunk, problem.max_iter - n_iter), weight_scale=weight_scale,
            intercept_decay=SPARSE_INTERCEPT_DECAY if data.sparse else 1.0,
        )
        n_iter += epochs
        if outcome == sag_ops.DIVERGED:
            W[...], b[...] = W_start, b_start
            raise ValueError(_DIVERGED.format(epoch=n_iter))
        if problem.verbose:
            print(f"{'SAGA' if saga else 'SAG'} epoch {n_iter}")
        if on_iteration is not None and on_iteration(W, b, None):
            return n_iter
        if outcome == sag_ops.CONVERGED:
            if problem.verbose:
                print(f"convergence after {n_iter} epochs")
            break
    if n_iter == problem.max_iter:
        warnings.warn(_NOT_CONVERGED, ConvergenceWarning, stacklevel=3)
    return n_iter
