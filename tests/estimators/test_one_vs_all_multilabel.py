"""OneVsAllClassifier as scikit-learn's OneVsRestClassifier beyond single-label
classifiers: multilabel targets (dense and sparse), labels every sample has or none
has (constant predictors), regressors, classifiers without scores and Pipelines (X
unchecked) as the estimator, every sparse format of X. Each compared with
scikit-learn's class on the same estimator."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_iris, make_multilabel_classification
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.linear_model import Ridge, SGDClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR, LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from fastnn.estimators._logistic import LogisticRegression
from fastnn.estimators._one_vs_all import OneVsAllClassifier
from fastnn.estimators._one_vs_all_binary import ConstantPredictor

SPARSE_FORMATS = ["csr", "csc", "coo", "dok", "lil", "bsr", "dia"]
# (scipy warns that a DIA matrix of these random data has many diagonals: true)
pytestmark = pytest.mark.filterwarnings("ignore:Constructing a DIA matrix")


@pytest.fixture(scope="module")
def multilabel():
    X, Y = make_multilabel_classification(
        n_samples=120, n_features=12, n_classes=5, n_labels=2, allow_unlabeled=True,
        random_state=0,
    )
    return X, Y


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _both(estimator, X, y):
    """(ours, scikit-learn's), fitted on the same data."""
    return (OneVsAllClassifier(estimator).fit(X, y),
            OneVsRestClassifier(estimator).fit(X, y))


# Multilabel -------------------------------------------------------------------------


def test_multilabel_matches_one_vs_rest(multilabel):
    X, Y = multilabel
    ova, ovr = _both(SklearnLogisticRegression(), X, Y)
    assert ova.multilabel_ and ova.n_classes_ == 5
    assert ova.label_binarizer_.y_type_ == "multilabel-indicator"
    assert_array_equal(ova.classes_, np.arange(5))
    for ours, theirs in zip(ova.estimators_, ovr.estimators_, strict=True):
        assert_array_equal(ours.coef_, theirs.coef_)  # the same fit on the same column
    predicted = ova.predict(X)
    assert isinstance(predicted, np.ndarray) and predicted.dtype.kind == "i"
    assert_array_equal(predicted, ovr.predict(X))
    assert_array_equal(ova.decision_function(X), ovr.decision_function(X))
    proba = ova.predict_proba(X)
    assert_array_equal(proba, ovr.predict_proba(X))  # each label's own, not normalised
    assert not np.allclose(proba.sum(axis=1), 1.0)
    assert_array_equal(predicted, (proba > 0.5).astype(int))
    assert (predicted.sum(axis=1) > 1).any()  # several labels per sample are predicted


@pytest.mark.parametrize("fmt", SPARSE_FORMATS)
@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csr_array])
def test_sparse_multilabel_target_in_every_format(multilabel, fmt, container):
    X, Y = multilabel
    Y_sparse = container(Y).asformat(fmt)
    dense = OneVsAllClassifier(MultinomialNB()).fit(X, Y)
    sparse = OneVsAllClassifier(MultinomialNB()).fit(X, Y_sparse)
    ovr = OneVsRestClassifier(MultinomialNB()).fit(X, Y_sparse)
    assert sparse.multilabel_ and sparse.label_binarizer_.sparse_input_
    predicted = sparse.predict(X)
    # as scikit-learn: a sparse y gives sparse (CSR) predictions, of the same type
    assert sp.issparse(predicted) and predicted.format == "csr"
    assert type(predicted) is type(ovr.predict(X))
    assert_array_equal(predicted.toarray(), dense.predict(X))
    assert_array_equal(predicted.toarray(), ovr.predict(X).toarray())
    assert_array_equal(sparse.predict_proba(X), dense.predict_proba(X))


def test_sparse_target_with_explicit_zeros(multilabel):
    """A stored 0 in a sparse y is a 0 (the label is absent)."""
    X, Y = multilabel
    Y_sparse = sp.csr_matrix(Y)
    Y_sparse.data[::3] = 0  # stored, but zero
    dense = OneVsAllClassifier(MultinomialNB()).fit(X, Y_sparse.toarray())
    sparse = OneVsAllClassifier(MultinomialNB()).fit(X, Y_sparse)
    assert_array_equal(sparse.predict(X).toarray(), dense.predict(X))


def test_multilabel_of_fastnn_logistic_regressions_serves_rows(multilabel):
    """The one-row path (stacked weights) gives each label's own probability and
    the labels above 0, as the general path does."""
    X, Y = multilabel
    X = StandardScaler().fit_transform(X)
    clf = OneVsAllClassifier().fit(X, Y)
    proba, scores, labels = (clf.predict_proba(X), clf.decision_function(X),
                             clf.predict(X))
    for i in (0, 7, 42):
        row = X[i:i + 1]
        assert_allclose(clf.predict_proba(row), proba[i:i + 1], rtol=1e-12)
        assert_allclose(clf.decision_function(row), scores[i:i + 1], rtol=1e-12,
                        atol=1e-14)
        assert_array_equal(clf.predict(row), labels[i:i + 1])
    assert clf._serve.stacked(clf.estimators_, X.shape[1]) is not None  # it served
    assert_array_equal(labels, (scores > 0).astype(int))


