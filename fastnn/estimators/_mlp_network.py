"""MLPClassifier's network: the hidden activations it accepts, its output loss, the
:class:`fastnn.Sequential` built for an architecture, and its weights as the lists of
views scikit-learn's ``coefs_`` and ``intercepts_`` are."""

from fastnn.models import Sequential
from fastnn.nn.layers import Dense, Dropout, Maxout
from fastnn.nn.losses import BinaryCrossentropy

__all__ = ["HIDDEN_ACTIVATIONS"]

# scikit-learn's activation names -> fastnn's ('maxout' builds Maxout layers instead);
# the command line offers them in this order, the default first.
_HIDDEN = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "linear",
           "leaky_relu": "leaky_relu", "elu": "elu", "maxout": None}
HIDDEN_ACTIVATIONS = tuple(_HIDDEN)
_MAXOUT_PIECES = 2


class _LogLoss(BinaryCrossentropy):
    """scikit-learn's binary log-loss: summed over the outputs (Keras averages them),
    so a multi-label network learns as scikit-learn's does."""

    name = "binary_log_loss"
    averages_outputs = False


def _loss_for(out_activation):
    return "sparse_categorical_crossentropy" if out_activation == "softmax" else _LogLoss()


def _network(architecture, seed):
    """The Sequential for ``architecture`` (built, with throw-away initial weights)."""
    units, activation, dropout, alpha, out_activation, dtype = architecture
    layers = []
    for width in units[1:-1]:
        if activation == "maxout":
            layers.append(Maxout(width, pieces=_MAXOUT_PIECES, kernel_l2=alpha))
        else:
            layers.append(Dense(width, _HIDDEN[activation], kernel_l2=alpha))
        if dropout:
            layers.append(Dropout(dropout))
    output = "softmax" if out_activation == "softmax" else "sigmoid"
    layers.append(Dense(units[-1], output, kernel_l2=alpha))
    model = Sequential(layers, seed=seed)
    return model.build(units[0], dtype)


def weight_views(model):
    """``model``'s weights as scikit-learn's ``coefs_`` and ``intercepts_``: lists
    (:class:`_Views`) of views into its flat weight vector, one per Dense (or Maxout)
    layer."""
    affine = [layer for layer in model.layers if layer.params]
    return (_Views([layer.params[0] for layer in affine], model, "coefs_"),
            _Views([layer.params[1] for layer in affine], model, "intercepts_"))


_MUTATORS = ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend",
             "insert", "pop", "remove", "clear", "sort", "reverse")


class _Views(list):
    """``coefs_`` or ``intercepts_`` as the estimator hands them out: a list of views
    into ``model``'s weights that notes any change to itself (an item replaced, added,
    removed or moved), so a prediction knows whether it still holds them (see
    :func:`fastnn.estimators._mlp_params.weights_in_sync`).

    NOTE: a one-row prediction takes about 3 us. Comparing every item with the
    network's arrays on each call would add 0.5 us; :func:`weights_in_sync` reads two
    flags and two owners instead (about 0.1 us).
    """

    __slots__ = ("changed", "model", "name")

    def __init__(self, views, model, name):
        super().__init__(views)
        self.model, self.name, self.changed = model, name, False

    def __reduce__(self):  # a copy or a pickle of the list is a plain list of arrays
        return list, (list(self),)


def _noting(method):
    def noted(self, *args):
        self.changed = True
        return method(self, *args)

    noted.__name__ = noted.__qualname__ = method.__name__
    noted.__doc__ = method.__doc__
    return noted


for _name in _MUTATORS:
    setattr(_Views, _name, _noting(getattr(list, _name)))

