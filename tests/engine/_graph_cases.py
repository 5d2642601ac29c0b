"""The gate-API cases test_graph.py and test_graph_gates.py share: the lecture's
sigmoid neuron (its numbers, and the graph built from single gates or a sigmoid gate)
and every gate with inputs away from its kinks.
"""

import math

from fastnn.graph import (
    AddConstantGate,
    AddGate,
    ComputationalGraph,
    ExpGate,
    MaxGate,
    MultiplyGate,
    ReciprocalGate,
    ReLUGate,
    ScaleGate,
    SigmoidGate,
    TanhGate,
)

EXACT = dict(rtol=1e-12, atol=1e-15)


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