def test_multilabel_threshold_is_each_estimators_own(multilabel):
    """A constant first label does not change how LinearSVC's scores are read (0,
    its decision threshold); scikit-learn reads them all by the first estimator's."""
    X, Y = multilabel
    Y = np.column_stack([np.ones(len(Y), dtype=int), Y])
    with pytest.warns(UserWarning, match="Label 0 is present in all"):
        clf = OneVsAllClassifier(LinearSVC()).fit(X, Y)
    assert isinstance(clf.estimators_[0], ConstantPredictor)
    assert_array_equal(clf.predict(X), (clf.decision_function(X) > 0).astype(int))


def test_partial_fit_refuses_multilabel_targets(multilabel):
    X, Y = multilabel
    clf = OneVsAllClassifier(SGDClassifier(random_state=0))
    with pytest.raises(ValueError, match="partial_fit takes single-label targets"):
        clf.partial_fit(X, Y, classes=np.arange(5))
    assert not hasattr(clf, "estimators_")


def test_multilabel_float32_stays_float32(multilabel):
    X, Y = multilabel
    X32 = StandardScaler().fit_transform(X).astype(np.float32)
    Y = np.column_stack([Y, np.zeros(len(Y), dtype=int)])  # and a constant label
    with pytest.warns(UserWarning, match="Label not 5 is present in all"):
        clf = OneVsAllClassifier().fit(X32, Y)
    assert clf.decision_function(X32).dtype == np.float32
    assert clf.predict_proba(X32).dtype == np.float32


# Labels in every sample or in none ----------------------------------------------------


