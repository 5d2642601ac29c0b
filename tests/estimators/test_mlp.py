"""MLPClassifier: scikit-learn's semantics, trained through fastnn's engine.

With ``shuffle=False`` and the same ``random_state`` both libraries start from the same
weights and visit the same mini-batches, so in float64 their loss curves must agree to
rounding: that pins the initialisation, the L2 term, the output units, the loss, the
update rules and the schedules at once.
"""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier as SkMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastnn.estimators._mlp import MLPClassifier


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.2, random_state=0)


@pytest.fixture(scope="module")
def small(digits):
    X_train, _, y_train, _ = digits
    return X_train[:300], y_train[:300]


def _fit_both(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SkMLP(**params).fit(X, y), MLPClassifier(**params).fit(X, y)


@pytest.mark.parametrize("params", [
    dict(solver="sgd", learning_rate_init=0.05),
    dict(solver="sgd", learning_rate_init=0.05, nesterovs_momentum=False, alpha=0.1),
    dict(solver="sgd", learning_rate_init=0.1, momentum=0.0, activation="tanh"),
    dict(solver="adam", activation="logistic", hidden_layer_sizes=(20, 15)),
    dict(solver="adam", activation="identity", alpha=1.0, batch_size=64),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5),
    dict(solver="sgd", learning_rate="adaptive", tol=0.05, n_iter_no_change=2),
])
def test_loss_curve_matches_sklearn(small, params):
    X, y = small
    params = dict(hidden_layer_sizes=(30,), max_iter=15, shuffle=False, random_state=3,
                  batch_size=32) | params
    ref, clf = _fit_both(X, y, **params)
    assert clf.n_iter_ == ref.n_iter_
    assert_allclose(clf.loss_curve_, ref.loss_curve_, rtol=1e-9)
    for ours, theirs in zip(clf.coefs_ + clf.intercepts_, ref.coefs_ + ref.intercepts_):
        assert ours.shape == theirs.shape
        assert_allclose(ours, theirs, rtol=1e-7, atol=1e-10)
    assert clf.t_ == ref.t_ == clf.n_iter_ * X.shape[0]
    assert clf.best_loss_ == pytest.approx(ref.best_loss_, rel=1e-9)
    assert_array_equal(clf.predict(X), ref.predict(X))
    assert_allclose(clf.predict_proba(X), ref.predict_proba(X), rtol=1e-6, atol=1e-9)


def test_adaptive_rate_and_tol_stopping_match_sklearn(small):
    X, y = small
    params = dict(hidden_layer_sizes=(10,), solver="sgd", learning_rate="adaptive",
                  learning_rate_init=0.3, tol=0.5, n_iter_no_change=1, max_iter=60,
                  shuffle=False, random_state=0)
    ref, clf = _fit_both(X, y, **params)
    assert clf.n_iter_ == ref.n_iter_ < 60  # stopped once the rate fell below 1e-6
    assert clf._optimizer.learning_rate == ref._optimizer.learning_rate < 1e-6
    assert_allclose(clf.loss_curve_, ref.loss_curve_, rtol=1e-8)


def test_binary_has_one_logistic_output_and_multiclass_softmax(small):
    X, y = small
    ref, clf = _fit_both(X, y % 2, hidden_layer_sizes=(8,), max_iter=10, shuffle=False,
                         random_state=0)
    assert clf.coefs_[-1].shape == (8, 1) and clf.out_activation_ == "logistic"
    assert_allclose(clf.loss_curve_, ref.loss_curve_, rtol=1e-9)
    proba = clf.predict_proba(X)
    assert proba.shape == (X.shape[0], 2)
    assert_allclose(proba.sum(axis=1), 1.0)
    multi = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2)
    with pytest.warns(ConvergenceWarning):
        multi.fit(X, y)
    assert multi.coefs_[-1].shape == (8, 10) and multi.out_activation_ == "softmax"


