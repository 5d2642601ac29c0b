"""Safe files for the fitted scikit-learn estimators: ``LogisticRegression``,
``OneVsAllClassifier`` (of fastnn ``LogisticRegression``) and ``MLPClassifier``.

The file is the npz container of :mod:`fastnn.saving`. Its member ``estimator`` holds
JSON: ``{"format", "version", "estimator": node}``, a node being
``{"class_name", "params", "fitted"}``. ``params`` are ``get_params(deep=False)``
(a tuple is ``{"tuple": [...]}``, a dict ``{"dict": [[key, value], ...]}``, the
one-vs-all template ``{"estimator": {"class_name", "params"}}``); ``fitted`` holds
the fitted attributes, each array as the name of an ``array_<i>`` member (numbers,
or NumPy unicode for string labels and feature names: never objects).

Reading accepts only these three classes and, for each, only its own parameter
names and fitted attributes; every array's kind, shape and dtype is checked against
the others, the network's size against the file before it is built, and the
parameters through the estimator's own ``_validate_params``.
"""

import warnings
from itertools import pairwise

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.validation import check_is_fitted

from fastnn import optimizers
from fastnn._safe_files import (
    json_array,
    json_member,
    member,
    parameters,
    scalar_config,
)
from fastnn.estimators import LogisticRegression, MLPClassifier, OneVsAllClassifier
from fastnn.estimators._mlp import _HIDDEN, _MAXOUT_PIECES, _loss_for, _network
from fastnn.layers import Dropout

__all__ = ["estimator_arrays", "read_estimator"]

FORMAT, VERSION = "fastnn.estimator", 1
_CLASSES = {cls.__name__: cls for cls in (LogisticRegression, OneVsAllClassifier,
                                           MLPClassifier)}
_OPTIMIZERS = {cls.__name__: cls for cls in (optimizers.SGD, optimizers.Adam)}
_SCALARS = (type(None), bool, int, float, str)
_LABEL_KINDS = "biufU"  # classes_ may be bools, numbers or strings
_MAX_ESTIMATORS = 100_000


def estimator_arrays(estimator):
    """The members (name -> array) of the file of a fitted ``estimator``."""
    writer = _Writer()
    spec = {"format": FORMAT, "version": VERSION, "estimator": writer.node(estimator)}
    return {"estimator": json_array(spec, "the estimator spec"), **writer.arrays}


# ------------------------------------------------------------------------ writing

class _Writer:
    def __init__(self):
        self.arrays = {}

    def array(self, value):
        value = np.asarray(value)
        if value.dtype == object:  # feature names, or labels that are all strings
            if not all(isinstance(item, str) for item in value.ravel()):
                raise ValueError(
                    "an object array of non-strings cannot be saved safely")
            value = value.astype(str)
        name = f"array_{len(self.arrays)}"
        self.arrays[name] = np.ascontiguousarray(value)
        return name

    def node(self, estimator):
        cls = type(estimator)
        if _CLASSES.get(cls.__name__) is not cls:
            raise TypeError(
                f"save_model saves a fastnn Sequential, LogisticRegression, "
                f"OneVsAllClassifier or MLPClassifier, not {cls.__name__}"
            )
        check_is_fitted(estimator)
        return {"class_name": cls.__name__, "params": self.params(estimator),
                "fitted": _FITTED[cls](self, estimator)}

    def params(self, estimator):
        return {name: self.param(estimator, name, value)
                for name, value in estimator.get_params(deep=False).items()}

    def param(self, estimator, name, value):
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
            items = [item.item() if isinstance(item, np.generic) else item
                     for item in value]
            if all(isinstance(item, _SCALARS) for item in items):
                return {"tuple": items} if isinstance(value, tuple) else items
        if isinstance(value, dict):
            items = [[key.item() if isinstance(key, np.generic) else key,
                      item.item() if isinstance(item, np.generic) else item]
                     for key, item in value.items()]
            if all(isinstance(key, _SCALARS) and isinstance(item, _SCALARS)
                   for key, item in items):
                return {"dict": items}
        if type(value) is LogisticRegression:  # the one-vs-all template
            return {"estimator": {"class_name": "LogisticRegression",
                                  "params": self.params(value)}}
        raise ValueError(
            f"{type(estimator).__name__}'s {name}={value!r} cannot be saved safely: "
            "fastnn's files hold numbers, strings and fastnn's LogisticRegression"
        )

    def common(self, estimator):
        names = estimator.__dict__.get("feature_names_in_")
        return {"n_features_in_": int(estimator.n_features_in_),
                "feature_names_in_": None if names is None else self.array(names),
                "classes_": self.array(estimator.classes_)}

    def logistic(self, clf):
        return {**self.common(clf), "coef_": self.array(clf.coef_),
                "intercept_": self.array(clf.intercept_),
                "n_iter_": self.array(clf.n_iter_)}

    def one_vs_all(self, clf):
        return {**self.common(clf),
                "estimators_": [self.node(binary) for binary in clf.estimators_]}

    def mlp(self, clf):
        units, activation, dropout, alpha, out_activation, dtype = clf._architecture
        model = clf._model
        fitted = {
            **self.common(clf),
            "y_type": clf._label_binarizer.y_type_,
            "architecture": {"units": [int(unit) for unit in units],
                             "activation": activation, "dropout": dropout,
                             "alpha": alpha, "out_activation": out_activation,
                             "dtype": dtype},
            "n_iter_": int(clf.n_iter_), "t_": int(clf.t_),
            "weights": self.array(model._params),
            # only early stopping reads the best weights (as in MLPClassifier's pickle)
            "best_weights": self.array(clf._best_params) if clf.early_stopping
            else None,
            "rng": model._rng.bit_generator.state,
            "dropout_rngs": [layer._rng.bit_generator.state for layer in model.layers
                             if isinstance(layer, Dropout)],
            "optimizer": None,
        }
        for name in ("loss_", "best_loss_", "best_validation_score_"):
            if name in clf.__dict__:
                value = clf.__dict__[name]
                fitted[name] = None if value is None else float(value)
        if "_no_improvement_count" in clf.__dict__:
            fitted["_no_improvement_count"] = int(clf._no_improvement_count)
        for name in ("loss_curve_", "validation_scores_"):
            if name in clf.__dict__:
                value = clf.__dict__[name]
                fitted[name] = None if value is None else self.array(
                    np.asarray(value, np.float64))
        if model.optimizer is not None:
            iterations, slots = model.optimizer.get_state()
            fitted["optimizer"] = {"class_name": type(model.optimizer).__name__,
                                   "config": model.optimizer.get_config(),
                                   "iterations": int(iterations),
                                   "slots": [self.array(slot) for slot in slots]}
        return fitted


