"""model.save / fastnn.load_model: the round trip (predictions, optimizer state, further
training, configuration, file modes), and what the file holds (JSON and .npy, no
pickles). Bad files: test_saving_bad_files.py.
"""

import io
import os
import zipfile

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastnn
from fastnn import Sequential, load_model
from fastnn.layers import Dense
from fastnn.optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, Nadam, RMSprop

from _saving_cases import _architecture, _data, _model

# ------------------------------------------------------------------ round trip

@pytest.mark.parametrize("optimizer", [
    Adam(lr=0.01), SGD(lr=0.05), SGD(lr=0.05, momentum=0.9, nesterov=True, decay=1e-3),
    RMSprop(lr=0.01, decay=1e-3), RMSprop(lr=0.01, momentum=0.9, centered=True),
    Adagrad(lr=0.05, decay=1e-3, initial_accumulator_value=0.1),
    Adadelta(rho=0.9, epsilon=1e-6), Adamax(lr=0.01, decay=1e-3), Nadam(lr=0.01),
], ids=["adam", "sgd", "nesterov-decay", "rmsprop", "rmsprop-centered-momentum",
        "adagrad", "adadelta", "adamax", "nadam"])
def test_round_trip_predicts_and_trains_identically(optimizer, dtype, tmp_path):
    X, y = _data(dtype)
    model = _model(type(optimizer)(**optimizer.get_config()))
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "m.fnn")
    loaded = load_model(tmp_path / "m.fnn")
    assert loaded.dtype == dtype
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 10
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert a.dtype == b.dtype == dtype
        assert_array_equal(a, b)
    assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.evaluate(X, y) == model.evaluate(X, y)  # metrics saved: [loss, acc]
    # Training goes on exactly as it would have (optimizer state saved).
    history = model.fit(X, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    loaded_history = loaded.fit(X, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert loaded_history.history == history.history
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert_array_equal(a, b)


def test_load_model_is_exported():
    assert fastnn.load_model is load_model


def test_round_trip_keeps_the_configuration(saved, tmp_path):
    model, path, _ = saved
    loaded = load_model(path)
    assert [layer.get_config() for layer in loaded.layers] == [
        layer.get_config() for layer in model.layers
    ]
    assert loaded.layers[0].kernel_initializer == "uniform"
    assert loaded.layers[1].pieces == 3
    assert loaded.loss.name == "sparse_categorical_crossentropy"


def test_round_trip_with_dropout_predicts_identically(tmp_path):
    X, y = _data(np.float64)
    model = _model(dropout=True)
    model.fit(X, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.fnn")
    loaded = load_model(tmp_path / "m.fnn")
    assert loaded.layers[3].rate == 0.25 and loaded.layers[3].seed == 3
    assert_array_equal(loaded.predict(X), model.predict(X))


def test_uncompiled_model_round_trip(tmp_path):
    X, _ = _data(np.float64)
    model = Sequential([Dense(3, activation="elu", input_dim=4)], seed=0)
    model.build(4, np.float64)
    model.save(tmp_path / "m.fnn")
    loaded = load_model(tmp_path / "m.fnn")
    assert loaded.loss is None
    assert_array_equal(loaded.predict(X), model.predict(X))


def test_save_writes_exactly_the_path_given(tmp_path):
    model = _model()
    model.build(4, np.float32)
    model.save(str(tmp_path / "model"))
    assert os.listdir(tmp_path) == ["model"]  # no ".npz" suffix, no temporary left
    model.save(tmp_path / "model")  # overwrites
    assert os.listdir(tmp_path) == ["model"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and umask")
def test_saved_files_follow_the_umask_and_keep_a_replaced_files_mode(tmp_path):
    # Written as open(path, "wb") writes: a new file gets 0o666 less the umask (it was
    # 0o600 whatever the umask, from tempfile.mkstemp); a replaced one keeps its mode.
    model = _model()
    model.build(4, np.float32)
    old = os.umask(0o027)
    try:
        model.save(tmp_path / "model")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "model").st_mode & 0o777 == 0o640
    os.chmod(tmp_path / "model", 0o604)
    model.save(tmp_path / "model")
    assert os.stat(tmp_path / "model").st_mode & 0o777 == 0o604
    assert os.listdir(tmp_path) == ["model"]


def test_the_file_is_json_and_npz_without_pickles(saved):
    _, path, members = saved
    with zipfile.ZipFile(path) as archive:
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    architecture = _architecture(members)
    assert architecture["dtype"] == "float32" and architecture["input_dim"] == 4
    assert [layer["class_name"] for layer in architecture["layers"]] == [
        "Dense", "Maxout", "Activation", "Dense"]
    for name, data in members.items():
        array = np.load(io.BytesIO(data), allow_pickle=False)  # raises on pickles
        assert array.dtype != object, name


def test_save_of_an_unbuilt_model(tmp_path):
    with pytest.raises(ValueError, match="not built"):
        Sequential([Dense(3)]).save(tmp_path / "m.fnn")


def test_callable_metrics_are_not_saved(tmp_path):
    def mean_proba(y, proba):
        return float(np.mean(proba))

    model = Sequential([Dense(2, activation="softmax", input_dim=4)], seed=0)
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=[mean_proba])
    model.build(4, np.float32)
    with pytest.warns(UserWarning, match="mean_proba"):
        model.save(tmp_path / "m.fnn")
    assert load_model(tmp_path / "m.fnn").metrics == []


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        load_model("/nonexistent/fastnn/model.fnn")
