"""scikit-learn's callbacks (``sklearn.callback``) on fastnn's estimators: the fit is
the callbacks' task, each iteration or epoch a subtask whose fitted estimator predicts
with that iteration's weights, a callback can stop the fit, and meta-estimators
propagate them."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.callback import ScoringMonitor
from sklearn.callback.tests._utils import (
    RecordingAutoPropagatedCallback,
    RecordingCallback,
)
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastnn import LogisticRegression, MLPClassifier, OneVsAllClassifier

# (solver, extra parameters, number of classes): every solver and every route
LOGISTIC_SOLVERS = [
    ("lbfgs", {}, 3),
    ("liblinear", {}, 2),
    ("liblinear", {"l1_ratio": 1.0}, 2),
    ("newton-cg", {}, 3),
    ("newton-cholesky", {}, 3),
    ("newton-cholesky", {}, 2),
    ("sag", {}, 3),
    ("saga", {}, 2),
    ("saga", {"l1_ratio": 1.0}, 3),  # the L1 coordinate-descent route
    ("sgd", {}, 3),
]
# the solvers whose iterations know the objective (the fitted estimator's loss_):
# L-BFGS (liblinear's L2 route too), Newton's and SGD's
WITH_LOSS = {"lbfgs", "newton-cg", "newton-cholesky", "sgd"}


def _data(n_classes):
    return make_classification(300, 6, n_informative=4, n_classes=n_classes,
                               random_state=0)


def _quiet_fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at a small max_iter
        return estimator.fit(X, y)


def _ends(recorder, task_name=None):
    """The recorded on_fit_task_end calls (of tasks named ``task_name``)."""
    return [r for r in recorder.record if r["name"] == "on_fit_task_end"
            and (task_name is None or r["context"].task_name == task_name)]


def _solver_id(case):
    solver, params, n_classes = case
    return "-".join([solver, *map(str, params.values()), f"{n_classes}classes"])


@pytest.mark.parametrize("case", LOGISTIC_SOLVERS, ids=_solver_id)
def test_every_logistic_solver_reports_each_iteration(case):
    solver, params, n_classes = case
    X, y = _data(n_classes)
    recorder = RecordingCallback()
    clf = LogisticRegression(solver=solver, max_iter=30, **params)
    _quiet_fit(clf.set_callbacks(recorder), X, y)
    n_iter = clf.n_iter_[0]
    assert recorder.count_hooks("setup") == recorder.count_hooks("teardown") == 1
    # the fit, each iteration, and the iteration begun after the last (never ran)
    assert recorder.count_hooks("on_fit_task_begin") == 1 + n_iter + 1
    iterations = _ends(recorder, f"{solver}-iter")
    assert len(iterations) == n_iter + 1
    ran = [r["kwargs"]["fitted_estimator"] for r in iterations[:-1]]
    assert iterations[-1]["kwargs"]["fitted_estimator"] is None
    assert all(r["kwargs"]["X"] is not None for r in iterations[:-1])
    # each iteration's estimator predicts with its own weights; the last is the fit's
    assert_allclose(ran[-1].predict_proba(X), clf.predict_proba(X), rtol=1e-6,
                    atol=1e-12)
    assert ran[0].coef_ is not ran[-1].coef_
    if solver in WITH_LOSS or (solver == "liblinear" and not params):
        losses = np.array([fitted.loss_ for fitted in ran])
        assert np.isfinite(losses).all()
        if solver != "sgd":  # line searches: the objective never increases
            assert np.all(np.diff(losses) <= 1e-12 * abs(losses[0]))
    else:
        assert not any(hasattr(fitted, "loss_") for fitted in ran)
    assert not hasattr(clf, "loss_")  # the fitted estimator itself has no loss_


@pytest.mark.parametrize("case", LOGISTIC_SOLVERS, ids=_solver_id)
def test_a_callback_stops_every_logistic_solver(case):
    solver, params, n_classes = case
    X, y = _data(n_classes)

    class StopAtThird(RecordingCallback):
        def on_fit_task_end(self, estimator, context, **kwargs):
            super().on_fit_task_end(estimator, context, **kwargs)
            return context.task_name.endswith("-iter") and context.task_id == 2

    clf = LogisticRegression(solver=solver, max_iter=200, tol=1e-14, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a stop that was asked for is no failure
        clf.set_callbacks(StopAtThird()).fit(X, y)
    assert clf.n_iter_[0] == 3
    assert clf.predict(X).shape == y.shape


def test_scoring_monitor_scores_each_iteration_and_the_fit():
    X, y = _data(3)
    monitor = ScoringMonitor(scoring="accuracy")
    clf = _quiet_fit(LogisticRegression(max_iter=20).set_callbacks(monitor), X, y)
    rows = monitor.get_logs().data
    fit_rows = [row for row in rows if row["task_name"] == "fit"]
    assert len(rows) == clf.n_iter_[0] + 1 and len(fit_rows) == 1
    assert fit_rows[0]["accuracy"] == pytest.approx(clf.score(X, y))


def test_pipeline_and_grid_search_propagate_callbacks_to_logistic_regression():
    X, y = _data(2)
    recorder = RecordingAutoPropagatedCallback()
    search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression()),
                          {"logisticregression__C": [0.1, 1.0]}, cv=2)
    search.set_callbacks(recorder).fit(X, y)
    iterations = _ends(recorder, "lbfgs-iter")
    # 2 candidates x 2 folds + the refit, each with its own L-BFGS iterations
    fits = {r["context"].parent.root_uuid for r in iterations}
    assert len(fits) == 1  # one task tree: the search's
    roots = [r for r in _ends(recorder, "fit") if r["estimator"].__class__
             is LogisticRegression]
    assert len(roots) == 5
    assert len(iterations) >= 5 * 2


# ---------------------------------------------------------------- MLPClassifier

MLP_SOLVERS = [("sgd", "epoch"), ("adam", "epoch"), ("lbfgs", "lbfgs-iter")]


def _mlp(solver, **params):
    return MLPClassifier(**{"hidden_layer_sizes": (8,), "solver": solver,
                            "max_iter": 12, "random_state": 0, **params})


@pytest.mark.parametrize("solver, task_name", MLP_SOLVERS)
def test_mlp_reports_each_epoch_without_changing_the_fit(solver, task_name):
    X, y = _data(3)
    recorder = RecordingCallback()
    clf = _quiet_fit(_mlp(solver).set_callbacks(recorder), X, y)
    plain = _quiet_fit(_mlp(solver), X, y)
    for ours, theirs in zip(clf.coefs_ + clf.intercepts_,
                            plain.coefs_ + plain.intercepts_):
        np.testing.assert_array_equal(ours, theirs)  # same path, same seed
    epochs = _ends(recorder, task_name)
    assert len(epochs) == clf.n_iter_ + 1
    assert recorder.count_hooks("on_fit_task_begin") == 1 + clf.n_iter_ + 1
    ran = [r["kwargs"]["fitted_estimator"] for r in epochs[:-1]]
    assert epochs[-1]["kwargs"]["fitted_estimator"] is None
    assert [fitted.n_iter_ for fitted in ran] == list(range(1, clf.n_iter_ + 1))
    assert_allclose(ran[-1].predict_proba(X), clf.predict_proba(X), rtol=1e-6)
    assert not np.allclose(ran[0].predict_proba(X), clf.predict_proba(X))
    assert ran[0]._model is not clf._model  # a network of its own
    if solver != "lbfgs":
        assert [fitted.loss_ for fitted in ran] == clf.loss_curve_
    assert ran[-1].loss_ == pytest.approx(clf.loss_, rel=1e-6)


@pytest.mark.parametrize("solver, task_name", MLP_SOLVERS)
def test_a_callback_stops_the_mlp(solver, task_name):
    X, y = _data(2)

    class StopAtThird(RecordingCallback):
        def on_fit_task_end(self, estimator, context, **kwargs):
            super().on_fit_task_end(estimator, context, **kwargs)
            return context.task_name == task_name and context.task_id == 2

    clf = _mlp(solver, tol=0.0, max_iter=200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a stop that was asked for is no failure
        clf.set_callbacks(StopAtThird()).fit(X, y)
    assert clf.n_iter_ == 3
    if solver != "lbfgs":
        assert len(clf.loss_curve_) == 3


def test_mlp_partial_fit_is_a_task_of_one_epoch():
    X, y = _data(3)
    recorder = RecordingCallback()
    clf = _mlp("adam").set_callbacks(recorder)
    clf.partial_fit(X, y, classes=np.unique(y))
    clf.partial_fit(X, y)
    roots = _ends(recorder, "partial_fit")
    assert len(roots) == 2 and len(_ends(recorder, "epoch")) == 2 * 2


def test_scoring_monitor_on_the_mlp_and_through_a_search():
    X, y = _data(3)
    monitor = ScoringMonitor(scoring="accuracy")
    clf = _quiet_fit(_mlp("adam").set_callbacks(monitor), X, y)
    rows = monitor.get_logs().data
    assert len(rows) == clf.n_iter_ + 1
    fit_row = [row for row in rows if row["task_name"] == "fit"][0]
    assert fit_row["accuracy"] == pytest.approx(clf.score(X, y))

    recorder = RecordingAutoPropagatedCallback()
    search = GridSearchCV(make_pipeline(StandardScaler(), _mlp("adam")),
                          {"mlpclassifier__alpha": [1e-4, 1e-2]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.set_callbacks(recorder).fit(X, y)
    roots = [r for r in _ends(recorder, "fit") if isinstance(r["estimator"],
                                                              MLPClassifier)]
    assert len(roots) == 5  # 2 candidates x 2 folds, and the refit
    assert len(_ends(recorder, "epoch")) == 5 * (12 + 1)


def test_scikit_learns_progress_bar_draws_every_estimator(capsys):
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar

    X, y = _data(3)
    for estimator in (_mlp("adam"), _mlp("lbfgs"), LogisticRegression(solver="sag"),
                      GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2)):
        _quiet_fit(estimator.set_callbacks(ProgressBar(max_propagation_depth=None)),
                   X, y)
    drawn = capsys.readouterr().out
    assert "MLPClassifier - fit" in drawn and "LogisticRegression - fit" in drawn
    assert "candidate-split-evaluation | LogisticRegression - fit" in drawn


# ----------------------------------------------------------- OneVsAllClassifier


def _binary_roots(recorder):
    return [r for r in _ends(recorder, "fit")
            if isinstance(r["estimator"], LogisticRegression)]


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_one_vs_all_propagates_callbacks_to_each_binary_fit(n_jobs):
    X, y = _data(3)
    recorder = RecordingAutoPropagatedCallback()
    ova = OneVsAllClassifier(LogisticRegression(), n_jobs=n_jobs)
    ova.set_callbacks(recorder).fit(X, y)
    assert recorder.count_hooks("setup") == recorder.count_hooks("teardown") == 1
    roots = _binary_roots(recorder)
    assert len(roots) == 3
    # each binary fit joined the one-vs-all's tree in its class's place
    assert sorted(r["context"].task_id for r in roots) == [0, 1, 2]
    assert {r["context"].source_task_name for r in roots} == {"fit-binary"}
    assert {r["context"].parent.task_name for r in roots} == {"fit"}
    assert len(_ends(recorder, "lbfgs-iter")) == sum(
        int(binary.n_iter_[0]) + 1 for binary in ova.estimators_)
    assert all(not hasattr(binary, "_skl_callbacks") for binary in ova.estimators_)


def test_one_vs_all_callbacks_its_own_and_the_binaries():
    X, y = _data(3)
    monitor = ScoringMonitor(scoring="accuracy")  # not propagated: the fit's score
    ova = OneVsAllClassifier().set_callbacks(monitor).fit(X, y)
    rows = monitor.get_logs().data
    assert len(rows) == 1 and rows[0]["accuracy"] == pytest.approx(ova.score(X, y))


def test_one_vs_all_constant_labels_and_estimators_without_callbacks():
    from sklearn.svm import LinearSVC

    X, _ = _data(3)
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, np.ones(len(X))]).astype(int)
    recorder = RecordingAutoPropagatedCallback()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # label 2 in every sample
        OneVsAllClassifier(LogisticRegression()).set_callbacks(recorder).fit(X, Y)
    assert len(_binary_roots(recorder)) == 2  # the constant label's fit is no task
    # an estimator without callbacks: scikit-learn's warning, the fit goes on
    with pytest.warns(UserWarning, match="does not support callbacks"):
        OneVsAllClassifier(LinearSVC()).set_callbacks(
            RecordingAutoPropagatedCallback()).fit(X, Y[:, 0])
