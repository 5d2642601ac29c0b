"""fastnn.callbacks, each in Keras' semantics: EarlyStopping, ModelCheckpoint,
ReduceLROnPlateau, LearningRateScheduler, CSVLogger, TerminateOnNaN, LambdaCallback,
and the batch hooks fit calls one batch at a time when a callback overrides them.

A monitored quantity is often injected by a LambdaCallback placed before the callback
that watches it (``_scores``): the sequence of values is then exact, whatever the
training does."""

import csv
import os

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastnn
from fastnn import Sequential, load_model
from fastnn.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from fastnn.layers import Dense
from fastnn.optimizers import SGD, Adam


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + X[:, 1] + rng.normal(size=n) > 0).astype(int)
    return X, y


def _model(optimizer=None, seed=0):
    model = Sequential([Dense(8, "tanh", input_dim=4), Dense(1, "sigmoid")], seed=seed)
    model.compile(optimizer or SGD(learning_rate=0.1), "binary_crossentropy",
                  ["accuracy"])
    return model


def _scores(values, key="score"):
    """A callback that puts ``values[epoch]`` into each epoch's logs as ``key``."""
    def put(epoch, logs):
        logs[key] = values[epoch]
    return LambdaCallback(on_epoch_end=put)


class _Recorder(Callback):
    """Records the flat weights and the logs at each epoch's end."""

    def __init__(self):
        self.weights, self.logs = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_flat_weights())
        self.logs.append(dict(logs))


# ------------------------------------------------------------------ EarlyStopping


def test_early_stopping_stops_after_patience_and_restores_the_best_epoch():
    X, y = _data()
    model = _model()
    recorder = _Recorder()
    stop = EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    history = model.fit(X, y, epochs=50, verbose=0, callbacks=[
        _scores([5, 4, 3, 3.5, 4, 1, 1, 1]), recorder, stop])
    assert history.epoch == [0, 1, 2, 3, 4]  # 3 and 4 did not improve on epoch 2
    assert stop.stopped_epoch == 4 and stop.best_epoch == 2 and stop.best == 3
    assert model.stop_training
    assert_array_equal(model.get_flat_weights(), recorder.weights[2])
    assert not np.array_equal(recorder.weights[4], recorder.weights[2])


def test_early_stopping_on_val_loss_restores_the_weights_of_the_lowest_val_loss():
    X, y = _data(200, seed=3)
    model = Sequential([Dense(32, "relu", input_dim=4), Dense(1, "sigmoid")], seed=0)
    model.compile(Adam(learning_rate=0.05), "binary_crossentropy")
    recorder = _Recorder()
    stop = EarlyStopping(patience=3, restore_best_weights=True)
    history = model.fit(X[:60], y[:60], epochs=500, verbose=0, batch_size=8,
                        validation_data=(X[60:], y[60:]), callbacks=[recorder, stop])
    val_loss = history.history["val_loss"]
    assert len(val_loss) < 500 and stop.stopped_epoch == len(val_loss) - 1
    best = int(np.argmin(val_loss))
    assert stop.best_epoch == best and len(val_loss) == best + 4
    assert_array_equal(model.get_flat_weights(), recorder.weights[best])


def test_restore_best_weights_at_train_end_without_stopping():
    """Keras 3: the best epoch's weights come back when the fit ends too."""
    X, y = _data()
    model, recorder = _model(), _Recorder()
    stop = EarlyStopping(monitor="score", patience=10, restore_best_weights=True)
    model.fit(X, y, epochs=4, verbose=0,
              callbacks=[_scores([3, 1, 2, 2]), recorder, stop])
    assert stop.stopped_epoch == 0 and stop.best_epoch == 1
    assert_array_equal(model.get_flat_weights(), recorder.weights[1])


def test_without_restore_the_last_weights_stay():
    X, y = _data()
    model, recorder = _model(), _Recorder()
    model.fit(X, y, epochs=10, verbose=0, callbacks=[
        _scores([3, 1, 2, 2, 2, 2]), recorder, EarlyStopping("score", patience=1)])
    assert len(recorder.weights) == 3
    assert_array_equal(model.get_flat_weights(), recorder.weights[-1])


