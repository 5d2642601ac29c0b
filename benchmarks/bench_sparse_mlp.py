"""fastnn's MLPClassifier against scikit-learn's on text-sized CSR input (issue 21):
wall time of a fit and its peak memory, X never densified.

    cd <repo> && PYTHONPATH=. python benchmarks/bench_sparse_mlp.py [--rounds N]
        [--repeats N] [--dtype float32|float64|both] [--rows N] [--features N]
        [--nnz N] [--solver adam|sgd|lbfgs] [--max-iter N]

The data: a CSR X of --rows x --features (default 10000 x 50000) with --nnz stored
entries (default 1,000,000; columns drawn Zipf-like, as words are; values as TF-IDF,
each row scaled to unit norm) and 10 classes from a random linear model of X, so that
the fit learns something. Both contenders fit
``MLPClassifier((64,), max_iter=2, random_state=0)`` (the default adam solver, batch
200; tol and n_iter_no_change as scikit-learn's defaults; --solver and --max-iter
change them), float32 or float64 X.

Each contender runs in its own child process (no thread pool spinning into the next,
and its own peak memory); the contenders alternate for --rounds rounds, each child
making the data, then one warm-up fit and --repeats timed fits, each estimator let go
before the next fit. Seconds: the median (min-max) over all timed fits. Peak memory:
the child's VmHWM (median over rounds), and beyond what the process held once X was
made (a fit's own, with the fitted estimator it returns). Thread pools: the
machine's default for both (BENCHMARKING.md: 2 cores). Target: fastnn >= 2x
scikit-learn's speed at <= 1.2x its peak memory.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
from _machine import foreign_cpu_seconds, peak_rss_mb

CONTENDERS = ("fastnn", "sklearn")
SPEED_TARGET, MEMORY_TARGET = 2.0, 1.2


def make_data(n_rows, n_features, nnz, dtype, seed=0):
    """(X CSR, y): TF-IDF-like rows with about ``nnz`` stored entries, 10 classes."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    # NOTE: Zipf-like column frequencies, as a vocabulary's; duplicates are summed.
    weights = 1.0 / np.arange(1, n_features + 1) ** 0.8
    columns = rng.choice(n_features, size=nnz, p=weights / weights.sum())
    rows = np.sort(rng.integers(0, n_rows, size=nnz))
    X = sp.csr_matrix((rng.random(nnz).astype(dtype) + 0.1, (rows, columns)),
                      shape=(n_rows, n_features), dtype=dtype)
    X.sum_duplicates()
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.csr_matrix(sp.diags(1 / np.maximum(norms, 1e-12)).astype(dtype) @ X)
    V = rng.normal(size=(n_features, 10))
    y = np.asarray(X @ V).argmax(axis=1)
    return X, y


def worker(who, args):
    """One contender in this process: prints a JSON line of its figures."""
    warnings.simplefilter("ignore")
    if who == "fastnn":
        from fastnn import MLPClassifier
    else:
        from sklearn.neural_network import MLPClassifier
    X, y = make_data(args.rows, args.features, args.nnz, np.dtype(args.dtype))
    held = peak_rss_mb()

    def fit():
        return MLPClassifier((64,), max_iter=args.max_iter, solver=args.solver,
                             random_state=0).fit(X, y)

    foreign = foreign_cpu_seconds()
    clf = fit()  # warm-up
    times = []
    for _ in range(args.repeats):
        clf = None  # the last fit's estimator is not part of this fit's memory
        start = time.perf_counter()
        clf = fit()
        times.append(time.perf_counter() - start)
    print(json.dumps({
        "times": times, "peak_mb": peak_rss_mb(), "data_mb": held,
        "loss": float(clf.loss_), "accuracy": float(clf.score(X, y)),
        "coef_dtype": str(clf.coefs_[0].dtype),
        "foreign_cpus": (foreign_cpu_seconds() - foreign) / max(sum(times), 1e-9),
    }))


def run_child(who, args, dtype):
    command = [sys.executable, __file__, "--child", who, "--dtype", dtype,
               "--repeats", str(args.repeats), "--rows", str(args.rows),
               "--features", str(args.features), "--nnz", str(args.nnz),
               "--solver", args.solver, "--max-iter", str(args.max_iter)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{who} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _span(values):
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def table(runs, dtype, args):
    """The markdown table of one dtype's runs: ratios first."""
    times = {who: [t for run in runs[who] for t in run["times"]] for who in CONTENDERS}
    peak = {who: statistics.median(run["peak_mb"] for run in runs[who])
            for who in CONTENDERS}
    beyond = {who: statistics.median(run["peak_mb"] - run["data_mb"]
                                     for run in runs[who]) for who in CONTENDERS}
    speed = statistics.median(times["sklearn"]) / statistics.median(times["fastnn"])
    memory = peak["fastnn"] / peak["sklearn"]
    print(f"\n### {dtype} CSR {args.rows} x {args.features}, "
          f"{args.nnz:,} entries drawn, solver={args.solver}, "
          f"max_iter={args.max_iter}\n")
    print(f"speed-up {speed:.2f}x (target >= {SPEED_TARGET}x), peak memory "
          f"{memory:.2f}x scikit-learn's (target <= {MEMORY_TARGET}x)\n")
    print("| contender | seconds, median (min-max) | peak MB | MB beyond X | "
          "final loss | train accuracy | coefs dtype |")
    print("|---|---|---|---|---|---|---|")
    for who in CONTENDERS:
        last = runs[who][-1]
        print(f"| {who} | {_span(times[who])} | {peak[who]:.0f} | {beyond[who]:.0f} | "
              f"{last['loss']:.4f} | {last['accuracy']:.3f} | {last['coef_dtype']} |")
    foreign = max(run["foreign_cpus"] for who in CONTENDERS for run in runs[who])
    print(f"\n(other processes took up to {foreign:.2f} CPUs during a fit)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=CONTENDERS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--dtype", default="both")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--features", type=int, default=50_000)
    parser.add_argument("--nnz", type=int, default=1_000_000)
    parser.add_argument("--solver", default="adam", choices=("adam", "sgd", "lbfgs"))
    parser.add_argument("--max-iter", type=int, default=2)
    args = parser.parse_args()
    if args.child:
        return worker(args.child, args)
    dtypes = ("float32", "float64") if args.dtype == "both" else (args.dtype,)
    for dtype in dtypes:
        runs = {who: [] for who in CONTENDERS}
        for _ in range(args.rounds):
            for who in CONTENDERS:
                runs[who].append(run_child(who, args, dtype))
        table(runs, dtype, args)
    return None


if __name__ == "__main__":
    main()
