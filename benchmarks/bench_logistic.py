"""fastnn's LogisticRegression solvers against scikit-learn's, on issue 15's targets.

    cd <repo> && PYTHONPATH=. python benchmarks/bench_logistic.py [--quick] [--only CASE]

Three cases, one table each, ratios first (> 1 means faster than the reference):
  binary       200000x100 float64, two classes, C=1 (scikit-learn's lbfgs and
               newton-cholesky; fastnn's lbfgs and newton-cholesky). Target: fastnn's
               fastest >= 3x scikit-learn's fastest, objective within 1e-6 relative.
  multinomial  100000x200 float32, ten classes, C=1, lbfgs. Target: >= 6x.
  l1           20000x2000 CSR 1 % dense, two classes, C=0.5, l1_ratio=1: fastnn's
               'saga' (which runs its proximal Newton solver) against scikit-learn's
               liblinear (speed; it penalises its intercept, so its objective differs)
               and saga (objective, at tol=1e-6). Target: at least liblinear's speed
               at an objective no worse than saga's by 1e-6 relative.
Every contender gets the same arrays (made once, fixed seeds, passed as files) and
runs in its own child process (OpenBLAS builds and OpenMP must not fight over the
2 cores), one after another: a warm-up fit, then the median of the timed fits. The
objective of every fit is computed by one NumPy function in the parent:
``C sum_i loss_i + l1_ratio ||W||_1 + (1 - l1_ratio) / 2 ||W||^2``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

SEED, REST = 0, 0.3
MODES = {"full": dict(repeats=3, binary=(200_000, 100), multinomial=(100_000, 200),
                      l1=(20_000, 2_000)),
         "quick": dict(repeats=2, binary=(20_000, 100), multinomial=(10_000, 200),
                       l1=(5_000, 1_000))}
# case -> (C, l1_ratio, [(label, library, parameters)], reference labels, target)
CASES = {
    "binary": (1.0, 0.0, [
        ("scikit-learn lbfgs", "sklearn", dict(solver="lbfgs")),
        ("scikit-learn newton-cholesky", "sklearn", dict(solver="newton-cholesky")),
        ("fastnn lbfgs", "fastnn", dict(solver="lbfgs")),
        ("fastnn newton-cholesky", "fastnn", dict(solver="newton-cholesky")),
    ], 3.0),
    "multinomial": (1.0, 0.0, [
        ("scikit-learn lbfgs", "sklearn", dict(solver="lbfgs")),
        ("fastnn lbfgs", "fastnn", dict(solver="lbfgs")),
    ], 6.0),
    "l1": (0.5, 1.0, [
        ("scikit-learn liblinear", "sklearn", dict(solver="liblinear", l1_ratio=1.0)),
        ("scikit-learn saga", "sklearn", dict(solver="saga", l1_ratio=1.0, tol=1e-6,
                                               max_iter=1000)),
        ("fastnn saga", "fastnn", dict(solver="saga", l1_ratio=1.0)),
    ], 1.0),
}


def make_data(case, mode, folder):
    from sklearn.datasets import make_classification

    n, d = mode[case]
    if case == "l1":
        rng = np.random.default_rng(SEED)
        X = sp.random(n, d, density=0.01, format="csr", random_state=SEED,
                      dtype=np.float64)
        truth = np.zeros(d)
        truth[rng.choice(d, d // 20, replace=False)] = rng.normal(0, 3, d // 20)
        z = X @ truth + rng.normal(0, 0.5, n)
        y = (z > np.median(z)).astype(np.int64)
        sp.save_npz(Path(folder) / "X.npz", X)
    else:
        k = 2 if case == "binary" else 10
        X, y = make_classification(n_samples=n, n_features=d, n_informative=d // 5,
                                   n_redundant=d // 10, n_classes=k, random_state=SEED)
        X = np.ascontiguousarray(X, np.float64 if k == 2 else np.float32)
        np.save(Path(folder) / "X.npy", X)
    np.save(Path(folder) / "y.npy", y)


def load(folder):
    folder = Path(folder)
    X = (sp.load_npz(folder / "X.npz").tocsr() if (folder / "X.npz").exists()
         else np.load(folder / "X.npy"))
    return X, np.load(folder / "y.npy")


def objective(X, y, coef, intercept, C, l1_ratio):
    """scikit-learn's objective in float64 (the one function for every contender)."""
    coef = np.asarray(coef, np.float64)
    Z = np.asarray(X @ coef.T, np.float64) + np.asarray(intercept, np.float64)
    if coef.shape[0] == 1:
        z = Z[:, 0]
        losses = np.logaddexp(0.0, z) - (y == 1) * z
    else:
        top = Z.max(axis=1, keepdims=True)
        losses = (top[:, 0] + np.log(np.exp(Z - top).sum(axis=1))
                  - Z[np.arange(len(y)), y])
    return float(C * losses.sum() + l1_ratio * np.abs(coef).sum()
                 + 0.5 * (1 - l1_ratio) * (coef ** 2).sum())


