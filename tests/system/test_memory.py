"""Memory: 1,000 fit/predict cycles of each estimator and of Sequential leave the
resident set flat. They run in two fresh interpreters, so nothing else in the test
session moves their RSS; growth is measured after a warm-up of 50 cycles (caches,
allocator arenas, bound buffers)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastnn

pytestmark = pytest.mark.slow  # 1,000 cycles in two fresh interpreters

# NOTE: fresh interpreters: a leak of 1.6 KB a cycle crosses the limit, while the
# test session's own RSS moves by MBs (measured growth here: 0-60 KB).
CYCLES, WARM_UP = 1000, 50
LIMIT_MB = 1.5

CHILD = r"""
import json, os, sys, warnings
import numpy as np

warnings.simplefilter("ignore")
from fastnn import LogisticRegression, MLPClassifier, OneVsAllClassifier, Sequential
from fastnn.layers import Dense, Dropout

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


rng = np.random.default_rng(0)
X = rng.normal(size=(24, 5))
y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
X32 = X.astype(np.float32)


def sequential():
    model = Sequential([Dense(8, "relu", input_dim=5), Dropout(0.2),
                        Dense(3, "softmax")], seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=1, batch_size=16, verbose=0, validation_data=(X, y))
    model.train_on_batch(X, y)
    model.evaluate(X, y, verbose=0)
    return model.predict(X)


CYCLES_OF = {
    "sequential": sequential,
    "logistic-lbfgs": lambda: LogisticRegression(max_iter=5).fit(X, y).predict_proba(
        X),
    "logistic-sgd": lambda: LogisticRegression(solver="sgd", max_iter=1).fit(
        X32, y).predict_proba(X32),
    "one-vs-all": lambda: OneVsAllClassifier(LogisticRegression(max_iter=5)).fit(
        X, y).predict(X),
    "mlp-sgd": lambda: MLPClassifier((8,), solver="sgd", max_iter=1, batch_size=16,
                                     random_state=0).fit(X, y).predict_proba(X[:1]),
    "mlp-lbfgs": lambda: MLPClassifier((8,), solver="lbfgs", max_iter=2,
                                       random_state=0).fit(X32, y).predict(X32),
}
growth = {}
for name in sys.argv[1:]:
    cycle = CYCLES_OF[name]
    for _ in range(WARM_UP):
        cycle()
    before = rss()
    for _ in range(CYCLES - WARM_UP):
        cycle()
    growth[name] = rss() - before
print(json.dumps(growth))
"""

NAMES = ["sequential", "logistic-lbfgs", "logistic-sgd", "one-vs-all", "mlp-sgd",
         "mlp-lbfgs"]


@pytest.fixture(scope="module")
def growth(tmp_path_factory):
    """RSS growth (bytes) over the cycles of each estimator."""
    if not Path("/proc/self/statm").exists():
        pytest.skip("needs Linux /proc")
    code = f"CYCLES, WARM_UP = {CYCLES}, {WARM_UP}\n" + CHILD
    # NOTE: BLAS on one thread: this measures memory, and SciPy's L-BFGS-B on tiny
    # problems waits on OpenBLAS's threads (3 ms a fit alone, 80 ms on a busy host).
    # NOTE: the children import the fastnn this process imported (the installed one
    # in CI), never the uncompiled sources of the checkout they might start in.
    env = {**os.environ, "PYTHONPATH": str(Path(fastnn.__file__).resolve().parents[1]),
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    # Two interpreters (the imports cost about 1.5 s each), each estimator measured
    # after its own warm-up.
    children = [
        subprocess.Popen([sys.executable, "-c", code, *NAMES[part::2]],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env, cwd=tmp_path_factory.mktemp("memory"))
        for part in range(2)
    ]
    results = {}
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
        results.update(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.parametrize("name", NAMES)
def test_fit_predict_cycles_leave_rss_flat(growth, name):
    assert growth[name] < LIMIT_MB * 2**20, (
        f"{name}: RSS grew {growth[name] / 2**20:.2f} MB over "
        f"{CYCLES - WARM_UP} cycles"
    )
