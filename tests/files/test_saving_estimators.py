"""save_model / load_model / read_metadata of the fitted estimators (LogisticRegression,
OneVsAllClassifier, MLPClassifier): bit-identical round trips, and bad files refused."""

import io
import json
import warnings
import zipfile

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

from fastnn import LogisticRegression, MLPClassifier, OneVsAllClassifier, Sequential
from fastnn.layers import Dense
from fastnn.saving import load_model, read_metadata, save_model

_X, _Y = load_iris(return_X_y=True)
_X = (_X - _X.mean(axis=0)) / _X.std(axis=0)  # L-BFGS converges in a few iterations
_NAMES = np.array(["setosa", "versicolor", "virginica"])


def _fit(estimator, X=_X, y=_Y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def _params(estimator):
    """get_params(deep=True) with estimator objects replaced by their own params."""
    return {name: _params(value) if hasattr(value, "get_params") else value
            for name, value in estimator.get_params(deep=True).items()}


def _same_state(loaded, original):
    skip = {"_model", "_lock", "_serve", "coefs_", "intercepts_", "_label_binarizer",
            "estimators_"}
    if not getattr(original, "early_stopping", True):
        skip.add("_best_params")  # only early stopping reads it: not saved
    assert set(vars(loaded)) == set(vars(original))
    for name, value in vars(original).items():
        if name in skip:
            continue
        other = vars(loaded)[name]
        if hasattr(value, "get_params"):  # the one-vs-all template
            assert _params(other) == _params(value)
        elif isinstance(value, np.ndarray):
            assert other.dtype == value.dtype and other.shape == value.shape, name
            assert_array_equal(other, value, err_msg=name)
        else:
            # == (not repr): np.str_/np.bool_ dict keys come back as str/bool
            assert type(other) is type(value) and other == value, name


ESTIMATORS = {
    "logistic": lambda: LogisticRegression(C=0.5),
    # a dict keyed by the labels themselves (np.str_, np.bool_ or np.int64 keys)
    "logistic-class-weight": lambda y: LogisticRegression(class_weight=dict(
        zip(np.unique(y), [2.0, 1, 0.5]))),
    "ova": lambda: OneVsAllClassifier(),
    "ova-template": lambda: OneVsAllClassifier(LogisticRegression(C=3.0), n_jobs=1),
    "mlp-adam": lambda: MLPClassifier((5, 4), max_iter=4, random_state=0),
    "mlp-sgd-early": lambda: MLPClassifier(6, solver="sgd", early_stopping=True,
                                           max_iter=4, random_state=1),
    "mlp-lbfgs": lambda: MLPClassifier((3,), solver="lbfgs", max_iter=5,
                                       random_state=0),
    "mlp-maxout-dropout": lambda: MLPClassifier((4,), activation="maxout",
                                                dropout=0.2, max_iter=3, random_state=0),
}


@pytest.mark.parametrize("labels", ["ints", "strings", "binary"])
@pytest.mark.parametrize("make", ESTIMATORS.values(), ids=ESTIMATORS.keys())
def test_round_trip_is_exact(make, labels, dtype, tmp_path):
    y = {"ints": _Y, "strings": _NAMES[_Y], "binary": _NAMES[_Y] == "setosa"}[labels]
    X = _X.astype(dtype)
    estimator = _fit(make(y) if make.__code__.co_argcount else make(), X, y)
    save_model(estimator, tmp_path / "m.fnn")
    loaded = load_model(tmp_path / "m.fnn")
    assert type(loaded) is type(estimator)
    assert _params(loaded) == _params(estimator)
    _same_state(loaded, estimator)
    for original, copy in zip(getattr(estimator, "estimators_", []),
                              getattr(loaded, "estimators_", []), strict=True):
        _same_state(copy, original)
    assert loaded.classes_.dtype == estimator.classes_.dtype
    assert_array_equal(loaded.predict(X), estimator.predict(X))
    proba = estimator.predict_proba(X)
    assert loaded.predict_proba(X).dtype == proba.dtype
    assert_array_equal(loaded.predict_proba(X), proba)
    assert_array_equal(loaded.predict_proba(X[:1]), estimator.predict_proba(X[:1]))


def test_mlp_multilabel_round_trip(tmp_path):
    Y = np.eye(3, dtype=int)[_Y]
    Y[::7, 0] = 1
    clf = _fit(MLPClassifier((5,), max_iter=3, random_state=0), _X, Y)
    save_model(clf, tmp_path / "m.fnn")
    loaded = load_model(tmp_path / "m.fnn")
    assert_array_equal(loaded.predict(_X), clf.predict(_X))
    assert_array_equal(loaded.predict_proba(_X), clf.predict_proba(_X))


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_mlp_training_goes_on_exactly(tmp_path, dropout):
    """Optimizer state and the shuffling and dropout generators are saved:
    partial_fit continues alike."""
    clf = _fit(MLPClassifier((5, 4), solver="sgd", max_iter=3, random_state=0,
                             dropout=dropout))
    save_model(clf, tmp_path / "m.fnn")
    loaded = load_model(tmp_path / "m.fnn")
    for model in (clf, loaded):
        model.partial_fit(_X, _Y)
        model.partial_fit(_X, _Y)
    assert loaded.loss_curve_ == clf.loss_curve_
    for a, b in zip(loaded.coefs_ + loaded.intercepts_, clf.coefs_ + clf.intercepts_):
        assert_array_equal(a, b)


def test_feature_names_round_trip(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(_X, columns=["sl", "sw", "pl", "pw"])
    for estimator in (LogisticRegression(), OneVsAllClassifier(), MLPClassifier(
            max_iter=2, random_state=0)):
        _fit(estimator, frame, _Y)
        save_model(estimator, tmp_path / "m.fnn")
        loaded = load_model(tmp_path / "m.fnn")
        assert loaded.feature_names_in_.dtype == object
        assert_array_equal(loaded.feature_names_in_, ["sl", "sw", "pl", "pw"])
        assert_array_equal(loaded.predict(frame), estimator.predict(frame))


def test_the_file_holds_no_objects_and_strings_as_unicode(tmp_path):
    clf = _fit(OneVsAllClassifier(), _X, _NAMES[_Y])
    save_model(clf, tmp_path / "m.fnn")
    with np.load(tmp_path / "m.fnn", allow_pickle=False) as archive:
        kinds = {name: archive[name].dtype.kind for name in archive.files}
    assert "O" not in kinds.values()
    assert "U" in kinds.values()


def test_metadata_round_trip(tmp_path):
    metadata = {"feature_names": ["a", "b"], "target": "y", "scale": [0.5, 1e-300],
                "nested": {"n": 3, "none": None}}
    clf = _fit(LogisticRegression())
    save_model(clf, tmp_path / "m.fnn", metadata=metadata)
    assert read_metadata(tmp_path / "m.fnn") == metadata
    save_model(clf, tmp_path / "plain.fnn")
    assert read_metadata(tmp_path / "plain.fnn") == {}
    model = Sequential([Dense(2, input_dim=4)]).build()
    save_model(model, tmp_path / "seq.fnn", metadata={"k": (1, 2)})
    assert read_metadata(tmp_path / "seq.fnn") == {"k": [1, 2]}
    assert isinstance(load_model(tmp_path / "seq.fnn"), Sequential)


@pytest.mark.parametrize("metadata, error", [
    (["not", "a", "dict"], TypeError), ({"f": object()}, TypeError),
    ({"x": np.zeros(2)}, TypeError),
])
def test_bad_metadata_is_refused_when_saving(metadata, error, tmp_path):
    with pytest.raises(error, match="metadata"):
        save_model(_fit(LogisticRegression()), tmp_path / "m.fnn", metadata=metadata)
    assert not (tmp_path / "m.fnn").exists()


def test_what_cannot_be_saved(tmp_path):
    path = tmp_path / "m.fnn"
    with pytest.raises(NotFittedError):
        save_model(MLPClassifier(), path)
    with pytest.raises(TypeError, match="not LogisticRegression"):
        save_model(SkLogisticRegression().fit(_X, _Y), path)
    with pytest.raises(ValueError, match="cannot be saved safely"):
        save_model(OneVsAllClassifier(SkLogisticRegression()).fit(_X, _Y), path)
    with pytest.raises(TypeError, match="not object"):
        save_model(object(), path)
    assert not path.exists()


def test_random_state_instance_is_saved_as_none_with_a_warning(tmp_path):
    clf = _fit(MLPClassifier(max_iter=2, random_state=np.random.RandomState(0)))
    with pytest.warns(UserWarning, match="RandomState"):
        save_model(clf, tmp_path / "m.fnn")
    assert load_model(tmp_path / "m.fnn").random_state is None


# ------------------------------------------------------------------ bad files

@pytest.fixture
def members(tmp_path):
    """The members (name -> raw bytes) of a saved MLPClassifier with string labels."""
    clf = _fit(MLPClassifier((3,), solver="sgd", max_iter=2, random_state=0),
               _X, _NAMES[_Y])
    save_model(clf, tmp_path / "m.fnn", metadata={"target": "species"})
    with zipfile.ZipFile(tmp_path / "m.fnn") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=array.dtype == object)
    return buffer.getvalue()


def _spec(members):
    raw = np.load(io.BytesIO(members["estimator.npy"]), allow_pickle=False)
    return json.loads(raw.tobytes().decode())


def _refused(tmp_path, members, match="", spec=None, **replace):
    members = dict(members)
    if spec is not None:
        members["estimator.npy"] = _npy(np.frombuffer(json.dumps(spec).encode(),
                                                      np.uint8))
    for name, array in replace.items():
        members[name + ".npy"] = _npy(array) if array is not None else None
    members = {name: data for name, data in members.items() if data is not None}
    path = tmp_path / "bad.fnn"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match="not a valid fastnn model file.*" + match):
        load_model(path)
    return path


