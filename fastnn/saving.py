"""Save and load a ``Sequential`` model safely: JSON for the architecture, npz for the
arrays, nothing pickled.

The file is one uncompressed npz archive. Its member ``architecture`` holds the UTF-8
JSON of the layers, the dtype, the input width and the compile settings;
``weight_<i>`` hold the weights in :meth:`Sequential.get_weights` order and
``optimizer_<i>`` the optimizer's state. :func:`load_model` reads it with
``allow_pickle=False``, accepts only the layer, loss and optimizer names fastnn
defines, checks every shape and dtype against the architecture before it builds
anything, and refuses a file whose declared sizes exceed what it holds. Anything
truncated, tampered with or foreign raises ``ValueError``; loading never runs code.
"""

import inspect
import json
import math
import os
import tempfile
import warnings
import zipfile

import numpy as np

from fastnn import losses, metrics, optimizers
from fastnn.layers import Activation, Dense, Dropout, Maxout
from fastnn.models import Sequential

__all__ = ["save_model", "load_model"]

FORMAT, VERSION = "fastnn.Sequential", 1
_LAYERS = {cls.__name__: cls for cls in (Dense, Activation, Dropout, Maxout)}
_OPTIMIZERS = {cls.__name__: cls for cls in (optimizers.SGD, optimizers.Adam)}
_MAX_ARCHITECTURE_BYTES = 1 << 20
_MAX_LAYERS = 10_000
_KEYS = {"format", "version", "name", "dtype", "input_dim", "layers", "compile"}


def save_model(model, path):
    """Write ``model`` to ``path`` (a file name or path-like); replaces it atomically."""
    model._require_built("save")
    compiled = None
    if model.loss is not None:
        names = []
        for name, function in model.metrics:
            if name == "accuracy":
                names.append(name)
            else:
                warnings.warn(
                    f"metric {name!r} is a Python function and is not saved; "
                    "pass it again to compile after loading",
                    UserWarning, stacklevel=3,
                )
        iterations, slots = model.optimizer.get_state()
        compiled = {
            "loss": model.loss.name,
            "optimizer": {
                "class_name": type(model.optimizer).__name__,
                "config": model.optimizer.get_config(),
                "iterations": iterations,
            },
            "metrics": names,
        }
    else:
        slots = []
    architecture = {
        "format": FORMAT,
        "version": VERSION,
        "name": model.name,
        "dtype": model.dtype.name,
        "input_dim": model.input_dim,
        "layers": [
            {"class_name": type(layer).__name__, "config": layer.get_config()}
            for layer in model.layers
        ],
        "compile": compiled,
    }
    arrays = {"architecture": np.frombuffer(json.dumps(architecture).encode(), np.uint8)}
    arrays.update((f"weight_{i}", w) for i, w in enumerate(model.get_weights()))
    arrays.update((f"optimizer_{i}", s) for i, s in enumerate(slots))
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays)  # a file object: numpy adds no ".npz" suffix
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def load_model(path):
    """Read a model written by :meth:`Sequential.save`; ``ValueError`` if ``path`` is
    not an intact fastnn model file (a missing file raises ``FileNotFoundError``)."""
    path = os.fspath(path)
    size = os.path.getsize(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ValueError("it is a single .npy array, not a model archive")
            return _read(archive, size)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, TypeError, KeyError, EOFError, zipfile.BadZipFile,
            UnicodeDecodeError, RecursionError) as error:
        raise ValueError(f"{path} is not a valid fastnn model file: {error}") from None
    except AttributeError as error:  # np.load of a non-npz, non-npy, non-pickle file
        raise ValueError(f"{path} is not a valid fastnn model file: {error}") from None


def _member(archive, name, limit):
    """The array ``name``: stored uncompressed, its header read and its declared size
    checked against the member's real size before a byte of data is allocated."""
    info = archive.zip.getinfo(name + ".npy")
    if info.compress_type != zipfile.ZIP_STORED or info.file_size > limit:
        raise ValueError(f"member {name} is compressed or larger than the file")
    with archive.zip.open(info) as file:
        version = np.lib.format.read_magic(file)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(file)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(file)
        else:
            raise ValueError(f"member {name} has .npy version {version}")
        if dtype.hasobject or dtype.kind not in "uif":
            raise ValueError(f"member {name} has dtype {dtype}, not numbers")
        n_bytes = dtype.itemsize * math.prod(shape)
        if n_bytes > info.file_size:
            raise ValueError(f"member {name} declares {shape} but holds {info.file_size} bytes")
        data = file.read(n_bytes)
    if len(data) != n_bytes:
        raise ValueError(f"member {name} is truncated")
    return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran_order else "C")


