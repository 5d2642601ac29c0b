"""One-vs-all's binary problems: ``y`` as one 0/1 column per class (``binarize``,
``columns``), fitting an estimator on one (``fit_binary``, ``partial_fit_binary``), a
label that every sample or no sample has (``ConstantPredictor``), and what a fitted
binary estimator says about a sample (``binary_scores``, ``binary_positive``).

Any scikit-learn estimator with ``fit`` composes, as in
:class:`sklearn.multiclass.OneVsRestClassifier`: a classifier is asked for its
``decision_function`` (positive above 0), else its ``predict_proba`` (above 0.5),
else its ``predict``; a regressor for its ``predict`` (above 0.5).
"""

import inspect
import warnings
from contextlib import contextmanager, nullcontext

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone, is_regressor
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import assert_all_finite
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_is_fitted,
)

# The labels each binary estimator learns: 1 for "this class", 0 for "any other class".
BINARY_CLASSES = np.array([0, 1])


def binarize(y):
    """(a LabelBinarizer fitted on ``y``, ``y`` as its sparse 0/1 indicator, CSC):
    one column per class, one for two classes, one per label of a multilabel ``y``."""
    if getattr(getattr(y, "dtype", None), "kind", None) == "f":
        # NOTE: NaN and infinity first, with scikit-learn's "Input y contains NaN":
        # type_of_target casts y to int64 before it looks (a RuntimeWarning).
        assert_all_finite(y, input_name="y")
    if "multioutput" not in type_of_target(y, input_name="y"):
        # (multioutput: LabelBinarizer's own error, as scikit-learn raises it)
        check_classification_targets(y)
    binarizer = LabelBinarizer(sparse_output=True)
    return binarizer, sp.csc_array(binarizer.fit_transform(y))


def columns(Y):
    """The columns of the sparse indicator ``Y`` (CSC), one at a time, as dense int64
    0/1 labels: what each binary estimator learns."""
    for k in range(Y.shape[1]):
        yield Y[:, [k]].toarray().ravel().astype(np.int64)


def sparse_indicator(positive, n_samples):
    """The CSC 0/1 matrix (n_samples, len(positive)) whose column k is the bool
    vector ``positive[k]``, built without a dense matrix."""
    rows = [np.flatnonzero(column) for column in positive]
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    return sp.csc_array(
        (np.ones(indptr[-1], dtype=int), np.concatenate(rows), indptr),
        shape=(n_samples, len(rows)),
    )


def checked_weight(classifier, method, sample_weight, X):
    """``sample_weight`` checked against ``X``, if the binary estimators' bound
    ``method`` (``fit`` or ``partial_fit``) takes it; else a ValueError."""
    if sample_weight is None:
        return None
    if "sample_weight" not in inspect.signature(method).parameters:
        owner = type(getattr(method, "__self__", None)).__name__
        raise ValueError(
            f"{owner}.{method.__name__} does not take sample_weight, so "
            f"{type(classifier).__name__} cannot pass it on."
        )
    return _check_sample_weight(sample_weight, X)


def estimators_have(attr):
    """For ``available_if``: the fitted binary estimators (the first that is not a
    ConstantPredictor; else the template) have ``attr``; the AttributeError they
    raise otherwise is the one the user sees."""

    def check(classifier):
        fitted = first_fitted(classifier.__dict__.get("estimators_", ()))
        getattr(classifier._base_estimator() if fitted is None else fitted, attr)
        return True

    return check


class ConstantPredictor(BaseEstimator):
    """The binary estimator of a label that every training sample has, or none.

    Such a column has one value, so no classifier can be fitted on it (scikit-learn's
    own ``_ConstantPredictor`` stands in for it the same way): every sample gets that
    value, as a prediction, a decision value and the probability of the positive
    class.

    Attributes
    ----------
    constant_ : int
        1 if every training sample had the label, 0 if none had it.

    n_features_in_ : int
        Number of features seen during ``fit``, when ``X`` was a matrix.
    """

    def fit(self, X, y):
        """Remember the one value of ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (only its width is kept).

        y : array-like of shape (n_samples,)
            0/1 labels, all the same.

        Returns
        -------
        self : ConstantPredictor
            The fitted predictor.
        """
        values = np.unique(np.asarray(y))
        if values.size != 1 or values[0] not in (0, 1):
            raise ValueError(
                f"ConstantPredictor takes a y of one value, 0 or 1; got {values[:5]}."
            )
        shape = getattr(X, "shape", ())
        return self._set(int(values[0]), shape[1] if len(shape) == 2 else None)

    def _set(self, constant, n_features):
        """Fitted state without data (fit, and loading a saved classifier);
        ``n_features`` None for an ``X`` that is not a matrix (text, say)."""
        self.constant_ = constant
        if n_features is not None:
            self.n_features_in_ = n_features
        return self

    def _column(self, X, dtype):
        check_is_fitted(self)
        shape = getattr(X, "shape", ())
        expected = self.__dict__.get("n_features_in_")
        if expected is not None and len(shape) == 2 and shape[1] != expected:
            raise ValueError(
                f"X has {shape[1]} features, but ConstantPredictor is expecting "
                f"{expected} features as input."
            )
        return np.full(_num_samples(X), self.constant_, dtype=dtype)

    @staticmethod
    def _float_dtype(X):
        # NOTE: the column joins the other estimators' scores; float32 X gives float32
        # scores (float64 otherwise) so that np.column_stack keeps their dtype.
        dtype = getattr(X, "dtype", None)
        return dtype if dtype in (np.float32, np.float64) else np.float64

    def predict(self, X):
        """The constant, 0 or 1, for each sample of ``X``, shape (n_samples,)."""
        return self._column(X, np.int64)

    def decision_function(self, X):
        """The constant as a decision value (1 above the threshold 0, 0 on it; as
        scikit-learn's ``_ConstantPredictor``), shape (n_samples,)."""
        return self._column(X, self._float_dtype(X))

    def predict_proba(self, X):
        """Probabilities ``[1 - constant, constant]``, shape (n_samples, 2)."""
        positive = self._column(X, self._float_dtype(X))
        return np.column_stack([1 - positive, positive])


