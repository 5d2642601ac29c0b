"""The engine's losses (fastnn.losses): values against NumPy formulas, gradients against
finite differences, the fused softmax/sigmoid path against the plain one, target checks."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastnn import Sequential, losses
from fastnn.layers import Activation, Dense
from fastnn.optimizers import SGD
from fastnn.utils import to_categorical

NAMES = ["categorical_crossentropy", "sparse_categorical_crossentropy",
         "binary_crossentropy", "mse"]


def _softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _sigmoid(Z):
    return 1.0 / (1.0 + np.exp(-Z))


def _problem(name, rng, n=6, k=4, dtype=np.float64):
    """(logits, probabilities, checked targets, targets as float64 one-hot/values)."""
    logits = rng.normal(size=(n, k))
    labels = rng.integers(0, k, n)
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        proba = _softmax(logits)
        T = np.eye(k)[labels]
        y = labels if name.startswith("sparse") else T
    elif name == "binary_crossentropy":
        proba = _sigmoid(logits)
        T = rng.uniform(0, 1, size=(n, k)).round(1)  # soft and hard targets in [0, 1]
        y = T
    else:
        proba = logits  # mse reads the raw output
        T = rng.normal(size=(n, k))
        y = T
    loss = losses.get(name)
    y = loss.check_targets(y, n, k, np.dtype(dtype))
    return logits.astype(dtype), proba.astype(dtype), y, T


def _np_loss(name, P, T):
    """Keras' per-sample loss: mean over outputs (CE sums over the one-hot)."""
    P, T = np.asarray(P, np.float64), np.asarray(T, np.float64)
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        return -(T * np.log(P)).sum(axis=1)
    if name == "binary_crossentropy":
        return -(T * np.log(P) + (1 - T) * np.log(1 - P)).mean(axis=1)
    return ((P - T) ** 2).mean(axis=1)


# ---------------------------------------------------------------------- values

@pytest.mark.parametrize("name", NAMES)
def test_loss_values_match_numpy(name, dtype, rng):
    _, P, y, T = _problem(name, rng, dtype=dtype)
    loss, grad = losses.get(name)(P, y)
    assert loss.shape == (6,) and loss.dtype == dtype
    assert grad.shape == P.shape and grad.dtype == dtype
    rtol = 2e-5 if dtype == np.float32 else 1e-10
    assert_allclose(loss, _np_loss(name, P, T), rtol=rtol, atol=1e-6)


@pytest.mark.parametrize("name", NAMES[:3])
def test_fused_loss_values_match_numpy(name, dtype, rng):
    Z, P, y, T = _problem(name, rng, dtype=dtype)
    loss_fn = losses.get(name)
    assert loss_fn.fused_activation == ("sigmoid" if name.startswith("binary") else "softmax")
    loss, grad = loss_fn.from_logits(Z, y)
    assert loss.dtype == grad.dtype == dtype
    rtol = 2e-5 if dtype == np.float32 else 1e-10
    P64 = _sigmoid(Z.astype(np.float64)) if name.startswith("binary") else _softmax(
        Z.astype(np.float64))
    assert_allclose(loss, _np_loss(name, P64, T), rtol=rtol, atol=1e-6)
    # The fused gradient of the summed loss is (p - y), over n_outputs for BCE's mean.
    n_outputs = Z.shape[1] if name.startswith("binary") else 1
    assert_allclose(grad, (P64 - T) / n_outputs, rtol=rtol, atol=1e-6)


def test_mse_is_a_mean_over_outputs_by_hand():
    loss, grad = losses.get("mse")(np.array([[1.0, 3.0]]), np.array([[0.0, 0.0]]))
    assert_allclose(loss, [5.0])          # (1 + 9) / 2
    assert_allclose(grad, [[1.0, 3.0]])   # 2 (p - y) / 2


