"""Bad labels, maxout pieces, optimizer arrays and hyperparameters, dropout rates and
take_rows indices raise a clear TypeError or ValueError naming the problem.

Each test starts from a good call (``_good_calls`` in _ops_calls.py) and breaks exactly
one thing, so the error can only come from that thing.
"""

import math

import numpy as np
import pytest

from fastnn import ops

from _ops_calls import _array, _call, _good_calls, _overlapping, _read_only, _strided


# ------------------------------------------------------------------------ labels


@pytest.mark.parametrize(
    "y",
    [np.array([0, 2, -1, 2]), np.array([0, 3, 1, 2]), np.array([0, 1, 2, 2**40])],
    ids=["negative", "n_classes", "huge"],
)
def test_labels_out_of_range(y):
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        _call("softmax_cross_entropy[labels]", y=y)


def test_unsigned_labels_out_of_range():
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        _call("softmax_cross_entropy[labels]", y=np.array([0, 1, 2, 2**63], np.uint64))


@pytest.mark.parametrize(
    "y",
    [np.array([0.0, 2.0, 1.0, 2.0]), np.array([0, 1, 1, 0], bool)],
    ids=["float", "bool"],
)
def test_labels_must_be_integers(y):
    with pytest.raises(TypeError, match=r"y must hold integer labels"):
        _call("softmax_cross_entropy[labels]", y=y)


def test_two_dimensional_integer_targets_are_rejected():
    # Labels are 1-D; a 2-D y is read as targets, which must be float.
    with pytest.raises(TypeError, match=r"y must have dtype float32 or float64"):
        _call("softmax_cross_entropy[targets]", y=np.ones((4, 3), np.int64))


# ------------------------------------------------------------------------ maxout


@pytest.mark.parametrize("pieces", [4, 5])
def test_maxout_width_must_be_a_multiple_of_pieces(pieces):
    message = rf"X has 6 columns, which is not a multiple of pieces={pieces}"
    with pytest.raises(ValueError, match=message):
        _call("maxout", pieces=pieces)


@pytest.mark.parametrize("name", ["maxout", "maxout_backward"])
@pytest.mark.parametrize(
    "pieces, error, message",
    [
        (0, ValueError, "pieces must be >= 1"),
        (-2, ValueError, "pieces must be >= 1"),
        (2.0, TypeError, "pieces must be an int"),
        (True, TypeError, "pieces must be an int"),
        ("2", TypeError, "pieces must be an int"),
    ],
)
def test_pieces_must_be_a_positive_int(name, pieces, error, message):
    with pytest.raises(error, match=message):
        _call(name, pieces=pieces)


@pytest.mark.parametrize(
    "forged, pieces",
    [
        (np.tile([0, 3, 6], (4, 1)), 2),  # == width
        (np.tile([-1, 3, 5], (4, 1)), 2),  # negative
        (np.tile([0, 3, 5], (4, 1)), 1),  # valid for pieces=2, out of range for 1
        (np.tile([0, 3, 2**62], (4, 1)).astype(np.uint64), 2),
    ],
    ids=["width", "negative", "pieces-mismatch", "huge-unsigned"],
)
def test_maxout_backward_rejects_forged_argmax(forged, pieces):
    with pytest.raises(ValueError, match=r"argmax holds a column outside \[0, \d+\)"):
        _call("maxout_backward", argmax=forged, pieces=pieces)


def test_maxout_backward_argmax_must_be_integers():
    with pytest.raises(TypeError, match="argmax must be the integer array"):
        _call("maxout_backward", argmax=np.tile([0.0, 3.0, 5.0], (4, 1)))


# --------------------------------------------------------------------- optimizers


@pytest.mark.parametrize(
    "name, first, second",
    [
        ("sgd_update", "W", "G"),
        ("momentum_update", "W", "V"),
        ("momentum_update", "G", "V"),
        ("adam_update", "M", "S"),
        ("adam_update", "W", "M"),
        ("adam_update", "G", "S"),
        ("rmsprop_update", "W", "S"),
        ("rmsprop_update[centered, momentum]", "A", "B"),
        ("rmsprop_update[centered, momentum]", "S", "A"),
        ("adagrad_update", "G", "S"),
        ("adadelta_update", "S", "D"),
        ("adamax_update", "M", "U"),
        ("nadam_update", "W", "S"),
    ],
)
@pytest.mark.parametrize("how", ["same", "partial"])
def test_optimizer_arrays_must_not_overlap(name, first, second, how):
    value = _good_calls()[name][1][first]
    if how == "same":
        a, b = value, value
    else:
        a, b = _overlapping(value, value.shape, offset=2)
    with pytest.raises(ValueError, match=rf"\b{first} overlaps {second}"):
        _call(name, **{first: a, second: b})