@pytest.mark.parametrize("monitor, scores, stopped", [
    ("val_accuracy", [0.5, 0.6, 0.55, 0.58, 0.9], 3),  # auto: 'acc' is maximized
    ("val_loss", [0.5, 0.6, 0.55, 0.58, 0.1], 2),       # auto: a loss is minimized
])
def test_auto_mode_follows_the_name(monitor, scores, stopped):
    X, y = _data()
    stop = EarlyStopping(monitor, patience=2)
    _model().fit(X, y, epochs=5, verbose=0, callbacks=[_scores(scores, monitor), stop])
    assert stop.stopped_epoch == stopped


def test_min_delta_baseline_and_start_from_epoch():
    X, y = _data()
    # an improvement of at most min_delta is none
    stop = EarlyStopping("score", min_delta=0.5, patience=1, mode="min")
    _model().fit(X, y, epochs=9, verbose=0,
                 callbacks=[_scores([3, 2.6, 2.2, 1.0, 0.9]), stop])
    assert stop.stopped_epoch == 1 and stop.best == 3
    # not beating the baseline: an improvement does not reset the wait
    for baseline, stopped in ((None, 4), (10, 2)):
        stop = EarlyStopping("score", patience=3, mode="max", baseline=baseline)
        _model().fit(X, y, epochs=5, verbose=0,
                     callbacks=[_scores([1, 2, 2, 2, 2]), stop])
        assert stop.stopped_epoch == stopped and stop.best == 2
    # the epochs before start_from_epoch are not watched
    stop = EarlyStopping("score", patience=0, start_from_epoch=3)
    _model().fit(X, y, epochs=9, verbose=0,
                 callbacks=[_scores([1, 2, 3, 4, 5, 6]), stop])
    assert stop.stopped_epoch == 4 and stop.best_epoch == 3


def test_verbose_early_stopping_prints_keras_lines(capsys):
    X, y = _data()
    stop = EarlyStopping("score", patience=0, verbose=1, restore_best_weights=True)
    _model().fit(X, y, epochs=9, verbose=0, callbacks=[_scores([1, 2]), stop])
    assert capsys.readouterr().out == (
        "Epoch 2: early stopping\n"
        "Restoring model weights from the end of the best epoch: 1.\n")


def test_one_instance_serves_two_fits():
    X, y = _data()
    stop = EarlyStopping("score", patience=0)
    model = _model()
    model.fit(X, y, epochs=5, verbose=0, callbacks=[_scores([1, 2, 3]), stop])
    assert stop.stopped_epoch == 1
    history = model.fit(X, y, epochs=5, verbose=0, callbacks=[_scores([5, 4, 3, 2, 1]),
                                                              stop])
    assert len(history.epoch) == 5 and stop.stopped_epoch == 0


def test_an_unknown_monitor_warns_and_the_fit_goes_on():
    X, y = _data()
    with pytest.warns(UserWarning, match=r"Early stopping conditioned on metric "
                      r"`val_los` which is not available. Available metrics are: "
                      r"loss,accuracy"):
        history = _model().fit(X, y, epochs=3, verbose=0,
                               callbacks=[EarlyStopping("val_los")])
    assert len(history.epoch) == 3


@pytest.mark.parametrize("kwargs, error, match", [
    ({"mode": "sideways"}, ValueError, "mode 'sideways' is unknown"),
    ({"patience": -1}, ValueError, "patience must be an int >= 0"),
    ({"patience": 1.5}, TypeError, "patience must be an int"),
    ({"monitor": 3}, TypeError, "monitor must be a str"),
    ({"min_delta": "0.1"}, TypeError, "min_delta must be a number"),
    ({"start_from_epoch": -2}, ValueError, "start_from_epoch"),
])
def test_early_stopping_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        EarlyStopping(**kwargs)


# ---------------------------------------------------------------- ModelCheckpoint


def test_checkpoints_reload_with_load_model_and_predict_the_same(tmp_path):
    X, y = _data()
    model = _model()
    recorder = _Recorder()
    path = str(tmp_path / "sub" / "model-{epoch:02d}-{loss:.2f}.fnn")
    history = model.fit(X, y, epochs=3, verbose=0,
                        callbacks=[ModelCheckpoint(path), recorder])
    names = sorted(os.listdir(tmp_path / "sub"))
    assert names == [f"model-{epoch + 1:02d}-{loss:.2f}.fnn"
                     for epoch, loss in enumerate(history.history["loss"])]
    last = load_model(tmp_path / "sub" / names[-1])
    assert_array_equal(last.predict(X), model.predict(X))
    first = load_model(tmp_path / "sub" / names[0])
    assert_array_equal(first.get_flat_weights(), recorder.weights[0])
    # the whole model: the optimizer and its state too
    assert first.optimizer.iterations == model.optimizer.iterations // 3


