"""The compiled training loop (fastnn/_kernels/train.pyx's BatchLoop, run by
fastnn.models.epoch) against the Python steps it calls in place: a model trained with
every step compiled and its twin (same seed, same architecture) trained with one step
in Python - a user's Optimizer subclass (stepped through ``apply``), a user's Loss
subclass (its ``from_logits``/``__call__``), a user's own Layer (Python runs) - end
with the same weights, history and iteration count bit for bit (issue 14); and so
does the path before the loop, each batch's calls run one by one from Python. Also:
the loop's accuracy count, divergence, misaligned data, the chunked runs, the
progress bar, and MLPClassifier."""

import functools
import gc
import weakref

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import MLPClassifier, Sequential, ops
from fastnn._threads import fit_threads
from fastnn.layers import Activation, Dense, Dropout, Maxout
from fastnn.models import Callback
from fastnn.models import epoch as epoch_module
from fastnn.models import training as training_module
from fastnn.nn import losses as losses_module
from fastnn.nn import optimizers as optimizers_module
from fastnn.nn.layers import Layer, Step
from fastnn.ops import training as loop_kernels
from fastnn.ops._loader import Call
from fastnn.optimizers import SGD, Adam

N_SAMPLES, N_FEATURES, BATCH_SIZE, EPOCHS = 37, 4, 8, 3  # 4 batches of 8, then 5
PYTHON_WAYS = ["optimizer", "loss", "layer", "all"]


# ------------------------------------------------------------ the Python steps


class PySGD(SGD):
    """A user's SGD: bind_update gives None, so the loop calls ``apply``."""


class PyAdam(Adam):
    """A user's Adam: bind_update gives None, so the loop calls ``apply``."""


_PYTHON_OPTIMIZER = {SGD: PySGD, Adam: PyAdam}


def _python_loss_class(base):
    class PythonLoss(base):
        """A user's loss: overriding from_logits and __call__ (calling the built-in
        ones) makes bind_training fall back to the generic Python callable."""

        def from_logits(self, *args, **kwargs):
            return super().from_logits(*args, **kwargs)

        def __call__(self, *args, **kwargs):
            return super().__call__(*args, **kwargs)

    PythonLoss.__name__ = "Python" + base.__name__
    return PythonLoss


_PYTHON_LOSS = {
    cls: _python_loss_class(cls)
    for cls in (
        losses_module.SparseCategoricalCrossentropy,
        losses_module.CategoricalCrossentropy,
        losses_module.BinaryCrossentropy,
        losses_module.MeanSquaredError,
    )
}


class Identity(Layer):
    """The identity as a user's own layer: forward and backward are Python runs (a
    copy into the layer's own buffer) the compiled loop calls in place."""

    def __init__(self):
        super().__init__()
        self.forward_runs = 0

    def _count_and_copy(self, Y, X):
        self.forward_runs += 1
        np.copyto(Y, X)

    def _steps(self):
        def bind_forward(X, training=False):
            Y = self._buffer("Y", X.shape)
            return [functools.partial(self._count_and_copy, Y, X)], Y

        def bind_backward(dY, need_dX=True):
            if not need_dX:
                return [], None
            dX = self._buffer("dX", dY.shape)
            return [functools.partial(np.copyto, dX, dY)], dX

        return [Step(bind_forward, bind_backward, None, False)]


# ---------------------------------------------------------------- the models


LOSSES = {  # name: (loss, outputs, output activation)
    "sparse_categorical": ("sparse_categorical_crossentropy", 3, "softmax"),
    "categorical_one_hot": ("categorical_crossentropy", 3, "softmax"),
    "binary_multi_label": ("binary_crossentropy", 3, "sigmoid"),
    "binary_single": ("binary_crossentropy", 1, "sigmoid"),
    "mse": ("mse", 3, None),
    "mse_single": ("mse", 1, None),
}

OPTIMIZERS = {
    "sgd": lambda: SGD(0.1),
    "momentum": lambda: SGD(0.1, momentum=0.9),
    "nesterov": lambda: SGD(0.05, momentum=0.9, nesterov=True),
    "decay": lambda: SGD(0.2, momentum=0.5, decay=0.3),
    "adam": lambda: Adam(0.01),
}

ARCHITECTURES = {  # name: (kernel_l2, dropout, maxout)
    "dense": (0.0, False, False),
    "l2": (0.01, False, False),
    "dropout": (0.0, True, False),
    "maxout": (0.0, False, True),
    "all": (0.01, True, True),
}


