"""Threads: re-entrant predictions, thread limits that survive concurrency, kernels that
release the GIL, and models that train side by side exactly as they train alone.

Speed-ups are measured in benchmarks/bench_threads.py, never asserted here."""

import contextlib
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from threadpoolctl import threadpool_info

import fastnn
from fastnn import (
    LogisticRegression,
    MLPClassifier,
    OneVsAllClassifier,
    Sequential,
    ops,
)
from fastnn.models import training as models_training
from fastnn._threads import _libs, single_thread_blas, training_threads
from fastnn.layers import Dense, Dropout, Maxout
from fastnn.ops import _logistic as logistic_ops

N_THREADS = 4
# the sources, which the wheel leaves out: the checkout the tests run from
KERNELS = Path(__file__).resolve().parents[2] / "fastnn" / "_kernels"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 12))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.5)
    return X, y


def _together(function, arguments):
    """Run ``function(argument)`` for each argument in its own thread, all released
    at once by a barrier; returns the results in order."""
    barrier = threading.Barrier(len(arguments))

    def run(argument):
        barrier.wait()
        return function(argument)

    with ThreadPoolExecutor(len(arguments)) as pool:
        return list(pool.map(run, arguments))


def _fitted_estimators(X, y):
    X32 = X.astype(np.float32)
    return {
        "mlp": MLPClassifier((32,), solver="sgd", learning_rate_init=0.1, max_iter=20,
                             random_state=0, tol=0).fit(X, y),
        "mlp-maxout-f32": MLPClassifier((16,), activation="maxout", max_iter=20,
                                        random_state=0, tol=0).fit(X32, y),
        "logistic": LogisticRegression().fit(X, y),
        "one-vs-all": OneVsAllClassifier().fit(X, y),
    }


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_predict_proba_from_threads_equals_serial(data):
    X, y = data
    for name, estimator in _fitted_estimators(X, y).items():
        X_used = X.astype(np.float32) if name.endswith("f32") else X
        # Different rows per thread (and one-row calls, the serving path): a shared
        # buffer would hand one thread another's answer.
        parts = [np.ascontiguousarray(X_used[i::N_THREADS]) for i in range(N_THREADS)]
        rows = [X_used[i:i + 1] for i in range(N_THREADS)]
        serial = [estimator.predict_proba(part) for part in parts]
        serial_rows = [estimator.predict_proba(row) for row in rows]
        serial_labels = [estimator.predict(part) for part in parts]
        for _ in range(5):
            # exact: the same path on the same rows (README: "give the serial answers")
            assert all(map(np.array_equal, _together(estimator.predict_proba, parts),
                           serial)), name
            assert all(map(np.array_equal, _together(estimator.predict_proba, rows),
                           serial_rows)), name
            assert all(map(np.array_equal, _together(estimator.predict, parts),
                           serial_labels)), name


@pytest.mark.parametrize("hidden", ["dense", "maxout-dropout"])
def test_sequential_predict_and_evaluate_from_threads_equal_serial(data, hidden):
    # Without per-call buffers this failed in 38 of 40 calls: the layers' output
    # buffers were shared between the threads.
    X, y = data
    first = (Dense(64, "relu", input_dim=12) if hidden == "dense"
             else Maxout(32, input_dim=12))
    layers = [first] + ([Dropout(0.3)] if hidden != "dense" else []) + [
        Dense(3, "softmax")]
    model = Sequential(layers, seed=0)
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=2, verbose=0)
    parts = [np.ascontiguousarray(X[i::N_THREADS]) for i in range(N_THREADS)]
    labels = [y[i::N_THREADS] for i in range(N_THREADS)]
    serial = [model.predict(part, batch_size=7) for part in parts]
    serial_scores = [model.evaluate(part, label, batch_size=7, verbose=0)
                     for part, label in zip(parts, labels)]
    for _ in range(5):
        together = _together(lambda part: model.predict(part, batch_size=7), parts)
        assert all(map(np.array_equal, together, serial))
        scores = _together(
            lambda i: model.evaluate(parts[i], labels[i], batch_size=7, verbose=0),
            list(range(N_THREADS)),
        )
        assert scores == serial_scores
    # Inference left nothing behind: training goes on as before.
    model.fit(X, y, epochs=1, verbose=0)


# ----------------------------------------------------------------- thread limits


def _counts(user_api):
    return [info["num_threads"] for info in threadpool_info()
            if info["user_api"] == user_api]


