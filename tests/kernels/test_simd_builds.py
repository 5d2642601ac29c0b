"""The AVX2+FMA and the portable kernel builds agree.

The build is chosen once, at import, so the baseline runs in a child process started
with FASTNN_SIMD=baseline: this file doubles as that child's script (see ``__main__``).
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn import ops
from fastnn._kernels import cpu_features

DTYPES = [np.float32, np.float64]
REPO = Path(fastnn.__file__).resolve().parents[1]


def _inputs():
    rng = np.random.default_rng(0)
    inputs = {}
    for dtype in DTYPES:
        name = np.dtype(dtype).name
        # Spans the float32 tanh switch at 0.625, the exp clamp at -87.3 and beyond.
        X = np.concatenate([rng.normal(scale=3, size=200), np.linspace(-100, 100, 57)])
        inputs[f"X_{name}"] = X.astype(dtype)
        inputs[f"logits_{name}"] = (4 * rng.normal(size=(16, 10))).astype(dtype)
        inputs[f"W_{name}"] = rng.normal(size=300).astype(dtype)
        inputs[f"G_{name}"] = rng.normal(size=300).astype(dtype)
        inputs[f"V_{name}"] = rng.normal(size=300).astype(dtype)
    inputs["labels"] = rng.integers(0, 10, size=16)
    return inputs


def _compute(inputs):
    """Everything to compare, keyed by name; run in this process and in the child."""
    results = {}
    for dtype in DTYPES:
        name = np.dtype(dtype).name
        X, logits = inputs[f"X_{name}"], inputs[f"logits_{name}"]
        results[f"sigmoid_{name}"] = ops.sigmoid(X)
        results[f"tanh_{name}"] = ops.tanh(X)
        results[f"elu_{name}"] = ops.elu(X, alpha=0.7)
        loss, grad = ops.softmax_cross_entropy(logits, inputs["labels"], scale=0.1)
        results[f"sce_loss_{name}"], results[f"sce_grad_{name}"] = loss, grad
        P = ops.softmax(logits)
        results[f"softmax_backward_{name}"] = ops.softmax_backward(P, logits)
        loss, grad = ops.squared_error(P, ops.sigmoid(logits), scale=0.5)
        results[f"mse_loss_{name}"], results[f"mse_grad_{name}"] = loss, grad
        U = (0.5 + 0.5 * np.tanh(X)).astype(dtype)  # deterministic "uniform" numbers
        results[f"dropout_{name}"] = ops.dropout(X, U, 0.3)
        results[f"dropout_mask_{name}"] = U
        results[f"dropout_backward_{name}"] = ops.dropout_backward(U, X)
        for nesterov in (False, True):
            W, V = inputs[f"W_{name}"].copy(), inputs[f"V_{name}"].copy()
            ops.momentum_update(W, inputs[f"G_{name}"], V, 0.05, 0.9, nesterov, l2=1e-3)
            results[f"momentum_W_{nesterov}_{name}"] = W
            results[f"momentum_V_{nesterov}_{name}"] = V
    return results


def test_simd_names_the_build_in_use():
    assert ops.SIMD in ("avx2", "baseline")
    wanted = os.environ.get("FASTNN_SIMD", "auto").strip().lower()
    twin_built = importlib.util.find_spec("fastnn._kernels.activations_avx2") is not None
    if wanted in ("baseline", "0") or not cpu_features.has_avx2_fma() or not twin_built:
        assert ops.SIMD == "baseline"
    else:
        assert ops.SIMD == "avx2"


@pytest.mark.slow  # a child interpreter
def test_baseline_build_matches_the_current_one(tmp_path, tolerances):
    if ops.SIMD == "baseline":
        pytest.skip("this process already runs the baseline build: nothing to compare")
    inputs = _inputs()
    np.savez(tmp_path / "inputs.npz", **inputs)
    env = dict(os.environ, FASTNN_SIMD="baseline")
    paths = [str(REPO), env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    child = [sys.executable, __file__, tmp_path / "inputs.npz", tmp_path / "out.npz"]
    subprocess.run(child, env=env, check=True, timeout=120)
    baseline = np.load(tmp_path / "out.npz")
    assert str(baseline["SIMD"]) == "baseline"

    current = _compute(inputs)
    assert set(current) == set(baseline.files) - {"SIMD"}
    for key, value in current.items():
        dtype = value.dtype.type
        assert baseline[key].dtype == dtype, key
        assert np.allclose(value, baseline[key], **tolerances[dtype]), key


if __name__ == "__main__":
    # Child process: python test_simd_builds.py inputs.npz out.npz
    with np.load(sys.argv[1]) as data:
        inputs = {key: data[key] for key in data.files}
    np.savez(sys.argv[2], SIMD=ops.SIMD, **_compute(inputs))
