"""Faults during training: Ctrl-C, a diverging learning rate, read-only memory-mapped
data. After each, the model is consistent: finite weights, working predict, fit again.
"""

import _thread
import signal
import threading
import tracemalloc
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_info

from fastnn import (
    LogisticRegression,
    MLPClassifier,
    OneVsAllClassifier,
    Sequential,
    ops,
)
from fastnn.layers import Dense, Dropout, Layer
from fastnn.models import Callback
from fastnn.nn.layers.base import Step
from fastnn.ops import _logistic as logistic_ops
from fastnn.ops import training as loop_kernels
from fastnn.optimizers import SGD, Adam, Optimizer


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 6))
    y = (X[:, 0] - X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8)
    return X, y


def _counts():
    return {(info["user_api"], info["filepath"]): info["num_threads"]
            for info in threadpool_info()}


class _Interrupt(Layer):
    """The identity, as a user's own layer (a Python run inside the compiled loop)
    that raises KeyboardInterrupt in the forward of batch ``at`` (from 1, across
    epochs)."""

    def __init__(self, at):
        super().__init__()
        self.at, self.count = at, 0

    def _tick(self):
        self.count += 1
        if self.count == self.at:
            raise KeyboardInterrupt

    def _steps(self):
        def forward(X, training=False):
            return ([self._tick] if training else []), X

        def backward(dY, need_dX=True):
            return [], dY

        return [Step(forward, backward, None, False)]


class _RecordingSGD(SGD):
    """SGD that keeps the flat weights after every step: a subclass, so the loop
    calls its ``apply`` from Python instead of its compiled step."""

    def apply(self, params, grads):
        super().apply(params, grads)
        self.steps.append(params[0].copy())


def _model(seed=0, dropout=False, interrupt_at=None, recording=False):
    layers = [Dense(16, "tanh", input_dim=6)] + ([Dropout(0.2)] if dropout else [])
    if interrupt_at is not None:
        layers.append(_Interrupt(interrupt_at))
    model = Sequential(layers + [Dense(3, "softmax")], seed=seed)
    optimizer = (_RecordingSGD if recording else SGD)(0.1, momentum=0.9)
    optimizer.steps = []
    model.compile(optimizer, "sparse_categorical_crossentropy")
    return model


def _interrupt_runs(monkeypatch, at):
    """Raise KeyboardInterrupt as the ``at``-th run of the compiled batch loop
    starts (one run per epoch on small data)."""
    count = [0]

    class Interrupting(loop_kernels.BatchLoop):
        def run(self, *args):
            count[0] += 1
            if count[0] == at:
                raise KeyboardInterrupt
            return super().run(*args)

    monkeypatch.setattr(loop_kernels, "BatchLoop", Interrupting)


# ------------------------------------------------------------------ Ctrl-C


@pytest.mark.parametrize("dropout", [False, True])
def test_interrupted_sequential_keeps_the_last_completed_step(data, dropout):
    # The interrupt comes from inside the compiled loop, in the forward of epoch 2's
    # third batch: the compiled steps before it count, bit for bit those of the
    # Python path (a recording optimizer, stepped from Python).
    X, y = data
    reference = _model(dropout=dropout, interrupt_at=0, recording=True)
    reference.fit(X, y, epochs=2, batch_size=32, verbose=0)  # 5 batches an epoch
    steps = reference.optimizer.steps
    before = _counts()
    model = _model(dropout=dropout, interrupt_at=8)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, epochs=2, batch_size=32, verbose=1)
    assert_array_equal(model.get_flat_weights(), steps[6])  # after 7 steps
    assert model.optimizer.iterations == 7
    assert _counts() == before  # OpenMP's limit was lifted
    assert np.isfinite(model.predict(X)).all()
    model.fit(X, y, epochs=1, batch_size=32, verbose=0)  # and it trains on
    assert np.isfinite(model.get_flat_weights()).all()