@pytest.mark.parametrize(
    "name, arg",
    [("sgd_update", "W"), ("momentum_update", "W"), ("momentum_update", "V"),
     ("adam_update", "W"), ("adam_update", "M"), ("adam_update", "S"),
     ("rmsprop_update", "S"), ("rmsprop_update[centered, momentum]", "A"),
     ("rmsprop_update[centered, momentum]", "B"), ("adagrad_update", "S"),
     ("adadelta_update", "D"),
     ("adamax_update", "U"), ("nadam_update", "M"), ("nadam_update", "W")],
)
def test_optimizer_state_must_be_writeable(name, arg):
    value = _good_calls()[name][1][arg]
    value.flags.writeable = False
    with pytest.raises(ValueError, match=rf"\b{arg} is read-only"):
        _call(name, **{arg: value})


def test_optimizer_gradient_may_be_read_only():
    G = _array(4, 3)
    G.flags.writeable = False
    _call("adam_update", G=G)


OPTIMIZERS = ["sgd_update", "momentum_update", "adam_update", "rmsprop_update",
              "adagrad_update", "adadelta_update", "adamax_update", "nadam_update"]


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize(
    "learning_rate, error, message",
    [
        (-0.1, ValueError, r"learning_rate must be in \[0.0, inf\], got -0.1"),
        (math.nan, ValueError, "learning_rate must be finite, got nan"),
        (math.inf, ValueError, "learning_rate must be finite, got inf"),
        (None, TypeError, "learning_rate must be a real number, got NoneType"),
        ("0.1", TypeError, "learning_rate must be a real number, got str"),
    ],
    ids=["negative", "nan", "inf", "None", "str"],
)
def test_bad_learning_rate(name, learning_rate, error, message):
    with pytest.raises(error, match=message):
        _call(name, learning_rate=learning_rate)


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("l2", [-1e-4, math.nan])
def test_bad_l2(name, l2):
    with pytest.raises(ValueError, match="l2 must be"):
        _call(name, l2=l2)


@pytest.mark.parametrize("momentum", [1.5, -0.1, math.nan])
def test_bad_momentum(momentum):
    with pytest.raises(ValueError, match="momentum must be"):
        _call("momentum_update", momentum=momentum)


@pytest.mark.parametrize("name", ["adam_update", "adamax_update", "nadam_update"])
@pytest.mark.parametrize("t", [0, -1, 1.0, 2.5, True, np.int64(0), None])
def test_adam_step_count_must_be_a_positive_int(name, t):
    with pytest.raises(ValueError, match=r"t must be an int >= 1"):
        _call(name, t=t)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(beta_1=1.0), "beta_1 and beta_2 must be below 1"),
        (dict(beta_2=1.0), "beta_1 and beta_2 must be below 1"),
        (dict(beta_1=1.5), r"beta_1 must be in \[0.0, 1.0\]"),
        (dict(beta_2=-0.1), r"beta_2 must be in \[0.0, 1.0\]"),
        (dict(epsilon=0.0), r"epsilon must be in \(0.0, inf\]"),
        (dict(epsilon=-1e-8), r"epsilon must be in \(0.0, inf\]"),
    ],
)
def test_bad_adam_hyperparameters(changes, message):
    with pytest.raises(ValueError, match=message):
        _call("adam_update", **changes)