def test_binary_crossentropy_by_hand():
    # -(log 0.8 + log 0.9) / 2 for two outputs with targets 1, 0.
    loss, _ = losses.get("binary_crossentropy")(np.array([[0.8, 0.1]]), np.array([[1.0, 0.0]]))
    assert_allclose(loss, [-(np.log(0.8) + np.log(0.9)) / 2], rtol=1e-12)


def test_mean_squared_error_alias():
    assert isinstance(losses.get("mean_squared_error"), type(losses.get("mse")))


def test_sample_weight_and_scale(rng):
    name = "categorical_crossentropy"
    Z, P, y, T = _problem(name, rng)
    w = np.array([0.0, 1.0, 2.0, 0.5, 1.0, 3.0])
    loss_fn = losses.get(name)
    plain, plain_grad = loss_fn(P, y)
    loss, grad = loss_fn(P, y, sample_weight=w, scale=0.25)
    assert_allclose(loss, plain * w, rtol=1e-12)
    assert_allclose(grad, plain_grad * 0.25 * w[:, None], rtol=1e-12)
    fused, fused_grad = loss_fn.from_logits(Z, y, sample_weight=w, scale=0.25)
    assert_allclose(fused, plain * w, rtol=1e-10)
    assert_allclose(fused_grad, 0.25 * w[:, None] * (P - T), rtol=1e-10, atol=1e-15)


# ---------------------------------------------------- gradients vs finite differences

@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_finite_differences(name, rng, num_grad, fd_tol):
    _, P, y, _ = _problem(name, rng)
    if name != "mse":
        P = np.clip(P, 0.05, 0.95)  # keep away from the clipping of probabilities
    w = rng.uniform(0.5, 2.0, size=P.shape[0])
    loss_fn = losses.get(name)
    _, grad = loss_fn(P, y, sample_weight=w, scale=0.3)
    numerical = num_grad(lambda A: 0.3 * loss_fn(A, y, sample_weight=w)[0].sum(), P)
    assert_allclose(grad, numerical, **fd_tol)


@pytest.mark.parametrize("name", NAMES[:3])
def test_fused_gradient_matches_finite_differences(name, rng, num_grad, fd_tol):
    Z, _, y, _ = _problem(name, rng)
    w = rng.uniform(0.5, 2.0, size=Z.shape[0])
    loss_fn = losses.get(name)
    _, grad = loss_fn.from_logits(Z, y, sample_weight=w, scale=0.3)
    numerical = num_grad(
        lambda A: 0.3 * loss_fn.from_logits(A, y, sample_weight=w)[0].sum(), Z
    )
    assert_allclose(grad, numerical, **fd_tol)


# ------------------------------------------------------ fused path vs plain path

def _pair(last, k, dtype, seed=0):
    """Two models with the same weights: one ends in ``last`` (fused with the loss),
    the other adds a linear activation after it (the loss reads probabilities)."""
    fused = Sequential([Dense(5, activation="tanh", input_dim=3), Dense(k),
                        Activation(last)], seed=seed)
    plain = Sequential([Dense(5, activation="tanh", input_dim=3), Dense(k),
                        Activation(last), Activation("linear")], seed=seed + 1)
    fused.build(3, dtype)
    plain.build(3, dtype)
    plain.set_weights(fused.get_weights())
    return fused, plain


