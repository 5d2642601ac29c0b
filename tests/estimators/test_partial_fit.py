"""partial_fit of LogisticRegression (sgd), OneVsAllClassifier and MLPClassifier (sgd,
adam) with scikit-learn's semantics, and what training block by block in other
processes needs (dask_ml's Incremental, tests/system/test_dask.py): any block size down
to one row, read-only blocks, ``classes`` repeated with every block, pickling across
processes with a small state, and fits that keep to the worker's thread limit."""

import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import log_loss
from threadpoolctl import threadpool_info, threadpool_limits

import fastnn
from fastnn import LogisticRegression, MLPClassifier, OneVsAllClassifier
from fastnn.estimators._logistic_objective import available_cores

try:
    import cloudpickle  # a dependency of joblib since 1.5
except ImportError:  # older joblib vendors it
    from joblib.externals import cloudpickle

CLASSES = np.array([0, 1, 2])

MAKERS = {
    "logistic_sgd": lambda: LogisticRegression(solver="sgd", random_state=0),
    "one_vs_all_sgd": lambda: OneVsAllClassifier(
        LogisticRegression(solver="sgd", random_state=0)
    ),
    "mlp_sgd": lambda: MLPClassifier((8,), solver="sgd", learning_rate_init=0.05,
                                     random_state=0),
    "mlp_adam": lambda: MLPClassifier((8,), solver="adam", learning_rate_init=0.01,
                                      random_state=0),
}


@pytest.fixture(params=list(MAKERS))
def make(request):
    return MAKERS[request.param]


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(120, 6, n_informative=4, n_redundant=0, n_classes=3,
                               random_state=0)
    return X, y


def weights(clf):
    """Every learned array of ``clf``, copied."""
    if hasattr(clf, "estimators_"):
        return [a for e in clf.estimators_ for a in weights(e)]
    if hasattr(clf, "coefs_"):
        return [a.copy() for a in clf.coefs_ + clf.intercepts_]
    return [clf.coef_.copy(), clf.intercept_.copy()]


def assert_same_weights(a, b):
    for left, right in zip(weights(a), weights(b), strict=True):
        assert_array_equal(left, right)


# ------------------------------------------------------------------------ semantics


def test_classes_required_on_the_first_call(make, data):
    X, y = data
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        make().partial_fit(X, y)


def test_equal_classes_accepted_on_every_call_and_change_nothing(make, data):
    """Incremental passes the same keyword arguments with every block."""
    X, y = data
    once, every = make(), make()
    once.partial_fit(X[:60], y[:60], classes=CLASSES)
    once.partial_fit(X[60:], y[60:])
    every.partial_fit(X[:60], y[:60], classes=[0, 1, 2])
    every.partial_fit(X[60:], y[60:], classes=np.array([2, 0, 1]))  # any order
    assert_array_equal(every.classes_, CLASSES)
    assert_same_weights(once, every)


@pytest.mark.parametrize("other", [[0, 1], [0, 1, 2, 3], [0, 1, 5]])
def test_other_classes_raise_and_keep_the_model(make, data, other):
    X, y = data
    clf = make().partial_fit(X, y, classes=CLASSES)
    before = weights(clf)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y, classes=other)
    for left, right in zip(before, weights(clf), strict=True):
        assert_array_equal(left, right)


def test_label_outside_classes_raises(make, data):
    X, y = data
    bad = np.where(y == 2, 7, y)
    clf = make()
    with pytest.raises(ValueError, match="7"):
        clf.partial_fit(X, bad, classes=CLASSES)  # on the first call
    with pytest.raises(NotFittedError):
        clf.predict(X)  # the failed first call fitted nothing
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=CLASSES)
    before = weights(clf)
    with pytest.raises(ValueError, match="7"):
        clf.partial_fit(X, bad)  # on a later call
    for left, right in zip(before, weights(clf), strict=True):
        assert_array_equal(left, right)


def test_one_row_blocks(make, data):
    """Blocks of one row, the first one included: a block may hold a single class."""
    X, y = data
    clf = make()
    for row in range(20):
        clf.partial_fit(X[row:row + 1], y[row:row + 1], classes=CLASSES)
    assert all(np.isfinite(w).all() for w in weights(clf))
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
    assert set(clf.predict(X)) <= set(CLASSES)