_FITTED = {LogisticRegression: _Writer.logistic, OneVsAllClassifier: _Writer.one_vs_all,
           MLPClassifier: _Writer.mlp}


# ------------------------------------------------------------------------ reading

def read_estimator(archive, size):
    """The estimator stored in ``archive`` and the names of the members it used."""
    spec = json_member(archive, "estimator", size)
    _keys(spec, {"format", "version", "estimator"}, "the estimator spec")
    if spec["format"] != FORMAT or spec["version"] != VERSION:
        raise ValueError(f"format {spec['format']!r} version {spec['version']!r} is "
                         f"not {FORMAT!r} version {VERSION}")
    reader = _Reader(archive, size)
    estimator = reader.node(spec["estimator"], _CLASSES)
    return estimator, reader.used | {"estimator"}


def _keys(value, keys, what, optional=()):
    if not isinstance(value, dict) or not set(keys) <= set(value) <= set(keys) | set(
        optional
    ):
        raise ValueError(f"{what} has unexpected keys")
    return value


def _int(value, what, low=0):
    if type(value) is not int or value < low:
        raise ValueError(f"{what} {value!r} is not an int >= {low}")
    return value


def _float(value, what):
    if type(value) not in (int, float):
        raise ValueError(f"{what} {value!r} is not a number")
    return float(value)


def _generator(state):
    """A NumPy Generator in the saved PCG64 ``state`` (NumPy checks its fields)."""
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
        raise ValueError("a random state is not a PCG64 state")
    generator = np.random.Generator(np.random.PCG64())
    generator.bit_generator.state = state
    return generator