@pytest.mark.parametrize(
    "name, changes, message",
    [
        ("rmsprop_update", dict(rho=-0.1), r"rho must be in \[0.0, 1.0\]"),
        ("rmsprop_update", dict(rho=1.0), "rho must be below 1"),
        ("rmsprop_update", dict(epsilon=0.0), r"epsilon must be in \(0.0, inf\]"),
        ("rmsprop_update", dict(momentum=0.9), "momentum needs B"),
        ("rmsprop_update", dict(centered=True), "centered needs A"),
        ("rmsprop_update", dict(A=_array(4, 3)), "pass centered=True with it"),
        ("rmsprop_update[centered, momentum]", dict(momentum=1.5), "momentum must be"),
        ("adagrad_update", dict(epsilon=-1e-7), r"epsilon must be in \(0.0, inf\]"),
        ("adagrad_update", dict(epsilon=math.nan), "epsilon must be finite"),
        ("adadelta_update", dict(rho=1.5), r"rho must be in \[0.0, 1.0\]"),
        ("adadelta_update", dict(epsilon=0.0), r"epsilon must be in \(0.0, inf\]"),
        ("adamax_update", dict(beta_1=1.0), "beta_1 must be below 1"),
        ("adamax_update", dict(beta_2=-0.5), r"beta_2 must be in \[0.0, 1.0\]"),
        ("adamax_update", dict(epsilon=0.0), r"epsilon must be in \(0.0, inf\]"),
        ("nadam_update", dict(beta_1=1.0), "beta_1 must be below 1"),
        ("nadam_update", dict(beta_2=1.0), "beta_2 must be below 1"),
        ("nadam_update", dict(schedule_decay=-0.004), "schedule_decay must be in"),
        ("nadam_update", dict(mu_product=1.0), "mu_product must be below 1"),
        ("nadam_update", dict(mu_product=-0.1), "mu_product must be in"),
    ],
)
def test_bad_classic_optimizer_hyperparameters(name, changes, message):
    with pytest.raises(ValueError, match=message):
        _call(name, **changes)


def test_rmsprop_centered_must_be_a_bool():
    with pytest.raises(TypeError, match="centered must be a bool"):
        _call("rmsprop_update[centered, momentum]", centered=1)


@pytest.mark.parametrize("name", OPTIMIZERS[3:])
def test_the_update_of_a_float32_W_refuses_a_rate_that_overflows_float32(name):
    kwargs = {key: value.astype(np.float32)
              for key, value in _good_calls()[name][1].items()
              if isinstance(value, np.ndarray)}
    with pytest.raises(ValueError, match="overflows float32"):
        _call(name, learning_rate=1e41, **kwargs)


# ------------------------------------------------------------------- other scalars


@pytest.mark.parametrize(
    "name, changes, message",
    [
        ("leaky_relu", dict(alpha=math.nan), "alpha must be finite"),
        ("leaky_relu_backward", dict(alpha=math.inf), "alpha must be finite"),
        ("elu", dict(alpha=-1.0), r"alpha must be in \[0.0, inf\]"),
        ("elu_backward", dict(alpha=math.nan), "alpha must be finite"),
        ("softmax_cross_entropy[labels]", dict(scale=math.nan), "scale must be finite"),
        ("binary_cross_entropy[2-D]", dict(scale=math.inf), "scale must be finite"),
        ("squared_error[1-D]", dict(scale=math.nan), "scale must be finite"),
    ],
)
def test_bad_scalar_parameters(name, changes, message):
    with pytest.raises(ValueError, match=message):
        _call(name, **changes)


# ---------------------------------------------------------------------------- dropout


def test_dropout_uniform_numbers_must_be_writeable():
    U = np.linspace(0.0, 0.99, 24).reshape(4, 6)
    U.flags.writeable = False
    with pytest.raises(ValueError, match="U is read-only; it is written in place"):
        _call("dropout", U=U)


@pytest.mark.parametrize("how", ["same", "partial"])
def test_dropout_uniform_numbers_must_not_overlap_x(how):
    X = _array(4, 6)
    if how == "same":
        U = X
    else:
        X, U = _overlapping(X, (4, 6), offset=3)
    with pytest.raises(ValueError, match="U overlaps X"):
        _call("dropout", X=X, U=U)


@pytest.mark.parametrize(
    "rate, error, message",
    [
        (1.0, ValueError, r"rate must be in \[0, 1\), got 1.0"),
        (1.5, ValueError, r"rate must be in \[0, 1\), got 1.5"),
        (-0.1, ValueError, r"rate must be in \[0, 1\), got -0.1"),
        (math.nan, ValueError, "rate must be finite"),
        (None, TypeError, "rate must be a real number, got NoneType"),
        ("0.5", TypeError, "rate must be a real number, got str"),
    ],
    ids=["one", "above-one", "negative", "nan", "None", "str"],
)
def test_bad_dropout_rate(rate, error, message):
    U = np.linspace(0.0, 0.99, 24).reshape(4, 6)
    with pytest.raises(error, match=message):
        _call("dropout", U=U, rate=rate)
    assert np.all(U == np.linspace(0.0, 0.99, 24).reshape(4, 6))  # no mask written


# -------------------------------------------------------------------------- take_rows

INTP = np.dtype(np.intp)  # int64 on 64-bit platforms


