"""Bad calls into fastnn.ops raise a clear TypeError or ValueError naming the problem.

Each test starts from a good call (``_good_calls``; ``test_good_call_succeeds`` proves
it is good) and breaks exactly one thing, so the error can only come from that thing.
"""

import math
import re

import numpy as np
import pytest

from fastnn import ops

# ------------------------------------------------------------------------- good calls


def _array(*shape, dtype=np.float64):
    size = math.prod(shape)
    return np.linspace(-1.0, 1.0, size).reshape(shape).astype(dtype)


def _good_calls():
    """name -> (function, keyword arguments of a call that succeeds)."""
    X = _array(4, 6)
    labels = np.array([0, 2, 1, 2])
    onehot = np.eye(3)[labels]
    binary = np.array([0.0, 1.0, 0.5, 1.0])
    weight = np.array([1.0, 0.5, 2.0, 1.0])
    return {
        "sigmoid": (ops.sigmoid, dict(X=X)),
        "sigmoid_backward": (
            ops.sigmoid_backward, dict(Y=_array(4, 6), dY=_array(4, 6))
        ),
        "tanh": (ops.tanh, dict(X=X)),
        "tanh_backward": (ops.tanh_backward, dict(Y=_array(4, 6), dY=_array(4, 6))),
        "relu": (ops.relu, dict(X=X)),
        "relu_backward": (ops.relu_backward, dict(X=X, dY=_array(4, 6))),
        "leaky_relu": (ops.leaky_relu, dict(X=X)),
        "leaky_relu_backward": (ops.leaky_relu_backward, dict(X=X, dY=_array(4, 6))),
        "elu": (ops.elu, dict(X=X)),
        "elu_backward": (ops.elu_backward, dict(X=X, Y=_array(4, 6), dY=_array(4, 6))),
        "maxout": (ops.maxout, dict(X=X, pieces=2)),
        "dropout": (
            ops.dropout,
            dict(X=X, U=np.linspace(0.0, 0.99, 24).reshape(4, 6), rate=0.5),
        ),
        "dropout_backward": (
            ops.dropout_backward, dict(mask=_array(4, 6), dY=_array(4, 6))
        ),
        "maxout_backward": (
            ops.maxout_backward,
            dict(dY=_array(4, 3), argmax=np.tile([0, 3, 5], (4, 1)), pieces=2),
        ),
        "softmax": (ops.softmax, dict(logits=_array(4, 3))),
        "softmax_backward": (
            ops.softmax_backward, dict(Y=_array(4, 3), dY=_array(4, 3))
        ),
        "log_softmax": (ops.log_softmax, dict(logits=_array(4, 3))),
        "softmax_cross_entropy[labels]": (
            ops.softmax_cross_entropy,
            dict(logits=_array(4, 3), y=labels, sample_weight=weight.copy()),
        ),
        "softmax_cross_entropy[targets]": (
            ops.softmax_cross_entropy,
            dict(logits=_array(4, 3), y=onehot, sample_weight=weight.copy()),
        ),
        "binary_cross_entropy[1-D]": (
            ops.binary_cross_entropy,
            dict(logits=_array(4), y=binary, sample_weight=weight),
        ),
        "binary_cross_entropy[2-D]": (
            ops.binary_cross_entropy,
            dict(logits=_array(4, 3), y=onehot, sample_weight=weight.copy()),
        ),
        "squared_error[1-D]": (
            ops.squared_error, dict(pred=_array(4), y=binary, sample_weight=weight)
        ),
        "squared_error[2-D]": (
            ops.squared_error,
            dict(pred=_array(4, 3), y=onehot, sample_weight=weight.copy()),
        ),
        "dense_forward": (
            ops.dense_forward, dict(X=_array(4, 3), W=_array(3, 2), b=_array(2))
        ),
        "dense_backward": (
            ops.dense_backward, dict(X=_array(4, 3), W=_array(3, 2), dY=_array(4, 2))
        ),
        "sgd_update": (
            ops.sgd_update, dict(W=_array(4, 3), G=_array(4, 3), learning_rate=0.1)
        ),
        "momentum_update": (
            ops.momentum_update,
            dict(
                W=_array(4, 3), G=_array(4, 3), V=_array(4, 3),
                learning_rate=0.1, momentum=0.9,
            ),
        ),
        "adam_update": (
            ops.adam_update,
            dict(
                W=_array(4, 3), G=_array(4, 3), M=_array(4, 3), S=np.abs(_array(4, 3)),
                learning_rate=0.1, t=1,
            ),
        ),
        "take_rows": (ops.take_rows, dict(X=X, indices=np.array([3, 0, 1]))),
        "take_rows[labels]": (
            ops.take_rows, dict(X=labels.astype(np.intp), indices=np.array([3, 0, 1]))
        ),
    }


