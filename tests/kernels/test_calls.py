"""The Kernel/Call layer (fastnn/_kernels/calls.pyx): a Kernel packs its arguments by
its signature and refuses, with a TypeError or ValueError and before any C runs, what
its C function cannot take; ``kernel.bind(*args)`` packs them once into a Call, whose
runs follow the current contents of the held arrays and equal the direct call bit for
bit."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn import ops
from fastnn.ops._loader import (
    Call,
    Kernel,
    activation_kernels,
    blas_kernels,
    csr_kernels,
    gather_kernels,
    loss_kernels,
    optimizer_kernels,
)

MODULES = {
    "activations": activation_kernels,
    "losses": loss_kernels,
    "optimizers": optimizer_kernels,
    "blas": blas_kernels,
    "gather": gather_kernels,
    "csr": csr_kernels,
}
KERNELS = {
    name: getattr(module, name)
    for module in MODULES.values()
    for name in dir(module)
    if isinstance(getattr(module, name), Kernel)
}
OTHER = {np.float32: np.float64, np.float64: np.float32}


def test_every_kernel_module_has_kernels_with_signatures():
    for label, module in MODULES.items():
        assert any(isinstance(getattr(module, n), Kernel) for n in dir(module)), label
    for name, kernel in KERNELS.items():
        assert kernel.name == name
        assert kernel.signature and set(kernel.signature) <= set("AWLMBCIJriG"), name
        assert repr(kernel) == f"<kernel {name}({kernel.signature})>"


# ------------------------------------------------------------------ the arguments


def _valid_args(name, dtype):
    """Arguments every kernel runs on safely: each float array (4, 4), each index
    array (4, 4) zeros (take_rows: 4 indices), reals 0.5, integers 1. Shapes agree
    with every kernel's reading of rows and columns (maxout with 1 piece; the CSR
    kernels read a 3 x 4 matrix of empty rows, csr_t_matmul two parts' (2, 16)
    scratch, csr_take_rows 4 rows)."""
    rng = np.random.default_rng(7)
    kernel = KERNELS[name]
    args = []
    for position, letter in enumerate(kernel.signature):
        if name == "csr_t_matmul" and position == 5:
            args.append(rng.random((2, 16)).astype(dtype))
        elif letter in "AWBC":
            args.append(rng.random((4, 4)).astype(dtype))
        elif letter in "LM":
            four = name in ("take_rows", "csr_take_rows")
            args.append(np.zeros(4 if four else (4, 4), np.intp))
        elif letter in "IJ":
            args.append(np.zeros((4, 4), np.int32))
        elif letter == "r":
            args.append(0.5)
        elif letter == "G":
            args.append(np.random.PCG64(7))
        else:
            args.append(1)
    return args


def _arrays(args):
    return [a for a in args if isinstance(a, np.ndarray)]


def _copies(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def _positions(letters):
    return [
        (name, p)
        for name, kernel in sorted(KERNELS.items())
        for p, letter in enumerate(kernel.signature)
        if letter in letters
    ]


def _refused(name, args, error):
    """The kernel and its bind both raise ``error`` on ``args``, and no array of
    ``args`` was written."""
    kernel = KERNELS[name]
    before = _copies(args)
    with pytest.raises(error):
        kernel(*args)
    with pytest.raises(error):
        kernel.bind(*args)
    for got, want in zip(_arrays(args), _arrays(before)):
        assert_array_equal(got, want)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_the_valid_arguments_run(name, dtype):
    result = KERNELS[name](*_valid_args(name, dtype))
    assert isinstance(result, float)
    call = KERNELS[name].bind(*_valid_args(name, dtype))
    assert isinstance(call, Call) and call.kernel is KERNELS[name]
    assert isinstance(call(), float)


# ------------------------------------------------------------ what a kernel refuses


@pytest.mark.parametrize("name, position", _positions("AWLMBCIJ"))
def test_a_kernel_refuses_what_is_not_an_ndarray(name, position):
    for other in ([0.0] * 16, (1, 2), None, 3.0, memoryview(b"x" * 128)):
        args = _valid_args(name, np.float64)
        args[position] = other
        _refused(name, args, TypeError)


@pytest.mark.parametrize("name, position", _positions("AWLMBCIJ"))
def test_a_kernel_refuses_a_non_c_contiguous_array(name, position):
    args = _valid_args(name, np.float64)
    good = args[position]
    if good.ndim == 2:
        strided = np.zeros((good.shape[0], 2 * good.shape[1]), good.dtype)[:, ::2]
        bad_arrays = [strided, np.asfortranarray(good)]
    else:  # a 1-D array is Fortran- and C-contiguous at once
        bad_arrays = [np.zeros(2 * good.size, good.dtype)[::2]]
    for bad in bad_arrays:
        assert not bad.flags.c_contiguous and bad.shape == good.shape
        args[position] = bad
        _refused(name, args, ValueError)


def _misaligned(array):
    """A copy of ``array`` one byte into a bytearray: C-contiguous, not aligned."""
    raw = bytearray(array.nbytes + 1)
    view = np.frombuffer(raw, array.dtype, count=array.size, offset=1).reshape(
        array.shape
    )
    view[...] = array
    assert view.flags.c_contiguous and not view.flags.aligned
    return view


@pytest.mark.parametrize("name, position", _positions("AWLMIJ"))
def test_a_kernel_refuses_a_misaligned_array(name, position, dtype):
    args = _valid_args(name, dtype)
    args[position] = _misaligned(args[position])
    _refused(name, args, ValueError)


@pytest.mark.parametrize("name, position", _positions("WMCJ"))
def test_a_kernel_refuses_a_read_only_output(name, position, dtype):
    args = _valid_args(name, dtype)
    args[position] = args[position].copy()
    args[position].flags.writeable = False
    _refused(name, args, ValueError)


@pytest.mark.parametrize("name, position", _positions("AW"))
def test_a_kernel_refuses_mixed_float_dtypes(name, position, dtype):
    args = _valid_args(name, dtype)
    if sum(letter in "AW" for letter in KERNELS[name].signature) < 2:
        pytest.skip("one float array: nothing to mix")
    args[position] = args[position].astype(OTHER[dtype])
    _refused(name, args, TypeError)


@pytest.mark.parametrize("name, position", _positions("AW"))
def test_a_kernel_refuses_a_float_array_of_another_kind(name, position):
    for bad in (np.int64, np.float16, np.complex128, np.bool_, np.longdouble):
        args = _valid_args(name, np.float64)
        args[position] = args[position].astype(bad)
        _refused(name, args, TypeError)


@pytest.mark.parametrize("name, position", _positions("LM"))
def test_a_kernel_refuses_indices_that_are_not_intp(name, position):
    for bad in (np.int32, np.uint64, np.float64, np.int16):
        args = _valid_args(name, np.float64)
        args[position] = args[position].astype(bad)
        _refused(name, args, TypeError)


@pytest.mark.parametrize("name, position", _positions("IJ"))
def test_a_kernel_refuses_csr_indices_that_are_not_int32_or_int64(name, position):
    for bad in (np.uint32, np.uint64, np.float64, np.int16, np.intc().dtype.newbyteorder()):
        args = _valid_args(name, np.float64)
        args[position] = args[position].astype(bad)
        _refused(name, args, TypeError)


@pytest.mark.parametrize("name, position", _positions("IJ"))
def test_a_kernel_refuses_csr_indices_of_mixed_widths(name, position):
    args = _valid_args(name, np.float64)
    args[position] = args[position].astype(np.int64)
    _refused(name, args, TypeError)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_a_kernel_refuses_the_wrong_number_of_arguments(name):
    args = _valid_args(name, np.float64)
    for wrong in ([], args[:-1], args + [args[0]], args + [0.5]):
        _refused(name, wrong, TypeError)


@pytest.mark.parametrize("name, position", _positions("ri"))
def test_a_kernel_refuses_a_scalar_that_is_not_a_number(name, position):
    for bad in (None, "x", [1.0], np.ones(2)):
        args = _valid_args(name, np.float64)
        args[position] = bad
        _refused(name, args, (TypeError, ValueError))


def test_the_first_float_array_decides_the_dtype():
    X = np.ones(4, np.float32)
    with pytest.raises(TypeError, match="different dtypes"):
        activation_kernels.relu_forward(X, np.empty(4))
    with pytest.raises(TypeError, match="float32 or float64"):
        activation_kernels.relu_forward(X.astype(np.int32), X)
    with pytest.raises(TypeError, match="intp"):
        loss_kernels.softmax_cross_entropy_labels(
            np.zeros((2, 3)), np.zeros(2, np.int32), np.empty(0), 1.0, np.empty(2),
            np.empty((2, 3)), 1,
        )
    with pytest.raises(ValueError, match="C-contiguous, aligned"):
        activation_kernels.relu_forward(np.ones((4, 4))[:, ::2], np.empty((4, 2)))


# ------------------------------------------------------------- take_rows' bytes


@pytest.mark.parametrize("row_dtype", [np.float32, np.float64, np.intp],
                         ids=["float32", "float64", "intp"])
@pytest.mark.parametrize("shape", [(9,), (9, 5)], ids=["1-D", "2-D"])
def test_take_rows_copies_bytes_from_a_misaligned_source(row_dtype, shape, rng):
    X = _misaligned((rng.normal(size=shape) * 100).astype(row_dtype))
    indices = np.array([8, 0, 3, 3, 7], np.intp)
    out = np.full((5, *shape[1:]), -1, row_dtype)
    assert gather_kernels.take_rows(X, indices, out) == -1.0
    assert_array_equal(out, np.asarray(X)[indices])
    out_misaligned = _misaligned(np.zeros_like(out))
    call = gather_kernels.take_rows.bind(X, indices, out_misaligned)
    assert call() == -1.0
    assert_array_equal(out_misaligned, np.asarray(X)[indices])


def test_take_rows_still_refuses_misaligned_or_non_intp_indices():
    X, out = np.ones((6, 2)), np.zeros((3, 2))
    indices = np.array([0, 1, 2], np.intp)
    _refused("take_rows", [X, _misaligned(indices), out], ValueError)
    _refused("take_rows", [X, indices.astype(np.int32), out], TypeError)
    _refused("take_rows", [np.ones((6, 4))[:, ::2], indices, out], ValueError)


def test_take_rows_returns_the_first_bad_index_and_writes_nothing():
    X = np.arange(12.0).reshape(6, 2)
    indices = np.array([0, 5, 2], np.intp)
    out = np.full((3, 2), -7.0)
    call = gather_kernels.take_rows.bind(X, indices, out)
    assert call() == -1.0
    assert_array_equal(out, X[[0, 5, 2]])
    for bad_at, value in [(1, 6), (2, -1), (0, 2**40)]:
        out[...] = -7.0
        indices[...] = [0, 5, 2]
        indices[bad_at] = value
        assert call() == float(bad_at)
        assert (out == -7.0).all()  # every index is checked before a row is copied


# ------------------------------------------------- a bound call and its results


def test_a_call_follows_the_contents_and_returns_the_sum_of_squares(dtype):
    v = np.arange(1, 8, dtype=dtype)
    call = blas_kernels.sum_of_squares.bind(v)
    assert repr(call) == "<bound sum_of_squares>"
    assert call.kernel is blas_kernels.sum_of_squares and call.args[0] is v
    for _ in range(3):
        assert call() == float(np.sum(np.arange(1, 8) ** 2))
    v[...] = 2
    assert call() == 4.0 * 7
    v[3] = np.inf
    assert call() == np.inf
    v[3] = np.nan
    assert np.isnan(call())


def test_a_call_holds_its_arrays():
    # the arrays are made inline and dropped by the caller: the Call keeps them alive
    call = activation_kernels.relu_forward.bind(
        np.array([-1.0, 2.0, -3.0]), np.zeros(3)
    )
    np.ones(10_000)  # reuse freed memory, were the arrays freed
    assert call() == 0.0
    assert_array_equal(call.args[1], [0.0, 2.0, 0.0])


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(
    "name", ["softmax_cross_entropy_targets", "binary_cross_entropy", "squared_error"]
)
def test_a_bound_loss_returns_zero_and_follows_its_inputs(name, weighted, dtype, rng):
    kernel = getattr(loss_kernels, name)
    logits = rng.normal(size=(5, 3)).astype(dtype)
    Y = rng.random((5, 3)).astype(dtype)
    w = rng.random(5).astype(dtype) if weighted else np.empty(0, dtype)
    loss, grad = np.empty(5, dtype), np.empty((5, 3), dtype)
    call = kernel.bind(logits, Y, w, 0.25, loss, grad, 1)
    for _ in range(2):
        logits[...] = rng.normal(size=(5, 3))
        Y[...] = rng.random((5, 3))
        assert call() == 0.0
        want_loss, want_grad = np.empty_like(loss), np.empty_like(grad)
        assert kernel(logits, Y, w, 0.25, want_loss, want_grad, 1) == 0.0
        assert_array_equal(loss, want_loss)
        assert_array_equal(grad, want_grad)


def test_the_bound_labels_loss_returns_minus_one_or_the_bad_position(dtype, rng):
    kernel = loss_kernels.softmax_cross_entropy_labels
    logits = rng.normal(size=(4, 3)).astype(dtype)
    labels = np.array([0, 2, 1, 2], np.intp)
    loss, grad = np.full(4, -5, dtype), np.full((4, 3), -5, dtype)
    call = kernel.bind(logits, labels, np.empty(0, dtype), 1.0, loss, grad, 1)
    assert call() == -1.0
    good_loss, good_grad = loss.copy(), grad.copy()
    assert_array_equal(loss, ops.softmax_cross_entropy(logits, labels)[0])
    for bad_at, value in [(3, 3), (0, -1), (2, 99)]:
        labels[...] = [0, 2, 1, 2]
        labels[bad_at] = value
        loss[...], grad[...] = -5, -5
        assert call() == float(bad_at)
        assert (loss == -5).all() and (grad == -5).all()  # nothing written
    labels[...] = [0, 2, 1, 2]
    assert call() == -1.0
    assert_array_equal(loss, good_loss)
    assert_array_equal(grad, good_grad)


def test_ops_bind_returns_a_call_for_a_compiled_kernel():
    X = np.array([[-1.0, 2.0]])
    run, Y = ops.bind(ops.relu, X)
    assert isinstance(run, Call) and run() == 0.0
    assert_array_equal(Y, [[0.0, 2.0]])
    run, _ = ops.bind(ops.sum_of_squares, np.array([3.0, 4.0]))
    assert isinstance(run, Call) and run() == 25.0
    run, _ = ops.bind(ops.sum_of_squares, np.empty(0))  # no kernel: a Python run
    assert not isinstance(run, Call) and run() == 0.0


# ------------------------------------------ direct call == bound call, bit for bit


def _cases(dtype, rng):
    """(kernel, arguments) for a few kernels of each module, on real data."""
    def normal(*shape):
        return rng.normal(size=shape).astype(dtype)

    def uniform(*shape):
        return rng.random(shape).astype(dtype)

    X, dY = normal(6, 8), normal(6, 8)
    big = normal(400, 400)  # above the threshold of the OpenMP loops
    labels = rng.integers(0, 8, size=6).astype(np.intp)
    weights = uniform(6)
    Y = ops.tanh(X)
    W, b, dZ = normal(8, 5), normal(5), normal(6, 5)
    Z, argmax = ops.maxout(X, 2)
    a, k = activation_kernels, loss_kernels
    o, blas, g = optimizer_kernels, blas_kernels, gather_kernels

    def empty(*shape):
        return np.empty(shape, dtype)

    return {
        "relu_forward": (a.relu_forward, [X.ravel(), empty(48)]),
        "relu_forward_big": (a.relu_forward, [big.ravel(), empty(big.size)]),
        "sigmoid_forward": (a.sigmoid_forward, [X.ravel(), empty(48)]),
        "tanh_backward": (a.tanh_backward, [Y.ravel(), dY.ravel(), empty(48)]),
        "elu_backward": (a.elu_backward, [X.ravel(), ops.elu(X).ravel(), dY.ravel(),
                                          1.0, empty(48)]),
        "leaky_relu_forward": (a.leaky_relu_forward, [X.ravel(), 0.1, empty(48)]),
        "dropout_forward": (a.dropout_forward, [X.ravel(), uniform(48), 0.3,
                                                1 / 0.7, empty(48)]),
        "maxout_forward": (a.maxout_forward, [X, 2, empty(6, 4),
                                              np.empty((6, 4), np.intp)]),
        "maxout_backward": (a.maxout_backward, [Z, argmax, empty(6, 8)]),
        "softmax_forward": (k.softmax_forward, [X, empty(6, 8)]),
        "log_softmax_forward": (k.log_softmax_forward, [X, empty(6, 8)]),
        "softmax_backward": (k.softmax_backward, [ops.softmax(X), dY, empty(6, 8)]),
        "ce_labels": (k.softmax_cross_entropy_labels,
                      [X, labels, weights, 0.5, empty(6), empty(6, 8), 1]),
        "ce_targets": (k.softmax_cross_entropy_targets,
                       [X, uniform(6, 8), np.empty(0, dtype), 0.5, empty(6),
                        empty(6, 8), 1]),
        "ce_targets_in_place": (k.softmax_cross_entropy_targets,
                                [X.copy(), uniform(6, 8), weights, 1.0, empty(6),
                                 None, 1]),
        "bce": (k.binary_cross_entropy,
                [X, uniform(6, 8), weights, 0.125, empty(6), empty(6, 8), 1]),
        "bce_loss_only": (k.binary_cross_entropy,
                          [X, uniform(6, 8), weights, 1.0, empty(6),
                           np.empty((0, 1), dtype), 0]),
        "squared_error": (k.squared_error,
                          [X, normal(6, 8), np.empty(0, dtype), 0.25, empty(6),
                           empty(6, 8), 1]),
        "sgd_update": (o.sgd_update, [normal(40), normal(40), 0.1, 0.01]),
        "momentum_update": (o.momentum_update,
                            [normal(40), normal(40), normal(40), 0.1, 0.9, 0, 0.0]),
        "nesterov_update": (o.momentum_update,
                            [normal(40), normal(40), normal(40), 0.1, 0.9, 1, 0.001]),
        "adam_update": (o.adam_update,
                        [normal(40), normal(40), normal(40), uniform(40), 0.01, 0.9,
                         0.999, 1e-7, 0.0]),
        "rmsprop_update": (o.rmsprop_update,
                           [normal(40), normal(40), uniform(40), empty(0), empty(0),
                            0.01, 0.9, 1e-7, 0.0, 0.0, 0, 0]),
        "rmsprop_centered_momentum": (o.rmsprop_update,
                                      [normal(40), normal(40), uniform(40) + 1,
                                       normal(40), normal(40), 0.01, 0.9, 1e-7, 0.9,
                                       0.01, 1, 1]),
        "adagrad_update": (o.adagrad_update,
                           [normal(40), normal(40), uniform(40), 0.01, 1e-7, 0.001]),
        "adadelta_update": (o.adadelta_update,
                            [normal(40), normal(40), uniform(40), uniform(40), 1.0,
                             0.95, 1e-6, 0.0]),
        "adamax_update": (o.adamax_update,
                          [normal(40), normal(40), normal(40), uniform(40), 0.02, 0.9,
                           0.999, 1e-7, 0.0]),
        "nadam_update": (o.nadam_update,
                         [normal(40), normal(40), normal(40), uniform(40), 0.003, 0.002,
                          3e-9, 0.9, 0.999, 0.0]),
        "nadam_update_big": (o.nadam_update,
                             [big.ravel(), normal(big.size), normal(big.size),
                              uniform(big.size), 0.003, 0.002, 3e-9, 0.9, 0.999, 0.01]),
        "dense_forward": (blas.dense_forward, [X, W, b, empty(6, 5), 1]),
        "dense_forward_no_bias": (blas.dense_forward, [X, W, b, empty(6, 5), 0]),
        "dense_backward": (blas.dense_backward,
                           [X, W, dZ, empty(8, 5), empty(5), empty(6, 8), 1, 1]),
        "sum_of_squares": (blas.sum_of_squares, [big.ravel()]),
        "axpy": (blas.axpy, [normal(40), normal(40), -0.3]),
        "take_rows": (g.take_rows, [X, rng.permutation(6)[:4], empty(4, 8)]),
        "take_rows_labels": (g.take_rows, [labels, rng.permutation(6),
                                           np.empty(6, np.intp)]),
    }


CASES = list(_cases(np.float64, np.random.default_rng(0)))


def _same_bits(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("case", CASES)
def test_a_bound_call_equals_the_direct_call_bit_for_bit(case, dtype):
    kernel, args = _cases(dtype, np.random.default_rng(3))[case]
    if case == "ce_targets_in_place":
        args[5] = args[0]  # the gradient overwrites the logits
    direct, bound = _copies(args), _copies(args)
    if case == "ce_targets_in_place":
        direct[5], bound[5] = direct[0], bound[0]
    call = kernel.bind(*bound)
    assert len(call.args) == len(bound)
    assert all(held is given for held, given in zip(call.args, bound))
    # twice: the optimizers and the in-place loss update their own inputs
    for _ in range(2):
        want = kernel(*direct)
        got = call()
        assert (got == want) or (np.isnan(got) and np.isnan(want))
        for got_array, want_array in zip(_arrays(bound), _arrays(direct)):
            _same_bits(got_array, want_array)


@pytest.mark.parametrize("case", CASES)
def test_a_bound_call_follows_new_contents_of_its_inputs(case, dtype):
    kernel, args = _cases(dtype, np.random.default_rng(4))[case]
    if case == "ce_targets_in_place":
        args[5] = args[0]
    call = kernel.bind(*args)
    call()
    fresh = _cases(dtype, np.random.default_rng(5))[case][1]
    for held, new in zip(args, fresh):
        if isinstance(held, np.ndarray) and new is not None:
            held[...] = new  # same memory, new contents
    direct = _copies(args)
    if case == "ce_targets_in_place":
        direct[5] = direct[0]
    want = kernel(*direct)
    got = call()
    assert (got == want) or (np.isnan(got) and np.isnan(want))
    for got_array, want_array in zip(_arrays(args), _arrays(direct)):
        _same_bits(got_array, want_array)


# ------------------------------------------------ a Kernel or Call made bare


def test_a_kernel_or_call_made_bare_raises_instead_of_calling_null():
    # A bare Call has no C function: calling it used to dereference NULL (a
    # segmentation fault) before c7bcfcf.
    call = Call()
    assert repr(call) == "<bound nothing>"
    with pytest.raises(TypeError):
        call()
    kernel = Kernel()
    repr(kernel)
    with pytest.raises(TypeError):
        kernel()
    with pytest.raises(TypeError):
        kernel.bind(np.ones(3), np.ones(3))


def test_a_bit_generator_argument_must_be_one():
    out = np.empty(4)
    for bad in (np.random.default_rng(0), None, 1.0, np.ones(2)):
        _refused("uniform_fill", [bad, out], TypeError)


@pytest.mark.parametrize("size", [1, 7, 1000])
def test_uniform_fill_draws_what_numpy_draws(dtype, size):
    ours, numpys = np.random.default_rng(11), np.random.default_rng(11)
    for _ in range(3):  # and the generators stay in step
        got = activation_kernels.uniform_fill(ours.bit_generator, np.empty(size, dtype))
        assert got == 0.0
    drawn = np.empty(size, dtype)
    call = activation_kernels.uniform_fill.bind(ours.bit_generator, drawn)
    call()
    for _ in range(3):
        numpys.random(size, dtype=dtype)
    assert_array_equal(drawn, numpys.random(size, dtype=dtype))
    assert ours.random() == numpys.random()