def test_ctrl_c_stops_the_compiled_loop_on_a_completed_step(data):
    # A real Ctrl-C (SIGINT's KeyboardInterrupt) during a long fit lands between two
    # runs of the compiled loop: the weights are those after the steps counted, bit
    # for bit those of the Python path after as many steps.
    X, y = data
    model = _model()
    # NOTE: a shell starts background jobs with SIGINT ignored, and interrupt_main
    # does nothing then: Python's own handler for the test, as in a terminal.
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(X, y, epochs=10**6, batch_size=32, verbose=0)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, handler)
    steps = model.optimizer.iterations
    assert steps > 0
    reference = _model(recording=True)
    reference.fit(X, y, epochs=-(-steps // 5), batch_size=32, verbose=0)
    assert_array_equal(model.get_flat_weights(), reference.optimizer.steps[steps - 1])


def test_interrupt_from_a_callback_leaves_the_epochs_done(data):
    X, y = data

    class Stop(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    model, reference = _model(), _model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, epochs=5, verbose=0, callbacks=[Stop()])
    reference.fit(X, y, epochs=2, verbose=0)
    assert_array_equal(model.get_flat_weights(), reference.get_flat_weights())
    model.fit(X, y, epochs=1, verbose=0)


def test_interrupt_while_binding_leaves_nothing_half_bound(data, monkeypatch):
    # The first batch of a size binds the layers; an interrupt in the middle of it
    # must not leave a batch that looks bound but has no backward.
    X, y = data
    model = _model()
    first = model.layers[0]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(first, "_bind_affine_backward", interrupted)
        with pytest.raises(KeyboardInterrupt):
            model.fit(X, y, epochs=1, verbose=0)
    history = model.fit(X, y, epochs=2, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_interrupted_mlp_warns_and_returns_a_usable_model(data, monkeypatch, solver):
    # As scikit-learn's MLP: "Training interrupted by user." and a fitted model.
    X, y = data
    clf = MLPClassifier((8,), solver=solver, batch_size=40, max_iter=10,
                        random_state=0, early_stopping=solver == "adam")
    with monkeypatch.context() as patch:
        # One run an epoch (4 batches of 40); with early stopping 144 rows train:
        # a run of 3 batches and one of the last 24 rows.
        _interrupt_runs(patch, at=3 if solver == "adam" else 2)  # as epoch 2 starts
        with pytest.warns(UserWarning, match="Training interrupted by user"):
            assert clf.fit(X, y) is clf
    assert clf.n_iter_ == 1
    assert all(np.isfinite(W).all() for W in clf.coefs_ + clf.intercepts_)
    assert np.isfinite(clf.predict_proba(X)).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)  # fits again from scratch
    assert clf.n_iter_ == 10 or clf.n_iter_ < 10


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_interrupted_logistic_regression_keeps_its_fitted_state(data, monkeypatch,
                                                                solver):
    # scikit-learn's LogisticRegression lets the interrupt through; the fitted state
    # is then the previous fit's, whole (never half of a new one).
    X, y = data
    name = "logistic_sgd_epoch" if solver == "sgd" else "logistic_loss_grad"
    original = getattr(logistic_ops, name)

    def interrupted_on_the_third_call():
        count = [0]

        def call(*args, **kwargs):
            count[0] += 1
            if count[0] == 3:
                raise KeyboardInterrupt
            return original(*args, **kwargs)

        return call

    fresh = LogisticRegression(solver=solver, max_iter=50)
    with monkeypatch.context() as patch:
        patch.setattr(logistic_ops, name, interrupted_on_the_third_call())
        with pytest.raises(KeyboardInterrupt):
            fresh.fit(X, y)
    with pytest.raises(NotFittedError):
        fresh.predict(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = LogisticRegression(solver=solver, max_iter=50).fit(X[:80], y[:80])
    coef, intercept, n_iter = clf.coef_.copy(), clf.intercept_.copy(), clf.n_iter_
    proba = clf.predict_proba(X)
    before = _counts()
    with monkeypatch.context() as patch:
        patch.setattr(logistic_ops, name, interrupted_on_the_third_call())
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, y)
    assert_array_equal(clf.coef_, coef)
    assert_array_equal(clf.intercept_, intercept)
    assert_array_equal(clf.n_iter_, n_iter)
    assert_array_equal(clf.predict_proba(X), proba)
    assert _counts() == before


def test_interrupted_lbfgs_on_the_cores_restores_blas(monkeypatch):
    # A large dense X runs L-BFGS's pass on OpenMP threads with BLAS held to one
    # thread: an interrupt must give BLAS its threads back.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 60))
    y = (X[:, 0] > 0).astype(int)
    before = _counts()
    original = logistic_ops.logistic_loss_grad
    count = [0]

    def call(*args, **kwargs):
        count[0] += 1
        if count[0] == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(logistic_ops, "logistic_loss_grad", call)
    with pytest.raises(KeyboardInterrupt):
        LogisticRegression().fit(X, y)
    assert count[0] == 2 and _counts() == before


def test_interrupted_one_vs_all_keeps_its_estimators(data, monkeypatch):
    X, y = data
    clf = OneVsAllClassifier().fit(X, y)
    estimators, proba = clf.estimators_, clf.predict_proba(X)
    original = logistic_ops.logistic_loss_grad
    count = [0]

    def call(*args, **kwargs):  # interrupted while fitting the second class
        count[0] += 1
        if count[0] == 12:  # of about 25 for the three classes
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(logistic_ops, "logistic_loss_grad", call)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X[::-1], y[::-1])
    assert clf.estimators_ is estimators
    assert_array_equal(clf.predict_proba(X), proba)


# -------------------------------------------------------------- divergence


def _guard_steps(monkeypatch):
    """Record, for every optimizer step, whether its gradients were finite (the
    optimizers step from Python here, through ``apply``, where this can look)."""
    finite = []
    apply = Optimizer.apply

    def checked(self, params, grads):
        finite.append(all(np.isfinite(grad).all() for grad in grads))
        return apply(self, params, grads)

    monkeypatch.setattr(Optimizer, "apply", checked)
    for cls in (SGD, Adam):
        monkeypatch.setattr(cls, "bind_update", lambda self, params, grads: None)
    return finite


def test_a_non_finite_gradient_never_reaches_the_weights(monkeypatch):
    # float32 inputs of 1e20: the outputs are finite, X^T dZ overflows at batch 1.
    rng = np.random.default_rng(0)
    X = (1e20 * rng.normal(size=(64, 4))).astype(np.float32)
    model = Sequential([Dense(1, input_dim=4)], seed=0)
    model.compile(SGD(1e-3, momentum=0.9), "mse")
    model.build(4, np.float32)
    start = model.get_flat_weights()
    finite = _guard_steps(monkeypatch)
    with pytest.raises(ValueError, match=r"epoch 1, batch 1: the gradient became NaN "
                                         r"or inf with learning rate 0.001"):
        model.fit(X, np.ones(64, np.float32), epochs=3, verbose=0)
    assert finite == []  # no step was taken
    assert_array_equal(model.get_flat_weights(), start)
    assert model.optimizer.iterations == 0


def test_a_step_that_overflows_the_weights_is_undone():
    # A finite gradient times an absurd rate overflows float32 in the step itself.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4)).astype(np.float32)
    model = Sequential([Dense(1, input_dim=4)], seed=0)
    model.compile(SGD(3e38), "mse")
    model.build(4, np.float32)
    start = model.get_flat_weights()
    with pytest.raises(ValueError, match=r"batch 1: the weights became NaN or inf "
                                         r"with learning rate 3e\+38"):
        model.fit(X, 10 + X.sum(axis=1), epochs=1, verbose=0)
    assert_array_equal(model.get_flat_weights(), start)
    assert np.isfinite(model.predict(X)).all()


@pytest.mark.parametrize("estimator", ["sequential", "mlp"])
def test_diverging_rates_raise_with_every_step_finite(monkeypatch, estimator):
    rng = np.random.default_rng(0)
    X = 100.0 * rng.normal(size=(200, 5))
    y = (X[:, 0] > 0).astype(int)
    finite = _guard_steps(monkeypatch)
    with pytest.raises(ValueError, match="diverged.*learning rate"):
        if estimator == "sequential":
            model = Sequential([Dense(8, "relu", input_dim=5), Dense(2, "softmax")],
                               seed=0)
            model.compile(SGD(1e8, momentum=0.9), "sparse_categorical_crossentropy")
            model.fit(X, y, epochs=20, verbose=0)
        else:
            clf = MLPClassifier((8,), activation="identity", solver="sgd",
                                learning_rate_init=1e100, max_iter=50, random_state=0)
            clf.fit(X, y)
    assert finite and all(finite)


def test_logistic_sgd_divergence_keeps_the_previous_fit(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = LogisticRegression(solver="sgd", max_iter=5).fit(X, y)
    coef = clf.coef_.copy()
    clf.set_params(learning_rate=1e30)
    with pytest.raises(ValueError, match="diverged.*learning_rate"):
        clf.fit(X * 1e30, y)
    assert_array_equal(clf.coef_, coef)


def test_sum_of_squares_is_the_finiteness_test(dtype):
    v = np.arange(5, dtype=dtype)
    assert ops.sum_of_squares(v) == 30.0
    run, _ = ops.bind(ops.sum_of_squares, v)
    v[0] = np.nan
    assert np.isnan(run())
    v[0] = np.inf
    assert run() == np.inf
    big = np.full(3, np.finfo(dtype).max / 2, dtype)
    assert ops.sum_of_squares(big) == np.inf  # finite values, overflowing sum
    with pytest.raises(ValueError, match="1-D"):
        ops.sum_of_squares(np.ones((2, 2), dtype))


# ---------------------------------------------- read-only memory-mapped data


def _estimators():
    return {
        "logistic-lbfgs": LogisticRegression(),
        "logistic-sgd": LogisticRegression(solver="sgd", max_iter=3),
        "one-vs-all": OneVsAllClassifier(),
        "mlp": MLPClassifier((8,), max_iter=3, random_state=0),
    }


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_and_predict_on_a_read_only_memmap(tmp_path, data, dtype, tolerances):
    X, y = data
    np.save(tmp_path / "X.npy", X.astype(dtype))
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    assert not X_map.flags.writeable
    for name, estimator in _estimators().items():
        proba = estimator.fit(X_map, y).predict_proba(X_map)
        assert proba.dtype == dtype, name
        # (a memmap is not a plain ndarray: it takes the validated path, not the
        # serving one, and the two multiply with other BLAS calls: to rounding)
        assert_allclose(proba, estimator.predict_proba(X.astype(dtype)),
                        **tolerances[dtype], err_msg=name)
    model = _model()
    model.fit(X_map, y, epochs=2, verbose=0, validation_data=(X_map, y))
    assert model.dtype == dtype
    assert_allclose(model.predict(X_map), model.predict(X.astype(dtype)),
                    **tolerances[dtype])
    model.evaluate(X_map, y, verbose=0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", ["logistic-lbfgs", "logistic-sgd", "one-vs-all",
                                  "mlp", "sequential"])
def test_a_float32_memmap_is_not_copied(tmp_path, name):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "X.npy", rng.normal(size=(20_000, 40)).astype(np.float32))
    X = np.load(tmp_path / "X.npy", mmap_mode="r")
    y = (np.asarray(X[:, 0]) > 0).astype(int)
    if name == "sequential":
        estimator = Sequential([Dense(4, "relu", input_dim=40), Dense(2, "softmax")])
        estimator.compile("sgd", "sparse_categorical_crossentropy")
        arguments = dict(epochs=1, batch_size=500, verbose=0)
    else:
        estimator, arguments = _estimators()[name], {}
    fit = lambda: estimator.fit(X, y, **arguments)  # noqa: E731
    tracemalloc.start()
    try:
        fit()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * X.nbytes, f"{name}: {peak / X.nbytes:.0%} of X"
    if name == "sequential":
        weights = estimator.get_flat_weights()
    elif name == "one-vs-all":
        weights = estimator.estimators_[0].coef_
    else:
        weights = getattr(estimator, "coef_", None)
        weights = estimator.coefs_[0] if weights is None else weights
    assert weights.dtype == np.float32


