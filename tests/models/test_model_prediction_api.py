"""Sequential's Keras prediction API: predict and evaluate with Keras' batch_size
(None is 32; the results do not depend on it) and verbose (0, 1 or 'auto' a bar,
2 one line), evaluate's return_dict, and Keras 1's predict_classes and predict_proba.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import Sequential
from fastnn.layers import Dense

from _sequential_cases import _data, _model

BATCH_SIZES = [None, 1, 7, 32, 1000]


def _trained(rng, dtype, **model_args):
    X, y = _data(rng, n=75, dtype=dtype)
    model = _model(seed=0, **model_args)
    model.fit(X, y, epochs=3, batch_size=8, verbose=0)
    return model, X, y


# ------------------------------------------------------------ batch_size and dtype


def test_predict_does_not_depend_on_the_batch_size(rng, dtype):
    model, X, _ = _trained(rng, dtype)
    expected = model.forward(X)
    for batch_size in BATCH_SIZES:
        Y = model.predict(X, batch_size=batch_size)
        assert Y.dtype == dtype and Y.shape == (75, 3)
        assert_allclose(Y, expected, rtol=1e-5 if dtype == np.float32 else 1e-12,
                        atol=1e-7 if dtype == np.float32 else 1e-15)


def test_evaluate_does_not_depend_on_the_batch_size(rng, dtype):
    model, X, y = _trained(rng, dtype, metrics=["accuracy"])
    weights = np.linspace(0.5, 2.0, len(X))
    expected = model.evaluate(X, y, batch_size=len(X), verbose=0)
    weighted = model.evaluate(X, y, batch_size=len(X), verbose=0, sample_weight=weights)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for batch_size in BATCH_SIZES:
        loss, accuracy = model.evaluate(X, y, batch_size=batch_size, verbose=0)
        assert loss == pytest.approx(expected[0], rel=rtol)
        assert accuracy == expected[1]
        assert model.evaluate(X, y, batch_size, 0, weights)[0] == pytest.approx(
            weighted[0], rel=rtol)
    assert weighted[0] != pytest.approx(expected[0], rel=1e-3)


def test_evaluate_return_dict_and_show_accuracy(rng):
    model, X, y = _trained(rng, np.float64)
    loss = model.evaluate(X, y, verbose=0)
    assert isinstance(loss, float)
    assert model.evaluate(X, y, verbose=0, return_dict=True) == {"loss": loss}
    both = model.evaluate(X, y, verbose=0, return_dict=True, show_accuracy=True)
    assert list(both) == ["loss", "accuracy"] and both["loss"] == loss
    assert model.evaluate(X, y, verbose=0, show_accuracy=True) == list(both.values())


# ----------------------------------------------------------------------- verbose


def test_verbose_zero_prints_nothing(rng, capsys):
    model, X, y = _trained(rng, np.float32)
    capsys.readouterr()
    model.predict(X)
    model.evaluate(X, y, verbose=0)
    model.predict_classes(X)
    model.predict_proba(X)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.parametrize("verbose", [1, "auto", True, np.int64(1)])
def test_verbose_one_shows_a_bar_over_the_batches(rng, capsys, verbose):
    model, X, y = _trained(rng, np.float32, metrics=["accuracy"])
    capsys.readouterr()
    loss, accuracy = model.evaluate(X, y, batch_size=10, verbose=verbose)
    out = capsys.readouterr().out
    assert "evaluate" in out and "8/8" in out
    assert f"loss: {loss:.4f} - accuracy: {accuracy:.4f}" in out
    model.predict(X, batch_size=25, verbose=verbose)
    out = capsys.readouterr().out
    assert "predict" in out and "3/3" in out and "loss" not in out


def test_verbose_two_prints_one_line(rng, capsys):
    model, X, y = _trained(rng, np.float32)
    capsys.readouterr()
    loss = model.evaluate(X, y, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("3/3 - ") and lines[0].endswith(f"s - loss: {loss:.4f}")
    model.predict(X, verbose=2, batch_size=5)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("15/15 - ") and lines[0].endswith("s")


def test_the_evaluate_default_is_a_bar_as_keras(rng, capsys):
    model, X, y = _trained(rng, np.float32)
    capsys.readouterr()
    model.evaluate(X, y)
    assert "3/3" in capsys.readouterr().out


@pytest.mark.parametrize("arguments, message", [
    ({"verbose": 3}, "verbose must be 0, 1, 2 or 'auto', got 3"),
    ({"verbose": "yes"}, "verbose must be 0, 1, 2 or 'auto', got 'yes'"),
    ({"verbose": None}, "verbose must be 0, 1, 2 or 'auto', got None"),
    ({"verbose": 1.5}, "verbose must be 0, 1, 2 or 'auto', got 1.5"),
    ({"verbose": np.ones(2)}, "verbose must be 0, 1, 2 or 'auto', got array"),
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": 2.5}, "batch_size"),
])
def test_bad_arguments_are_refused_before_anything_is_done(rng, arguments, message):
    X, y = _data(rng)
    model = Sequential([Dense(3, "softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    for call in (lambda: model.predict(X, **arguments),
                 lambda: model.evaluate(X, y, **arguments),
                 lambda: model.predict_classes(X, **arguments),
                 lambda: model.predict_proba(X, **arguments)):
        with pytest.raises((ValueError, TypeError), match=message):
            call()
        assert not model.built  # the data did not build it


def test_a_failed_evaluate_closes_its_bar(rng, capsys):
    from tqdm import tqdm

    def failing_metric(y, Y):
        raise RuntimeError("the metric failed")

    X, y = _data(rng)
    model = _model(metrics=[failing_metric])
    open_bars = len(tqdm._instances)
    with pytest.raises(RuntimeError, match="the metric failed") as raised:
        model.evaluate(X, y)
    # closed by evaluate, not by its collection: the traceback keeps the frames alive
    assert raised.traceback and len(tqdm._instances) == open_bars
    assert "evaluate" in capsys.readouterr().out


# ------------------------------------------------- Keras 1's predict_classes and proba


def test_predict_classes_is_the_argmax_of_several_outputs(rng, dtype):
    model, X, _ = _trained(rng, dtype)
    classes = model.predict_classes(X, batch_size=16)
    assert classes.shape == (75,) and classes.dtype == np.intp
    assert_array_equal(classes, model.predict(X).argmax(axis=-1))
    assert set(classes) <= {0, 1, 2}


def test_predict_classes_thresholds_one_output_keeping_keras_shape(dtype):
    model = Sequential([Dense(1, "sigmoid", input_dim=2)])
    model.set_weights([np.array([[1.0], [-1.0]], dtype), np.array([0.0], dtype)])
    X = np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0], [0.5, 0.0]], dtype)
    classes = model.predict_classes(X)
    # (proba > 0.5).astype('int32'): shape (n, 1), and 0.5 itself is class 0
    assert classes.dtype == np.int32 and classes.shape == (4, 1)
    assert_array_equal(classes, [[1], [0], [0], [1]])
    assert_array_equal(classes, (model.predict(X) > 0.5).astype("int32"))


def test_predict_classes_of_several_sigmoids_is_their_argmax_as_keras_1():
    model = Sequential([Dense(3, "sigmoid", input_dim=3, use_bias=False)])
    model.set_weights([np.eye(3)])
    classes = model.predict_classes(np.array([[0.0, 5.0, 1.0], [9.0, 0.0, 0.0]]))
    assert_array_equal(classes, [1, 0])


def test_predict_proba_is_predict_and_warns_of_values_outside_0_1(rng):
    model, X, _ = _trained(rng, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = model.predict_proba(X, batch_size=10)
    assert_array_equal(proba, model.predict(X, batch_size=10))
    assert proba.dtype == np.float32
    linear = Sequential([Dense(2, input_dim=1)])
    linear.set_weights([np.array([[1.0, -1.0]]), np.zeros(2)])
    with pytest.warns(UserWarning, match="Network returning invalid probability "
                                         "values. The last layer might not normalize"):
        assert_array_equal(linear.predict_proba(np.array([[3.0]])), [[3.0, -3.0]])


def test_the_keras_1_calls_as_a_lecture_would_write_them(rng, capsys):
    X, y = _data(rng, n=60)
    model = _model(seed=0)
    model.fit(X, y, nb_epoch=5, batch_size=16, show_accuracy=True, verbose=0)
    score = model.evaluate(X, y, batch_size=16, show_accuracy=True)
    classes = model.predict_classes(X, batch_size=16)
    proba = model.predict_proba(X, batch_size=16)
    assert isinstance(score, list) and len(score) == 2
    assert score[1] == pytest.approx(np.mean(classes == y))
    assert_array_equal(classes, proba.argmax(axis=1))
    assert "4/4" in capsys.readouterr().out  # evaluate's bar (verbose=1 by default)