def test_the_untouched_members_load(members, tmp_path):
    path = tmp_path / "good.fnn"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    assert load_model(path).classes_.tolist() == _NAMES.tolist()
    assert read_metadata(path) == {"target": "species"}


def _edit(members, change):
    spec = _spec(members)
    change(spec["estimator"])
    return spec


@pytest.mark.parametrize("change, match", [
    (lambda e: e.update(class_name="SVC"), "unknown estimator 'SVC'"),
    (lambda e: e.update(class_name="Sequential"), "unknown estimator"),
    (lambda e: e["params"].update(kernel="rbf"), "unexpected keys"),
    (lambda e: e["params"].pop("alpha"), "unexpected keys"),
    (lambda e: e["params"].update(alpha=-1.0), "alpha"),
    (lambda e: e["params"].update(activation="os.system"), "activation"),
    (lambda e: e["params"].update(hidden_layer_sizes={"call": "eval"}), "not one"),
    (lambda e: e["fitted"].update(secret=1), "unexpected keys"),
    (lambda e: e["fitted"].update(n_features_in_=5), "does not match"),
    (lambda e: e["fitted"].update(y_type="binary"), "does not match"),
    (lambda e: e["fitted"]["architecture"].update(units=[4, 10**12, 3]), "weights"),
    (lambda e: e["fitted"]["architecture"].update(activation="softsign"), "unknown"),
    (lambda e: e["fitted"]["architecture"].update(dtype="complex128"), "unknown"),
    (lambda e: e["fitted"].update(weights=e["fitted"]["classes_"]), "used twice"),
    (lambda e: e["fitted"].update(weights="../../etc/passwd"), "array member"),
    (lambda e: e["fitted"].update(rng={"bit_generator": "MT19937"}), "PCG64"),
    (lambda e: e["fitted"]["rng"]["state"].update(state=-1), ""),
    (lambda e: e["fitted"]["optimizer"].update(class_name="Eval"), "unknown optimizer"),
    (lambda e: e["fitted"]["optimizer"]["config"].update(code="x"), "unknown keys"),
    (lambda e: e["fitted"]["optimizer"]["slots"].pop(), "incomplete"),
    (lambda e: e["fitted"].update(n_iter_=-3), "n_iter_"),
    (lambda e: e.pop("fitted"), "unexpected keys"),
])
def test_tampered_spec_is_refused(members, tmp_path, change, match):
    _refused(tmp_path, members, match, spec=_edit(members, change))


