"""The teaching gate API, gate by gate: every gate's backward against finite
differences, broadcasting, extreme inputs, the gate errors; and gradient_check on
gates, graphs and layers.
"""

import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn.graph import (
    AddGate,
    ComputationalGraph,
    DotGate,
    ExpGate,
    Gate,
    MaxGate,
    MultiplyGate,
    ReciprocalGate,
    ReLUGate,
    ScaleGate,
    SigmoidGate,
    TanhGate,
    gradient_check,
)

from _graph_cases import (
    GATES, NEURON_INPUTS, SHAPES, neuron_from_single_gates,
    neuron_with_sigmoid_gate,
)


def _check_against_finite_differences(gate, inputs, dout, num_grad, fd_tol):
    output = gate.forward(*inputs)
    grads = gate.backward(dout)
    if len(inputs) == 1:  # a one-input gate returns its gradient itself
        assert not isinstance(grads, tuple) and np.shape(grads) == np.shape(inputs[0])
        grads = (grads,)
    assert isinstance(grads, tuple) and len(grads) == len(inputs)
    for i, (x, grad) in enumerate(zip(inputs, grads)):
        def f(x_i, i=i):
            return np.sum(gate.forward(*inputs[:i], x_i, *inputs[i + 1:]) * dout)

        assert np.shape(grad) == np.shape(x)
        assert_allclose(grad, num_grad(f, x), **fd_tol)
    return output, grads


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("name", GATES)
def test_gate_backward_matches_finite_differences(name, shape, rng, num_grad, fd_tol):
    make_gate, make_inputs = GATES[name]
    inputs = make_inputs(rng, shape)
    dout = rng.normal(size=shape)
    output, grads = _check_against_finite_differences(
        make_gate(), inputs, dout, num_grad, fd_tol)
    if shape == ():  # scalars in, NumPy scalars out (a float subclass)
        assert isinstance(output, float) and all(isinstance(g, float) for g in grads)
    else:
        assert isinstance(output, np.ndarray) and output.shape == shape


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)),
                                    ((2, 3), (3, 4))], ids=str)
def test_dot_gate_matches_finite_differences(shapes, rng, num_grad, fd_tol):
    inputs = [rng.normal(size=shape) for shape in shapes]
    output = DotGate().forward(*inputs)
    dout = rng.normal(size=np.shape(output))
    _check_against_finite_differences(DotGate(), inputs, dout, num_grad, fd_tol)


@pytest.mark.parametrize("gate", [AddGate, MultiplyGate, MaxGate])
@pytest.mark.parametrize("shapes", [((3, 4), (4,)), ((3, 1), (1, 4)), ((), (3, 4)),
                                    ((2, 1, 4), (3, 1))], ids=str)
def test_broadcasting_sums_gradients_back_to_each_shape(gate, shapes, rng, num_grad,
                                                        fd_tol):
    inputs = [rng.normal(size=shape) for shape in shapes]
    output = gate().forward(*inputs)
    dout = rng.normal(size=output.shape)
    _check_against_finite_differences(gate(), inputs, dout, num_grad, fd_tol)


def test_add_broadcast_gradient_is_the_column_sum():
    gate = AddGate()
    gate.forward(np.zeros((3, 4)), np.zeros(4))
    dx, db = gate.backward(np.arange(12.0).reshape(3, 4))
    assert_array_equal(dx, np.arange(12.0).reshape(3, 4))
    assert_array_equal(db, [12.0, 15.0, 18.0, 21.0])


def test_add_gate_gradients_are_distinct_arrays():
    gate = AddGate()
    gate.forward(np.ones(3), np.ones(3))
    dx, dy = gate.backward(np.ones(3))
    dx += 1
    assert_array_equal(dy, np.ones(3))


def test_scalar_dout_on_array_output_means_dout_everywhere():
    gate = MultiplyGate()
    gate.forward(np.array([1.0, 2.0]), 3.0)
    dx, dy = gate.backward(1.0)
    assert_array_equal(dx, [3.0, 3.0])
    assert dy == 3.0  # the gradient of sum(x * y) w.r.t. the scalar y


