"""The lecture's forward/backward API: gates, a graph of gates, a gradient checker.

A gate is one small function with its local derivative. ``forward(*inputs)`` stores
what ``backward`` needs and returns the output; ``backward(dout)`` takes the gradient
of the final result with respect to that output and returns a tuple with one
gradient per input, each of that input's shape (a one-input gate returns a 1-tuple).
Scalars in give NumPy float64 scalars out (a ``float`` subclass); arrays in give
arrays out. Integer inputs are computed in float64. The two-input element-wise gates
broadcast like NumPy, and their gradients are summed back to each input's shape.

:class:`ComputationalGraph` wires gates by name, runs them in topological order and
back-propagates in reverse (the chain rule, one gate at a time). :func:`gradient_check`
compares any gate, graph or layer's backward with central finite differences.

NumPy only: this package imports nothing else from fastnn, so it reads on its own.
"""

from fastnn.graph.check import gradient_check
from fastnn.graph.computational_graph import ComputationalGraph
from fastnn.graph.gates import (
    AddConstantGate,
    AddGate,
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
)

__all__ = [
    "Gate", "AddGate", "MultiplyGate", "ScaleGate", "AddConstantGate", "MaxGate",
    "DotGate", "ExpGate", "ReciprocalGate", "TanhGate", "ReLUGate", "SigmoidGate",
    "ComputationalGraph", "gradient_check",
]