def test_weights_only_checkpoint_reloads_with_load_weights(tmp_path):
    X, y = _data()
    model = _model()
    path = tmp_path / "best.weights.fnn"
    model.fit(X, y, epochs=2, verbose=0,
              callbacks=[ModelCheckpoint(path, save_weights_only=True)])
    other = _model(seed=5)
    other.load_weights(path)
    assert_array_equal(other.predict(X), model.predict(X))
    with pytest.raises(ValueError, match="weights alone"):
        load_model(path)


def test_save_best_only_saves_the_improving_epochs(tmp_path, capsys):
    X, y = _data()
    path = str(tmp_path / "m{epoch}.fnn")
    checkpoint = ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True,
                                 verbose=1)
    _model().fit(X, y, epochs=5, verbose=0, callbacks=[
        _scores([0.5, 0.7, 0.6, 0.7, 0.8], "val_accuracy"), checkpoint])
    assert sorted(os.listdir(tmp_path)) == ["m1.fnn", "m2.fnn", "m5.fnn"]
    out = capsys.readouterr().out
    assert "Epoch 2: val_accuracy improved from 0.50000 to 0.70000, saving model" in out
    assert "Epoch 4: val_accuracy did not improve from 0.70000" in out


def test_save_best_only_with_a_fixed_name_keeps_the_best(tmp_path):
    X, y = _data()
    model, recorder = _model(), _Recorder()
    path = tmp_path / "best.fnn"
    model.fit(X, y, epochs=4, verbose=0, callbacks=[
        _scores([3, 1, 2, 2], "val_loss"), recorder,
        ModelCheckpoint(path, save_best_only=True)])
    assert_array_equal(load_model(path).get_flat_weights(), recorder.weights[1])


def test_initial_value_threshold_must_be_beaten_first(tmp_path):
    X, y = _data()
    checkpoint = ModelCheckpoint(str(tmp_path / "m{epoch}.fnn"), monitor="score",
                                 save_best_only=True, initial_value_threshold=2.0)
    _model().fit(X, y, epochs=3, verbose=0,
                 callbacks=[_scores([3, 2.5, 1.5]), checkpoint])
    assert os.listdir(tmp_path) == ["m3.fnn"]


def test_save_freq_in_batches(tmp_path):
    X, y = _data(50)
    path = str(tmp_path / "m{epoch}-{batch}.fnn")
    model = _model()
    model.fit(X, y, epochs=2, batch_size=10, verbose=0,  # 5 batches an epoch
              callbacks=[ModelCheckpoint(path, save_freq=3, save_weights_only=True)])
    assert sorted(os.listdir(tmp_path)) == ["m1-3.fnn", "m2-1.fnn", "m2-4.fnn"]


def test_save_best_only_without_the_monitor_warns_and_saves_nothing(tmp_path):
    X, y = _data()
    with pytest.warns(UserWarning, match="Can save best model only with val_loss "
                                         "available, skipping."):
        _model().fit(X, y, epochs=2, verbose=0, callbacks=[
            ModelCheckpoint(tmp_path / "m.fnn", save_best_only=True)])
    assert os.listdir(tmp_path) == []


def test_checkpoint_refuses_bad_arguments_and_paths(tmp_path):
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        ModelCheckpoint("m.fnn", save_freq="batch")
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        ModelCheckpoint("m.fnn", save_freq=0)
    with pytest.raises(ValueError, match="mode 'up' is unknown"):
        ModelCheckpoint("m.fnn", mode="up")
    X, y = _data()
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        _model().fit(X, y, epochs=1, verbose=0,
                     callbacks=[ModelCheckpoint(str(tmp_path / "{val_loss}.fnn"))])
    with pytest.raises(OSError, match="non-directory filepath"):
        _model().fit(X, y, epochs=1, verbose=0,
                     callbacks=[ModelCheckpoint(tmp_path)])


# ---------------------------------------------------------- the learning-rate ones


def _fit_with_rates(rates, X, y, callbacks=()):
    """A model fitted one epoch per rate, the rate set by hand before each."""
    model = _model(SGD(learning_rate=rates[0], momentum=0.5))
    for epoch, rate in enumerate(rates):
        model.optimizer.learning_rate = rate
        model.fit(X, y, epochs=epoch + 1, initial_epoch=epoch, batch_size=16,
                  verbose=0, callbacks=list(callbacks))
    return model


