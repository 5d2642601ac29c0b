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

:meth:`Sequential.save_weights` writes the weights alone, with the layout of the
layers they belong to (:mod:`fastnn.saving.weights`); ``load_weights`` refuses them
for a model of another architecture.

A fitted estimator is stored the same way with an ``estimator`` member in place of
``architecture`` (see :mod:`fastnn.saving.estimators`). Either kind may carry a
``metadata`` member: a JSON object given to :func:`save_model` and returned by
:func:`read_metadata` (the command line keeps the feature names there).

This package knows the container and the names, never the classes: each class
writes and reads its own state (``__fastnn_save__(writer)`` returns its JSON and adds
its arrays; ``__fastnn_load__(spec, reader)`` fills a new instance, checking what is
its own to check) and registers itself in :mod:`fastnn.saving.registry`.
"""

from fastnn.saving import registry
from fastnn.saving.container import (
    Reader,
    Writer,
    json_array,
    open_archive,
    write_atomically,
)
from fastnn.saving.estimators import estimator_arrays, read_estimator

__all__ = ["load_model", "read_metadata", "save_model"]


def save_model(model, path, metadata=None):
    """Write ``model`` to ``path`` (a file name or path-like); replaces it atomically.

    ``model`` is a built :class:`Sequential` or a fitted fastnn estimator
    (``LogisticRegression``, ``OneVsAllClassifier`` of fastnn ``LogisticRegression``,
    ``MLPClassifier``). ``metadata``, a JSON-serializable dict (for instance the
    feature names the model was trained on), is stored beside it and returned by
    :func:`read_metadata`; tuples in it come back as lists.
    """
    if registry.get("model", type(model).__name__) is type(model):
        writer = Writer()
        architecture = model.__fastnn_save__(writer)
        arrays = {"architecture": json_array(architecture, "the architecture"),
                  **writer.arrays}
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
    return open_archive(path, _read_model)


def read_metadata(path):
    """The ``metadata`` dict saved with the model at ``path`` (``{}`` if none was);
    ``ValueError`` if ``path`` is not a fastnn model file."""
    return open_archive(path, _read_metadata)


def _read_model(archive, size):
    names = set(archive.files)
    _read_metadata(archive, size)  # a damaged metadata member is a damaged file
    reader = Reader(archive, size)
    if "architecture" in names:
        spec = reader.json("architecture")
        # NOTE: the format is fastnn.Sequential's alone: a Sequential checks the rest
        model = registry.get("model", "Sequential")()
        model.__fastnn_load__(spec, reader)
    else:
        model = read_estimator(reader)
    unknown = names - reader.used - {"metadata"}
    if unknown:
        raise ValueError(f"unexpected members {sorted(unknown)}")
    return model


def _read_metadata(archive, size):
    names = set(archive.files)
    if "architecture" not in names and "estimator" not in names:
        if "weights" in names:
            raise ValueError("it holds weights alone (save_weights); load them into a "
                             "model of their architecture with model.load_weights")
        raise ValueError("no architecture member (nor estimator member)")
    if "metadata" not in names:
        return {}
    metadata = Reader(archive, size).json("metadata")
    if not isinstance(metadata, dict):
        raise ValueError("the metadata member is not a JSON object")
    return metadata
