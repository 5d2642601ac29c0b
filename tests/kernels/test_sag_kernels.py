"""The SAG/SAGA kernels (fastnn.ops._sag) against a NumPy twin that takes every step
on every weight (the kernels take dense steps fused into the next row and CSR steps just
in time, with the L1 prox composed in closed form), and the arguments the door refuses.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from fastnn.ops import _sag as sag_ops

TWIN_TOL = {
    np.float32: {"rtol": 2e-4, "atol": 2e-5},
    np.float64: {"rtol": 1e-9, "atol": 1e-11},
}


def row_draws(seed, n, count):
    """The kernels' row sequence: splitmix64, then Lemire's multiply-shift onto [0, n)."""
    mask, state = 2**64 - 1, seed % 2**64
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        yield ((z >> 32) * n) >> 32


def soft(W, t):
    return np.sign(W) * np.maximum(np.abs(W) - t, 0)


def sag_twin(X, y, s, W, b, seed, epochs, step, l2, l1, saga, fit_intercept,
             intercept_decay, weight_scale):
    """Eager SAG(A) in float64: per drawn row, S += x dg, then
    W <- soft((1 - step l2) W - c x dg - step/seen S, step l1), c = step (1 - 1/seen)
    for SAGA and 0 for SAG; b likewise without decay or prox."""
    X = X.toarray() if sp.issparse(X) else X
    X, W, b = X.astype(np.float64), W.astype(np.float64), b.astype(np.float64)
    n, k = X.shape[0], W.shape[1]
    s = np.ones(n) if s is None else s.astype(np.float64)
    memory, S, b_sum = np.zeros((n, k)), np.zeros_like(W), np.zeros(k)
    seen, n_seen = np.zeros(n, bool), 0
    for i in row_draws(seed, n, epochs * n):
        if not seen[i]:
            seen[i], n_seen = True, n_seen + 1
        z = X[i] @ W + (b if fit_intercept else 0)
        if k == 1:
            g = 1 / (1 + np.exp(-z)) - (y[i] == 1)
        else:
            g = np.exp(z - z.max())
            g /= g.sum()
            g[y[i]] -= 1
        g = g * s[i] * weight_scale
        dg = g - memory[i]
        memory[i] = g
        S += np.outer(X[i], dg)
        c = step * (1 - 1 / n_seen) if saga else 0.0
        if fit_intercept:
            b_sum += dg
            b = b - (step * b_sum / n_seen * intercept_decay + c * dg)
        W = (1 - step * l2) * W - c * np.outer(X[i], dg) - step / n_seen * S
        W = soft(W, step * l1)
    return W, b, S, memory


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("layout", ["dense", "csr32", "csr64"])
@pytest.mark.parametrize(
    "saga, l2, l1",
    [(False, 0.05, 0.0), (True, 0.05, 0.0), (True, 0.0, 0.03), (True, 0.02, 0.02)],
    ids=["sag", "saga-l2", "saga-l1", "saga-enet"],
)
def test_epochs_against_numpy(k, layout, saga, l2, l1, dtype, rng):
    n, d = 23, 7
    X = rng.normal(size=(n, d)).astype(dtype)
    X[np.abs(X) < 0.7] = 0
    y = rng.integers(0, max(k, 2), n).astype(np.intp)
    s = rng.uniform(0.3, 2.0, n).astype(dtype)
    W0 = (0.3 * rng.normal(size=(d, k))).astype(dtype)
    b0 = (0.1 * rng.normal(size=k)).astype(dtype)
    if layout == "dense":
        Xin = X
    else:
        Xin = sp.csr_matrix(X)
        index = np.int32 if layout == "csr32" else np.int64
        Xin.indices, Xin.indptr = Xin.indices.astype(index), Xin.indptr.astype(index)
    decay = 1.0 if layout == "dense" else 0.01
    data = sag_ops.SagData(Xin, y, k, s)
    state = sag_ops.SagState(data, seed=12345)
    W, b = W0.copy(), b0.copy()
    step = 0.2
    epochs, outcome = sag_ops.sag_epochs(
        data, W, b, state, step=step, l2=l2, l1=l1, saga=saga, tol=0.0, n_epochs=3,
        weight_scale=0.9, intercept_decay=decay,
    )
    assert (epochs, outcome) == (3, sag_ops.RAN_ALL)
    W_twin, b_twin, S_twin, memory_twin = sag_twin(
        X, y, s, W0, b0, 12345, 3, step, l2, l1, saga, True, decay, 0.9
    )
    assert W.dtype == b.dtype == np.dtype(dtype)
    tol = TWIN_TOL[dtype]
    np.testing.assert_allclose(W, W_twin, **tol)
    np.testing.assert_allclose(b, b_twin, **tol)
    np.testing.assert_allclose(state.S, S_twin, **tol)
    np.testing.assert_allclose(state.memory, memory_twin, **tol)


def test_epochs_continue_the_same_sequence(rng):
    """Three one-epoch calls take the same steps as one three-epoch call."""
    X = rng.normal(size=(30, 5))
    y = rng.integers(0, 2, 30).astype(np.intp)
    data = sag_ops.SagData(sp.csr_matrix(X), y, 1)
    results = []
    for calls in ([3], [1, 1, 1]):
        state = sag_ops.SagState(data, seed=7)
        W, b = np.zeros((5, 1)), np.zeros(1)
        for n_epochs in calls:
            sag_ops.sag_epochs(data, W, b, state, step=0.3, l1=0.01, saga=True, tol=0,
                               n_epochs=n_epochs)
        results.append(W)
    np.testing.assert_array_equal(results[0], results[1])


def test_intercept_untouched_without_fit_intercept(rng):
    X = rng.normal(size=(20, 3))
    y = rng.integers(0, 2, 20).astype(np.intp)
    data = sag_ops.SagData(X, y, 1)
    W, b = np.zeros((3, 1)), np.full(1, 0.5)
    sag_ops.sag_epochs(data, W, b, sag_ops.SagState(data, 0), step=0.3, n_epochs=2,
                       fit_intercept=False)
    assert b[0] == 0.5


def test_converged_and_diverged_outcomes(rng):
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(np.intp)
    data = sag_ops.SagData(X, y, 1)
    W, b = np.zeros((3, 1)), np.zeros(1)
    epochs, outcome = sag_ops.sag_epochs(data, W, b, sag_ops.SagState(data, 0), step=0.2,
                                         l2=0.1, tol=1e-3, n_epochs=1000)
    assert outcome == sag_ops.CONVERGED and 1 < epochs < 1000
    W[0, 0] = np.nan
    epochs, outcome = sag_ops.sag_epochs(data, W, b, sag_ops.SagState(data, 0), step=0.2,
                                         n_epochs=5)
    assert (epochs, outcome) == (1, sag_ops.DIVERGED)


def test_max_squared_row_norm(dtype, rng):
    X = rng.normal(size=(9, 4)).astype(dtype)
    X[X < 0] = 0
    expected = float((X.astype(np.float64) ** 2).sum(axis=1).max())
    y = np.zeros(9, np.intp)
    for Xin in (X, sp.csr_matrix(X)):
        got = sag_ops.SagData(Xin, y, 1).max_squared_row_norm()
        assert got == pytest.approx(expected, rel=1e-6)


def test_x_is_not_copied(rng):
    X = rng.normal(size=(6, 3))
    y = np.zeros(6, np.intp)
    assert sag_ops.SagData(X, y, 1).X is X
    for index in (np.int32, np.int64):
        Xs = sp.csr_matrix(X)
        Xs.indices, Xs.indptr = Xs.indices.astype(index), Xs.indptr.astype(index)
        data = sag_ops.SagData(Xs, y, 1)
        assert data.data is Xs.data and data.indices is Xs.indices


# ---------------------------------------------------------------- what the door refuses


def _ok(rng, n=6, d=3, k=1):
    X = rng.normal(size=(n, d))
    y = rng.integers(0, max(k, 2), n).astype(np.intp)
    return X, y


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda X, y: (X.astype(np.int64), y), TypeError),
        (lambda X, y: (np.asfortranarray(X), y), ValueError),
        (lambda X, y: (X[:, :1].copy()[:, :0], y), ValueError),
        (lambda X, y: (X, y.astype(np.int32)), TypeError),
        (lambda X, y: (X, y[:-1]), ValueError),
        (lambda X, y: (X, y + 2), ValueError),
        (lambda X, y: (X, -y - 1), ValueError),
        (lambda X, y: (sp.csc_matrix(X), y), ValueError),
    ],
)
def test_data_refuses(make, error, rng):
    X, y = make(*_ok(rng))
    with pytest.raises(error):
        sag_ops.SagData(X, y, 1)


def test_data_refuses_bad_csr(rng):
    X, y = _ok(rng)
    for breaking in ("high", "negative", "indptr"):
        Xs = sp.csr_matrix(X)
        if breaking == "high":
            Xs.indices[-1] = 3
        elif breaking == "negative":
            Xs.indices[0] = -1
        else:
            Xs.indptr[2] = Xs.indptr[3] + 1
        with pytest.raises(ValueError, match="not a valid CSR matrix"):
            sag_ops.SagData(Xs, y, 1)
    Xs = sp.csr_matrix(X)
    Xs.indices = Xs.indices.astype(np.int16)
    with pytest.raises(TypeError, match="int32 or int64"):
        sag_ops.SagData(Xs, y, 1)


def test_data_refuses_weights_and_outputs(rng):
    X, y = _ok(rng)
    with pytest.raises(TypeError, match="sample_weight"):
        sag_ops.SagData(X, y, 1, np.ones(6, np.float32))
    with pytest.raises(ValueError, match="sample_weight"):
        sag_ops.SagData(X, y, 1, np.ones(5))
    with pytest.raises(ValueError, match="n_outputs"):
        sag_ops.SagData(X, y, 2)


@pytest.mark.parametrize(
    "W_shape, W_dtype, b_shape, error",
    [
        ((3, 2), np.float64, (1,), ValueError),
        ((3, 1), np.float32, (1,), TypeError),
        ((3, 1), np.float64, (2,), ValueError),
        ((3,), np.float64, (1,), ValueError),
    ],
)
def test_epochs_refuse_weights(W_shape, W_dtype, b_shape, error, rng):
    X, y = _ok(rng)
    data = sag_ops.SagData(X, y, 1)
    state = sag_ops.SagState(data, 0)
    with pytest.raises(error):
        sag_ops.sag_epochs(data, np.zeros(W_shape, W_dtype), np.zeros(b_shape), state,
                           step=0.1)


def test_epochs_refuse_scalars_and_state(rng):
    X, y = _ok(rng)
    data = sag_ops.SagData(X, y, 1)
    W, b = np.zeros((3, 1)), np.zeros(1)
    state = sag_ops.SagState(data, 0)
    with pytest.raises(ValueError, match="saga"):
        sag_ops.sag_epochs(data, W, b, state, step=0.1, l1=0.1)
    with pytest.raises(ValueError, match="step"):
        sag_ops.sag_epochs(data, W, b, state, step=0.0)
    with pytest.raises(ValueError, match="l2"):
        sag_ops.sag_epochs(data, W, b, state, step=0.1, l2=np.nan)
    with pytest.raises(ValueError, match="W overlaps b"):
        V = np.zeros((3, 1))
        sag_ops.sag_epochs(data, V, V[0], state, step=0.1)
    other = sag_ops.SagState(sag_ops.SagData(sp.csr_matrix(X), y, 1), 0)
    with pytest.raises(ValueError, match="other data"):
        sag_ops.sag_epochs(data, W, b, other, step=0.1)
    state.memory = np.zeros((2, 1))
    with pytest.raises(ValueError, match="SagState.memory"):
        sag_ops.sag_epochs(data, W, b, state, step=0.1)
    with pytest.raises(TypeError, match="SagData"):
        sag_ops.sag_epochs(X, W, b, state, step=0.1)
    W.setflags(write=False)
    with pytest.raises(ValueError):
        sag_ops.sag_epochs(data, W, b, sag_ops.SagState(data, 0), step=0.1)
