"""Shared pieces of the fuzz tests of fastnn.ops (test_fuzz_ops*.py): the argument
spoilers (another layout, type or ``out``), the call that must either meet the contract
or raise cleanly, and the long-double NumPy references several families use.
"""

import warnings

import numpy as np
from hypothesis import strategies as st

from _fuzz import (
    CLEAN_ERRORS, EPS, floats_array, strict,
)

L = np.longdouble


LAYOUTS = ["C"] * 8 + [
    "readonly", "unaligned", "fortran", "strided", "reversed", "broadcast",
    "byteswapped", "list", "int64", "float16", "complex", "object", "bool",
    "other_float", "matrix",
]


def meets_contract(a):
    """What ops promises to accept: a native float32/float64 C-contiguous ndarray."""
    return (
        isinstance(a, np.ndarray)
        and a.dtype in (np.dtype(np.float32), np.dtype(np.float64))
        and a.dtype.isnative
        and a.flags.c_contiguous
    )


def relayout(A, kind):
    """A's values in another layout or type (not necessarily meeting the contract)."""
    if kind == "C":
        return A.copy()
    if kind == "readonly":
        B = A.copy()
        B.flags.writeable = False
        return B
    if kind == "unaligned":
        buffer = np.zeros(A.nbytes + 1, np.uint8)
        B = buffer[1:].view(A.dtype).reshape(A.shape)
        B[...] = A
        return B
    if kind == "fortran":
        return np.asfortranarray(A)
    if kind == "strided":
        big = np.zeros((A.shape[0] * 2,) + A.shape[1:], A.dtype)
        big[::2] = A
        return big[::2]
    if kind == "reversed":
        return A[::-1].copy()[::-1]
    if kind == "broadcast":
        if A.size == 0:
            return A.copy()
        return np.broadcast_to(A.reshape(-1)[:1].reshape((1,) * A.ndim), A.shape)
    if kind == "byteswapped":
        return A.astype(A.dtype.newbyteorder())
    if kind == "list":
        return A.tolist()
    if kind == "int64":
        with np.errstate(all="ignore"):
            return np.nan_to_num(A).clip(-1e9, 1e9).astype(np.int64)
    if kind == "float16":
        with np.errstate(all="ignore"):
            return A.astype(np.float16)
    if kind == "complex":
        return A.astype(np.complex128)
    if kind == "object":
        return A.astype(object)
    if kind == "bool":
        return A != 0
    if kind == "other_float":  # finite stays finite: clipped to float32's range
        if A.dtype == np.float64:
            big = np.finfo(np.float32).max
            return np.clip(A, -big, big).astype(np.float32)
        return A.astype(np.float64)
    if kind == "matrix":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            return np.asmatrix(A) if A.ndim == 2 else A.copy()
    raise AssertionError(kind)


def spoil(data, args, float_names, allow_other_float=False, written=()):
    """Maybe replace one float argument by a relayout; returns (args, expect).

    ``expect`` is True (the call must succeed), False (it must raise ValueError or
    TypeError) or None (either; a result must still be right)."""
    args = dict(args)
    name = data.draw(st.sampled_from(float_names), label="spoiled")
    kind = data.draw(st.sampled_from(LAYOUTS), label="layout")
    original = args[name]
    args[name] = changed = relayout(original, kind)
    if kind == "matrix":
        return args, None
    if kind == "other_float" and not allow_other_float:
        return args, False if original.size or len(float_names) > 1 else None
    if kind in ("unaligned",):
        return args, None
    expect = meets_contract(changed)
    if kind == "other_float":
        expect = True
    read_only = isinstance(changed, np.ndarray) and not changed.flags.writeable
    if name in written and read_only:
        expect = False  # read-only or broadcast, but written in place
    return args, expect


OUT_MODES = ["none"] * 4 + [
    "fresh", "fresh", "inplace", "overlap", "readonly", "wrong_dtype", "wrong_shape",
    "fortran", "list",
]


def make_out(data, shape, dtype, source=None, inplace_ok=False):
    """An ``out`` argument and whether ops must accept it (None: either)."""
    mode = data.draw(st.sampled_from(OUT_MODES), label="out")
    if mode == "none":
        return None, True
    if mode == "fresh":
        out = np.full(shape, np.nan, dtype)  # NaN shows any element left unwritten
        return out, True
    if mode == "inplace":
        if source is None or not meets_contract(source) or source.shape != shape:
            return np.full(shape, np.nan, dtype), True
        return source, inplace_ok and source.flags.writeable
    if mode == "overlap":
        if source is None or not meets_contract(source) or source.shape != shape:
            return np.full(shape, np.nan, dtype), True
        view = source.reshape(shape)
        return view, (None if source.size == 0 else False)
    if mode == "readonly":
        out = np.zeros(shape, dtype)
        out.flags.writeable = False
        return out, False
    if mode == "wrong_dtype":
        return np.zeros(shape, np.float32 if dtype == np.float64 else np.float64), False
    if mode == "wrong_shape":
        return np.zeros(tuple(s + 1 for s in shape), dtype), False
    if mode == "fortran":
        out = np.asfortranarray(np.zeros(shape, dtype))
        return out, (True if out.flags.c_contiguous else False)
    return np.zeros(shape, dtype).tolist(), False


