"""Sequential.save_weights / load_weights: the weights alone in fastnn's safe
container, read back only into a model of the same architecture; any difference,
or a damaged file, is a clear error and leaves the model as it was."""

import io
import json
import zipfile

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn import Sequential, load_model
from fastnn.layers import Activation, Dense, Dropout, Maxout

from _saving_cases import _data, _model, _npy, _write


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _layout(members):
    raw = np.load(io.BytesIO(members["weights.npy"]), allow_pickle=False)
    return json.loads(raw.tobytes().decode())


@pytest.fixture
def weights_file(tmp_path):
    """A trained float32 model and its weights file."""
    X, y = _data()
    model = _model()
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "model.weights.fnn"
    model.save_weights(path)
    return model, path


def _assert_untouched(model, before):
    for now, then in zip(model.get_weights(), before):
        assert_array_equal(now, then)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weights_round_trip_into_a_new_model(tmp_path, dtype):
    X, y = _data(dtype)
    model = _model()
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "w"
    model.save_weights(path)
    assert set(_members(path)) == {"weights.npy", *(f"weight_{i}.npy" for i in range(6))}
    other = _model()  # unbuilt: built for the file's width and dtype
    other.load_weights(path)
    assert other.dtype == dtype
    for a, b in zip(other.get_weights(), model.get_weights()):
        assert a.dtype == dtype
        assert_array_equal(a, b)
    assert_array_equal(other.predict(X), model.predict(X))


def test_load_weights_into_a_fitted_model_replaces_its_weights(weights_file):
    model, path = weights_file
    X, y = _data()
    other = _model()
    other.fit(X, y, epochs=1, verbose=0)
    other.load_weights(path)
    assert_array_equal(other.get_flat_weights(), model.get_flat_weights())
    other.fit(X, y, epochs=1, verbose=0)  # and it trains on


def _other(kind):
    if kind == "fewer layers":
        return Sequential([Dense(6, "relu", input_dim=4), Dense(3, "softmax")])
    if kind == "other units":
        return Sequential([Dense(7, "relu", input_dim=4), Maxout(5, pieces=3),
                           Activation("tanh"), Dense(3, "softmax")])
    if kind == "other class":
        return Sequential([Dense(6, "relu", input_dim=4), Dense(5),
                           Activation("tanh"), Dense(3, "softmax")])
    if kind == "other width":
        return Sequential([Dense(6, "relu", input_dim=5), Maxout(5, pieces=3),
                           Activation("tanh"), Dense(3, "softmax")])
    if kind == "other dtype":
        return _model().build(4, np.float64)
    if kind == "no bias":
        return Sequential([Dense(6, "relu", input_dim=4), Maxout(5, pieces=3),
                           Activation("tanh"), Dense(3, "softmax", use_bias=False)])
    raise AssertionError(kind)


@pytest.mark.parametrize("kind, match", [
    ("fewer layers", "the file holds the weights of 4 layers, the model has 2"),
    ("other units", r"layer 0 \(\w+\)'s weight 0 is \(4, 7\), the file's is \(4, 6\)"),
    ("other class", r"layer 1 \(\w+\) is a Dense, the file's layer 1 \(\w+\) a Maxout"),
    ("other width", "the file's weights take inputs of width 4, the model 5"),
    ("other dtype", "the file's weights are float32, the model is float64"),
    ("no bias", r"layer 3 \(\w+\) has 1 weights, the file's 2"),
])
def test_another_architecture_is_refused_and_nothing_is_loaded(weights_file, kind,
                                                               match):
    _, path = weights_file
    model = _other(kind)
    if not model.built:
        model.build()
    before = model.get_weights()
    with pytest.raises(ValueError, match="cannot load the weights of .* into this "
                                         "model: " + match):
        model.load_weights(path)
    _assert_untouched(model, before)


def test_an_unbuilt_model_of_another_architecture_stays_unbuilt(weights_file):
    _, path = weights_file
    model = _other("other units")
    with pytest.raises(ValueError, match="weight 0 is"):
        model.load_weights(path)
    assert not model.built