def test_reduce_lr_on_plateau_changes_the_rate_the_steps_use():
    X, y = _data()
    model = _model(SGD(learning_rate=0.4, momentum=0.5))
    reduce = ReduceLROnPlateau("score", factor=0.5, patience=1, min_delta=0)
    history = model.fit(X, y, epochs=5, batch_size=16, verbose=0,
                        callbacks=[_scores([3, 3, 3, 1, 1]), reduce])
    # the rate of each epoch is logged at its end, before a reduction: epochs 1 and
    # 2 do not improve (a reduction each), 3 does, 4 does not
    assert history.history["learning_rate"] == [0.4, 0.4, 0.2, 0.1, 0.1]
    assert model.optimizer.learning_rate == 0.05
    by_hand = _fit_with_rates([0.4, 0.4, 0.2, 0.1, 0.1], X, y)
    assert_allclose(model.get_flat_weights(), by_hand.get_flat_weights(), rtol=1e-12)
    constant = _fit_with_rates([0.4] * 5, X, y)
    assert not np.allclose(model.get_flat_weights(), constant.get_flat_weights())


def test_reduce_lr_on_plateau_cooldown_and_min_lr():
    X, y = _data()
    model = _model(SGD(learning_rate=1.0))
    reduce = ReduceLROnPlateau("score", factor=0.1, patience=0, cooldown=2,
                               min_lr=0.005)
    history = model.fit(X, y, epochs=6, verbose=0,
                        callbacks=[_scores([1] * 6), reduce])
    # epoch 0 sets the best; reductions at the end of epochs 1, 3 and 5 (the
    # cooldown counts down at the start of an epoch's check, as Keras)
    assert_allclose(history.history["learning_rate"], [1, 1, 0.1, 0.1, 0.01, 0.01])
    assert model.optimizer.learning_rate == 0.005


def test_reduce_lr_on_plateau_warns_for_a_missing_monitor_and_refuses_bad_factor():
    X, y = _data()
    with pytest.warns(UserWarning, match="Learning rate reduction is conditioned on "
                                         "metric `val_loss` which is not available"):
        _model().fit(X, y, epochs=1, verbose=0, callbacks=[ReduceLROnPlateau()])
    with pytest.raises(ValueError, match="does not support a factor >= 1.0"):
        ReduceLROnPlateau(factor=1.5)
    with pytest.raises(ValueError, match="factor > 0"):
        ReduceLROnPlateau(factor=0)
    with pytest.raises(ValueError, match="mode 'sideways' is unknown"):
        ReduceLROnPlateau(mode="sideways")
    assert ReduceLROnPlateau(epsilon=0.3).min_delta == 0.3  # Keras 1's name


def test_learning_rate_scheduler_sets_the_rate_of_each_epoch(capsys):
    X, y = _data()
    rates = [0.3, 0.2, 0.1, 0.05]
    model = _model(SGD(learning_rate=0.3, momentum=0.5))
    scheduler = LearningRateScheduler(lambda epoch, lr: rates[epoch], verbose=1)
    history = model.fit(X, y, epochs=4, batch_size=16, verbose=0, callbacks=[scheduler])
    assert history.history["learning_rate"] == rates
    assert "Epoch 3: LearningRateScheduler setting learning rate to 0.1." in (
        capsys.readouterr().out)
    by_hand = _fit_with_rates(rates, X, y)
    assert_allclose(model.get_flat_weights(), by_hand.get_flat_weights(), rtol=1e-12)


def test_learning_rate_scheduler_keras_1_form_and_bad_rates():
    X, y = _data()
    model = _model(Adam(learning_rate=0.01))
    history = model.fit(X, y, epochs=3, verbose=0,
                        callbacks=[LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))])
    assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.1 / 3])
    for bad in ("fast", None, -1.0, float("nan")):
        scheduler = LearningRateScheduler(lambda epoch, lr, bad=bad: bad)
        with pytest.raises(ValueError, match="output of the `schedule` function"):
            _model().fit(X, y, epochs=1, verbose=0, callbacks=[scheduler])
    with pytest.raises(TypeError, match="schedule must be callable"):
        LearningRateScheduler(0.1)


def test_a_schedules_own_type_error_is_not_hidden():
    X, y = _data()

    def schedule(epoch, lr):
        return lr + "oops"  # a bug: Keras would retry as schedule(epoch)

    with pytest.raises(TypeError, match="unsupported operand"):
        _model().fit(X, y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(schedule)])


