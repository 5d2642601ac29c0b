"""fastnn's MLPClassifier against scikit-learn's, on digits: seconds per epoch and the
one-row predict_proba, with held-out accuracy and final loss beside them.

    cd <repo> && PYTHONPATH=. python benchmarks/bench_mlp.py [--rounds N] [--epochs N]
        [--dtype float64|float32]

Digits scaled by 1/16, 1437 training rows (train_test_split test_size=0.2,
random_state=0), hidden (100,) relu, solver='sgd', momentum 0.9 (Nesterov, the
default), learning_rate_init 0.01, batch_size 32, alpha 1e-4, shuffle, random_state 0,
tol=0 so no run stops early. Also the bare fastnn.Sequential with the same layers and
optimizer (no L2, no scikit-learn bookkeeping): the estimator's overhead is the gap.

Each contender runs in its own child process (so no thread pool keeps spinning into
the next contender), the contenders alternate for --rounds rounds, and each child
times one warm-up fit and then --repeats fits of --epochs epochs. Seconds per epoch:
median (min-max) over all rounds. One thread pool setting for all: whatever the
machine gives (BENCHMARKING.md: 2 cores).
"""

import argparse
import json
import subprocess
import sys
import time
import warnings

import numpy as np

CONTENDERS = ("fastnn", "sklearn", "sequential")


def data(dtype):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        (X / 16.0).astype(dtype), y, test_size=0.2, random_state=0
    )
    return X_train, X_test, y_train, y_test


PARAMS = dict(hidden_layer_sizes=(100,), solver="sgd", momentum=0.9,
              learning_rate_init=0.01, batch_size=32, random_state=0, tol=0.0,
              n_iter_no_change=10**9)


def worker(who, epochs, repeats, dtype):
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    X_train, X_test, y_train, y_test = data(dtype)
    if who == "sequential":
        from fastnn import Sequential
        from fastnn.layers import Dense
        from fastnn.optimizers import SGD

        def fit(n_epochs):
            model = Sequential([Dense(100, "relu", input_dim=64), Dense(10, "softmax")],
                               seed=0)
            model.compile(SGD(0.01, momentum=0.9, nesterov=True),
                          "sparse_categorical_crossentropy")
            history = model.fit(X_train, y_train, batch_size=32, epochs=n_epochs,
                                verbose=0)
            accuracy = float((model.predict(X_test).argmax(1) == y_test).mean())
            return history.history["loss"][-1], accuracy, None
    else:
        if who == "fastnn":
            from fastnn.estimators._mlp import MLPClassifier
        else:
            from sklearn.neural_network import MLPClassifier

        def fit(n_epochs):
            clf = MLPClassifier(max_iter=n_epochs, **PARAMS).fit(X_train, y_train)
            return clf.loss_, clf.score(X_test, y_test), clf

    fit(2)  # warm-up: imports, first allocations, BLAS start
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        loss, accuracy, clf = fit(epochs)
        seconds.append((time.perf_counter() - started) / epochs)
    one_row = None
    if clf is not None:
        row = np.ascontiguousarray(X_test[:1])
        clf.predict_proba(row)
        n = 2000
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(n):
                clf.predict_proba(row)
            timings.append((time.perf_counter() - started) / n)
        one_row = float(np.median(timings))
    return dict(seconds=seconds, loss=float(loss), accuracy=float(accuracy),
                one_row=one_row)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--worker", choices=CONTENDERS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.epochs, args.repeats, args.dtype)))
        return
    results = {who: [] for who in CONTENDERS}
    for _ in range(args.rounds):
        for who in CONTENDERS:
            out = subprocess.run(
                [sys.executable, __file__, "--worker", who, "--epochs", str(args.epochs),
                 "--repeats", str(args.repeats), "--dtype", args.dtype],
                capture_output=True, text=True, check=True,
            ).stdout
            results[who].append(json.loads(out))
            time.sleep(0.3)
    stats = {}
    for who, runs in results.items():
        seconds = [s for run in runs for s in run["seconds"]]
        rows = [run["one_row"] for run in runs if run["one_row"] is not None]
        stats[who] = dict(median=float(np.median(seconds)), low=min(seconds),
                          high=max(seconds), loss=runs[-1]["loss"],
                          accuracy=runs[-1]["accuracy"],
                          one_row=float(np.median(rows)) if rows else None)
    sk = stats["sklearn"]
    print(f"digits 1437x64 -> 100 relu -> 10, {args.dtype}, sgd momentum 0.9 nesterov, "
          f"lr 0.01, batch 32, {args.epochs} epochs per fit, "
          f"{args.rounds}x{args.repeats} fits")
    print(f"{'contender':<22}{'x sklearn':>10}{'ms/epoch (min-max)':>26}"
          f"{'final loss':>12}{'test acc':>10}{'predict_proba 1 row':>22}")
    for who, label in (("fastnn", "fastnn MLPClassifier"), ("sklearn", "sklearn MLPClassifier"),
                       ("sequential", "fastnn Sequential.fit")):
        s = stats[who]
        row = "" if s["one_row"] is None else f"{s['one_row'] * 1e6:.1f} us " + (
            f"({sk['one_row'] / s['one_row']:.1f}x)" if who != "sklearn" else ""
        )
        print(f"{label:<22}{sk['median'] / s['median']:>9.2f}x"
              f"{s['median'] * 1e3:>10.2f} ({s['low'] * 1e3:.2f}-{s['high'] * 1e3:.2f})"
              f"{'':>3}{s['loss']:>12.4f}{s['accuracy']:>10.4f}{row:>22}")
    overhead = stats["fastnn"]["median"] / stats["sequential"]["median"] - 1
    print(f"estimator overhead over the bare Sequential: {overhead * 100:+.0f}% per epoch")
    print(f"target >= 10x scikit-learn per epoch: "
          f"{'PASS' if sk['median'] / stats['fastnn']['median'] >= 10 else 'MISS'}; "
          f"predict_proba of one row <= 15 us: "
          f"{'PASS' if stats['fastnn']['one_row'] <= 15e-6 else 'MISS'}")


if __name__ == "__main__":
    main()
