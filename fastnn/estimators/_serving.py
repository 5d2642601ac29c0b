"""The estimators' serving path: when the ``X`` handed to a predict method may skip
scikit-learn's ``validate_data``, and the bindings a served row runs on.

A model in service predicts one row per call, and ``validate_data`` costs about 100 us
per call (more than a one-row prediction itself): an ``X`` that is already what the
validation would return goes straight to the model; anything else takes the full
validation, so what is accepted, rejected and returned does not change.

A single row goes further (:func:`serves_row`): it is copied into a buffer of a
:class:`RowBindings`, whose calls were checked and bound once (``fastnn.ops.bind``),
and its finiteness is tested there by a bound sum of squares. A row that is not finite
returns to its caller, which validates it: scikit-learn's error, as before.
"""

import numpy as np

from fastnn import ops
from fastnn.ops.finite import FLOAT_DTYPES, is_clean_matrix

_FLOAT_SET = FLOAT_DTYPES
# Bindings kept per pool, for concurrent callers (each call holds one), and pools kept
# by shape (row_bindings), as models.inference keeps its one-row bindings.
_KEPT = 8
_KEPT_SHAPES = 8
_POOLS = {}


def skips_validation(estimator, X, n_features, dtypes=_FLOAT_SET, order="C"):
    """Whether ``X`` may skip ``validate_data`` in ``estimator``'s predict methods.

    True for a non-empty, finite, 2-D ``np.ndarray`` (not a subclass) of one of
    ``dtypes``, ``n_features`` wide, C-contiguous unless ``order=None`` (a caller that
    passes ``X`` on to estimators which check it themselves), when ``estimator`` was
    not fitted on named columns. ``n_features=None`` (not fitted) is always False.

    Parameters
    ----------
    estimator : estimator object
        The fitted estimator (its ``feature_names_in_`` is read).
    X : object
        What the caller passed to predict.
    n_features : int or None
        The width of the fitted model, e.g. ``coef_.shape[1]``; None if not fitted.
    dtypes : tuple or frozenset of numpy.dtype, default=float32 and float64
        The dtypes the model computes in, e.g. ``(model.dtype,)``.
    order : {'C', None}, default='C'
        'C' requires a C-contiguous ``X``; None takes any layout.
    """
    return (
        n_features is not None
        and type(X) is np.ndarray
        and X.ndim == 2
        and X.shape[1] == n_features
        and "feature_names_in_" not in estimator.__dict__
        and is_clean_matrix(X, dtypes, order)
    )


def serves_row(estimator, X, n_features, dtype):
    """Whether ``X`` is one row the serving path takes as is: a C-contiguous
    ``np.ndarray`` (not a subclass) of shape (1, ``n_features``) and of the model's
    ``dtype``, float32 or float64, for an ``estimator`` not fitted on named columns.

    Its finiteness is not tested here but in the row's binding (a bound
    :func:`fastnn.ops.sum_of_squares` of the copied row, as :func:`skips_validation`
    tests it); a row that fails it takes the full validation.
    """
    return (
        type(X) is np.ndarray
        and X.shape == (1, n_features)
        and X.dtype == dtype
        and dtype in _FLOAT_SET  # a coef_ set by hand may be of any dtype
        and X.flags.c_contiguous
        and "feature_names_in_" not in estimator.__dict__
    )


def bind_row(X):
    """Bind the finiteness test of the row buffer ``X``: a ``run()`` returning
    sum(X**2), finite only if every entry of ``X`` is."""
    run, _ = ops.bind(ops.sum_of_squares, X.ravel())
    return run


class RowBindings:
    """One-row bindings (buffers and the calls bound to them) kept for the next call.

    ``make()`` builds a binding. A call takes one out of the free list (a new one if
    none is free) and gives it back when done: ``list.pop`` and ``append`` are atomic,
    so two threads, or a call nested in another, never share one. At most ``_KEPT``
    are kept.
    """

    __slots__ = ("_make", "_free")

    def __init__(self, make):
        self._make = make
        self._free = []

    def take(self):
        """A binding no other call holds."""
        try:
            return self._free.pop()
        except IndexError:
            return self._make()

    def give_back(self, binding):
        """Keep ``binding`` for a later call."""
        if len(self._free) < _KEPT:
            self._free.append(binding)


def row_bindings(make, *shape):
    """The process-wide :class:`RowBindings` of ``make(*shape)``: bindings that hold
    no model's weights are shared by every model of that ``shape`` (e.g. width,
    classes and dtype)."""
    key = (make, *shape)
    bindings = _POOLS.get(key)
    if bindings is None:
        if len(_POOLS) >= _KEPT_SHAPES:
            _POOLS.clear()
        bindings = _POOLS.setdefault(key, RowBindings(lambda: make(*shape)))
    return bindings