def test_training_threads_limits_only_the_calling_thread_and_restores_it():
    original = _counts("openmp")
    if not original:
        pytest.skip("a build without OpenMP runs its kernels serially")
    inside, other = [], []
    entered, checked = threading.Event(), threading.Event()

    def bystander():
        entered.wait()
        other.append(_counts("openmp"))
        checked.set()

    thread = threading.Thread(target=bystander)
    thread.start()
    with training_threads():
        with training_threads():  # nested: still one thread, restored only once
            inside.append(_counts("openmp"))
        inside.append(_counts("openmp"))
        entered.set()
        checked.wait()
    thread.join()
    assert inside == [[1] * len(original)] * 2
    assert other == [original]
    assert _counts("openmp") == original


def test_training_threads_from_many_threads_leave_every_count_restored():
    original = _counts("openmp")
    seen = []

    def enter_and_leave(index):
        for _ in range(20):
            with training_threads():
                seen.append(_counts("openmp"))
                time.sleep(0.0002 * (index % 3))
        return _counts("openmp")

    after = _together(enter_and_leave, list(range(N_THREADS)))
    assert all(counts == [1] * len(original) for counts in seen)
    assert after == [original] * N_THREADS
    assert _counts("openmp") == original


def test_single_thread_blas_is_reference_counted_across_threads():
    original = _counts("blas")
    if max(original) == 1:
        pytest.skip("BLAS already runs on one thread")
    a_in, b_in, a_out, b_out = (threading.Event() for _ in range(4))
    observed = {}

    def first():
        with single_thread_blas():
            a_in.set()
            b_in.wait()
        observed["after A left, B inside"] = _counts("blas")
        a_out.set()

    def second():
        a_in.wait()
        with single_thread_blas():
            b_in.set()
            a_out.wait()  # A leaves first: a plain limiter would restore too early...
            observed["B inside"] = _counts("blas")
        b_out.set()  # ...and B's exit would then restore the count A had set

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert observed["after A left, B inside"] == [1] * len(original)
    assert observed["B inside"] == [1] * len(original)
    assert _counts("blas") == original


def test_single_thread_blas_hammered_from_threads_restores_the_count():
    original = _counts("blas")
    with single_thread_blas():  # this thread first (threadpoolctl's "controlling"
        pass  # thread would then ignore every other thread's setting)
    inside = []

    def hammer(index):
        for _ in range(100):
            with single_thread_blas():
                inside.append([lib.get_num_threads() for lib in _libs("blas")])
                time.sleep(0.0001 * (index % 2))

    _together(hammer, list(range(N_THREADS)))
    assert inside == [[1] * len(original)] * (100 * N_THREADS)
    assert _counts("blas") == original


# -------------------------------------------------------------------- the GIL


def _kernel_functions():
    """(file, name, body) of every Python-visible function of the kernels (checks.pyx,
    which checks Python objects and runs no loop, aside) and every kernel's C function
    on an Op (calls.pxd; a Kernel runs it with the GIL released); a template's loops
    are read in the .pyx the build expanded from it."""
    for path in sorted(KERNELS.glob("*.pyx")):
        if path.name == "checks.pyx":
            continue
        source = path.read_text()
        parts = re.split(r"^(?=def |cpdef |cdef )", source, flags=re.M)
        for part in parts:
            match = re.match(
                r"(?:def|cpdef|cdef double)\s+(?:\w+\s+)?(\w+)\s*\((?:Op\* op\))?", part
            )
            if part.startswith("cdef") and "(Op* op)" not in part.split("\n")[0]:
                continue
            if match:
                yield path.name, match.group(1), part


def test_every_kernel_runs_its_loops_without_the_gil():
    functions = list(_kernel_functions())
    assert len(functions) >= 20
    holding = [
        f"{file}:{name}" for file, name, body in functions
        if name != "has_avx2_fma" and "nogil" not in body
    ]
    assert holding == []


# Each call is sized to take LONG or more of CPU time on the CPU at hand: long against
# the ticker's sleep and a busy machine's scheduling delays.
LONG = 0.020


def _largest_gap(call, stamps):
    """The longest time without a stamp of the ticker during ``call()``, and the
    call's CPU time (this thread's).

    A kernel that keeps the GIL runs in one stretch in which the ticker cannot stamp,
    and that stretch lasts at least the kernel's CPU time, on any machine under any
    load. A kernel that releases the GIL leaves gaps only while the ticker sleeps or
    waits for a core: well under a millisecond on an idle machine, a few on a busy one.
    """
    first = len(stamps)
    start, cpu_start = time.perf_counter(), time.thread_time()
    call()
    cpu, end = time.thread_time() - cpu_start, time.perf_counter()
    inside = np.array(stamps[first:])
    inside = inside[(inside > start) & (inside < end)]
    return np.diff(np.concatenate([[start], inside, [end]])).max(), cpu