def test_always_and_never_present_labels_match_one_vs_rest():
    X = np.r_[np.zeros((5, 2)), np.ones((5, 2))]
    Y = np.zeros((10, 4), dtype=int)
    Y[5:, 0] = 1  # learned
    Y[:, 1] = 1  # every sample
    Y[:, 3] = 1  # every sample
    # column 2: no sample
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ova = OneVsAllClassifier(SklearnLogisticRegression()).fit(X, Y)
    assert [str(w.message) for w in caught] == [
        "Label 1 is present in all training examples.",
        "Label not 2 is present in all training examples.",
        "Label 3 is present in all training examples.",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ovr = OneVsRestClassifier(SklearnLogisticRegression()).fit(X, Y)
    assert [type(e) is ConstantPredictor for e in ova.estimators_] == [
        False, True, True, True]
    assert [e.constant_ for e in ova.estimators_[1:]] == [1, 0, 1]
    assert_array_equal(ova.predict(X), Y)
    for method in ("predict", "decision_function", "predict_proba"):
        assert_array_equal(getattr(ova, method)(X), getattr(ovr, method)(X))


def test_one_class_is_refused_not_made_constant():
    """Unlike scikit-learn's OneVsRest (a constant predictor, and probabilities of
    two columns for one class), one class is refused, as LogisticRegression does."""
    X = np.arange(12.0).reshape(6, 2)
    with pytest.raises(ValueError, match="only one class: 'only'"):
        OneVsAllClassifier().fit(X, np.full(6, "only"))
    clf = OneVsAllClassifier(SGDClassifier())
    with pytest.raises(ValueError, match=r"at least 2 classes, got \['only'\]"):
        clf.partial_fit(X, np.full(6, "only"), classes=["only"])
    assert not hasattr(clf, "estimators_")


def test_constant_predictor_refuses_what_it_cannot_be():
    with pytest.raises(ValueError, match="a y of one value, 0 or 1"):
        ConstantPredictor().fit(np.zeros((3, 2)), [0, 1, 1])
    fitted = ConstantPredictor().fit(np.zeros((3, 2)), [1, 1, 1])
    with pytest.raises(ValueError, match="X has 3 features"):
        fitted.predict(np.zeros((2, 3)))


# Other estimators ---------------------------------------------------------------------


@pytest.mark.parametrize("regressor", [DecisionTreeRegressor(random_state=0),
                                       Ridge(), SVR()])
def test_regressors_as_the_estimator(iris, multilabel, regressor):
    X, y = iris
    ova, ovr = _both(regressor, X, y)
    assert_array_equal(ova.predict(X), ovr.predict(X))
    assert ova.score(X, y) > 0.7
    # a regressor has no scores of its own: neither has its one-vs-all
    assert not hasattr(ova, "predict_proba")
    assert not hasattr(ova, "decision_function")
    X, Y = multilabel
    ova, ovr = _both(regressor, X, Y)
    assert_array_equal(ova.predict(X), ovr.predict(X))  # predict above 0.5


def test_binary_problem_of_a_regressor(iris):
    X, y = iris
    labels = np.array(["no", "yes"])[(y == 2).astype(int)]
    ova, ovr = _both(Ridge(), X, labels)
    assert len(ova.estimators_) == 1
    assert_array_equal(ova.predict(X), ovr.predict(X))


class _VotesOnly(ClassifierMixin, BaseEstimator):
    """A classifier with predict and nothing else."""

    def fit(self, X, y):
        self.tree_ = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
        self.classes_ = self.tree_.classes_
        return self

    def predict(self, X):
        return self.tree_.predict(X)


def test_classifier_with_predict_only_votes(iris):
    """scikit-learn's OneVsRest fails on it at predict (no scores); here its 0/1
    predictions are the scores: the first class that says yes wins."""
    X, y = iris
    clf = OneVsAllClassifier(_VotesOnly()).fit(X, y)
    votes = np.column_stack([e.predict(X) for e in clf.estimators_])
    assert_array_equal(clf.predict(X), np.argmax(votes, axis=1))
    assert clf.score(X, y) > 0.8


def test_estimator_without_any_prediction_is_refused(iris):
    X, y = iris
    with pytest.raises(ValueError, match="'estimator' parameter"):
        OneVsAllClassifier(StandardScaler()).fit(X, y)


# X in every sparse format -------------------------------------------------------------


@pytest.mark.parametrize("fmt", SPARSE_FORMATS)
def test_every_sparse_format_of_x(multilabel, fmt):
    X, Y = multilabel
    X_csr = sp.csr_array(X)
    reference = OneVsAllClassifier(LinearSVC()).fit(X_csr, Y)
    clf = OneVsAllClassifier(LinearSVC()).fit(X_csr.asformat(fmt), Y)
    for ours, theirs in zip(clf.estimators_, reference.estimators_, strict=True):
        assert_array_equal(ours.coef_, theirs.coef_)
    assert_array_equal(clf.predict(X_csr.asformat(fmt)), reference.predict(X_csr))
    assert_array_equal(clf.decision_function(sp.coo_matrix(X)),
                       reference.decision_function(X_csr))


class _Recording(SklearnLogisticRegression):
    """Remembers the X its fit received."""

    def fit(self, X, y, sample_weight=None):
        self.fit_X_ = X
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_csr_and_csc_reach_the_estimators_without_a_copy(multilabel, fmt):
    X, Y = multilabel
    X_sparse = sp.csr_matrix(X).asformat(fmt)
    clf = OneVsAllClassifier(_Recording()).fit(X_sparse, Y)
    assert all(e.fit_X_ is X_sparse for e in clf.estimators_)


def test_fastnn_logistic_regression_on_sparse_multilabel(multilabel):
    X, Y = multilabel
    X = X / X.max()
    dense = OneVsAllClassifier(LogisticRegression()).fit(X, Y)
    sparse = OneVsAllClassifier(LogisticRegression()).fit(sp.lil_matrix(X), Y)
    assert_allclose(sparse.predict_proba(sp.dok_matrix(X)), dense.predict_proba(X),
                    rtol=1e-6)


# A Pipeline as the estimator: X as the pipeline takes it ------------------------------


def test_pipeline_estimator_takes_text():
    texts = ["cheap pills now", "meeting at noon", "cheap flights now",
             "noon lunch meeting", "pills and flights", "lunch at noon"] * 3
    y = np.array(["spam", "work", "spam", "work", "spam", "work"] * 3)
    pipe = make_pipeline(TfidfVectorizer(), SklearnLogisticRegression())
    ova, ovr = _both(pipe, texts, y)
    assert_array_equal(ova.predict(texts), ovr.predict(texts))
    assert_array_equal(ova.predict_proba(texts), ovr.predict_proba(texts))
    assert not hasattr(ova, "n_features_in_")  # a vectorizer has no width
    Y = np.column_stack([y == "spam", [("noon" in t) for t in texts]]).astype(int)
    ova, ovr = _both(pipe, texts, Y)
    assert_array_equal(ova.predict(texts), ovr.predict(texts))


def test_pipeline_estimator_imputes_nan(iris):
    X, y = iris
    X = X.copy()
    X[::5, 1] = np.nan
    pipe = make_pipeline(SimpleImputer(), SklearnLogisticRegression())
    ova, ovr = _both(pipe, X, y)
    assert ova.n_features_in_ == 4
    assert_array_equal(ova.predict(X), ovr.predict(X))
    with pytest.raises(ValueError, match="X has 3 features"):
        ova.predict(X[:, :3])  # the pipeline's own check
    # refitted with a pipeline of no width (text), the old width is forgotten
    text = make_pipeline(TfidfVectorizer(), SklearnLogisticRegression())
    ova.set_params(estimator=text).fit(["red sky", "blue sea"] * 10, np.arange(20) % 2)
    assert not hasattr(ova, "n_features_in_")
