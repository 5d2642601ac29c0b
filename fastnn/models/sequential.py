"""``Sequential``: a Keras-style stack of layers, its structure and weights.

Training (compile / fit / the objective) is inherited from
:class:`fastnn.models.training.Trainer`, evaluating from
:class:`fastnn.models.evaluation.Evaluator`, predicting from
:class:`fastnn.models.prediction.Predictor`, the config from
:class:`fastnn.models.config.ModelConfig`. Every weight of the model lives in one flat
vector (each layer's ``W`` and ``b`` are views into it); every array operation goes
through :mod:`fastnn.ops`.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array

from fastnn.models.config import ModelConfig
from fastnn.models.evaluation import Evaluator
from fastnn.models.prediction import Predictor
from fastnn.models.saved_state import SavedState
from fastnn.models.sparse import check_sparse_x
from fastnn.models.training import Trainer
from fastnn.nn.layers import Layer
from fastnn.ops.checks import FLOATS
from fastnn.ops.finite import is_clean_matrix
from fastnn.saving import registry, save_model

__all__ = ["Sequential"]


@registry.register("model")
class Sequential(Trainer, Evaluator, Predictor, SavedState, ModelConfig):
    """A linear stack of layers, trained by backpropagation.

    Parameters
    ----------
    layers : list of :class:`fastnn.layers.Layer`, optional
    seed : int, optional
        Seeds the initial weights, the shuffling and the dropout masks: the same seed
        gives the same model. None draws fresh entropy.
    name : str, optional

    The model takes the dtype of the first data it sees (float32 or float64; other
    numbers become float32) and keeps it: later inputs are converted to it.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import Sequential
    >>> from fastnn.layers import Dense
    >>> X = np.array([[-2.0, 4.0], [2.0, 2.6], [-0.4, 1.0]], np.float32)
    >>> y = np.array([0, 1, 1])
    >>> model = Sequential([Dense(1, activation="sigmoid", input_dim=2)], seed=0)
    >>> model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    >>> history = model.fit(X, y, epochs=300, batch_size=3, verbose=0)
    >>> model.evaluate(X, y, verbose=0)[1]
    1.0
    """

    def __init__(self, layers=None, seed=None, name="sequential"):
        self.layers = []
        self.name = name
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self.dtype = None
        self.optimizer = self.loss = None
        self.metrics = []
        self._params = self._grads = None
        self._batches = {}  # training's buffers, by batch size (fastnn.models.epoch)
        self._inferences = {}  # Inference of the output and of the logits
        self.stop_training = False
        for layer in layers or []:
            self.add(layer)

    def __getstate__(self):
        # NOTE: the bound kernel calls of training and inference point at this model's
        # own arrays: a copy binds its own on first use.
        state = self.__dict__.copy()
        state["_batches"], state["_inferences"] = {}, {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self._params is not None:  # a copy's layers hold copies, not views: re-point
            self._attach_layers()

    # ---------------------------------------------------------------- structure

    def add(self, layer):
        """Append ``layer`` to the stack.

        On a built model the layer is built at once (its initial weights drawn from
        the model's generator) and joins the flat weight vector, as after
        :meth:`pop`: every other weight keeps its value, the optimizer its state
        for them (the new weights start with none).
        """
        if not isinstance(layer, Layer):
            raise TypeError(f"add takes a fastnn Layer, got {type(layer).__name__}")
        if any(layer is other for other in self.layers):
            raise ValueError(f"{layer.name} is already in the model")
        if self.built:
            self._check_owner(layer)
            layer.build(self.n_outputs, self.dtype, self._rng)
            self.layers.append(layer)
            self._repack()
        else:
            self.layers.append(layer)

    def pop(self):
        """Remove the last layer and return it (Keras 3 returns it, Keras 2 None).

        A TypeError on a model without layers, Keras' 'There are no layers in the
        model.' On a built model the remaining layers keep their weights, in a new
        flat vector (their views move there); the compile settings stay, and the
        optimizer keeps its state for the remaining weights, so fit goes on where it
        was (compile again for a fresh optimizer, as Keras asks after a change of
        layers). The popped layer takes its own copy of its weights and may join
        another model. Popping the last layer leaves an unbuilt, empty model.

        Examples
        --------
        >>> from fastnn import Sequential
        >>> from fastnn.layers import Dense
        >>> model = Sequential([Dense(4, "relu", input_dim=3), Dense(2)], seed=0)
        >>> model.build().count_params()
        26
        >>> model.pop().units
        2
        >>> model.count_params(), len(model.layers)
        (16, 1)
        """
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        layer = self.layers.pop()
        if self.built:
            layer._detach()
            self._repack()
        return layer

    def get_layer(self, name=None, index=None):
        """The layer named ``name``, or the one at ``index`` (negative counts from
        the end), as Keras: give one of them; Keras' ValueErrors otherwise.

        Examples
        --------
        >>> from fastnn import Sequential
        >>> from fastnn.layers import Dense
        >>> model = Sequential([Dense(4, input_dim=3, name="hidden"), Dense(2)])
        >>> model.get_layer("hidden") is model.get_layer(index=0)
        True
        """
        if index is not None and name is not None:
            raise ValueError("Provide only a layer name or a layer index. Received: "
                             f"index={index}, name={name}.")
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
                raise TypeError(f"index must be an int, got {type(index).__name__}")
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but "
                                 f"model only has {len(self.layers)} layers.")
            return self.layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: "
                             f"{[layer.name for layer in self.layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    @property
    def built(self):
        return self.dtype is not None

    @property
    def input_dim(self):
        return self.layers[0].input_dim if self.layers else None

    def _widths(self, input_dim=None):
        """The output width of every layer for inputs of ``input_dim`` (or declared)."""
        width = input_dim or self.input_dim
        if width is None:
            raise ValueError(
                "the first layer needs input_dim (e.g. Dense(64, input_dim=20)) "
                "before the model can be built or summarised without data"
            )
        widths = []
        for layer in self.layers:
            width = layer.output_dim(width)
            widths.append(width)
        return widths

    def build(self, input_dim=None, dtype=np.float32):
        """Create every layer's weights (inputs of width ``input_dim``, ``dtype``)."""
        if not self.layers:
            raise ValueError("the model has no layers; add some first")
        dtype = np.dtype(dtype)
        if dtype not in FLOATS:
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
        if self.built:
            if dtype != self.dtype or (input_dim and input_dim != self.input_dim):
                raise ValueError(
                    f"the model is built for width {self.input_dim} {self.dtype}"
                )
            return self
        width = input_dim or self.input_dim
        self._widths(width)  # raises without a width
        for layer in self.layers:
            layer.build(width, dtype, self._rng)
            width = layer.output_dim(width)
        self._pack(dtype)
        self.dtype = dtype
        return self

    def _check_owner(self, layer):
        owner = layer._model() if layer._model is not None else None
        if owner is not None and owner is not self:
            raise ValueError(
                f"{layer.name} already belongs to another built model; fastnn does "
                "not share layers between models (use a new layer, and set_weights "
                "to copy weights)"
            )

    def _pack(self, dtype):
        """Move every parameter into one flat vector (and every gradient into another)."""
        for layer in self.layers:
            self._check_owner(layer)
        total = sum(layer.count_params() for layer in self.layers)
        self._params, self._grads = np.empty(total, dtype), np.zeros(total, dtype)
        self._attach_layers(copy_values=True)

    def _attach_layers(self, copy_values=False):
        """Point every layer's parameters and gradients at views of the flat vectors
        (first copying the layer's values in, with ``copy_values``)."""
        offset = 0
        for layer in self.layers:
            params, grads = [], []
            for param in layer.params:
                end = offset + param.size
                view = self._params[offset:end].reshape(param.shape)
                if copy_values:
                    view[...] = param
                params.append(view)
                grads.append(self._grads[offset:end].reshape(param.shape))
                offset = end
            layer._attach(params, grads, self)

    def _repack(self):
        """After a layer joined or left the built model: every weight's value in a
        new flat vector (an empty model is unbuilt); the optimizer's state cut or
        grown with zeros to it (a layer is added or removed at the end, so the
        remaining weights keep their places); the bound calls of training and
        inference let go."""
        self._batches.clear()
        self._inferences.clear()
        if self.layers:
            self._pack(self.dtype)
        else:
            self.dtype = self._params = self._grads = None
        if self.optimizer is not None:
            iterations, slots = self.optimizer.get_state()
            if self._params is None:
                self.optimizer.set_state(iterations, [], [])
            else:
                slots = [_resized(slot, self._params) for slot in slots]
                self.optimizer.set_state(iterations, slots, [self._params])

    @property
    def n_outputs(self):
        return self._widths()[-1]

    def count_params(self):
        if self.built:
            return int(self._params.size)
        return _count_params(self)

    def summary(self, print_fn=print):
        """Print each layer's name, type, output shape and parameter count."""
        widths = self._widths()
        rows = [("Layer (type)", "Output Shape", "Param #")]
        width = self.input_dim
        for layer, out in zip(self.layers, widths):
            rows.append((
                f"{layer.name} ({type(layer).__name__})",
                f"(None, {out})",
                str(_layer_params(layer, width)),
            ))
            width = out
        sizes = [max(len(row[i]) for row in rows) + 3 for i in range(3)]
        rule = "=" * sum(sizes)
        lines = [f'Model: "{self.name}"', rule]
        for index, row in enumerate(rows):
            lines.append("".join(cell.ljust(size) for cell, size in zip(row, sizes)))
            lines.append(rule if index in (0, len(rows) - 1) else "-" * sum(sizes))
        lines.append(f"Total params: {self.count_params():,}")
        print_fn("\n".join(lines))

    # ------------------------------------------------------------------ weights

    def get_weights(self):
        """Copies of every layer's weights, layer after layer."""
        self._require_built("get_weights")
        return [weight for layer in self.layers for weight in layer.get_weights()]

    def set_weights(self, weights):
        """Set the weights from a list shaped like :meth:`get_weights`."""
        if not self.built:
            first = np.asarray(weights[0]) if len(weights) else None
            if first is None or first.ndim != 2:
                raise ValueError("set_weights on an unbuilt model needs the first kernel")
            self.build(first.shape[0], first.dtype if first.dtype in FLOATS else np.float32)
        counts = [len(layer.params) for layer in self.layers]
        if len(weights) != sum(counts):
            raise ValueError(f"the model takes {sum(counts)} weight arrays, got {len(weights)}")
        start = 0
        for layer, count in zip(self.layers, counts):
            layer.set_weights(list(weights[start:start + count]))
            start += count

    def _require_built(self, what):
        if not self.built:
            raise ValueError(
                f"{what}: the model is not built yet; fit it, or call build(input_dim)"
            )

    def get_flat_weights(self):
        """A copy of every weight in one vector (each layer's ``W`` then ``b``, layer
        after layer): the point an optimizer such as :meth:`objective` works on."""
        self._require_built("get_flat_weights")
        return self._params.copy()

    @property
    def flat_weights(self):
        """The vector that holds every weight, live (each layer's ``W`` and ``b`` are
        views into it; the layout of :meth:`get_flat_weights`). Writing into it
        changes the model without the checks of :meth:`set_flat_weights`: for code
        that optimizes the weights in place, such as :class:`fastnn.MLPClassifier`.
        None until the model is built."""
        return self._params

    def set_flat_weights(self, weights):
        """Set every weight from one vector shaped like :meth:`get_flat_weights`."""
        self._require_built("set_flat_weights")
        weights = np.asarray(weights)
        if weights.shape != self._params.shape or weights.dtype.kind not in "iuf":
            raise ValueError(f"weights must be {self._params.size} real numbers, "
                             f"got shape {weights.shape}")
        if not np.isfinite(weights).all():
            raise ValueError("weights hold NaN or inf")
        self._params[...] = weights

    # --------------------------------------------------------------- the input

    def _check_x(self, x, name="x"):
        if not self.layers:
            raise ValueError("the model has no layers")
        if sp.issparse(x):
            x = check_sparse_x(self, x, name)
        # what check_array would return as it is skips its 0.1 ms
        elif not (self.built and is_clean_matrix(x, (self.dtype,))):
            x = check_array(
                x, dtype=self.dtype if self.built else list(FLOATS), order="C",
                input_name=name, estimator="Sequential",
            )
        if x.dtype not in FLOATS:
            x = x.astype(np.float32)
        if not self.built:
            self.build(x.shape[1], x.dtype)
        if x.shape[1] != self.input_dim:
            raise ValueError(
                f"{name} has {x.shape[1]} features, but the model expects "
                f"{self.input_dim}"
            )
        return x

    def save(self, path):
        """Save the architecture (JSON), weights and optimizer state (npz) to ``path``;
        :func:`fastnn.load_model` reads it back without unpickling anything."""
        save_model(self, path)

    def __repr__(self):
        return f"Sequential({self.layers!r})"


# ------------------------------------------------------------------------ helpers


def _layer_params(layer, input_dim):
    if input_dim is None:
        return 0
    return sum(int(np.prod(shape)) for shape in layer.param_shapes(input_dim))


def _resized(slot, like):
    """A copy of the vector ``slot`` cut or grown with zeros to the size of ``like``."""
    resized = np.zeros_like(like)
    kept = min(slot.size, like.size)
    resized[:kept] = slot[:kept]
    return resized


def _count_params(model):
    total, width = 0, model.input_dim
    for layer in model.layers:
        total += _layer_params(layer, width)
        width = layer.output_dim(width) if width else None
    return total
