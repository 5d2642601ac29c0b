"""fastnn's L1 / elastic-net solver (fit_cd, proximal Newton coordinate descent) against
scikit-learn's liblinear (speed: it penalises its intercept, so its objective differs)
and saga at tight tol (the objective to reach). Median of repeats after a warm-up,
same data and dtype in one run; objectives are the problem's own (f, scaled). saga's
reference fit is on float64 X (at float32 it does not reach tol=1e-10)."""

import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
from _machine import timed
from sklearn.linear_model import LogisticRegression

from fastnn.estimators._logistic_cd import fit_cd
from fastnn.estimators._logistic_problem import LogisticProblem


def sparse_case(n=20000, d=2000, density=0.01, seed=0, dense=False, k=1,
                dtype=np.float64):
    X = sp.random(n, d, density=density, random_state=seed, format="csr", dtype=dtype)
    if dense:
        X = np.ascontiguousarray(X.toarray())
    rng = np.random.default_rng(seed)
    w = np.zeros((d, k))
    support = rng.choice(d, 50, replace=False)
    w[support] = rng.normal(size=(50, k)) * 10
    z = np.asarray(X @ w) + 0.5 * rng.normal(size=(n, k))
    if k == 1:
        y = (z[:, 0] > np.median(z[:, 0])).astype(int)
    else:
        y = z.argmax(axis=1)
    return X, y


def case(name, X, y, C, l1_ratio, repeats=5, liblinear=True):
    k = 1 if len(np.unique(y)) == 2 else len(np.unique(y))

    def problem(tol, max_iter=100):
        return LogisticProblem(X, y, None, X.shape[0], k, C=C, l1_ratio=l1_ratio,
                               tol=tol, max_iter=max_iter)

    def ours(tol=1e-4):
        pr = problem(tol)
        W = np.zeros((X.shape[1], k), X.dtype)
        b = np.zeros(k, X.dtype)
        return fit_cd(pr, W, b), pr, W, b

    reference = problem(1e-4)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saga = LogisticRegression(solver="saga", C=C, l1_ratio=l1_ratio, tol=1e-10,
                                  max_iter=20000).fit(X.astype(np.float64), y)
    t_saga = time.perf_counter() - start
    f_saga = reference.objective(saga.coef_.T, saga.intercept_)
    rows = [("sklearn saga tol=1e-10 (1 run)", t_saga, f_saga, saga.n_iter_[0])]
    for tol in (1e-4, 1e-10):
        t, (n_iter, pr, W, b) = timed(lambda tol=tol: ours(tol), repeats)
        rows.append((f"fastnn cd tol={tol:g}", t, pr.objective(W, b), n_iter))
    if liblinear:
        def lib():
            return LogisticRegression(solver="liblinear", l1_ratio=1.0, C=C).fit(X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, model = timed(lib, repeats)
        f = reference.objective(model.coef_.T, model.intercept_)
        rows.append(("sklearn liblinear", t, f, model.n_iter_[0]))
    print(f"\n{name}: X {X.shape} {'CSR' if sp.issparse(X) else 'dense'} {X.dtype}, "
          f"C={C}, l1_ratio={l1_ratio}; saga tol=1e-10 objective {f_saga:.12g}")
    base = rows[-1][1] if liblinear else None
    print(f"{'solver':30s} {'seconds':>9s} {'liblinear/x':>11s} {'objective':>18s} "
          f"{'rel. to saga':>12s} {'n_iter':>6s}")
    for label, t, f, n_iter in rows:
        ratio = f"{base / t:11.2f}" if base else f"{'':11s}"
        print(f"{label:30s} {t:9.4f} {ratio} {f:18.12g} {(f - f_saga) / f_saga:12.2e} "
              f"{int(n_iter):6d}")


if __name__ == "__main__":
    which = sys.argv[1:] or ["target", "target32", "dense", "enet", "multinomial"]
    if "target" in which:
        case("L1 target", *sparse_case(), C=0.5, l1_ratio=1.0)
    if "target32" in which:
        case("L1 target float32", *sparse_case(dtype=np.float32), C=0.5, l1_ratio=1.0)
    if "dense" in which:
        case("L1 dense", *sparse_case(2000, 500, density=1.0, dense=True), C=0.5,
             l1_ratio=1.0)
    if "enet" in which:
        case("elastic net", *sparse_case(), C=0.5, l1_ratio=0.5, liblinear=False)
    if "multinomial" in which:
        case("L1 multinomial", *sparse_case(5000, 500, density=0.05, k=3), C=0.5,
             l1_ratio=1.0, liblinear=False)
