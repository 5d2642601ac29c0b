"""OneVsAllClassifier's saved state: fastnn's model files (``__fastnn_save__`` /
``__fastnn_load__``, read by :mod:`fastnn.saving`) and pickles of before multilabel
targets. A mixin, so that the estimator's module keeps to learning and predicting.

The file holds the attributes every classifier has, then ``estimators_``: one entry
per binary estimator, a fastnn LogisticRegression node or ``{"constant": 0 or 1}``
for a ConstantPredictor. ``label_binarizer_`` (``{"y_type_", "sparse_input_"}``) is
written only when ``classes_`` does not tell it (a multilabel or sparse ``y``), so a
single-label classifier of LogisticRegressions is the file it always was, and every
file of before reads as such.
"""

import numpy as np
from sklearn.preprocessing import LabelBinarizer

from fastnn.estimators import _saved as saved
from fastnn.estimators._logistic import LogisticRegression
from fastnn.estimators._one_vs_all_binary import ConstantPredictor
from fastnn.estimators._stacked import StackedServing
from fastnn.saving.container import check_keys
from fastnn.saving.estimators import (
    read_classifier,
    read_node,
    write_classifier,
    write_node,
)

__all__ = ["OneVsAllState"]

_MAX_ESTIMATORS = 100_000  # in a saved file
_TARGET_TYPES = ("binary", "multiclass", "multilabel-indicator")


def _single_label_type(classes):
    """LabelBinarizer's ``y_type_`` for a single-label y of ``classes``."""
    return "multiclass" if len(classes) > 2 else "binary"


def _binarizer(classes, y_type, sparse_input):
    """A LabelBinarizer(sparse_output=True) in the state ``fit`` leaves it in (its
    documented attributes ``classes_``, ``y_type_`` and ``sparse_input_``)."""
    binarizer = LabelBinarizer(sparse_output=True)
    binarizer.classes_, binarizer.y_type_, binarizer.sparse_input_ = (
        classes, y_type, sparse_input)
    return binarizer


def _read_target(fitted, classes):
    """The checked ``(y_type_, sparse_input_)`` of a file, defaults when absent."""
    if len(classes) < 2:
        raise ValueError("classes_ holds fewer than 2 classes")
    target = fitted.get("label_binarizer_")
    if target is None:
        return _single_label_type(classes), False
    check_keys(target, {"y_type_", "sparse_input_"}, "label_binarizer_")
    y_type, sparse_input = target["y_type_"], target["sparse_input_"]
    if y_type not in _TARGET_TYPES or type(sparse_input) is not bool:
        raise ValueError("label_binarizer_ is not a target type fastnn saves")
    if y_type == "multilabel-indicator":
        consistent = (classes.dtype.kind in "iu" and len(classes) >= 2
                      and np.array_equal(classes, np.arange(len(classes))))
    else:
        consistent = y_type == _single_label_type(classes)
    if not consistent:
        raise ValueError("label_binarizer_ does not match classes_")
    return y_type, sparse_input


class OneVsAllState:
    """Mixin of :class:`fastnn.OneVsAllClassifier`: its saved state (owned here, read
    and written by :mod:`fastnn.saving` and pickle)."""

    from_config = classmethod(saved.from_config)
    __fastnn_later_params__ = {"verbose": 0}  # a parameter added after version 1

    def __setstate__(self, state):
        super().__setstate__(state)
        # NOTE: a pickle of before multilabel targets and verbose: single-label,
        # so its binarizer is the one classes_ tells.
        self.__dict__.setdefault("verbose", 0)
        if "estimators_" in state and "label_binarizer_" not in state:
            self.label_binarizer_ = _binarizer(
                self.classes_, _single_label_type(self.classes_), False)

    def __fastnn_save__(self, writer):
        """The fitted attributes (JSON, arrays added to ``writer``); each binary
        estimator is saved as a node of its own, a constant predictor as its
        constant."""
        fitted = {**write_classifier(self, writer), "estimators_": [
            {"constant": binary.constant_} if isinstance(binary, ConstantPredictor)
            else write_node(binary, writer) for binary in self.estimators_]}
        binarizer = self.label_binarizer_
        target = (binarizer.y_type_, bool(binarizer.sparse_input_))
        if target != (_single_label_type(self.classes_), False):
            fitted["label_binarizer_"] = {"y_type_": target[0],
                                          "sparse_input_": target[1]}
        return fitted

    def __fastnn_load__(self, fitted, reader):
        """Restore :meth:`__fastnn_save__`'s attributes from an untrusted file: the
        binary estimators are fastnn LogisticRegressions or constant predictors
        matching the classifier."""
        n_features, classes = read_classifier(
            self, fitted, reader, {"estimators_"}, {"label_binarizer_"})
        y_type, sparse_input = _read_target(fitted, classes)
        binaries = fitted["estimators_"]
        expected = 1 if y_type == "binary" else len(classes)
        if not isinstance(binaries, list) or len(binaries) != expected:
            raise ValueError(f"estimators_ is not {expected} binary estimators")
        if expected > _MAX_ESTIMATORS:
            raise ValueError("too many binary estimators")
        self.estimators_ = [_read_binary(binary, reader, n_features)
                            for binary in binaries]
        self.label_binarizer_ = _binarizer(classes.copy(), y_type, sparse_input)
        self._serve = StackedServing()


def _read_binary(entry, reader, n_features):
    """One binary estimator of a file, checked against the classifier's width."""
    if isinstance(entry, dict) and "constant" in entry:
        check_keys(entry, {"constant"}, "a constant predictor")
        if type(entry["constant"]) is not int or entry["constant"] not in (0, 1):
            raise ValueError("a constant predictor's constant is not 0 or 1")
        return ConstantPredictor()._set(entry["constant"], n_features)
    binary = read_node(entry, reader, {"LogisticRegression": LogisticRegression})
    if binary.n_features_in_ != n_features or binary.classes_.tolist() != [0, 1]:
        raise ValueError("a binary estimator does not match the classifier")
    return binary