def _data(loss, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES)).astype(dtype)
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.3).astype(int)
    targets = {
        "sparse_categorical": labels,
        "categorical_one_hot": np.eye(3, dtype=dtype)[labels],
        "binary_multi_label": (X[:, :3] > rng.normal(size=(N_SAMPLES, 3)) * 0.5).astype(
            dtype
        ),
        "binary_single": (X[:, 0] + X[:, 2] > 0).astype(dtype),
        "mse": X[:, :3] * 2 + 0.5,
        "mse_single": X[:, 0] - X[:, 3],
    }[loss]
    sample_weight = rng.random(N_SAMPLES).astype(dtype)
    sample_weight[::3] = 0  # some rows count for nothing
    return X, targets, sample_weight


def _model(loss="sparse_categorical", optimizer="momentum", architecture="all",
           python=None, seed=0, metrics=("accuracy",)):
    """A small network, every step compiled (``python`` None; dropout's masks too),
    or with the steps of ``python`` ("optimizer", "loss", "layer" or "all") run from
    Python."""
    name, n_outputs, out_activation = LOSSES[loss]
    l2, dropout, maxout = ARCHITECTURES[architecture]
    layers = [Dense(7, "tanh", input_dim=N_FEATURES, kernel_l2=l2)]
    if python in ("layer", "all"):
        layers.append(Identity())
    if dropout:
        layers.append(Dropout(0.25))
    if maxout:
        layers.append(Maxout(5, pieces=3, kernel_l2=l2))
    layers.append(Dense(n_outputs, out_activation, kernel_l2=l2))
    model = Sequential(layers, seed=seed)
    opt = OPTIMIZERS[optimizer]() if isinstance(optimizer, str) else optimizer
    if python in ("optimizer", "all"):
        opt = _PYTHON_OPTIMIZER[type(opt)](**opt.get_config())
    loss_object = losses_module.get(name)
    if python in ("loss", "all"):
        loss_object = _PYTHON_LOSS[type(loss_object)]()
    model.compile(opt, loss_object, list(metrics))
    return model


def _fit(model, X, y, sample_weight=None, **kwargs):
    """(final flat weights, history, optimizer.iterations) of a fit."""
    kwargs = {"batch_size": BATCH_SIZE, "epochs": EPOCHS, "verbose": 0, **kwargs}
    history = model.fit(X, y, sample_weight=sample_weight, **kwargs)
    return model.get_flat_weights(), history.history, model.optimizer.iterations


def _assert_same(got, want):
    weights, history, iterations = got
    assert weights.dtype == want[0].dtype
    assert_array_equal(weights, want[0])
    assert weights.tobytes() == want[0].tobytes()  # bit for bit, signed zeros too
    assert history == want[1]  # every loss and accuracy, exactly
    assert iterations == want[2]


# ------------------------------------------- which steps the loop runs in Python


@pytest.fixture
def loops(monkeypatch):
    """Every BatchLoop epoch.py builds, with what it was handed (``given``)."""
    built = []

    class Recording(loop_kernels.BatchLoop):
        def __init__(self, rows, weights, forward, output, targets, count_mode,
                     threshold, loss, loss_divisor, loss_multiplier, batch_losses,
                     backward, *rest):
            super().__init__(rows, weights, forward, output, targets, count_mode,
                             threshold, loss, loss_divisor, loss_multiplier,
                             batch_losses, backward, *rest)
            self.given = {"forward": list(forward), "backward": list(backward),
                          "loss": loss, "count_mode": count_mode,
                          "threshold": threshold}
            built.append(self)

        def set_gathers(self, gathers):
            if gathers is not None:
                self.given["gathers"] = list(gathers)
            return super().set_gathers(gathers)

        def set_update(self, optimizer):
            self.given["optimizer"] = optimizer
            return super().set_update(optimizer)

    monkeypatch.setattr(loop_kernels, "BatchLoop", Recording)
    return built


def _python_parts(loop):
    """The parts of a loop's batch that run from Python."""
    given = loop.given
    parts = set()
    if not all(isinstance(run, Call) for run in given["forward"]):
        parts.add("forward")
    if not all(isinstance(run, Call) for run in given["backward"]):
        parts.add("backward")
    if not isinstance(given["loss"], Call):
        parts.add("loss")
    if not isinstance(given["optimizer"], list):
        parts.add("optimizer")
    assert all(isinstance(run, Call) for run in given["gathers"])
    return parts


EXPECTED_PYTHON_PARTS = {
    None: set(),
    "optimizer": {"optimizer"},
    "loss": {"loss"},
    "layer": {"forward", "backward"},
    "all": {"optimizer", "loss", "forward", "backward"},
}


def _compare_with_twins(loops, fit_args, model_args, ways=PYTHON_WAYS, fit_kwargs=()):
    """Fit the compiled model and a twin per way of reaching Python: the same
    results, and each loop ran exactly the expected parts from Python."""
    fit_kwargs = dict(fit_kwargs)
    results = {}
    for python in [None, *ways]:
        del loops[:]
        model = _model(python=python, **model_args)
        results[python] = _fit(model, *fit_args, **fit_kwargs)
        assert loops, "fit ran no compiled loop"
        for loop in loops:
            assert _python_parts(loop) == EXPECTED_PYTHON_PARTS[python]
        if python in ("layer", "all"):
            (identity,) = [lay for lay in model.layers if isinstance(lay, Identity)]
            assert identity.forward_runs >= fit_kwargs.get("epochs", EPOCHS)
    for python in ways:
        _assert_same(results[python], results[None])
    return results[None]


