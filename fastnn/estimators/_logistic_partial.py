"""LogisticRegression's ``partial_fit`` (solver='sgd'): one SGD epoch per call on the
rows given. A mixin, so that the estimator's module keeps to ``fit``."""

import warnings

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils.metaestimators import available_if

from fastnn.estimators._logistic_params import read_penalty
from fastnn.estimators._logistic_solvers import fit_sgd


class LogisticPartialFit:
    """``partial_fit`` on the estimator's own validation, weights and parameters
    (``_validate_fit_data``, ``_sample_weights``, ``_problem``, ``_set_params``)."""

    def _check_solver(self):
        if self.solver != "sgd":
            raise AttributeError(
                f"partial_fit needs solver='sgd'; solver={self.solver!r} fits all the "
                "data at once"
            )
        return True

    @available_if(_check_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One SGD epoch over ``X``, ``y`` (solver='sgd' only).

        Each call minimises the objective of its own rows: the L2 term weighs
        ``0.5 / (C * sum(s))`` with ``sum(s)`` this chunk's (sample-weight) total, so
        many small chunks regularise more than one ``fit`` on all the rows. The step
        size of call ``t`` (``n_iter_`` before it) is
        ``learning_rate / (1 + t) ** power_t``: with ``shuffle=False``, ``k`` calls
        on the same rows give what ``fit`` gives after ``k`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call, optional (and then equal to
            the first call's) afterwards.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : LogisticRegression
        """
        first_call = not hasattr(self, "classes_")
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' needs the whole y; partial_fit sees one chunk. "
                "Pass a dict of class weights (e.g. from compute_class_weight)."
            )
        if first_call:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
        elif classes is not None and not np.array_equal(
            np.unique(np.asarray(classes)), self.classes_
        ):
            raise ValueError(
                f"classes={classes!r} is not the same as on the first call to "
                f"partial_fit ({self.classes_!r})"
            )
        X, y = self._validate_fit_data(X, y, reset=first_call)
        if first_call:
            classes = np.unique(np.asarray(classes))
            if len(classes) < 2:
                raise ValueError("classes must hold at least 2 classes")
        else:
            classes = self.classes_
            if X.dtype != self.coef_.dtype:
                X = X.astype(self.coef_.dtype)
        unknown = np.setdiff1d(np.unique(y), classes)
        if unknown.size:
            raise ValueError(f"y holds labels not in classes: {unknown!r}")
        y_index = np.searchsorted(classes, y).astype(np.intp)
        weights, weight_sum = self._sample_weights(X, y, sample_weight)
        if first_call:
            W, b = self._initial_params(X, len(classes), warm=False)
            done = 0
        else:
            W, b = np.ascontiguousarray(self.coef_.T), self.intercept_.copy()
            done = int(self.n_iter_[0])
        with warnings.catch_warnings():
            if not first_call:  # (the first call has said what the parameters warn)
                warnings.simplefilter("ignore")
            penalty = read_penalty(self)
        problem = self._problem(X, y_index, weights, weight_sum, len(classes), penalty)
        n_iter = fit_sgd(self, problem, W, b, epochs=1, first=done, stop_early=False)
        self.classes_ = classes
        self._set_params(W, b)
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        return self
