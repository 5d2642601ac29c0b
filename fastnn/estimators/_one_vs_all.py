"""OneVsAllClassifier: a classifier made of one binary estimator per class or label.

It composes any scikit-learn classifier or regressor (fastnn's LogisticRegression by
default) the way :class:`sklearn.multiclass.OneVsRestClassifier` does, for
single-label and multilabel targets. The binary problems (fitting one, a constant
label, an estimator's scores) are in ``_one_vs_all_binary``, ``partial_fit`` in
``_one_vs_all_partial``, the default estimator in ``_one_vs_all_default``, the saved
state in ``_one_vs_all_state``, the one-row serving path in ``_stacked``.
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    MultiOutputMixin,
    _fit_context,
)
from sklearn.callback import CallbackSupportMixin
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.metaestimators import available_if
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _num_samples,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from fastnn.estimators._callbacks import has_callbacks
from fastnn.estimators._one_vs_all_binary import (
    binarize,
    binary_positive,
    binary_scores,
    checked_weight,
    columns,
    constant_label_warnings,
    estimators_have,
    first_fitted,
    fit_binary,
    sparse_indicator,
)
from fastnn.estimators._one_vs_all_default import DefaultEstimator
from fastnn.estimators._one_vs_all_partial import OneVsAllPartialFit
from fastnn.estimators._one_vs_all_state import OneVsAllState
from fastnn.estimators._serving import serves_row, skips_validation
from fastnn.estimators._stacked import StackedServing


class OneVsAllClassifier(
    CallbackSupportMixin,
    MultiOutputMixin,
    ClassifierMixin,
    OneVsAllPartialFit,
    OneVsAllState,
    DefaultEstimator,
    MetaEstimatorMixin,
    BaseEstimator,
):
    """One-vs-all (one-vs-rest) classifier, multiclass or multilabel.

    Fits one binary clone of ``estimator`` per class, that class against all the
    others, as :class:`sklearn.multiclass.OneVsRestClassifier` does; fastnn's
    :class:`~fastnn.estimators._logistic.LogisticRegression` is the default. A
    single-label ``y`` predicts the class whose estimator is the most confident; a
    multilabel ``y`` (an indicator matrix, dense or sparse) fits one estimator per
    label and predicts every label whose estimator says yes.

    How confident an estimator is: a classifier's ``decision_function`` (yes above
    0), else its ``predict_proba`` for the positive class (yes above 0.5), else its
    ``predict``; a regressor's ``predict`` (yes above 0.5). With two classes a single
    estimator is fitted (``classes_[1]`` against ``classes_[0]``). A label of a
    multilabel ``y`` that every training sample has, or none has, cannot be learned:
    it gets a constant predictor (``"Label ... is present in all training examples"``, a
    UserWarning). A single-label ``y`` of one class is refused (a ValueError, as
    fastnn's and scikit-learn's LogisticRegression do; scikit-learn's OneVsRest fits
    a constant predictor).

    Parameters
    ----------
    estimator : estimator object, default=None
        The classifier or regressor to clone once per class; it implements ``fit``.
        ``None`` means fastnn's ``LogisticRegression()`` (scikit-learn's convention
        for a default sub-estimator, as in ``AdaBoostClassifier(estimator=None)``).
        Its parameters can be set and searched even then: ``estimator__C`` in
        ``set_params`` or ``GridSearchCV`` makes the default explicit first.

    n_jobs : int, default=None
        The number of jobs fitting the binary estimators in parallel (joblib).
        ``None`` means 1 unless in a :obj:`joblib.parallel_backend` context, ``-1``
        all processors. The result does not depend on it.

    verbose : int, default=0
        joblib's verbosity while fitting the binary estimators.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted binary estimators: one per class or label, one for a binary
        problem. Each learned the labels 0 (not its class) and 1 (its class).

    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted; for a multilabel ``y``, the column indices.

    n_classes_ : int
        Number of classes (or labels).

    label_binarizer_ : sklearn.preprocessing.LabelBinarizer
        Turned ``y`` into the binary problems' labels; turns predictions back.

    multilabel_ : bool
        Whether ``y`` was a multilabel indicator matrix.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    sklearn.multiclass.OneVsRestClassifier : scikit-learn's version.

    Notes
    -----
    ``X`` is validated once here (any scikit-learn sparse format when the estimator
    takes sparse input: CSR and CSC as they are, the others as one CSR copy; NaN
    only when the estimator allows it) and then handed to the binary estimators as
    is, so its dtype is theirs to choose: float32 stays float32 wherever the
    estimator keeps it. A ``Pipeline`` as the estimator gets ``X`` unchecked, as in
    scikit-learn: its steps decide what ``X`` may be (text before a vectorizer, NaN
    before an imputer); ``n_features_in_`` is then the pipeline's, if it has one.

    A single row, when the binary estimators are fastnn LogisticRegressions, is
    served in one pass instead: their weights, stacked into one matrix when
    ``estimators_`` is set (by fit, partial_fit or loading), give every class's
    score in one product, to rounding the same. A binary estimator changed in place
    (refitted, its ``coef_`` written into) is seen by one-row predictions once
    ``estimators_`` is set again.

    Single-label probabilities are each estimator's, normalised to sum to 1 (a row
    every estimator gives 0 is uniform, where scikit-learn leaves it all zeros);
    multilabel ones are each label's own, not normalised. For text, put the
    vectorizer in a ``Pipeline`` before this classifier, or wrap a ``Pipeline`` as
    ``estimator``.

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
    >>> round(float(clf.predict_proba([[9, 9]]).sum()), 12)
    1.0

    A multilabel target: one column per label, any number of labels per sample.

    >>> Y = np.array([[1, 0], [1, 0], [1, 1], [1, 1], [0, 1], [0, 1]])
    >>> multilabel = OneVsAllClassifier().fit(X, Y)
    >>> multilabel.multilabel_
    True
    >>> multilabel.predict([[9, 9], [-19, -20]])
    array([[1, 0],
           [0, 1]])
    """

    _parameter_constraints = {
        "estimator": [
            HasMethods(["fit", "decision_function"]),
            HasMethods(["fit", "predict_proba"]),
            HasMethods(["fit", "predict"]),
            None,
        ],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(self, estimator=None, *, n_jobs=None, verbose=0):
        self.estimator = estimator
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _passes_x_through(self):
        """Whether ``X`` goes to the binary estimators unchecked, as scikit-learn's
        OneVsRestClassifier hands it on: the estimator is a Pipeline, whose first
        step decides what ``X`` may be (text, NaN before an imputer, ...)."""
        return isinstance(self._base_estimator(), Pipeline)

    def _validate(self, X, reset=False):
        """validate_data, allowing what the binary estimator accepts (sparse, NaN);
        ``X`` itself for a Pipeline (see ``_passes_x_through``)."""
        if self._passes_x_through():
            if reset:  # known again once a pipeline is fitted (fit takes its own)
                self.__dict__.pop("n_features_in_", None)
                self.__dict__.pop("feature_names_in_", None)
            return X
        input_tags = get_tags(self._base_estimator()).input_tags
        return validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"] if input_tags.sparse else False,
            dtype="numeric",
            ensure_all_finite="allow-nan" if input_tags.allow_nan else True,
            reset=reset,
        )

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

    @_fit_context(
        # the estimator's own parameters are validated by its own fit
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, sample_weight=None):
        """Fit one binary estimator per class (or label).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse only if the estimator accepts it.

        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_labels)
            Class labels (numbers or strings), or a multilabel indicator matrix of
            0/1 (dense, or any scipy sparse format).

        sample_weight : array-like of shape (n_samples,), default=None
            Passed to each binary estimator's ``fit``; a ValueError if the estimator
            does not take ``sample_weight``.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        estimator = self._base_estimator()
        X = self._validate(X, reset=True)
        check_consistent_length(X, y)
        binarizer, Y = binarize(y)
        classes = binarizer.classes_
        if len(classes) < 2:  # (a multilabel y has 2 columns or more)
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {classes.tolist()[0]!r}."
            )
        sample_weight = checked_weight(self, estimator.fit, sample_weight, X)
        constant_label_warnings(Y, classes)
        # NOTE: the callbacks' task is the fit, each binary fit a subtask that the
        # binary estimator's own task tree joins (scikit-learn's meta-estimators).
        callbacks = self._init_callback_context(max_subtasks=Y.shape[1])
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        callbacks.call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)
        tasks = ([(self, callbacks.subcontext(task_name="fit-binary"))
                  for _ in range(Y.shape[1])] if has_callbacks(self)
                 else [None] * Y.shape[1])
        self.estimators_ = Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(
            delayed(fit_binary)(estimator, X, column, sample_weight, task)
            for column, task in zip(columns(Y), tasks)
        )
        if self._passes_x_through():
            # as scikit-learn's: the width and names of the first pipeline, if known
            first = first_fitted(self.estimators_)
            for name in ("n_features_in_", "feature_names_in_"):
                if hasattr(first, name):
                    setattr(self, name, getattr(first, name))
        self.label_binarizer_ = binarizer
        self.classes_ = classes
        self._serve = StackedServing()
        callbacks.call_on_fit_task_end(estimator=self, X=X, y=y, metadata=metadata,
                                       reconstruction_attributes={})
        return self

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
        tags.classifier_tags.multi_label = True
        return tags