CALLS = list(_good_calls())


def _call(name, **changes):
    function, kwargs = _good_calls()[name]
    kwargs.update(changes)
    return function(**kwargs)


def _array_args(floats_only, ndim=None):
    """(call, argument) for every ndarray argument of every good call."""
    pairs = []
    for name, (_, kwargs) in _good_calls().items():
        for arg, value in kwargs.items():
            if (
                isinstance(value, np.ndarray)
                and (_is_float_array(value) or not floats_only)
                and (ndim is None or value.ndim == ndim)
            ):
                pairs.append(pytest.param(name, arg, id=f"{name}-{arg}"))
    return pairs


def _is_float_array(value):
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _float_args_after_the_first():
    pairs = []
    for name, (_, kwargs) in _good_calls().items():
        floats = [k for k, v in kwargs.items() if _is_float_array(v)]
        pairs += [pytest.param(name, arg, id=f"{name}-{arg}") for arg in floats[1:]]
    return pairs


@pytest.mark.parametrize("name", CALLS)
def test_good_call_succeeds(name):
    _call(name)


# -------------------------------------------------------------------- types and dtypes


@pytest.mark.parametrize("name, arg", _array_args(floats_only=False))
def test_list_instead_of_ndarray(name, arg):
    value = _good_calls()[name][1][arg]
    with pytest.raises(TypeError, match=rf"\b{arg} must be"):
        _call(name, **{arg: value.tolist()})


TAKE_ROWS = ("take_rows", "take_rows[labels]")


@pytest.mark.parametrize("bad_dtype", [np.int64, np.int32, np.float16, np.complex128])
@pytest.mark.parametrize(
    # take_rows also gathers intp labels: its dtype errors have their own tests below.
    "name, arg",
    [p for p in _array_args(floats_only=True) if p.values[0] not in TAKE_ROWS],
)
def test_non_float_array(name, arg, bad_dtype):
    value = _good_calls()[name][1][arg]
    with pytest.raises(TypeError, match=rf"\b{arg} must have dtype float32 or float64"):
        _call(name, **{arg: value.astype(bad_dtype)})


@pytest.mark.parametrize("name, arg", _float_args_after_the_first())
def test_mixed_float32_and_float64(name, arg):
    function, kwargs = _good_calls()[name]
    with pytest.raises(TypeError, match=rf"\b{arg} has dtype float32"):
        function(**{**kwargs, arg: kwargs[arg].astype(np.float32)})
    # ... and the other way round: everything float32 but this one.
    as_float32 = {
        k: v.astype(np.float32) if _is_float_array(v) else v
        for k, v in kwargs.items()
    }
    with pytest.raises(TypeError, match=rf"\b{arg} has dtype float64"):
        function(**{**as_float32, arg: kwargs[arg]})


# ----------------------------------------------------------------------------- layout


def _strided(value):
    """Same shape and values, every other element of a twice-as-wide array."""
    return np.repeat(value, 2, axis=-1)[..., ::2]


@pytest.mark.parametrize("name, arg", _array_args(floats_only=True))
def test_strided_array(name, arg):
    bad = _strided(_good_calls()[name][1][arg])
    assert not bad.flags.c_contiguous
    with pytest.raises(ValueError, match=rf"\b{arg} must be C-contiguous"):
        _call(name, **{arg: bad})


@pytest.mark.parametrize("name, arg", _array_args(floats_only=True, ndim=2))
def test_fortran_ordered_array(name, arg):
    bad = np.asfortranarray(_good_calls()[name][1][arg])  # the transpose of a C array
    assert not bad.flags.c_contiguous
    with pytest.raises(ValueError, match=rf"\b{arg} must be C-contiguous"):
        _call(name, **{arg: bad})


