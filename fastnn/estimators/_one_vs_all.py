"""OneVsAllClassifier: a classifier made of one binary estimator per class or label.

It composes any scikit-learn classifier or regressor (fastnn's LogisticRegression by
default) the way :class:`sklearn.multiclass.OneVsRestClassifier` does, for
single-label and multilabel targets. The binary problems (fitting one, a constant
label, an estimator's scores) are in ``_one_vs_all_binary``, the predictions in
``_one_vs_all_predict``, ``partial_fit`` in ``_one_vs_all_partial``, the default
estimator in ``_one_vs_all_default``, the saved state in ``_one_vs_all_state``, the
one-row serving path in ``_stacked``.
"""

from numbers import Integral

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
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    check_consistent_length,
    validate_data,
)

from fastnn.estimators._callbacks import has_callbacks
from fastnn.estimators._one_vs_all_binary import (
    binarize,
    checked_weight,
    columns,
    constant_label_warnings,
    first_fitted,
    fit_binary,
)
from fastnn.estimators._one_vs_all_default import DefaultEstimator
from fastnn.estimators._one_vs_all_partial import OneVsAllPartialFit
from fastnn.estimators._one_vs_all_predict import OneVsAllPredictions
from fastnn.estimators._one_vs_all_state import OneVsAllState
from fastnn.estimators._stacked import StackedServing
from fastnn.models.sparse import check_sparse_structure


class OneVsAllClassifier(
    CallbackSupportMixin,
    MultiOutputMixin,
    ClassifierMixin,
    OneVsAllPredictions,
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

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
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
        if input_tags.sparse and sp.issparse(X):
            check_sparse_structure(X)  # before SciPy converts it
        return validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"] if input_tags.sparse else False,
            dtype="numeric",
            ensure_all_finite="allow-nan" if input_tags.allow_nan else True,
            reset=reset,
        )

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