# ------------------------------------------------ the matrix of compiled == Python


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("loss", list(LOSSES))
def test_python_steps_train_as_the_compiled_ones(loops, loss, optimizer, weighted,
                                                 dtype):
    X, y, sample_weight = _data(loss, dtype)
    weights, history, iterations = _compare_with_twins(
        loops, (X, y, sample_weight if weighted else None),
        {"loss": loss, "optimizer": optimizer, "architecture": "maxout"},
    )
    assert iterations == EPOCHS * 5  # 4 batches of 8 and one of 5 per epoch
    assert len(history["loss"]) == EPOCHS and len(history["accuracy"]) == EPOCHS
    assert np.isfinite(weights).all()


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
@pytest.mark.parametrize("loss", ["sparse_categorical", "binary_multi_label", "mse"])
def test_python_steps_train_as_the_compiled_ones_in_every_architecture(
        loops, architecture, loss, dtype):
    X, y, sample_weight = _data(loss, dtype, seed=1)
    _compare_with_twins(
        loops, (X, y, sample_weight),
        {"loss": loss, "optimizer": "nesterov", "architecture": architecture},
    )


@pytest.mark.parametrize("batch_size", [1, 5, 36, 37, 50])
def test_python_steps_train_as_the_compiled_ones_for_any_batch_size(loops,
                                                                    batch_size):
    X, y, _ = _data("sparse_categorical", np.float32, seed=2)
    _, _, iterations = _compare_with_twins(
        loops, (X, y), {"optimizer": "adam", "architecture": "all"},
        fit_kwargs={"batch_size": batch_size, "epochs": 2},
    )
    assert iterations == 2 * -(-N_SAMPLES // batch_size)


def test_a_batch_of_zero_weights_takes_no_step(loops, dtype):
    X, y, sample_weight = _data("categorical_one_hot", dtype, seed=3)
    sample_weight[8:16] = 0  # the second batch, unshuffled
    initial = _model("categorical_one_hot", "decay").build(N_FEATURES, dtype)
    initial = initial.get_flat_weights()
    weights, _, iterations = _compare_with_twins(
        loops, (X, y, sample_weight), {"loss": "categorical_one_hot",
                                       "optimizer": "decay"},
        fit_kwargs={"shuffle": False},
    )
    assert iterations == EPOCHS * 4  # the zero batch does not count as a step
    assert not np.array_equal(weights, initial)


def test_a_model_without_weights_fits_on_both_paths(loops, dtype):
    X, y, _ = _data("mse", dtype, seed=4)
    X = np.ascontiguousarray(X[:, :3])  # tanh keeps the width: 3 outputs
    results = {}
    for python in (None, "optimizer", "loss", "layer"):
        del loops[:]
        layers = [Activation("tanh")] + ([Identity()] if python == "layer" else [])
        model = Sequential(layers, seed=0)
        optimizer = PySGD(0.1) if python == "optimizer" else SGD(0.1)
        loss = (_PYTHON_LOSS[losses_module.MeanSquaredError]() if python == "loss"
                else "mse")
        model.compile(optimizer, loss, ["accuracy"])
        results[python] = _fit(model, X, y)
        assert results[python][0].size == 0
        assert results[python][2] == 0  # nothing to step
        assert all(not loop.given["backward"] for loop in loops)
    for python in ("optimizer", "loss", "layer"):
        _assert_same(results[python], results[None])
    # the epoch's loss is the mean loss of the fixed network
    assert_allclose(results[None][1]["loss"],
                    [model.evaluate(X, y, verbose=0)[0]] * EPOCHS, rtol=1e-12)


def test_a_softmax_alone_fits_on_the_logits_it_is_given(dtype):
    # The softmax is fused into the loss, so the loop has no forward run at all: the
    # loss reads the gathered batch itself.
    X, y, _ = _data("sparse_categorical", dtype, seed=5)
    X = np.ascontiguousarray(X[:, :3])
    model = Sequential([Activation("softmax")], seed=0)
    model.compile("sgd", "sparse_categorical_crossentropy", ["accuracy"])
    history = model.fit(X, y, batch_size=BATCH_SIZE, epochs=2, verbose=0)
    loss, accuracy = model.evaluate(X, y, verbose=0)
    assert_allclose(history.history["loss"], [loss, loss], rtol=1e-6)
    assert history.history["accuracy"] == [accuracy, accuracy]
    assert model.optimizer.iterations == 0


@pytest.mark.parametrize("loss", ["sparse_categorical", "binary_multi_label", "mse"])
def test_train_on_batch_matches_on_both_paths(loss, dtype):
    X, y, sample_weight = _data(loss, dtype, seed=6)
    results = {}
    for python in (None, *PYTHON_WAYS):
        model = _model(loss, "adam", "all", python=python)
        values = [
            model.train_on_batch(X[:10], y[:10]),
            model.train_on_batch(X[10:30], y[10:30], sample_weight[10:30]),
            model.train_on_batch(X[:10], y[:10]),
            model.train_on_batch(X, y),
        ]
        results[python] = (model.get_flat_weights(), values, model.optimizer.iterations)
    for python in PYTHON_WAYS:
        _assert_same(results[python], results[None])
    assert results[None][2] == 4


# ------------------------------------------ the Python path one call at a time


def _reference_fit(model, X, y, sample_weight, batch_size, epochs):
    """Unshuffled epochs the way run_epoch took them before the compiled loop: each
    batch's calls bound and run from Python, the L2 terms through ops.l2_penalty,
    the step through optimizer.apply; returns what :func:`_fit` returns."""
    X, y, sample_weight = model._check_data(X, y, sample_weight)
    plan = model._plan()
    penalized = [(layer.params[0], layer.grads[0], layer.kernel_l2)
                 for layer in model.layers if getattr(layer, "kernel_l2", 0.0)]
    n_samples, n_outputs = X.shape[0], model.n_outputs
    total_weight = n_samples if sample_weight is None else float(sample_weight.sum())
    history = {"loss": [], "accuracy": []}
    for _ in range(epochs):
        losses = np.empty(n_samples, X.dtype)
        right, penalty = 0, 0.0
        for start in range(0, n_samples, batch_size):
            stop = min(start + batch_size, n_samples)
            X_batch, y_batch = X[start:stop], y[start:stop]
            weights = None if sample_weight is None else sample_weight[start:stop]
            if weights is None:
                scale = 1.0 / (stop - start)
            else:
                total = 0.0
                for weight in weights:  # in double, row by row, as the loop sums
                    total += float(weight)
                scale = 1.0 / total if total > 0 else 0.0
            with fit_threads(model._largest_gemm(min(batch_size, n_samples))):
                runs, output = plan.bind_forward(X_batch, True)
                for run in runs:
                    run()
                count = epoch_module.n_correct(output, y_batch, plan.threshold)
                right += round(count * (n_outputs if plan.threshold is not None else 1))
                grad = np.empty(output.shape, X.dtype)
                plan.loss_function(output, y_batch, weights, scale, True,
                                   losses[start:stop], grad)
                if scale == 0:
                    continue
                for run in plan.bind_backward(grad):
                    run()
                penalty += epoch_module.add_penalty(penalized, scale)
                model.optimizer.apply([model.flat_weights], [model._grads])
        history["loss"].append(
            (float(losses.sum(dtype=np.float64)) + 0.5 * penalty) / total_weight
        )
        if plan.threshold is not None and y.ndim == 2:
            right /= y.shape[1]
        history["accuracy"].append(right / n_samples)
    return model.get_flat_weights(), history, model.optimizer.iterations


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("optimizer", ["decay", "adam"])
@pytest.mark.parametrize("loss", list(LOSSES))
def test_the_loop_equals_the_python_path_one_call_at_a_time(loss, optimizer, weighted,
                                                            dtype):
    # Independent of the loop: the scale of a weighted batch, the L2 terms of the
    # gradient and the loss, the per-sample losses of a multi-label loss, the rates.
    X, y, sample_weight = _data(loss, dtype, seed=14)
    sample_weight[8:16] = 0  # the second batch takes no step
    sample_weight = sample_weight if weighted else None
    compiled = _fit(_model(loss, optimizer, "all"), X, y, sample_weight, shuffle=False)
    reference = _reference_fit(_model(loss, optimizer, "all"), X, y, sample_weight,
                               BATCH_SIZE, EPOCHS)
    _assert_same(compiled, reference)


def _misaligned(array):
    """A copy of ``array`` one byte into a bytearray: C-contiguous, not aligned."""
    raw = bytearray(array.nbytes + 1)
    view = np.frombuffer(raw, array.dtype, count=array.size, offset=1).reshape(
        array.shape
    )
    view[...] = array
    return view


@pytest.mark.parametrize("loss", ["sparse_categorical", "binary_multi_label"])
def test_misaligned_data_trains_as_aligned_data(loss, dtype):
    # The rows are gathered as bytes, which take any alignment; the batch buffers the
    # kernels read are the model's own, aligned.
    X, y, sample_weight = _data(loss, dtype, seed=15)
    if y.dtype.kind == "i":
        y = y.astype(np.intp)
    aligned = _fit(_model(loss), X, y, sample_weight)
    arrays = [_misaligned(a) for a in (X, y, sample_weight)]
    assert not any(a.flags.aligned for a in arrays)
    _assert_same(_fit(_model(loss), *arrays), aligned)


def test_a_fitted_model_keeps_no_reference_to_its_data():
    X, y, _ = _data("sparse_categorical", np.float64, seed=17)
    model = _model()
    model.fit(X, y, epochs=2, verbose=0)
    model.train_on_batch(X[:8], y[:8])
    alive = weakref.ref(X)
    del X
    gc.collect()
    assert alive() is None


def test_a_kernel_l2_changed_between_fits_takes_effect():
    X, y, _ = _data("sparse_categorical", np.float64, seed=16)
    changed = _model(architecture="l2")
    changed.fit(X, y, epochs=1, verbose=0, shuffle=False)
    fresh = _model(architecture="l2")
    fresh.fit(X, y, epochs=1, verbose=0, shuffle=False)
    for model in (changed, fresh):
        for layer in model.layers:
            if hasattr(layer, "kernel_l2"):
                layer.kernel_l2 = 0.0
    fresh.compile(fresh.optimizer, fresh.loss, ["accuracy"])  # unbinds the batches
    _assert_same(_fit(changed, X, y, epochs=1, shuffle=False),
                 _fit(fresh, X, y, epochs=1, shuffle=False))


class _ChangeHyperParameters(Callback):
    """After each epoch, new momentum and Nesterov (SGD) or beta_1 and epsilon
    (Adam), as a user's schedule might set them."""

    def on_epoch_end(self, epoch, logs=None):
        _change_hyper_parameters(self.model.optimizer, epoch)


def _change_hyper_parameters(optimizer, epoch):
    if isinstance(optimizer, SGD):
        optimizer.momentum, optimizer.nesterov = 0.5 - 0.1 * epoch, epoch % 2 == 0
    else:
        optimizer.beta_1, optimizer.epsilon = 0.5 - 0.1 * epoch, 1e-3


@pytest.mark.parametrize("when", ["between_epochs", "between_fits"])
@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_hyper_parameters_changed_during_training_apply_on_both_paths(optimizer,
                                                                      when):
    X, y, _ = _data("sparse_categorical", np.float64, seed=17)
    results = {}
    for python in (None, "optimizer"):
        model = _model(optimizer=optimizer, architecture="dense", python=python)
        if when == "between_epochs":
            results[python] = _fit(model, X, y, callbacks=[_ChangeHyperParameters()])
        else:
            for epoch in range(EPOCHS):
                results[python] = _fit(model, X, y, epochs=1)
                _change_hyper_parameters(model.optimizer, epoch)
    _assert_same(results["optimizer"], results[None])


def test_the_loop_refuses_arrays_it_cannot_read(dtype):
    n, k = 4, 3
    rows = np.empty(n, np.intp)
    output, targets = np.empty((n, k), dtype), np.empty((n, k), dtype)
    losses = np.empty(n, dtype)

    def loop(**changes):
        args = {
            "rows": rows, "weights": None, "forward": [], "output": output,
            "targets": targets, "count_mode": loop_kernels.COUNT_ARGMAX_TARGETS,
            "threshold": 0.0, "loss": lambda scale: None, "loss_divisor": 1.0,
            "loss_multiplier": 1.0, "batch_losses": losses, "backward": [],
            "penalties": [], "grads_check": None, "params_check": None,
        }
        args.update(changes)  # keeps the order, BatchLoop's arguments'
        return loop_kernels.BatchLoop(*args.values())

    loop()  # as given, the arrays are right
    other = np.float64 if dtype == np.float32 else np.float32
    for changes in [
        {"rows": rows.astype(np.int32)},
        {"rows": np.empty(0, np.intp)},
        {"output": output.astype(other)},
        {"output": np.empty((n + 1, k), dtype)},
        {"output": np.empty((n, 2 * k), dtype)[:, ::2]},
        {"batch_losses": losses.astype(other)},
        {"batch_losses": np.empty(n - 1, dtype)},
        {"weights": np.empty(n + 1, dtype)},
        {"targets": np.empty((n, k + 1), dtype)},
        {"targets": targets.astype(other)},
        {"count_mode": loop_kernels.COUNT_ARGMAX_LABELS},  # float targets, not labels
        {"forward": [Call()]},
        {"forward": [object()]},
    ]:
        with pytest.raises((TypeError, ValueError)):
            loop(**changes)


# ------------------------------------------------------------ counting accuracy


def _counting_loop(P, y, count_mode, threshold, n_rows):
    """A BatchLoop whose forward copies the rows of predictions ``P`` for the
    gathered rows; no loss, no weights, no step: it only counts."""
    rows = np.empty(n_rows, np.intp)
    output = np.empty((n_rows, P.shape[1]), P.dtype)
    targets = np.empty((n_rows, *y.shape[1:]), y.dtype)
    batch_losses = np.zeros(n_rows, P.dtype)

    def forward():
        ops.take_rows(P, rows, out=output)

    loop = loop_kernels.BatchLoop(
        rows, None, [forward], output, targets, count_mode, threshold,
        lambda scale: None, 1.0, 1.0, batch_losses, [], [], None, None,
    )
    gather, _ = ops.bind(ops.take_rows, y, rows, out=targets)
    loop.set_gathers([gather])
    loop.set_update(lambda: None)
    return loop


def _loop_count(P, y, count_mode, threshold, n_rows, order):
    loop = _counting_loop(P, y, count_mode, threshold, n_rows)
    losses = np.empty(len(order), P.dtype)
    n_batches = len(order) // n_rows
    status, batches, steps, right, penalty = loop.run(
        order, 0, n_batches, None, None, losses, 1e9
    )
    assert (status, batches, steps, penalty) == (loop_kernels.OK, n_batches, 0, 0.0)
    return right


def _predictions(rng, n, k, dtype, nan_rows=0):
    P = rng.normal(size=(n, k)).astype(dtype)
    P[rng.random((n, k)) < 0.2] = 0.0  # ties at the threshold and within rows
    P[1] = P[1, 0]  # a row of equal values: the first wins
    for i in range(nan_rows):  # NaN first, in the middle, last, or everywhere
        row = 2 + i
        if i % 4 == 3:
            P[row] = np.nan
        else:
            P[row, (i % 4) * (k - 1) // 2] = np.nan
        if i % 3 == 1:
            P[row, -1] = np.inf
    return P


@pytest.mark.parametrize("nan_rows", [0, 8], ids=["finite", "nan"])
@pytest.mark.parametrize("k", [1, 2, 5])
def test_the_loop_counts_argmax_labels_as_n_correct(nan_rows, k, dtype):
    rng = np.random.default_rng(k)
    n = 24
    P = _predictions(rng, n, k, dtype, nan_rows)
    y = rng.integers(0, k, size=n).astype(np.intp)
    y[2:10] = np.argmax(P[2:10], axis=1)  # a NaN row right by NumPy's argmax
    order = rng.permutation(n)
    right = _loop_count(P, y, loop_kernels.COUNT_ARGMAX_LABELS, 0.0, 6, order)
    assert right == epoch_module.n_correct(P[order], y[order], None)


@pytest.mark.parametrize("nan_rows", [0, 8], ids=["finite", "nan"])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_the_loop_counts_argmax_of_one_hot_targets_as_n_correct(nan_rows, k, dtype):
    rng = np.random.default_rng(10 + k)
    n = 24
    P = _predictions(rng, n, k, dtype, nan_rows)
    labels = rng.integers(0, k, size=n)
    labels[2:10] = np.argmax(P[2:10], axis=1)
    Y = np.eye(k, dtype=dtype)[labels]
    order = rng.permutation(n)
    right = _loop_count(P, Y, loop_kernels.COUNT_ARGMAX_TARGETS, 0.0, 8, order)
    assert right == epoch_module.n_correct(P[order], Y[order], None)


@pytest.mark.parametrize("threshold", [0.0, 0.5])
@pytest.mark.parametrize("nan_rows", [0, 8], ids=["finite", "nan"])
@pytest.mark.parametrize("k", [1, 3])
def test_the_loop_counts_thresholds_as_n_correct(threshold, nan_rows, k, dtype):
    rng = np.random.default_rng(20 + k)
    n = 24
    P = _predictions(rng, n, k, dtype, nan_rows)
    P[P == 0.0] = threshold  # exactly at the threshold: not above it
    Y = (rng.random((n, k)) < 0.5).astype(dtype)
    Y[0] = 0.5  # a target of 0.5 counts as 0
    order = rng.permutation(n)
    right = _loop_count(P, Y, loop_kernels.COUNT_THRESHOLD, threshold, 4, order)
    # a row of k outputs counts its fraction of right outputs (run_epoch divides)
    assert right / k == epoch_module.n_correct(P[order], Y[order], threshold)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_the_accuracy_of_a_step_is_n_correct_of_its_predictions(loss, dtype):
    X, y, _ = _data(loss, dtype, seed=7)
    model = _model(loss, "sgd", "maxout").build(N_FEATURES, dtype)
    plan = model._plan()
    output = model.forward(X, logits=plan.fused, batch_size=N_SAMPLES)
    expected = epoch_module.n_correct(output, y.reshape(N_SAMPLES, -1) if y.ndim == 1
                                      and plan.threshold is not None else y,
                                      plan.threshold) / N_SAMPLES
    _, accuracy = model.train_on_batch(X, y)  # counted before its step
    assert accuracy == expected
    # and fit's first epoch, one unshuffled batch, counts the same
    twin = _model(loss, "sgd", "maxout")
    history = twin.fit(X, y, batch_size=N_SAMPLES, epochs=1, verbose=0, shuffle=False)
    assert history.history["accuracy"] == [expected]


# ------------------------------------------------------------------- divergence


def _divergence_model(python, dtype, learning_rate):
    layers = [Dense(3, input_dim=N_FEATURES, kernel_l2=0.01)]
    if python in ("layer", "all"):
        layers.append(Identity())
    layers.append(Dense(1))
    model = Sequential(layers, seed=0)
    optimizer = SGD(learning_rate, momentum=0.9)
    if python in ("optimizer", "all"):
        optimizer = PySGD(learning_rate, momentum=0.9)
    loss = "mse"
    if python in ("loss", "all"):
        loss = _PYTHON_LOSS[losses_module.MeanSquaredError]()
    model.compile(optimizer, loss)
    return model


def _diverge(python, dtype, X, y, learning_rate, epochs=1, callbacks=None):
    model = _divergence_model(python, dtype, learning_rate)
    model.build(N_FEATURES, dtype)
    before = model.get_flat_weights()
    with pytest.raises(ValueError, match="training diverged") as error:
        model.fit(X, y, batch_size=BATCH_SIZE, epochs=epochs, verbose=0,
                  shuffle=False, callbacks=callbacks)
    return model, before, str(error.value)


def test_a_diverged_gradient_stops_both_paths_alike_and_restores_the_weights(dtype):
    rng = np.random.default_rng(8)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES)).astype(dtype)
    y = rng.normal(size=N_SAMPLES).astype(dtype)
    huge = 1e30 if dtype == np.float32 else 1e200  # X W finite, X^T dZ not
    X[10], y[10] = huge, huge  # in the second batch
    messages = set()
    for python in (None, *PYTHON_WAYS):
        model, before, message = _diverge(python, dtype, X, y, 0.01)
        messages.add(message)
        assert_array_equal(model.get_flat_weights(), before)
        assert model.optimizer.iterations == 0
        assert model.optimizer.get_state()[1] == []
    (message,) = messages
    assert "epoch 1, batch 2: the gradient became NaN or inf" in message


