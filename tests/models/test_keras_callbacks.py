"""fastnn.callbacks: the protocol and History, CSVLogger, TerminateOnNaN,
LambdaCallback, and the batch hooks fit calls one batch at a time when a callback
overrides them; each in Keras' semantics."""

import csv
import gc
import weakref

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastnn
from fastnn import Sequential
from fastnn.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from fastnn.layers import Dense
from fastnn.optimizers import SGD, Adam

from _callback_cases import Recorder, binary_data, binary_model


# ---------------------------------------------------------------------- CSVLogger


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    X, y = binary_data()
    path = tmp_path / "log.csv"
    history = binary_model().fit(X, y, epochs=3, verbose=0, validation_split=0.25,
                           callbacks=[CSVLogger(path)])
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [int(row["epoch"]) for row in rows] == [0, 1, 2]
    for key in ("loss", "val_loss", "accuracy"):
        assert_allclose([float(row[key]) for row in rows], history.history[key])


def test_csv_logger_appends_without_a_second_header_and_fills_na(tmp_path):
    X, y = binary_data()
    path = tmp_path / "log.tsv"
    model = binary_model()
    model.fit(X, y, epochs=2, verbose=0, callbacks=[CSVLogger(path, separator="\t")])
    model.fit(X, y, epochs=1, verbose=0,
              callbacks=[CSVLogger(path, separator="\t", append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[0] == (
        "epoch\taccuracy\tloss\tval_accuracy\tval_loss")  # Keras adds the val_ columns
    assert all(line.endswith("\tNA\tNA") for line in lines[1:])
    model.fit(X, y, epochs=1, verbose=0, callbacks=[CSVLogger(path)])
    assert len(path.read_text().splitlines()) == 2  # not appending: overwritten
    with pytest.raises(ValueError, match="separator must be one character"):
        CSVLogger(path, separator=";;")


# ------------------------------------------------------------------ TerminateOnNaN


def _diverging():
    X = np.array([[1e3], [-1e3], [2e3], [-2e3]], np.float32)
    model = Sequential([Dense(1, input_dim=1)], seed=0)
    model.compile(SGD(learning_rate=10.0), "mse")
    return model, X


def test_terminate_on_nan_stops_a_diverging_fit(capsys):
    model, X = _diverging()
    with pytest.raises(ValueError, match="training diverged at epoch"):
        model.fit(X, X, epochs=20, verbose=0)
    model, X = _diverging()
    recorder = Recorder()
    history = model.fit(X, X, epochs=20, verbose=0,
                        callbacks=[recorder, TerminateOnNaN()])
    assert "Invalid loss, terminating training" in capsys.readouterr().out
    assert 0 < len(history.epoch) < 20 and model.stop_training
    # the weights of the last epoch that ended, before the one that diverged
    assert_array_equal(model.get_flat_weights(), recorder.weights[-1])
    assert np.isfinite(history.history["loss"]).all()


def test_terminate_on_nan_names_the_batch_that_diverged(capsys):
    X = np.array([[1.0], [1e30], [1.0], [1.0]], np.float32)
    model = Sequential([Dense(1, input_dim=1)], seed=0)
    model.compile(SGD(learning_rate=1.0), "mse")
    history = model.fit(X, np.ones(4), epochs=3, batch_size=1, shuffle=False,
                        verbose=0, callbacks=[TerminateOnNaN()])
    assert capsys.readouterr().out == "Batch 1: Invalid loss, terminating training\n"
    assert history.epoch == []
    assert np.isfinite(model.get_flat_weights()).all()


# ------------------------------------------------- LambdaCallback and batch hooks


def test_lambda_callback_batch_hooks_are_called_once_per_batch():
    X, y = binary_data(50)
    calls = []
    hooks = LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_train_batch_begin=lambda batch, logs: calls.append(("begin", batch)),
        on_batch_end=lambda batch, logs: calls.append(("end", batch)),  # Keras 1 name
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch)),
        on_train_end=lambda logs: calls.append("train_end"),
    )
    binary_model().fit(X, y, epochs=2, batch_size=16, verbose=0, callbacks=[hooks])
    epoch = [("begin", 0), ("end", 0), ("begin", 1), ("end", 1), ("begin", 2),
             ("end", 2), ("begin", 3), ("end", 3)]  # 16 + 16 + 16 + 2 rows
    assert calls == ["train_begin", ("epoch_begin", 0), *epoch, ("epoch_end", 0),
                     ("epoch_begin", 1), *epoch, ("epoch_end", 1), "train_end"]


@pytest.mark.parametrize("weighted", [False, True])
def test_batch_logs_hold_the_epochs_loss_so_far(weighted):
    X, y = binary_data(50)
    sample_weight = np.linspace(0.5, 2, 50) if weighted else None
    logs = []
    hooks = LambdaCallback(on_train_batch_end=lambda batch, log: logs.append(dict(log)))
    history = binary_model().fit(X, y, epochs=2, batch_size=16, verbose=0,
                           sample_weight=sample_weight, callbacks=[hooks])
    assert len(logs) == 8 and set(logs[0]) == {"loss", "accuracy"}
    for epoch in range(2):  # the last batch's logs are the epoch's
        last = logs[4 * epoch + 3]
        assert last["loss"] == pytest.approx(history.history["loss"][epoch], rel=1e-12)
        assert last["accuracy"] == pytest.approx(history.history["accuracy"][epoch])


