"""The BLAS kernels call the newest OpenBLAS (the scipy-openblas32 wheel) that setup.py
links them against, not SciPy's bundled copy, and fit's thread rules hold it too."""

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy_openblas32
from threadpoolctl import threadpool_info

from fastnn import ops
from fastnn._threads import single_thread_blas

LINKED = os.path.realpath(
    os.path.join(scipy_openblas32.get_lib_dir(), scipy_openblas32.get_library(True))
)


def _linked_pool():
    pools = [info for info in threadpool_info()
             if os.path.realpath(info["filepath"]) == LINKED]
    assert len(pools) == 1, f"threadpoolctl does not see {LINKED}"
    return pools[0]


def test_threadpoolctl_reports_the_linked_openblas():
    pool = _linked_pool()
    assert pool["internal_api"] == "openblas"
    openblas_version = ".".join(scipy_openblas32.__version__.split(".")[:3])
    assert pool["version"].startswith(openblas_version)


def test_single_thread_blas_holds_the_linked_openblas():
    with single_thread_blas():
        assert _linked_pool()["num_threads"] == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's LD_DEBUG")
def test_the_gemm_and_dot_calls_bind_to_the_linked_openblas(tmp_path):
    # NOTE: the dynamic loader's own account of which library each symbol came from.
    script = (
        "import numpy as np\nfrom fastnn import ops\n"
        "X = np.ones((8, 5), np.float32)\n"
        "ops.dense_forward(X, np.ones((5, 3), np.float32))\n"
        "ops.sum_of_squares(X.ravel())\n"
    )
    env = dict(os.environ, LD_DEBUG="bindings", LD_DEBUG_OUTPUT=str(tmp_path / "ld"))
    subprocess.run([sys.executable, "-c", script], env=env, check=True,
                   cwd=tmp_path, capture_output=True)
    log = "".join(path.read_text() for path in tmp_path.glob("ld*"))
    bindings = [line for line in log.splitlines()
                if "fastnn/_kernels/blas." in line and "normal symbol `scipy_" in line]
    if not bindings:
        pytest.skip("this C library writes no LD_DEBUG bindings")
    for symbol in ("scipy_sgemm_", "scipy_sdot_"):
        lines = [line for line in bindings if f"`{symbol}'" in line]
        assert lines, f"no binding of {symbol}"
        target = lines[0].split(" to ", 1)[1].split(" [", 1)[0]
        assert os.path.realpath(target) == LINKED


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_gemm_agrees_with_numpy(dtype, rtol):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 784)).astype(dtype)
    W = rng.standard_normal((784, 256)).astype(dtype)
    b = rng.standard_normal(256).astype(dtype)
    np.testing.assert_allclose(ops.dense_forward(X, W, b), X @ W + b,
                               rtol=rtol, atol=rtol * 30)
