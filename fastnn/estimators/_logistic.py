"""LogisticRegression: the lecture's sigmoid neuron (two classes) and softmax (more),
fitted by L-BFGS on fastnn's fused loss-and-gradient kernels or by SGD epochs in
Cython. This module validates and routes; the solvers are in ``_logistic_solvers``."""

import numbers
from math import isfinite

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from fastnn import ops
from fastnn.estimators import _saved as saved
from fastnn.estimators._logistic_problem import LogisticProblem
from fastnn.estimators._logistic_solvers import fit_lbfgs, fit_sgd
from fastnn.estimators._serving import (
    bind_row,
    row_bindings,
    serves_row,
    skips_validation,
)
from fastnn.saving.estimators import read_classifier, write_classifier


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


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression: sigmoid for two classes, softmax (multinomial) for more.

    Minimises scikit-learn's objective ``C * sum_i s_i loss_i + 0.5 * ||W||**2``
    (``s_i`` the sample weight times the class weight, ``loss_i`` the log-loss of
    sample ``i``; the intercept is not penalised), so it reaches the same solution as
    ``sklearn.linear_model.LogisticRegression`` with ``solver='lbfgs'``.

    Both solvers accept dense arrays and sparse CSR matrices (float32 or float64; other
    sparse formats are converted to CSR). float32 input is fitted and predicted in
    float32, float64 in float64; a C-contiguous dense ``X`` is never copied. On a large
    dense ``X``, L-BFGS's loss-and-gradient pass splits the rows across the available
    cores (OpenMP threads, with BLAS held to one thread meanwhile).

    Parameters
    ----------
    penalty : {'l2', None}, default='l2'
        ``None`` fits the unpenalised maximum-likelihood model (``C`` is then unused).
    C : float, default=1.0
        Inverse regularisation strength; ``np.inf`` is the same as ``penalty=None``.
    fit_intercept : bool, default=True
    solver : {'lbfgs', 'sgd'}, default='lbfgs'
        'lbfgs': ``scipy.optimize.minimize(method='L-BFGS-B')`` on the exact objective,
        stopping when the largest gradient entry of the objective divided by
        ``C * sum(s)`` is below ``tol`` (scikit-learn's criterion). 'sgd': mini-batch
        stochastic gradient epochs (in Cython) on the same objective; ``partial_fit``
        is available.
    max_iter : int, default=100
        L-BFGS iterations, or SGD epochs.
    tol : float, default=1e-4
        'lbfgs': gradient tolerance. 'sgd': an epoch counts as no improvement when its
        objective is not below the best one by ``tol``; training stops after
        ``n_iter_no_change`` such epochs.
    class_weight : dict, 'balanced' or None, default=None
        Multiplies each sample's weight by the weight of its class.
    warm_start : bool, default=False
        Start from the previous ``coef_`` and ``intercept_`` when the classes match.
    random_state : int, RandomState instance or None, default=None
        Shuffles the samples of each SGD epoch (unused by 'lbfgs').
    verbose : int, default=0
        Prints the objective at every iteration or epoch when positive.
    learning_rate : float, default=1.0
        SGD step size of the first epoch; epoch ``t`` (from 0) uses
        ``learning_rate / (1 + t) ** power_t``.
    power_t : float, default=0.25
        Decay exponent of the SGD step size (0 keeps it constant).
    batch_size : int, default=32
        SGD mini-batch size (1 is plain per-sample SGD).
    shuffle : bool, default=True
        Reshuffle the samples before every SGD epoch.
    n_iter_no_change : int, default=5
        SGD epochs without improvement by ``tol`` before stopping.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : ndarray of shape (1,)
        L-BFGS iterations, or SGD epochs (counted over all ``partial_fit`` calls).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when ``X`` has string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from fastnn import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=1000).fit(X, y)
    >>> clf.coef_.shape
    (3, 4)
    >>> clf.predict(X[:2])
    array([0, 0])
    >>> round(clf.score(X, y), 2)
    0.97
    """

    _parameter_constraints = {
        "penalty": [StrOptions({"l2"}), None],
        "C": [Interval(numbers.Real, 0, None, closed="right")],
        "fit_intercept": ["boolean"],
        "solver": [StrOptions({"lbfgs", "sgd"})],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "power_t": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        penalty="l2",
        *,
        C=1.0,
        fit_intercept=True,
        solver="lbfgs",
        max_iter=100,
        tol=1e-4,
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        learning_rate=1.0,
        power_t=0.25,
        batch_size=32,
        shuffle=True,
        n_iter_no_change=5,
    ):
        self.penalty = penalty
        self.C = C
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.learning_rate = learning_rate
        self.power_t = power_t
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.n_iter_no_change = n_iter_no_change

    def __sklearn_is_fitted__(self):
        # NOTE: a first fit or partial_fit that failed on its labels has already set
        # n_features_in_; only a successful one sets coef_.
        return "coef_" in self.__dict__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ----------------------------------------------------------------------- fitting

    def fit(self, X, y, sample_weight=None):
        """Fit the model to ``X`` (n_samples, n_features) and labels ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : LogisticRegression
        """
        self._validate_params()
        X, y = self._validate_fit_data(X, y, reset=True)
        classes, y_index = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the "
                f"data contains only one class: {classes[0]!r}"
            )
        warm = (
            self.warm_start
            and hasattr(self, "coef_")
            and np.array_equal(classes, self.classes_)
            and self.coef_.dtype == X.dtype
        )
        weights, weight_sum = self._sample_weights(X, y, sample_weight)
        W, b = self._initial_params(X, len(classes), warm)
        problem = self._problem(X, y_index, weights, weight_sum, len(classes))
        if self.solver == "lbfgs":
            n_iter = fit_lbfgs(problem, W, b)
        else:
            n_iter = fit_sgd(
                self, problem, W, b, epochs=self.max_iter, first=0, stop_early=True
            )
        # NOTE: the fitted state changes only once the fit has succeeded.
        self.classes_ = classes
        self._set_params(W, b)
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        return self

    def _validate_fit_data(self, X, y, reset):
        # NOTE: order="C" keeps a C-contiguous float ndarray as is (no copy), and
        # dtype=[float64, float32] keeps float32 data float32.
        X, y = validate_data(
            self, X, y, reset=reset, accept_sparse="csr", order="C",
            dtype=[np.float64, np.float32], accept_large_sparse=True,
        )
        check_classification_targets(y)
        return X, y

    def _sample_weights(self, X, y, sample_weight):
        """(weights in X's dtype or None for all ones, their sum)."""
        n_samples = X.shape[0]
        if sample_weight is None and self.class_weight is None:
            return None, float(n_samples)
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True, copy=True
        )
        if self.class_weight is not None:
            weights *= compute_sample_weight(self.class_weight, y)
        weight_sum = float(weights.sum())
        if not weight_sum > 0:
            raise ValueError("the sample weights (times the class weights) sum to zero")
        return weights.astype(X.dtype, copy=False), weight_sum

    def _problem(self, X, y_index, weights, weight_sum, n_classes):
        C = np.inf if self.penalty is None else self.C
        return LogisticProblem(
            X, y_index, weights, weight_sum, 1 if n_classes == 2 else n_classes,
            fit_intercept=self.fit_intercept, C=C, tol=self.tol,
            max_iter=self.max_iter, verbose=self.verbose,
            random_state=self.random_state,
        )

    def _initial_params(self, X, n_classes, warm):
        n_outputs = 1 if n_classes == 2 else n_classes
        W = np.zeros((X.shape[1], n_outputs), X.dtype)
        b = np.zeros(n_outputs, X.dtype)
        if warm:
            W[:] = self.coef_.T
            b[:] = self.intercept_
        return W, b

    def _set_params(self, W, b):
        self.coef_ = np.ascontiguousarray(W.T)
        self.intercept_ = b.copy() if self.fit_intercept else np.zeros_like(b)

    def _check_solver(self):
        if self.solver != "sgd":
            raise AttributeError(
                f"partial_fit needs solver='sgd'; solver={self.solver!r} fits all the "
                "data at once"
            )
        return True

    @available_if(_check_solver)
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
            self._validate_params()
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
        problem = self._problem(X, y_index, weights, weight_sum, len(classes))
        n_iter = fit_sgd(self, problem, W, b, epochs=1, first=done, stop_early=False)
        self.classes_ = classes
        self._set_params(W, b)
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        return self

    # ------------------------------------------------------------------------ predicting

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
        if (coef is None or type(intercept) is not np.ndarray
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

    def _scores(self, X):
        """X @ coef_.T + intercept_; a served row or a ready float ndarray skips the
        validation."""
        scores = self._served(X, proba=False)
        return self._validated_scores(X) if scores is None else scores

    def _validated_scores(self, X):
        """X @ coef_.T + intercept_ for any ``X``: a ready one is used as is, any other
        validated first."""
        coef = self.__dict__.get("coef_")
        # NOTE: np.dot, not @: for one row matmul's dispatch costs twice the product.
        if skips_validation(self, X, None if coef is None else coef.shape[1]):
            scores = np.dot(X, coef.T)
        else:
            check_is_fitted(self)
            X = validate_data(
                self, X, reset=False, accept_sparse="csr",
                dtype=[np.float64, np.float32],
            )
            scores = X @ self.coef_.T
            if sp.issparse(scores):  # a CSR X with no stored value
                scores = scores.toarray()
            scores = np.ascontiguousarray(scores)
        scores += self.intercept_
        return scores

    def decision_function(self, X):
        """Scores: shape (n_samples,) for two classes (positive means classes_[1]),
        else (n_samples, n_classes)."""
        scores = self._scores(X)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """The class of highest probability for each row of ``X``."""
        scores = self._scores(X)
        if scores.shape[1] == 1:
            return self.classes_[(scores[:, 0] > 0).astype(np.intp)]
        return self.classes_[scores.argmax(axis=1)]

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), in the order of classes_."""
        proba = self._served(X, proba=True)
        if proba is not None:
            return proba
        scores = self._validated_scores(X)
        if scores.shape[1] == 1:
            # NOTE: sigmoid(-z) and sigmoid(z) side by side: 1 - sigmoid(z) would lose
            # the small probability to cancellation when z is large.
            proba = _both_classes(scores)
            return expit(proba, out=proba)
        return ops.softmax(scores, out=scores)

    def predict_log_proba(self, X):
        """Log of predict_proba, computed without taking the log of a rounded 0."""
        scores = self._scores(X)
        if scores.shape[1] == 1:
            # NOTE: log sigmoid(z) = -log(1 + exp(-z)), scipy's log_expit, finite for
            # any finite z (log(expit(z)) is -inf once expit underflows).
            log_proba = _both_classes(scores)
            return log_expit(log_proba, out=log_proba)
        return ops.log_softmax(scores, out=scores)

    # -- saved state (owned here, read and written by fastnn.saving) --

    from_config = classmethod(saved.from_config)

    def __fastnn_save__(self, writer):
        """The fitted attributes (JSON, arrays added to ``writer``)."""
        return {**write_classifier(self, writer), "coef_": writer.add(self.coef_),
                "intercept_": writer.add(self.intercept_),
                "n_iter_": writer.add(self.n_iter_)}

    def __fastnn_load__(self, fitted, reader):
        """Restore :meth:`__fastnn_save__`'s attributes from an untrusted file: every
        shape and dtype checked against the others (ValueError)."""
        n_features, classes = read_classifier(self, fitted, reader,
                                              {"coef_", "intercept_", "n_iter_"})
        if len(classes) < 2:
            raise ValueError("a LogisticRegression has at least 2 classes")
        n_outputs = 1 if len(classes) == 2 else len(classes)
        coef = reader.array(fitted["coef_"], "coef_", ndim=2)
        if coef.shape != (n_outputs, n_features) or coef.dtype.name not in (
            "float32", "float64"
        ):
            raise ValueError(f"coef_ is {coef.dtype} {coef.shape}, expected "
                             f"{(n_outputs, n_features)} floats")
        intercept = reader.array(fitted["intercept_"], "intercept_", dtype=coef.dtype)
        n_iter = reader.array(fitted["n_iter_"], "n_iter_", "i", dtype=np.int32)
        if intercept.shape != (n_outputs,) or n_iter.shape != (1,):
            raise ValueError("intercept_ or n_iter_ has the wrong shape")
        self.coef_, self.intercept_ = coef.copy(), intercept.copy()
        self.n_iter_ = n_iter.copy()

