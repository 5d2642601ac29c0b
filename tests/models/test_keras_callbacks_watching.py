"""fastnn.callbacks' EarlyStopping, ModelCheckpoint, ReduceLROnPlateau and
LearningRateScheduler, each in Keras' semantics (the quantities they watch injected by
``scores``, see _callback_cases.py)."""

import os

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import Sequential, load_model
from fastnn.callbacks import (
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
)
from fastnn.layers import Dense
from fastnn.optimizers import SGD, Adam

from _callback_cases import Recorder, binary_data, binary_model, scores


# ------------------------------------------------------------------ EarlyStopping


def test_early_stopping_stops_after_patience_and_restores_the_best_epoch():
    X, y = binary_data()
    model = binary_model()
    recorder = Recorder()
    stop = EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    history = model.fit(X, y, epochs=50, verbose=0, callbacks=[
        scores([5, 4, 3, 3.5, 4, 1, 1, 1]), recorder, stop])
    assert history.epoch == [0, 1, 2, 3, 4]  # 3 and 4 did not improve on epoch 2
    assert stop.stopped_epoch == 4 and stop.best_epoch == 2 and stop.best == 3
    assert model.stop_training
    assert_array_equal(model.get_flat_weights(), recorder.weights[2])
    assert not np.array_equal(recorder.weights[4], recorder.weights[2])


def test_early_stopping_on_val_loss_restores_the_weights_of_the_lowest_val_loss():
    X, y = binary_data(200, seed=3)
    model = Sequential([Dense(32, "relu", input_dim=4), Dense(1, "sigmoid")], seed=0)
    model.compile(Adam(learning_rate=0.05), "binary_crossentropy")
    recorder = Recorder()
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
    X, y = binary_data()
    model, recorder = binary_model(), Recorder()
    stop = EarlyStopping(monitor="score", patience=10, restore_best_weights=True)
    model.fit(X, y, epochs=4, verbose=0,
              callbacks=[scores([3, 1, 2, 2]), recorder, stop])
    assert stop.stopped_epoch == 0 and stop.best_epoch == 1
    assert_array_equal(model.get_flat_weights(), recorder.weights[1])


def test_without_restore_the_last_weights_stay():
    X, y = binary_data()
    model, recorder = binary_model(), Recorder()
    model.fit(X, y, epochs=10, verbose=0, callbacks=[
        scores([3, 1, 2, 2, 2, 2]), recorder, EarlyStopping("score", patience=1)])
    assert len(recorder.weights) == 3
    assert_array_equal(model.get_flat_weights(), recorder.weights[-1])


@pytest.mark.parametrize("monitor, values, stopped", [
    ("val_accuracy", [0.5, 0.6, 0.55, 0.58, 0.9], 3),  # auto: 'acc' is maximized
    ("val_loss", [0.5, 0.6, 0.55, 0.58, 0.1], 2),       # auto: a loss is minimized
])
def test_auto_mode_follows_the_name(monitor, values, stopped):
    X, y = binary_data()
    stop = EarlyStopping(monitor, patience=2)
    binary_model().fit(X, y, epochs=5, verbose=0,
                       callbacks=[scores(values, monitor), stop])
    assert stop.stopped_epoch == stopped


def test_min_delta_baseline_and_start_from_epoch():
    X, y = binary_data()
    # an improvement of at most min_delta is none
    stop = EarlyStopping("score", min_delta=0.5, patience=1, mode="min")
    binary_model().fit(X, y, epochs=9, verbose=0,
                 callbacks=[scores([3, 2.6, 2.2, 1.0, 0.9]), stop])
    assert stop.stopped_epoch == 1 and stop.best == 3
    # not beating the baseline: an improvement does not reset the wait
    for baseline, stopped in ((None, 4), (10, 2)):
        stop = EarlyStopping("score", patience=3, mode="max", baseline=baseline)
        binary_model().fit(X, y, epochs=5, verbose=0,
                     callbacks=[scores([1, 2, 2, 2, 2]), stop])
        assert stop.stopped_epoch == stopped and stop.best == 2
    # the epochs before start_from_epoch are not watched
    stop = EarlyStopping("score", patience=0, start_from_epoch=3)
    binary_model().fit(X, y, epochs=9, verbose=0,
                 callbacks=[scores([1, 2, 3, 4, 5, 6]), stop])
    assert stop.stopped_epoch == 4 and stop.best_epoch == 3


def test_verbose_early_stopping_prints_keras_lines(capsys):
    X, y = binary_data()
    stop = EarlyStopping("score", patience=0, verbose=1, restore_best_weights=True)
    binary_model().fit(X, y, epochs=9, verbose=0, callbacks=[scores([1, 2]), stop])
    assert capsys.readouterr().out == (
        "Epoch 2: early stopping\n"
        "Restoring model weights from the end of the best epoch: 1.\n")


