"""Two models fitting in two threads against the same two fits one after the other.

fastnn's kernels release the GIL, so two models can train side by side: this measures
the speed-up instead of assuming it. Each case fits two models with different seeds
serially, then the same two in two threads started together; the weights of the
threaded fits are checked to equal the serial ones bit for bit. Times are medians
(min-max) over ``--repeats`` alternating rounds; speed-up = serial / threaded (the
ideal is min(2, cores)). Rows measured while the load average exceeded the core
count are marked BUSY. Each case runs with BLAS's default threads and with BLAS held
to one thread around both the serial and the threaded fits (two threads each asking
OpenBLAS's one pool for a multi-threaded GEMM queue on it; fastnn does not change the
count behind a fit's back, as the weights of a large GEMM depend on it).

    python benchmarks/bench_threads.py [--repeats 7] [--quick]
"""

import argparse
import os
import platform
import threading
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits

from fastnn import LogisticRegression, MLPClassifier, Sequential
from fastnn._threads import single_thread_blas
from fastnn.layers import Dense
from fastnn.optimizers import SGD


def _digits():
    X, y = load_digits(return_X_y=True)
    return np.ascontiguousarray(X / 16.0), y


def _sequential_fit(X, y, seed, epochs):
    model = Sequential([Dense(100, "relu", input_dim=X.shape[1]),
                        Dense(10, "softmax")], seed=seed)
    model.compile(SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy")
    model.fit(X, y, epochs=epochs, batch_size=32, verbose=0)
    return model.get_flat_weights()


def _wide_fit(X, y, seed, epochs):
    model = Sequential([Dense(256, "relu", input_dim=X.shape[1]),
                        Dense(10, "softmax")], seed=seed)
    model.compile(SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy")
    model.fit(X, y, epochs=epochs, batch_size=128, verbose=0)
    return model.get_flat_weights()


def _mlp_fit(X, y, seed, epochs):
    clf = MLPClassifier((100,), solver="sgd", learning_rate_init=0.1, batch_size=32,
                        max_iter=epochs, tol=0, random_state=seed)
    clf.fit(X, y)
    return np.concatenate([w.ravel() for w in clf.coefs_ + clf.intercepts_])


def _logistic_fit(X, y, seed, epochs):
    clf = LogisticRegression(solver="sgd", max_iter=epochs, random_state=seed, tol=0)
    clf.fit(X, y)
    return clf.coef_.ravel().copy()


CASES = {
    "Sequential digits 64-100-10 b32": (_sequential_fit, 10),
    "Sequential 6000x784-256-10 b128": (_wide_fit, 2),
    "MLPClassifier sgd digits b32": (_mlp_fit, 10),
    "LogisticRegression sgd 20k x 100": (_logistic_fit, 5),
}


def _data(name):
    if "784" in name:  # MNIST-shaped, synthetic
        rng = np.random.default_rng(0)
        X = rng.random((6000, 784)).astype(np.float32)
        return X, rng.integers(0, 10, 6000)
    if name.startswith("LogisticRegression"):
        rng = np.random.default_rng(0)
        X = rng.normal(size=(20_000, 100))
        return X, (X[:, :3].sum(axis=1) > 0).astype(int)
    return _digits()


def _serial(fit, X, y, epochs):
    started = time.perf_counter()
    weights = [fit(X, y, seed, epochs) for seed in (1, 2)]
    return time.perf_counter() - started, weights


def _threaded(fit, X, y, epochs):
    weights = [None, None]
    barrier = threading.Barrier(3)

    def run(index):
        barrier.wait()
        weights[index] = fit(X, y, index + 1, epochs)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, weights


def _busy():
    return os.getloadavg()[0] > (os.cpu_count() or 1)


def _summary(times):
    times = np.array(times) * 1e3
    return f"{np.median(times):8.1f} ms ({times.min():.0f}-{times.max():.0f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 repeats, fewer epochs")
    args = parser.parse_args()
    # NOTE: once, for the process: catch_warnings is not thread-safe (two threads
    # restoring the filters in the wrong order lose them).
    warnings.simplefilter("ignore")
    repeats = 3 if args.quick else args.repeats
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count())
    print(f"{platform.processor() or platform.machine()}, {cores} cores, "
          f"load average {os.getloadavg()[0]:.2f}; medians (min-max) of {repeats}")
    print(f"{'case':34s} {'BLAS':8s} {'2 fits serial':>26s} "
          f"{'2 fits in 2 threads':>26s}  speed-up  weights")
    for name, (fit, epochs) in CASES.items():
        if args.quick:
            epochs = max(1, epochs // 3)
        X, y = _data(name)
        for blas in ("default", "1 thread"):
            serial, threaded, same, busy = [], [], True, False
            fit(X, y, 0, 1)  # warm-up: imports, first binds
            for _ in range(repeats):
                busy |= _busy()
                if blas == "1 thread":
                    with single_thread_blas():
                        seconds, expected = _serial(fit, X, y, epochs)
                        serial.append(seconds)
                        seconds, got = _threaded(fit, X, y, epochs)
                else:
                    seconds, expected = _serial(fit, X, y, epochs)
                    serial.append(seconds)
                    seconds, got = _threaded(fit, X, y, epochs)
                threaded.append(seconds)
                same &= all(np.array_equal(a, b) for a, b in zip(expected, got))
            ratio = np.median(serial) / np.median(threaded)
            print(f"{name:34s} {blas:8s} {_summary(serial):>26s} "
                  f"{_summary(threaded):>26s}  {ratio:6.2f}x  {'equal' if same else 'DIFFER'}"
                  f"{'  BUSY' if busy else ''}")


if __name__ == "__main__":
    main()
