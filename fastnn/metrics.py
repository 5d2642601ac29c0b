"""Metrics: accuracy, log-loss and the lecture's per-sample Bernoulli likelihood.

These take what a user holds (labels, one-hot rows, probabilities), check it, and work
in NumPy; they are evaluated once per batch or per data set, never per weight.
"""

import numpy as np
from sklearn.utils.validation import check_consistent_length

__all__ = ["accuracy", "log_loss", "likelihood", "get"]


def _labels(y, name):
    """Integer labels from labels, one-hot rows, or probabilities (argmax / > 0.5)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    y = y.reshape(len(y)) if y.ndim == 2 else y
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D labels or 2-D scores, got shape {y.shape}")
    if y.dtype.kind == "f" and y.size and ((y != np.round(y)).any()):
        return (y > 0.5).astype(np.intp)  # probabilities of the positive class
    return y


def accuracy(y_true, y_pred):
    """The fraction of samples whose predicted class is the true class.

    Either argument may hold labels, one-hot rows, or scores/probabilities (the class
    is the argmax of a row, or ``p > 0.5`` for one column of probabilities).

    >>> accuracy([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    0.6666666666666666
    """
    true, pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    check_consistent_length(true, pred)
    if true.size == 0:
        raise ValueError("accuracy of zero samples is undefined")
    return float(np.mean(true == pred))


def _proba_of_true_class(y_true, proba):
    proba = np.asarray(proba)
    if proba.dtype.kind not in "iuf":
        raise ValueError(f"proba must be numeric, got dtype {proba.dtype}")
    y_true = np.asarray(y_true)
    check_consistent_length(y_true, proba)
    if not np.isfinite(proba).all() or proba.size and (proba.min() < 0 or proba.max() > 1):
        raise ValueError("proba must hold probabilities in [0, 1]")
    if proba.ndim == 1 or (proba.ndim == 2 and proba.shape[1] == 1):
        # One column: P(y = 1) of the lecture's Bernoulli neuron.
        p1 = proba.reshape(-1).astype(np.float64)
        y = y_true.reshape(-1)
        if y.size and not np.isin(y, (0, 1)).all():
            raise ValueError("with one column of P(y=1), y_true must hold 0 and 1")
        return np.where(y == 1, p1, 1.0 - p1)
    if proba.ndim != 2:
        raise ValueError(f"proba must be 1-D or 2-D, got shape {proba.shape}")
    proba = proba.astype(np.float64)
    if y_true.ndim == 2:
        if y_true.shape != proba.shape:
            raise ValueError(f"y_true has shape {y_true.shape} but proba {proba.shape}")
        return (y_true * proba).sum(axis=1)
    if y_true.dtype.kind not in "iub" and not (
        y_true.dtype.kind == "f" and (y_true == np.round(y_true)).all()
    ):
        raise ValueError("y_true must hold integer labels 0 .. n_classes - 1")
    labels = y_true.astype(np.intp)
    if labels.size and (labels.min() < 0 or labels.max() >= proba.shape[1]):
        raise ValueError(f"labels must be in [0, {proba.shape[1]}) for {proba.shape[1]} columns")
    return proba[np.arange(len(labels)), labels]


def likelihood(y_true, proba):
    """Per-sample likelihood of the true label: the lecture's Bernoulli Pi^y (1 - Pi)^(1-y).

    ``proba`` is P(y = 1) per sample (1-D), or one row of class probabilities per
    sample with integer or one-hot ``y_true``.

    >>> likelihood([1, 0, 1, 0], [0.8, 0.2, 0.9, 0.01]).round(2)
    array([0.8 , 0.8 , 0.9 , 0.99])
    """
    return _proba_of_true_class(y_true, proba)


def log_loss(y_true, proba, sample_weight=None, normalize=True):
    """Negative log-likelihood: -sum_i w_i log p_i(y_i), divided by sum w_i when
    ``normalize`` (the mean, as scikit-learn's ``log_loss``).

    >>> round(log_loss([1, 0], [0.8, 0.2]), 4)
    0.2231
    """
    p = _proba_of_true_class(y_true, proba)
    # NOTE: probabilities are clipped below at float64's eps, so a confident wrong
    # prediction costs about 36 instead of inf (scikit-learn clips the same way).
    eps = np.finfo(np.float64).eps
    losses = -np.log(np.clip(p, eps, 1.0))
    weights = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    if weights is not None:
        check_consistent_length(losses, weights)
    if normalize:
        return float(np.average(losses, weights=weights))
    return float(np.sum(losses if weights is None else losses * weights))


_BY_NAME = {"accuracy": accuracy, "acc": accuracy}


def get(metric):
    """A ``(name, function)`` pair from a name ('accuracy', 'acc') or a callable
    ``f(y_true, y_pred) -> float``."""
    if isinstance(metric, str) and metric in _BY_NAME:
        return ("accuracy", _BY_NAME[metric])
    if callable(metric):
        return (getattr(metric, "__name__", "metric"), metric)
    raise ValueError(f"unknown metric {metric!r}; expected 'accuracy' or a callable")
