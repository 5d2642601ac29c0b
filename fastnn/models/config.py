"""Sequential's config, as Keras': :meth:`ModelConfig.get_config` gives the
architecture as a JSON-able dict, :meth:`ModelConfig.from_config` a new model of it.
Each layer is an entry of :func:`fastnn.nn.layers.serialize`, found again by name in
the registry (:func:`fastnn.nn.layers.deserialize`): a config never runs code.
"""

import numpy as np

from fastnn.nn.layers import deserialize, serialize

__all__ = ["ModelConfig"]

_KEYS = ("name", "seed", "input_dim", "dtype", "layers")


class ModelConfig:
    """Mixin of :class:`fastnn.Sequential`: its config (no weights, no compile
    settings: those are :meth:`save`'s and :meth:`get_weights`')."""

    def get_config(self):
        """The architecture as a JSON-able dict, as Keras' ``Sequential.get_config``:
        ``name``, ``layers`` (each ``{'class_name', 'config'}``), and fastnn's
        ``seed``, ``input_dim`` (None until known) and ``dtype`` (None until built;
        Keras' ``build_input_shape`` says the same). A TypeError if the model's seed
        is not an int (a Generator has no config).

        Examples
        --------
        >>> from fastnn import Sequential
        >>> from fastnn.layers import Dense
        >>> model = Sequential([Dense(2, "softmax", input_dim=3, name="out")], seed=0)
        >>> config = model.get_config()
        >>> config["layers"][0]["class_name"], config["input_dim"], config["dtype"]
        ('Dense', 3, None)
        >>> Sequential.from_config(config).get_config() == config
        True
        """
        seed = self.seed
        if isinstance(seed, np.integer):
            seed = int(seed)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"get_config: the model's seed is a {type(seed).__name__}; "
                            "a config holds an int seed or None")
        return {
            "name": self.name,
            "seed": seed,
            "input_dim": self.input_dim,
            "dtype": None if self.dtype is None else self.dtype.name,
            "layers": [serialize(layer) for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config):
        """A new model of ``config`` (as :meth:`get_config` gives it), as Keras'
        ``Sequential.from_config``: new layers, unbuilt, or built with fresh initial
        weights when the config is of a built model (``dtype`` set); the same seed
        draws the same initial weights. Not compiled.

        Everything is checked before a model is made: a config that is not a dict,
        has unknown keys, names a layer fastnn does not define or gives one an
        unknown argument raises a ValueError; only registered layer classes are
        ever instantiated, with JSON scalars.
        """
        if not isinstance(config, dict):
            raise ValueError(f"a Sequential config is a dict, got {type(config).__name__}")
        unknown = set(config) - set(_KEYS)
        if unknown:
            raise ValueError(f"the config has unknown keys {sorted(unknown)}; a "
                             f"Sequential config holds {', '.join(_KEYS)}")
        if not isinstance(config.get("layers"), list):
            raise ValueError("the config needs 'layers', a list of layer entries")
        name = config.get("name", "sequential")
        seed, input_dim = config.get("seed"), config.get("input_dim")
        dtype = config.get("dtype")
        if not isinstance(name, str):
            raise ValueError(f"the config's name must be a str, got {name!r}")
        for key, value, low in (("seed", seed, 0), ("input_dim", input_dim, 1)):
            if value is not None and (type(value) is not int or value < low):
                raise ValueError(f"the config's {key} must be None or an int >= {low}, "
                                 f"got {value!r}")
        if dtype is not None and not (isinstance(dtype, str)
                                      and dtype in ("float32", "float64")):
            raise ValueError(f"the config's dtype must be None, 'float32' or "
                             f"'float64', got {dtype!r}")
        layers = []
        for index, entry in enumerate(config["layers"]):
            try:
                layers.append(deserialize(entry))
            except ValueError as error:
                raise ValueError(f"layer {index} of the config: {error}") from None
        model = cls(layers, seed=seed, name=name)
        if dtype is not None:
            model.build(input_dim, dtype)
        elif input_dim is not None and input_dim != model.input_dim:
            raise ValueError(f"the config's input_dim {input_dim} is not its first "
                             f"layer's ({model.input_dim})")
        return model
