"""Property-based fuzzing of ``fastnn.ops``: the softmax family, the losses and the
logistic-regression kernels (loss and gradient, SGD epoch).

Spoilt arguments must raise ``ValueError``/``TypeError``, good ones give the long-double
NumPy reference (see test_fuzz_ops.py). Spoilers: _fuzz_ops.py; profiles: _fuzz.py.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from fastnn import ops
from fastnn.ops import _logistic as logistic_ops

from _fuzz import (
    FLOATS, finite_ok, floats_array, fuzz, shapes, strict,
)

from _fuzz_ops import (
    L, _combine, _dtype_of, _effective_alpha, _sigmoid, _softmax_ref, _weights,
    call, make_out, scalar, snapshot, spoil, tol, unchanged,
)

# --------------------------------------------------------------------- softmax family


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