def test_one_instance_serves_two_fits():
    X, y = binary_data()
    stop = EarlyStopping("score", patience=0)
    model = binary_model()
    model.fit(X, y, epochs=5, verbose=0, callbacks=[scores([1, 2, 3]), stop])
    assert stop.stopped_epoch == 1
    history = model.fit(X, y, epochs=5, verbose=0, callbacks=[scores([5, 4, 3, 2, 1]),
                                                              stop])
    assert len(history.epoch) == 5 and stop.stopped_epoch == 0


def test_an_unknown_monitor_warns_and_the_fit_goes_on():
    X, y = binary_data()
    with pytest.warns(UserWarning, match=r"Early stopping conditioned on metric "
                      r"`val_los` which is not available. Available metrics are: "
                      r"loss,accuracy"):
        history = binary_model().fit(X, y, epochs=3, verbose=0,
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
    X, y = binary_data()
    model = binary_model()
    recorder = Recorder()
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
    X, y = binary_data()
    model = binary_model()
    path = tmp_path / "best.weights.fnn"
    model.fit(X, y, epochs=2, verbose=0,
              callbacks=[ModelCheckpoint(path, save_weights_only=True)])
    other = binary_model(seed=5)
    other.load_weights(path)
    assert_array_equal(other.predict(X), model.predict(X))
    with pytest.raises(ValueError, match="weights alone"):
        load_model(path)


def test_save_best_only_saves_the_improving_epochs(tmp_path, capsys):
    X, y = binary_data()
    path = str(tmp_path / "m{epoch}.fnn")
    checkpoint = ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True,
                                 verbose=1)
    binary_model().fit(X, y, epochs=5, verbose=0, callbacks=[
        scores([0.5, 0.7, 0.6, 0.7, 0.8], "val_accuracy"), checkpoint])
    assert sorted(os.listdir(tmp_path)) == ["m1.fnn", "m2.fnn", "m5.fnn"]
    out = capsys.readouterr().out
    assert "Epoch 2: val_accuracy improved from 0.50000 to 0.70000, saving model" in out
    assert "Epoch 4: val_accuracy did not improve from 0.70000" in out


def test_save_best_only_with_a_fixed_name_keeps_the_best(tmp_path):
    X, y = binary_data()
    model, recorder = binary_model(), Recorder()
    path = tmp_path / "best.fnn"
    model.fit(X, y, epochs=4, verbose=0, callbacks=[
        scores([3, 1, 2, 2], "val_loss"), recorder,
        ModelCheckpoint(path, save_best_only=True)])
    assert_array_equal(load_model(path).get_flat_weights(), recorder.weights[1])


def test_initial_value_threshold_must_be_beaten_first(tmp_path):
    X, y = binary_data()
    checkpoint = ModelCheckpoint(str(tmp_path / "m{epoch}.fnn"), monitor="score",
                                 save_best_only=True, initial_value_threshold=2.0)
    binary_model().fit(X, y, epochs=3, verbose=0,
                 callbacks=[scores([3, 2.5, 1.5]), checkpoint])
    assert os.listdir(tmp_path) == ["m3.fnn"]


def test_save_freq_in_batches(tmp_path):
    X, y = binary_data(50)
    path = str(tmp_path / "m{epoch}-{batch}.fnn")
    model = binary_model()
    model.fit(X, y, epochs=2, batch_size=10, verbose=0,  # 5 batches an epoch
              callbacks=[ModelCheckpoint(path, save_freq=3, save_weights_only=True)])
    assert sorted(os.listdir(tmp_path)) == ["m1-3.fnn", "m2-1.fnn", "m2-4.fnn"]


def test_save_best_only_without_the_monitor_warns_and_saves_nothing(tmp_path):
    X, y = binary_data()
    with pytest.warns(UserWarning, match="Can save best model only with val_loss "
                                         "available, skipping."):
        binary_model().fit(X, y, epochs=2, verbose=0, callbacks=[
            ModelCheckpoint(tmp_path / "m.fnn", save_best_only=True)])
    assert os.listdir(tmp_path) == []


def test_checkpoint_refuses_bad_arguments_and_paths(tmp_path):
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        ModelCheckpoint("m.fnn", save_freq="batch")
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        ModelCheckpoint("m.fnn", save_freq=0)
    with pytest.raises(ValueError, match="mode 'up' is unknown"):
        ModelCheckpoint("m.fnn", mode="up")
    X, y = binary_data()
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        binary_model().fit(X, y, epochs=1, verbose=0,
                     callbacks=[ModelCheckpoint(str(tmp_path / "{val_loss}.fnn"))])
    with pytest.raises(OSError, match="non-directory filepath"):
        binary_model().fit(X, y, epochs=1, verbose=0,
                     callbacks=[ModelCheckpoint(tmp_path)])


# ---------------------------------------------------------- the learning-rate ones


