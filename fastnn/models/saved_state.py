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
from fastnn.saving import registry
from fastnn.saving.container import generator

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
            "layers": [
                {"class_name": type(layer).__name__, "config": layer.get_config()}
                for layer in self.layers
            ],
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
            if not isinstance(entry, dict) or set(entry) != {"class_name", "config"}:
                raise ValueError("a layer entry must hold class_name and config")
            cls = registry.get("layer", entry["class_name"])
            if cls is None:
                raise ValueError(f"unknown layer {entry['class_name']!r}; fastnn models "
                                 f"hold {', '.join(registry.names('layer'))}")
            self.add(cls.from_config(entry["config"]))

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