def constant_label_warnings(Y, classes):
    """Warn, as scikit-learn does, of each column of the 0/1 indicator ``Y`` (sparse,
    n_samples by n_columns) that has one value: ``"Label <c> is present in all
    training examples."`` for a label every sample has, ``"Label not <c> ..."`` for
    one no sample has (scikit-learn's wording for both)."""
    n_samples = Y.shape[0]
    positives = np.ravel((Y != 0).sum(axis=0))
    for label, count in zip(classes, positives):
        if count in (0, n_samples):
            name = str(label) if count else f"not {label}"
            warnings.warn(
                f"Label {name} is present in all training examples.",
                UserWarning,
                stacklevel=4,
            )


def fit_binary(estimator, X, y, sample_weight, task=None):
    """A clone of ``estimator`` fitted on one label against the rest (0/1 ``y``), or a
    ConstantPredictor if ``y`` has one value. ``task`` is the one-vs-all's callback
    task for this label, ``(meta_estimator, context)``, or None: the clone's fit joins
    its task tree and gets its propagated callbacks, as in scikit-learn's
    meta-estimators."""
    if y.min() == y.max():
        fitted = ConstantPredictor()
        with _task(task, None, X, y):
            return fitted.fit(X, y)
    fitted = clone(estimator)
    with _task(task, fitted, X, y):
        if sample_weight is None:
            fitted.fit(X, y)
        else:
            fitted.fit(X, y, sample_weight=sample_weight)
    return fitted


@contextmanager
def _task(task, estimator, X, y):
    """Run one binary fit as the one-vs-all's callback ``task`` (nothing if None):
    its begin and end, the callbacks propagated to ``estimator`` (unless None: a
    constant predictor has no fit to report) while it fits."""
    if task is None:
        yield
        return
    meta, context = task
    propagated = (nullcontext() if estimator is None
                  else context.propagate_callback_context(estimator))
    with propagated:
        context.call_on_fit_task_begin(estimator=meta, X=X, y=y)
        yield
        context.call_on_fit_task_end(estimator=meta, X=X, y=y)


def partial_fit_binary(estimator, X, y, sample_weight):
    """One more step of ``estimator`` on one label against the rest."""
    if sample_weight is None:
        estimator.partial_fit(X, y, classes=BINARY_CLASSES)
    else:
        estimator.partial_fit(X, y, classes=BINARY_CLASSES, sample_weight=sample_weight)
    return estimator


def _scorer(estimator):
    """(the bound method giving ``estimator``'s scores, the threshold above which a
    score means the label)."""
    if isinstance(estimator, ConstantPredictor):
        return estimator.decision_function, 0.5
    if is_regressor(estimator):
        return estimator.predict, 0.5
    # NOTE: hasattr, not try/except around the call: an AttributeError raised inside a
    # decision_function is the estimator's bug to see, not a cue to fall back.
    if hasattr(estimator, "decision_function"):
        return estimator.decision_function, 0.0
    if hasattr(estimator, "predict_proba"):
        return (lambda X: estimator.predict_proba(X)[:, 1]), 0.5
    # a classifier without scores: its 0/1 predictions are votes
    return estimator.predict, 0.5


def binary_scores(estimator, X):
    """How sure ``estimator`` is of its label for each sample, shape (n_samples,)."""
    method, _ = _scorer(estimator)
    return np.ravel(method(X))


def binary_positive(estimator, X):
    """Whether ``estimator`` gives each sample its label (bool, shape (n_samples,)):
    its score above its threshold (0 for a decision function, else 0.5)."""
    method, threshold = _scorer(estimator)
    return np.ravel(method(X)) > threshold


def first_fitted(estimators):
    """The first of ``estimators`` that is not a ConstantPredictor, else None: what
    the classifier's methods are available by."""
    return next(
        (e for e in estimators if not isinstance(e, ConstantPredictor)), None
    )
