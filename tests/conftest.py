"""Shared fixtures: the dtype parametrization, tolerances keyed by dtype, a seeded rng,
and central finite differences for the gradient checks; and the marker rules that
apply by kind rather than by module (every hypothesis test is ``slow``, every example
that starts a dask cluster is ``cluster``).

The tests sit in folders by layer, without ``__init__.py``: pytest's default import mode
puts each test's folder (and this one, for ``_fuzz``) on ``sys.path``, so a test imports
the helper modules beside it by name and every module's name is unique across folders."""

import numpy as np
import pytest

DTYPES = [np.float32, np.float64]

# Kernel vs NumPy twin (the twin computes in float64, then casts to the dtype).
TOL = {
    np.float32: dict(rtol=2e-6, atol=1e-6),
    np.float64: dict(rtol=1e-12, atol=1e-14),
}

# Analytic gradient vs central differences in float64 with eps = 1e-6: truncation error
# is O(eps**2), rounding error about 1e-16 * |f| / eps.
FD_EPS = 1e-6
FD_TOL = dict(rtol=1e-6, atol=1e-8)


@pytest.fixture(params=DTYPES, ids=lambda dtype: np.dtype(dtype).name)
def dtype(request):
    return request.param


@pytest.fixture
def tol(dtype):
    """assert_allclose keywords for the current ``dtype``."""
    return TOL[dtype]


@pytest.fixture
def tolerances():
    """The whole dict, for tests that loop over both dtypes themselves."""
    return TOL


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def numerical_gradient(f, X, eps=FD_EPS):
    """Central differences of scalar ``f`` at ``X``, one element at a time, float64."""
    X = np.array(X, dtype=np.float64)
    grad = np.empty_like(X)
    for index in np.ndindex(X.shape):
        x = X[index]
        X[index] = x + eps
        f_plus = float(f(X.copy()))
        X[index] = x - eps
        f_minus = float(f(X.copy()))
        X[index] = x
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


@pytest.fixture
def num_grad():
    """``num_grad(f, X)``: the float64 central-difference gradient of scalar ``f``."""
    return numerical_gradient


@pytest.fixture
def fd_tol():
    return FD_TOL


def pytest_collection_modifyitems(items):
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.slow)  # fuzzing: 50 examples per test
        params = getattr(getattr(item, "callspec", None), "params", {})
        if any(isinstance(value, str) and "LocalCluster(" in value
               for value in params.values()):
            item.add_marker(pytest.mark.cluster)  # a documentation example (README's dask)
