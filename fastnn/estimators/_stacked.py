"""One-vs-all's serving path: the binary LogisticRegressions of a OneVsAllClassifier
stacked into one weight matrix, so that a served row's scores for every class are one
GEMM (``fastnn.ops.dense_forward``) instead of one ``predict_proba`` call per class.

The sigmoid and the normalisation are those of the general path: ``expit`` of each
score (of ``[-z, z]`` for two classes, as the binary LogisticRegression computes
them), divided by their sum (uniform where the sum is 0; not divided for a
multilabel classifier). Only the order of the sums differs (one GEMM, then a GEMV
for the row's total), so the answers agree to rounding.
"""

from math import isfinite

import numpy as np
from scipy.special import expit

from fastnn import ops
from fastnn.estimators._logistic import LogisticRegression
from fastnn.estimators._serving import RowBindings, bind_row
from fastnn.ops.checks import FLOATS


class StackedServing:
    """A fitted OneVsAllClassifier's serving state (its ``_serve``).

    Holds the stacked weights of ``estimators_``, built at the first served row and
    again whenever ``estimators_`` is set to another list or its items are replaced
    (fit, partial_fit and loading set it). The weights are copied when stacked, so
    a binary estimator changed in place afterwards (refitted, or its ``coef_`` written
    into) is not seen until ``estimators_`` is set again. Pickled and copied empty:
    the copy stacks its own.
    """

    def __init__(self):
        self._stacked = None

    def __reduce__(self):
        return type(self), ()

    def stacked(self, estimators, n_features):
        """The :class:`Stacked` weights of ``estimators``, or None if they are not all
        fastnn binary LogisticRegressions ``n_features`` wide of one float dtype."""
        stacked = self._stacked
        if (stacked is None or stacked.source is not estimators
                or stacked.n_features != n_features
                or tuple(estimators) != stacked.estimators):
            stacked = self._stacked = Stacked(estimators, n_features)
        return stacked if stacked.W is not None else None


class _Row:
    """A served row's binding: the row, its finiteness test, its scores ``Z`` (one GEMM,
    intercepts included) and their total ``T`` (a GEMV with ones)."""

    __slots__ = ("X", "norm", "Z", "scores", "T", "total")


class Stacked:
    """The weights of binary LogisticRegressions as one (n_features, n_columns) matrix
    ``W`` and intercepts ``b``: column k is estimator k's; one estimator (two classes)
    gives the columns of ``-z`` and ``z``. ``W`` is None when they do not stack."""

    __slots__ = ("source", "estimators", "n_features", "W", "b", "ones", "bindings")

    def __init__(self, estimators, n_features):
        self.source, self.estimators = estimators, tuple(estimators)
        self.n_features, self.W = n_features, None
        weights = _weights(self.estimators, n_features)
        if weights is None:
            return
        coef, intercept = weights
        if len(self.estimators) == 1:  # two classes: the columns of -z and z
            coef = np.concatenate([-coef, coef])
            intercept = np.concatenate([-intercept, intercept])
        self.W, self.b = np.ascontiguousarray(coef.T), intercept
        self.ones = np.ones((coef.shape[0], 1), coef.dtype)
        self.bindings = RowBindings(self._bind)

    @property
    def dtype(self):
        return self.W.dtype

    def _bind(self):
        row = _Row()
        row.X = np.empty((1, self.n_features), self.W.dtype)
        row.norm = bind_row(row.X)
        row.Z = np.empty((1, self.W.shape[1]), self.W.dtype)
        row.scores, _ = ops.bind(ops.dense_forward, row.X, self.W, self.b, out=row.Z)
        row.T = np.empty((1, 1), self.W.dtype)
        row.total, _ = ops.bind(ops.dense_forward, row.Z, self.ones, out=row.T)
        return row

    @staticmethod
    def _scored(row, X):
        """Copy the one row ``X`` into ``row`` and score it; False if not finite."""
        row.X[...] = X
        if not isfinite(row.norm()):
            return False
        row.scores()
        return True

    def scores(self, X):
        """The decision values of the one row ``X`` (1, n_columns), as a new array;
        None if ``X`` is not finite."""
        row = self.bindings.take()
        try:
            return row.Z.copy() if self._scored(row, X) else None
        finally:
            self.bindings.give_back(row)

    def proba(self, X, normalize=True):
        """The class probabilities of the one row ``X`` (1, n_columns), as a new array;
        None if ``X`` is not finite. ``normalize``: divided by their sum (a
        single-label classifier), else each label's own (multilabel)."""
        row = self.bindings.take()
        try:
            if not self._scored(row, X):
                return None
            expit(row.Z, out=row.Z)
            if not normalize:
                return row.Z.copy()
            row.total()
            total = row.T[0, 0]  # a NumPy scalar: dividing by it skips broadcasting
            # NOTE: a row that every binary estimator gives 0 has no preference:
            # uniform, as in OneVsAllClassifier.predict_proba.
            if total == 0:
                return np.full(row.Z.shape, 1 / row.Z.shape[1], row.Z.dtype)
            return row.Z / total
        finally:
            self.bindings.give_back(row)


def _weights(estimators, n_features):
    """(coef (n_estimators, n_features), intercept (n_estimators,)) stacked from
    fastnn binary LogisticRegressions of one float dtype, else None."""
    coefs, intercepts = [], []
    for estimator in estimators:
        if type(estimator) is not LogisticRegression:  # a subclass may predict otherwise
            return None
        coef = estimator.__dict__.get("coef_")
        intercept = estimator.__dict__.get("intercept_")
        if (type(coef) is not np.ndarray or type(intercept) is not np.ndarray
                or coef.shape != (1, n_features) or intercept.shape != (1,)
                or coef.dtype not in FLOATS or intercept.dtype != coef.dtype
                or (coefs and coef.dtype != coefs[0].dtype)):
            return None
        coefs.append(coef)
        intercepts.append(intercept)
    if not coefs:
        return None
    return np.concatenate(coefs), np.concatenate(intercepts)