@pytest.mark.parametrize("name, last, k", [
    ("categorical_crossentropy", "softmax", 4),
    ("sparse_categorical_crossentropy", "softmax", 4),
    ("binary_crossentropy", "sigmoid", 1),
    ("binary_crossentropy", "sigmoid", 3),
])
def test_fused_and_plain_paths_agree(name, last, k, dtype, rng):
    X = rng.normal(size=(20, 3)).astype(dtype)
    if name == "categorical_crossentropy":
        y = np.eye(k)[rng.integers(0, k, 20)]
    elif name == "sparse_categorical_crossentropy":
        y = rng.integers(0, k, 20)
    else:
        y = rng.integers(0, 2, (20, k)).astype(float)
    fused, plain = _pair(last, k, dtype)
    for model in (fused, plain):
        model.compile(SGD(learning_rate=0.1), name)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    # The loss equals the NumPy formula on the predicted probabilities, both ways.
    P = fused.predict(X)
    T = np.eye(k)[y] if name.startswith("sparse") else y.reshape(20, k)
    expected = _np_loss(name, P.astype(np.float64), T).mean()
    assert fused.evaluate(X, y) == pytest.approx(expected, rel=rtol)
    assert plain.evaluate(X, y) == pytest.approx(expected, rel=rtol)
    # One training step from the same weights gives the same weights.
    assert fused.train_on_batch(X, y) == pytest.approx(plain.train_on_batch(X, y), rel=rtol)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        assert_allclose(a, b, rtol=10 * rtol, atol=1e-6 if dtype == np.float32 else 1e-12)


def test_dense_softmax_is_fused_like_an_activation_layer(rng):
    X = rng.normal(size=(10, 3))
    y = rng.integers(0, 3, 10)
    a = Sequential([Dense(3, activation="softmax", input_dim=3)], seed=0)
    b = Sequential([Dense(3, input_dim=3), Activation("softmax")], seed=0)
    for model in (a, b):
        model.compile("sgd", "sparse_categorical_crossentropy")
    a.build(3, np.float64)
    b.build(3, np.float64)
    b.set_weights(a.get_weights())
    assert a.evaluate(X, y) == pytest.approx(b.evaluate(X, y), rel=1e-12)


def test_fused_path_is_exact_where_probabilities_round_to_one():
    """A logit gap of 40 rounds p to 1 in float32; the fused loss still sees exp(-40)."""
    model = Sequential([Dense(2, activation="softmax", input_dim=1)], seed=0)
    model.compile("sgd", "categorical_crossentropy")
    model.set_weights([np.array([[20.0, -20.0]], np.float32), np.zeros(2, np.float32)])
    loss = model.evaluate(np.array([[1.0]], np.float32), np.array([[0.0, 1.0]]))
    assert loss == pytest.approx(40.0, rel=1e-5)


# ------------------------------------------------------------------ target checks

def test_wrong_width():
    with pytest.raises(ValueError, match=r"categorical_crossentropy needs targets of shape "
                                         r"\(5, 3\).*3 outputs, got \(5, 4\)"):
        losses.get("categorical_crossentropy").check_targets(np.full((5, 4), 0.25), 5, 3,
                                                             np.float64)
    with pytest.raises(ValueError, match=r"mse needs targets of shape \(5, 2\)"):
        losses.get("mse").check_targets(np.zeros((5, 3)), 5, 2, np.float64)
    with pytest.raises(ValueError, match=r"binary_crossentropy needs targets of shape \(5, 1\)"):
        losses.get("binary_crossentropy").check_targets(np.zeros((4, 1)), 5, 1, np.float64)


def test_one_dimensional_labels_for_categorical():
    with pytest.raises(ValueError, match="one-hot.*sparse_categorical_crossentropy"):
        losses.get("categorical_crossentropy").check_targets(np.array([0, 1, 2]), 3, 3,
                                                             np.float32)


@pytest.mark.parametrize("labels", [[0, 1, 3], [-1, 0, 1]])
def test_labels_out_of_range(labels):
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        losses.get("sparse_categorical_crossentropy").check_targets(
            np.array(labels), 3, 3, np.float32
        )


def test_sparse_labels_must_be_integers():
    with pytest.raises(ValueError, match="integer labels"):
        losses.get("sparse_categorical_crossentropy").check_targets(
            np.array([0.0, 1.5, 2.0]), 3, 3, np.float32
        )
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        losses.get("sparse_categorical_crossentropy").check_targets(
            np.eye(3), 3, 3, np.float32
        )