def test_direct_slices_and_transposes_are_rejected():
    X = _array(4, 6)
    with pytest.raises(ValueError, match="X must be C-contiguous"):
        ops.sigmoid(X[:, ::2])
    with pytest.raises(ValueError, match="X must be C-contiguous"):
        ops.relu(X.T)
    with pytest.raises(ValueError, match="W must be C-contiguous"):
        ops.dense_forward(_array(2, 4), _array(6, 4)[::2].T)


@pytest.mark.parametrize("name", ["softmax_cross_entropy[labels]", "maxout_backward"])
def test_integer_index_arrays_may_be_strided(name):
    # Labels and argmax are copied to intp anyway, so any layout is fine.
    arg = "y" if name.startswith("softmax") else "argmax"
    expected = _call(name)
    got = _call(name, **{arg: _strided(_good_calls()[name][1][arg])})
    if name == "maxout_backward":
        got, expected = [got], [expected]
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- shapes

WRONG_SHAPES = [
    ("sigmoid_backward", "dY", _array(4, 5), "dY has shape"),
    ("tanh_backward", "dY", _array(6, 4), "dY has shape"),
    ("relu_backward", "dY", _array(24), "dY has shape"),
    ("leaky_relu_backward", "dY", _array(4, 6, 1), "dY has shape"),
    ("elu_backward", "Y", _array(4, 5), "Y has shape"),
    ("elu_backward", "dY", _array(4, 5), "dY has shape"),
    ("maxout", "X", _array(24), "X must be 2-D"),
    ("maxout_backward", "dY", _array(12), "dY must be 2-D"),
    ("maxout_backward", "argmax", np.zeros((4, 2), np.intp), "argmax has shape"),
    ("softmax", "logits", _array(12), "logits must be 2-D"),
    ("softmax", "logits", _array(4, 0), "at least one column"),
    ("log_softmax", "logits", _array(2, 3, 2), "logits must be 2-D"),
    ("softmax_cross_entropy[labels]", "logits", _array(4, 0), "at least one column"),
    ("softmax_cross_entropy[labels]", "logits", _array(12), "logits must be 2-D"),
    ("softmax_cross_entropy[labels]", "y", np.array([0, 1, 2]), r"y must have shape"),
    ("softmax_cross_entropy[targets]", "y", _array(4, 2), "y has shape"),
    ("softmax_cross_entropy[targets]", "y", _array(5, 3), "y has shape"),
    ("softmax_cross_entropy[labels]", "sample_weight", _array(3), "3 entries for 4"),
    ("softmax_cross_entropy[targets]", "sample_weight", _array(4, 1), "must be 1-D"),
    ("binary_cross_entropy[1-D]", "y", _array(4, 1), "y has shape"),
    ("binary_cross_entropy[2-D]", "y", _array(4, 2), "y has shape"),
    ("binary_cross_entropy[2-D]", "logits", _array(4, 3, 1), "must be 1-D or 2-D"),
    ("binary_cross_entropy[2-D]", "sample_weight", _array(5), "5 entries for 4"),
    ("binary_cross_entropy[1-D]", "sample_weight", _array(12), "12 entries for 4"),
    ("softmax_backward", "Y", _array(12), "Y must be 2-D"),
    ("softmax_backward", "dY", _array(4, 2), "dY has shape"),
    ("softmax_backward", "dY", _array(12), "dY has shape"),
    ("squared_error[1-D]", "y", _array(4, 1), "y has shape"),
    ("squared_error[2-D]", "y", _array(4, 2), "y has shape"),
    ("squared_error[2-D]", "pred", _array(4, 3, 1), "pred must be 1-D or 2-D"),
    ("squared_error[2-D]", "sample_weight", _array(5), "5 entries for 4"),
    ("squared_error[1-D]", "sample_weight", _array(4, 1), "must be 1-D"),
    ("dropout", "U", _array(4, 5), "U has shape"),
    ("dropout", "U", _array(24), "U has shape"),
    ("dropout_backward", "dY", _array(4, 5), "dY has shape"),
    ("dropout_backward", "mask", _array(6, 4), "dY has shape"),
    ("take_rows", "X", _array(2, 3, 4), "X must be 1-D or 2-D"),
    ("take_rows", "X", np.ones(()), "X must be 1-D or 2-D"),
    ("take_rows", "indices", np.zeros((3, 1), np.intp), "indices must be 1-D"),
    ("take_rows", "indices", np.zeros((), np.intp), "indices must be 1-D"),
    ("dense_forward", "W", _array(4, 2), "X has 3 features but W expects 4"),
    ("dense_forward", "X", _array(12), "X must be 2-D"),
    ("dense_forward", "W", _array(6), "W must be 2-D"),
    ("dense_forward", "b", _array(3), "b has 3 entries but W has 2 units"),
    ("dense_forward", "b", _array(1, 2), "b must be 1-D"),
    ("dense_backward", "dY", _array(4, 3), r"dY must have shape \(4, 2\)"),
    ("dense_backward", "dY", _array(8), "dY must be 2-D"),
    ("dense_backward", "W", _array(2, 2), "X has 3 features"),
    ("sgd_update", "G", _array(3, 4), "G has shape"),
    ("momentum_update", "V", _array(12), "V has shape"),
    ("momentum_update", "G", _array(4, 2), "G has shape"),
    ("adam_update", "M", _array(4, 2), "M has shape"),
    ("adam_update", "S", _array(4, 3, 1), "S has shape"),
]


