"""Property-based fuzzing of ``fastnn.ops``: the dense layer's GEMMs, the optimizer
updates and the L2 penalty, take_rows, bind and sum_of_squares.

Spoilt arguments must raise ``ValueError``/``TypeError``, good ones give the long-double
NumPy reference (see test_fuzz_ops.py). Spoilers: _fuzz_ops.py; profiles: _fuzz.py.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastnn import ops

from _fuzz import (
    CLEAN_ERRORS, FLOATS, finite_ok, floats_array, fuzz, shapes, strict,
)

from _fuzz_ops import (
    L, _combine, _effective_alpha, call, fits, make_out, meets_contract, scalar,
    snapshot, spoil, tol, unchanged,
)

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
