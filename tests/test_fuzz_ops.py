"""Property-based fuzzing of every public ``fastnn.ops`` function.

Each example draws shapes (often 0 or 1 along an axis), a dtype, values with a few
extremes among them, and then spoils at most one argument: another layout (Fortran,
strided, reversed, broadcast, unaligned, byte-swapped), another type (int, float16,
complex, object, bool, a list, np.matrix), read-only, or an ``out`` that is the wrong
shape, dtype, read-only or overlapping an input. The call must then either give the
NumPy reference result (computed in long double, compared with tolerances keyed by
dtype; finite wherever the computation stays finite, no warnings) or raise
``ValueError``/``TypeError``: never crash, never write out of bounds, never change an
input it does not own. Profiles: see tests/_fuzz.py.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from fastnn import ops
from fastnn.ops import _logistic as logistic_ops

from _fuzz import (
    CLEAN_ERRORS, EPS, FLOATS, finite_ok, floats_array, fuzz, shapes, strict,
)

L = np.longdouble

# ------------------------------------------------------------------- argument spoilers

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


# ----------------------------------------------------------------- element-wise forward


def _sigmoid(X):
    with np.errstate(all="ignore"):
        X = X.astype(L)
        return np.where(X >= 0, 1 / (1 + np.exp(-np.abs(X))),
                        np.exp(-np.abs(X)) / (1 + np.exp(-np.abs(X))))


def _elu(X, alpha):
    with np.errstate(all="ignore"):
        X = X.astype(L)
        return np.where(X > 0, X, L(alpha) * np.expm1(np.minimum(X, 0)))


FORWARD = {
    # name: (op, reference(X, alpha), magnitude(X, alpha), takes alpha, alpha low)
    "sigmoid": (ops.sigmoid, lambda X, a: _sigmoid(X), lambda X, a: 1.0, False, None),
    "tanh": (ops.tanh, lambda X, a: np.tanh(X.astype(L)), lambda X, a: 1.0, False,
             None),
    "relu": (ops.relu, lambda X, a: np.maximum(X.astype(L), 0), lambda X, a: abs(X),
             False, None),
    "leaky_relu": (ops.leaky_relu,
                   lambda X, a: np.where(X > 0, X.astype(L), L(a) * X.astype(L)),
                   lambda X, a: np.abs(X.astype(L)) * max(1.0, abs(a)), True, -np.inf),
    "elu": (ops.elu, _elu, lambda X, a: np.maximum(np.abs(X.astype(L)), abs(a)), True,
            0.0),
}


def _effective_alpha(alpha, dtype):
    """The alpha the kernel uses: rounded to the dtype."""
    with np.errstate(all="ignore"):
        return float(np.asarray(alpha, dtype=dtype))


@fuzz()
@given(data=st.data(), name=st.sampled_from(sorted(FORWARD)),
       dtype=st.sampled_from(FLOATS))
def test_elementwise_forward(data, name, dtype):
    op, reference, magnitude, takes_alpha, low = FORWARD[name]
    shape = data.draw(shapes())
    if data.draw(st.integers(0, 40), label="large") == 0:
        shape = (131072 + 3,)  # the OpenMP path
    X = data.draw(floats_array(shape, dtype))
    args, expect = spoil(data, {"X": X}, ["X"], allow_other_float=True)
    kwargs = {}
    alpha = None
    if takes_alpha:
        alpha, alpha_ok = scalar(data, "alpha", low=low,
                                 dtype=_dtype_of(args["X"], dtype))
        kwargs["alpha"] = alpha
        if not alpha_ok:
            expect = False if expect is not False else expect
    Xv = args["X"]
    out, out_ok = make_out(data, np.shape(X), _dtype_of(Xv, dtype), source=Xv,
                           inplace_ok=True)
    expect = _combine(expect, out_ok)
    before = snapshot(args)
    result = call(op, expect, Xv, out=out, **kwargs)
    if result is None:
        return
    if out is not None:
        assert result is out
    if out is not Xv:
        unchanged(before, args)
    Xin = before["X"]
    a = _effective_alpha(alpha, Xin.dtype) if takes_alpha else None
    assert result.dtype == Xin.dtype and result.shape == Xin.shape
    finite_ok(result, reference(Xin, a), tol(Xin.dtype, 24), magnitude(Xin, a),
              Xin.dtype)


def _combine(*expects):
    """All must succeed -> True; any must fail -> False; otherwise None."""
    if any(e is False for e in expects):
        return False
    if all(e is True for e in expects):
        return True
    return None


# ---------------------------------------------------------------- element-wise backward


BACKWARD = {
    # name: (call(args, alpha, out), reference, magnitude, saved arrays, alpha low)
    "sigmoid_backward": (
        lambda a, al, out: ops.sigmoid_backward(a["Y"], a["dY"], out=out),
        lambda a, al: a["dY"].astype(L) * a["Y"] * (1 - a["Y"].astype(L)),
        lambda a, al: np.abs(a["dY"].astype(L)), ("Y",), None),
    "tanh_backward": (
        lambda a, al, out: ops.tanh_backward(a["Y"], a["dY"], out=out),
        lambda a, al: a["dY"].astype(L) * (1 - a["Y"].astype(L) ** 2),
        lambda a, al: np.abs(a["dY"].astype(L)), ("Y",), None),
    "relu_backward": (
        lambda a, al, out: ops.relu_backward(a["X"], a["dY"], out=out),
        lambda a, al: np.where(a["X"] > 0, a["dY"].astype(L), 0),
        lambda a, al: np.abs(a["dY"].astype(L)), ("X",), None),
    "leaky_relu_backward": (
        lambda a, al, out: ops.leaky_relu_backward(a["X"], a["dY"], alpha=al, out=out),
        lambda a, al: np.where(a["X"] > 0, a["dY"].astype(L), L(al) * a["dY"]),
        lambda a, al: np.abs(a["dY"].astype(L)) * max(1.0, abs(al)), ("X",), -np.inf),
    "elu_backward": (
        lambda a, al, out: ops.elu_backward(a["X"], a["Y"], a["dY"], alpha=al, out=out),
        lambda a, al: np.where(a["X"] > 0, a["dY"].astype(L),
                               a["dY"].astype(L) * (a["Y"].astype(L) + L(al))),
        lambda a, al: np.abs(a["dY"].astype(L)) * (1 + abs(al)), ("X", "Y"), 0.0),
    "dropout_backward": (
        lambda a, al, out: ops.dropout_backward(a["mask"], a["dY"], out=out),
        lambda a, al: a["dY"].astype(L) * a["mask"],
        lambda a, al: np.abs(a["dY"].astype(L)) * np.abs(a["mask"].astype(L)),
        ("mask",), None),
}


def _saved(name, key, shape, dtype, data):
    """Saved arrays in the range the forward pass produces them."""
    if key == "X":
        return data.draw(floats_array(shape, dtype))
    if key == "mask":
        rate = data.draw(st.sampled_from([0.0, 0.25, 0.5, 0.999]))
        U = data.draw(floats_array(shape, dtype, extremes=False, low=0.0, high=1.0))
        return np.where(U < rate, 0, 1 / (1 - rate)).astype(dtype)
    Y = data.draw(floats_array(shape, dtype, extremes=False, low=0.0, high=1.0))
    if name == "tanh_backward":
        Y = (2 * Y - 1).astype(dtype)
    if name == "elu_backward":
        Y = (-Y).astype(dtype)  # elu(x) for x <= 0 lies in (-alpha, 0]; alpha=1 here
    return Y


@fuzz()
@given(data=st.data(), name=st.sampled_from(sorted(BACKWARD)),
       dtype=st.sampled_from(FLOATS))
def test_elementwise_backward(data, name, dtype):
    run, reference, magnitude, saved, low = BACKWARD[name]
    shape = data.draw(shapes())
    args = {key: _saved(name, key, shape, dtype, data) for key in saved}
    args["dY"] = data.draw(floats_array(shape, dtype))
    args, expect = spoil(data, args, list(args))
    alpha = None
    if low is not None:
        alpha, alpha_ok = scalar(data, "alpha", low=low, dtype=dtype)
        expect = _combine(expect, alpha_ok)
    out, out_ok = make_out(data, shape, dtype, source=args["dY"], inplace_ok=True)
    expect = _combine(expect, out_ok)
    before = snapshot(args)
    result = call(run, expect, args, alpha, out)
    if result is None:
        return
    if out is not args["dY"]:
        unchanged(before, args)
    al = _effective_alpha(alpha, dtype) if low is not None else None
    finite_ok(result, reference(before, al), tol(dtype), magnitude(before, al), dtype)


# ------------------------------------------------------------------- maxout and dropout


@fuzz()
@given(data=st.data(), dtype=st.sampled_from(FLOATS))
def test_maxout_and_backward(data, dtype):
    n, units = data.draw(shapes(ndim=2))
    pieces = data.draw(st.sampled_from([1, 1, 2, 3, 5]))
    X = data.draw(floats_array((n, units * pieces), dtype))
    args, expect = spoil(data, {"X": X}, ["X"], allow_other_float=True)
    bad_pieces = data.draw(st.sampled_from([None] * 8 + [0, -1, 2.0, True, "2", 2**70]))
    if bad_pieces is not None:
        pieces_arg = bad_pieces
        expect = None if bad_pieces == 2**70 else False
        if bad_pieces == 2**70 and units * pieces == 0:
            expect = None
    else:
        pieces_arg = pieces
    before = snapshot(args)
    out, out_ok = make_out(data, (n, units), _dtype_of(args["X"], dtype))
    result = call(ops.maxout, _combine(expect, out_ok), args["X"], pieces_arg, out=out)
    if result is None:
        return
    unchanged(before, args)
    Y, argmax = result
    Xin = before["X"]
    groups = Xin.reshape(n, units, pieces)
    np.testing.assert_array_equal(Y, groups.max(axis=2))
    winners = groups.argmax(axis=2) + np.arange(units) * pieces
    np.testing.assert_array_equal(argmax, winners)
    dY = data.draw(floats_array((n, units), Y.dtype))
    kind = data.draw(st.sampled_from(["ok"] * 5 + ["negative", "too_big", "float",
                                                   "int32", "uint64", "shape"]))
    arg = argmax.copy()
    expect = True
    if kind == "negative" and arg.size:
        arg.flat[0], expect = -1, False
    elif kind == "too_big" and arg.size:
        arg.flat[-1], expect = units * pieces, False
    elif kind == "float":
        arg, expect = arg.astype(np.float64), False
    elif kind == "int32":
        arg = arg.astype(np.int32)
    elif kind == "uint64":
        arg = arg.astype(np.uint64)
        if arg.size and data.draw(st.booleans()):
            arg.flat[0], expect = np.uint64(2**63 + 1), False
    elif kind == "shape":
        arg, expect = np.zeros((n, units + 1), np.intp), False
    dX = call(ops.maxout_backward, expect, dY, arg, pieces)
    if dX is None:
        return
    ref = np.zeros((n, units * pieces), Y.dtype)
    np.put_along_axis(ref, argmax, dY, axis=1)
    np.testing.assert_array_equal(dX, ref)


@fuzz()
@given(data=st.data(), dtype=st.sampled_from(FLOATS))
def test_dropout(data, dtype):
    shape = data.draw(shapes())
    X = data.draw(floats_array(shape, dtype))
    U = data.draw(floats_array(shape, dtype, extremes=False, low=0.0, high=1.0))
    args, expect = spoil(data, {"X": X, "U": U}, ["X", "U"], written=("U",))
    rate, rate_ok = scalar(data, "rate", low=0.0, high=0.999, typical=(0.0, 0.99))
    if rate_ok and not 0 <= float(rate) < 1:
        rate_ok = False
    U_mode = data.draw(st.sampled_from(["own"] * 6 + ["is_X", "readonly"]))
    if U_mode == "is_X":
        args["U"] = args["X"]
        expect = False if np.size(X) else None
    elif U_mode == "readonly" and isinstance(args["U"], np.ndarray):
        args["U"] = args["U"].copy()
        args["U"].flags.writeable = False
        expect = False
    out, out_ok = make_out(data, shape, dtype, source=args["X"], inplace_ok=True)
    expect = _combine(expect, rate_ok, out_ok)
    Xin, Uin = np.array(args["X"], copy=True), np.array(args["U"], copy=True)
    result = call(ops.dropout, expect, args["X"], args["U"], rate, out=out)
    if result is None:
        return
    rate = float(rate)
    mask = np.where(Uin < np.asarray(rate, dtype), 0, 1 / (1 - rate)).astype(L)
    np.testing.assert_array_equal(args["U"], mask.astype(dtype))
    finite_ok(result, Xin.astype(L) * mask, tol(dtype), np.abs(Xin.astype(L)) * mask,
              dtype)


# --------------------------------------------------------------------- softmax family


def _softmax_ref(Z):
    Z = Z.astype(L)
    with np.errstate(all="ignore"):
        m = Z.max(axis=1, keepdims=True)
        E = np.exp(Z - m)
        total = E.sum(axis=1, keepdims=True)
        return E / total, (Z - m) - np.log(total)


@fuzz()
@given(data=st.data(), which=st.sampled_from(["softmax", "log_softmax"]),
       dtype=st.sampled_from(FLOATS))
def test_softmax_and_log_softmax(data, which, dtype):
    n, k = data.draw(shapes(ndim=2))
    Z = data.draw(floats_array((n, k), dtype))
    args, expect = spoil(data, {"logits": Z}, ["logits"], allow_other_float=True)
    if k == 0:
        expect = _combine(expect, False)
    op = getattr(ops, which)
    out, out_ok = make_out(data, (n, k), _dtype_of(args["logits"], dtype),
                           source=args["logits"], inplace_ok=True)
    before = snapshot(args)
    result = call(op, _combine(expect, out_ok), args["logits"], out=out)
    if result is None:
        return
    Zin = before["logits"]
    P, logP = _softmax_ref(Zin)
    if which == "softmax":
        finite_ok(result, P, tol(Zin.dtype, 4 * (k + 4)), 1.0, Zin.dtype)
    else:
        spread = np.abs(Zin.astype(L) - Zin.max(axis=1, keepdims=True))
        finite_ok(result, logP, tol(Zin.dtype, 4 * (k + 4)), spread + 1, Zin.dtype)


@fuzz()
@given(data=st.data(), dtype=st.sampled_from(FLOATS))
def test_softmax_backward(data, dtype):
    n, k = data.draw(shapes(ndim=2))
    Z = data.draw(floats_array((n, k), dtype))
    Y = _softmax_ref(Z)[0].astype(dtype) if k else Z
    dY = data.draw(floats_array((n, k), dtype))
    args, expect = spoil(data, {"Y": Y, "dY": dY}, ["Y", "dY"])
    out, out_ok = make_out(data, (n, k), dtype, source=args["dY"], inplace_ok=True)
    before = snapshot(args)
    result = call(ops.softmax_backward, _combine(expect, out_ok), args["Y"], args["dY"],
                  out=out)
    if result is None:
        return
    Yl, dYl = before["Y"].astype(L), before["dY"].astype(L)
    dot = (Yl * dYl).sum(axis=1, keepdims=True)
    magnitude = np.abs(dYl).max(axis=1, keepdims=True) * 2 if k else 0
    finite_ok(result, Yl * (dYl - dot), tol(dtype, 4 * (k + 4)), magnitude, dtype)


# ------------------------------------------------------------------------------ losses


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


@fuzz()
@given(data=st.data(), dtype=st.sampled_from(FLOATS), targets=st.booleans())
def test_softmax_cross_entropy(data, dtype, targets):
    n, k = data.draw(shapes(ndim=2))
    Z = data.draw(floats_array((n, k), dtype))
    labels = np.asarray(data.draw(st.lists(st.integers(0, max(k - 1, 0)), min_size=n,
                                           max_size=n)), np.intp)
    expect = k > 0
    if targets:
        T = np.zeros((n, k), dtype)
        if k:
            T[np.arange(n), labels] = 1
            if data.draw(st.booleans()):
                T = data.draw(floats_array((n, k), dtype, extremes=False, low=0.0,
                                           high=1.0))
        args, spoiled = spoil(data, {"logits": Z, "y": T}, ["logits", "y"])
        if not isinstance(args["y"], np.ndarray) or np.ndim(args["y"]) != 2:
            spoiled = False  # a list or 1-D y is taken as labels and refused
    else:
        bad = data.draw(st.sampled_from(["ok"] * 6 + [
            "negative", "too_big", "float", "int8", "uint64", "short", "list"]))
        y = labels
        if bad == "negative" and n:
            y = y.copy(); y[0] = -1; expect = False  # noqa: E702
        elif bad == "too_big" and n:
            y = y.copy(); y[-1] = k; expect = False  # noqa: E702
        elif bad == "float":
            y, expect = y.astype(dtype), False
        elif bad == "int8":
            y = y.astype(np.int8)
        elif bad == "uint64":
            y = y.astype(np.uint64)
        elif bad == "short":
            y, expect = y[:-1] if n else np.zeros(1, np.intp), False
        elif bad == "list":
            y, expect = y.tolist(), False
        args, spoiled = spoil(data, {"logits": Z, "y": y}, ["logits"],
                              allow_other_float=True)
    weights, w_ok = _weights(data, n, _dtype_of(args["logits"], dtype))
    scale, s_ok = scalar(data, "scale", typical=(-2.0, 2.0),
                         dtype=_dtype_of(args["logits"], dtype))
    with_grad = data.draw(st.booleans())
    _, grad_ok = make_out(data, (n, k), dtype)  # only the draw
    expect = _combine(expect, spoiled, w_ok, s_ok)
    before = snapshot(args)
    result = call(ops.softmax_cross_entropy, expect, args["logits"], args["y"],
                  sample_weight=weights, scale=scale, with_grad=with_grad)
    if result is None:
        return
    loss, grad = result
    Zl = before["logits"].astype(L)
    P, logP = _softmax_ref(before["logits"])
    T = before["y"].astype(L) if targets else np.eye(k, dtype=L)[np.asarray(args["y"],
                                                                           np.intp)]
    w = np.ones(n, L) if weights is None else weights.astype(L)
    dtype = before["logits"].dtype
    sc = L(_effective_alpha(scale, dtype))
    with np.errstate(all="ignore"):
        ref_loss = w * -(T * np.where(T != 0, logP, 0)).sum(axis=1)
        spread = np.abs(Zl - Zl.max(axis=1, keepdims=True)) + 1
        mag_loss = w * (np.abs(T) * spread).sum(axis=1)
    finite_ok(loss, ref_loss, tol(dtype, 4 * (k + 4)), mag_loss, dtype)
    if with_grad:
        ref_grad = (sc * w)[:, None] * (P * T.sum(axis=1, keepdims=True) - T)
        mag = np.abs(sc * w)[:, None] * (np.abs(T).sum(axis=1, keepdims=True) + 1)
        finite_ok(grad, ref_grad, tol(dtype, 4 * (k + 4)), mag, dtype)
    else:
        assert grad is None


@fuzz()
@given(data=st.data(), which=st.sampled_from(["binary_cross_entropy", "squared_error"]),
       dtype=st.sampled_from(FLOATS))
def test_binary_cross_entropy_and_squared_error(data, which, dtype):
    shape = data.draw(shapes(ndim=data.draw(st.sampled_from([1, 2]))))
    Z = data.draw(floats_array(shape, dtype))
    if which == "binary_cross_entropy":
        y = data.draw(floats_array(shape, dtype, extremes=False, low=0.0, high=1.0))
        if data.draw(st.booleans()):
            y = np.round(y)
    else:
        y = data.draw(floats_array(shape, dtype))
    first = "logits" if which == "binary_cross_entropy" else "pred"
    args, expect = spoil(data, {first: Z, "y": y}, [first, "y"])
    weights, w_ok = _weights(data, shape[0], dtype)
    scale, s_ok = scalar(data, "scale", typical=(-2.0, 2.0), dtype=dtype)
    with_grad = data.draw(st.booleans())
    grad_out, g_ok = make_out(data, shape, dtype, source=args[first], inplace_ok=True)
    if not with_grad:
        grad_out, g_ok = None, True
    before = snapshot(args)
    result = call(getattr(ops, which), _combine(expect, w_ok, s_ok, g_ok), args[first],
                  args["y"], sample_weight=weights, scale=scale, with_grad=with_grad,
                  grad_out=grad_out)
    if result is None:
        return
    loss, grad = result
    Zl = before[first].astype(L).reshape(shape[0], shape[1] if len(shape) == 2 else 1)
    yl = before["y"].astype(L).reshape(Zl.shape)
    w = np.ones(shape[0], L) if weights is None else weights.astype(L)
    sc = L(_effective_alpha(scale, dtype))
    k = Zl.shape[1]
    with np.errstate(all="ignore"):
        if which == "binary_cross_entropy":
            terms = np.maximum(Zl, 0) - yl * Zl + np.log1p(np.exp(-np.abs(Zl)))
            mag_terms = np.abs(Zl) * (1 + np.abs(yl)) + 1
            g = _sigmoid(Zl) - yl
            mag_g = 1 + np.abs(yl)
        else:
            terms = (Zl - yl) ** 2 / max(k, 1)
            mag_terms = (np.abs(Zl) + np.abs(yl)) ** 2
            g = 2 * (Zl - yl) / max(k, 1)
            mag_g = 2 * (np.abs(Zl) + np.abs(yl))
        ref_loss = w * terms.sum(axis=1)
        # the row's loss is formed before the weight multiplies it
        mag_loss = np.maximum(w, 1) * mag_terms.sum(axis=1)
    finite_ok(loss, ref_loss, tol(dtype, 4 * (k + 4)), mag_loss, dtype)
    if with_grad:
        finite_ok(grad.reshape(Zl.shape), (sc * w)[:, None] * g, tol(dtype, 16),
                  np.maximum(np.abs(sc * w), 1)[:, None] * mag_g, dtype)


# ------------------------------------------------------------------------------- dense


@fuzz()
@given(data=st.data(), dtype=st.sampled_from(FLOATS), with_bias=st.booleans())
def test_dense_forward(data, dtype, with_bias):
    n, f, u = data.draw(shapes(ndim=3))
    args = {"X": data.draw(floats_array((n, f), dtype)),
            "W": data.draw(floats_array((f, u), dtype))}
    if with_bias:
        args["b"] = data.draw(floats_array((u,), dtype))
    args, expect = spoil(data, args, list(args))
    out, out_ok = make_out(data, (n, u), dtype, source=args["X"] if n * f else None)
    if out is args["X"]:
        out_ok = None if np.size(out) == 0 else False
    before = snapshot(args)
    result = call(ops.dense_forward, _combine(expect, out_ok), args["X"], args["W"],
                  args.get("b"), out=out)
    if result is None:
        return
    unchanged(before, args)
    X, W = before["X"].astype(L), before["W"].astype(L)
    b = before["b"].astype(L) if with_bias else np.zeros(u, L)
    with np.errstate(all="ignore"):
        ref = X @ W + b
        mag = np.abs(X) @ np.abs(W) + np.abs(b)
    finite_ok(result, ref, tol(dtype, 2 * (f + 4)), mag, dtype)


@fuzz()
@given(data=st.data(), dtype=st.sampled_from(FLOATS), with_bias=st.booleans(),
       with_dX=st.booleans())
def test_dense_backward(data, dtype, with_bias, with_dX):
    n, f, u = data.draw(shapes(ndim=3))
    args = {"X": data.draw(floats_array((n, f), dtype)),
            "W": data.draw(floats_array((f, u), dtype)),
            "dY": data.draw(floats_array((n, u), dtype))}
    args, expect = spoil(data, args, list(args))
    dW, dW_ok = make_out(data, (f, u), dtype, source=args["W"])
    if dW is args["W"]:
        dW_ok = None if np.size(dW) == 0 else False
    before = snapshot(args)
    result = call(ops.dense_backward, _combine(expect, dW_ok), args["X"], args["W"],
                  args["dY"], with_bias=with_bias, with_dX=with_dX, dW=dW)
    if result is None:
        return
    unchanged(before, args)
    dWr, dbr, dXr = result
    X, W, dY = (before[k].astype(L) for k in ("X", "W", "dY"))
    with np.errstate(all="ignore"):
        finite_ok(dWr, X.T @ dY, tol(dtype, 2 * (n + 4)), np.abs(X.T) @ np.abs(dY),
                  dtype)
        if with_bias:
            finite_ok(dbr, dY.sum(axis=0), tol(dtype, 2 * (n + 4)),
                      np.abs(dY).sum(axis=0), dtype)
        else:
            assert dbr is None
        if with_dX:
            finite_ok(dXr, dY @ W.T, tol(dtype, 2 * (u + 4)), np.abs(dY) @ np.abs(W.T),
                      dtype)
        else:
            assert dXr is None


# -------------------------------------------------------------------------- optimizers


@fuzz()
@given(data=st.data(), dtype=st.sampled_from(FLOATS),
       which=st.sampled_from(["sgd", "momentum", "nesterov", "adam", "l2_penalty"]))
def test_optimizer_steps(data, dtype, which):
    shape = data.draw(shapes())
    args = {"W": data.draw(floats_array(shape, dtype)),
            "G": data.draw(floats_array(shape, dtype))}
    if which in ("momentum", "nesterov"):
        args["V"] = data.draw(floats_array(shape, dtype))
    if which == "adam":
        args["M"] = data.draw(floats_array(shape, dtype))
        args["S"] = np.abs(data.draw(floats_array(shape, dtype)))  # a second moment
    names = list(args)
    written = [n for n in names if n != "G"] if which != "l2_penalty" else ["G"]
    args, expect = spoil(data, args, names, written=written)
    alias = data.draw(st.sampled_from(["none"] * 6 + ["same", "view"]))
    if alias != "none" and meets_contract(args["W"]) and np.size(args["W"]):
        other = data.draw(st.sampled_from(names[1:]))
        W_view = args["W"].reshape(args["W"].shape)  # a new array object, same memory
        args[other] = args["W"] if alias == "same" else W_view
        expect = False
    # adam checks its bias-corrected step size, l2_penalty the product l2 * scale
    plain = which in ("sgd", "momentum", "nesterov")
    lr, lr_ok = scalar(data, "learning_rate", low=0.0, typical=(0.0, 1.0),
                       dtype=dtype if plain else None)
    l2, l2_ok = scalar(data, "l2", low=0.0, typical=(0.0, 1.0),
                       dtype=dtype if which != "l2_penalty" else None)
    expect = _combine(expect, lr_ok or which == "l2_penalty", l2_ok)
    before = snapshot(args)
    if which == "sgd":
        ran = attempt(ops.sgd_update, expect, args, before, args["W"], args["G"], lr,
                      l2=l2)
    elif which in ("momentum", "nesterov"):
        mu, mu_ok = scalar(data, "momentum", low=0.0, high=1.0, typical=(0.0, 1.0))
        ran = attempt(ops.momentum_update, _combine(expect, mu_ok), args, before,
                      args["W"], args["G"], args["V"], lr, mu,
                      nesterov=which == "nesterov", l2=l2)
    elif which == "adam":
        t = data.draw(st.sampled_from([1, 2, 10, 10**6, 0, -1, 1.0, True]))
        b1, b1_ok = scalar(data, "beta_1", low=0.0, high=0.999, typical=(0.0, 0.999))
        b2, b2_ok = scalar(data, "beta_2", low=0.0, high=0.999, typical=(0.0, 0.999))
        eps, eps_ok = scalar(data, "epsilon", low=1e-12, typical=(1e-8, 1.0),
                             dtype=dtype)
        t_ok = type(t) is int and t >= 1
        if t_ok and b1_ok and b2_ok and lr_ok and float(b1) < 1:
            lr_t = float(lr) * np.sqrt(1 - float(b2) ** t) / (1 - float(b1) ** t)
            t_ok = fits(lr_t, dtype)
        ran = attempt(ops.adam_update, _combine(expect, b1_ok, b2_ok, eps_ok, t_ok),
                      args, before, args["W"], args["G"], args["M"], args["S"], lr, t,
                      beta_1=b1, beta_2=b2, epsilon=eps, l2=l2)
    else:  # l2_penalty: dW += scale * l2 * W, returns l2 * sum(W**2)
        scale, s_ok = scalar(data, "scale", typical=(-2.0, 2.0))
        if s_ok and l2_ok:
            s_ok = fits(float(l2) * float(scale), dtype)
        penalty = []
        ran = attempt(lambda *a, **k: penalty.append(ops.l2_penalty(*a, **k)),
                      _combine(expect, s_ok), args, before, args["W"], args["G"], l2,
                      scale=scale)
    if not ran:
        return
    W, G = (before[k].astype(L) for k in ("W", "G"))
    l2_e = L(_effective_alpha(l2, dtype))
    lr_e = L(_effective_alpha(lr, dtype)) if which != "l2_penalty" else None
    with np.errstate(all="ignore"):
        g = G + l2_e * W
        mag_g = np.abs(G) + l2_e * np.abs(W)
        if which == "sgd":
            ref, mag = W - lr_e * g, np.abs(W) + lr_e * mag_g + mag_g
        elif which in ("momentum", "nesterov"):
            V = before["V"].astype(L)
            mu_e = L(_effective_alpha(mu, dtype))
            V_new = mu_e * V - lr_e * g
            ref = W + (mu_e * V_new - lr_e * g if which == "nesterov" else V_new)
            mag = np.abs(W) + np.abs(V) + 2 * lr_e * mag_g + mag_g
            finite_ok(args["V"], V_new, tol(dtype, 16),
                      np.abs(V) + lr_e * mag_g + mag_g, dtype)
        elif which == "adam":
            M, S = before["M"].astype(L), before["S"].astype(L)
            b1e, b2e, epse = (L(_effective_alpha(v, dtype)) for v in (b1, b2, eps))
            lr_t = L(lr) * np.sqrt(1 - L(b2) ** t) / (1 - L(b1) ** t)
            lr_te = L(_effective_alpha(float(lr_t), dtype))
            M_new = b1e * M + (1 - b1e) * g
            S_new = b2e * S + (1 - b2e) * g * g
            ref = W - lr_te * M_new / (np.sqrt(S_new) + epse)
            # NOTE: g*g is formed in the dtype, so |g| above sqrt(max) may overflow S.
            mag = (np.abs(W) + np.abs(M) + mag_g + lr_te * (np.abs(M) + mag_g) / epse
                   + mag_g ** 2 + S)
            finite_ok(args["M"], M_new, tol(dtype, 16), np.abs(M) + mag_g, dtype)
        else:
            sc = L(_effective_alpha(scale, dtype))
            ref = G + sc * l2_e * W
            mag = np.abs(G) + np.abs(sc * l2_e * W)
            total = l2_e * (W * W).sum()
            finite_ok(np.asarray(penalty[0]), total, tol(dtype, 2 * (W.size + 4)),
                      total, np.float64 if W.size == 0 else dtype)
            finite_ok(args["G"], ref, tol(dtype, 8), mag, dtype)
            np.testing.assert_array_equal(args["W"], before["W"])
            return
    finite_ok(args["W"], ref, tol(dtype, 32), mag, dtype)


def attempt(function, expect, args, before, *call_args, **kwargs):
    """Run an in-place op; True if it ran. A refused call leaves its arrays alone."""
    try:
        with strict():
            function(*call_args, **kwargs)
    except CLEAN_ERRORS as error:
        assert expect is not True, f"a valid call raised {error!r}"
        assert not _changed(args, before), "a refused call changed its arrays"
        return False
    assert expect is not False, "an invalid call was accepted"
    return True


def _changed(args, before):
    for key, value in before.items():
        nan_ok = value.dtype.kind == "f"
        if not np.array_equal(np.asarray(args[key]), value, equal_nan=nan_ok):
            return True
    return False


# ------------------------------------------------------------------------------- rows


@fuzz()
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64, np.intp]),
       ndim=st.sampled_from([1, 2]))
def test_take_rows(data, dtype, ndim):
    shape = data.draw(shapes(ndim=ndim))
    if dtype == np.intp:
        X = np.arange(int(np.prod(shape)), dtype=np.intp).reshape(shape)
    else:
        X = data.draw(floats_array(shape, dtype))
    n_rows = shape[0]
    m = data.draw(st.integers(0, 9))
    indices = np.asarray(data.draw(st.lists(st.integers(0, max(n_rows - 1, 0)),
                                            min_size=m, max_size=m)), np.intp)
    expect = n_rows > 0 or m == 0
    kind = data.draw(st.sampled_from(["ok"] * 6 + [
        "negative", "too_big", "huge", "int32", "uint", "float", "strided", "2d",
        "list"]))
    if kind == "negative" and m:
        indices[data.draw(st.integers(0, m - 1))], expect = -1, False
    elif kind == "too_big" and m:
        indices[data.draw(st.integers(0, m - 1))], expect = n_rows, False
    elif kind == "huge" and m:
        indices[0], expect = np.iinfo(np.intp).max, False
    elif kind in ("int32", "uint", "float"):
        indices = indices.astype({"int32": np.int32, "uint": np.uintp,
                                  "float": np.float64}[kind])
        expect = False
    elif kind == "strided" and m > 1:
        indices, expect = np.repeat(indices, 2)[::2], False
    elif kind == "2d":
        indices, expect = indices.reshape(1, -1), False
    elif kind == "list":
        indices, expect = indices.tolist(), False
    if dtype != np.intp:
        args, spoiled = spoil(data, {"X": X}, ["X"], allow_other_float=True)
        Xv = args["X"]
        if isinstance(Xv, np.ndarray) and Xv.dtype == np.intp and Xv.flags.c_contiguous:
            spoiled = True  # take_rows gathers intp labels too
        expect = _combine(expect, spoiled)
    else:
        Xv = X
    out_shape = (len(indices),) + tuple(shape[1:]) if np.ndim(indices) == 1 else (0,)
    out_kind = data.draw(st.sampled_from(["none"] * 4 + ["fresh", "wrong", "overlap"]))
    out = None
    if out_kind == "fresh" and isinstance(Xv, np.ndarray) and Xv.dtype in (
            np.float32, np.float64, np.intp):
        out = np.zeros(out_shape, Xv.dtype)
    elif out_kind == "wrong":
        out, expect = np.zeros(out_shape + (1,), X.dtype), False
    elif (out_kind == "overlap" and meets_contract(Xv) and Xv.size
          and Xv.shape[0] >= len(indices) and Xv.flags.writeable):
        out = Xv[:len(indices)]
        expect = None if out.size == 0 else False
    sentinel = None if out is None else out.copy()
    try:
        with strict():
            result = ops.take_rows(Xv, indices, out=out)
    except CLEAN_ERRORS as error:
        assert expect is not True, repr(error)
        if out is not None and out_kind == "fresh":
            np.testing.assert_array_equal(out, sentinel)  # left untouched
        return
    assert expect is not False, "an invalid call was accepted"
    np.testing.assert_array_equal(result, np.asarray(Xv)[np.asarray(indices)])


# ------------------------------------------------------------------ logistic regression


def _logistic_ref(X, y, W, b, w, with_bias):
    """Per-row loss and G = w * (p - onehot) in long double."""
    X, W, b = X.astype(L), W.astype(L), b.astype(L)
    Z = X @ W + (b if with_bias else 0)
    k = W.shape[1]
    with np.errstate(all="ignore"):
        if k == 1:
            z = Z[:, 0]
            loss = np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))
            G = (_sigmoid(z) - y)[:, None]
        else:
            m = Z.max(axis=1, keepdims=True)
            E = np.exp(Z - m)
            lse = np.log(E.sum(axis=1)) + m[:, 0]
            loss = lse - Z[np.arange(len(y)), y]
            G = E / E.sum(axis=1, keepdims=True)
            G[np.arange(len(y)), y] -= 1
    return w * loss, w[:, None] * G, np.abs(X) @ np.abs(W) + np.abs(b)


@fuzz()
@given(data=st.data(), dtype=st.sampled_from(FLOATS), with_bias=st.booleans())
def test_logistic_loss_grad(data, dtype, with_bias):
    n, f = data.draw(shapes(ndim=2))
    k = data.draw(st.sampled_from([1, 1, 2, 3]))
    X = data.draw(floats_array((n, f), dtype, extremes=data.draw(st.booleans())))
    W = data.draw(floats_array((f, k), dtype, extremes=False)) / 4
    b = data.draw(floats_array((k,), dtype, extremes=False))
    y = np.asarray(data.draw(st.lists(st.integers(0, max(k, 2) - 1), min_size=n,
                                      max_size=n)), np.intp)
    args, expect = spoil(data, {"X": X, "W": W.astype(dtype), "b": b}, ["X", "W", "b"])
    weights, w_ok = _weights(data, n, dtype)
    scale, s_ok = scalar(data, "scale", typical=(-2.0, 2.0), dtype=dtype)
    n_threads = data.draw(st.sampled_from([1, 1, 2, 3, 0]))
    block_rows = data.draw(st.sampled_from([None, None, 1, 3, 0, -1]))
    expect = _combine(expect, w_ok, s_ok, n_threads >= 1,
                      block_rows is None or block_rows >= 1)
    before = snapshot(args)
    result = call(logistic_ops.logistic_loss_grad, expect, args["X"], y, args["W"], args["b"],
                  sample_weight=weights, scale=scale, with_bias=with_bias,
                  n_threads=n_threads, block_rows=block_rows)
    if result is None:
        return
    unchanged(before, args)
    loss, dW, db = result
    w = np.ones(n, L) if weights is None else weights.astype(L)
    row_loss, G, mag_z = _logistic_ref(before["X"], y, before["W"], before["b"], w,
                                       with_bias)
    sc = L(_effective_alpha(scale, dtype))
    Xl = before["X"].astype(L)
    with np.errstate(all="ignore"):
        mag_loss = (w * (mag_z.max(axis=1) * 2 + 1)).sum() if n else L(0)
        # the loss is summed in float64, but the logits are formed in the dtype
        finite_ok(np.asarray(loss), row_loss.sum(), tol(dtype, 8 * (n + f + 8)),
                  mag_loss, dtype)
        # NOTE: G = p - onehot is formed from p in the dtype, so its error is an ulp
        # of p (up to 1), not of G: the magnitude of G's terms is w * (p + 1).
        mag_G = np.repeat(w[:, None] * 2, k, axis=1)
        # z = X W is formed in the dtype before anything scales it: if it overflows,
        # every output may (the loss, G and so dW and db; scale 0 does not help)
        big = np.finfo(dtype).max / 4
        z_over = L(np.inf) if mag_z.size and mag_z.max() > big else L(0)
        finite_ok(dW, sc * Xl.T @ G, tol(dtype, 8 * (n + f + 8)),
                  np.abs(sc) * np.abs(Xl.T) @ mag_G + z_over, dtype)
        finite_ok(db, sc * G.sum(axis=0) if with_bias else np.zeros(k, L),
                  tol(dtype, 8 * (n + 8)), np.abs(sc) * mag_G.sum(axis=0) + z_over,
                  dtype)


@fuzz(max_examples=20)
@given(data=st.data(), dtype=st.sampled_from(FLOATS), sparse=st.booleans())
def test_logistic_sgd_epoch(data, dtype, sparse):
    n, f = data.draw(shapes(ndim=2, min_side=0))
    k = data.draw(st.sampled_from([1, 2, 3]))
    X = data.draw(floats_array((n, f), dtype, extremes=False))
    y = np.asarray(data.draw(st.lists(st.integers(0, max(k, 2) - 1), min_size=n,
                                      max_size=n)), np.intp)
    m = data.draw(st.integers(0, 2 * n + 1) if n else st.sampled_from([0, 0, 1]))
    order = np.asarray(data.draw(st.lists(st.integers(0, max(n - 1, 0)), min_size=m,
                                          max_size=m)), np.intp)
    expect = f >= 1 and (n > 0 or m == 0)
    W = np.zeros((f, k), dtype)
    b = np.zeros(k, dtype)
    lr = data.draw(st.sampled_from([0.0, 0.01, 0.5]))
    batch = data.draw(st.sampled_from([1, 2, 32, 0]))
    expect = _combine(expect, batch >= 1)
    corrupt = data.draw(st.sampled_from(["none"] * 4 + ["indptr", "indices", "order"]))
    if sparse:
        Xs = sp.csr_matrix(X)
        if corrupt == "indptr" and Xs.nnz:
            Xs.indptr[-1] += 5
            expect = False
        elif corrupt == "indices" and Xs.nnz:
            Xs.indices[0] = f + 3
            expect = False
        Xa = Xs
    else:
        Xa = X
    if corrupt == "order" and m:
        order[0], expect = n + 10, False
    weights, w_ok = _weights(data, n, dtype)
    expect = _combine(expect, w_ok)
    loss = call(logistic_ops.logistic_sgd_epoch, expect, Xa, y, W, b, order, lr, l2=0.01,
                batch_size=batch, sample_weight=weights)
    if loss is None:
        return
    # NumPy twin: the same batches, the weights updated after each.
    Wr, br = np.zeros((f, k), L), np.zeros(k, L)
    w = np.ones(n, L) if weights is None else weights.astype(L)
    total = L(0)
    for start in range(0, m, batch):
        rows = order[start:start + batch]
        row_loss, G, _ = _logistic_ref(X[rows], y[rows], Wr, br, w[rows], True)
        total += row_loss.sum()
        Wr = Wr - L(lr) * (X[rows].astype(L).T @ G / len(rows) + L(0.01) * Wr)
        br = br - L(lr) * G.sum(axis=0) / len(rows)
    assert np.isfinite(loss) and np.all(np.isfinite(W)) and np.all(np.isfinite(b))
    np.testing.assert_allclose(loss, float(total),
                               rtol=1e-3 if dtype == np.float32 else 1e-9, atol=1e-3)
    np.testing.assert_allclose(W, Wr.astype(np.float64), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(b, br.astype(np.float64), rtol=1e-3, atol=1e-4)


# -------------------------------------------------------------------------------- bind


BINDABLE = {
    "relu": lambda X, Y: (ops.relu, (X,), {"out": np.empty_like(X)}),
    "sigmoid": lambda X, Y: (ops.sigmoid, (X,), {"out": np.empty_like(X)}),
    "tanh_backward": lambda X, Y: (ops.tanh_backward, (X, Y),
                                   {"out": np.empty_like(X)}),
    "softmax": lambda X, Y: (ops.softmax, (X,), {"out": np.empty_like(X)}),
    "dense_forward": lambda X, Y: (ops.dense_forward, (X, Y.T.copy()), {
        "out": np.empty((X.shape[0], X.shape[0]), X.dtype)}),
}


@fuzz()
@given(data=st.data(), dtype=st.sampled_from(FLOATS),
       name=st.sampled_from(sorted(BINDABLE)))
def test_bind_repeats_the_checked_call(data, dtype, name):
    n, k = data.draw(shapes(ndim=2))
    X = data.draw(floats_array((n, k), dtype, extremes=False))
    Y = data.draw(floats_array((n, k), dtype, extremes=False))
    function, args, kwargs = BINDABLE[name](X, Y)
    expect = not (name == "softmax" and k == 0)
    bound = call(ops.bind, expect, function, *args, **kwargs)
    if bound is None:
        return
    run, result = bound
    X[...] = data.draw(floats_array((n, k), dtype, extremes=False))
    run()
    with strict():
        direct = function(*args)
    first = result[0] if isinstance(result, tuple) else result
    # exact: run() is the very kernel call the direct call makes, same shapes
    np.testing.assert_array_equal(first, direct)


@pytest.mark.parametrize("name", sorted(ops.__all__))
def test_every_public_op_is_fuzzed(name):
    """A new op must get a fuzz test here (this list fails until it has one)."""
    fuzzed = {*FORWARD, *BACKWARD, "maxout", "maxout_backward", "dropout", "softmax",
              "log_softmax", "softmax_backward", "softmax_cross_entropy",
              "binary_cross_entropy", "squared_error", "dense_forward",
              "dense_backward",
              "sgd_update", "momentum_update", "adam_update", "l2_penalty", "take_rows",
              "bind", "SIMD",
              "sum_of_squares"}
    assert name in fuzzed


@fuzz()
@given(data=st.data(), dtype=st.sampled_from(FLOATS), bound=st.booleans())
def test_sum_of_squares(data, dtype, bound):
    n = data.draw(st.sampled_from([0, 1, 2, 7, 100]))
    v = data.draw(floats_array((n,), dtype))
    args, expect = spoil(data, {"v": v}, ["v"], allow_other_float=True)
    if bound:
        result = call(ops.bind, expect, ops.sum_of_squares, args["v"])
        if result is None:
            return
        with strict():
            total = result[0]()
    else:
        total = call(ops.sum_of_squares, expect, args["v"])
        if total is None:
            return
    vl = np.asarray(args["v"]).astype(L)
    ref = (vl * vl).sum()
    assert isinstance(float(total), float)
    dtype = args["v"].dtype
    finite_ok(np.asarray(total), ref, tol(dtype, 2 * (n + 4)), ref, dtype)


# ------------------------------------------------------------------ NaN and inf inputs


NONFINITE = {
    # name: (op, NumPy's semantics for non-finite input)
    "sigmoid": (ops.sigmoid, lambda X: _sigmoid(X)),
    "tanh": (ops.tanh, lambda X: np.tanh(X.astype(L))),
    "relu": (ops.relu, lambda X: np.maximum(X.astype(L), 0)),
    "leaky_relu": (ops.leaky_relu, lambda X: np.where(X > 0, X, L(0.1) * X.astype(L))),
    "elu": (ops.elu, lambda X: _elu(X, 1.0)),
    "maxout": (lambda X: ops.maxout(X, 2)[0],
               lambda X: X.astype(L).reshape(len(X), -1, 2).max(axis=2)),
    "softmax": (ops.softmax, lambda X: _softmax_ref(X)[0]),
    "log_softmax": (ops.log_softmax, lambda X: _softmax_ref(X)[1]),
}


@fuzz()
@given(data=st.data(), name=st.sampled_from(sorted(NONFINITE)),
       dtype=st.sampled_from(FLOATS))
def test_nan_and_inf_propagate_as_in_numpy(data, name, dtype):
    """ops does not search for NaN and inf; its docstring promises they propagate as in
    NumPy. A NaN must never come out finite (that would hide bad data)."""
    op, reference = NONFINITE[name]
    n, k = data.draw(shapes(ndim=2, min_side=1))
    X = data.draw(floats_array((n, 2 * k), dtype))
    for _ in range(data.draw(st.integers(1, 4))):
        X.flat[data.draw(st.integers(0, X.size - 1))] = data.draw(
            st.sampled_from([np.nan, np.inf, -np.inf]))
    with strict():
        out = op(X.copy())
    with np.errstate(all="ignore"):
        ref = reference(X)
    if name in ("softmax", "log_softmax"):
        # a row holding NaN is all NaN; rows with inf are NumPy's inf - inf = NaN or a
        # limit, either is fair; finite rows are exact
        rows_nan = np.isnan(X).any(axis=1)
        assert np.isnan(out[rows_nan]).all(), out[rows_nan]
        finite_rows = np.isfinite(X).all(axis=1)
        out, ref = out[finite_rows], ref[finite_rows]
    nan = np.isnan(ref)
    assert np.isnan(out[nan]).all(), f"NaN in, {out[nan]} out"
    same = ~nan & np.isinf(ref)
    np.testing.assert_array_equal(out[same], ref[same].astype(dtype))


@pytest.mark.parametrize("dtype", FLOATS)
def test_a_zero_weight_removes_a_sample_whose_loss_overflows(dtype):
    """0 * inf is NaN: a weight-0 row whose loss overflowed made the whole loss NaN
    (found by fuzzing squared_error with targets of 1e30 in float32)."""
    big = np.finfo(dtype).max
    pred = np.array([[0.5], [big]], dtype)
    y = np.array([[0.0], [-big]], dtype)
    weights = np.array([1.0, 0.0], dtype)
    for op, target in ((ops.squared_error, y), (ops.binary_cross_entropy, y * 0),
                       (ops.softmax_cross_entropy, np.array([0, 0]))):
        logits = pred if op is not ops.softmax_cross_entropy else np.hstack(
            [pred * -1, pred])
        with strict():
            loss, _ = op(logits, target, sample_weight=weights, with_grad=False)
        assert np.isfinite(loss[0]) and loss[1] == 0, (op.__name__, loss)


def test_float32_kernels_refuse_scalars_that_overflow_float32():
    """alpha=1e300 passed check_scalar but reached the float32 kernel as inf:
    leaky_relu(0) was inf * 0 = NaN (found by fuzzing)."""
    X = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="overflows float32"):
        ops.leaky_relu(X, alpha=1e300)
    with pytest.raises(ValueError, match="overflows float32"):
        ops.sgd_update(X.copy(), X, learning_rate=1e39)
    with pytest.raises(ValueError, match="overflows float32"):
        ops.squared_error(X, X, scale=-1e39)
    np.testing.assert_array_equal(ops.leaky_relu(X.astype(np.float64), alpha=1e300), 0)


def test_l2_penalty_updates_an_unaligned_gradient():
    """SciPy's f2py axpy copies an unaligned dW and updated the copy: dW stayed as it
    was (found by fuzzing)."""
    buffer = np.zeros(3 * 8 + 1, np.uint8)
    dW = buffer[1:].view(np.float64)
    dW[:] = 1.0
    assert not dW.flags.aligned
    assert ops.l2_penalty(np.ones(3), dW, 0.5, scale=2.0) == 1.5
    np.testing.assert_array_equal(dW, 2.0)


def test_l2_penalty_of_zero_is_zero_when_the_squares_overflow():
    W = np.full(2, 1e30, np.float32)  # W**2 overflows float32: 0 * inf was NaN
    assert ops.l2_penalty(W, np.zeros(2, np.float32), 0.0) == 0.0