def child(case, label, folder, repeats):
    """Runs in its own process: a warm-up fit, then ``repeats`` timed fits."""
    C, l1_ratio, contenders, _ = CASES[case]
    library, params = next((lib, p) for name, lib, p in contenders if name == label)
    if library == "fastnn":
        from fastnn import LogisticRegression
    else:
        from sklearn.linear_model import LogisticRegression
    X, y = load(folder)
    params = dict(params)
    if library == "sklearn" and params.get("solver") == "liblinear":
        params = dict(params, penalty="l1")  # liblinear reads the penalty by name
        del params["l1_ratio"]
    warnings.simplefilter("ignore")
    times = []
    for _ in range(repeats + 1):
        model = LogisticRegression(C=C, **params)
        start = time.perf_counter()
        model.fit(X, y)
        times.append(time.perf_counter() - start)
    coef = model.coef_.toarray() if sp.issparse(model.coef_) else model.coef_
    np.save(Path(folder) / "coef.npy", coef)
    np.save(Path(folder) / "intercept.npy", model.intercept_)
    print(json.dumps({"times": times[1:], "n_iter": int(np.max(model.n_iter_))}))


def run_case(case, mode):
    C, l1_ratio, contenders, target = CASES[case]
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        make_data(case, mode, folder)
        X, y = load(folder)
        for label, _, _ in contenders:
            time.sleep(REST)
            out = subprocess.run(
                [sys.executable, __file__, "--child", case, label, folder,
                 str(mode["repeats"])], capture_output=True, text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            coef = np.load(Path(folder) / "coef.npy")
            intercept = np.load(Path(folder) / "intercept.npy")
            result["objective"] = objective(X, y, coef, intercept, C, l1_ratio)
            result["nonzero"] = int(np.count_nonzero(coef))
            results[label] = result
    return results


def report(case, results, mode):
    C, l1_ratio, contenders, target = CASES[case]
    median = {label: float(np.median(r["times"])) for label, r in results.items()}
    ours = [label for label in results if label.startswith("fastnn")]
    peers = [label for label in results if not label.startswith("fastnn")]
    if case == "l1":
        speed_peer, objective_peer = "scikit-learn liblinear", "scikit-learn saga"
    else:
        speed_peer = objective_peer = min(peers, key=median.get)
    best = min(ours, key=median.get)
    print(f"\n## {case}: {mode[case][0]}x{mode[case][1]}, C={C}, l1_ratio={l1_ratio}")
    print(f"| contender | x faster than {speed_peer} | median s (min-max) | "
          "iterations | objective | nonzero coef |")
    print("|---|---|---|---|---|---|")
    for label in results:
        times = results[label]["times"]
        print(f"| {label} | {median[speed_peer] / median[label]:.2f} | "
              f"{median[label]:.4f} ({min(times):.4f}-{max(times):.4f}) | "
              f"{results[label]['n_iter']} | {results[label]['objective']:.10g} | "
              f"{results[label]['nonzero']} |")
    ratio = median[speed_peer] / median[best]
    gap = (results[best]["objective"] - results[objective_peer]["objective"]) / abs(
        results[objective_peer]["objective"])
    verdict = "PASS" if ratio >= target and gap <= 1e-6 else "MISS"
    print(f"\ntarget: {best} >= {target}x {speed_peer} ({ratio:.2f}x) at an objective "
          f"within 1e-6 of {objective_peer} ({gap:+.2e} relative): {verdict}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=sorted(CASES))
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        case, label, folder, repeats = args.child
        return child(case, label, folder, int(repeats))
    mode = MODES["quick" if args.quick else "full"]
    print(f"# LogisticRegression solvers, {os.cpu_count()} cores, "
          f"{time.strftime('%Y-%m-%d')}; median of {mode['repeats']} fits after a "
          "warm-up, each contender in its own process")
    for case in [args.only] if args.only else CASES:
        report(case, run_case(case, mode), mode)
    return None


if __name__ == "__main__":
    sys.exit(main())
