"""The classic optimizers (fastnn.optimizers RMSprop, Adagrad, Adadelta, Adamax, Nadam):
Keras' names and defaults, refused arguments, compile by name, two steps of each by
hand through ``apply`` (with Keras 1's decay), float32 kept, the compiled training loop
equal bit for bit to the Python ``apply`` path, and the state's round trip."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import Sequential
from fastnn.layers import Dense
from fastnn.optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, Nadam, RMSprop, get

CLASSES = [RMSprop, Adagrad, Adadelta, Adamax, Nadam]
EXACT = dict(rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------- constructors


@pytest.mark.parametrize("cls, defaults", [
    (RMSprop, dict(learning_rate=0.001, rho=0.9, epsilon=1e-7, decay=0.0, momentum=0.0,
                   centered=False)),
    (Adagrad, dict(learning_rate=0.01, epsilon=1e-7, decay=0.0,
                   initial_accumulator_value=0.0)),
    (Adadelta, dict(learning_rate=1.0, rho=0.95, epsilon=1e-7, decay=0.0)),
    (Adamax, dict(learning_rate=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                  decay=0.0)),
    (Nadam, dict(learning_rate=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 schedule_decay=0.004)),
], ids=lambda value: getattr(value, "__name__", ""))
def test_keras_names_and_defaults(cls, defaults):
    optimizer = cls()
    assert optimizer.get_config() == defaults
    assert optimizer.iterations == 0
    assert cls.from_config(defaults).get_config() == defaults
    assert repr(optimizer).startswith(f"{cls.__name__}(learning_rate=")


@pytest.mark.parametrize("cls", CLASSES)
def test_keras1_lr_alias(cls):
    assert cls(lr=0.5).learning_rate == 0.5
    assert cls(0.25).learning_rate == 0.25
    with pytest.raises(ValueError, match="disagree"):
        cls(learning_rate=0.1, lr=0.2)


@pytest.mark.parametrize("cls, kwargs, match", [
    (RMSprop, dict(rho=-0.1), r"rho must be in \[0.0, 1.0\]"),
    (RMSprop, dict(rho=1.0), "rho must be below 1"),
    (RMSprop, dict(epsilon=0.0), r"epsilon must be in \(0.0, inf\]"),
    (RMSprop, dict(decay=-1e-3), "decay must be in"),
    (RMSprop, dict(learning_rate=0.0), "learning_rate"),
    (RMSprop, dict(momentum=-0.5), r"momentum must be in \[0.0, 1.0\]"),
    (RMSprop, dict(momentum=1.5), r"momentum must be in \[0.0, 1.0\]"),
    (Adagrad, dict(epsilon=-1e-7), "epsilon"),
    (Adagrad, dict(initial_accumulator_value=-0.1), "initial_accumulator_value must"),
    (Adagrad, dict(initial_accumulator_value=float("nan")), "must be finite"),
    (Adadelta, dict(rho=1.5), "rho must be in"),
    (Adadelta, dict(learning_rate=-1.0), "learning_rate"),
    (Adamax, dict(beta_1=1.0), "beta_1 must be below 1"),
    (Adamax, dict(beta_2=-0.1), "beta_2 must be in"),
    (Adamax, dict(epsilon=0.0), "epsilon"),
    (Nadam, dict(beta_1=1.0), "beta_1 must be below 1"),
    (Nadam, dict(beta_2=1.5), "beta_2 must be in"),
    (Nadam, dict(schedule_decay=-0.004), "schedule_decay must be in"),
    (Nadam, dict(epsilon=float("inf")), "epsilon must be finite"),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize("cls, kwargs", [
    (RMSprop, dict(rho="0.9")), (Nadam, dict(beta_1=None)), (Adagrad, dict(decay=True)),
])
def test_non_numbers_are_type_errors(cls, kwargs):
    with pytest.raises(TypeError, match="must be a real number"):
        cls(**kwargs)


def test_centered_must_be_a_bool():
    with pytest.raises(TypeError, match="centered must be a bool"):
        RMSprop(centered="yes")


@pytest.mark.parametrize("name, cls", [
    ("rmsprop", RMSprop), ("adagrad", Adagrad), ("adadelta", Adadelta),
    ("adamax", Adamax), ("nadam", Nadam), ("RMSprop", RMSprop), ("Nadam", Nadam),
    ("sgd", SGD), ("adam", Adam),
])
def test_compile_accepts_names(name, cls):
    model = Sequential([Dense(1, input_dim=2)])
    model.compile(optimizer=name, loss="mse")
    assert type(model.optimizer) is cls
    assert model.optimizer.get_config() == cls().get_config()
    assert type(get(name)) is cls


# -------------------------------------------------------------- two steps by hand


def _two_steps(optimizer, grads=(2.0, 1.0), dtype=np.float64):
    w = np.array([1.0], dtype)
    steps = []
    for g in grads:
        optimizer.apply([w], [np.array([g], dtype)])
        steps.append(float(w[0]))
    assert optimizer.iterations == len(grads)
    return steps


def test_rmsprop_by_hand_with_decay():
    # lr 0.1, decay 0.5: rates 0.1 then 0.1 / 1.5. S1 = 0.4, S2 = 0.36 + 0.1 = 0.46.
    steps = _two_steps(RMSprop(lr=0.1, decay=0.5))
    w1 = 1 - 0.1 * 2 / (math.sqrt(0.4) + 1e-7)
    assert_allclose(steps, [w1, w1 - 0.1 / 1.5 / (math.sqrt(0.46) + 1e-7)], **EXACT)


@pytest.mark.parametrize("centered", [False, True], ids=["plain", "centered"])
@pytest.mark.parametrize("momentum", [0.0, 0.5], ids=["no-momentum", "momentum"])
def test_rmsprop_centered_and_momentum_by_hand(centered, momentum):
    # g = 2 then 1, rho 0.9, lr 0.1: S1 = 0.4, S2 = 0.46; centered A1 = 0.2,
    # A2 = 0.28, so the roots are of 0.4 - 0.04 and 0.46 - 0.0784.
    optimizer = RMSprop(lr=0.1, momentum=momentum, centered=centered)
    assert optimizer.n_slots == 1 + centered + (momentum > 0)
    steps = _two_steps(optimizer)
    root1 = math.sqrt(0.4 - 0.04 * centered) + 1e-7
    root2 = math.sqrt(0.46 - 0.0784 * centered) + 1e-7
    b1 = 2 / root1
    b2 = momentum * b1 + 1 / root2
    assert_allclose(steps, [1 - 0.1 * b1, 1 - 0.1 * b1 - 0.1 * b2], **EXACT)


def test_adagrad_by_hand_from_its_initial_accumulator():
    # S0 = 0.5: S1 = 4.5, S2 = 5.5; decay 1: rates 0.1 then 0.05.
    steps = _two_steps(Adagrad(lr=0.1, decay=1.0, initial_accumulator_value=0.5))
    w1 = 1 - 0.2 / (math.sqrt(4.5) + 1e-7)
    assert_allclose(steps, [w1, w1 - 0.05 / (math.sqrt(5.5) + 1e-7)], **EXACT)


def test_adadelta_by_hand():
    # rho 0.5, eps 0.01: S1 = 2, d1 = 0.1 / sqrt(2.01) * 2, D1 = 0.5 d1**2;
    # S2 = 1.5, d2 = sqrt(D1 + 0.01) / sqrt(1.51).
    steps = _two_steps(Adadelta(rho=0.5, epsilon=0.01))
    d1 = 0.2 / math.sqrt(2.01)
    d2 = math.sqrt(0.5 * d1**2 + 0.01) / math.sqrt(1.51)
    assert_allclose(steps, [1 - d1, 1 - d1 - d2], **EXACT)


def test_adamax_by_hand_with_decay():
    # lr 0.1, decay 1: rates 0.1 / (1 - 0.9) then 0.05 / (1 - 0.81).
    # M1 = 0.2, U1 = 2 + eps; M2 = 0.28, U2 = 0.999 U1.
    steps = _two_steps(Adamax(lr=0.1, decay=1.0))
    u1 = 2 + 1e-7
    w1 = 1 - 0.1 / 0.1 * 0.2 / u1
    assert_allclose(steps, [w1, w1 - 0.05 / 0.19 * 0.28 / (0.999 * u1)], **EXACT)


def test_nadam_by_hand():
    mu = [0.9 * (1 - 0.5 * 0.96 ** (0.004 * t)) for t in (1, 2, 3)]
    steps = _two_steps(Nadam(lr=0.1))
    # step 1: M = 0.2, S = 0.004, S / (1 - 0.999) = 4, denominator 2 + eps
    p1 = mu[0]
    w1 = 1 - 0.1 * ((1 - mu[0]) * 2 / (1 - p1) + mu[1] * 0.2 / (1 - p1 * mu[1])) / (
        2 + 1e-7)
    # step 2: M = 0.28, S = 0.003996 + 0.001, over 1 - 0.999**2
    p2 = mu[0] * mu[1]
    denominator = math.sqrt((0.999 * 0.004 + 0.001) / (1 - 0.999**2)) + 1e-7
    w2 = w1 - 0.1 * ((1 - mu[1]) * 1 / (1 - p2) + mu[2] * 0.28 / (1 - p2 * mu[2])) / (
        denominator)
    assert_allclose(steps, [w1, w2], **EXACT)


@pytest.mark.parametrize("cls", CLASSES)
def test_current_learning_rate_is_keras1s_decay(cls):
    kwargs = {} if cls is Nadam else dict(decay=0.5)
    optimizer = cls(lr=0.1, **kwargs)
    _two_steps(optimizer)
    assert optimizer.current_learning_rate() == (0.1 if cls is Nadam else 0.1 / 2.0)


# ----------------------------------------------------- dtypes and the compiled loop


@pytest.mark.parametrize("cls", CLASSES)
def test_float32_stays_float32(cls, rng):
    optimizer = cls()
    w = np.array([1.0, -2.0, 0.5], np.float32)
    optimizer.apply([w], [np.array([0.5, 0.25, -1.0], np.float32)])
    assert w.dtype == np.float32
    assert all(slot.dtype == np.float32 for slot in optimizer.get_state()[1])
    model = Sequential([Dense(3, input_dim=4, activation="tanh"),
                        Dense(2, activation="softmax")], seed=0)
    model.compile(cls(), "sparse_categorical_crossentropy")
    X = rng.normal(size=(20, 4)).astype(np.float32)
    model.fit(X, rng.integers(0, 2, 20), batch_size=8, epochs=2, verbose=0)
    assert all(w.dtype == np.float32 for w in model.get_weights())
    assert all(slot.dtype == np.float32 for slot in model.optimizer.get_state()[1])
    assert model.optimizer.iterations == 6


def _fit(optimizer, X, y, dtype):
    model = Sequential([Dense(5, input_dim=4, activation="tanh"),
                        Dense(3, activation="softmax")], seed=0)
    model.compile(optimizer, "sparse_categorical_crossentropy")
    model.fit(X.astype(dtype), y, batch_size=8, epochs=3, verbose=0)
    return model


@pytest.mark.parametrize("cls, kwargs", [
    (RMSprop, dict(decay=0.01)), (RMSprop, dict(momentum=0.9, centered=True)),
    (Adagrad, dict(decay=0.01, initial_accumulator_value=0.1)),
    (Adadelta, dict(decay=0.01)), (Adamax, dict(decay=0.01)), (Nadam, {}),
], ids=lambda value: getattr(value, "__name__", ""))
def test_the_compiled_loop_equals_apply_bit_for_bit(cls, kwargs, dtype, rng):
    """A user's empty subclass trains through apply (Python, one kernel call per
    step); the class itself through the compiled loop's bound Calls: same weights,
    same state."""
    X, y = rng.normal(size=(37, 4)), rng.integers(0, 3, size=37)  # 4 batches of 8 and 5
    python_cls = type(f"Py{cls.__name__}", (cls,), {})
    assert python_cls(**kwargs).bind_update([np.zeros(2)], [np.zeros(2)]) is None
    compiled = _fit(cls(**kwargs), X, y, dtype)
    stepped = _fit(python_cls(**kwargs), X, y, dtype)
    assert compiled.optimizer.iterations == stepped.optimizer.iterations == 15
    assert_array_equal(compiled.get_flat_weights(), stepped.get_flat_weights())
    slots = [model.optimizer.get_state()[1] for model in (compiled, stepped)]
    for a, b in zip(*slots, strict=True):
        assert_array_equal(a, b)


def test_nadam_rates_are_three_per_step_and_follow_the_update_count():
    nadam = Nadam(lr=0.01)
    rates = nadam.rates(5)
    assert rates.shape == (5, 3) and rates.dtype == np.float64
    nadam.iterations = 3
    assert_array_equal(nadam.rates(2), rates[3:])
    nadam.iterations = 1  # back: the product is recomputed from step 1
    assert_array_equal(nadam.rates(4), rates[1:])


def test_adagrad_state_starts_at_its_initial_accumulator():
    adagrad = Adagrad(initial_accumulator_value=0.25)
    w = np.zeros(3)
    adagrad.apply([w], [np.zeros(3)])
    assert_array_equal(adagrad.get_state()[1][0], np.full(3, 0.25))
    assert_array_equal(w, np.zeros(3))


@pytest.mark.parametrize("cls", CLASSES)
def test_set_state_continues_identically(cls):
    grads = [np.array([0.5, -1.0]), np.array([2.0, 0.25]), np.array([-0.5, 1.5])]
    first, second = cls(lr=0.01), cls(lr=0.01)
    w_first = np.array([1.0, -1.0])
    first.apply([w_first], [grads[0]])
    w_second = w_first.copy()
    iterations, slots = first.get_state()
    second.set_state(iterations, [s.copy() for s in slots], [w_second])
    for g in grads[1:]:
        first.apply([w_first], [g])
        second.apply([w_second], [g])
    assert_array_equal(w_first, w_second)
    assert second.iterations == 3


@pytest.mark.parametrize("cls, changes", [
    (RMSprop, dict(learning_rate=0.05, rho=0.5)), (Adagrad, dict(epsilon=1e-3)),
    (Adadelta, dict(rho=0.8)), (Adamax, dict(beta_1=0.5, decay=0.1)),
    (Nadam, dict(beta_1=0.8, schedule_decay=0.1)),
], ids=lambda value: getattr(value, "__name__", ""))
def test_settings_changed_between_fits_take_effect(cls, changes, rng):
    """As a callback would between epochs: the loop rebinds the update, and the
    compiled model stays equal to the Python-stepped one bit for bit."""
    X, y = rng.normal(size=(37, 4)), rng.integers(0, 3, size=37)
    models = [_fit(kind(), X, y, np.float64) for kind in (cls, type("Py", (cls,), {}))]
    for model in models:
        for name, value in changes.items():
            setattr(model.optimizer, name, value)
        model.fit(X, y, batch_size=8, epochs=2, verbose=0)
    assert_array_equal(models[0].get_flat_weights(), models[1].get_flat_weights())
    unchanged = _fit(cls(), X, y, np.float64)
    unchanged.fit(X, y, batch_size=8, epochs=2, verbose=0)
    changed = models[0].get_flat_weights()
    assert not np.array_equal(changed, unchanged.get_flat_weights())