@pytest.mark.parametrize("name", ["categorical_crossentropy", "binary_crossentropy", "mse"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_targets(name, bad):
    y = np.full((3, 2), 0.5)
    y[1, 1] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        losses.get(name).check_targets(y, 3, 2, np.float64)


@pytest.mark.parametrize("value", [-0.1, 1.5, 2.0])
def test_binary_targets_outside_0_1(value):
    y = np.array([[0.0], [1.0], [value]])
    with pytest.raises(ValueError, match=r"binary_crossentropy needs targets in \[0.0, 1.0\]"):
        losses.get("binary_crossentropy").check_targets(y, 3, 1, np.float64)


def test_string_targets():
    with pytest.raises(ValueError, match="numeric targets"):
        losses.get("mse").check_targets(np.array([["a"], ["b"]]), 2, 1, np.float64)


def test_checked_targets_take_the_model_dtype():
    y = losses.get("binary_crossentropy").check_targets([0, 1, 1], 3, 1, np.float32)
    assert y.dtype == np.float32 and y.shape == (3, 1)
    labels = losses.get("sparse_categorical_crossentropy").check_targets(
        np.array([[2], [0]]), 2, 3, np.float32)
    assert labels.shape == (2,) and labels.dtype.kind == "i"


def test_model_reports_target_problems(rng):
    X = rng.normal(size=(6, 3))
    model = Sequential([Dense(4, activation="softmax", input_dim=3)], seed=0)
    model.compile("sgd", "categorical_crossentropy")
    with pytest.raises(ValueError, match=r"shape \(6, 4\).*got \(6, 3\)"):
        model.fit(X, np.eye(3)[[0, 1, 2, 0, 1, 2]], verbose=0)
    with pytest.raises(ValueError, match="one-hot"):
        model.fit(X, np.array([0, 1, 2, 3, 0, 1]), verbose=0)
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"labels must be in \[0, 4\)"):
        model.fit(X, np.array([0, 1, 2, 4, 0, 1]), verbose=0)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 4\)"):
        model.evaluate(X, np.array([0, 1, 2, 3, 0, -1]))


@pytest.mark.parametrize("bad", ["hinge", "categorical crossentropy", None, 3])
def test_unknown_loss_name(bad):
    with pytest.raises(ValueError, match="loss"):
        losses.get(bad)
    model = Sequential([Dense(2, input_dim=2)])
    with pytest.raises(ValueError, match="loss"):
        model.compile("sgd", bad)


# ------------------------------------------------------------------ to_categorical

def test_to_categorical():
    Y = to_categorical([0, 2, 1, 2])
    assert Y.dtype == np.float32
    assert_allclose(Y, np.eye(3)[[0, 2, 1, 2]])
    assert to_categorical([0, 1], num_classes=4).shape == (2, 4)
    assert_allclose(to_categorical(np.array([[1], [0]])), [[0, 1], [1, 0]])
    assert_allclose(to_categorical(np.array([1.0, 0.0])), [[0, 1], [1, 0]])
    assert to_categorical([1, 0], dtype="float64").dtype == np.float64


@pytest.mark.parametrize("y, kwargs, match", [
    ([0, -1], {}, ">= 0"),
    ([0, 3], dict(num_classes=3), "< num_classes=3"),
    ([0.5, 1.0], {}, "integer labels"),
    ([[0, 1], [1, 0]], {}, "1-D"),
    (["a", "b"], {}, "integer labels"),
])
def test_to_categorical_bad_labels(y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        to_categorical(y, **kwargs)


def test_to_categorical_feeds_categorical_crossentropy(rng):
    X = rng.normal(size=(12, 3))
    y = rng.integers(0, 4, 12)
    sparse = Sequential([Dense(4, activation="softmax", input_dim=3)], seed=0)
    dense = Sequential([Dense(4, activation="softmax", input_dim=3)], seed=0)
    sparse.compile("sgd", "sparse_categorical_crossentropy")
    dense.compile("sgd", "categorical_crossentropy")
    assert sparse.evaluate(X, y) == pytest.approx(
        dense.evaluate(X, to_categorical(y, num_classes=4)), rel=1e-12)
