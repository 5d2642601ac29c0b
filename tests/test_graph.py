"""The teaching gate API: the lecture's worked examples, every gate's backward against
finite differences, the graph's sorting and fan-out, the error cases, gradient_check."""

import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn.graph import (
    AddConstantGate,
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

EXACT = dict(rtol=1e-12, atol=1e-15)

# ------------------------------------------------------------ the chain-rule example
# f(x, y, z) = (x + y) z at x = -2, y = 5, z = -4: q = 3, f = -12,
# df/dz = q = 3, df/dq = z = -4, df/dx = df/dy = df/dq * 1 = -4.


def test_chain_rule_by_hand_with_two_gates():
    add, multiply = AddGate(), MultiplyGate()
    q = add.forward(-2, 5)
    f = multiply.forward(q, -4)
    dq, dz = multiply.backward(1.0)
    dx, dy = add.backward(dq)
    assert (q, f) == (3.0, -12.0)
    assert (dx, dy, dz) == (-4.0, -4.0, 3.0)


def test_chain_rule_graph():
    graph = ComputationalGraph()
    q = graph.add(AddGate(), "x", "y")
    graph.add(MultiplyGate(), q, "z")
    assert graph.forward({"x": -2, "y": 5, "z": -4}) == -12.0
    gradients = graph.backward()
    assert gradients == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert list(gradients) == graph.inputs == ["x", "y", "z"]
    assert all(isinstance(g, float) and np.ndim(g) == 0 for g in gradients.values())
    # Every wire's value and gradient stays readable, as drawn in the lecture.
    assert graph.values[q] == 3.0 and graph.gradients[q] == -4.0


# ------------------------------------------------------------ the sigmoid neuron
# f(w, x) = 1 / (1 + e^-(w0 x0 + w1 x1 + w2)) at w = [2, -3, -3], x = [-1, -2]:
# z = 1, f = sigma(1), df/dz = sigma(1) (1 - sigma(1)), df/dw = df/dz [x0, x1, 1],
# df/dx = df/dz [w0, w1].
W, X = [2.0, -3.0, -3.0], [-1.0, -2.0]
SIGMA = 1 / (1 + math.exp(-1.0))
D_Z = SIGMA * (1 - SIGMA)
D_W, D_X = [D_Z * X[0], D_Z * X[1], D_Z], [D_Z * W[0], D_Z * W[1]]
NEURON_INPUTS = {"w0": W[0], "x0": X[0], "w1": W[1], "x1": X[1], "w2": W[2]}


def neuron_from_single_gates():
    """The lecture's drawing: *, *, +, +, *-1, exp, +1, 1/x."""
    graph = ComputationalGraph()
    w0x0 = graph.add(MultiplyGate(), "w0", "x0")
    w1x1 = graph.add(MultiplyGate(), "w1", "x1")
    z = graph.add(AddGate(), graph.add(AddGate(), w0x0, w1x1), "w2")
    e = graph.add(ExpGate(), graph.add(ScaleGate(-1.0), z))
    graph.add(ReciprocalGate(), graph.add(AddConstantGate(1.0), e))
    return graph


def neuron_with_sigmoid_gate():
    graph = ComputationalGraph()
    w0x0 = graph.add(MultiplyGate(), "w0", "x0")
    w1x1 = graph.add(MultiplyGate(), "w1", "x1")
    z = graph.add(AddGate(), graph.add(AddGate(), w0x0, w1x1), "w2")
    graph.add(SigmoidGate(), z)
    return graph


@pytest.mark.parametrize("build", [neuron_from_single_gates, neuron_with_sigmoid_gate])
def test_sigmoid_neuron(build):
    graph = build()
    f = graph.forward(NEURON_INPUTS)
    g = graph.backward()
    dw, dx = [g["w0"], g["w1"], g["w2"]], [g["x0"], g["x1"]]
    # As the lecture states them, to 2 decimals.
    assert round(f, 2) == 0.73
    assert_array_equal(np.round(dw, 2), [-0.20, -0.39, 0.20])
    assert_array_equal(np.round(dx, 2), [0.39, -0.59])
    # And against the hand-derived formulas.
    assert_allclose(f, SIGMA, **EXACT)
    assert_allclose(dw, D_W, **EXACT)
    assert_allclose(dx, D_X, **EXACT)


def test_sigmoid_neuron_with_arrays():
    graph = ComputationalGraph()
    z = graph.add(AddGate(), graph.add(DotGate(), "w", "x"), "b")
    graph.add(SigmoidGate(), z)
    f = graph.forward({"w": np.array(W[:2]), "x": np.array(X), "b": W[2]})
    g = graph.backward()
    assert_allclose(f, SIGMA, **EXACT)
    assert_allclose(g["w"], D_W[:2], **EXACT)
    assert_allclose(g["b"], D_W[2], **EXACT)
    assert_allclose(g["x"], D_X, **EXACT)
    assert g["w"].shape == (2,) and np.ndim(g["b"]) == 0


# ------------------------------------------------------------ every gate vs central FD


def _away_from_zero(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 2.0, size=shape)


# name -> (gate factory, inputs(rng, shape)); inputs avoid kinks, ties and 1/0.
GATES = {
    "add": (AddGate, lambda rng, s: [rng.normal(size=s), rng.normal(size=s)]),
    "multiply": (MultiplyGate, lambda rng, s: [rng.normal(size=s), rng.normal(size=s)]),
    "scale": (lambda: ScaleGate(-2.5), lambda rng, s: [rng.normal(size=s)]),
    "add_constant": (lambda: AddConstantGate(1.5), lambda rng, s: [rng.normal(size=s)]),
    "max": (MaxGate, lambda rng, s: (lambda x: [x, x + _away_from_zero(rng, s)])(
        rng.normal(size=s))),
    "exp": (ExpGate, lambda rng, s: [rng.normal(size=s)]),
    "reciprocal": (ReciprocalGate, lambda rng, s: [_away_from_zero(rng, s)]),
    "tanh": (TanhGate, lambda rng, s: [rng.normal(size=s)]),
    "relu": (ReLUGate, lambda rng, s: [_away_from_zero(rng, s)]),
    "sigmoid": (SigmoidGate, lambda rng, s: [3 * rng.normal(size=s)]),
}
SHAPES = {"scalar": (), "array": (3, 4)}


def _check_against_finite_differences(gate, inputs, dout, num_grad, fd_tol):
    output = gate.forward(*inputs)
    grads = gate.backward(dout)
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
    assert_array_equal(gate.backward(1.0)[0], [0.0, 0.0, 1.0])


def test_float32_stays_float32():
    x = np.array([-1.0, 0.5, 2.0], dtype=np.float32)
    for gate in [SigmoidGate(), TanhGate(), ReLUGate(), ExpGate(), ScaleGate(2.0)]:
        assert gate.forward(x).dtype == np.float32
        assert gate.backward(np.ones(3, dtype=np.float32))[0].dtype == np.float32


# ------------------------------------------------------------ extreme inputs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_tanh_are_finite_at_extremes(dtype):
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning, not even silenced
        for gate, expected in [(SigmoidGate(), [0, 0, 0.5, 1, 1]),
                               (TanhGate(), [-1, -1, 0, 1, 1])]:
            assert_allclose(gate.forward(x), expected, atol=1e-20)
            (dx,) = gate.backward(np.ones_like(x))
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


# ------------------------------------------------------------ the graph


def test_fan_out_sums_gradients():
    square = ComputationalGraph()
    square.add(MultiplyGate(), "x", "x")  # one gate reading x twice
    assert square.forward({"x": 3.0}) == 9.0
    assert square.backward() == {"x": 6.0}

    graph = ComputationalGraph()  # f = (x + y) x: x read by two gates
    graph.add(MultiplyGate(), graph.add(AddGate(), "x", "y"), "x")
    assert graph.forward({"x": 3.0, "y": 2.0}) == 15.0
    assert graph.backward() == {"x": 2 * 3.0 + 2.0, "y": 3.0}


def test_fan_out_with_arrays(rng):
    x = rng.normal(size=(2, 3))
    graph = ComputationalGraph()
    graph.add(AddGate(), graph.add(TanhGate(), "x"), graph.add(ExpGate(), "x"))
    graph.forward({"x": x})
    dout = rng.normal(size=x.shape)
    assert_allclose(graph.backward(dout)["x"], dout * (1 - np.tanh(x) ** 2 + np.exp(x)),
                    **EXACT)


def test_gates_added_out_of_order_are_sorted():
    graph = ComputationalGraph()
    graph.add(ReciprocalGate(), "denominator", name="f")
    graph.add(AddConstantGate(1.0), "e", name="denominator")
    graph.add(ExpGate(), "minus_z", name="e")
    graph.add(ScaleGate(-1.0), "z", name="minus_z")
    assert graph.topological_order() == ["minus_z", "e", "denominator", "f"]
    assert graph.inputs == ["z"]
    assert_allclose(graph.forward({"z": 1.0}), SIGMA, **EXACT)
    assert_allclose(graph.backward()["z"], D_Z, **EXACT)


def test_cycles_are_refused():
    graph = ComputationalGraph()
    graph.add(AddGate(), "x", "b", name="a")
    graph.add(ExpGate(), "a", name="b")
    graph.add(TanhGate(), "b", name="out")
    with pytest.raises(ValueError, match="cycle"):
        graph.topological_order()
    with pytest.raises(ValueError, match="cycle"):
        graph.forward({"x": 1.0})

    loop = ComputationalGraph()
    loop.add(ExpGate(), "self", name="self")
    with pytest.raises(ValueError, match="cycle"):
        loop.forward({})


def test_missing_and_unknown_inputs():
    graph = ComputationalGraph()
    graph.add(MultiplyGate(), graph.add(AddGate(), "x", "y"), "z")
    with pytest.raises(ValueError, match=r"missing \['z'\]"):
        graph.forward({"x": 1.0, "y": 2.0})
    with pytest.raises(ValueError, match=r"unknown \['w'\]"):
        graph.forward({"x": 1.0, "y": 2.0, "z": 3.0, "w": 4.0})
    with pytest.raises(ValueError, match=r"unknown \['add0'\]"):  # not an input
        graph.forward({"x": 1.0, "y": 2.0, "z": 3.0, "add0": 4.0})
    with pytest.raises(TypeError, match="dict"):
        graph.forward([1.0, 2.0, 3.0])


def test_graph_backward_before_forward_and_after_a_change():
    graph = ComputationalGraph()
    graph.add(ExpGate(), "x")
    with pytest.raises(RuntimeError, match="before forward"):
        graph.backward()
    graph.forward({"x": 0.0})
    graph.add(TanhGate(), "exp0")
    with pytest.raises(RuntimeError, match="before forward"):
        graph.backward()


def test_output_must_be_unambiguous():
    graph = ComputationalGraph()
    graph.add(ExpGate(), "x", name="e")
    graph.add(TanhGate(), "x", name="t")
    with pytest.raises(ValueError, match=r"\['e', 't'\]"):
        graph.forward({"x": 0.0})
    graph.output = "t"
    assert graph.forward({"x": 0.0}) == 0.0
    assert graph.backward() == {"x": 1.0}  # the exp branch adds nothing

    graph.output = "x"
    with pytest.raises(ValueError, match="not a gate"):
        graph.forward({"x": 0.0})
    with pytest.raises(ValueError, match="no gates"):
        ComputationalGraph().forward({})


def test_input_off_the_output_path_gets_a_zero_gradient():
    graph = ComputationalGraph(output="f")
    graph.add(ExpGate(), "x", name="f")
    graph.add(TanhGate(), "unused", name="side")
    graph.forward({"x": 0.0, "unused": np.ones(3)})
    gradients = graph.backward()
    assert gradients["x"] == 1.0
    assert_array_equal(gradients["unused"], np.zeros(3))


def test_add_errors():
    graph = ComputationalGraph()
    gate = ExpGate()
    graph.add(gate, "x", name="e")
    with pytest.raises(ValueError, match="already has a gate named 'e'"):
        graph.add(TanhGate(), "x", name="e")
    with pytest.raises(ValueError, match="already in the graph"):
        graph.add(gate, "y")
    with pytest.raises(ValueError, match="takes 2 input"):
        graph.add(AddGate(), "x")
    with pytest.raises(TypeError, match="strings"):
        graph.add(TanhGate(), 3)


def test_auto_names_skip_taken_names():
    graph = ComputationalGraph()
    graph.add(ExpGate(), "x", name="exp0")
    assert graph.add(ExpGate(), "exp0") == "exp1"


def test_lecture_style_gate_without_the_base_class():
    class LectureMultiplyGate:  # as in the lecture's exercise: forward, backward -> [dx, dy]
        def forward(self, x, y):
            self.x, self.y = x, y
            return x * y

        def backward(self, dz):
            return [dz * self.y, dz * self.x]

    graph = ComputationalGraph()
    graph.add(LectureMultiplyGate(), graph.add(AddGate(), "x", "y"), "z")
    assert graph.forward({"x": -2, "y": 5, "z": -4}) == -12
    assert graph.backward() == {"x": -4, "y": -4, "z": 3}


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