def test_max_gate_routes_to_the_larger_and_splits_ties(num_grad):
    gate = MaxGate()
    gate.forward(np.array([1.0, 3.0, 2.0]), np.array([2.0, 1.0, 2.0]))
    dx, dy = gate.backward(np.array([10.0, 20.0, 30.0]))
    assert_array_equal(dx, [0.0, 20.0, 15.0])
    assert_array_equal(dy, [10.0, 0.0, 15.0])
    # Half each at the tie is what central differences measure there.
    assert_allclose(num_grad(lambda x: MaxGate().forward(x, 2.0), 2.0), 0.5)


def test_relu_gradient_is_zero_at_zero():
    gate = ReLUGate()
    assert_array_equal(gate.forward([-1.0, 0.0, 2.0]), [0.0, 0.0, 2.0])
    assert_array_equal(gate.backward(1.0), [0.0, 0.0, 1.0])


def test_float32_stays_float32():
    x = np.array([-1.0, 0.5, 2.0], dtype=np.float32)
    for gate in [SigmoidGate(), TanhGate(), ReLUGate(), ExpGate(), ScaleGate(2.0)]:
        assert gate.forward(x).dtype == np.float32
        assert gate.backward(np.ones(3, dtype=np.float32)).dtype == np.float32


# ------------------------------------------------------------ extreme inputs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_tanh_are_finite_at_extremes(dtype):
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning, not even silenced
        for gate, expected in [(SigmoidGate(), [0, 0, 0.5, 1, 1]),
                               (TanhGate(), [-1, -1, 0, 1, 1])]:
            assert_allclose(gate.forward(x), expected, atol=1e-20)
            dx = gate.backward(np.ones_like(x))
            assert np.all(np.isfinite(dx)) and np.all(dx >= 0)
        assert SigmoidGate().forward(-1000.0) == 0.0
        assert SigmoidGate().forward(1000.0) == 1.0


def test_sigmoid_is_accurate_for_large_negative_inputs():
    # For x < 0 the gate computes e^x / (1 + e^x): full relative precision at -40,
    # and no e^800 (an overflow) at -800.
    assert_allclose(SigmoidGate().forward(-40.0), math.exp(-40.0), rtol=1e-12)
    assert SigmoidGate().forward(-800.0) == 0.0


def test_reciprocal_of_zero_raises():
    with pytest.raises(ValueError, match="x == 0"):
        ReciprocalGate().forward(0.0)
    with pytest.raises(ValueError, match="x == 0"):
        ReciprocalGate().forward(np.array([1.0, 0.0]))


# ------------------------------------------------------------ gate errors


def test_backward_before_forward_names_the_gate():
    with pytest.raises(RuntimeError, match="SigmoidGate.backward called before"):
        SigmoidGate().backward(1.0)


def test_failed_forward_leaves_nothing_to_backward():
    gate = ReciprocalGate()
    gate.forward(2.0)
    with pytest.raises(ValueError):
        gate.forward(0.0)
    with pytest.raises(RuntimeError, match="before"):
        gate.backward(1.0)


def test_wrong_number_of_inputs():
    with pytest.raises(TypeError, match="AddGate.forward takes 2 input"):
        AddGate().forward(1.0)
    with pytest.raises(TypeError, match="ExpGate.forward takes 1 input"):
        ExpGate().forward(1.0, 2.0)


def test_dout_of_the_wrong_shape():
    gate = TanhGate()
    gate.forward(np.zeros(3))
    with pytest.raises(ValueError, match=r"dout has shape \(4,\)"):
        gate.backward(np.ones(4))


def test_dot_gate_refuses_3d():
    with pytest.raises(ValueError, match="1-D or 2-D"):
        DotGate().forward(np.ones((2, 2, 2)), np.ones(2))


# ------------------------------------------------------------ gradient_check


