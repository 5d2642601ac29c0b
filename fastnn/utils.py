"""Small conveniences Keras users reach for."""

import numpy as np

__all__ = ["to_categorical"]


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot rows of integer labels 0 to num_classes - 1 (Keras' ``to_categorical``).

    >>> to_categorical([0, 2], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D integer labels, got shape {y.shape}")
    if y.dtype.kind == "f" and (~np.isfinite(y) | (y != np.round(y))).any():
        raise ValueError("y must hold integer labels")
    if y.dtype.kind not in "iuf" and y.size:
        raise ValueError(f"y must hold integer labels, got dtype {y.dtype}")
    labels = y.astype(np.intp)
    if labels.size and labels.min() < 0:
        raise ValueError("labels must be >= 0")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(f"labels must be < num_classes={num_classes}")
    Y = np.zeros((len(labels), num_classes), dtype)
    Y[np.arange(len(labels)), labels] = 1
    return Y