def _fit_with_rates(rates, X, y, callbacks=()):
    """A model fitted one epoch per rate, the rate set by hand before each."""
    model = binary_model(SGD(learning_rate=rates[0], momentum=0.5))
    for epoch, rate in enumerate(rates):
        model.optimizer.learning_rate = rate
        model.fit(X, y, epochs=epoch + 1, initial_epoch=epoch, batch_size=16,
                  verbose=0, callbacks=list(callbacks))
    return model


def test_reduce_lr_on_plateau_changes_the_rate_the_steps_use():
    X, y = binary_data()
    model = binary_model(SGD(learning_rate=0.4, momentum=0.5))
    reduce = ReduceLROnPlateau("score", factor=0.5, patience=1, min_delta=0)
    history = model.fit(X, y, epochs=5, batch_size=16, verbose=0,
                        callbacks=[scores([3, 3, 3, 1, 1]), reduce])
    # the rate of each epoch is logged at its end, before a reduction: epochs 1 and
    # 2 do not improve (a reduction each), 3 does, 4 does not
    assert history.history["learning_rate"] == [0.4, 0.4, 0.2, 0.1, 0.1]
    assert model.optimizer.learning_rate == 0.05
    by_hand = _fit_with_rates([0.4, 0.4, 0.2, 0.1, 0.1], X, y)
    assert_allclose(model.get_flat_weights(), by_hand.get_flat_weights(), rtol=1e-12)
    constant = _fit_with_rates([0.4] * 5, X, y)
    assert not np.allclose(model.get_flat_weights(), constant.get_flat_weights())


def test_reduce_lr_on_plateau_cooldown_and_min_lr():
    X, y = binary_data()
    model = binary_model(SGD(learning_rate=1.0))
    reduce = ReduceLROnPlateau("score", factor=0.1, patience=0, cooldown=2,
                               min_lr=0.005)
    history = model.fit(X, y, epochs=6, verbose=0,
                        callbacks=[scores([1] * 6), reduce])
    # epoch 0 sets the best; reductions at the end of epochs 1, 3 and 5 (the
    # cooldown counts down at the start of an epoch's check, as Keras)
    assert_allclose(history.history["learning_rate"], [1, 1, 0.1, 0.1, 0.01, 0.01])
    assert model.optimizer.learning_rate == 0.005


def test_reduce_lr_on_plateau_warns_for_a_missing_monitor_and_refuses_bad_factor():
    X, y = binary_data()
    with pytest.warns(UserWarning, match="Learning rate reduction is conditioned on "
                                         "metric `val_loss` which is not available"):
        binary_model().fit(X, y, epochs=1, verbose=0, callbacks=[ReduceLROnPlateau()])
    with pytest.raises(ValueError, match="does not support a factor >= 1.0"):
        ReduceLROnPlateau(factor=1.5)
    with pytest.raises(ValueError, match="factor > 0"):
        ReduceLROnPlateau(factor=0)
    with pytest.raises(ValueError, match="mode 'sideways' is unknown"):
        ReduceLROnPlateau(mode="sideways")
    assert ReduceLROnPlateau(epsilon=0.3).min_delta == 0.3  # Keras 1's name


def test_learning_rate_scheduler_sets_the_rate_of_each_epoch(capsys):
    X, y = binary_data()
    rates = [0.3, 0.2, 0.1, 0.05]
    model = binary_model(SGD(learning_rate=0.3, momentum=0.5))
    scheduler = LearningRateScheduler(lambda epoch, lr: rates[epoch], verbose=1)
    history = model.fit(X, y, epochs=4, batch_size=16, verbose=0, callbacks=[scheduler])
    assert history.history["learning_rate"] == rates
    assert "Epoch 3: LearningRateScheduler setting learning rate to 0.1." in (
        capsys.readouterr().out)
    by_hand = _fit_with_rates(rates, X, y)
    assert_allclose(model.get_flat_weights(), by_hand.get_flat_weights(), rtol=1e-12)


def test_learning_rate_scheduler_keras_1_form_and_bad_rates():
    X, y = binary_data()
    model = binary_model(Adam(learning_rate=0.01))
    history = model.fit(X, y, epochs=3, verbose=0,
                        callbacks=[LearningRateScheduler(lambda e: 0.1 / (e + 1))])
    assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.1 / 3])
    for bad in ("fast", None, -1.0, float("nan")):
        scheduler = LearningRateScheduler(lambda epoch, lr, bad=bad: bad)
        with pytest.raises(ValueError, match="output of the `schedule` function"):
            binary_model().fit(X, y, epochs=1, verbose=0, callbacks=[scheduler])
    with pytest.raises(TypeError, match="schedule must be callable"):
        LearningRateScheduler(0.1)


def test_a_schedules_own_type_error_is_not_hidden():
    X, y = binary_data()

    def schedule(epoch, lr):
        return lr + "oops"  # a bug: Keras would retry as schedule(epoch)

    with pytest.raises(TypeError, match="unsupported operand"):
        binary_model().fit(X, y, epochs=1, verbose=0,
                           callbacks=[LearningRateScheduler(schedule)])