class _Reader:
    def __init__(self, archive, size):
        self.archive, self.size, self.used = archive, size, set()

    def array(self, name, what, kinds="f", ndim=1, dtype=None, finite=True):
        if not isinstance(name, str) or not name.startswith("array_"):
            raise ValueError(f"{what} does not name an array member")
        if name in self.used or name not in self.archive.files:
            raise ValueError(f"{what}: member {name} is missing or used twice")
        self.used.add(name)
        array = member(self.archive, name, self.size, kinds)
        if array.ndim != ndim or (dtype is not None and array.dtype != dtype):
            raise ValueError(f"{what} is {array.dtype} {array.shape}, expected "
                             f"{ndim} dimensions" + (f" of {dtype}" if dtype else ""))
        if finite and array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ValueError(f"{what} holds NaN or inf")
        return array

    def node(self, spec, classes):
        _keys(spec, {"class_name", "params", "fitted"}, "an estimator entry")
        cls = classes.get(spec["class_name"]) if isinstance(spec["class_name"],
                                                            str) else None
        if cls is None:
            raise ValueError(f"unknown estimator {spec['class_name']!r}; fastnn saves "
                             f"{', '.join(classes)}")
        estimator = self.params(cls, spec["params"])
        _READERS[cls](self, estimator, spec["fitted"])
        return estimator

    def params(self, cls, spec):
        _keys(spec, set(parameters(cls)), f"{cls.__name__}'s params")
        estimator = cls(**{name: self.param(value) for name, value in spec.items()})
        estimator._validate_params()  # InvalidParameterError is a ValueError
        return estimator

    def param(self, value):
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
                _keys(content, {"class_name", "params"}, "the one-vs-all template")
                if content["class_name"] != "LogisticRegression":
                    raise ValueError(
                        "the one-vs-all template is not a LogisticRegression")
                return self.params(LogisticRegression, content["params"])
        raise ValueError(f"parameter value {value!r} is not one fastnn saves")

    def common(self, estimator, fitted, keys, optional=()):
        _keys(fitted, {"n_features_in_", "feature_names_in_", "classes_", *keys},
              f"{type(estimator).__name__}'s fitted attributes", optional)
        n_features = _int(fitted["n_features_in_"], "n_features_in_", 1)
        estimator.n_features_in_ = n_features
        if fitted["feature_names_in_"] is not None:
            names = self.array(fitted["feature_names_in_"], "feature_names_in_", "U")
            if names.shape != (n_features,):
                raise ValueError("feature_names_in_ does not have n_features_in_ names")
            estimator.feature_names_in_ = names.astype(object)  # as scikit-learn has it
        classes = self.array(fitted["classes_"], "classes_", _LABEL_KINDS)
        if classes.size == 0 or not np.array_equal(np.unique(classes), classes):
            raise ValueError("classes_ is not a sorted list of distinct labels")
        estimator.classes_ = classes.copy()
        return n_features, classes

    def logistic(self, clf, fitted):
        n_features, classes = self.common(clf, fitted,
                                          {"coef_", "intercept_", "n_iter_"})
        if len(classes) < 2:
            raise ValueError("a LogisticRegression has at least 2 classes")
        n_outputs = 1 if len(classes) == 2 else len(classes)
        coef = self.array(fitted["coef_"], "coef_", ndim=2)
        if coef.shape != (n_outputs, n_features) or coef.dtype.name not in (
            "float32", "float64"
        ):
            raise ValueError(f"coef_ is {coef.dtype} {coef.shape}, expected "
                             f"{(n_outputs, n_features)} floats")
        intercept = self.array(fitted["intercept_"], "intercept_", dtype=coef.dtype)
        n_iter = self.array(fitted["n_iter_"], "n_iter_", "i", dtype=np.int32)
        if intercept.shape != (n_outputs,) or n_iter.shape != (1,):
            raise ValueError("intercept_ or n_iter_ has the wrong shape")
        clf.coef_, clf.intercept_ = coef.copy(), intercept.copy()
        clf.n_iter_ = n_iter.copy()

    def one_vs_all(self, clf, fitted):
        n_features, classes = self.common(clf, fitted, {"estimators_"})
        binaries = fitted["estimators_"]
        expected = 1 if len(classes) == 2 else len(classes)
        if (len(classes) < 2 or not isinstance(binaries, list)
                or len(binaries) != expected):
            raise ValueError(f"estimators_ is not {expected} binary estimators")
        if expected > _MAX_ESTIMATORS:
            raise ValueError("too many binary estimators")
        clf.estimators_ = [
            self.node(binary, {"LogisticRegression": LogisticRegression})
            for binary in binaries
        ]
        for binary in clf.estimators_:
            if (binary.n_features_in_ != n_features
                    or binary.classes_.tolist() != [0, 1]):
                raise ValueError("a binary estimator does not match the classifier")

    def mlp(self, clf, fitted):
        n_features, classes = self.common(
            clf, fitted,
            {"y_type", "architecture", "n_iter_", "t_", "weights", "best_weights",
             "rng", "dropout_rngs", "optimizer"},
            {"loss_", "best_loss_", "best_validation_score_", "_no_improvement_count",
             "loss_curve_", "validation_scores_"},
        )
        arch = _keys(fitted["architecture"],
                     {"units", "activation", "dropout", "alpha", "out_activation",
                      "dtype"}, "architecture")
        units = arch["units"]
        if not isinstance(units, list) or len(units) < 2:
            raise ValueError("the architecture's units are not a list of widths")
        units = [_int(unit, "a layer width", 1) for unit in units]
        if arch["activation"] not in _HIDDEN or arch["dtype"] not in ("float32",
                                                                      "float64"):
            raise ValueError("the architecture's activation or dtype is unknown")
        dropout = _float(arch["dropout"], "dropout")
        alpha = _float(arch["alpha"], "alpha")
        if not (0 <= dropout < 1 and 0 <= alpha < np.inf):
            raise ValueError("the architecture's dropout or alpha is out of range")
        n_outputs, y_type, out = units[-1], fitted["y_type"], arch["out_activation"]
        consistent = {
            "multiclass": out == "softmax" and n_outputs == len(classes) >= 3,
            "binary": out == "logistic" and n_outputs == 1 and len(classes) <= 2,
            "multilabel-indicator": out == "logistic"
            and np.array_equal(classes, np.arange(n_outputs)),
        }
        if units[0] != n_features or not consistent.get(y_type, False):
            raise ValueError("the architecture does not match the classes and features")
        dtype = np.dtype(arch["dtype"])

        # NOTE: the weights member's size was checked against the file; the count the
        # architecture implies is Python-int arithmetic, so nothing is built before
        # the two agree.
        weights = self.array(fitted["weights"], "weights", dtype=dtype)
        maxout = arch["activation"] == "maxout"
        count = sum(
            (fan_in + 1) * fan_out * (_MAXOUT_PIECES if maxout and i < len(units) - 2
                                      else 1)
            for i, (fan_in, fan_out) in enumerate(pairwise(units))
        )
        if weights.size != count:
            raise ValueError(f"the network has {count} weights, the file "
                             f"{weights.size}")
        best = weights
        if fitted["best_weights"] is not None:
            best = self.array(fitted["best_weights"], "best_weights", dtype=dtype)
            if best.shape != weights.shape:
                raise ValueError("best_weights does not match the weights")

        architecture = (units, arch["activation"], dropout, alpha, out, dtype.name)
        model = _network(architecture, None)
        model.set_flat_weights(weights)
        model._rng = _generator(fitted["rng"])
        dropouts = [layer for layer in model.layers if isinstance(layer, Dropout)]
        states = fitted["dropout_rngs"]
        if not isinstance(states, list) or len(states) != len(dropouts):
            raise ValueError("dropout_rngs does not hold one state per Dropout layer")
        for layer, state in zip(dropouts, states):
            layer._rng = _generator(state)  # the same masks as without the round trip
        if fitted["optimizer"] is not None:
            self.optimizer(model, fitted["optimizer"], out)

        binarizer = LabelBinarizer()
        binarizer.classes_, binarizer.y_type_, binarizer.sparse_input_ = (
            clf.classes_, y_type, False)
        clf._label_binarizer = binarizer
        clf._architecture = architecture
        clf.n_outputs_, clf.n_layers_, clf.out_activation_ = n_outputs, len(units), out
        clf.n_iter_ = _int(fitted["n_iter_"], "n_iter_")
        clf.t_ = _int(fitted["t_"], "t_")
        for name in ("loss_", "best_loss_", "best_validation_score_"):
            if name in fitted:
                value = fitted[name]
                setattr(clf, name, None if value is None else _float(value, name))
        if "_no_improvement_count" in fitted:
            clf._no_improvement_count = _int(fitted["_no_improvement_count"],
                                             "_no_improvement_count")
        for name in ("loss_curve_", "validation_scores_"):
            if fitted.get(name) is not None:
                # NOTE: a validation score is NaN when the network's output overflowed
                curve = self.array(fitted[name], name, dtype=np.float64,
                                   finite=name == "loss_curve_")
                setattr(clf, name, curve.tolist())
            elif name in fitted:
                setattr(clf, name, None)
        clf._adopt(model)
        clf._best_params = best.copy()

    def optimizer(self, model, spec, out_activation):
        _keys(spec, {"class_name", "config", "iterations", "slots"}, "the optimizer")
        cls = _OPTIMIZERS.get(spec["class_name"]) if isinstance(spec["class_name"],
                                                                str) else None
        if cls is None:
            raise ValueError(f"unknown optimizer {spec['class_name']!r}")
        config = scalar_config(spec["config"], parameters(cls) - {"lr"}, cls.__name__)
        model.compile(cls(**config), _loss_for(out_activation))
        slots = spec["slots"]
        if not isinstance(slots, list) or len(slots) != model.optimizer.n_slots:
            raise ValueError("the optimizer state is incomplete")
        slots = [self.array(name, "an optimizer slot", dtype=model.dtype)
                 for name in slots]
        if any(slot.shape != model._params.shape for slot in slots):
            raise ValueError("an optimizer slot does not match the weights")
        iterations = _int(spec["iterations"], "the optimizer's iterations")
        model.optimizer.set_state(iterations, [slot.copy() for slot in slots],
                                  [model._params])


_READERS = {LogisticRegression: _Reader.logistic,
            OneVsAllClassifier: _Reader.one_vs_all, MLPClassifier: _Reader.mlp}