# ---------------------------------------------------------------------- CSVLogger


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    X, y = _data()
    path = tmp_path / "log.csv"
    history = _model().fit(X, y, epochs=3, verbose=0, validation_split=0.25,
                           callbacks=[CSVLogger(path)])
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [int(row["epoch"]) for row in rows] == [0, 1, 2]
    for key in ("loss", "val_loss", "accuracy"):
        assert_allclose([float(row[key]) for row in rows], history.history[key])


def test_csv_logger_appends_without_a_second_header_and_fills_na(tmp_path):
    X, y = _data()
    path = tmp_path / "log.tsv"
    model = _model()
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
    recorder = _Recorder()
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
    X, y = _data(50)
    calls = []
    hooks = LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_train_batch_begin=lambda batch, logs: calls.append(("begin", batch)),
        on_batch_end=lambda batch, logs: calls.append(("end", batch)),  # Keras 1 name
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch)),
        on_train_end=lambda logs: calls.append("train_end"),
    )
    _model().fit(X, y, epochs=2, batch_size=16, verbose=0, callbacks=[hooks])
    epoch = [("begin", 0), ("end", 0), ("begin", 1), ("end", 1), ("begin", 2),
             ("end", 2), ("begin", 3), ("end", 3)]  # 16 + 16 + 16 + 2 rows
    assert calls == ["train_begin", ("epoch_begin", 0), *epoch, ("epoch_end", 0),
                     ("epoch_begin", 1), *epoch, ("epoch_end", 1), "train_end"]


@pytest.mark.parametrize("weighted", [False, True])
def test_batch_logs_hold_the_epochs_loss_so_far(weighted):
    X, y = _data(50)
    sample_weight = np.linspace(0.5, 2, 50) if weighted else None
    logs = []
    hooks = LambdaCallback(on_train_batch_end=lambda batch, log: logs.append(dict(log)))
    history = _model().fit(X, y, epochs=2, batch_size=16, verbose=0,
                           sample_weight=sample_weight, callbacks=[hooks])
    assert len(logs) == 8 and set(logs[0]) == {"loss", "accuracy"}
    for epoch in range(2):  # the last batch's logs are the epoch's
        last = logs[4 * epoch + 3]
        assert last["loss"] == pytest.approx(history.history["loss"][epoch], rel=1e-12)
        assert last["accuracy"] == pytest.approx(history.history["accuracy"][epoch])


def test_batch_hooks_train_as_the_compiled_epochs_do(dtype):
    X, y = _data(50)
    X = X.astype(dtype)
    plain = _model(Adam(learning_rate=0.01))
    plain.fit(X, y, epochs=3, batch_size=16, verbose=0)
    hooked = _model(Adam(learning_rate=0.01))
    hooked.fit(X, y, epochs=3, batch_size=16, verbose=0,
               callbacks=[LambdaCallback(on_batch_begin=lambda batch, logs: None)])
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(hooked.get_flat_weights(), plain.get_flat_weights(), rtol=rtol)


def test_stop_training_in_a_batch_hook_ends_the_epoch_after_that_batch():
    X, y = _data(50)
    model = _model()

    def stop_at_two(batch, logs):
        model.stop_training = batch == 1

    history = model.fit(X, y, epochs=5, batch_size=16, verbose=0,
                        callbacks=[LambdaCallback(on_train_batch_end=stop_at_two)])
    assert history.epoch == [0]
    assert model.optimizer.iterations == 2
    assert 0 < history.history["loss"][0] < 2


def test_a_rate_changed_in_a_batch_hook_takes_effect_at_once():
    X, y = _data(48)
    model = _model(SGD(learning_rate=0.1))

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
    X, y = _data(50)
    seen = {}

    class Watch(Callback):
        def on_train_begin(self, logs=None):
            seen.update(self.params)

    model = _model()
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
    X, y = _data(50)
    _model().fit(X, y, epochs=1, verbose=0, validation_split=0.2, callbacks=[
        EarlyStopping(), ReduceLROnPlateau(), TerminateOnNaN(),
        ModelCheckpoint(tmp_path / "m.fnn"),
        LambdaCallback(on_epoch_end=lambda epoch, logs: None)])
    assert seen == [None]
    _model().fit(X, y, epochs=1, verbose=0,
                 callbacks=[ModelCheckpoint(tmp_path / "unused", save_freq=1000)])
    assert seen[-1] is not None