@pytest.mark.parametrize(
    "name, arg, bad, message",
    WRONG_SHAPES,
    ids=[f"{c}-{a}-{b.shape}" for c, a, b, _ in WRONG_SHAPES],
)
def test_wrong_shape(name, arg, bad, message):
    with pytest.raises(ValueError, match=message):
        _call(name, **{arg: bad})


# ------------------------------------------------------------------------ outputs

# (call, output argument, the shape it must have)
OUTPUTS = [
    ("sigmoid", "out", (4, 6)),
    ("sigmoid_backward", "out", (4, 6)),
    ("tanh", "out", (4, 6)),
    ("tanh_backward", "out", (4, 6)),
    ("relu", "out", (4, 6)),
    ("relu_backward", "out", (4, 6)),
    ("leaky_relu", "out", (4, 6)),
    ("leaky_relu_backward", "out", (4, 6)),
    ("elu", "out", (4, 6)),
    ("elu_backward", "out", (4, 6)),
    ("maxout", "out", (4, 3)),
    ("maxout_backward", "out", (4, 6)),
    ("dropout", "out", (4, 6)),
    ("dropout_backward", "out", (4, 6)),
    ("softmax", "out", (4, 3)),
    ("softmax_backward", "out", (4, 3)),
    ("log_softmax", "out", (4, 3)),
    ("softmax_cross_entropy[labels]", "loss_out", (4,)),
    ("softmax_cross_entropy[labels]", "grad_out", (4, 3)),
    ("softmax_cross_entropy[targets]", "loss_out", (4,)),
    ("softmax_cross_entropy[targets]", "grad_out", (4, 3)),
    ("binary_cross_entropy[1-D]", "loss_out", (4,)),
    ("binary_cross_entropy[1-D]", "grad_out", (4,)),
    ("binary_cross_entropy[2-D]", "loss_out", (4,)),
    ("binary_cross_entropy[2-D]", "grad_out", (4, 3)),
    ("squared_error[1-D]", "loss_out", (4,)),
    ("squared_error[1-D]", "grad_out", (4,)),
    ("squared_error[2-D]", "loss_out", (4,)),
    ("squared_error[2-D]", "grad_out", (4, 3)),
    ("dense_forward", "out", (4, 2)),
    ("dense_backward", "dW", (3, 2)),
    ("dense_backward", "db", (2,)),
    ("dense_backward", "dX", (4, 3)),
]
OUTPUT_IDS = [f"{name}-{out}" for name, out, _ in OUTPUTS]


@pytest.mark.parametrize("name, out, shape", OUTPUTS, ids=OUTPUT_IDS)
def test_preallocated_output_of_the_right_kind_is_used(name, out, shape):
    array = np.full(shape, np.nan)
    _call(name, **{out: array})
    assert not np.isnan(array).any()


