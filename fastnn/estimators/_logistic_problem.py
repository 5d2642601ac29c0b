"""One logistic regression fit as every solver sees it: the data, the objective and the
stopping rules (``LogisticProblem``). The estimator builds it; each solver module
(``_logistic_solvers``, ``_logistic_newton``, ``_logistic_sag``, ``_logistic_cd``)
minimises it in place."""

import math

import numpy as np
import scipy.sparse as sp

# scikit-learn's pointer appended to every solver's ConvergenceWarning.
CONVERGENCE_HINT = (
    "Please also refer to the documentation for alternative solver options:\n"
    "    https://scikit-learn.org/stable/modules/linear_model.html"
    "#logistic-regression"
)


class LogisticProblem:
    """Minimise, over ``W`` (n_features, n_outputs) and ``b`` (n_outputs,)::

        f(W, b) = (1 / weight_sum) sum_i s_i loss_i + l1 ||W||_1 + (l2 / 2) ||W||^2

    ``loss_i`` is the log-loss of the logits ``x_i W + b``: the sigmoid neuron when
    ``n_outputs == 1`` (``y_index`` in {0, 1}), softmax over ``n_outputs >= 3`` classes
    otherwise (``y_index`` in [0, n_outputs)). ``s_i`` is ``weights[i]`` (sample weight
    times class weight; all ones when ``weights`` is None) and ``weight_sum`` their
    sum. ``b`` is not penalised and stays 0 unless ``fit_intercept``.

    ``l1 = l1_ratio / (C weight_sum)`` and ``l2 = (1 - l1_ratio) / (C weight_sum)``
    (both 0 when ``C`` is inf): ``f`` is scikit-learn's objective
    ``C sum_i s_i loss_i + l1_ratio ||W||_1 + (1 - l1_ratio) / 2 ||W||^2`` divided by
    ``C weight_sum``, so its minimiser is scikit-learn's and its gradient is O(1)
    whatever the number of samples (``tol`` means the same on any data size).

    ``X`` is a C-contiguous float32/float64 ndarray or a CSR matrix of that dtype (never
    copied by the estimator); ``weights`` has X's dtype. Solvers update ``W``, ``b`` (X's
    dtype, C-contiguous, holding the starting point: zeros or a warm start) in place and
    return the number of iterations they ran.
    """

    def __init__(self, X, y_index, weights, weight_sum, n_outputs, *, fit_intercept=True,
                 C=1.0, l1_ratio=0.0, tol=1e-4, max_iter=100, verbose=0,
                 random_state=None, on_iteration=None):
        self.X = X
        self.y_index = np.ascontiguousarray(y_index, dtype=np.intp)
        self.weights = weights
        self.weight_sum = float(weight_sum)
        self.n_outputs = int(n_outputs)
        self.fit_intercept = bool(fit_intercept)
        self.C = float(C)
        self.l1_ratio = float(l1_ratio)
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        self.verbose = verbose
        self.random_state = random_state
        # on_iteration(W, b, loss) -> bool: called by every solver after each of its
        # iterations (an epoch for SAG and SGD) with the current weights and the
        # objective there (None where the solver does not compute it); True asks the
        # solver to stop (scikit-learn's callbacks).
        self.on_iteration = on_iteration

    @property
    def sparse(self):
        return sp.issparse(self.X)

    @property
    def dtype(self):
        return self.X.dtype

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def n_features(self):
        return self.X.shape[1]

    @property
    def penalised(self):
        return not math.isinf(self.C)

    @property
    def l1(self):
        """The L1 strength of ``f``."""
        return self.l1_ratio / (self.C * self.weight_sum) if self.penalised else 0.0

    @property
    def l2(self):
        """The L2 strength of ``f``."""
        if not self.penalised:
            return 0.0
        return (1.0 - self.l1_ratio) / (self.C * self.weight_sum)

    def objective(self, W, b):
        """``f(W, b)`` in float64 with NumPy: the reference every solver is tested
        against (not used while fitting)."""
        W = np.asarray(W, np.float64).reshape(self.n_features, self.n_outputs)
        b = np.asarray(b, np.float64).reshape(self.n_outputs)
        Z = np.asarray(self.X @ W) + (b if self.fit_intercept else 0.0)
        Z = np.asarray(Z, np.float64)
        if self.n_outputs == 1:
            z = Z[:, 0]
            # NOTE: log(1 + exp(z)) - y z, with logaddexp for any finite z.
            losses = np.logaddexp(0.0, z) - (self.y_index == 1) * z
        else:
            top = Z.max(axis=1, keepdims=True)
            log_norm = top[:, 0] + np.log(np.exp(Z - top).sum(axis=1))
            losses = log_norm - Z[np.arange(self.n_samples), self.y_index]
        s = np.ones(self.n_samples) if self.weights is None else self.weights
        data = float(np.dot(s.astype(np.float64), losses)) / self.weight_sum
        return data + self.l1 * float(np.abs(W).sum()) + 0.5 * self.l2 * float(
            (W * W).sum()
        )
