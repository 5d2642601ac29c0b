"""LogisticRegression's predictions: scores, classes and probabilities, with the
one-row serving path (``fastnn.estimators._serving``) in front of scikit-learn's
validation. A mixin, so that the estimator's module keeps to fitting."""

from math import isfinite

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_expit
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted, validate_data

from fastnn import ops
from fastnn.estimators._dask_input import is_dask
from fastnn.estimators._serving import (
    bind_row,
    row_bindings,
    serves_row,
    skips_validation,
)


def _both_classes(scores):
    """[-z, z] for one column of scores z: classes_[0]'s and classes_[1]'s logits."""
    both = np.empty((scores.shape[0], 2), scores.dtype)
    np.negative(scores, out=both[:, :1])
    both[:, 1:] = scores
    return both


class _Row:
    """A served row's binding: the row ``X`` and its finiteness test ``norm``; its
    scores, in ``proba`` (1, n_classes): the last column for two classes (the first
    takes -z), all of them for more, whose softmax is bound."""

    __slots__ = ("X", "norm", "proba", "scores", "flat_scores", "softmax")

    def __init__(self, n_features, n_outputs, dtype):
        self.X = np.empty((1, n_features), dtype)
        self.norm = bind_row(self.X)
        if n_outputs == 1:
            self.proba = np.empty((1, 2), dtype)
            self.scores = self.proba[:, 1:]
        else:
            self.proba = self.scores = np.empty((1, n_outputs), dtype)
            self.flat_scores = self.scores[0]
            self.softmax, _ = ops.bind(ops.softmax, self.proba, out=self.proba)


class LogisticPredictions:
    """decision_function, predict, predict_proba and predict_log_proba from ``coef_``
    (dense, or sparse after ``sparsify``), ``intercept_`` and ``classes_``."""

    def _served(self, X, proba):
        """A single row the serving path takes (``serves_row``): its scores
        (1, n_outputs), or with ``proba`` its probabilities, as a new array; None for
        any other ``X`` and for a row that is not finite (the caller validates it)."""
        state = self.__dict__
        coef, intercept = state.get("coef_"), state.get("intercept_")
        # NOTE: the same arithmetic as _scores and predict_proba (np.dot, then the
        # intercept, expit or ops.softmax), on bound buffers: the same answers. An
        # intercept of one entry per row of coef_ adds as scores += intercept_ does,
        # without broadcasting's cost (0.5 us).
        if (type(coef) is not np.ndarray or type(intercept) is not np.ndarray
                or intercept.shape != coef.shape[:1]
                or not serves_row(self, X, coef.shape[1], coef.dtype)):
            return None
        bindings = row_bindings(_Row, coef.shape[1], coef.shape[0], coef.dtype)
        row = bindings.take()
        try:
            row.X[...] = X
            if not isfinite(row.norm()):
                return None
            np.dot(row.X, coef.T, out=row.scores)
            if coef.shape[0] == 1:
                # NOTE: [-z, z] (as _both_classes makes it) from NumPy scalars: the
                # dtype's own rounding, and a ufunc on a one-entry array costs twice
                # one on two entries (about 0.9 us, on this NumPy).
                z = row.proba[0, 1] + intercept[0]
                row.proba[0, 0], row.proba[0, 1] = -z, z
            else:
                np.add(row.flat_scores, intercept, out=row.flat_scores)
            if not proba:
                return row.scores.copy()
            if coef.shape[0] == 1:
                expit(row.proba, out=row.proba)
            else:
                row.softmax()
            return row.proba.copy()
        finally:
            bindings.give_back(row)

    def _validated_scores(self, X):
        """X @ coef_.T + intercept_ for any ``X``: a ready one is used as is, any other
        validated first."""
        coef = self.__dict__.get("coef_")
        # NOTE: np.dot, not @: for one row matmul's dispatch costs twice the product.
        if type(coef) is np.ndarray and skips_validation(self, X, coef.shape[1]):
            scores = np.dot(X, coef.T)
        else:
            check_is_fitted(self)
            X = validate_data(
                self, X, reset=False, accept_sparse="csr",
                dtype=[np.float64, np.float32],
            )
            # (a sparsified coef_ times a sparse X is sparse: made dense here)
            scores = safe_sparse_dot(X, self.coef_.T, dense_output=True)
            if sp.issparse(scores):
                scores = scores.toarray()
            scores = np.ascontiguousarray(scores)
        scores += self.intercept_
        return scores

    def _dask(self, method, X):
        """``method`` on a dask array X, block by block on the workers."""
        from fastnn.estimators._logistic_dask import predict_blocks

        return predict_blocks(self, method, X)

    def decision_function(self, X):
        """Scores: shape (n_samples,) for two classes (positive means classes_[1]),
        else (n_samples, n_classes). A dask array X gives a dask array."""
        scores = self._served(X, proba=False)
        if scores is None:
            if is_dask(X):
                return self._dask("decision_function", X)
            scores = self._validated_scores(X)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """The class of highest probability for each row of ``X``. A dask array X
        gives a dask array."""
        scores = self._served(X, proba=False)
        if scores is None:
            if is_dask(X):
                return self._dask("predict", X)
            scores = self._validated_scores(X)
        if scores.shape[1] == 1:
            return self.classes_[(scores[:, 0] > 0).astype(np.intp)]
        return self.classes_[scores.argmax(axis=1)]

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), in the order of classes_.
        A dask array X gives a dask array."""
        proba = self._served(X, proba=True)
        if proba is not None:
            return proba
        if is_dask(X):
            return self._dask("predict_proba", X)
        scores = self._validated_scores(X)
        if scores.shape[1] == 1:
            # NOTE: sigmoid(-z) and sigmoid(z) side by side: 1 - sigmoid(z) would lose
            # the small probability to cancellation when z is large.
            proba = _both_classes(scores)
            return expit(proba, out=proba)
        return ops.softmax(scores, out=scores)

    def predict_log_proba(self, X):
        """Log of predict_proba, computed without taking the log of a rounded 0. A
        dask array X gives a dask array."""
        scores = self._served(X, proba=False)
        if scores is None:
            if is_dask(X):
                return self._dask("predict_log_proba", X)
            scores = self._validated_scores(X)
        if scores.shape[1] == 1:
            # NOTE: log sigmoid(z) = -log(1 + exp(-z)), scipy's log_expit, finite for
            # any finite z (log(expit(z)) is -inf once expit underflows).
            log_proba = _both_classes(scores)
            return log_expit(log_proba, out=log_proba)
        return ops.log_softmax(scores, out=scores)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on ``X``, ``y`` (scikit-learn's); with dask arrays it is
        computed on the workers.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
        y : array-like or dask array of shape (n_samples,)
        sample_weight : array-like or dask array of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        if is_dask(X, y, sample_weight):
            from fastnn.estimators._logistic_dask import score_blocks

            return score_blocks(self, X, y, sample_weight)
        return super().score(X, y, sample_weight=sample_weight)
