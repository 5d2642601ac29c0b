"""fastnn's sag/saga (fit_sag on a LogisticProblem) against scikit-learn's, same data,
same dtype, same run: median wall time of REPEATS fits after a warm-up, the ratio
(scikit-learn / fastnn) first, and each fit's objective (the problem's scaled one)."""

import sys
import warnings

import numpy as np
import scipy.sparse as sp
from _machine import timed
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from fastnn.estimators._logistic_problem import LogisticProblem
from fastnn.estimators._logistic_sag import fit_sag

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 3


def problems():
    rng = np.random.RandomState(0)
    X = sp.random(20000, 2000, density=0.01, format="csr", random_state=rng)
    y = (X @ rng.randn(2000) + 0.1 * rng.randn(20000) > 0).astype(int)
    yield "CSR 20000x2000 1% binary, saga C=0.5 l1_ratio=1", X, y, "saga", 0.5, 1.0
    yield "CSR 20000x2000 1% binary, saga C=0.5 l1_ratio=0.5", X, y, "saga", 0.5, 0.5
    yield "CSR 20000x2000 1% binary, sag C=0.5", X, y, "sag", 0.5, 0.0
    X = rng.randn(20000, 100)
    y = (X @ rng.randn(100) + rng.randn(20000) > 0).astype(int)
    yield "dense 20000x100 binary, sag C=1", X, y, "sag", 1.0, 0.0
    yield "dense 20000x100 binary, saga C=1", X, y, "saga", 1.0, 0.0
    yield "dense 20000x100 float32, sag C=1", X.astype(np.float32), y, "sag", 1.0, 0.0
    X = rng.randn(20000, 50)
    y = np.argmax(X @ rng.randn(50, 5) + rng.randn(20000, 5), axis=1)
    yield "dense 20000x50 5 classes, sag C=1", X, y, "sag", 1.0, 0.0
    yield "dense 20000x50 5 classes, saga C=0.1 l1_ratio=0.5", X, y, "saga", 0.1, 0.5


def main():
    warnings.simplefilter("ignore", ConvergenceWarning)
    tol, max_iter = 1e-4, 1000
    print(f"{'problem':<52} {'ratio':>6} {'fastnn s':>9} {'sklearn s':>9} "
          f"{'fastnn obj':>14} {'sklearn obj':>14} {'ep':>5} {'sk ep':>5}")
    for name, X, y, solver, C, l1_ratio in problems():
        classes, y_index = np.unique(y, return_inverse=True)
        k = 1 if len(classes) == 2 else len(classes)
        problem = LogisticProblem(
            X, y_index, None, X.shape[0], k, C=C, l1_ratio=l1_ratio, tol=tol,
            max_iter=max_iter, random_state=0,
        )

        def ours(X=X, k=k, problem=problem, solver=solver):
            W, b = np.zeros((X.shape[1], k), X.dtype), np.zeros(k, X.dtype)
            n_iter = fit_sag(problem, W, b, saga=solver == "saga")
            return problem.objective(W, b), n_iter

        def theirs(X=X, y=y, problem=problem, solver=solver, C=C, l1_ratio=l1_ratio):
            model = LogisticRegression(
                solver=solver, C=C, l1_ratio=l1_ratio, tol=tol, max_iter=max_iter,
                random_state=0,
            ).fit(X, y)
            return problem.objective(model.coef_.T, model.intercept_), model.n_iter_[0]

        t_ours, (f_ours, n_ours) = timed(ours, REPEATS)
        t_sk, (f_sk, n_sk) = timed(theirs, REPEATS)
        print(f"{name:<52} {t_sk / t_ours:6.2f} {t_ours:9.3f} {t_sk:9.3f} "
              f"{f_ours:14.10f} {f_sk:14.10f} {n_ours:5d} {n_sk:5d}", flush=True)


if __name__ == "__main__":
    main()
