"""Sequential's saved state: what :func:`fastnn.saving.save_model` writes for a model and
how a new, empty model becomes the saved one again (every value of the untrusted file
checked first). Sequential inherits it, so the model owns its state and
:mod:`fastnn.saving` imports no model.
"""

import warnings

import numpy as np

from fastnn import metrics as metrics_module
from fastnn.nn import losses as losses_module
from fastnn.nn import optimizers as optimizers_module
from fastnn.nn.layers import deserialize, serialize
from fastnn.saving.container import generator
from fastnn.saving.weights import read_weights, write_weights

__all__ = ["SavedState"]


class SavedState:
    """Mixin of :class:`fastnn.models.Sequential`: its saved state (owned here, read and
    written by :mod:`fastnn.saving`)."""

    _SAVED_FORMAT, _SAVED_VERSION = "fastnn.Sequential", 1
    _SAVED_KEYS = {"format", "version", "name", "dtype", "input_dim", "layers", "compile"}
    _MAX_SAVED_LAYERS = 10_000

    def __fastnn_save__(self, writer):
        """The architecture (JSON) of this built model; adds its weights as members
        ``weight_<i>`` and its optimizer's state as ``optimizer_<i>`` to ``writer``."""
        self._require_built("save")
        compiled, slots = None, []
        if self.loss is not None:
            names = []
            for name, function in self.metrics:
                if name == "accuracy":
                    names.append(name)
                else:
                    warnings.warn(
                        f"metric {name!r} is a Python function and is not saved; "
                        "pass it again to compile after loading",
                        UserWarning, stacklevel=4,
                    )
            iterations, slots = self.optimizer.get_state()
            compiled = {
                "loss": self.loss.name,
                "optimizer": {
                    "class_name": type(self.optimizer).__name__,
                    "config": self.optimizer.get_config(),
                    "iterations": iterations,
                },
                "metrics": names,
            }
        for i, weight in enumerate(self.get_weights()):
            writer.add(weight, f"weight_{i}")
        for i, slot in enumerate(slots):
            writer.add(slot, f"optimizer_{i}")
        return {
            "format": self._SAVED_FORMAT,
            "version": self._SAVED_VERSION,
            "name": self.name,
            "dtype": self.dtype.name,
            "input_dim": self.input_dim,
            "layers": [serialize(layer) for layer in self.layers],
            "compile": compiled,
        }

    def __fastnn_load__(self, spec, reader):
        """Make this new, empty model the one of the saved architecture ``spec``,
        with the weights and optimizer state ``reader`` holds; every value and shape
        is checked (a ValueError) before anything is allocated."""
        if not isinstance(spec, dict) or set(spec) != self._SAVED_KEYS:
            raise ValueError("the architecture has unexpected keys")
        if spec["format"] != self._SAVED_FORMAT or spec["version"] != self._SAVED_VERSION:
            raise ValueError(f"format {spec['format']!r} version {spec['version']!r} is "
                             f"not {self._SAVED_FORMAT!r} version {self._SAVED_VERSION}")
        if spec["dtype"] not in ("float32", "float64"):
            raise ValueError(f"dtype {spec['dtype']!r} is not float32 or float64")
        dtype = np.dtype(spec["dtype"])
        input_dim = spec["input_dim"]
        if type(input_dim) is not int or input_dim < 1:
            raise ValueError(f"input_dim {input_dim!r} is not a positive int")
        if not isinstance(spec["name"], str):
            raise ValueError("the model name is not a string")
        layer_specs = spec["layers"]
        if not isinstance(layer_specs, list) or not (
            0 < len(layer_specs) <= self._MAX_SAVED_LAYERS
        ):
            raise ValueError("layers must be a non-empty list")
        self.name = spec["name"]
        for entry in layer_specs:
            self.add(deserialize(entry))

        # Every declared weight must fit in the file before anything is allocated.
        shapes, width = [], input_dim
        for layer in self.layers:
            if layer.input_dim is not None and layer.input_dim != width:
                raise ValueError(f"layer {layer.name} declares input_dim "
                                 f"{layer.input_dim}, but receives width {width}")
            shapes += layer.param_shapes(width)
            width = layer.output_dim(width)
        n_bytes = sum(int(np.prod(shape, dtype=np.float64)) for shape in shapes)
        if n_bytes * dtype.itemsize > reader.size:
            raise ValueError(f"the architecture declares {n_bytes * dtype.itemsize} "
                             f"bytes of weights, but the file has {reader.size}")
        weights = [reader.fixed(f"weight_{i}", shape, dtype)
                   for i, shape in enumerate(shapes)]
        self.build(input_dim, dtype)
        self.set_weights(weights)
        if spec["compile"] is not None:
            self._load_compiled(spec["compile"], reader)

    def _load_compiled(self, spec, reader):
        """Compile from the saved settings and restore the optimizer's state."""
        if not isinstance(spec, dict) or set(spec) != {"loss", "optimizer", "metrics"}:
            raise ValueError("the compile settings have unexpected keys")
        saved = spec["optimizer"]
        if not isinstance(saved, dict) or set(saved) != {"class_name", "config",
                                                         "iterations"}:
            raise ValueError("the optimizer settings have unexpected keys")
        optimizer = optimizers_module.Optimizer.deserialize(saved["class_name"],
                                                            saved["config"])
        if spec["loss"] not in losses_module.NAMES:
            raise ValueError(f"unknown loss {spec['loss']!r}")
        if not isinstance(spec["metrics"], list) or not all(
            isinstance(name, str) for name in spec["metrics"]
        ):
            raise ValueError("metrics must be a list of names")
        for name in spec["metrics"]:
            metrics_module.get(name)  # only names fastnn defines
        names = [f"optimizer_{i}" for i in range(optimizer.n_slots)]
        present = [name for name in names if name in reader.names]
        if len(present) != len(names) and (present or saved["iterations"]):
            raise ValueError("the optimizer state is incomplete")
        slots = [reader.fixed(name, self._params.shape, self.dtype) for name in present]
        self.restore_optimizer(optimizer, spec["loss"], saved["iterations"], slots,
                               spec["metrics"])

    # ------------------------------------------------------------ weights alone

    _WEIGHTS_FORMAT, _WEIGHTS_VERSION = "fastnn.Sequential.weights", 1

    def save_weights(self, filepath, overwrite=True):
        """Write the weights alone to ``filepath`` (fastnn's safe format: an npz of
        plain arrays and JSON, whatever the extension), with the layout of the
        layers they belong to; :meth:`load_weights` reads them back into a model of
        the same architecture. The optimizer's state is not saved (as Keras 3).

        ``overwrite=False`` refuses an existing file with ``FileExistsError``
        (Keras asks on the terminal).

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from fastnn import Sequential
        >>> from fastnn.layers import Dense
        >>> path = os.path.join(tempfile.mkdtemp(), "model.weights.npz")
        >>> model = Sequential([Dense(3, "relu", input_dim=2), Dense(1)], seed=0)
        >>> _ = model.build()
        >>> model.save_weights(path)
        >>> copy = Sequential([Dense(3, "relu", input_dim=2), Dense(1)], seed=1)
        >>> copy.load_weights(path)
        >>> all((a == b).all() for a, b in zip(copy.get_weights(), model.get_weights()))
        True
        """
        self._require_built("save_weights")
        layout = {
            "format": self._WEIGHTS_FORMAT,
            "version": self._WEIGHTS_VERSION,
            "dtype": self.dtype.name,
            "input_dim": self.input_dim,
            "layers": [
                {"class_name": type(layer).__name__, "name": layer.name,
                 "n_weights": len(layer.params)}
                for layer in self.layers
            ],
        }
        write_weights(filepath, layout, self.get_weights(), overwrite)

    def load_weights(self, filepath):
        """Set the weights written by :meth:`save_weights` (or a
        :class:`fastnn.callbacks.ModelCheckpoint` with ``save_weights_only``).

        The file must hold the weights of this architecture: the same layers, of the
        same classes and in the same order, the same input width, shapes and dtype.
        Otherwise a ValueError names the first difference and the model is left
        untouched; a damaged file is a ValueError too. An unbuilt model is built for
        the file's input width and dtype.
        """
        layout, weights = read_weights(filepath)
        input_dim, dtype = self._check_weights_layout(layout, weights, filepath)
        if not self.built:
            self.build(input_dim, dtype)
        self.set_weights(weights)

    def _check_weights_layout(self, layout, weights, filepath):
        """The file's ``(input_dim, dtype)`` once its ``layout`` and ``weights`` fit
        this model; else the ValueError naming the first difference."""
        keys = {"format", "version", "dtype", "input_dim", "layers"}
        if (not isinstance(layout, dict) or set(layout) != keys
                or layout["format"] != self._WEIGHTS_FORMAT
                or layout["version"] != self._WEIGHTS_VERSION
                or layout["dtype"] not in ("float32", "float64")
                or type(layout["input_dim"]) is not int or layout["input_dim"] < 1
                or not isinstance(layout["layers"], list)):
            raise ValueError(f"{filepath} is not a valid fastnn weights file: its "
                             "layout is not a fastnn.Sequential's")
        entries = layout["layers"]
        if not all(isinstance(entry, dict)
                   and set(entry) == {"class_name", "name", "n_weights"}
                   and isinstance(entry["class_name"], str)
                   and isinstance(entry["name"], str)
                   and type(entry["n_weights"]) is int and entry["n_weights"] >= 0
                   for entry in entries) or (
                sum(entry["n_weights"] for entry in entries) != len(weights)):
            raise ValueError(f"{filepath} is not a valid fastnn weights file: its "
                             "layers do not match its arrays")
        dtype = np.dtype(layout["dtype"])
        if any(weight.dtype != dtype for weight in weights):
            raise ValueError(f"{filepath} is not a valid fastnn weights file: its "
                             f"arrays are not all {dtype}")

        def mismatch(reason):
            return ValueError(f"cannot load the weights of {filepath} into this "
                              f"model: {reason}; nothing was loaded")

        if len(entries) != len(self.layers):
            raise mismatch(f"the file holds the weights of {len(entries)} layers, the "
                           f"model has {len(self.layers)}")
        width = self.input_dim
        if width is not None and width != layout["input_dim"]:
            raise mismatch(f"the file's weights take inputs of width "
                           f"{layout['input_dim']}, the model {width}")
        if self.built and self.dtype != dtype:
            raise mismatch(f"the file's weights are {dtype}, the model is {self.dtype}")
        width, start = layout["input_dim"], 0
        for index, (layer, entry) in enumerate(zip(self.layers, entries)):
            where = f"layer {index} ({layer.name})"
            if type(layer).__name__ != entry["class_name"]:
                raise mismatch(f"{where} is a {type(layer).__name__}, the file's layer "
                               f"{index} ({entry['name']}) a {entry['class_name']}")
            shapes = layer.param_shapes(width)
            if len(shapes) != entry["n_weights"]:
                raise mismatch(f"{where} has {len(shapes)} weights, the file's "
                               f"{entry['n_weights']}")
            for number, shape in enumerate(shapes):
                found = weights[start + number].shape
                if found != tuple(shape):
                    raise mismatch(f"{where}'s weight {number} is {tuple(shape)}, the "
                                   f"file's is {found}")
            start += len(shapes)
            width = layer.output_dim(width)
        return layout["input_dim"], dtype

    def restore_optimizer(self, optimizer, loss, iterations, slots, metrics=None):
        """Compile with ``optimizer`` and give it back the state
        :meth:`fastnn.optimizers.Optimizer.get_state` had: ``iterations`` and its
        ``slots`` (each shaped like :meth:`get_flat_weights`)."""
        self.compile(optimizer, loss, metrics)
        self.optimizer.set_state(iterations, list(slots), [self._params])

    def get_random_state(self):
        """The states of the generators the model draws from (shuffling; each
        Dropout layer's masks), JSON-able: ``(state, [dropout states])``."""
        return self._rng.bit_generator.state, [
            layer.get_rng_state() for layer in self.layers
            if hasattr(layer, "get_rng_state")
        ]

    def set_random_state(self, state, dropout_states):
        """Restore :meth:`get_random_state`: the next shuffles and masks are those
        the saved model would have drawn."""
        dropouts = [layer for layer in self.layers if hasattr(layer, "set_rng_state")]
        if not isinstance(dropout_states, list) or len(dropout_states) != len(dropouts):
            raise ValueError("dropout_rngs does not hold one state per Dropout layer")
        self._rng = generator(state)
        for layer, layer_state in zip(dropouts, dropout_states):
            layer.set_rng_state(layer_state)
