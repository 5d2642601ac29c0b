"""Safe files for fitted scikit-learn estimators: the generic part.

The file is the npz container of :mod:`fastnn.saving`. Its member ``estimator`` holds
JSON: ``{"format", "version", "estimator": node}``, a node being
``{"class_name", "params", "fitted"}``. ``params`` are ``get_params(deep=False)``
(a tuple is ``{"tuple": [...]}``, a dict ``{"dict": [[key, value], ...]}``, a
template estimator ``{"estimator": {"class_name", "params"}}``); ``fitted`` holds
the fitted attributes, each array as the name of an ``array_<i>`` member (numbers,
or NumPy unicode for string labels and feature names: never objects).

Here: the node, the parameters (checked by the estimator's own
``_validate_params``) and the attributes every classifier has (``n_features_in_``,
``feature_names_in_``, ``classes_``). The rest of ``fitted`` belongs to the class:
``__fastnn_save__(writer)`` returns it, ``__fastnn_load__(fitted, reader)`` checks
and restores it; ``from_config(params)`` makes the estimator of checked
parameters. Only classes registered as ``"estimator"`` are read or written.
"""

import warnings

import numpy as np
from sklearn.utils.validation import check_is_fitted

from fastnn.saving import registry
from fastnn.saving.container import (
    Writer,
    check_int,
    check_keys,
    json_array,
    parameters,
)

__all__ = [
    "estimator_arrays",
    "read_classifier",
    "read_estimator",
    "read_node",
    "write_classifier",
    "write_node",
]

FORMAT, VERSION = "fastnn.estimator", 1
_SCALARS = (type(None), bool, int, float, str)
_LABEL_KINDS = "biufU"  # classes_ may be bools, numbers or strings


def estimator_arrays(estimator):
    """The members (name -> array) of the file of a fitted ``estimator``."""
    writer = Writer()
    spec = {"format": FORMAT, "version": VERSION,
            "estimator": write_node(estimator, writer)}
    return {"estimator": json_array(spec, "the estimator spec"), **writer.arrays}


def read_estimator(reader):
    """The estimator stored in the archive of ``reader``."""
    spec = reader.json("estimator")
    check_keys(spec, {"format", "version", "estimator"}, "the estimator spec")
    if spec["format"] != FORMAT or spec["version"] != VERSION:
        raise ValueError(f"format {spec['format']!r} version {spec['version']!r} is "
                         f"not {FORMAT!r} version {VERSION}")
    return read_node(spec["estimator"], reader)


# ------------------------------------------------------------------------ writing

def write_node(estimator, writer):
    cls = type(estimator)
    if registry.get("estimator", cls.__name__) is not cls:
        raise TypeError(
            f"save_model saves a fastnn Sequential, LogisticRegression, "
            f"OneVsAllClassifier or MLPClassifier, not {cls.__name__}"
        )
    check_is_fitted(estimator)
    return {"class_name": cls.__name__, "params": _write_params(estimator),
            "fitted": estimator.__fastnn_save__(writer)}


def _later_params(cls):
    """The parameters ``cls`` gained after the first version of the format
    (``cls.__fastnn_later_params__``, name -> default): written only when not at their
    default, so a file that uses none of them reads in the fastnn of before; a file
    without them reads as their defaults."""
    return getattr(cls, "__fastnn_later_params__", {})


def _write_params(estimator):
    later = _later_params(type(estimator))
    return {name: _write_param(estimator, name, value)
            for name, value in estimator.get_params(deep=False).items()
            if name not in later or not _is_default(value, later[name])}


def _is_default(value, default):
    return type(value) is type(default) and value == default


