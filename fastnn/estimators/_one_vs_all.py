"""OneVsAllClassifier: a multiclass classifier made of one binary classifier per class.

It composes any scikit-learn binary classifier (fastnn's LogisticRegression by default),
the way :class:`sklearn.multiclass.OneVsRestClassifier` does for single-label targets.
"""

import inspect
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.base import _fit_context
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    has_fit_parameter,
    validate_data,
)

from fastnn.estimators import _saved as saved
from fastnn.estimators._logistic import LogisticRegression
from fastnn.estimators._serving import serves_row, skips_validation
from fastnn.estimators._stacked import StackedServing
from fastnn.saving.estimators import (
    read_classifier,
    read_node,
    write_classifier,
    write_node,
)

# The labels each binary estimator learns: 1 for "this class", 0 for "any other class".
_BINARY_CLASSES = np.array([0, 1])
_MAX_ESTIMATORS = 100_000  # in a saved file


def _fit_binary(estimator, X, y, sample_weight):
    """Fit a clone of ``estimator`` on one class against the rest."""
    estimator = clone(estimator)
    if sample_weight is None:
        estimator.fit(X, y)
    else:
        estimator.fit(X, y, sample_weight=sample_weight)
    return estimator


def _partial_fit_binary(estimator, X, y, sample_weight):
    """One more step of ``estimator`` on one class against the rest."""
    if sample_weight is None:
        estimator.partial_fit(X, y, classes=_BINARY_CLASSES)
    else:
        estimator.partial_fit(
            X, y, classes=_BINARY_CLASSES, sample_weight=sample_weight
        )
    return estimator


def _binary_scores(estimator, X):
    """How sure ``estimator`` is of its class for each sample, shape (n_samples,)."""
    if hasattr(estimator, "decision_function"):
        return np.ravel(estimator.decision_function(X))
    return estimator.predict_proba(X)[:, 1]


def _accepts(method, parameter):
    """Whether the bound ``method`` takes ``parameter`` (has_fit_parameter for any)."""
    return parameter in inspect.signature(method).parameters


def _base_has(attr):
    """For ``available_if``: the fitted binary estimators (else the template) have
    ``attr``; the AttributeError they raise otherwise is the one the user sees."""

    def check(self):
        if hasattr(self, "estimators_"):
            getattr(self.estimators_[0], attr)
        else:
            getattr(self._base_estimator(), attr)
        return True

    return check


class OneVsAllClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """One-vs-all (one-vs-rest) multiclass classifier.

    Fits one binary clone of ``estimator`` per class, that class against all the others,
    and predicts the class whose binary estimator is the most confident
    (``decision_function`` if the estimator has one, else the probability of its
    positive class). Any scikit-learn binary classifier composes; fastnn's
    :class:`~fastnn.estimators._logistic.LogisticRegression` is the default.

    With two classes a single estimator is fitted (``classes_[1]`` against
    ``classes_[0]``), as :class:`sklearn.multiclass.OneVsRestClassifier` does: a
    second one would only mirror it. Targets are single-label (1-D ``y``); fitting on
    one class raises a ValueError, as scikit-learn's LogisticRegression does.

    Parameters
    ----------
    estimator : estimator object, default=None
        The binary classifier to clone once per class. It implements ``fit`` and
        ``decision_function`` or ``predict_proba``. ``None`` means fastnn's
        ``LogisticRegression()`` (scikit-learn's convention for a default
        sub-estimator, as in ``AdaBoostClassifier(estimator=None)``); pass the
        estimator explicitly to tune its parameters, e.g. ``estimator__C`` in
        ``GridSearchCV``.

    n_jobs : int, default=None
        The number of jobs fitting the binary estimators in parallel (joblib).
        ``None`` means 1 unless in a :obj:`joblib.parallel_backend` context, ``-1``
        all processors. The result does not depend on it.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted binary estimators: one per class, or one for a binary problem.
        Each learned the labels 0 (any other class) and 1 (its class).

    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    sklearn.multiclass.OneVsRestClassifier : scikit-learn's version, which also takes
        multilabel targets.

    Notes
    -----
    ``X`` is validated once here (a 2-D numeric array, or a sparse matrix when the
    estimator takes one; NaN only when the estimator allows it) and then handed to the
    binary estimators as is, so its dtype is theirs to choose: float32 stays float32
    wherever the estimator keeps it. A single row, when the binary estimators are fastnn
    LogisticRegressions, is served in one pass instead: their weights, stacked into
    one matrix when ``estimators_`` is set (by fit, partial_fit or loading), give every
    class's score in one product, to rounding the same. A binary estimator changed in
    place (refitted, its ``coef_`` written into) is seen by one-row predictions once
    ``estimators_`` is set again. For text, put the vectorizer in a ``Pipeline``
    before this classifier, or wrap a ``Pipeline`` as ``estimator``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import OneVsAllClassifier
    >>> X = np.array([[10, 10], [8, 10], [-5, 5.5], [-5.4, 5.5],
    ...               [-20, -20], [-15, -20]])
    >>> y = np.array(["cat", "cat", "dog", "dog", "fox", "fox"])
    >>> clf = OneVsAllClassifier().fit(X, y)
    >>> clf.classes_
    array(['cat', 'dog', 'fox'], dtype='<U3')
    >>> len(clf.estimators_)
    3
    >>> clf.predict([[-19, -20], [9, 9], [-5, 5]])
    array(['fox', 'cat', 'dog'], dtype='<U3')
    >>> clf.predict_proba([[9, 9]]).shape
    (1, 3)
    >>> round(float(clf.predict_proba([[9, 9]]).sum()), 12)
    1.0
    """

    _parameter_constraints = {
        "estimator": [
            HasMethods(["fit", "decision_function"]),
            HasMethods(["fit", "predict_proba"]),
            None,
        ],
        "n_jobs": [Integral, None],
    }

    def __init__(self, estimator=None, *, n_jobs=None):
        self.estimator = estimator
        self.n_jobs = n_jobs

    def _base_estimator(self):
        """The template the binary estimators are cloned from."""
        return LogisticRegression() if self.estimator is None else self.estimator

    def _validate(self, X, y="no_validation", reset=False):
        """validate_data, allowing what the binary estimator accepts (sparse, NaN)."""
        input_tags = get_tags(self._base_estimator()).input_tags
        return validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"] if input_tags.sparse else False,
            dtype="numeric",
            ensure_all_finite="allow-nan" if input_tags.allow_nan else True,
            reset=reset,
        )

    def _validate_for_predict(self, X):
        """The predict-time check of ``X``, lean for an input that is already right."""
        # NOTE: any layout (order=None): the binary estimators check X themselves.
        fitted = "estimators_" in self.__dict__
        n_features = self.n_features_in_ if fitted else None
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
        stacked = serve.stacked(state["estimators_"], state["n_features_in_"])
        if stacked is None or not serves_row(self, X, stacked.n_features,
                                             stacked.dtype):
            return None
        return stacked

    def _served_scores(self, X):
        """The decision values of a served row of more than two classes, else None
        (two classes: the binary estimator's own)."""
        stacked = self._stacked(X)
        if stacked is None or len(stacked.estimators) == 1:
            return None
        return stacked.scores(X)

    @_fit_context(
        # the estimator's own parameters are validated by its own fit
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, sample_weight=None):
        """Fit one binary estimator per class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse only if the estimator accepts it.

        y : array-like of shape (n_samples,)
            Class labels (numbers or strings), at least two distinct.

        sample_weight : array-like of shape (n_samples,), default=None
            Passed to each binary estimator's ``fit``; a ValueError if the estimator
            does not take ``sample_weight``.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        estimator = self._base_estimator()
        X, y = self._validate(X, y, reset=True)
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {classes.tolist()[0]!r}."
            )
        if sample_weight is not None:
            if not has_fit_parameter(estimator, "sample_weight"):
                raise ValueError(
                    f"{type(estimator).__name__}.fit does not take sample_weight, "
                    f"so {type(self).__name__} cannot pass it on."
                )
            sample_weight = _check_sample_weight(sample_weight, X)

        # Binary problem: one estimator, classes[1] against classes[0].
        positives = [1] if len(classes) == 2 else range(len(classes))
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_binary)(
                estimator, X, (y_index == k).astype(np.int64), sample_weight
            )
            for k in positives
        )
        self.classes_ = classes
        self._serve = StackedServing()
        return self

    @available_if(_base_has("partial_fit"))
    @_fit_context(prefer_skip_nested_validation=False)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One incremental step of every binary estimator on a batch.

        Available when the estimator has ``partial_fit``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A batch of training data.

        y : array-like of shape (n_samples,)
            Its labels; each must be one of ``classes``.

        classes : array-like of shape (n_classes,), default=None
            All the classes, across all calls. Required on the first call; on later
            calls it may be omitted or repeated, but not changed.

        sample_weight : array-like of shape (n_samples,), default=None
            Passed to each binary estimator's ``partial_fit``.

        Returns
        -------
        self : object
            The updated classifier.
        """
        first_call = not hasattr(self, "estimators_")
        if first_call and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None:
            classes = unique_labels(classes)
            if not first_call and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"classes={classes.tolist()} is not the same as on the first "
                    f"call to partial_fit, {self.classes_.tolist()}."
                )
        else:
            classes = self.classes_
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes, "
                f"got {classes.tolist()}."
            )

        X, y = self._validate(X, y, reset=first_call)
        check_classification_targets(y)
        unknown = np.setdiff1d(y, classes)
        if unknown.size:
            raise ValueError(
                f"y contains labels {unknown.tolist()} that are not in classes "
                f"{classes.tolist()}."
            )
        if sample_weight is not None:
            base = self.estimators_[0] if not first_call else self._base_estimator()
            if not _accepts(base.partial_fit, "sample_weight"):
                raise ValueError(
                    f"{type(base).__name__}.partial_fit does not take sample_weight, "
                    f"so {type(self).__name__} cannot pass it on."
                )
            sample_weight = _check_sample_weight(sample_weight, X)

        y_index = np.searchsorted(classes, y)
        positives = [1] if len(classes) == 2 else range(len(classes))
        if first_call:
            template = self._base_estimator()
            estimators = [clone(template) for _ in positives]
        else:
            estimators = self.estimators_
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(_partial_fit_binary)(
                estimator, X, (y_index == k).astype(np.int64), sample_weight
            )
            for estimator, k in zip(estimators, positives)
        )
        self.classes_ = classes
        self._serve = StackedServing()
        return self

    def predict(self, X):
        """Predict the class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The class whose binary estimator is the most confident; for a binary
            problem, the prediction of the one estimator.
        """
        scores = self._served_scores(X)
        if scores is not None:
            return self.classes_[np.argmax(scores, axis=1)]
        X = self._validate_for_predict(X)
        if len(self.classes_) == 2:
            positive = np.asarray(self.estimators_[0].predict(X), dtype=np.intp)
            return self.classes_[positive]
        scores = np.column_stack([_binary_scores(e, X) for e in self.estimators_])
        return self.classes_[np.argmax(scores, axis=1)]

    @available_if(_base_has("decision_function"))
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

    @available_if(_base_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities: the binary estimators' probabilities, normalised.

        Available when the estimator has ``predict_proba``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Column ``k`` is the probability of ``classes_[k]``, as ordered in
            ``classes_``; each row sums to 1.
        """
        stacked = self._stacked(X)
        proba = None if stacked is None else stacked.proba(X)
        if proba is not None:
            return proba
        X = self._validate_for_predict(X)
        if len(self.estimators_) == 1:
            # the binary estimator's own two columns: more exact than 1 - p when p ~ 1
            proba = np.asarray(self.estimators_[0].predict_proba(X))
        else:
            proba = np.column_stack(
                [e.predict_proba(X)[:, 1] for e in self.estimators_]
            )
        row_sums = proba.sum(axis=1, keepdims=True)
        # NOTE: a row that every binary estimator gives 0 has no preference: uniform.
        uniform = np.full_like(proba, 1 / proba.shape[1])
        return np.divide(proba, row_sums, out=uniform, where=row_sums != 0)

    @available_if(_base_has("predict_proba"))
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

    def __sklearn_is_fitted__(self):
        # NOTE: a first fit or partial_fit that failed on its labels has already set
        # n_features_in_; only a successful one sets estimators_.
        return "estimators_" in self.__dict__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        base_tags = get_tags(self._base_estimator())
        tags.input_tags.sparse = base_tags.input_tags.sparse
        tags.input_tags.allow_nan = base_tags.input_tags.allow_nan
        tags.input_tags.pairwise = base_tags.input_tags.pairwise
        return tags

    # -- saved state (owned here, read and written by fastnn.saving) --

    from_config = classmethod(saved.from_config)

    def __fastnn_save__(self, writer):
        """The fitted attributes (JSON, arrays added to ``writer``); each binary
        estimator is saved as a node of its own."""
        return {**write_classifier(self, writer),
                "estimators_": [write_node(binary, writer)
                                for binary in self.estimators_]}

    def __fastnn_load__(self, fitted, reader):
        """Restore :meth:`__fastnn_save__`'s attributes from an untrusted file: the
        binary estimators are fastnn LogisticRegressions matching the classifier."""
        n_features, classes = read_classifier(self, fitted, reader, {"estimators_"})
        binaries = fitted["estimators_"]
        expected = 1 if len(classes) == 2 else len(classes)
        if (len(classes) < 2 or not isinstance(binaries, list)
                or len(binaries) != expected):
            raise ValueError(f"estimators_ is not {expected} binary estimators")
        if expected > _MAX_ESTIMATORS:
            raise ValueError("too many binary estimators")
        self.estimators_ = [
            read_node(binary, reader, {"LogisticRegression": LogisticRegression})
            for binary in binaries
        ]
        for binary in self.estimators_:
            if (binary.n_features_in_ != n_features
                    or binary.classes_.tolist() != [0, 1]):
                raise ValueError("a binary estimator does not match the classifier")
        self._serve = StackedServing()