# ------------------------------------- finite but huge weights: no NaN out of predict


def test_sequential_predict_refuses_to_return_an_overflowed_output():
    # Weights finite but huge (as a diverging step can leave them, after the epoch's
    # loss was measured) overflow the logits: softmax(inf - inf) would be NaN.
    X = np.array([[1.0, -1.0]], np.float32)
    model = Sequential([Dense(2, activation="softmax", input_dim=2)], seed=0)
    model.compile("sgd", "categorical_crossentropy")
    model.set_weights([np.array([[3e38, -3e38], [-3e38, 3e38]], np.float32),
                       np.zeros(2, np.float32)])
    with pytest.raises(ValueError, match="not finite for this finite input"):
        model.predict(X)
    X_small = np.array([[1e-3, 0.0]], np.float32)  # the same weights, no overflow
    assert np.isfinite(model.predict(X_small)).all()


def test_mlp_predict_refuses_to_return_an_overflowed_output():
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = np.arange(20) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)
    clf.coefs_[0][...] = 1e300  # coefs_ are views of the network's weights
    clf.coefs_[1][...] = 1e300  # every logit +inf: softmax(inf - inf) would be NaN
    for method in (clf.predict, clf.predict_proba):
        for rows in (X[:1], X):  # the one-row serving path and the batch path
            with pytest.raises(ValueError, match="not finite for this finite input"):
                method(np.abs(rows) + 1.0)
