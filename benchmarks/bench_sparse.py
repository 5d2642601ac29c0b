"""fastnn on text-sized sparse data (issue 21) against scikit-learn, X never dense.

    cd <repo> && PYTHONPATH=. python benchmarks/bench_sparse.py [--quick] [--only CASE]
        [--threads N]

One table per case, ratios first (> 1 means faster than the reference), the quality of
each fit and the peak memory of its process beside its speed:
  logistic  LogisticRegression, multinomial, 50000x20000 CSR at 0.2 % (2M stored
            values, float64, int32 indices), 10 classes from a planted linear model,
            C=1: scikit-learn's lbfgs (the reference) against fastnn's lbfgs and
            newton-cg. Target: fastnn >= 3x scikit-learn's lbfgs at its log-loss
            (the objective no worse than 1e-6 relative).
A case is an entry of CASES (its data, its contenders, its target) and a ``fit_<case>``
function the child runs. The MLP of issue 21 has its own script, bench_sparse_mlp.py.

Every contender gets the same arrays (made once, fixed seeds, passed as files) and
runs in its own child process, one after another: a warm-up fit, then the median of
the timed fits. ``--threads N`` sets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS for every
child (default: the libraries' own, all cores). The peak is the child's maximum
resident set (data loading included; the data alone is shown as the baseline row).
The objective of every fit is computed by one NumPy function in the parent:
``C sum_i loss_i + ||W||^2 / 2``.
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

from _machine import foreign_cpu_seconds, peak_rss_mb

SEED, REST = 0, 0.3
MODES = {"full": dict(repeats=3, logistic=(50_000, 20_000, 0.002, 10)),
         "quick": dict(repeats=2, logistic=(10_000, 5_000, 0.004, 10))}
# case -> ([(label, library, parameters)], reference label, target ratio)
CASES = {
    "logistic": ([
        ("scikit-learn lbfgs", "sklearn", dict(solver="lbfgs")),
        ("fastnn lbfgs", "fastnn", dict(solver="lbfgs")),
        ("fastnn newton-cg", "fastnn", dict(solver="newton-cg")),
    ], "scikit-learn lbfgs", 3.0),
}


def make_data(case, mode, folder):
    n, d, density, k = mode[case]
    rng = np.random.default_rng(SEED)
    X = sp.random(n, d, density=density, format="csr", random_state=SEED,
                  dtype=np.float64)
    truth = rng.normal(0, 3, (d, k))
    y = np.argmax(X @ truth + rng.gumbel(size=(n, k)), axis=1)
    sp.save_npz(Path(folder) / "X.npz", X)
    np.save(Path(folder) / "y.npy", y)


def load(folder):
    folder = Path(folder)
    return sp.load_npz(folder / "X.npz").tocsr(), np.load(folder / "y.npy")


def objective(X, y, coef, intercept, C=1.0):
    """scikit-learn's L2 multinomial objective in float64, for every contender."""
    Z = np.asarray(X @ np.asarray(coef, np.float64).T) + intercept
    top = Z.max(axis=1, keepdims=True)
    losses = top[:, 0] + np.log(np.exp(Z - top).sum(axis=1)) - Z[np.arange(len(y)), y]
    return float(C * losses.sum() + 0.5 * (np.asarray(coef, np.float64) ** 2).sum())


def fit_logistic(library, params, X, y, folder):
    if library == "fastnn":
        from fastnn import LogisticRegression
    else:
        from sklearn.linear_model import LogisticRegression
    model = LogisticRegression(**params)
    start = time.perf_counter()
    model.fit(X, y)
    elapsed = time.perf_counter() - start
    np.save(Path(folder) / "coef.npy", model.coef_)
    np.save(Path(folder) / "intercept.npy", model.intercept_)
    return elapsed, int(np.max(model.n_iter_))


def child(case, label, folder, repeats):
    """Runs in its own process: a warm-up fit, then ``repeats`` timed fits."""
    X, y = load(folder)
    if label == "data":
        print(json.dumps({"peak_mb": peak_rss_mb()}))
        return
    contenders, _, _ = CASES[case]
    library, params = next((lib, p) for name, lib, p in contenders if name == label)
    warnings.simplefilter("ignore")
    fit = globals()[f"fit_{case}"]
    runs = [fit(library, params, X, y, folder) for _ in range(repeats + 1)]
    print(json.dumps({"times": [t for t, _ in runs[1:]], "n_iter": runs[-1][1],
                      "peak_mb": peak_rss_mb()}))


def run_case(case, mode, threads):
    contenders, _, _ = CASES[case]
    env = dict(os.environ)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        make_data(case, mode, folder)
        X, y = load(folder)

        def run(label):
            out = subprocess.run(
                [sys.executable, __file__, "--child", case, label, folder,
                 str(mode["repeats"])], capture_output=True, text=True, check=True,
                env=env)
            return json.loads(out.stdout.strip().splitlines()[-1])

        results["data"] = run("data")
        for label, _, _ in contenders:
            time.sleep(REST)
            result = run(label)
            coef = np.load(Path(folder) / "coef.npy")
            intercept = np.load(Path(folder) / "intercept.npy")
            result["objective"] = objective(X, y, coef, intercept)
            results[label] = result
    return results


def report(case, results, mode, threads, foreign):
    contenders, reference, target = CASES[case]
    base = results.pop("data")["peak_mb"]
    median = {label: float(np.median(r["times"])) for label, r in results.items()}
    best = min((label for label in results if label.startswith("fastnn")),
               key=median.get)
    n, d, density, k = mode[case]
    print(f"\n## {case}: {n}x{d} CSR at {density:.1%}, {k} classes, float64; "
          f"{threads or 'default'} threads; the data alone peaks at {base:.0f} MB")
    print(f"| contender | x faster than {reference} | median s (min-max) | "
          "iterations | objective | peak MB (x reference) |")
    print("|---|---|---|---|---|---|")
    for label, r in results.items():
        times = r["times"]
        print(f"| {label} | {median[reference] / median[label]:.2f} | "
              f"{median[label]:.3f} ({min(times):.3f}-{max(times):.3f}) | "
              f"{r['n_iter']} | {r['objective']:.10g} | {r['peak_mb']:.0f} "
              f"({r['peak_mb'] / results[reference]['peak_mb']:.2f}) |")
    ratio = median[reference] / median[best]
    gap = (results[best]["objective"] - results[reference]["objective"]) / abs(
        results[reference]["objective"])
    verdict = "PASS" if ratio >= target and gap <= 1e-6 else "MISS"
    print(f"\ntarget: {best} >= {target}x {reference} ({ratio:.2f}x) at an objective "
          f"no worse than 1e-6 relative ({gap:+.2e}): {verdict}; other processes "
          f"took {foreign:.1f} CPU s meanwhile")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=sorted(CASES))
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        case, label, folder, repeats = args.child
        return child(case, label, folder, int(repeats))
    mode = MODES["quick" if args.quick else "full"]
    print(f"# fastnn on sparse data, {os.cpu_count()} cores, "
          f"{time.strftime('%Y-%m-%d')}; median of {mode['repeats']} fits after a "
          "warm-up, each contender in its own process")
    for case in [args.only] if args.only else CASES:
        before = foreign_cpu_seconds()
        results = run_case(case, mode, args.threads)
        report(case, results, mode, args.threads, foreign_cpu_seconds() - before)
    return None


if __name__ == "__main__":
    sys.exit(main())
