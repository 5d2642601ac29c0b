"""Bad arrays into fastnn.ops raise a clear TypeError or ValueError naming the problem:
the wrong type or dtype, layout or shape.

Each test starts from a good call (``_good_calls`` in _ops_calls.py;
``test_good_call_succeeds`` proves it is good) and breaks exactly one thing, so the
error can only come from that thing.
"""

import numpy as np
import pytest

from fastnn import ops

from _ops_calls import _array, _call, _good_calls, _strided

CALLS = list(_good_calls())


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
    ("rmsprop_update", "S", _array(3, 4), "S has shape"),
    ("rmsprop_update", "G", _array(12), "G has shape"),
    ("rmsprop_update[centered, momentum]", "A", _array(4, 2), "A has shape"),
    ("rmsprop_update[centered, momentum]", "B", _array(12), "B has shape"),
    ("adagrad_update", "S", _array(4, 2), "S has shape"),
    ("adadelta_update", "D", _array(4, 3, 1), "D has shape"),
    ("adadelta_update", "S", _array(4, 2), "S has shape"),
    ("adamax_update", "U", _array(12), "U has shape"),
    ("adamax_update", "M", _array(4, 2), "M has shape"),
    ("nadam_update", "S", _array(4, 2), "S has shape"),
    ("nadam_update", "M", _array(3, 4), "M has shape"),
]


@pytest.mark.parametrize(
    "name, arg, bad, message",
    WRONG_SHAPES,
    ids=[f"{c}-{a}-{b.shape}" for c, a, b, _ in WRONG_SHAPES],
)
def test_wrong_shape(name, arg, bad, message):
    with pytest.raises(ValueError, match=message):
        _call(name, **{arg: bad})