def _releases_gil(call, repeats=4, attempts=5):
    """Whether a Python thread stamps the time during ``call()`` (one kernel call)
    with no gap as long as 0.7 of the call's CPU time, in one of ``attempts`` rounds
    of ``repeats`` calls.

    See _largest_gap: a call that holds the GIL always shows a gap of its whole CPU
    time, so it is never taken for a release (stamps in the middle of a call's
    window were: the ticker stamps while this thread waits milliseconds for the GIL
    at the edges of a call on a loaded machine). A release needs the ticker to get a
    core every few milliseconds; on a loaded machine a later round may give it.
    """
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        for _ in range(attempts):
            stamps, stop = [], threading.Event()

            def tick():
                # NOTE: a ticker that sleeps between stamps, not one that spins: the
                # scheduler lets a waking thread preempt busy ones, so it gets a core
                # within a millisecond or so even on a loaded machine (a spinning one
                # waited 8-16 ms there and failed to see releases in 1 of 2 runs).
                while not stop.is_set():
                    time.sleep(0.0002)
                    stamps.append(time.perf_counter())

            ticker = threading.Thread(target=tick)
            ticker.start()
            time.sleep(0.01)
            measured = [_largest_gap(call, stamps) for _ in range(repeats)]
            stop.set()
            ticker.join()
            assert min(cpu for _, cpu in measured) > LONG / 4, (
                "the calls are too short to tell")
            # NOTE: a held GIL gives gap >= 0.99 cpu (measured); a release, mostly
            # 0.2-0.5 cpu beside two busy processes at load average 10 on 2 cores.
            if any(gap < 0.7 * cpu for gap, cpu in measured):
                return True
        return False
    finally:
        sys.setswitchinterval(interval)


def _long_call(make_call, largest=16):
    """``make_call(scale)`` for a scale from 1 up to ``largest`` whose call takes LONG
    or more of CPU time here (the least of two calls).

    Fixed sizes tuned on one CPU were too short on a faster one (sum_of_squares of
    10M floats: 2.4 ms on an AVX-512 Xeon, "the calls are too short to tell"); a size
    found here is judged on any CPU, and CPU time does not shrink on a loaded machine.
    """
    scale = 1
    while True:
        call = make_call(scale)
        call()  # the first touch of fresh memory costs page faults
        took = []
        for _ in range(2):
            start = time.thread_time()
            call()
            took.append(time.thread_time() - start)
        if min(took) >= LONG or scale >= largest:
            return call
        scale = min(largest, scale * max(2, int(np.ceil(LONG / max(min(took), 1e-4)))))


def test_a_held_gil_is_detected():
    # The detector itself: a C call that keeps the GIL (a pure-C NumPy sort of
    # objects does not release it) leaves the ticker a gap of its whole CPU time.
    rng = np.random.default_rng(0)

    def make_call(scale):
        values = rng.random(10_000 * scale).astype(object)
        return lambda: np.sort(values)

    assert not _releases_gil(_long_call(make_call), attempts=1)


def _kernel_call(kernel, scale):
    """One call of ``kernel`` on work that grows linearly with ``scale``."""
    rng = np.random.default_rng(0)
    if kernel in ("sum_of_squares", "l2_penalty"):  # Cython BLAS, memory bound
        n = 5_000_000 * scale  # 40 MB a step: out of the caches, so timed as it grows
        W, dW = np.full(n, 0.5), np.zeros(n)
        return {
            "sum_of_squares": lambda: ops.sum_of_squares(W),
            "l2_penalty": lambda: ops.l2_penalty(W, dW, 0.1),
        }[kernel]
    if kernel.startswith("dense"):
        rows = 400 * scale
        X, W = rng.random((rows, 600)), rng.random((600, 600))
        dY = rng.random((rows, 600))
        return {
            "dense_forward": lambda: ops.dense_forward(X, W),
            "dense_backward": lambda: ops.dense_backward(X, W, dY),
        }[kernel]
    if kernel == "take_rows":
        X = rng.random((4000, 500))
        rows = rng.integers(0, 4000, 16_000 * scale).astype(np.intp)
        out = np.ones((len(rows), 500))
        return lambda: ops.take_rows(X, rows, out=out)
    n = 8_000 * scale
    X = rng.random((n, 200))
    y = rng.integers(0, 3, n).astype(np.intp)
    W, b = np.zeros((200, 3)), np.zeros(3)
    if kernel == "logistic_sgd_epoch":
        order = np.arange(n, dtype=np.intp)
        return lambda: logistic_ops.logistic_sgd_epoch(X, y, W, b, order, 0.01)
    return lambda: logistic_ops.logistic_loss_grad(X, y, W, b)