def test_diverged_weights_stop_both_paths_alike_and_restore_the_weights(dtype):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES)).astype(dtype)
    y = (rng.normal(size=N_SAMPLES) * 1e3).astype(dtype)
    learning_rate = 1e37 if dtype == np.float32 else 1e306  # the step overflows
    messages = set()
    for python in (None, *PYTHON_WAYS):
        model, before, message = _diverge(python, dtype, X, y, learning_rate)
        messages.add(message)
        assert_array_equal(model.get_flat_weights(), before)
        assert model.optimizer.iterations == 0
    (message,) = messages
    assert "epoch 1, batch 1: the weights became NaN or inf" in message


class _RaiseRate(Callback):
    """After the first epoch, a rate that makes the next step overflow."""

    def __init__(self, rate):
        self.rate = rate

    def on_epoch_end(self, epoch, logs=None):
        self.weights = self.model.get_flat_weights()
        iterations, slots = self.model.optimizer.get_state()
        self.state = iterations, [slot.copy() for slot in slots]
        self.model.optimizer.learning_rate = self.rate


def test_divergence_in_a_later_epoch_restores_that_epochs_start(dtype):
    rng = np.random.default_rng(10)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES)).astype(dtype)
    y = (rng.normal(size=N_SAMPLES) * 1e3).astype(dtype)
    rate = 1e37 if dtype == np.float32 else 1e306
    messages, results = set(), {}
    for python in (None, *PYTHON_WAYS):
        callback = _RaiseRate(rate)
        model, _, message = _diverge(python, dtype, X, y, 1e-4, epochs=2,
                                     callbacks=[callback])
        messages.add(message)
        assert_array_equal(model.get_flat_weights(), callback.weights)
        iterations, slots = model.optimizer.get_state()
        assert iterations == callback.state[0] == 5
        for got, want in zip(slots, callback.state[1], strict=True):
            assert_array_equal(got, want)
        results[python] = model.get_flat_weights()
    (message,) = messages
    assert "epoch 2, batch 1: the weights became NaN or inf" in message
    for python in PYTHON_WAYS:
        assert_array_equal(results[python], results[None])


