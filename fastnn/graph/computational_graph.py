"""ComputationalGraph: gates wired by name, run forward in topological order and
backward in reverse (the chain rule, one gate at a time)."""

from collections.abc import Mapping

import numpy as np

from fastnn.graph.gates import _as_float, _as_output, gradients_of


class ComputationalGraph:
    """Gates wired by name, run forward in topological order and backward in reverse.

    ``add(gate, *input_names)`` wires a gate and returns the name of its output. A
    name no gate produces is an input of the graph. Gates may be added in any order;
    the graph sorts them itself (Kahn's algorithm) and refuses a cycle. A gate is
    duck-typed: ``forward(*inputs)`` and ``backward(dout)`` returning one gradient
    per input, checked against ``gate.n_inputs`` when it has one.

    Parameters
    ----------
    output : str, optional
        The name whose value ``forward`` returns. By default the one gate no other
        gate reads; it is an error if there are several.

    Attributes
    ----------
    values : dict
        After ``forward``, the value on every wire, inputs included.
    gradients : dict
        After ``backward``, the gradient on every wire that reaches the output.

    Examples
    --------
    >>> from fastnn.graph import AddGate, MultiplyGate
    >>> graph = ComputationalGraph()
    >>> q = graph.add(AddGate(), "x", "y")
    >>> f = graph.add(MultiplyGate(), q, "z")
    >>> print(graph.forward({"x": -2, "y": 5, "z": -4}))
    -12.0
    >>> {name: float(grad) for name, grad in graph.backward().items()}
    {'x': -4.0, 'y': -4.0, 'z': 3.0}
    """

    def __init__(self, output=None):
        self.output = output
        self.gates = {}  # output name -> gate
        self.wires = {}  # output name -> the names the gate reads, in order
        self.values = {}
        self.gradients = {}
        self._order = None  # the gate order of the last forward

    def add(self, gate, *input_names, name=None):
        """Wire ``gate`` to read ``input_names``; return the name of its output."""
        if name is None:  # "add0", "multiply0", "add1", ...
            kind, index = type(gate).__name__.removesuffix("Gate").lower(), 0
            while f"{kind}{index}" in self.gates:
                index += 1
            name = f"{kind}{index}"
        for wire in (name, *input_names):
            if not isinstance(wire, str):
                raise TypeError(f"wire names are strings, got {wire!r}")
        if name in self.gates:
            raise ValueError(f"the graph already has a gate named {name!r}")
        if any(gate is other for other in self.gates.values()):
            raise ValueError(f"this {type(gate).__name__} is already in the graph; a "
                             f"gate holds one forward's state, add a new instance")
        n_inputs = getattr(gate, "n_inputs", len(input_names))
        if len(input_names) != n_inputs:
            raise ValueError(f"{type(gate).__name__} {name!r} takes {n_inputs} "
                             f"input(s), got {len(input_names)}")
        self.gates[name], self.wires[name] = gate, input_names
        self._order = None
        return name

    @property
    def inputs(self):
        """The names read by some gate and produced by none, in first-read order."""
        read = dict.fromkeys(w for wires in self.wires.values() for w in wires)
        return [wire for wire in read if wire not in self.gates]

    def topological_order(self):
        """Gate names, each after every gate it reads (the lecture's
        ``nodes_topologically_sorted``). Raises ``ValueError`` on a cycle."""
        waiting_on = {name: {w for w in wires if w in self.gates}
                      for name, wires in self.wires.items()}
        readers = {name: [] for name in self.gates}
        for name, sources in waiting_on.items():
            for source in sources:
                readers[source].append(name)
        ready = [name for name, sources in waiting_on.items() if not sources]
        order = []
        while ready:
            name = ready.pop(0)
            order.append(name)
            for reader in readers[name]:
                waiting_on[reader].discard(name)
                if not waiting_on[reader]:
                    ready.append(reader)
        if len(order) < len(self.gates):
            stuck = [name for name in self.gates if name not in order]
            raise ValueError(f"the graph has a cycle: gates {stuck} are on it or "
                             f"read from it")
        return order

    def _output_name(self):
        if not self.gates:
            raise ValueError("the graph has no gates")
        if self.output is not None:
            if self.output not in self.gates:
                raise ValueError(f"output {self.output!r} is not a gate of the graph")
            return self.output
        read = {w for wires in self.wires.values() for w in wires}
        unread = [name for name in self.gates if name not in read]
        if len(unread) != 1:
            raise ValueError(f"gates {unread} are read by no other gate; say which "
                             f"is the result with ComputationalGraph(output=...)")
        return unread[0]

    def forward(self, inputs):
        """Run every gate on ``inputs`` (a dict name -> value); return the output."""
        if not isinstance(inputs, Mapping):
            raise TypeError(f"inputs must be a dict of name -> value, "
                            f"got {type(inputs).__name__}")
        order, output = self.topological_order(), self._output_name()
        missing = [name for name in self.inputs if name not in inputs]
        unknown = [name for name in inputs if name not in self.inputs]
        if missing or unknown:
            raise ValueError(f"the graph's inputs are {self.inputs}: missing "
                             f"{missing}, unknown {unknown}")
        self._order = None
        values = dict(inputs)
        for name in order:
            gate_inputs = [values[wire] for wire in self.wires[name]]
            values[name] = self.gates[name].forward(*gate_inputs)
        self.values, self._order, self._output = values, order, output
        return values[output]

    def backward(self, dout=1.0):
        """Back-propagate ``dout`` from the output; return ``{input: gradient}``."""
        if self._order is None:
            raise RuntimeError("ComputationalGraph.backward called before forward")
        gradients = {self._output: dout}
        for name in reversed(self._order):
            if name not in gradients:
                continue  # the output does not depend on this gate
            grads = gradients_of(self.gates[name], gradients[name])
            for wire, grad in zip(self.wires[name], grads):
                # A value read by several gates (or twice by one) sums their gradients.
                gradients[wire] = gradients[wire] + grad if wire in gradients else grad
        self.gradients = gradients
        return {name: gradients[name] if name in gradients
                else _as_output(np.zeros_like(_as_float(self.values[name])))
                for name in self.inputs}
