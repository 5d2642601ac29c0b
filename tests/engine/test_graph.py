"""The teaching gate API: the lecture's worked examples (the chain rule, the sigmoid
neuron) and the graph's sorting, fan-out and error cases.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn.graph import (
    AddConstantGate,
    AddGate,
    ComputationalGraph,
    DotGate,
    ExpGate,
    MultiplyGate,
    ReciprocalGate,
    ScaleGate,
    SigmoidGate,
    TanhGate,
)

from _graph_cases import (
    D_W, D_X, D_Z, EXACT, NEURON_INPUTS, SIGMA, W, X, neuron_from_single_gates,
    neuron_with_sigmoid_gate,
)

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
# (its numbers and its two graphs: _graph_cases.py)


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


def test_the_lectures_first_example_chained_by_hand():
    """f(x, y, z) = (x + y) z at x=-2, y=5, z=-4, one gate's backward feeding the next."""
    add, multiply = AddGate(), MultiplyGate()
    q = add.forward(-2.0, 5.0)
    assert multiply.forward(q, -4.0) == -12
    dq, dz = multiply.backward(1.0)
    dx, dy = add.backward(dq)
    assert (dx, dy, dz) == (-4, -4, 3)


def test_the_lectures_sigmoid_neuron_chained_by_hand():
    """f(w, x) = σ(w0 x0 + w1 x1 + w2), the lecture's way: d = sigmoid.backward(1.0);
    da, dw2 = add.backward(d); ... (a one-input gate returns its gradient itself)."""
    mul0, mul1, add01, add2, sigmoid = (MultiplyGate(), MultiplyGate(), AddGate(),
                                        AddGate(), SigmoidGate())
    dot = add01.forward(mul0.forward(2.0, -1.0), mul1.forward(-3.0, -2.0))
    f = sigmoid.forward(add2.forward(dot, -3.0))
    d = sigmoid.backward(1.0)
    assert np.ndim(d) == 0 and not isinstance(d, tuple)
    ddot, dw2 = add2.backward(d)
    d0, d1 = add01.backward(ddot)
    dw0, dx0 = mul0.backward(d0)
    dw1, dx1 = mul1.backward(d1)
    assert_allclose(f, 1 / (1 + np.exp(-1.0)))
    expected = np.array([-1.0, -2.0, 1.0, 2.0, -3.0]) * f * (1 - f)  # x0, x1, 1, w0, w1
    assert_allclose([dw0, dw1, dw2, dx0, dx1], expected)
    # the same with single gates for the sigmoid, and with arrays: array in, array out
    exp, scale = ExpGate(), ScaleGate(-1.0)
    plus_one, reciprocal = AddConstantGate(1.0), ReciprocalGate()
    z = np.array([1.0, -2.0])
    g = reciprocal.forward(plus_one.forward(exp.forward(scale.forward(z))))
    dz = scale.backward(exp.backward(plus_one.backward(reciprocal.backward(1.0))))
    assert isinstance(dz, np.ndarray) and dz.shape == z.shape
    assert_allclose(dz, g * (1 - g))