def test_missing_file_and_overwrite(tmp_path, weights_file):
    model, path = weights_file
    with pytest.raises(FileNotFoundError):
        model.load_weights(tmp_path / "nothing.fnn")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.save_weights(path, overwrite=False)
    model.save_weights(path, overwrite=True)
    with pytest.raises(ValueError, match="save_weights: the model is not built"):
        _model().save_weights(tmp_path / "unbuilt")


def test_model_files_and_weights_files_are_not_confused(tmp_path, weights_file):
    model, path = weights_file
    with pytest.raises(ValueError, match="not a valid fastnn model file: it holds "
                                         "weights alone.*load_weights"):
        load_model(path)
    model.save(tmp_path / "model.fnn")
    with pytest.raises(ValueError, match="not a valid fastnn weights file: it is a "
                                         "whole model file.*load_model"):
        model.load_weights(tmp_path / "model.fnn")


def test_truncated_file_is_a_clear_error_and_loads_nothing(tmp_path, weights_file):
    _, path = weights_file
    data = path.read_bytes()
    target = _model().build(4)
    before = target.get_weights()
    for cut in (0, 10, len(data) // 2, len(data) - 30):
        (tmp_path / "cut").write_bytes(data[:cut])
        with pytest.raises(ValueError, match="is not a valid fastnn weights file"):
            target.load_weights(tmp_path / "cut")
        _assert_untouched(target, before)


def _rewritten(tmp_path, members, **changes):
    changed = dict(members)
    for name, value in changes.items():
        if value is None:
            del changed[name]
        else:
            changed[name] = value
    return _write(tmp_path / "changed.fnn", changed)


def test_damaged_members_are_refused(tmp_path, weights_file):
    _, path = weights_file
    members = _members(path)
    layout = _layout(members)
    target = _model().build(4)
    before = target.get_weights()

    def refused(match, **changes):
        with pytest.raises(ValueError, match=match):
            target.load_weights(_rewritten(tmp_path, members, **changes))
        _assert_untouched(target, before)

    def with_layout(value):
        return _npy(np.frombuffer(json.dumps(value).encode(), np.uint8))

    refused("unexpected members", **{"weight_9.npy": members["weight_0.npy"]})
    refused("its layers do not match its arrays", **{"weight_5.npy": None})
    refused("no weights member", **{"weights.npy": None})
    refused("weight_2 holds NaN or inf", **{"weight_2.npy": _npy(
        np.full(np.load(io.BytesIO(members["weight_2.npy"])).shape, np.nan,
                np.float32))})
    refused("weight_0 has dtype int64", **{"weight_0.npy": _npy(np.zeros((4, 6), np.int64))})
    refused("its arrays are not all float32",
            **{"weight_1.npy": _npy(np.zeros(6, np.float64))})
    refused("its layout is not a fastnn.Sequential's",
            **{"weights.npy": with_layout({**layout, "format": "keras"})})
    refused("its layout is not a fastnn.Sequential's",
            **{"weights.npy": with_layout({**layout, "input_dim": -1})})
    broken = json.loads(json.dumps(layout))
    broken["layers"][0]["n_weights"] = 3
    refused("its layers do not match its arrays", **{"weights.npy": with_layout(broken)})
    refused("is not a valid fastnn weights file",
            **{"weights.npy": _npy(np.frombuffer(b"{not json", np.uint8))})


def test_a_dropout_model_round_trips_and_keeps_its_layers(tmp_path):
    X, y = _data()
    model = _model(dropout=True)
    model.fit(X, y, epochs=1, verbose=0)
    model.save_weights(tmp_path / "w")
    layout = _layout(_members(tmp_path / "w"))
    assert [entry["class_name"] for entry in layout["layers"]] == [
        "Dense", "Maxout", "Activation", "Dropout", "Dense"]
    assert [entry["n_weights"] for entry in layout["layers"]] == [2, 2, 0, 0, 2]
    other = _model(dropout=True)
    other.load_weights(tmp_path / "w")
    assert_array_equal(other.predict(X), model.predict(X))
    with pytest.raises(ValueError, match="5 layers, the model has 4"):
        _model().load_weights(tmp_path / "w")
    assert isinstance(other.layers[3], Dropout)