@pytest.mark.parametrize("name, out, shape", OUTPUTS, ids=OUTPUT_IDS)
def test_output_of_wrong_shape(name, out, shape):
    bad = np.empty(tuple(n + 1 for n in shape))
    message = rf"\b{out} must have shape {re.escape(str(shape))}"
    with pytest.raises(ValueError, match=message):
        _call(name, **{out: bad})


@pytest.mark.parametrize("name, out, shape", OUTPUTS, ids=OUTPUT_IDS)
def test_output_of_wrong_dtype(name, out, shape):
    message = rf"\b{out} must have dtype float64, got float32"
    with pytest.raises(TypeError, match=message):
        _call(name, **{out: np.empty(shape, np.float32)})
    with pytest.raises(TypeError, match=rf"\b{out} must have dtype float32 or float64"):
        _call(name, **{out: np.empty(shape, np.int64)})


@pytest.mark.parametrize("name, out, shape", OUTPUTS, ids=OUTPUT_IDS)
def test_read_only_output(name, out, shape):
    bad = np.empty(shape)
    bad.flags.writeable = False
    with pytest.raises(ValueError, match=rf"\b{out} is read-only"):
        _call(name, **{out: bad})


@pytest.mark.parametrize("name, out, shape", OUTPUTS, ids=OUTPUT_IDS)
def test_non_contiguous_output(name, out, shape):
    with pytest.raises(ValueError, match=rf"\b{out} must be C-contiguous"):
        _call(name, **{out: _strided(np.empty(shape))})


def _read_only(array):
    array.flags.writeable = False
    return array


@pytest.mark.parametrize(
    "bad",
    [
        np.empty((4, 2), np.intp),
        np.empty((4, 3), np.int32),
        _strided(np.empty((4, 3), np.intp)),
        _read_only(np.empty((4, 3), np.intp)),
    ],
    ids=["shape", "int32", "strided", "read-only"],
)
def test_maxout_argmax_output_must_fit(bad):
    with pytest.raises(ValueError, match="argmax must be a writeable C-contiguous"):
        _call("maxout", argmax=bad)


def _overlapping(first, second_shape, offset=1):
    """A copy of ``first`` and an array of ``second_shape`` starting ``offset`` elements
    into it: the two share part of their memory."""
    size = math.prod(second_shape)
    buffer = np.zeros(first.size + size, first.dtype)
    copy = buffer[: first.size].reshape(first.shape)
    copy[...] = first
    return copy, buffer[offset : offset + size].reshape(second_shape)


# (call, output, input it partially overlaps)
OVERLAPS = [
    ("sigmoid", "out", "X"),
    ("sigmoid_backward", "out", "Y"),
    ("sigmoid_backward", "out", "dY"),
    ("tanh", "out", "X"),
    ("tanh_backward", "out", "Y"),
    ("relu", "out", "X"),
    ("relu_backward", "out", "X"),
    ("relu_backward", "out", "dY"),
    ("leaky_relu", "out", "X"),
    ("leaky_relu_backward", "out", "dY"),
    ("elu", "out", "X"),
    ("elu_backward", "out", "X"),
    ("elu_backward", "out", "Y"),
    ("elu_backward", "out", "dY"),
    ("maxout", "out", "X"),
    ("maxout_backward", "out", "dY"),
    ("dropout", "out", "X"),
    ("dropout", "out", "U"),
    ("dropout_backward", "out", "mask"),
    ("dropout_backward", "out", "dY"),
    ("softmax", "out", "logits"),
    ("softmax_backward", "out", "Y"),
    ("softmax_backward", "out", "dY"),
    ("log_softmax", "out", "logits"),
    ("softmax_cross_entropy[labels]", "loss_out", "logits"),
    ("softmax_cross_entropy[labels]", "grad_out", "logits"),
    ("softmax_cross_entropy[labels]", "loss_out", "sample_weight"),
    ("softmax_cross_entropy[labels]", "grad_out", "sample_weight"),
    ("softmax_cross_entropy[targets]", "grad_out", "y"),
    ("softmax_cross_entropy[targets]", "loss_out", "y"),
    ("binary_cross_entropy[2-D]", "loss_out", "logits"),
    ("binary_cross_entropy[2-D]", "grad_out", "logits"),
    ("binary_cross_entropy[2-D]", "grad_out", "y"),
    ("binary_cross_entropy[1-D]", "loss_out", "y"),
    ("binary_cross_entropy[1-D]", "loss_out", "sample_weight"),
    ("binary_cross_entropy[2-D]", "grad_out", "sample_weight"),
    ("squared_error[2-D]", "loss_out", "pred"),
    ("squared_error[2-D]", "grad_out", "pred"),
    ("squared_error[2-D]", "grad_out", "y"),
    ("squared_error[1-D]", "grad_out", "y"),
    ("squared_error[1-D]", "loss_out", "sample_weight"),
    ("dense_forward", "out", "X"),
    ("dense_forward", "out", "W"),
    ("dense_forward", "out", "b"),
    ("dense_backward", "dW", "X"),
    ("dense_backward", "dW", "W"),
    ("dense_backward", "db", "dY"),
    ("dense_backward", "dX", "X"),
    ("dense_backward", "dX", "dY"),
]