# ------------------------------------------------------ chunks and the progress bar


@pytest.fixture
def bars(monkeypatch):
    """Every progress bar fit shows, with the sizes of its updates."""
    shown = []
    real = training_module.progress_bar

    def recording(*args):
        bar = real(*args)
        if bar is not None:
            bar.steps = []
            update = bar.update
            bar.update = lambda n=1: (bar.steps.append(n), update(n))[1]
            shown.append(bar)
        return bar

    monkeypatch.setattr(training_module, "progress_bar", recording)
    return shown


@pytest.mark.parametrize("optimizer", ["adam", "decay"])
def test_one_batch_per_run_gives_the_weights_of_the_default_chunks(
        monkeypatch, bars, optimizer, dtype):
    X, y, sample_weight = _data("sparse_categorical", dtype, seed=11)
    default = _fit(_model(optimizer=optimizer), X, y, sample_weight, verbose=1)
    assert all(bar.n == bar.total == 5 for bar in bars)
    del bars[:]
    monkeypatch.setattr(epoch_module, "CHUNK_SECONDS", 0.0)
    chunked = _fit(_model(optimizer=optimizer), X, y, sample_weight, verbose=1)
    _assert_same(chunked, default)
    assert len(bars) == EPOCHS
    for bar in bars:
        assert bar.steps == [1] * 5  # each run did one batch
        assert bar.n == bar.total == 5
    python = _fit(_model(optimizer=optimizer, python="all"), X, y, sample_weight)
    _assert_same(python, default)


