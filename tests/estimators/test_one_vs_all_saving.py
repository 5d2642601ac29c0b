"""OneVsAllClassifier in fastnn's model files and pickles: multilabel targets (dense
and sparse), constant predictors and ``verbose`` round-trip; a single-label file is
written as before (so the fastnn of before reads it); a file whose target or constant
does not hold together is refused."""

import io
import json
import pickle
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris, make_multilabel_classification
from sklearn.preprocessing import StandardScaler

from fastnn import load_model
from fastnn.estimators._logistic import LogisticRegression
from fastnn.estimators._one_vs_all import OneVsAllClassifier
from fastnn.estimators._one_vs_all_binary import ConstantPredictor
from fastnn.saving import save_model


@pytest.fixture(scope="module")
def data():
    X, Y = make_multilabel_classification(n_samples=80, n_features=6, n_classes=4,
                                          random_state=0)
    X = StandardScaler().fit_transform(X)
    Y[:, 2] = 1  # a label every sample has: a constant predictor
    return X, Y


def _fit(X, y, **params):
    with pytest.warns(UserWarning, match="present in all training examples"):
        return OneVsAllClassifier(LogisticRegression(C=2.0), **params).fit(X, y)


def _spec(path):
    with np.load(path, allow_pickle=False) as archive:
        return json.loads(archive["estimator"].tobytes().decode())["estimator"]


def _round_trip(clf, path):
    save_model(clf, path)
    return load_model(path)


@pytest.mark.parametrize("sparse_target", [False, True])
def test_multilabel_with_a_constant_label_round_trips(data, sparse_target, tmp_path):
    X, Y = data
    clf = _fit(X, sp.csr_matrix(Y) if sparse_target else Y, verbose=1)
    loaded = _round_trip(clf, tmp_path / "m.fnn")
    assert loaded.verbose == 1
    assert loaded.multilabel_ and loaded.n_classes_ == 4
    assert loaded.label_binarizer_.sparse_input_ is sparse_target
    assert isinstance(loaded.estimators_[2], ConstantPredictor)
    assert loaded.estimators_[2].constant_ == 1
    assert loaded.estimators_[2].n_features_in_ == X.shape[1]
    assert set(vars(loaded)) == set(vars(clf))
    predicted, expected = loaded.predict(X), clf.predict(X)
    assert type(predicted) is type(expected)
    if sparse_target:
        predicted, expected = predicted.toarray(), expected.toarray()
    assert_array_equal(predicted, expected)
    assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert_array_equal(loaded.decision_function(X), clf.decision_function(X))
    fitted = _spec(tmp_path / "m.fnn")["fitted"]
    assert fitted["label_binarizer_"] == {"y_type_": "multilabel-indicator",
                                          "sparse_input_": sparse_target}
    assert fitted["estimators_"][2] == {"constant": 1}


def test_single_label_file_holds_what_it_always_did(tmp_path):
    """No label_binarizer_ and no verbose at its default: the fastnn of before
    reads the file."""
    X, y = load_iris(return_X_y=True)
    clf = OneVsAllClassifier(LogisticRegression(max_iter=500)).fit(X, y)
    loaded = _round_trip(clf, tmp_path / "m.fnn")
    spec = _spec(tmp_path / "m.fnn")
    assert set(spec["params"]) == {"estimator", "n_jobs"}
    assert set(spec["fitted"]) == {"n_features_in_", "feature_names_in_",
                                   "classes_", "estimators_"}
    assert loaded.label_binarizer_.y_type_ == "multiclass"
    assert not loaded.label_binarizer_.sparse_input_
    assert_array_equal(loaded.label_binarizer_.classes_, clf.classes_)
    assert_array_equal(loaded.predict(X), clf.predict(X))


def _rewritten(path, change):
    """``path``'s file with its estimator spec changed by ``change(spec)``."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    raw = np.load(io.BytesIO(members["estimator.npy"]), allow_pickle=False)
    spec = json.loads(raw.tobytes().decode())
    change(spec["estimator"])
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(json.dumps(spec).encode(), np.uint8))
    members["estimator.npy"] = buffer.getvalue()
    bad = path.with_name("bad.fnn")
    with zipfile.ZipFile(bad, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return bad


def _target(fitted, **values):
    fitted["label_binarizer_"].update(values)


@pytest.mark.parametrize("change, match", [
    (lambda e: _target(e["fitted"], y_type_="binary"), "does not match classes_"),
    (lambda e: _target(e["fitted"], y_type_="continuous"), "not a target type"),
    (lambda e: _target(e["fitted"], sparse_input_=1), "not a target type"),
    (lambda e: _target(e["fitted"], extra=1), "unexpected keys"),
    (lambda e: e["fitted"]["estimators_"].__setitem__(2, {"constant": 2}), "0 or 1"),
    (lambda e: e["fitted"]["estimators_"].__setitem__(2, {"constant": True}),
     "0 or 1"),
    (lambda e: e["fitted"]["estimators_"].__setitem__(2, {"constant": 1, "x": 0}),
     "unexpected keys"),
    (lambda e: e["fitted"]["estimators_"].pop(), "not 4 binary estimators"),
])
def test_inconsistent_files_are_refused(data, tmp_path, change, match):
    X, Y = data
    save_model(_fit(X, Y), tmp_path / "m.fnn")
    with pytest.raises(ValueError, match="not a valid fastnn model file.*" + match):
        load_model(_rewritten(tmp_path / "m.fnn", change))


def test_multilabel_classes_must_be_the_column_indices(data, tmp_path):
    X, Y = data
    save_model(_fit(X, Y), tmp_path / "m.fnn")
    with zipfile.ZipFile(tmp_path / "m.fnn") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    spec = _spec(tmp_path / "m.fnn")
    buffer = io.BytesIO()
    np.save(buffer, np.array([0, 1, 2, 5]))
    members[spec["fitted"]["classes_"] + ".npy"] = buffer.getvalue()
    with zipfile.ZipFile(tmp_path / "bad.fnn", "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(ValueError, match="does not match classes_"):
        load_model(tmp_path / "bad.fnn")


def test_multilabel_pickle_round_trip(data):
    X, Y = data
    clf = _fit(X, sp.csc_array(Y))
    restored = pickle.loads(pickle.dumps(clf))
    assert_array_equal(restored.predict(X).toarray(), clf.predict(X).toarray())
    assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_pickle_of_before_multilabel_targets_still_predicts():
    """A classifier pickled before label_binarizer_ and verbose existed."""
    X, y = load_iris(return_X_y=True)
    clf = OneVsAllClassifier(LogisticRegression(max_iter=500)).fit(X, y)
    state = dict(clf.__getstate__())  # (a copy: the live __dict__ stays whole)
    del state["label_binarizer_"], state["verbose"]
    old = OneVsAllClassifier.__new__(OneVsAllClassifier)
    old.__setstate__(state)
    assert old.verbose == 0 and old.label_binarizer_.y_type_ == "multiclass"
    assert_array_equal(old.predict(X), clf.predict(X))