@pytest.mark.parametrize(
    "bad_dtype", [np.int32, np.uint64, np.float16, np.complex128, np.bool_]
)
def test_take_rows_x_dtype(bad_dtype):
    message = rf"X must have dtype float32, float64 or intp, got {np.dtype(bad_dtype)}"
    with pytest.raises(TypeError, match=message):
        _call("take_rows", X=_array(4, 6).astype(bad_dtype))


@pytest.mark.parametrize("bad_dtype", [np.int32, np.uint64, np.float64, np.bool_])
def test_take_rows_indices_must_be_intp(bad_dtype):
    message = rf"indices must have dtype intp, got {np.dtype(bad_dtype)}; pass indices"
    with pytest.raises(TypeError, match=message):
        _call("take_rows", indices=np.array([3, 0, 1]).astype(bad_dtype))


def test_take_rows_indices_must_be_contiguous():
    perm = np.array([3, 9, 0, 9, 1, 9])
    with pytest.raises(ValueError, match=r"indices must be C-contiguous"):
        _call("take_rows", indices=perm[::2])
    _call("take_rows", indices=perm[2:5] % 4)  # a contiguous slice view is fine


@pytest.mark.parametrize("bad, position", [(-1, 1), (4, 2), (2**40, 0)])
@pytest.mark.parametrize("name", ["take_rows", "take_rows[labels]"])
def test_take_rows_index_out_of_range(name, bad, position):
    indices = np.array([3, 0, 1])
    indices[position] = bad
    message = rf"indices\[{position}\] = {bad} is out of range for X with 4 rows"
    with pytest.raises(ValueError, match=message):
        _call(name, indices=indices)


@pytest.mark.parametrize(
    "name, bad, error, message",
    [
        ("take_rows", [[0.0] * 6] * 3, TypeError, "out must be a numpy.ndarray"),
        ("take_rows", np.empty((3, 6), np.float32), TypeError,
         "out must have dtype float64, got float32"),
        ("take_rows", np.empty((3, 6), np.intp), TypeError,
         f"out must have dtype float64, got {INTP}"),
        ("take_rows[labels]", np.empty(3), TypeError,
         f"out must have dtype {INTP}, got float64"),
        ("take_rows", np.empty((3, 5)), ValueError,
         r"out must have shape \(3, 6\), got \(3, 5\)"),
        ("take_rows", np.empty((4, 6)), ValueError, r"out must have shape \(3, 6\)"),
        ("take_rows", np.empty(18), ValueError, r"out must have shape \(3, 6\)"),
        ("take_rows[labels]", np.empty((3, 1), np.intp), ValueError,
         r"out must have shape \(3,\)"),
        ("take_rows", _strided(np.empty((3, 6))), ValueError,
         "out must be C-contiguous"),
        ("take_rows", np.asfortranarray(np.empty((3, 6))), ValueError,
         "out must be C-contiguous"),
        ("take_rows", _read_only(np.empty((3, 6))), ValueError, "out is read-only"),
    ],
    ids=[
        "list", "float32", "intp-for-floats", "float-for-labels", "columns", "rows",
        "flat", "2-D-for-labels", "strided", "fortran", "read-only",
    ],
)
def test_take_rows_bad_out(name, bad, error, message):
    with pytest.raises(error, match=message):
        _call(name, out=bad)


@pytest.mark.parametrize("how", ["same", "partial"])
def test_take_rows_out_must_not_overlap_x(how):
    X = _array(3, 6)
    if how == "same":
        with pytest.raises(ValueError, match="out overlaps X"):
            ops.take_rows(X, np.array([2, 0, 1]), out=X)
    else:
        X, out = _overlapping(X, (3, 6), offset=5)
        with pytest.raises(ValueError, match="out overlaps X"):
            ops.take_rows(X, np.array([2, 0, 1]), out=out)


def test_take_rows_out_must_not_overlap_indices():
    labels = np.array([0, 2, 1, 2], np.intp)
    indices = np.array([3, 0, 1])
    with pytest.raises(ValueError, match="out overlaps indices"):
        ops.take_rows(labels, indices, out=indices)
    buffer = np.array([3, 0, 1, 2, 2])
    with pytest.raises(ValueError, match="out overlaps indices"):
        ops.take_rows(labels, buffer[:3], out=buffer[2:])


def test_take_rows_out_next_to_an_input_is_fine():
    # Adjacent but disjoint slices of one buffer share no byte.
    buffer = np.array([3, 0, 1, 9, 9, 9])
    out = buffer[3:]
    assert ops.take_rows(np.array([5, 6, 7, 8]), buffer[:3], out=out) is out
    np.testing.assert_array_equal(buffer, [3, 0, 1, 8, 5, 6])