def test_the_progress_bar_reaches_the_number_of_batches(bars, capsys):
    X, y, _ = _data("binary_single", np.float32, seed=12)
    model = _model("binary_single", "momentum", "dense")
    model.fit(X, y, batch_size=BATCH_SIZE, epochs=2, verbose=1)
    assert len(bars) == 2
    for bar in bars:
        assert bar.total == 5 and bar.n == 5 and sum(bar.steps) == 5
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "5/5" in out


# ------------------------------------------------------------------ MLPClassifier


def _force_python(monkeypatch):
    """Every optimizer steps through apply, every loss through its Python callable."""
    monkeypatch.setattr(SGD, "bind_update", optimizers_module.Optimizer.bind_update)
    monkeypatch.setattr(Adam, "bind_update", optimizers_module.Optimizer.bind_update)
    for cls in (losses_module.CategoricalCrossentropy,
                losses_module.BinaryCrossentropy, losses_module.MeanSquaredError):
        monkeypatch.setattr(cls, "bind_training", losses_module.Loss.bind_training)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver, settings", [
    ("sgd", {"momentum": 0.9, "nesterovs_momentum": True,
             "learning_rate": "invscaling"}),
    ("sgd", {"momentum": 0.5, "nesterovs_momentum": False, "alpha": 0.01,
             "learning_rate": "adaptive", "n_iter_no_change": 1, "tol": 1.0}),
    ("adam", {"activation": "maxout", "dropout": 0.1}),
], ids=["sgd-invscaling", "sgd-adaptive", "adam-maxout-dropout"])
@pytest.mark.parametrize("target", ["multiclass", "binary", "multilabel"])
def test_mlp_classifier_trains_alike_on_both_paths(monkeypatch, loops, solver,
                                                   settings, target, dtype):
    rng = np.random.default_rng(13)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES)).astype(dtype)
    y = {
        "multiclass": (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.3).astype(int),
        "binary": (X[:, 0] > 0).astype(int),
        "multilabel": (X[:, :3] > 0).astype(int),
    }[target]
    params = dict(hidden_layer_sizes=(6,), solver=solver, batch_size=8, max_iter=4,
                  random_state=0, learning_rate_init=0.05, **settings)
    if "activation" not in params:
        params["activation"] = "tanh"
    compiled = MLPClassifier(**params).fit(X, y)
    assert all(_python_parts(loop) <= {"forward"} for loop in loops)
    with monkeypatch.context() as patch:
        _force_python(patch)
        del loops[:]
        python = MLPClassifier(**params).fit(X, y)
        assert all({"loss", "optimizer"} <= _python_parts(loop) for loop in loops)
    assert_array_equal(python._model.get_flat_weights(),
                       compiled._model.get_flat_weights())
    assert python.loss_curve_ == compiled.loss_curve_
    assert python.n_iter_ == compiled.n_iter_
    assert_array_equal(python.predict_proba(X), compiled.predict_proba(X))


def test_a_deep_copy_trains_as_the_original_and_apart_from_it():
    # The bound calls are not copied (they point at the original's arrays); the
    # copy's layers are views of its own flat vector, so it trains on its own.
    import copy

    X, y, _ = _data("sparse_categorical", np.float32, seed=21)
    model = _model(architecture="all")
    model.fit(X, y, epochs=1, verbose=0)
    model.predict(X)
    twin = copy.deepcopy(model)
    assert not np.shares_memory(twin.flat_weights, model.flat_weights)
    assert all(layer._model() is twin for layer in twin.layers if layer.params)
    _assert_same(_fit(twin, X, y), _fit(model, X, y))
    assert_array_equal(twin.predict(X), model.predict(X))
