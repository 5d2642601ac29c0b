"""Save and load a ``Sequential`` model or a fitted estimator safely: JSON for the
architecture, npz for the arrays, nothing pickled.

The file is one uncompressed npz archive. Its member ``architecture`` holds the UTF-8
JSON of the layers, the dtype, the input width and the compile settings;
``weight_<i>`` hold the weights in :meth:`Sequential.get_weights` order and
``optimizer_<i>`` the optimizer's state. :func:`load_model` reads it with
``allow_pickle=False``, accepts only the layer, loss and optimizer names fastnn
defines, checks every shape and dtype against the architecture before it builds
anything, and refuses a file whose declared sizes exceed what it holds. Anything
truncated, tampered with or foreign raises ``ValueError``; loading never runs code.

A fitted estimator is stored the same way with an ``estimator`` member in place of
``architecture`` (see :mod:`fastnn._saving_estimators`). Either kind may carry a
``metadata`` member: a JSON object given to :func:`save_model` and returned by
:func:`read_metadata` (the command line keeps the feature names there).
"""

import os
import tokenize
import warnings
import zipfile

import numpy as np

from fastnn import losses, metrics, optimizers
from fastnn._safe_files import (
    json_array,
    json_member,
    member,
    parameters,
    scalar_config,
    write_atomically,
)
from fastnn._saving_estimators import estimator_arrays, read_estimator
from fastnn.layers import Activation, Dense, Dropout, Maxout
from fastnn.models import Sequential

__all__ = ["save_model", "load_model", "read_metadata"]

FORMAT, VERSION = "fastnn.Sequential", 1
_LAYERS = {cls.__name__: cls for cls in (Dense, Activation, Dropout, Maxout)}
_OPTIMIZERS = {cls.__name__: cls for cls in (optimizers.SGD, optimizers.Adam)}
_MAX_LAYERS = 10_000
_KEYS = {"format", "version", "name", "dtype", "input_dim", "layers", "compile"}


def save_model(model, path, metadata=None):
    """Write ``model`` to ``path`` (a file name or path-like); replaces it atomically.

    ``model`` is a built :class:`Sequential` or a fitted fastnn estimator
    (``LogisticRegression``, ``OneVsAllClassifier`` of fastnn ``LogisticRegression``,
    ``MLPClassifier``). ``metadata``, a JSON-serializable dict (for instance the
    feature names the model was trained on), is stored beside it and returned by
    :func:`read_metadata`; tuples in it come back as lists.
    """
    if isinstance(model, Sequential):
        arrays = _sequential_arrays(model)
    else:
        arrays = estimator_arrays(model)
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict, not {type(metadata).__name__}")
        arrays["metadata"] = json_array(metadata, "metadata")
    write_atomically(path, arrays)


def load_model(path):
    """Read a model written by :func:`save_model` or :meth:`Sequential.save`: a
    ``Sequential`` or a fitted estimator. ``ValueError`` if ``path`` is not an intact
    fastnn model file (a missing file raises ``FileNotFoundError``)."""
    return _open(path, _read_model)


def read_metadata(path):
    """The ``metadata`` dict saved with the model at ``path`` (``{}`` if none was);
    ``ValueError`` if ``path`` is not a fastnn model file."""
    return _open(path, _read_metadata)


def _sequential_arrays(model):
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
                    UserWarning, stacklevel=4,
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
    arrays = {"architecture": json_array(architecture, "the architecture")}
    arrays.update((f"weight_{i}", w) for i, w in enumerate(model.get_weights()))
    arrays.update((f"optimizer_{i}", s) for i, s in enumerate(slots))
    return arrays


def _open(path, read):
    path = os.fspath(path)
    size = os.path.getsize(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ValueError("it is a single .npy array, not a model archive")
            return read(archive, size)
    except FileNotFoundError:
        raise
    # NOTE: NotImplementedError is zipfile's "unsupported zip version or compression";
    # TokenError and SyntaxError come out of NumPy's .npy header parser for some
    # damaged headers (SyntaxError from a descr such as ',f4').
    except (OSError, ValueError, TypeError, KeyError, EOFError, OverflowError,
            zipfile.BadZipFile, UnicodeDecodeError, RecursionError, NotImplementedError,
            tokenize.TokenError, SyntaxError) as error:
        raise ValueError(f"{path} is not a valid fastnn model file: {error}") from None
    except AttributeError as error:  # np.load of a non-npz, non-npy, non-pickle file
        raise ValueError(f"{path} is not a valid fastnn model file: {error}") from None


def _read_model(archive, size):
    names = set(archive.files)
    _read_metadata(archive, size)  # a damaged metadata member is a damaged file
    if "architecture" in names:
        model, used = _read(archive, size)
    else:
        model, used = read_estimator(archive, size)
    unknown = names - used - {"metadata"}
    if unknown:
        raise ValueError(f"unexpected members {sorted(unknown)}")
    return model


def _read_metadata(archive, size):
    names = set(archive.files)
    if "architecture" not in names and "estimator" not in names:
        raise ValueError("no architecture member (nor estimator member)")
    if "metadata" not in names:
        return {}
    metadata = json_member(archive, "metadata", size)
    if not isinstance(metadata, dict):
        raise ValueError("the metadata member is not a JSON object")
    return metadata


def _read(archive, size):
    names = set(archive.files)
    spec = json_member(archive, "architecture", size)
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
    return model, expected


def _array(archive, name, shape, dtype, size):
    if name not in archive.files:
        raise ValueError(f"member {name} is missing")
    array = member(archive, name, size)
    if array.shape != tuple(shape) or array.dtype != dtype:
        raise ValueError(f"member {name} is {array.dtype} {array.shape}, "
                         f"expected {dtype} {tuple(shape)}")
    if not np.isfinite(array).all():
        raise ValueError(f"member {name} holds NaN or inf")
    return array


def _layer(entry):
    if not isinstance(entry, dict) or set(entry) != {"class_name", "config"}:
        raise ValueError("a layer entry must hold class_name and config")
    cls = _LAYERS.get(entry["class_name"])
    if cls is None:
        raise ValueError(f"unknown layer {entry['class_name']!r}; "
                         f"fastnn models hold {', '.join(_LAYERS)}")
    config = scalar_config(entry["config"], parameters(cls) - {"init"}, cls.__name__)
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
    config = scalar_config(optimizer["config"], parameters(cls) - {"lr"}, cls.__name__)
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