@pytest.mark.parametrize("kernel", ["dense_forward", "dense_backward", "take_rows",
                                    "logistic_sgd_epoch", "logistic_loss_grad",
                                    "sum_of_squares", "l2_penalty"])
def test_long_kernels_release_the_gil(kernel):
    # serial kernels (BLAS and OpenMP on one thread) leave the ticker a core
    with single_thread_blas(), training_threads():
        call = _long_call(lambda scale: _kernel_call(kernel, scale))
        assert _releases_gil(call)


# -------------------------------------------------- models training side by side


def _sequential(seed, dropout):
    layers = [Dense(32, "relu", input_dim=12)]
    layers += [Dropout(0.2)] if dropout else []
    model = Sequential(layers + [Dense(3, "softmax")], seed=seed)
    model.compile(fastnn.optimizers.SGD(0.05, momentum=0.9),
                  "sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("dropout", [False, True])
def test_two_sequentials_fitting_in_two_threads_match_serial_fits(data, dropout):
    X, y = data

    def fit(seed):
        model = _sequential(seed, dropout)
        model.fit(X, y, epochs=4, batch_size=16, verbose=0)
        return model.get_flat_weights()

    serial = [fit(seed) for seed in (1, 2)]
    for _ in range(2):
        threaded = _together(fit, [1, 2])
        for a, b in zip(serial, threaded):
            assert_array_equal(a, b)
    assert not np.array_equal(*serial)  # the two seeds differ: the check can fail


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("make", [
    lambda seed: MLPClassifier((16,), solver="adam", max_iter=5, random_state=seed,
                               dropout=0.1),
    lambda seed: LogisticRegression(solver="sgd", max_iter=5, random_state=seed),
    lambda seed: LogisticRegression(C=1.0 + seed),
    lambda seed: OneVsAllClassifier(LogisticRegression(C=1.0 + seed)),
], ids=["mlp", "logistic-sgd", "logistic-lbfgs", "one-vs-all"])
def test_estimators_fitting_in_threads_match_serial_fits(data, make):
    X, y = data

    def fit(seed):
        estimator = make(seed).fit(X, y)
        return estimator.predict_proba(X)

    serial = [fit(seed) for seed in (1, 2)]
    threaded = _together(fit, [1, 2])
    for a, b in zip(serial, threaded):
        assert_array_equal(a, b)


def test_large_lbfgs_fits_in_threads_leave_blas_as_found():
    # Big enough for L-BFGS to split X across the cores with BLAS held to one thread.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 60))
    y = (X[:, 0] > 0).astype(int)
    original = _counts("blas")
    serial = [LogisticRegression(C=c).fit(X, y).coef_ for c in (0.5, 2.0)]
    threaded = _together(lambda c: LogisticRegression(C=c).fit(X, y).coef_, [0.5, 2.0])
    for a, b in zip(serial, threaded):
        assert_array_equal(a, b)
    assert _counts("blas") == original


# ------------------------------------------- BLAS threads in a mini-batch loop


def _blas_counts():
    return [lib.get_num_threads() for lib in _libs("blas")]


@pytest.mark.parametrize("units, held", [(32, True), (4096, False)])
def test_fit_holds_blas_to_one_thread_only_for_small_gemms(monkeypatch, units, held):
    # 256 rows x 64 features: the largest GEMM is 256 * 64 * units multiply-adds,
    # 0.5M (one thread: spin-waiting BLAS threads cost 20x on a busy machine) or
    # 67M (worth the cores).
    before = _blas_counts()
    if max(before, default=1) == 1:
        pytest.skip("BLAS runs on one thread here anyway")
    seen = []
    real = models_training.fit_threads

    @contextlib.contextmanager
    def spy(gemm_macs):
        with real(gemm_macs):
            seen.append((gemm_macs, _blas_counts()))
            yield

    monkeypatch.setattr(models_training, "fit_threads", spy)
    X = np.random.default_rng(0).random((256, 64))
    y = np.arange(256) % 2
    model = Sequential([Dense(units, "relu", input_dim=64), Dense(2, "softmax")], seed=0)
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(X, y, batch_size=256, epochs=2, verbose=0)
    assert [macs for macs, _ in seen] == [256 * 64 * units] * 2
    assert all((counts == [1] * len(before)) == held for _, counts in seen)
    assert _blas_counts() == before  # restored