@pytest.mark.parametrize(
    "name, out, arg", OVERLAPS, ids=[f"{c}-{o}-{a}" for c, o, a in OVERLAPS]
)
def test_output_partially_overlapping_an_input(name, out, arg):
    shape = {(c, o): s for c, o, s in OUTPUTS}[name, out]
    value, bad_out = _overlapping(_good_calls()[name][1][arg], shape)
    with pytest.raises(ValueError, match=rf"\b{out} overlaps {arg}"):
        _call(name, **{arg: value, out: bad_out})


@pytest.mark.parametrize(
    "name, first, second, shapes",
    [
        ("softmax_cross_entropy[labels]", "loss_out", "grad_out", ((4,), (4, 3))),
        ("binary_cross_entropy[1-D]", "loss_out", "grad_out", ((4,), (4,))),
        ("squared_error[2-D]", "loss_out", "grad_out", ((4,), (4, 3))),
        ("dense_backward", "dW", "db", ((3, 2), (2,))),
        ("dense_backward", "dW", "dX", ((3, 2), (4, 3))),
        ("dense_backward", "db", "dX", ((2,), (4, 3))),
    ],
)
def test_outputs_overlapping_each_other(name, first, second, shapes):
    a, b = _overlapping(np.empty(shapes[0]), shapes[1])
    with pytest.raises(ValueError, match=rf"\b{second} overlaps {first}"):
        _call(name, **{first: a, second: b})


@pytest.mark.parametrize(
    "name, out, arg",
    [
        ("sigmoid_backward", "out", "Y"),
        ("tanh_backward", "out", "Y"),
        ("relu_backward", "out", "X"),
        ("leaky_relu_backward", "out", "X"),
        ("elu_backward", "out", "X"),
        ("elu_backward", "out", "Y"),
        ("softmax_cross_entropy[targets]", "grad_out", "y"),
        ("binary_cross_entropy[2-D]", "grad_out", "y"),
        ("squared_error[2-D]", "grad_out", "y"),
        ("softmax_backward", "out", "Y"),
        ("dropout", "out", "U"),
        ("dropout_backward", "out", "mask"),
        ("dense_backward", "dX", "X"),
        ("dense_backward", "dW", "W"),
    ],
)
def test_output_may_not_be_an_input_that_is_not_in_place(name, out, arg):
    # Only X (forward), dY (backward) and logits or pred (losses) may be the output.
    value = _good_calls()[name][1][arg]
    with pytest.raises(ValueError, match=rf"\b{out} overlaps {arg}"):
        _call(name, **{arg: value, out: value})


def test_maxout_with_one_piece_may_not_write_over_X():
    X = _array(4, 6)
    with pytest.raises(ValueError, match="out overlaps X"):
        ops.maxout(X, 1, out=X)


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
     ("adam_update", "W"), ("adam_update", "M"), ("adam_update", "S")],
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


OPTIMIZERS = ["sgd_update", "momentum_update", "adam_update"]


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


@pytest.mark.parametrize("t", [0, -1, 1.0, 2.5, True, np.int64(0), None])
def test_adam_step_count_must_be_a_positive_int(t):
    with pytest.raises(ValueError, match=r"t must be an int >= 1"):
        _call("adam_update", t=t)


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
