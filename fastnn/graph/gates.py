"""The lecture's gates: each one small function with its local derivative.

``forward(*inputs)`` stores what ``backward`` needs and returns the output;
``backward(dout)`` returns the gradient of each input, of that input's shape: the
gradient itself for a one-input gate (so gates chain by hand, as in the lecture:
``d = sigmoid.backward(1.0); da, dw2 = add.backward(d)``), a tuple for more.
"""

import numpy as np


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


def gradients_of(gate, dout):
    """One gradient per input of any gate, as a tuple: a :class:`Gate`'s
    ``input_gradients``, or a gate written as the lecture writes them, whose
    ``backward`` returns a list (or, with one input, the gradient itself)."""
    if isinstance(gate, Gate):
        return gate.input_gradients(dout)
    grads = gate.backward(dout)
    return tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)


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
    9.0 6.0
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
        """The gradient of the final result w.r.t. the input, given ``dout`` for the
        output: one gradient for a one-input gate (scalar in, scalar out; array in,
        array out), a tuple of one per input otherwise. A scalar ``dout`` on an array
        output stands for ``dout`` everywhere."""
        grads = self.input_gradients(dout)
        return grads[0] if self.n_inputs == 1 else grads

    def input_gradients(self, dout):
        """As :meth:`backward`, always a tuple of one gradient per input (what a graph
        walks)."""
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
    -1.0 -0.5
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
    1.37 -0.53
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
    1.0 2.0
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
    0.5 -0.25
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
    0.0 1.0
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
    [0. 2.] [0. 1.]
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
    0.5 0.25
    """

    def _forward(self, x):
        # NOTE: exp(-|x|) never overflows: for x < 0, 1/(1 + e^-x) is rewritten as
        # e^x/(1 + e^x), so e^-x is only ever taken of a non-positive number.
        e = np.exp(-np.abs(x))
        self.output = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return self.output

    def _backward(self, dout):
        return (dout * (1.0 - self.output) * self.output,)
