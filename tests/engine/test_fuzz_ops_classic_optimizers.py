"""Property-based fuzzing of the classic optimizers' ops (RMSprop, Adagrad, Adadelta,
Adamax, Nadam): spoilt arrays (layouts, dtypes, overlaps, read-only state) and bad
scalars must raise ``ValueError``/``TypeError`` and leave every array alone; good calls
on tame values (finite, |x| <= 1e4) give the float64 NumPy twin's step.

Spoilers: _fuzz_ops.py; profiles: _fuzz.py; the twins: the rules in each op's docstring.
"""

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fastnn import ops

from _fuzz import CLEAN_ERRORS, FLOATS, finite_ok, floats_array, fuzz, shapes, strict

from _fuzz_ops import (
    _combine, _effective_alpha, meets_contract, scalar, snapshot, spoil, tol,
)

# name: (op, its state arrays, the hyperparameters drawn: (name, low, high, typical))
RHO = ("rho", 0.0, 0.999, (0.0, 0.99))
BETAS = [("beta_1", 0.0, 0.999, (0.0, 0.99)), ("beta_2", 0.0, 0.999, (0.0, 0.999))]
EPSILON = ("epsilon", 1e-12, np.inf, (1e-8, 1.0))
OPTIMIZERS = {
    "rmsprop": (ops.rmsprop_update, ("S",), [RHO, EPSILON]),
    # centered with momentum: A and B by keyword; validity only (below)
    "rmsprop_centered": (ops.rmsprop_update, ("S", "A", "B"),
                         [RHO, EPSILON, ("momentum", 0.0, 1.0, (0.0, 0.99))]),
    "adagrad": (ops.adagrad_update, ("S",), [EPSILON]),
    "adadelta": (ops.adadelta_update, ("S", "D"), [RHO, EPSILON]),
    "adamax": (ops.adamax_update, ("M", "U"), [*BETAS, EPSILON]),
    "nadam": (ops.nadam_update, ("M", "S"),
              [*BETAS, EPSILON, ("schedule_decay", 0.0, np.inf, (0.0, 0.01))]),
}
STEPPED = ("adamax", "nadam")  # these take the update count t


def _reference(which, W, G, state, lr, t, h):
    """The float64 step and the magnitude of its terms (for finite_ok)."""
    g = G
    if which in ("rmsprop", "adagrad"):
        S = state["S"]
        S = h["rho"] * S + (1 - h["rho"]) * g * g if which == "rmsprop" else S + g * g
        step = lr * g / (np.sqrt(S) + h["epsilon"])
        return W - step, np.abs(W) + np.abs(step), {"S": S}
    if which == "adadelta":
        rho, eps = h["rho"], h["epsilon"]
        S = rho * state["S"] + (1 - rho) * g * g
        d = np.sqrt(state["D"] + eps) / np.sqrt(S + eps) * g
        D = rho * state["D"] + (1 - rho) * d * d
        return W - lr * d, np.abs(W) + np.abs(lr * d), {"S": S, "D": D}
    b1, b2, eps = h["beta_1"], h["beta_2"], h["epsilon"]
    M = b1 * state["M"] + (1 - b1) * g
    if which == "adamax":
        U = np.maximum(b2 * state["U"], np.abs(g) + eps)
        step = lr / (1 - b1**t) * M / U
        return W - step, np.abs(W) + np.abs(step), {"M": M, "U": U}
    mus = [b1 * (1 - 0.5 * 0.96 ** (k * h["schedule_decay"])) for k in range(1, t + 2)]
    product = math.prod(mus[:t])
    S = b2 * state["S"] + (1 - b2) * g * g
    denom = np.sqrt(S / (1 - b2**t)) + eps
    step = (lr * (1 - mus[t - 1]) / (1 - product) * g
            + lr * mus[t] / (1 - product * mus[t]) * M) / denom
    return W - step, np.abs(W) + np.abs(step), {"M": M, "S": S}


@fuzz()
@given(data=st.data(), dtype=st.sampled_from(FLOATS),
       which=st.sampled_from(sorted(OPTIMIZERS)))
def test_classic_optimizer_steps(data, dtype, which):
    update, state_names, hyper = OPTIMIZERS[which]
    shape = data.draw(shapes())
    tame = data.draw(st.booleans(), label="tame")
    extremes = dict(extremes=False, low=-1e4, high=1e4) if tame else {}
    args = {"W": data.draw(floats_array(shape, dtype, **extremes)),
            "G": data.draw(floats_array(shape, dtype, **extremes))}
    for name in state_names:  # second moments and norms are >= 0
        args[name] = np.abs(data.draw(floats_array(shape, dtype, **extremes)))
    names = list(args)
    args, expect = spoil(data, args, names, written=[n for n in names if n != "G"])
    if data.draw(st.sampled_from([False] * 6 + [True])) and meets_contract(args["W"]):
        args[data.draw(st.sampled_from(names[1:]))] = args["W"]  # overlapping
        expect = False if np.size(args["W"]) else expect
    lr, lr_ok = scalar(data, "learning_rate", low=0.0, typical=(0.0, 1.0),
                       dtype=None if which in STEPPED else dtype)
    h, oks = {}, [lr_ok]
    for name, low, high, typical in hyper:
        h[name], ok = scalar(data, name, low=low, high=high, typical=typical,
                             dtype=dtype if name == "epsilon" else None)
        oks.append(ok)
    t = data.draw(st.sampled_from([1, 2, 10, 0, 1.0])) if which in STEPPED else None
    oks.append(t is None or (type(t) is int and t >= 1))
    expect = _combine(expect, *oks)
    if which in STEPPED and expect is not False:
        expect = None  # whether the bias-corrected rates fit float32 is ops' to say
    before = snapshot(args)
    arrays, named = list(args.values()), {}
    if which == "rmsprop_centered":
        arrays, named = arrays[:3], dict(A=args["A"], B=args["B"], centered=True)
    try:
        with strict():
            update(*arrays, lr, *(() if t is None else (t,)), **h, **named)
    except CLEAN_ERRORS as error:
        assert expect is not True, f"a valid call raised {error!r}"
        for key, value in before.items():
            nan_ok = value.dtype.kind == "f"
            assert np.array_equal(np.asarray(args[key]), value, equal_nan=nan_ok), (
                f"{key} changed")
        return
    assert expect is not False, "an invalid call was accepted"
    values = [np.asarray(v, np.float64) for v in before.values()]
    if not (tame and all(np.isfinite(v).all() and (np.abs(v) <= 1e4).all()
                         for v in values)):
        return  # a good call on extreme values: it ran, nothing crashed
    if which == "rmsprop_centered":
        return  # S - A**2 cancels: the NumPy twins of the kernel tests check it
    if any(not isinstance(args[k], np.ndarray) or args[k].dtype != dtype
           for k in before) or float(h["epsilon"]) < 1e-8:
        return
    as_kernel = {k: _effective_alpha(v, dtype) for k, v in h.items()}
    ref, magnitude, state = _reference(
        which, before["W"].astype(np.float64), before["G"].astype(np.float64),
        {k: before[k].astype(np.float64) for k in state_names},
        float(lr) if which in STEPPED else _effective_alpha(lr, dtype), t, as_kernel,
    )
    finite_ok(args["W"], ref, tol(dtype, 64), magnitude, dtype)
    for name, value in state.items():
        finite_ok(args[name], value, tol(dtype, 16), np.abs(value), dtype)
