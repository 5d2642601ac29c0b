"""Shared pieces of the property-based fuzz tests (tests/*/test_fuzz_*.py).

Two hypothesis settings profiles:

* CI (default): ``FUZZ_CI_EXAMPLES`` examples per test, derandomized (the same examples
  on every run), no example database, no deadline.
* Campaign: ``FASTNN_FUZZ_EXAMPLES=<n>`` runs ``n`` random examples per test (a new seed
  each run, still no database). Run it in a subprocess so that a crash is reported with
  the example that caused it, e.g.::

      FASTNN_FUZZ_EXAMPLES=2000 python -m pytest tests/engine/test_fuzz_ops.py \
          -p no:cacheprovider --hypothesis-show-statistics

Arrays are filled from a drawn seed (fast for any size) and then given a few drawn
special values (0, ±subnormal, ±1e30, ±finfo.max, exp's edges), so hypothesis
explores shapes, layouts and extremes without drawing every element itself.
"""

import os
import tempfile
import warnings
from contextlib import contextmanager

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

# No example database, and hypothesis' other caches (constants, unicode tables) go to
# the temporary directory, so running the tests leaves no .hypothesis/ in the checkout.
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "fastnn-hypothesis"))

FUZZ_CI_EXAMPLES = 50
CAMPAIGN_EXAMPLES = int(os.environ.get("FASTNN_FUZZ_EXAMPLES", "0") or 0)
CAMPAIGN = CAMPAIGN_EXAMPLES > 0

settings.register_profile(
    "fastnn-fuzz",
    max_examples=CAMPAIGN_EXAMPLES if CAMPAIGN else FUZZ_CI_EXAMPLES,
    derandomize=not CAMPAIGN,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
FUZZ = settings(settings.get_profile("fastnn-fuzz"))


def fuzz(max_examples=None):
    """The fuzz profile; fewer CI examples for a slow target (campaign unchanged)."""
    if max_examples is None or CAMPAIGN:
        return FUZZ
    return settings(FUZZ, max_examples=max_examples)


FLOATS = (np.float32, np.float64)
EPS = {np.dtype(np.float32): float(np.finfo(np.float32).eps),
       np.dtype(np.float64): float(np.finfo(np.float64).eps)}

# The errors a bad call may raise; anything else (or a crash) is a bug.
CLEAN_ERRORS = (ValueError, TypeError)


@contextmanager
def strict():
    """Every warning is an error (NumPy's overflow RuntimeWarnings included)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def specials(dtype):
    finfo = np.finfo(dtype)
    sub = float(finfo.smallest_subnormal)
    return [0.0, -0.0, sub, -sub, float(finfo.tiny), 1e-30, 1.0, -1.0, 1e4, -1e4,
            1e30, -1e30,
            float(finfo.max), -float(finfo.max), 88.7, -88.7, -87.3, -103.0, 709.8,
            -745.2, 0.625, -0.625]


@st.composite
def shapes(draw, ndim=None, max_side=7, min_side=0):
    """Small shapes that often have a side of 0 or 1."""
    if ndim is None:
        ndim = draw(st.integers(1, 3))
    side = st.one_of(st.sampled_from([0, 1, 1, 2]), st.integers(min_side, max_side))
    return tuple(max(min_side, draw(side)) for _ in range(ndim))


@st.composite
def floats_array(draw, shape, dtype, extremes=True, low=None, high=None):
    """A C-contiguous array of ``shape``: a seeded fill plus a few special values."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    if low is not None:
        A = rng.uniform(low, high, size)
    else:
        A = rng.normal(0.0, draw(st.sampled_from([1.0, 10.0, 1e3])), size)
    if extremes and size:
        n = draw(st.integers(0, min(4, size)))
        for _ in range(n):
            position = draw(st.integers(0, size - 1))
            A[position] = draw(st.sampled_from(specials(dtype)))
    return A.astype(dtype).reshape(shape)


def finite_ok(out, ref, tolerance, magnitude, dtype):
    """Assert ``out`` matches the float64/longdouble ``ref``.

    Where the magnitude of the computation (a bound on every intermediate) stays below
    the dtype's max, ``out`` must be finite and within ``tolerance * magnitude`` (plus a
    few ulps of ``ref``); where only the result overflows, ``out`` must be an inf of the
    right sign or a finite value near the max; where an intermediate overflows, anything
    but a crash is accepted (documented: kernels compute in the input dtype).
    """
    dtype = np.dtype(dtype)
    big = float(np.finfo(dtype).max)
    eps = EPS[dtype]
    out = np.asarray(out, np.longdouble)
    ref = np.broadcast_to(np.asarray(ref, np.longdouble), out.shape)
    magnitude = np.broadcast_to(np.asarray(magnitude, np.longdouble), out.shape)
    with np.errstate(all="ignore"):
        safe = magnitude <= big / 4
        representable = np.abs(ref) <= big * (1 - 4 * eps)
        check = safe & representable
        bad_finite = check & ~np.isfinite(out)
        assert not bad_finite.any(), (
            f"non-finite output {out[bad_finite][:5]} where the result is finite "
            f"{ref[bad_finite][:5]}"
        )
        error = np.abs(out - ref)
        allowed = tolerance * magnitude + 8 * eps * np.abs(ref) + 4 * float(
            np.finfo(dtype).tiny)
        wrong = check & ~(error <= allowed)
        assert not wrong.any(), (
            f"{int(wrong.sum())} wrong values: got {out[wrong][:5]}, expected "
            f"{ref[wrong][:5]} (allowed error {allowed[wrong][:5]})"
        )
        overflow = safe & ~representable & np.isfinite(ref)
        near_max = (np.sign(out) == np.sign(ref)) & (np.abs(out) >= big * 0.5)
        wrong = overflow & ~near_max
        assert not wrong.any(), (
            f"overflowing results came out as {out[wrong][:5]}, expected about "
            f"{ref[wrong][:5]}"
        )