def test_multilabel_matches_sklearn():
    X, Y = make_multilabel_classification(n_samples=200, n_classes=4, random_state=0)
    ref, clf = _fit_both(X / X.max(), Y, hidden_layer_sizes=(16,), max_iter=20,
                         shuffle=False, random_state=1, solver="sgd",
                         learning_rate_init=0.05)
    # NOTE: scikit-learn sums the log-loss over the labels (Keras averages); a mean
    # would shrink every step by a factor 4 and the curves would part at once.
    assert_allclose(clf.loss_curve_, ref.loss_curve_, rtol=1e-9)
    predicted = clf.predict(X / X.max())
    assert predicted.shape == Y.shape
    assert_array_equal(predicted, ref.predict(X / X.max()))
    assert clf.predict_proba(X / X.max()).shape == Y.shape


def test_lbfgs_matches_sklearn(small):
    X, y = small
    ref, clf = _fit_both(X, y, solver="lbfgs", hidden_layer_sizes=(20,), max_iter=50,
                         random_state=0, alpha=0.01)
    assert clf.n_iter_ == ref.n_iter_ == 50
    assert clf.loss_ == pytest.approx(ref.loss_, rel=1e-6)
    assert not hasattr(clf, "loss_curve_")


def test_lbfgs_refuses_dropout(small):
    with pytest.raises(ValueError, match="dropout needs a stochastic solver"):
        MLPClassifier(solver="lbfgs", dropout=0.2).fit(*small)


def test_early_stopping_matches_sklearn_and_keeps_the_best_weights(small):
    X, y = small
    params = dict(hidden_layer_sizes=(10,), solver="sgd", early_stopping=True,
                  learning_rate_init=0.2, max_iter=40, shuffle=False, random_state=0,
                  n_iter_no_change=3)
    # binary labels: scikit-learn stratifies those too, so both hold out the same rows
    ref, clf = _fit_both(X, y % 2, **params)
    assert clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_ == ref.n_iter_
    assert_allclose(clf.validation_scores_, ref.validation_scores_)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert_allclose(clf.coefs_[0], ref.coefs_[0], rtol=1e-7, atol=1e-10)


_LABELS = {
    "bool": np.array([True, False, False]),
    "str": np.array(["cat", "dog", "emu"]),
    "object": np.array(["cat", "dog", "emu"], dtype=object),
    "int": np.array([3, -1, 7]),
}


@pytest.mark.parametrize("kind", _LABELS)
@pytest.mark.parametrize("early_stopping", [False, True])
def test_labels_keep_their_type_as_in_sklearn(small, kind, early_stopping):
    X, y = small
    y = _LABELS[kind][y % 3]
    ref, clf = _fit_both(X, y, hidden_layer_sizes=(5,), max_iter=3, random_state=0,
                         early_stopping=early_stopping)
    assert clf.classes_.dtype == ref.classes_.dtype
    assert_array_equal(clf.classes_, ref.classes_)
    assert clf.predict(X).dtype == ref.predict(X).dtype
    assert set(clf.predict(X)) <= set(y)


@pytest.mark.parametrize("y, label", [
    ([0, 0, 0, 0, 1], "[1]"),
    ([True, True, True, True, False], "[False]"),
    (["a", "a", "a", "a", "b"], "['b']"),
])
def test_early_stopping_split_errors_are_sklearns_and_name_the_label(y, label):
    X = [[1, 2], [2, 3], [3, 4], [4, 5], [5, 6]]
    with pytest.raises(ValueError) as theirs:
        SkMLP(early_stopping=True).fit(X, y)
    with pytest.raises(ValueError) as ours:
        MLPClassifier(early_stopping=True).fit(X, y)
    message = str(ours.value)
    assert message.startswith(str(theirs.value))  # stratified on y == classes_[1]
    assert message.endswith(f"The labels with too few members are {label}.)")


