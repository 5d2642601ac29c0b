"""MLPClassifier's network: the hidden activations it accepts, its output loss and
the :class:`fastnn.Sequential` built for an architecture."""

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
    """``model``'s weights as scikit-learn's ``coefs_`` and ``intercepts_``: lists of
    views into its flat weight vector, one per Dense (or Maxout) layer."""
    affine = [layer for layer in model.layers if layer.params]
    return [layer.params[0] for layer in affine], [layer.params[1] for layer in affine]