def _dtype_of(array, default):
    """The dtype an op takes its outputs in: the (spoiled) input's, if it is valid."""
    return array.dtype if meets_contract(array) else default


def call(function, expect, *args, **kwargs):
    """Run the op; return its result, or None after a clean error that was allowed."""
    try:
        with strict():
            result = function(*args, **kwargs)
    except CLEAN_ERRORS as error:
        assert expect is not True, f"a valid call raised {error!r}"
        return None
    assert expect is not False, "an invalid call was accepted"
    return result


F32_MAX = float(np.finfo(np.float32).max)


def fits(value, dtype):
    """Whether a scalar reaches the kernel finite: float32 kernels take float32."""
    return np.dtype(dtype) != np.float32 or abs(float(value)) <= F32_MAX


def scalar(data, name, low=-np.inf, high=np.inf, typical=(0.0, 3.0), dtype=None):
    """A scalar argument and whether it is valid (for arrays of ``dtype``)."""
    kind = data.draw(st.sampled_from(["typical"] * 6 + ["edge", "bad"]), label=name)
    if kind == "typical":
        value = data.draw(st.floats(max(low, typical[0]), min(high, typical[1])))
        return value, True
    if kind == "edge":
        candidates = [v for v in (0.0, 1e-30, 1.0, 1e30, 1e300, -1.0, np.float32(0.5),
                                  np.int64(2), 3) if low <= float(v) <= high]
        value = data.draw(st.sampled_from(candidates))
        return value, dtype is None or fits(value, dtype)
    value = data.draw(st.sampled_from(
        [np.nan, np.inf, -np.inf, "1", None, True, 1j, [1.0], np.array([1.0, 2.0])]
        + ([low - 1.0] if np.isfinite(low) else [])
        + ([high + 1.0] if np.isfinite(high) else [])
    ))
    return value, False


def unchanged(before, after):
    for name, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[name], value, err_msg=f"{name} changed")


def snapshot(args):
    return {k: np.array(v, copy=True)
            for k, v in args.items() if isinstance(v, np.ndarray)}


def tol(dtype, factor=8.0):
    return factor * EPS[np.dtype(dtype)]


def _sigmoid(X):
    with np.errstate(all="ignore"):
        X = X.astype(L)
        return np.where(X >= 0, 1 / (1 + np.exp(-np.abs(X))),
                        np.exp(-np.abs(X)) / (1 + np.exp(-np.abs(X))))


def _elu(X, alpha):
    with np.errstate(all="ignore"):
        X = X.astype(L)
        return np.where(X > 0, X, L(alpha) * np.expm1(np.minimum(X, 0)))


def _effective_alpha(alpha, dtype):
    """The alpha the kernel uses: rounded to the dtype."""
    with np.errstate(all="ignore"):
        return float(np.asarray(alpha, dtype=dtype))


def _combine(*expects):
    """All must succeed -> True; any must fail -> False; otherwise None."""
    if any(e is False for e in expects):
        return False
    if all(e is True for e in expects):
        return True
    return None


def _softmax_ref(Z):
    Z = Z.astype(L)
    with np.errstate(all="ignore"):
        m = Z.max(axis=1, keepdims=True)
        E = np.exp(Z - m)
        total = E.sum(axis=1, keepdims=True)
        return E / total, (Z - m) - np.log(total)


def _weights(data, n, dtype):
    kind = data.draw(st.sampled_from(["none"] * 3 + ["some", "zeros", "wrong_len",
                                                     "wrong_dtype", "2d", "list"]))
    if kind == "none":
        return None, True
    if kind == "some":
        weights = floats_array((n,), dtype, extremes=False, low=0.0, high=3.0)
        return data.draw(weights), True
    if kind == "zeros":
        return np.zeros(n, dtype), True
    if kind == "wrong_len":
        return np.ones(n + 1, dtype), False
    if kind == "wrong_dtype":
        return np.ones(n, np.float32 if dtype == np.float64 else np.float64), False
    if kind == "2d":
        return np.ones((n, 1), dtype), False
    return [1.0] * n, False