def test_float32_stays_float32(make, data):
    X, y = data
    X32 = X.astype(np.float32)
    clf = make().partial_fit(X32, y, classes=CLASSES)
    clf.partial_fit(X, y)  # a float64 block is cast to the model's float32
    assert {w.dtype for w in weights(clf)} == {np.dtype(np.float32)}
    assert clf.predict_proba(X32).dtype == np.float32


def test_read_only_blocks(make, data):
    """Blocks from other processes or memory maps can be read-only."""
    X, y = data
    X_ro, y_ro = X.copy(), y.copy()
    X_ro.flags.writeable = y_ro.flags.writeable = False
    ours = make().partial_fit(X_ro, y_ro, classes=CLASSES)
    reference = make().partial_fit(X, y, classes=CLASSES)
    assert_same_weights(ours, reference)


def test_continuing_changes_the_weights_and_learns(make, data):
    X, y = data
    clf = make().partial_fit(X, y, classes=CLASSES)
    first, loss = weights(clf), log_loss(y, clf.predict_proba(X))
    for _ in range(10):
        clf.partial_fit(X, y)
    assert all(not np.array_equal(a, b) for a, b in zip(first, weights(clf)))
    assert log_loss(y, clf.predict_proba(X)) < loss


def test_logistic_calls_are_epochs_of_fit(data):
    """Documented: with shuffle=False, k calls on the same rows give fit's k epochs."""
    X, y = data
    params = dict(solver="sgd", shuffle=False, n_iter_no_change=10, random_state=0)
    chunked = LogisticRegression(**params)
    for _ in range(4):
        chunked.partial_fit(X, y, classes=CLASSES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole = LogisticRegression(max_iter=4, **params).fit(X, y)
    assert chunked.n_iter_[0] == whole.n_iter_[0] == 4
    np.testing.assert_allclose(chunked.coef_, whole.coef_, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(chunked.intercept_, whole.intercept_, rtol=1e-12)


def test_one_vs_all_calls_are_its_binary_estimators_calls(data):
    """Documented: one partial_fit step of every binary estimator (class k vs rest)."""
    X, y = data
    clf = OneVsAllClassifier(LogisticRegression(solver="sgd", random_state=0))
    binary = [LogisticRegression(solver="sgd", random_state=0) for _ in CLASSES]
    for rows in (slice(0, 50), slice(50, 51), slice(51, None)):
        clf.partial_fit(X[rows], y[rows], classes=CLASSES)
        for k, estimator in enumerate(binary):
            estimator.partial_fit(X[rows], (y[rows] == k).astype(int), classes=[0, 1])
    for ours, reference in zip(clf.estimators_, binary, strict=True):
        assert_same_weights(ours, reference)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_mlp_calls_are_epochs_of_fit(data, solver):
    """Documented: one epoch per call; with shuffle=False k calls are fit's k epochs."""
    X, y = data
    params = dict(hidden_layer_sizes=(8,), solver=solver, shuffle=False, tol=0,
                  random_state=0)
    chunked = MLPClassifier(**params)
    for _ in range(3):
        chunked.partial_fit(X, y, classes=CLASSES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole = MLPClassifier(max_iter=3, **params).fit(X, y)
    np.testing.assert_allclose(chunked.loss_curve_, whole.loss_curve_, rtol=1e-12)
    assert chunked.t_ == whole.t_ == 3 * len(X)
    assert_same_weights(chunked, whole)


@pytest.mark.parametrize("clf", [
    LogisticRegression(),
    OneVsAllClassifier(),
    MLPClassifier(solver="lbfgs"),
], ids=["logistic_lbfgs", "one_vs_all_lbfgs", "mlp_lbfgs"])
def test_lbfgs_has_no_partial_fit(clf):
    """As scikit-learn's estimators without an incremental solver; the reason is
    chained to the AttributeError."""
    assert not hasattr(clf, "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit") as caught:
        clf.partial_fit
    causes, error = [], caught.value
    while error is not None:
        causes.append(str(error))
        error = error.__cause__
    assert any("lbfgs" in cause for cause in causes), causes


# ------------------------------------------------------------------------- pickling

_CHILD = """
import pickle, sys
import numpy as np
jobs = pickle.loads(sys.stdin.buffer.read())
out = []
for blob, X, y in jobs:
    clf = pickle.loads(blob)
    proba = clf.predict_proba(X) if hasattr(clf, "predict_proba") and (
        hasattr(clf, "classes_")) else None
    clf.partial_fit(X, y, classes=np.array([0, 1, 2]))
    out.append((proba, pickle.dumps(clf)))
sys.stdout.buffer.write(pickle.dumps(out))
"""


@pytest.mark.slow  # child interpreters
def test_pickle_and_cloudpickle_across_processes(data, tmp_path):
    """Fitted and unfitted estimators travel to another process (both picklers),
    predict there as here, and continue training there exactly as here."""
    X, y = data
    X32 = X.astype(np.float32)
    jobs, local = [], []
    for name, make in MAKERS.items():
        for fitted in (False, True):
            for dumps in (pickle.dumps, cloudpickle.dumps):
                clf = make()
                if fitted:
                    clf.partial_fit(X32[:60], y[:60], classes=CLASSES)
                jobs.append((dumps(clf), X32[60:], y[60:]))
                proba = clf.predict_proba(X32[60:]) if fitted else None
                local.append((name, fitted, proba,
                              clf.partial_fit(X32[60:], y[60:], classes=CLASSES)))
    # NOTE: the child imports the fastnn this process imported (the installed one in
    # CI), never the uncompiled sources of the checkout it would start in.
    env = {**os.environ, "PYTHONPATH": str(Path(fastnn.__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", _CHILD], input=pickle.dumps(jobs),
                          capture_output=True, timeout=120, check=False, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    for (name, fitted, proba, here), (their_proba, blob) in zip(
        local, pickle.loads(done.stdout), strict=True
    ):
        there = pickle.loads(blob)
        if fitted:
            assert_array_equal(their_proba, proba, err_msg=name)
        assert_same_weights(there, here)
        assert {w.dtype for w in weights(there)} == {np.dtype(np.float32)}


@pytest.mark.parametrize("solver, slots", [("sgd", 1), ("adam", 2)])
def test_pickled_mlp_is_its_weights_and_optimizer_slots(solver, slots):
    """Incremental ships the model with every block: no bound buffers, no batch
    arrays, no second copy of the weights travel (an unfitted model is tiny)."""
    X, y = make_classification(400, 40, n_classes=3, n_informative=10, random_state=0)
    clf = MLPClassifier((256,), solver=solver, random_state=0)
    assert len(pickle.dumps(clf)) < 2_000
    clf.partial_fit(X.astype(np.float32), y, classes=CLASSES)
    clf.predict_proba(X[:1].astype(np.float32))  # binds the one-row serving path
    size = sum(w.nbytes for w in weights(clf))  # 45 KB
    assert size > 40_000
    pickled = len(pickle.dumps(clf))
    assert (1 + slots) * size < pickled < (1 + slots) * size + 8_000


def test_pickled_dropout_model_draws_the_same_masks():
    X, y = make_classification(200, 10, n_classes=3, n_informative=5, random_state=0)
    clf = MLPClassifier((16,), dropout=0.3, random_state=0)
    clf.partial_fit(X, y, classes=CLASSES)
    copy = pickle.loads(pickle.dumps(clf))
    clf.partial_fit(X, y)
    copy.partial_fit(X, y)
    assert_same_weights(copy, clf)


def test_pickled_early_stopping_model_keeps_its_best_weights():
    X, y = make_classification(200, 10, n_classes=3, n_informative=5, random_state=0)
    clf = MLPClassifier((16,), early_stopping=True, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    assert_array_equal(copy._best_params, clf._best_params)


# ---------------------------------------------------------------------- thread limits


def test_logistic_lbfgs_keeps_to_the_openmp_limit():
    """The fused kernel names its thread count, which overrides OpenMP's limit: the
    limit a dask or joblib worker sets (OMP_NUM_THREADS, threadpoolctl) must cap it."""
    if not any(lib["user_api"] == "openmp" for lib in threadpool_info()):
        pytest.skip("no OpenMP runtime loaded (a build without OpenMP runs serially)")
    with threadpool_limits(1, user_api="openmp"):
        assert available_cores() == 1
