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

NumPy only: this module imports nothing else from fastnn, so it reads on its own.
"""

import inspect
from collections.abc import Mapping

import numpy as np

__all__ = [
    "Gate", "AddGate", "MultiplyGate", "ScaleGate", "AddConstantGate", "MaxGate",
    "DotGate", "ExpGate", "ReciprocalGate", "TanhGate", "ReLUGate", "SigmoidGate",
    "ComputationalGraph", "gradient_check",
]


def _as_float(value):
    value = np.asarray(value)
    is_float = np.issubdtype(value.dtype, np.floating)
    return value if is_float else value.astype(np.float64)


def _as_output(value):
    """A 0-d array becomes a NumPy scalar; anything else stays an array."""
    value = np.asarray(value)
    return value[()] if value.ndim == 0 else value


def _sum_to_shape(grad, shape):
    """Undo broadcasting: sum ``grad`` over the axes NumPy stretched to reach it."""
    grad = np.asarray(grad)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    stretched = tuple(axis for axis, size in enumerate(shape) if size == 1)
    grad = grad.sum(axis=stretched, keepdims=True) if stretched else grad
    # NOTE: a copy, so AddGate's two gradients (the same dout) are never one array.
    return _as_output(np.array(grad))


class Gate:
    """One node of a computational graph: a function and its local derivative.

    Subclasses set ``n_inputs`` and write the math only, in ``_forward(*inputs)``
    (store what backward needs, return the output) and ``_backward(dout)`` (return
    one gradient per input). This base checks arity and order, converts inputs,
    and sums each gradient back to its input's shape.

    Examples
    --------
    >>> class SquareGate(Gate):
    ...     def _forward(self, x):
    ...         self.x = x
    ...         return x * x
    ...     def _backward(self, dout):
    ...         return (2 * self.x * dout,)
    >>> gate = SquareGate()
    >>> print(gate.forward(3.0), gate.backward(1.0))
    9.0 (np.float64(6.0),)
    """

    n_inputs = 1
    _input_shapes = None

    def forward(self, *inputs):
        name = type(self).__name__
        if len(inputs) != self.n_inputs:
            raise TypeError(f"{name}.forward takes {self.n_inputs} input(s), "
                            f"got {len(inputs)}")
        inputs = [_as_float(x) for x in inputs]
        self._input_shapes = None  # a failed forward leaves nothing to backward
        output = np.asarray(self._forward(*inputs))
        self._input_shapes = [x.shape for x in inputs]
        self._output_shape = output.shape
        return _as_output(output)

    def backward(self, dout):
        """Gradients of the final result w.r.t. each input, given ``dout`` for the
        output. A scalar ``dout`` on an array output stands for ``dout`` everywhere."""
        name = type(self).__name__
        if self._input_shapes is None:
            raise RuntimeError(f"{name}.backward called before {name}.forward")
        dout = _as_float(dout)
        try:
            dout = np.broadcast_to(dout, self._output_shape)
        except ValueError:
            raise ValueError(f"{name}.backward: dout has shape {dout.shape}, the "
                             f"output has shape {self._output_shape}") from None
        grads = self._backward(dout)
        return tuple(_sum_to_shape(g, s) for g, s in zip(grads, self._input_shapes))


class AddGate(Gate):
    """``x + y``; the gradient passes through to both inputs unchanged.

    >>> gate = AddGate()
    >>> print(gate.forward(-2.0, 5.0), gate.backward(-4.0))
    3.0 (np.float64(-4.0), np.float64(-4.0))
    """

    n_inputs = 2

    def _forward(self, x, y):
        return x + y

    def _backward(self, dout):
        return dout, dout


class MultiplyGate(Gate):
    """``x * y``; each input's gradient is ``dout`` times the other input.

    >>> gate = MultiplyGate()
    >>> print(gate.forward(3.0, -4.0), gate.backward(1.0))
    -12.0 (np.float64(-4.0), np.float64(3.0))
    """

    n_inputs = 2

    def _forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def _backward(self, dout):
        return dout * self.y, dout * self.x


class ScaleGate(Gate):
    """``f_a(x) = a x`` for a constant ``factor`` a; ``df/dx = a``.

    >>> gate = ScaleGate(-1.0)
    >>> print(gate.forward(1.0), gate.backward(0.5))
    -1.0 (np.float64(-0.5),)
    """

    def __init__(self, factor):
        self.factor = factor

    def _forward(self, x):
        return self.factor * x

    def _backward(self, dout):
        return (self.factor * dout,)


class AddConstantGate(Gate):
    """``f_c(x) = c + x`` for a constant ``constant`` c; ``df/dx = 1``.

    >>> gate = AddConstantGate(1.0)
    >>> print(gate.forward(0.37), gate.backward(-0.53))
    1.37 (np.float64(-0.53),)
    """

    def __init__(self, constant):
        self.constant = constant

    def _forward(self, x):
        return self.constant + x

    def _backward(self, dout):
        return (dout,)


class MaxGate(Gate):
    """``max(x, y)`` element-wise; the gradient goes to the larger input.

    At a tie each input gets half the gradient.

    >>> gate = MaxGate()
    >>> print(gate.forward(2.0, 5.0), gate.backward(1.0))
    5.0 (np.float64(0.0), np.float64(1.0))
    """

    n_inputs = 2

    def _forward(self, x, y):
        # NOTE: half each at a tie: the mean of the one-sided derivatives, which is
        # also what central differences measure there.
        self.share_of_x = np.where(x > y, 1.0, np.where(x < y, 0.0, 0.5))
        return np.maximum(x, y)

    def _backward(self, dout):
        return dout * self.share_of_x, dout * (1.0 - self.share_of_x)


class DotGate(Gate):
    """``a @ b`` for 1-D and 2-D operands: vector dot, matrix-vector, matrix-matrix.

    >>> gate = DotGate()
    >>> print(gate.forward([2.0, -3.0], [-1.0, -2.0]), gate.backward(1.0))
    4.0 (array([-1., -2.]), array([ 2., -3.]))
    """

    n_inputs = 2

    def _forward(self, a, b):
        if a.ndim not in (1, 2) or b.ndim not in (1, 2):
            raise ValueError(f"DotGate takes 1-D or 2-D operands, got shapes "
                             f"{a.shape} and {b.shape}")
        self.a, self.b = a, b
        return a @ b

    def _backward(self, dout):
        # NOTE: seen as a row (left) or a column (right), a vector is a matrix, so
        # the two matrix-product rules dA = dout B^T, dB = A^T dout cover all cases.
        a = self.a.reshape(1, -1) if self.a.ndim == 1 else self.a
        b = self.b.reshape(-1, 1) if self.b.ndim == 1 else self.b
        dout = dout.reshape(a.shape[0], b.shape[1])
        return (dout @ b.T).reshape(self.a.shape), (a.T @ dout).reshape(self.b.shape)


class ExpGate(Gate):
    """``e^x``; ``df/dx = e^x``, the output itself. Overflows past x ~ 709.

    >>> gate = ExpGate()
    >>> print(gate.forward(0.0), gate.backward(2.0))
    1.0 (np.float64(2.0),)
    """

    def _forward(self, x):
        self.output = np.exp(x)
        return self.output

    def _backward(self, dout):
        return (dout * self.output,)


class ReciprocalGate(Gate):
    """``1 / x``; ``df/dx = -1/x^2``. Raises ``ValueError`` at ``x == 0``.

    >>> gate = ReciprocalGate()
    >>> print(gate.forward(2.0), gate.backward(1.0))
    0.5 (np.float64(-0.25),)
    """

    def _forward(self, x):
        if np.any(x == 0):
            raise ValueError("ReciprocalGate: 1/x is undefined at x == 0")
        self.output = 1.0 / x
        return self.output

    def _backward(self, dout):
        # NOTE: -1/x^2 is -(1/x)^2, so the stored output saves a division.
        return (-dout * self.output**2,)


class TanhGate(Gate):
    """``tanh(x)``; ``df/dx = 1 - tanh(x)^2``.

    >>> gate = TanhGate()
    >>> print(gate.forward(0.0), gate.backward(1.0))
    0.0 (np.float64(1.0),)
    """

    def _forward(self, x):
        self.output = np.tanh(x)
        return self.output

    def _backward(self, dout):
        return (dout * (1.0 - self.output**2),)


class ReLUGate(Gate):
    """``max(0, x)``; the gradient passes where ``x > 0`` (and is 0 at ``x == 0``).

    >>> gate = ReLUGate()
    >>> print(gate.forward([-1.0, 2.0]), gate.backward(1.0))
    [0. 2.] (array([0., 1.]),)
    """

    def _forward(self, x):
        self.positive = x > 0
        return np.maximum(x, 0.0)

    def _backward(self, dout):
        return (dout * self.positive,)


class SigmoidGate(Gate):
    """``1 / (1 + e^-x)``; ``df/dx = (1 - f) f``. Finite for any finite ``x``.

    >>> gate = SigmoidGate()
    >>> print(gate.forward(0.0), gate.backward(1.0))
    0.5 (np.float64(0.25),)
    """

    def _forward(self, x):
        # NOTE: exp(-|x|) never overflows: for x < 0, 1/(1 + e^-x) is rewritten as
        # e^x/(1 + e^x), so e^-x is only ever taken of a non-positive number.
        e = np.exp(-np.abs(x))
        self.output = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return self.output

    def _backward(self, dout):
        return (dout * (1.0 - self.output) * self.output,)


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
            grads = self.gates[name].backward(gradients[name])
            for wire, grad in zip(self.wires[name], grads):
                # A value read by several gates (or twice by one) sums their gradients.
                gradients[wire] = gradients[wire] + grad if wire in gradients else grad
        self.gradients = gradients
        return {name: gradients[name] if name in gradients
                else _as_output(np.zeros_like(_as_float(self.values[name])))
                for name in self.inputs}


def gradient_check(obj, *inputs, eps=1e-6, rtol=1e-5, atol=1e-8, dout=None, seed=0):
    """Compare ``obj``'s backward with central finite differences, in float64.

    The scalar checked is ``sum(forward(...) * dout)``, with ``dout`` standard
    normal (seeded) unless given. ``obj`` is one of

    - a :class:`ComputationalGraph`: ``gradient_check(graph, {"x": 1.0, ...})``;
    - a layer, any object whose ``forward`` takes a ``training`` argument:
      ``forward(X, training=False) -> Y``, ``backward(dY) -> dX``, and optionally
      ``params`` (arrays, float64, perturbed in place) with ``grads`` of the same
      shapes filled by backward. ``gradient_check(layer, X)`` checks dX and grads;
    - anything else is a gate: ``gradient_check(gate, x, y)``.

    Keep inputs away from kinks (ReLU at 0, MaxGate at ties): there the two
    one-sided derivatives differ and finite differences measure neither.

    Returns
    -------
    float
        The largest relative error ``|a - n| / max(|a|, |n|, atol)``, analytic a
        against numerical n.

    Raises
    ------
    AssertionError
        If some gradient misses ``|a - n| <= atol + rtol * |n|``, naming which.

    Examples
    --------
    >>> gradient_check(SigmoidGate(), np.array([-3.0, 0.5, 4.0])) < 1e-8
    True
    """
    if isinstance(obj, ComputationalGraph):
        (values,) = inputs
        labels = list(values)
        variables = [np.array(values[name], dtype=np.float64) for name in labels]

        def run():
            return obj.forward(dict(zip(labels, variables)))

        def backward(douts):
            gradients = obj.backward(douts)
            return [gradients[name] for name in labels]

    elif "training" in inspect.signature(obj.forward).parameters:
        (X,) = inputs
        params = list(getattr(obj, "params", []))
        for i, param in enumerate(params):
            if not (isinstance(param, np.ndarray) and param.dtype == np.float64):
                raise ValueError(f"params[{i}] must be a float64 array: it is "
                                 f"perturbed in place, and float32 is too coarse")
        variables = [np.array(X, dtype=np.float64), *params]
        labels = ["dX"] + [f"grads[{i}]" for i in range(len(params))]

        def run():
            return obj.forward(variables[0], training=False)

        def backward(douts):
            dX, grads = obj.backward(douts), list(getattr(obj, "grads", []))
            if [np.shape(g) for g in grads] != [p.shape for p in params]:
                raise ValueError(f"grads have shapes {[np.shape(g) for g in grads]}, "
                                 f"params {[p.shape for p in params]}")
            return [dX, *grads]

    else:
        variables = [np.array(x, dtype=np.float64) for x in inputs]
        labels = [f"input {i}" for i in range(len(variables))]

        def run():
            return obj.forward(*variables)

        def backward(douts):
            return list(obj.backward(douts))

    shape = np.shape(run())
    douts = (np.random.default_rng(seed).standard_normal(shape) if dout is None
             else np.array(np.broadcast_to(np.asarray(dout, np.float64), shape)))
    # Copies: a layer may overwrite its grads in place on a later call.
    analytic = [np.array(grad, dtype=np.float64) for grad in backward(douts)]
    if len(analytic) != len(variables):
        raise AssertionError(f"gradient_check: backward returned {len(analytic)} "
                             f"gradients for {len(variables)} inputs")

    def objective():
        return float(np.sum(run() * douts))

    worst = 0.0
    for label, variable, grad in zip(labels, variables, analytic):
        numerical = np.zeros(variable.shape)
        for index in np.ndindex(variable.shape):
            original = variable[index]
            variable[index] = original + eps
            f_plus = objective()
            variable[index] = original - eps
            f_minus = objective()
            variable[index] = original
            numerical[index] = (f_plus - f_minus) / (2 * eps)
        if grad.shape != numerical.shape:
            raise AssertionError(f"gradient_check: {label} has shape {grad.shape}, "
                                 f"its input has shape {numerical.shape}")
        error = np.abs(grad - numerical)
        scale = np.maximum(np.maximum(np.abs(grad), np.abs(numerical)), atol)
        worst = max(worst, float(np.max(error / scale, initial=0.0)))
        excess = error - (atol + rtol * np.abs(numerical))
        if np.any(excess > 0):
            at = np.unravel_index(np.argmax(excess), excess.shape)
            raise AssertionError(
                f"gradient_check: {label} is wrong at index {at}: backward gives "
                f"{grad[at]:.6g}, finite differences {numerical[at]:.6g} "
                f"(rtol={rtol}, atol={atol})")
    run()  # leave obj holding the forward of the inputs as given
    return worst
