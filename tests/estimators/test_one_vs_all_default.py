"""OneVsAllClassifier's default estimator (None: fastnn's LogisticRegression) can be
tuned like an explicit one, and stays what scikit-learn's checks ask of a default;
``verbose`` is scikit-learn's OneVsRestClassifier parameter."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_parameters_default_constructible

from fastnn.estimators._logistic import LogisticRegression
from fastnn.estimators._one_vs_all import OneVsAllClassifier


def test_grid_search_over_the_default_estimators_parameters():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), OneVsAllClassifier())
    grid = GridSearchCV(pipe, {"onevsallclassifier__estimator__C": [1e-4, 1.0]}, cv=3)
    grid.fit(X, y)
    assert grid.best_params_ == {"onevsallclassifier__estimator__C": 1.0}
    best = grid.best_estimator_[-1]
    assert type(best.estimator) is LogisticRegression and best.estimator.C == 1.0
    assert all(type(e) is LogisticRegression and e.C == 1.0 for e in best.estimators_)
    assert grid.score(X, y) > 0.9
    # the search set its parameters on clones: the pipeline searched is as it was
    assert pipe[-1].estimator is None
    # and the tiny C reached the binary estimators: they barely move from zero
    weak = clone(pipe).set_params(onevsallclassifier__estimator__C=1e-4).fit(X, y)
    assert np.abs(weak[-1].estimators_[0].coef_).max() < 1e-2


def test_default_is_none_and_constructible():
    clf = OneVsAllClassifier()
    assert clf.estimator is None
    check_parameters_default_constructible("OneVsAllClassifier", clf)
    assert clone(clf).estimator is None
    assert OneVsAllClassifier(estimator=None).fit([[0.0], [1.0]], [0, 1]).estimators_


def test_set_params_makes_the_default_explicit_first():
    clf = OneVsAllClassifier()
    params = clf.get_params()
    assert params["estimator"] is None
    assert params["estimator__C"] == LogisticRegression().C  # listed, so searchable
    assert set(clf.get_params(deep=False)) == {"estimator", "n_jobs", "verbose"}

    assert clf.set_params(estimator__C=0.25, n_jobs=2) is clf
    assert type(clf.estimator) is LogisticRegression
    assert clf.estimator.get_params() == LogisticRegression(C=0.25).get_params()
    assert clf.n_jobs == 2
    clf.set_params(estimator__max_iter=7)  # the same estimator, one more parameter
    assert (clf.estimator.C, clf.estimator.max_iter) == (0.25, 7)

    # estimator=None and a parameter of it in one call: the default, with it set
    clf.set_params(estimator=None, estimator__C=3.0)
    assert clf.estimator.C == 3.0 and clf.estimator.max_iter == 100
    # the default's deep parameters set back as they are listed
    fresh = OneVsAllClassifier()
    fresh.set_params(**OneVsAllClassifier().get_params())
    assert fresh.estimator.get_params() == LogisticRegression().get_params()


def test_set_params_refuses_unknown_parameters():
    with pytest.raises(ValueError, match="Invalid parameter 'bogus'"):
        OneVsAllClassifier().set_params(estimator__bogus=1)
    with pytest.raises(ValueError, match="Invalid parameter 'bogus'"):
        OneVsAllClassifier().set_params(bogus=1)


def test_verbose_reaches_joblib(capfd):
    X, y = load_iris(return_X_y=True)
    OneVsAllClassifier(LogisticRegression(max_iter=500), verbose=10).fit(X, y)
    assert "Done" in capfd.readouterr().err
    OneVsAllClassifier(LogisticRegression(max_iter=500)).fit(X, y)
    assert capfd.readouterr().err == ""
    with pytest.raises(ValueError, match="'verbose' parameter"):
        OneVsAllClassifier(verbose="loud").fit(X, y)
