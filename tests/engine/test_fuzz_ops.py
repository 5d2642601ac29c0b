"""Property-based fuzzing of ``fastnn.ops``: the element-wise activations and their
backward, maxout, dropout, NaN and inf inputs; and the list that makes every public op
get a fuzz test (here or in test_fuzz_ops_*.py).

Each example draws shapes (often 0 or 1 along an axis), a dtype, values with a few
extremes among them, and then spoils at most one argument: another layout (Fortran,
strided, reversed, broadcast, unaligned, byte-swapped), another type (int, float16,
complex, object, bool, a list, np.matrix), read-only, or an ``out`` that is the wrong
shape, dtype, read-only or overlapping an input. The call must then either give the
NumPy reference result (computed in long double, compared with tolerances keyed by
dtype; finite wherever the computation stays finite, no warnings) or raise
``ValueError``/``TypeError``: never crash, never write out of bounds, never change an
input it does not own. Spoilers: _fuzz_ops.py; profiles: tests/_fuzz.py.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastnn import ops

from _fuzz import (
    FLOATS, finite_ok, floats_array, fuzz, shapes, strict,
)

from _fuzz_ops import (
    L, _combine, _dtype_of, _effective_alpha, _elu, _sigmoid, _softmax_ref, call,
    make_out, scalar, snapshot, spoil, tol, unchanged,
)

# ----------------------------------------------------------------- element-wise forward


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


@pytest.mark.parametrize("name", sorted(ops.__all__))
def test_every_public_op_is_fuzzed(name):
    """A new op must get a fuzz test here (this list fails until it has one)."""
    fuzzed = {*FORWARD, *BACKWARD, "maxout", "maxout_backward", "dropout", "softmax",
              "log_softmax", "softmax_backward", "softmax_cross_entropy",
              "binary_cross_entropy", "squared_error", "dense_forward",
              "dense_backward",
              "sgd_update", "momentum_update", "adam_update", "l2_penalty", "take_rows",
              "rmsprop_update", "adagrad_update", "adadelta_update", "adamax_update",
              "nadam_update",
              "bind", "SIMD",
              "sum_of_squares",
              # test_fuzz_ops_sparse.py
              "CSR", "csr_matmul", "csr_t_matmul", "csr_transpose", "csr_take_rows",
              "csr_rows_buffer"}
    assert name in fuzzed


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