def test_wrong_format_or_version(members, tmp_path):
    spec = _spec(members)
    spec["version"] = 2
    _refused(tmp_path, members, "version", spec=spec)
    spec = _spec(members)
    spec["format"] = "fastnn.Sequential"
    _refused(tmp_path, members, "format", spec=spec)


def _array_names(members):
    fitted = _spec(members)["estimator"]["fitted"]
    return fitted["classes_"], fitted["weights"], fitted["optimizer"]["slots"][0]


def test_tampered_arrays_are_refused(members, tmp_path):
    classes, weights, slot = _array_names(members)
    _refused(tmp_path, members, "classes_", **{classes: np.array(["b", "a", "c"])})
    _refused(tmp_path, members, "classes_", **{classes: np.array(["a", "a", "c"])})
    good = np.load(io.BytesIO(members[weights + ".npy"]))
    _refused(tmp_path, members, "weights", **{weights: good[:-1]})
    _refused(tmp_path, members, "weights", **{weights: good.astype(np.float32)})
    bad = good.copy()
    bad[3] = np.nan
    _refused(tmp_path, members, "NaN", **{weights: bad})
    _refused(tmp_path, members, "slot", **{slot: good[:, None]})
    _refused(tmp_path, members, "missing", **{weights: None})
    _refused(tmp_path, members, "unexpected members", array_99=np.zeros(2))


def test_object_arrays_are_never_unpickled(members, tmp_path):
    classes, _, _ = _array_names(members)
    payload = np.array(["setosa", "versicolor", "virginica"], dtype=object)
    _refused(tmp_path, members, "dtype object", **{classes: payload})


def test_bad_metadata_member_is_refused(members, tmp_path):
    as_json = np.frombuffer(b"[1, 2]", np.uint8)
    path = _refused(tmp_path, members, "metadata", metadata=as_json)
    with pytest.raises(ValueError, match="metadata"):
        read_metadata(path)
    _refused(tmp_path, members, "", metadata=np.frombuffer(b"{\xff", np.uint8))


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.7, 0.99])
def test_truncated_estimator_file(members, tmp_path, fraction):
    path = tmp_path / "whole.fnn"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(ValueError, match="not a valid fastnn model file"):
        load_model(path)
    with pytest.raises(ValueError, match="not a valid fastnn model file"):
        read_metadata(path)


def test_missing_file_for_read_metadata(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_metadata(tmp_path / "absent.fnn")