def _read(archive, size):
    names = set(archive.files)
    if "architecture" not in names:
        raise ValueError("no architecture member")
    raw = _member(archive, "architecture", min(size, _MAX_ARCHITECTURE_BYTES))
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ValueError("the architecture member is not JSON bytes")
    spec = json.loads(raw.tobytes().decode("utf-8"))
    if not isinstance(spec, dict) or set(spec) != _KEYS:
        raise ValueError("the architecture has unexpected keys")
    if spec["format"] != FORMAT or spec["version"] != VERSION:
        raise ValueError(f"format {spec['format']!r} version {spec['version']!r} is not "
                         f"{FORMAT!r} version {VERSION}")
    if spec["dtype"] not in ("float32", "float64"):
        raise ValueError(f"dtype {spec['dtype']!r} is not float32 or float64")
    dtype = np.dtype(spec["dtype"])
    input_dim = spec["input_dim"]
    if type(input_dim) is not int or input_dim < 1:
        raise ValueError(f"input_dim {input_dim!r} is not a positive int")
    if not isinstance(spec["name"], str):
        raise ValueError("the model name is not a string")
    layer_specs = spec["layers"]
    if not isinstance(layer_specs, list) or not 0 < len(layer_specs) <= _MAX_LAYERS:
        raise ValueError("layers must be a non-empty list")
    model = Sequential([_layer(entry) for entry in layer_specs], name=spec["name"])

    # Every declared weight must fit in the file before anything is allocated.
    shapes, width = [], input_dim
    for layer in model.layers:
        if layer.input_dim is not None and layer.input_dim != width:
            raise ValueError(f"layer {layer.name} declares input_dim {layer.input_dim}, "
                             f"but receives width {width}")
        shapes += layer.param_shapes(width)
        width = layer.output_dim(width)
    n_bytes = sum(int(np.prod(shape, dtype=np.float64)) for shape in shapes) * dtype.itemsize
    if n_bytes > size:
        raise ValueError(f"the architecture declares {n_bytes} bytes of weights, "
                         f"but the file has {size}")
    weights = [_array(archive, f"weight_{i}", shape, dtype, size)
               for i, shape in enumerate(shapes)]
    model.build(input_dim, dtype)
    model.set_weights(weights)

    expected = {"architecture"} | {f"weight_{i}" for i in range(len(shapes))}
    if spec["compile"] is not None:
        n_slots = _compile(model, spec["compile"])
        slot_names = [f"optimizer_{i}" for i in range(n_slots)]
        present = [name for name in slot_names if name in names]
        iterations = spec["compile"]["optimizer"]["iterations"]
        if len(present) != n_slots and (present or iterations):
            raise ValueError("the optimizer state is incomplete")
        slots = [_array(archive, name, model._params.shape, dtype, size) for name in present]
        model.optimizer.set_state(iterations, slots, [model._params])
        expected |= set(present)
    unknown = names - expected
    if unknown:
        raise ValueError(f"unexpected members {sorted(unknown)}")
    return model


def _array(archive, name, shape, dtype, size):
    if name not in archive.files:
        raise ValueError(f"member {name} is missing")
    array = _member(archive, name, size)
    if array.shape != tuple(shape) or array.dtype != dtype:
        raise ValueError(f"member {name} is {array.dtype} {array.shape}, "
                         f"expected {dtype} {tuple(shape)}")
    if not np.isfinite(array).all():
        raise ValueError(f"member {name} holds NaN or inf")
    return array


def _scalar_config(config, allowed, what):
    if not isinstance(config, dict):
        raise ValueError(f"{what} config is not an object")
    unknown = set(config) - allowed
    if unknown:
        raise ValueError(f"{what} config has unknown keys {sorted(unknown)}")
    for key, value in config.items():
        if not (value is None or isinstance(value, (str, int, float, bool))):
            raise ValueError(f"{what} config value {key!r} is not a scalar")
    return config


def _parameters(cls):
    return set(inspect.signature(cls.__init__).parameters) - {"self"}


def _layer(entry):
    if not isinstance(entry, dict) or set(entry) != {"class_name", "config"}:
        raise ValueError("a layer entry must hold class_name and config")
    cls = _LAYERS.get(entry["class_name"])
    if cls is None:
        raise ValueError(f"unknown layer {entry['class_name']!r}; "
                         f"fastnn models hold {', '.join(_LAYERS)}")
    config = _scalar_config(entry["config"], _parameters(cls) - {"init"}, cls.__name__)
    return cls(**config)


def _compile(model, spec):
    """Compile ``model`` from the saved settings; returns the optimizer's slot count."""
    if not isinstance(spec, dict) or set(spec) != {"loss", "optimizer", "metrics"}:
        raise ValueError("the compile settings have unexpected keys")
    optimizer = spec["optimizer"]
    if not isinstance(optimizer, dict) or set(optimizer) != {"class_name", "config",
                                                             "iterations"}:
        raise ValueError("the optimizer settings have unexpected keys")
    cls = _OPTIMIZERS.get(optimizer["class_name"])
    if cls is None:
        raise ValueError(f"unknown optimizer {optimizer['class_name']!r}")
    config = _scalar_config(optimizer["config"], _parameters(cls) - {"lr"}, cls.__name__)
    if spec["loss"] not in losses.NAMES:
        raise ValueError(f"unknown loss {spec['loss']!r}")
    if not isinstance(spec["metrics"], list) or not all(
        isinstance(name, str) for name in spec["metrics"]
    ):
        raise ValueError("metrics must be a list of names")
    for name in spec["metrics"]:
        metrics.get(name)  # only names fastnn defines
    model.compile(cls(**config), spec["loss"], spec["metrics"])
    return model.optimizer.n_slots
