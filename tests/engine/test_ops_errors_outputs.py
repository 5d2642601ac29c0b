"""Bad ``out`` arguments into fastnn.ops raise a clear TypeError or ValueError: the
wrong shape, dtype or layout, read-only, or overlapping an input or another output.

Each test starts from a good call (``_good_calls`` in _ops_calls.py) and breaks exactly
one thing, so the error can only come from that thing.
"""

import re

import numpy as np
import pytest

from fastnn import ops

from _ops_calls import _array, _call, _good_calls, _overlapping, _read_only, _strided


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
