"""The activation functions by name, each a forward and a backward through ``ops``.

``forward(X, out)`` returns the activation of ``X`` written into ``out``;
``backward(X, Y, dY, out)`` returns dL/dX from the saved input ``X``, the saved output
``Y`` and the upstream gradient ``dY``. ``linear`` is the identity and copies nothing.
"""

from fastnn import ops

__all__ = ["get", "NAMES", "Activation"]


class Activation:
    """A named element-wise (or, for softmax, row-wise) activation."""

    def __init__(self, name, forward, backward):
        self.name = name
        self.forward = forward
        self.backward = backward

    def __repr__(self):
        return f"<activation {self.name}>"


def _linear_forward(X, out):
    return X


def _linear_backward(X, Y, dY, out):
    return dY


_ACTIVATIONS = [
    Activation("linear", _linear_forward, _linear_backward),
    Activation(
        "sigmoid",
        lambda X, out: ops.sigmoid(X, out=out),
        lambda X, Y, dY, out: ops.sigmoid_backward(Y, dY, out=out),
    ),
    Activation(
        "tanh",
        lambda X, out: ops.tanh(X, out=out),
        lambda X, Y, dY, out: ops.tanh_backward(Y, dY, out=out),
    ),
    Activation(
        "relu",
        lambda X, out: ops.relu(X, out=out),
        lambda X, Y, dY, out: ops.relu_backward(X, dY, out=out),
    ),
    Activation(
        "leaky_relu",
        lambda X, out: ops.leaky_relu(X, 0.1, out=out),
        lambda X, Y, dY, out: ops.leaky_relu_backward(X, dY, 0.1, out=out),
    ),
    Activation(
        "elu",
        lambda X, out: ops.elu(X, 1.0, out=out),
        lambda X, Y, dY, out: ops.elu_backward(X, Y, dY, 1.0, out=out),
    ),
    Activation(
        "softmax",
        lambda X, out: ops.softmax(X, out=out),
        lambda X, Y, dY, out: ops.softmax_backward(Y, dY, out=out),
    ),
]
_BY_NAME = {activation.name: activation for activation in _ACTIVATIONS}
NAMES = tuple(_BY_NAME)


def get(name):
    """The activation called ``name`` (None means linear); ValueError otherwise."""
    if name is None:
        name = "linear"
    if not isinstance(name, str) or name not in _BY_NAME:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(NAMES)}")
    return _BY_NAME[name]
