"""The activation functions by name, each a forward and a backward through ``ops``.

The forward writes the activation of ``X`` into ``out``; the backward writes dL/dX
from the saved input ``X``, the saved output ``Y`` and the upstream gradient ``dY``.
``linear`` is the identity and copies nothing.
"""

from fastnn import ops

__all__ = ["get", "NAMES", "ActivationFunction", "LEAKY_RELU_SLOPE", "ELU_ALPHA"]

# the lecture's Leaky ReLU, max(0.1 x, x), and ELU's alpha (as Keras' default)
LEAKY_RELU_SLOPE = 0.1
ELU_ALPHA = 1.0


class ActivationFunction:
    """A named element-wise (or, for softmax, row-wise) activation function (what the
    layer :class:`fastnn.layers.Activation` applies; public as
    ``fastnn.activations.Activation``).

    ``bind_forward(X, out)`` and ``bind_backward(X, Y, dY, out)`` check their arrays
    through :func:`fastnn.ops.bind` and return ``(runs, result)``: calling each of
    ``runs`` in turn computes ``result``, as often as the arrays' contents change.
    """

    def __init__(self, name, bind_forward, bind_backward):
        self.name = name
        self.bind_forward = bind_forward
        self.bind_backward = bind_backward

    def __repr__(self):
        return f"<activation {self.name}>"

    def __reduce__(self):  # one per name: a copy or an unpickled model gets that one
        return get, (self.name,)


def _bound(function, *args, **kwargs):
    run, result = ops.bind(function, *args, **kwargs)
    return [run], result


_ACTIVATIONS = [
    # linear is the identity: no work, the input is the output
    ActivationFunction("linear", lambda X, out: ([], X), lambda X, Y, dY, out: ([], dY)),
    ActivationFunction(
        "sigmoid",
        lambda X, out: _bound(ops.sigmoid, X, out=out),
        lambda X, Y, dY, out: _bound(ops.sigmoid_backward, Y, dY, out=out),
    ),
    ActivationFunction(
        "tanh",
        lambda X, out: _bound(ops.tanh, X, out=out),
        lambda X, Y, dY, out: _bound(ops.tanh_backward, Y, dY, out=out),
    ),
    ActivationFunction(
        "relu",
        lambda X, out: _bound(ops.relu, X, out=out),
        lambda X, Y, dY, out: _bound(ops.relu_backward, X, dY, out=out),
    ),
    ActivationFunction(
        "leaky_relu",
        lambda X, out: _bound(ops.leaky_relu, X, LEAKY_RELU_SLOPE, out=out),
        lambda X, Y, dY, out: _bound(ops.leaky_relu_backward, X, dY,
                                     LEAKY_RELU_SLOPE, out=out),
    ),
    ActivationFunction(
        "elu",
        lambda X, out: _bound(ops.elu, X, ELU_ALPHA, out=out),
        lambda X, Y, dY, out: _bound(ops.elu_backward, X, Y, dY, ELU_ALPHA, out=out),
    ),
    ActivationFunction(
        "softmax",
        lambda X, out: _bound(ops.softmax, X, out=out),
        lambda X, Y, dY, out: _bound(ops.softmax_backward, Y, dY, out=out),
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