class Affine:
    """A duck-typed layer: Y = X W + b, with params [W, b] and grads [dW, db]."""

    def __init__(self, rng, n_features, units, wrong=None):
        self.W = rng.normal(size=(n_features, units))
        self.b = rng.normal(size=units)
        self.params = [self.W, self.b]
        self.grads = [np.zeros_like(self.W), np.zeros_like(self.b)]
        self.wrong = wrong

    def forward(self, X, training=False):
        self.X = X
        return X @ self.W + self.b

    def backward(self, dY):
        self.grads[0][...] = self.X.T @ dY
        self.grads[1][...] = dY[0] if self.wrong == "db" else dY.sum(axis=0)
        return dY @ self.W if self.wrong == "dX" else dY @ self.W.T


class Tanh:
    """A layer without params."""

    def forward(self, X, training=False):
        self.Y = np.tanh(X)
        return self.Y

    def backward(self, dY):
        return dY * (1 - self.Y**2)


class WrongMultiplyGate(MultiplyGate):
    def _backward(self, dout):
        return dout * self.y, dout * self.y  # dy should be dout * x


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("name", GATES)
def test_gradient_check_passes_on_every_gate(name, shape, rng):
    make_gate, make_inputs = GATES[name]
    assert gradient_check(make_gate(), *make_inputs(rng, shape)) < 1e-6


def test_gradient_check_passes_on_a_graph():
    for build in [neuron_from_single_gates, neuron_with_sigmoid_gate]:
        assert gradient_check(build(), NEURON_INPUTS) < 1e-6


def test_gradient_check_passes_on_layers(rng):
    X = rng.normal(size=(5, 4))
    assert gradient_check(Affine(rng, 4, 3), X) < 1e-6
    assert gradient_check(Tanh(), X) < 1e-6
    assert gradient_check(Tanh(), X, dout=1.0) < 1e-6


def test_gradient_check_fails_on_a_wrong_gate():
    with pytest.raises(AssertionError, match="input 1 is wrong"):
        gradient_check(WrongMultiplyGate(), 3.0, -4.0)
    with pytest.raises(AssertionError, match="input 1 is wrong"):
        gradient_check(WrongMultiplyGate(), np.ones(3), np.arange(3.0))


def test_gradient_check_fails_on_a_graph_with_a_wrong_gate():
    graph = ComputationalGraph()
    graph.add(WrongMultiplyGate(), graph.add(AddGate(), "x", "y"), "z")
    with pytest.raises(AssertionError, match="z is wrong"):
        gradient_check(graph, {"x": -2.0, "y": 5.0, "z": -4.0})


@pytest.mark.parametrize("wrong, label", [("dX", "dX"), ("db", r"grads\[1\]")])
def test_gradient_check_fails_on_a_wrong_layer(wrong, label, rng):
    with pytest.raises(AssertionError, match=f"{label} is wrong"):
        gradient_check(Affine(rng, 3, 3, wrong=wrong), rng.normal(size=(4, 3)))


def test_gradient_check_wrong_shape_and_bad_params(rng):
    class FlatGate(Gate):
        def _forward(self, x):
            self.x = x
            return x.sum()

        def _backward(self, dout):
            return (np.full(self.x.size + 1, dout),)

    with pytest.raises(AssertionError, match="shape"):
        gradient_check(FlatGate(), np.ones(3))

    layer = Affine(rng, 2, 2)
    layer.W = layer.params[0] = layer.W.astype(np.float32)
    with pytest.raises(ValueError, match="float64"):
        gradient_check(layer, np.ones((1, 2)))

    layer = Tanh()
    layer.params, layer.grads = [np.ones(2)], [np.zeros(3)]
    with pytest.raises(ValueError, match="grads have shapes"):
        gradient_check(layer, np.ones((1, 2)))


def test_gradient_check_restores_the_inputs(rng):
    x = rng.normal(size=3)
    before = x.copy()
    layer = Affine(rng, 3, 2)
    W = layer.W.copy()
    gradient_check(SigmoidGate(), x)
    gradient_check(layer, x.reshape(1, 3))
    assert_array_equal(x, before)
    assert_array_equal(layer.W, W)
