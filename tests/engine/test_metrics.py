"""Metrics: the lecture's Bernoulli likelihood table, log_loss against scikit-learn,
accuracy from labels, one-hot rows and probabilities, and the input checks."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics import accuracy_score
from sklearn.metrics import log_loss as sk_log_loss

from fastnn import metrics
from fastnn.metrics import accuracy, likelihood, log_loss

# The lecture's table.
ACTUAL = [1, 0, 1, 0, 0, 0, 1, 0, 0]
PRED = [0.8, 0.2, 0.9, 0.01, 0.2, 0.4, 0.95, 0.3, 0.18]
LIKELIHOOD = [0.8, 0.8, 0.9, 0.99, 0.8, 0.6, 0.95, 0.7, 0.82]


# ------------------------------------------------------------------ likelihood

def test_lecture_likelihood_table():
    got = likelihood(ACTUAL, PRED)
    assert got.shape == (9,)
    assert_allclose(got, LIKELIHOOD, rtol=1e-12)


def test_lecture_table_as_arrays_and_columns():
    assert_allclose(likelihood(np.array(ACTUAL), np.array(PRED)[:, None]), LIKELIHOOD,
                    rtol=1e-12)
    # Two columns [P(y=0), P(y=1)] with integer or one-hot labels: the same numbers.
    P = np.column_stack([1 - np.array(PRED), PRED])
    assert_allclose(likelihood(ACTUAL, P), LIKELIHOOD, rtol=1e-12)
    assert_allclose(likelihood(np.eye(2)[ACTUAL], P), LIKELIHOOD, rtol=1e-12)


def test_likelihood_of_the_table_is_the_product():
    # p(y | X) = prod_i Pi_i^y_i (1 - Pi_i)^(1 - y_i), and -log of it is the summed log-loss.
    product = np.prod(likelihood(ACTUAL, PRED))
    assert product == pytest.approx(np.prod(LIKELIHOOD), rel=1e-12)
    assert log_loss(ACTUAL, PRED, normalize=False) == pytest.approx(-np.log(product),
                                                                    rel=1e-12)


def test_likelihood_multiclass():
    P = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])
    assert_allclose(likelihood([0, 2, 0], P), [0.7, 0.8, 0.3])


# ------------------------------------------------------------------ log_loss

def test_log_loss_of_the_table_matches_sklearn():
    assert log_loss(ACTUAL, PRED) == pytest.approx(sk_log_loss(ACTUAL, PRED), rel=1e-12)
    assert log_loss(ACTUAL, PRED) == pytest.approx(-np.mean(np.log(LIKELIHOOD)), rel=1e-12)


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_log_loss_multiclass_matches_sklearn(normalize, weighted, rng):
    n, k = 50, 4
    logits = rng.normal(size=(n, k))
    P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = rng.integers(0, k, n)
    y[:k] = np.arange(k)  # every class appears
    w = rng.uniform(0, 3, n) if weighted else None
    expected = sk_log_loss(y, P, sample_weight=w, normalize=normalize)
    assert log_loss(y, P, sample_weight=w, normalize=normalize) == pytest.approx(
        expected, rel=1e-10)
    # One-hot rows give the same.
    assert log_loss(np.eye(k)[y], P, sample_weight=w, normalize=normalize) == pytest.approx(
        expected, rel=1e-10)


@pytest.mark.parametrize("normalize", [True, False])
def test_log_loss_binary_with_weights_matches_sklearn(normalize, rng):
    y = rng.integers(0, 2, 40)
    p = rng.uniform(0.01, 0.99, 40)
    w = rng.uniform(0, 2, 40)
    assert log_loss(y, p, sample_weight=w, normalize=normalize) == pytest.approx(
        sk_log_loss(y, p, sample_weight=w, normalize=normalize), rel=1e-10)


def test_log_loss_of_certain_mistake_is_finite():
    value = log_loss([1, 0], [0.0, 1.0])
    assert np.isfinite(value) and value > 30


def test_log_loss_returns_a_float():
    assert type(log_loss(ACTUAL, PRED)) is float


# ------------------------------------------------------------------ accuracy

def test_accuracy_labels_one_hot_and_scores(rng):
    y = rng.integers(0, 3, 30)
    scores = rng.normal(size=(30, 3))
    expected = accuracy_score(y, scores.argmax(axis=1))
    assert 0 < expected < 1
    assert accuracy(y, scores) == pytest.approx(expected)
    assert accuracy(np.eye(3)[y], scores) == pytest.approx(expected)
    assert accuracy(y, scores.argmax(axis=1)) == pytest.approx(expected)


def test_accuracy_of_one_column_probabilities():
    # P(y=1) > 0.5 is class 1: the lecture's table predicts every sample right.
    assert accuracy(ACTUAL, PRED) == 1.0
    assert accuracy(ACTUAL, np.array(PRED)[:, None]) == 1.0
    assert accuracy([1, 0, 1, 0], [0.4, 0.6, 0.9, 0.1]) == 0.5


def test_accuracy_docstring_example():
    assert accuracy([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]) == pytest.approx(2 / 3)


def test_get_metric_by_name():
    assert metrics.get("accuracy") == ("accuracy", accuracy)
    assert metrics.get("acc") == ("accuracy", accuracy)
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        metrics.get("f1")


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("proba", [[0.5, 1.2], [-0.1, 0.5], [np.nan, 0.5]])
def test_probabilities_outside_0_1(proba):
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        log_loss([0, 1], proba)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        likelihood([0, 1], proba)


def test_inconsistent_lengths():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        log_loss([0, 1, 1], [0.5, 0.5])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        accuracy([0, 1, 1], [0, 1])


def test_labels_out_of_range_for_the_columns():
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\)"):
        log_loss([0, 2], [[0.5, 0.5], [0.5, 0.5]])


def test_one_column_needs_binary_labels():
    with pytest.raises(ValueError, match="0 and 1"):
        likelihood([0, 2], [0.5, 0.5])


def test_accuracy_of_nothing():
    with pytest.raises(ValueError, match="zero samples"):
        accuracy([], [])
