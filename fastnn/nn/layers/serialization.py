"""A layer as JSON and back, as Keras' ``layers.serialize`` / ``deserialize``:
``{"class_name": ..., "config": layer.get_config()}``, the entries of a model's
config (:meth:`fastnn.Sequential.get_config`)."""

from fastnn.saving import registry

__all__ = ["deserialize", "serialize"]


def serialize(layer):
    """``{"class_name", "config"}`` of ``layer``: JSON-able."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(entry):
    """A new layer of ``entry`` (as :func:`serialize` gives it, possibly untrusted):
    only a class registered as a layer, only its constructor's JSON scalars; anything
    else is a ValueError before any layer is made."""
    if not isinstance(entry, dict) or set(entry) != {"class_name", "config"}:
        raise ValueError("a layer entry must be a dict of class_name and config")
    cls = registry.get("layer", entry["class_name"])
    if cls is None:
        raise ValueError(f"unknown layer {entry['class_name']!r}; fastnn models "
                         f"hold {', '.join(registry.names('layer'))}")
    try:
        return cls.from_config(entry["config"])
    except TypeError as error:  # a missing argument or a value of the wrong type
        raise ValueError(f"{cls.__name__} config: {error}") from None