def test_early_stopping_split_of_many_classes_names_the_labels():
    X = np.arange(20.0).reshape(10, 2)
    y = np.array(["ant", "bee", "cat"])[[0, 0, 0, 0, 1, 1, 1, 1, 1, 2]]
    # scikit-learn's code stratifies binary labels only (its documentation: all but
    # multi-label ones); fastnn stratifies these on the labels, and names them
    with pytest.raises(ValueError, match=r"too few members are: \['cat'\]"):
        MLPClassifier(early_stopping=True).fit(X, y)


def test_early_stopping_holds_out_validation_fraction(small):
    X, y = small
    clf = MLPClassifier(hidden_layer_sizes=(10,), early_stopping=True, max_iter=3,
                        validation_fraction=0.2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.t_ == 3 * 240  # 20% of 300 rows held out
    assert len(clf.validation_scores_) == 3


def test_lbfgs_verbose_then_stochastic_partial_fit(small, capsys):
    X, y = small
    clf = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(5,), max_iter=3, verbose=1,
                        random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert "Iteration 3, loss = " in capsys.readouterr().out
    clf.set_params(solver="sgd", learning_rate_init=1e-9, verbose=0)
    before = clf.coefs_[0].copy()
    clf.partial_fit(X, y)  # continues from the L-BFGS weights with a fresh SGD
    assert_allclose(clf.coefs_[0], before, atol=1e-6)
    assert clf._model.optimizer.learning_rate == 1e-9


@pytest.mark.slow  # two full digits fits of each library: most of a minute
@pytest.mark.parametrize("params", [
    dict(),  # adam, relu, batch 200
    dict(solver="sgd", learning_rate_init=0.01, batch_size=32),
])
def test_digits_accuracy_at_least_sklearns(digits, params):
    X_train, X_test, y_train, y_test = digits
    ref, clf = _fit_both(X_train, y_train, random_state=0, **params)
    assert clf.score(X_test, y_test) >= ref.score(X_test, y_test) - 0.01
    assert clf.score(X_test, y_test) > 0.95


@pytest.mark.parametrize("activation", ["leaky_relu", "elu", "maxout"])
def test_fastnn_activations_learn_digits(digits, activation):
    X_train, X_test, y_train, y_test = digits
    clf = MLPClassifier(activation=activation, max_iter=60, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.95
    if activation == "maxout":
        assert clf.coefs_[0].shape == (64, 200) and clf.coefs_[1].shape == (100, 10)


def test_partial_fit_epochs_equal_fit(small):
    X, y = small
    params = dict(hidden_layer_sizes=(12,), solver="sgd", shuffle=False, random_state=0,
                  learning_rate_init=0.05)
    clf = MLPClassifier(**params)
    for _ in range(5):
        clf.partial_fit(X, y, classes=np.unique(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = MLPClassifier(max_iter=5, **params).fit(X, y)
    assert_allclose(clf.loss_curve_, full.loss_curve_, rtol=1e-10)
    assert clf.n_iter_ == 1 and clf.t_ == full.t_ == 5 * X.shape[0]
    assert_allclose(clf.coefs_[0], full.coefs_[0], rtol=1e-10, atol=1e-12)


def test_partial_fit_over_chunks_learns_like_fit(digits):
    X_train, X_test, y_train, y_test = digits
    clf = MLPClassifier(random_state=0)
    classes = np.unique(y_train)
    for _ in range(30):
        for chunk in np.array_split(np.arange(len(y_train)), 5):
            clf.partial_fit(X_train[chunk], y_train[chunk], classes=classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = MLPClassifier(random_state=0, max_iter=30).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= full.score(X_test, y_test) - 0.02
    assert clf.t_ == 30 * len(y_train)


def test_partial_fit_rules(small):
    X, y = small
    with pytest.raises(AttributeError, match="partial_fit"):
        MLPClassifier(solver="lbfgs").partial_fit(X, y, classes=np.unique(y))
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=np.unique(y))
    clf = MLPClassifier().partial_fit(X[y < 5], y[y < 5], classes=np.arange(10))
    assert clf.predict_proba(X).shape == (len(y), 10)  # labels not seen yet count


def test_warm_start_counts_like_sklearn(small):
    X, y = small
    params = dict(hidden_layer_sizes=(10,), max_iter=4, warm_start=True, shuffle=False,
                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref, clf = SkMLP(**params).fit(X, y), MLPClassifier(**params).fit(X, y)
        ref.fit(X, y)
        clf.fit(X, y)
    assert clf.n_iter_ == ref.n_iter_ == 4  # this call's epochs
    assert clf.t_ == ref.t_ == 8 * X.shape[0]  # every call's samples
    assert_allclose(clf.loss_curve_, ref.loss_curve_, rtol=1e-9)
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X[y < 9], y[y < 9])


def test_float32_trains_in_float32(small):
    X, y = small
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf32 = MLPClassifier(max_iter=10, random_state=0).fit(X.astype(np.float32), y)
        clf64 = MLPClassifier(max_iter=10, random_state=0).fit(X, y)
    assert all(W.dtype == np.float32 for W in clf32.coefs_ + clf32.intercepts_)
    assert all(W.dtype == np.float64 for W in clf64.coefs_ + clf64.intercepts_)
    assert clf32.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert clf32.predict_proba(X).dtype == np.float32  # the network's dtype
    assert clf64.predict_proba(X.astype(np.float32)).dtype == np.float64
    assert_allclose(clf32.loss_curve_, clf64.loss_curve_, rtol=1e-3)


def test_pickle_round_trip_keeps_predictions_and_training_state(small):
    X, y = small
    clf = MLPClassifier(hidden_layer_sizes=(10,), solver="sgd", shuffle=False,
                        random_state=0)
    clf.partial_fit(X, y, classes=np.unique(y))
    copy = pickle.loads(pickle.dumps(clf))
    assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    assert copy.coefs_[0].base is not None  # views into the rebuilt network again
    clf.partial_fit(X, y)
    copy.partial_fit(X, y)  # the velocities came along
    assert_allclose(copy.loss_curve_, clf.loss_curve_, rtol=1e-12)
    assert_array_equal(copy.coefs_[0], clf.coefs_[0])


def test_pipeline_and_grid_search(digits):
    X_train, X_test, y_train, y_test = digits
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=30, random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-1],
                                 "mlpclassifier__hidden_layer_sizes": [(20,), (50,)]},
                          cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X_train, y_train)
    assert search.best_estimator_.score(X_test, y_test) > 0.93
    assert len(search.cv_results_["params"]) == 4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_divergence_raises_and_leaves_finite_weights(small, dtype):
    X, y = small
    clf = MLPClassifier(solver="sgd", activation="identity", learning_rate_init=1e6,
                        random_state=0, max_iter=50)
    with pytest.raises(ValueError, match=r"diverged.*learning rate.*scale the inputs"):
        clf.fit((X * 100).astype(dtype), y)
    assert all(np.isfinite(W).all() for W in clf.coefs_ + clf.intercepts_)
    assert all(np.isfinite(clf.loss_curve_))


def test_lbfgs_divergence_never_returns_nan_weights(small):
    X, y = small
    clf = MLPClassifier(solver="lbfgs", max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            clf.fit(X * 1e300, y)
        except ValueError as error:
            assert "diverged" in str(error) or "infinity" in str(error)
            return
    assert all(np.isfinite(W).all() for W in clf.coefs_ + clf.intercepts_)


def test_dropout_changes_training_not_prediction(small):
    X, y = small
    params = dict(hidden_layer_sizes=(30,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = MLPClassifier(**params).fit(X, y)
        dropped = MLPClassifier(dropout=0.5, **params).fit(X, y)
        again = MLPClassifier(dropout=0.5, **params).fit(X, y)
    assert dropped.loss_curve_[0] > plain.loss_curve_[0]  # half the units are off
    assert not np.allclose(dropped.coefs_[0], plain.coefs_[0])
    assert_array_equal(again.coefs_[0], dropped.coefs_[0])  # seeded by random_state
    assert_array_equal(dropped.predict_proba(X), dropped.predict_proba(X))
    layers = [type(layer).__name__ for layer in dropped._model.layers]
    assert layers == ["Dense", "Dropout", "Dense"]


def test_convergence_warning_and_verbose(small, capsys):
    X, y = small
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier(max_iter=2, verbose=True, early_stopping=True).fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 2, loss = " in out
    assert "Validation score: " in out


def test_tol_stopping_prints_why(small, capsys):
    X, y = small
    clf = MLPClassifier(tol=10.0, n_iter_no_change=2, verbose=True).fit(X, y)
    # epoch 1 sets best_loss_; epochs 2, 3, 4 miss it by tol; 3 > n_iter_no_change
    assert clf.n_iter_ == SkMLP(tol=10.0, n_iter_no_change=2).fit(X, y).n_iter_ == 4
    assert "Training loss did not improve more than tol=10" in capsys.readouterr().out


def test_one_row_serving_path_agrees_with_batches(digits):
    X_train, X_test, y_train, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(max_iter=5, random_state=0).fit(X_train, y_train)
    batch = clf.predict_proba(X_test)
    for i in (0, 7):
        row = X_test[i:i + 1]
        assert_allclose(clf.predict_proba(row), batch[i:i + 1], rtol=1e-12)
        assert_allclose(clf.predict_proba(row.tolist()), batch[i:i + 1], rtol=1e-12)
        assert clf.predict(row)[0] == batch[i].argmax()
    first = clf.predict_proba(X_test[:1])
    first[...] = 0  # a copy, not the network's buffer
    assert_allclose(clf.predict_proba(X_test[:1]), batch[:1], rtol=1e-12)
    assert_allclose(clf.predict_proba(np.asfortranarray(X_test)), batch, rtol=1e-12)
    bad = X_test[:1].copy()
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.predict_proba(bad)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X_test[:1, :10])
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(X_test[:1])


def test_coefs_are_the_network_weights(small):
    X, y = small
    clf = MLPClassifier(hidden_layer_sizes=(7, 5), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert [W.shape for W in clf.coefs_] == [(64, 7), (7, 5), (5, 10)]
    assert [b.shape for b in clf.intercepts_] == [(7,), (5,), (10,)]
    before = clf.predict_proba(X[:3])
    clf.coefs_[-1][...] = 0
    clf.intercepts_[-1][...] = 0
    assert_allclose(clf.predict_proba(X[:3]), 0.1)  # scikit-learn's coefs_ are live too
    assert not np.allclose(before, 0.1)


def test_sample_weight_zero_rows_are_ignored_by_lbfgs():
    X, y = make_classification(n_samples=120, n_features=6, random_state=0)
    weights = np.ones(len(y))
    weights[:20] = 0
    params = dict(solver="lbfgs", hidden_layer_sizes=(5,), random_state=0, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = MLPClassifier(**params).fit(X, y, sample_weight=weights)
        ref = SkMLP(**params).fit(X, y, sample_weight=weights)
    assert weighted.loss_ == pytest.approx(ref.loss_, rel=1e-4)
    with pytest.raises(ValueError, match="(?i)negative"):
        MLPClassifier(**params).fit(X, y, sample_weight=-weights)


def test_hidden_layer_sizes_are_checked(small):
    with pytest.raises(ValueError, match="must be > 0"):
        MLPClassifier(hidden_layer_sizes=(10, 0)).fit(*small)


def test_concurrent_predictions_do_not_share_buffers(digits):
    import threading

    X_train, X_test, y_train, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(max_iter=3, random_state=0).fit(X_train, y_train)
    expected = clf.predict_proba(X_test)
    wrong = []

    def work(offset):
        for i in range(offset, len(X_test), 4):
            one = clf.predict_proba(X_test[i:i + 1])
            many = clf.predict_proba(X_test[i:i + 9])
            if not (np.allclose(one, expected[i:i + 1]) and
                    np.allclose(many, expected[i:i + 9])):
                wrong.append(i)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
