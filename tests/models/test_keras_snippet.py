"""The lecture's Keras snippet ("in real life"), run as written once the extraction typos
are mended (input_dim, categorical_crossentropy, nb_epoch, X_train, ...): only the
imports change, from keras to fastnn."""

import math

import numpy as np
import pytest

N_CLASSES, N_FEATURES = 10, 20


def _data(n, seed):
    """A learnable rule: ten clusters in 20-D, the class is the cluster a point is
    drawn around (the snippet's lr=0.1 with Nesterov momentum 0.9 is too aggressive
    for harder rules, in fastnn and in PyTorch alike)."""
    centers = 0.5 * np.random.default_rng(1234).normal(size=(N_CLASSES, N_FEATURES))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, n)
    X = (centers[labels] + 0.5 * rng.normal(size=(n, N_FEATURES))).astype(np.float32)
    return X, np.eye(N_CLASSES, dtype=np.float32)[labels]


def test_the_lecture_snippet(capsys):
    X_train, y_train = _data(1000, seed=0)
    X_test, y_test = _data(300, seed=1)

    # ---- the lecture's snippet, verbatim but for the imports and the mended typos ----
    from fastnn import Sequential
    from fastnn.layers import Dense, Dropout, Activation
    from fastnn.optimizers import SGD
    model = Sequential()
    # Dense(64) is a fully-connected layer with 64 hidden units.
    model.add(Dense(64, input_dim=20, init='uniform'))
    model.add(Activation('tanh'))
    model.add(Dense(64, init='uniform'))
    model.add(Activation('relu'))
    model.add(Dropout(0.5))
    model.add(Dense(10, init='uniform'))
    model.add(Activation('softmax'))
    sgd = SGD(lr=0.1, decay=1e-6, momentum=0.9, nesterov=True)
    model.compile(loss='categorical_crossentropy', optimizer=sgd)
    model.fit(X_train, y_train, nb_epoch=20, batch_size=16, show_accuracy=True)
    score = model.evaluate(X_test, y_test, batch_size=16)
    # ---- end of the snippet ----

    # Starting from U(-0.05, 0.05) weights the network predicts about 1/10 per class,
    # a loss of log 10; trained, far below (the model is unseeded: margins are wide).
    assert isinstance(score, float) and math.isfinite(score)
    assert score < 0.5 * math.log(N_CLASSES)
    accuracy = np.mean(model.predict(X_test).argmax(axis=1) == y_test.argmax(axis=1))
    assert accuracy > 0.7
    # fit's default verbose=1 prints a progress bar per epoch with loss and accuracy.
    captured = capsys.readouterr()
    out = captured.out + captured.err
    for epoch in range(1, 21):
        assert f"Epoch {epoch}/20" in out
    assert "63/63" in out  # 1000 samples in batches of 16
    assert "loss:" in out and "accuracy:" in out


def _snippet_model(seed):
    from fastnn import Sequential
    from fastnn.layers import Activation, Dense, Dropout

    model = Sequential(seed=seed)
    model.add(Dense(64, input_dim=20, init='uniform'))
    model.add(Activation('tanh'))
    model.add(Dense(64, init='uniform'))
    model.add(Activation('relu'))
    model.add(Dropout(0.5))
    model.add(Dense(10, init='uniform'))
    model.add(Activation('softmax'))
    return model


def test_the_untrained_snippet_model_is_at_log_10():
    X_test, y_test = _data(300, seed=1)
    model = _snippet_model(seed=0)
    model.compile(loss='categorical_crossentropy', optimizer='sgd')
    assert model.evaluate(X_test, y_test, batch_size=16) == pytest.approx(
        math.log(N_CLASSES), abs=0.01)


def test_the_snippet_with_a_seed_reports_its_history():
    from fastnn.optimizers import SGD

    X_train, y_train = _data(1000, seed=0)
    model = _snippet_model(seed=0)
    model.compile(loss='categorical_crossentropy',
                  optimizer=SGD(lr=0.1, decay=1e-6, momentum=0.9, nesterov=True))
    history = model.fit(X_train, y_train, nb_epoch=20, batch_size=16, show_accuracy=True,
                        verbose=0)
    assert len(history.history["loss"]) == len(history.history["accuracy"]) == 20
    assert history.history["loss"][0] < math.log(N_CLASSES)
    assert min(history.history["loss"]) < 0.5 * history.history["loss"][0]
    assert max(history.history["accuracy"]) > 0.7
    assert model.optimizer.iterations == 20 * 63