def test_batch_hooks_train_as_the_compiled_epochs_do(dtype):
    X, y = binary_data(50)
    X = X.astype(dtype)
    plain = binary_model(Adam(learning_rate=0.01))
    plain.fit(X, y, epochs=3, batch_size=16, verbose=0)
    hooked = binary_model(Adam(learning_rate=0.01))
    hooked.fit(X, y, epochs=3, batch_size=16, verbose=0,
               callbacks=[LambdaCallback(on_batch_begin=lambda batch, logs: None)])
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(hooked.get_flat_weights(), plain.get_flat_weights(), rtol=rtol)


def test_stop_training_in_a_batch_hook_ends_the_epoch_after_that_batch():
    X, y = binary_data(50)
    model = binary_model()

    def stop_at_two(batch, logs):
        model.stop_training = batch == 1

    history = model.fit(X, y, epochs=5, batch_size=16, verbose=0,
                        callbacks=[LambdaCallback(on_train_batch_end=stop_at_two)])
    assert history.epoch == [0]
    assert model.optimizer.iterations == 2
    assert 0 < history.history["loss"][0] < 2


def test_a_rate_changed_in_a_batch_hook_takes_effect_at_once():
    X, y = binary_data(48)
    model = binary_model(SGD(learning_rate=0.1))

    def freeze_after_first(batch, logs):
        if batch == 1:
            model.optimizer.learning_rate = 1e-300  # no step moves the weights

    recorder = LambdaCallback(on_train_batch_begin=freeze_after_first)
    first = []
    keep = LambdaCallback(on_train_batch_end=lambda batch, logs: first.append(
        model.get_flat_weights()) if batch == 0 else None)
    model.fit(X, y, epochs=1, batch_size=16, verbose=0, callbacks=[recorder, keep])
    assert_array_equal(model.get_flat_weights(), first[0])


def test_lambda_callback_refuses_what_is_not_callable():
    with pytest.raises(TypeError, match="on_epoch_end must be callable"):
        LambdaCallback(on_epoch_end=3)
    with pytest.raises(TypeError):
        LambdaCallback(on_test_end=print)  # not a hook fit calls


# -------------------------------------------------------- the protocol and History


def test_params_history_and_public_home():
    X, y = binary_data(50)
    seen = {}

    class Watch(Callback):
        def on_train_begin(self, logs=None):
            seen.update(self.params)

    model = binary_model()
    history = model.fit(X, y, epochs=2, batch_size=16, verbose=0, callbacks=[Watch()])
    assert seen == {"epochs": 2, "batch_size": 16, "samples": 50, "steps": 4,
                    "verbose": 0}
    assert isinstance(history, History) and isinstance(history, Callback)
    assert model.history is history and history.epoch == [0, 1]
    assert fastnn.models.Callback is Callback and fastnn.models.History is History
    assert fastnn.callbacks.EarlyStopping is EarlyStopping
    with pytest.raises(TypeError, match="callbacks must be a list of"):
        model.fit(X, y, verbose=0, callbacks=[print])


def test_callbacks_without_batch_hooks_leave_the_compiled_epochs_alone(monkeypatch,
                                                                       tmp_path):
    """Only a callback that overrides a batch hook makes fit run batch by batch."""
    from fastnn.models import epoch as epoch_module

    seen = []
    real = epoch_module.run_epoch

    def recording(*args):
        seen.append(args[-1])
        return real(*args)

    from fastnn.models import training as training_module
    monkeypatch.setattr(training_module, "run_epoch", recording)
    X, y = binary_data(50)
    binary_model().fit(X, y, epochs=1, verbose=0, validation_split=0.2, callbacks=[
        EarlyStopping(), ReduceLROnPlateau(), TerminateOnNaN(),
        ModelCheckpoint(tmp_path / "m.fnn"),
        LambdaCallback(on_epoch_end=lambda epoch, logs: None)])
    assert seen == [None]
    binary_model().fit(X, y, epochs=1, verbose=0,
                 callbacks=[ModelCheckpoint(tmp_path / "unused", save_freq=1000)])
    assert seen[-1] is not None


def test_a_fitted_model_is_freed_when_dropped_not_left_to_the_garbage_collector():
    # model.history -> History -> model would be a reference cycle: every fitted model
    # would then wait for a collection (the memory test saw RSS creep by 1.2 KB a fit)
    X, y = binary_data()
    model = binary_model()
    history = model.fit(X, y, epochs=2, verbose=0)
    assert model.history is history and history.model is model
    gc.disable()
    try:
        alive = weakref.ref(model)
        del model
        assert alive() is None
        assert history.model is None and len(history.epoch) == 2
    finally:
        gc.enable()
