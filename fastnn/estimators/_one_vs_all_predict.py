"""OneVsAllClassifier's predictions: the binary estimators' answers combined into
scikit-learn's outputs (``predict``, ``decision_function``, ``predict_proba``,
``predict_log_proba``), and the one-row path that serves them from the stacked
weights of fastnn LogisticRegressions (``_stacked``)."""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _num_samples, check_is_fitted

from fastnn.estimators._one_vs_all_binary import (
    binary_positive,
    binary_scores,
    estimators_have,
    sparse_indicator,
)
from fastnn.estimators._serving import serves_row, skips_validation

__all__ = ["OneVsAllPredictions"]


class OneVsAllPredictions:
    """Mixin of :class:`fastnn.OneVsAllClassifier`: its predictions (see the module).
    The class provides ``_validate``, ``estimators_``, ``label_binarizer_`` and
    ``_serve``."""

    def _validate_for_predict(self, X):
        """The predict-time check of ``X``, lean for an input that is already right."""
        # NOTE: any layout (order=None): the binary estimators check X themselves.
        fitted = "estimators_" in self.__dict__
        n_features = self.__dict__.get("n_features_in_") if fitted else None
        if skips_validation(self, X, n_features, order=None):
            return X
        check_is_fitted(self)
        return self._validate(X)

    def _stacked(self, X):
        """The binary estimators' stacked weights (``_stacked.Stacked``) when they are
        fastnn LogisticRegressions and ``X`` is one row they serve, else None: one
        GEMM for every class instead of one call per estimator."""
        state = self.__dict__
        serve = state.get("_serve")
        if serve is None or "estimators_" not in state:
            return None
        stacked = serve.stacked(state["estimators_"], state.get("n_features_in_"))
        if stacked is None or not serves_row(self, X, stacked.n_features,
                                             stacked.dtype):
            return None
        return stacked

    def _served_scores(self, X):
        """The decision values of a served row of more than one estimator, else None
        (one estimator: its own)."""
        stacked = self._stacked(X)
        if stacked is None or len(stacked.estimators) == 1:
            return None
        return stacked.scores(X)

    def _labels(self, positive):
        """The predictions of the binary decisions ``positive`` (bool, dense
        (n_samples, n_estimators), or sparse CSC): scikit-learn's output for the
        target, via ``label_binarizer_``."""
        binarizer = self.label_binarizer_
        if not binarizer.sparse_input_ and not sp.issparse(positive):
            # NOTE: what LabelBinarizer.inverse_transform returns for these, without
            # its checks (20 us, more than a served row takes).
            if binarizer.y_type_ == "multilabel-indicator":
                return positive.astype(int)
            if len(self.classes_) == 2:
                return self.classes_[positive[:, 0].astype(np.intp)]
        return binarizer.inverse_transform(positive.astype(int))

    def predict(self, X):
        """Predict the class (or the labels) of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y : {ndarray, sparse matrix} of shape (n_samples,) or (n_samples, n_labels)
            Single-label: the class whose binary estimator is the most confident
            (for two classes, the one estimator's answer). Multilabel: a 0/1
            indicator matrix, sparse (CSR) if ``y`` was sparse at ``fit``.
        """
        stacked = self._stacked(X)
        scores = None if stacked is None else stacked.scores(X)
        if scores is None:
            X = self._validate_for_predict(X)
        multiclass = self.label_binarizer_.y_type_ == "multiclass"
        if scores is not None:  # a served row of fastnn LogisticRegressions
            if multiclass:
                return self.classes_[np.argmax(scores, axis=1)]
            # (two classes serve the columns -z and z: the one estimator's is last)
            return self._labels(scores[:, -len(self.estimators_):] > 0)
        if multiclass:
            scores = np.column_stack([binary_scores(e, X) for e in self.estimators_])
            return self.classes_[np.argmax(scores, axis=1)]
        positive = [binary_positive(e, X) for e in self.estimators_]
        if not self.label_binarizer_.sparse_input_:
            return self._labels(np.column_stack(positive))
        return self._labels(sparse_indicator(positive, _num_samples(X)))

    @available_if(estimators_have("decision_function"))
    def decision_function(self, X):
        """The binary estimators' decision functions.

        Available when the estimator has ``decision_function``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), or (n_samples,) if binary
            Column ``k`` is the score of ``classes_[k]`` against the rest; for two
            classes, the score of ``classes_[1]`` (positive means ``classes_[1]``).
        """
        scores = self._served_scores(X)
        if scores is not None:
            return scores
        X = self._validate_for_predict(X)
        if len(self.estimators_) == 1:
            return np.ravel(self.estimators_[0].decision_function(X))
        return np.column_stack(
            [np.ravel(e.decision_function(X)) for e in self.estimators_]
        )

    @available_if(estimators_have("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities (single-label: normalised; multilabel: each label's).

        Available when the estimator has ``predict_proba``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Column ``k`` is the probability of ``classes_[k]``, as ordered in
            ``classes_``. Single-label rows sum to 1 (a row that every binary
            estimator gives probability 0 is uniform; scikit-learn leaves it all
            zeros). Multilabel: the probability of each label on its own.
        """
        stacked = self._stacked(X)
        if stacked is not None:
            proba = stacked.proba(X, normalize=not self.multilabel_)
            if proba is not None:
                return proba
        X = self._validate_for_predict(X)
        multilabel = self.multilabel_
        if len(self.estimators_) == 1:
            # the binary estimator's own two columns: more exact than 1 - p when p ~ 1
            proba = np.asarray(self.estimators_[0].predict_proba(X))
        else:
            proba = np.column_stack(
                [e.predict_proba(X)[:, 1] for e in self.estimators_]
            )
        if multilabel:
            return proba
        row_sums = proba.sum(axis=1, keepdims=True)
        # NOTE: a row that every binary estimator gives 0 has no preference: uniform
        # (scikit-learn's OneVsRestClassifier leaves it all zeros).
        uniform = np.full_like(proba, 1 / proba.shape[1])
        return np.divide(proba, row_sums, out=uniform, where=row_sums != 0)

    @available_if(estimators_have("predict_proba"))
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The natural logarithm of the class probabilities (``-inf`` where one is 0).
            For two classes, the binary estimator's own ``predict_log_proba`` if it
            has one (finite where a probability rounds to 0).
        """
        X = self._validate_for_predict(X)
        binary = self.estimators_[0] if len(self.estimators_) == 1 else None
        if hasattr(binary, "predict_log_proba"):
            return binary.predict_log_proba(X)
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba)

    @property
    def multilabel_(self):
        """Whether this is a multilabel classifier (``y`` was an indicator matrix)."""
        return self.label_binarizer_.y_type_.startswith("multilabel")

    @property
    def n_classes_(self):
        """Number of classes (of labels, for a multilabel ``y``)."""
        return len(self.classes_)
