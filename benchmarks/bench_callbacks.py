"""What scikit-learn's callbacks cost a fit, fastnn's and scikit-learn's, same data,
same run: the median time of REPEATS fits (after a warm-up) with no callback, with
`fastnn train`'s progress bar (quiet: the callback without the drawing), and with a
ScoringMonitor scoring every iteration; each as a ratio to the same estimator's fit
without callbacks. scikit-learn's LogisticRegression (its lbfgs supports callbacks)
is the peer.

    python benchmarks/bench_callbacks.py [REPEATS]
"""

import statistics
import sys
import time
import warnings

from sklearn.callback import ScoringMonitor
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

from fastnn import LogisticRegression, MLPClassifier
from fastnn.cli.progress import IterationProgress, TrainingProgress

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def _median_seconds(make, X, y, callback):
    def fit():
        estimator = make()
        if callback is not None:
            estimator.set_callbacks(callback())
        start = time.perf_counter()
        estimator.fit(X, y)
        return time.perf_counter() - start

    fit()  # warm-up
    return statistics.median(fit() for _ in range(REPEATS))


def cases():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    yield ("fastnn MLPClassifier digits 64-100-10 adam, 60 epochs",
           lambda: MLPClassifier(max_iter=60, tol=0.0, random_state=0), X, y,
           lambda: TrainingProgress("mlp", 60, quiet=True))
    X, y = make_classification(20000, 50, n_informative=20, n_classes=5,
                               random_state=0)
    yield ("fastnn LogisticRegression lbfgs 20000x50, 5 classes",
           lambda: LogisticRegression(max_iter=100), X, y,
           lambda: IterationProgress("logistic", 100, quiet=True))
    yield ("scikit-learn LogisticRegression lbfgs, same data",
           lambda: SkLogisticRegression(max_iter=100), X, y, None)


def main():
    warnings.simplefilter("ignore", ConvergenceWarning)
    print("ms per fit (ratio to the plain fit)")
    print(f"{'case':<55} {'plain':>7} {'progress bar':>16} {'ScoringMonitor':>16}")
    for name, make, X, y, progress in cases():
        plain = _median_seconds(make, X, y, None)
        cells = []
        for callback in (progress, lambda: ScoringMonitor(scoring="accuracy")):
            if callback is None:
                cells.append(f"{'—':>16}")
                continue
            seconds = _median_seconds(make, X, y, callback)
            cells.append(f"{seconds * 1e3:8.1f} ({seconds / plain:5.3f})")
        print(f"{name:<55} {plain * 1e3:7.1f} {cells[0]} {cells[1]}")


if __name__ == "__main__":
    main()
