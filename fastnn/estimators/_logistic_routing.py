"""Which solver minimises a LogisticProblem: the user's ``solver``, routed where fastnn
has a faster method for the same minimiser (documented in LogisticRegression's
docstring), and scikit-learn's liblinear objective built on the problem."""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from fastnn.estimators._logistic_cd import fit_cd
from fastnn.estimators._logistic_newton import fit_newton_cg, fit_newton_cholesky
from fastnn.estimators._logistic_problem import LogisticProblem
from fastnn.estimators._logistic_sag import fit_sag
from fastnn.estimators._logistic_solvers import fit_lbfgs, fit_sgd
from fastnn.ops.checks import check_csr


def solve(estimator, problem, W, b):
    """Minimise ``problem`` from ``W``, ``b`` in place with the solver
    ``estimator.solver`` routes it to; returns its iteration count."""
    solver = estimator.solver
    if solver == "lbfgs":
        return fit_lbfgs(problem, W, b)
    if solver == "sgd":
        return fit_sgd(estimator, problem, W, b, epochs=problem.max_iter, first=0,
                       stop_early=True)
    if solver == "liblinear":
        if problem.max_iter == 0:  # liblinear's: no iteration, the zeros it starts at
            return 0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            n_iter = _fit_liblinear(problem, W, b, estimator.intercept_scaling)
        for warning in caught:  # re-raised: scikit-learn's liblinear wording
            if issubclass(warning.category, ConvergenceWarning):
                warnings.warn("Liblinear failed to converge, increase the number of "
                              "iterations.", ConvergenceWarning, stacklevel=3)
            else:
                warnings.warn_explicit(warning.message, warning.category,
                                       warning.filename, warning.lineno)
        return n_iter
    if solver == "newton-cholesky":
        return fit_newton_cholesky(problem, W, b)
    if solver == "newton-cg":
        return fit_newton_cg(problem, W, b)
    if solver == "sag":
        return fit_sag(problem, W, b)
    if solver == "saga":
        return _fit_l1(problem, W, b) if problem.l1 else fit_sag(problem, W, b, saga=True)
    raise ValueError(f"unknown solver {solver!r}")  # (_parameter_constraints refused it)


def _fit_l1(problem, W, b):
    """A problem with an L1 part: proximal Newton coordinate descent (the method of
    liblinear's and glmnet's L1 solvers), many times faster than SAGA's epochs to the
    same minimiser."""
    return fit_cd(problem, W, b)


def _csr_with_column(X, value):
    """``[X, value]`` for a CSR X, as a new CSR matrix whose rows end with the
    constant column's entry; X is checked first and never written."""
    # NOTE: not sp.hstack: it canonicalises X in place (sums duplicates, sorts rows)
    # and would make a column index past X's last column the new column's.
    data, indices, indptr = check_csr(X)
    n_samples, n_features = X.shape
    stored = int(indptr[-1])
    index = indices.dtype if stored + n_samples < 2**31 else np.dtype(np.int64)
    new_indptr = indptr.astype(index) + np.arange(n_samples + 1, dtype=index)
    last = new_indptr[1:] - 1
    kept = np.ones(stored + n_samples, bool)
    kept[last] = False
    new_data = np.empty(stored + n_samples, X.dtype)
    new_data[kept], new_data[last] = data[:stored], value
    new_indices = np.empty(stored + n_samples, index)
    new_indices[kept], new_indices[last] = indices[:stored], n_features
    return sp.csr_matrix(
        (new_data, new_indices, new_indptr), shape=(n_samples, n_features + 1)
    )


def _fit_liblinear(problem, W, b, intercept_scaling):
    """scikit-learn's liblinear objective: two classes, the intercept the weight of a
    constant feature ``intercept_scaling`` penalised like the others. Fitted on
    ``[X, intercept_scaling]`` (a copy of X with that column, as liblinear makes its
    own copy): by the L1 solver for an L1 penalty, by L-BFGS for L2."""
    if not problem.fit_intercept:
        return _fit_l1(problem, W, b) if problem.l1 else fit_lbfgs(problem, W, b)
    X = problem.X
    if sp.issparse(X):
        X_ones = _csr_with_column(X, intercept_scaling)
    else:
        X_ones = np.hstack([X, np.full((X.shape[0], 1), intercept_scaling, X.dtype)])
    augmented = LogisticProblem(
        X_ones, problem.y_index, problem.weights, problem.weight_sum, 1,
        fit_intercept=False, C=problem.C, l1_ratio=problem.l1_ratio, tol=problem.tol,
        max_iter=problem.max_iter, verbose=problem.verbose,
        random_state=problem.random_state,
    )
    W_ones = np.concatenate([W, b.reshape(1, 1) / intercept_scaling]).astype(W.dtype)
    if problem.on_iteration is not None:

        def on_iteration(W_ones, _, loss):  # the caller's W, b from [X, 1]'s weights
            W[:] = W_ones[:-1]
            b[:] = intercept_scaling * W_ones[-1]
            return problem.on_iteration(W, b, loss)

        augmented.on_iteration = on_iteration
    zero = np.zeros(1, W.dtype)
    n_iter = (_fit_l1(augmented, W_ones, zero) if problem.l1
              else fit_lbfgs(augmented, W_ones, zero))
    W[:] = W_ones[:-1]
    b[:] = intercept_scaling * W_ones[-1]
    return n_iter