def _write_param(estimator, name, value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, _SCALARS):
        return value
    if name == "random_state" and isinstance(value, np.random.RandomState):
        warnings.warn(
            f"{type(estimator).__name__}'s random_state is a RandomState instance; "
            "it is saved as None (an int seed is saved as is)",
            UserWarning, stacklevel=5,
        )
        return None
    if isinstance(value, (tuple, list, np.ndarray)):
        items = [item.item() if isinstance(item, np.generic) else item for item in value]
        if all(isinstance(item, _SCALARS) for item in items):
            return {"tuple": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        items = [[key.item() if isinstance(key, np.generic) else key,
                  item.item() if isinstance(item, np.generic) else item]
                 for key, item in value.items()]
        if all(isinstance(key, _SCALARS) and isinstance(item, _SCALARS)
               for key, item in items):
            return {"dict": items}
    if registry.get("template", type(value).__name__) is type(value):
        return {"estimator": {"class_name": type(value).__name__,
                              "params": _write_params(value)}}
    raise ValueError(
        f"{type(estimator).__name__}'s {name}={value!r} cannot be saved safely: "
        f"fastnn's files hold numbers, strings and fastnn's {_templates()}"
    )


def _templates():
    return " or ".join(registry.names("template"))


def write_classifier(estimator, writer):
    """The fitted attributes every classifier has."""
    names = estimator.__dict__.get("feature_names_in_")
    return {"n_features_in_": int(estimator.n_features_in_),
            "feature_names_in_": None if names is None else writer.add(names),
            "classes_": writer.add(estimator.classes_)}


# ------------------------------------------------------------------------ reading

def read_node(spec, reader, classes=None):
    """The estimator of node ``spec``: of a registered class (of ``classes``, a dict
    name -> class, when given)."""
    check_keys(spec, {"class_name", "params", "fitted"}, "an estimator entry")
    name = spec["class_name"]
    if classes is None:
        cls = registry.get("estimator", name)
        known = registry.names("estimator")
    else:
        cls = classes.get(name) if isinstance(name, str) else None
        known = list(classes)
    if cls is None:
        raise ValueError(f"unknown estimator {name!r}; fastnn saves {', '.join(known)}")
    estimator = _read_params(cls, spec["params"])
    estimator.__fastnn_load__(spec["fitted"], reader)
    return estimator


def _read_params(cls, spec):
    later = _later_params(cls)
    check_keys(spec, set(parameters(cls)) - set(later), f"{cls.__name__}'s params",
               optional=later)
    return cls.from_config({name: _read_param(value) for name, value in spec.items()})


def _read_param(value):
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list) and all(isinstance(i, _SCALARS) for i in value):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (kind, content), = value.items()
        if kind == "tuple" and isinstance(content, list) and all(
            isinstance(item, _SCALARS) for item in content
        ):
            return tuple(content)
        if kind == "dict" and isinstance(content, list) and all(
            isinstance(pair, list) and len(pair) == 2
            and all(isinstance(item, _SCALARS) for item in pair) for pair in content
        ):
            return dict(content)
        if kind == "estimator":
            check_keys(content, {"class_name", "params"}, "the one-vs-all template")
            cls = registry.get("template", content["class_name"])
            if cls is None:
                raise ValueError(f"the one-vs-all template is not a {_templates()}")
            return _read_params(cls, content["params"])
    raise ValueError(f"parameter value {value!r} is not one fastnn saves")


def read_classifier(estimator, fitted, reader, keys, optional=()):
    """Check the key set of ``fitted`` (the classifier's attributes, ``keys`` and
    perhaps ``optional``) and restore the attributes every classifier has; returns
    ``(n_features, classes)``."""
    check_keys(fitted, {"n_features_in_", "feature_names_in_", "classes_", *keys},
               f"{type(estimator).__name__}'s fitted attributes", optional)
    n_features = check_int(fitted["n_features_in_"], "n_features_in_", 1)
    estimator.n_features_in_ = n_features
    if fitted["feature_names_in_"] is not None:
        names = reader.array(fitted["feature_names_in_"], "feature_names_in_", "U")
        if names.shape != (n_features,):
            raise ValueError("feature_names_in_ does not have n_features_in_ names")
        estimator.feature_names_in_ = names.astype(object)  # as scikit-learn has it
    classes = reader.array(fitted["classes_"], "classes_", _LABEL_KINDS)
    if classes.size == 0 or not np.array_equal(np.unique(classes), classes):
        raise ValueError("classes_ is not a sorted list of distinct labels")
    estimator.classes_ = classes.copy()
    return n_features, classes
