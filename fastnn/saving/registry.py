"""The classes fastnn's files may hold, by kind and name, as Keras'
``object_registration``: each class registers itself where it is defined
(``@register("layer")``) and :mod:`fastnn.saving` finds it by the name in the file.
Only registered names are ever instantiated from a file.

Kinds: ``"model"`` (Sequential), ``"layer"``, ``"optimizer"``, ``"estimator"``.
Imports nothing.
"""

__all__ = ["get", "names", "register"]

_CLASSES = {}  # kind -> {name: class}, in registration order


def register(kind, name=None):
    """A class decorator: record the class under ``kind`` and ``name`` (its own name
    by default)."""

    def decorate(cls):
        _CLASSES.setdefault(kind, {})[name or cls.__name__] = cls
        return cls

    return decorate


def get(kind, name):
    """The class registered as ``name`` of ``kind``, or None (also for a name that is
    not a string)."""
    if not isinstance(name, str):
        return None
    return _CLASSES.get(kind, {}).get(name)


def names(kind):
    """The names registered for ``kind``, in the order they were registered."""
    return list(_CLASSES.get(kind, {}))
