"""MLPClassifier's fitted state, defined once: pickle (``__getstate__`` /
``__setstate__``, also what dask ships to its workers) and fastnn's model files
(``__fastnn_save__`` / ``__fastnn_load__``, read by :mod:`fastnn.saving`) both go
through :meth:`MLPState._network_state` and :meth:`MLPState._restore_network`.
MLPClassifier inherits it, so the estimator owns its state and saving imports none.
"""

from itertools import pairwise

import numpy as np
from sklearn.preprocessing import LabelBinarizer

from fastnn.estimators import _saved as saved
from fastnn.estimators._mlp_network import _HIDDEN, _MAXOUT_PIECES, _loss_for, _network
from fastnn.nn.optimizers import Optimizer
from fastnn.saving.container import check_float, check_int, check_keys
from fastnn.saving.estimators import read_classifier, write_classifier

__all__ = ["MLPState"]


class MLPState:
    """Mixin of :class:`fastnn.MLPClassifier`: its saved state (owned here, read and
    written by pickle and :mod:`fastnn.saving`)."""

    def __getstate__(self):
        # NOTE: the state is the weights, the optimizer's slots and the random
        # generators, nothing bound: dask_ml's Incremental ships it with every block.
        state = dict(super().__getstate__())  # a copy: the live __dict__ stays whole
        model = state.pop("_model", None)
        # coefs_ and intercepts_ are the network's views, rebuilt with it; without a
        # network they are weights a user set, to train from: kept
        views = ("coefs_", "intercepts_") if model is not None else ()
        for key in ("_lock", "_serve", *views):
            state.pop(key, None)
        if not self.early_stopping:
            state.pop("_best_params", None)  # only early stopping reads it
        if model is not None:
            state["_network"] = self._network_state()
        return state

    def __copy__(self):
        # NOTE: a shallow copy, as copy.copy promises: the copy shares the fitted
        # network. Without this, copy.copy would go through pickling's state, which
        # rebuilds the network (about 1 ms); scikit-learn's callbacks copy the
        # estimator at every epoch (and give the copy a network of its own).
        copied = type(self).__new__(type(self))
        copied.__dict__.update(self.__dict__)
        return copied

    def __setstate__(self, state):
        network = state.pop("_network", None)
        super().__setstate__(state)
        if network is not None:
            self._restore_network(network)
            if self.early_stopping and "_best_params" not in self.__dict__:
                self._best_params = self._model.get_flat_weights()

    from_config = classmethod(saved.from_config)

    _SAVED_SCALARS = ("loss_", "best_loss_", "best_validation_score_")
    _SAVED_CURVES = ("loss_curve_", "validation_scores_")

    def _network_state(self):
        """The fitted network as plain values, the one definition of it (pickle and
        fastnn's files both use it): ``weights`` (the flat vector), ``rng`` and
        ``dropout_rngs`` (PCG64 states), ``optimizer`` (None, or its ``class_name``,
        ``config``, ``iterations`` and ``slots``). The network first takes the
        ``coefs_`` or ``intercepts_`` a user assigned, if any."""
        self._sync_weights()
        model = self._model
        rng, dropout_rngs = model.get_random_state()
        optimizer = None
        if model.optimizer is not None:
            iterations, slots = model.optimizer.get_state()
            optimizer = {"class_name": type(model.optimizer).__name__,
                         "config": model.optimizer.get_config(),
                         "iterations": int(iterations),
                         "slots": [slot.copy() for slot in slots]}
        return {"weights": model.get_flat_weights(), "rng": rng,
                "dropout_rngs": dropout_rngs, "optimizer": optimizer}

    def _restore_network(self, state):
        """Rebuild the network of :meth:`_network_state` for ``_architecture``;
        ValueError if the state does not fit it."""
        model = _network(self._architecture, None)
        model.set_flat_weights(state["weights"])
        model.set_random_state(state["rng"], state["dropout_rngs"])
        saved = state["optimizer"]
        if saved is not None:
            optimizer = Optimizer.deserialize(saved["class_name"], saved["config"])
            slots = saved["slots"]
            if not isinstance(slots, list) or len(slots) != optimizer.n_slots:
                raise ValueError("the optimizer state is incomplete")
            if any(slot.shape != state["weights"].shape for slot in slots):
                raise ValueError("an optimizer slot does not match the weights")
            model.restore_optimizer(optimizer, _loss_for(self.out_activation_),
                                    saved["iterations"], slots)
        self._adopt(model)

    def __fastnn_save__(self, writer):
        """The fitted attributes (JSON, arrays added to ``writer``)."""
        units, activation, dropout, alpha, out_activation, dtype = self._architecture
        network = self._network_state()
        fitted = {
            **write_classifier(self, writer),
            "y_type": self._label_binarizer.y_type_,
            "architecture": {"units": [int(unit) for unit in units],
                             "activation": activation, "dropout": dropout,
                             "alpha": alpha, "out_activation": out_activation,
                             "dtype": dtype},
            "n_iter_": int(self.n_iter_), "t_": int(self.t_),
            "weights": writer.add(network["weights"]),
            # only early stopping reads the best weights (as in the pickle)
            "best_weights": writer.add(self._best_params) if self.early_stopping
            else None,
            "rng": network["rng"], "dropout_rngs": network["dropout_rngs"],
            "optimizer": None,
        }
        for name in self._SAVED_SCALARS:
            if name in self.__dict__:
                value = self.__dict__[name]
                fitted[name] = None if value is None else float(value)
        if "_no_improvement_count" in self.__dict__:
            fitted["_no_improvement_count"] = int(self._no_improvement_count)
        for name in self._SAVED_CURVES:
            if name in self.__dict__:
                value = self.__dict__[name]
                fitted[name] = None if value is None else writer.add(
                    np.asarray(value, np.float64))
        if network["optimizer"] is not None:
            fitted["optimizer"] = {**network["optimizer"], "slots": [
                writer.add(slot) for slot in network["optimizer"]["slots"]]}
        return fitted

    def __fastnn_load__(self, fitted, reader):
        """Restore :meth:`__fastnn_save__`'s attributes from an untrusted file: the
        architecture checked against the classes and the features, the network's
        size against the file, before anything is built (ValueError)."""
        n_features, classes = read_classifier(
            self, fitted, reader,
            {"y_type", "architecture", "n_iter_", "t_", "weights", "best_weights",
             "rng", "dropout_rngs", "optimizer"},
            {*self._SAVED_SCALARS, "_no_improvement_count", *self._SAVED_CURVES},
        )
        arch = check_keys(fitted["architecture"],
                          {"units", "activation", "dropout", "alpha", "out_activation",
                           "dtype"}, "architecture")
        units = arch["units"]
        if not isinstance(units, list) or len(units) < 2:
            raise ValueError("the architecture's units are not a list of widths")
        units = [check_int(unit, "a layer width", 1) for unit in units]
        if arch["activation"] not in _HIDDEN or arch["dtype"] not in ("float32",
                                                                      "float64"):
            raise ValueError("the architecture's activation or dtype is unknown")
        dropout = check_float(arch["dropout"], "dropout")
        alpha = check_float(arch["alpha"], "alpha")
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
        weights = reader.array(fitted["weights"], "weights", dtype=dtype)
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
            best = reader.array(fitted["best_weights"], "best_weights", dtype=dtype)
            if best.shape != weights.shape:
                raise ValueError("best_weights does not match the weights")
        optimizer = fitted["optimizer"]
        if optimizer is not None:
            check_keys(optimizer, {"class_name", "config", "iterations", "slots"},
                       "the optimizer")
            slots = optimizer["slots"]
            if not isinstance(slots, list):
                raise ValueError("the optimizer state is incomplete")
            optimizer = {**optimizer, "slots": [
                reader.array(name, "an optimizer slot", dtype=dtype) for name in slots],
                "iterations": check_int(optimizer["iterations"],
                                        "the optimizer's iterations")}

        binarizer = LabelBinarizer()
        binarizer.classes_, binarizer.y_type_, binarizer.sparse_input_ = (
            self.classes_, y_type, False)
        self._label_binarizer = binarizer
        self._architecture = (units, arch["activation"], dropout, alpha, out,
                              dtype.name)
        self.n_outputs_, self.n_layers_, self.out_activation_ = n_outputs, len(units), out
        self._restore_network({"weights": weights, "rng": fitted["rng"],
                               "dropout_rngs": fitted["dropout_rngs"],
                               "optimizer": optimizer})
        self.n_iter_ = check_int(fitted["n_iter_"], "n_iter_")
        self.t_ = check_int(fitted["t_"], "t_")
        for name in self._SAVED_SCALARS:
            if name in fitted:
                value = fitted[name]
                setattr(self, name, None if value is None else check_float(value, name))
        if "_no_improvement_count" in fitted:
            self._no_improvement_count = check_int(fitted["_no_improvement_count"],
                                                   "_no_improvement_count")
        for name in self._SAVED_CURVES:
            if fitted.get(name) is not None:
                # NOTE: a validation score is NaN when the network's output overflowed
                curve = reader.array(fitted[name], name, dtype=np.float64,
                                     finite=name == "loss_curve_")
                setattr(self, name, curve.tolist())
            elif name in fitted:
                setattr(self, name, None)
        if self.early_stopping:
            self._best_params = best.copy()
