"""Sequential.fit's data handling: batches that do not divide n, shuffling, validation
split and data, and sample weights (zero weights, the weighted mean, their checks).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn.optimizers import SGD

from _sequential_cases import _data, _model

# ---------------------------------------------------------------- batching

@pytest.mark.parametrize("n, batch_size", [(20, 7), (20, 6), (5, 2), (9, 1)])
def test_batches_that_do_not_divide_n(n, batch_size, rng):
    """One epoch without shuffling = train_on_batch on consecutive slices."""
    X, y = _data(rng, n=n)
    fitted, stepped = _model(seed=4), _model(seed=4)
    history = fitted.fit(X, y, epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
    losses = []
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        losses.append(stepped.train_on_batch(X[start:stop], y[start:stop]) * (stop - start))
    for a, b in zip(fitted.get_weights(), stepped.get_weights()):
        assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert history.history["loss"][0] == pytest.approx(sum(losses) / n, rel=1e-12)
    assert fitted.optimizer.iterations == -(-n // batch_size)


def test_batch_size_larger_than_n(rng):
    X, y = _data(rng, n=10)
    fitted, stepped = _model(seed=4), _model(seed=4)
    fitted.fit(X, y, epochs=1, batch_size=1000, verbose=0)
    stepped.train_on_batch(X, y)
    for a, b in zip(fitted.get_weights(), stepped.get_weights()):
        assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert fitted.optimizer.iterations == 1


def test_shuffle_changes_the_order_but_not_the_data(rng):
    X, y = _data(rng, n=30)
    a, b = _model(seed=4), _model(seed=4)
    a.fit(X, y, epochs=1, batch_size=5, shuffle=True, verbose=0)
    b.fit(X, y, epochs=1, batch_size=5, shuffle=False, verbose=0)
    assert not np.array_equal(a.get_weights()[0], b.get_weights()[0])


# ---------------------------------------------------------------- validation

def test_validation_split_takes_the_last_rows_before_shuffling(rng):
    X, y = _data(rng, n=40)
    split = int(40 * (1 - 0.25))
    model = _model(seed=4, metrics=["accuracy"])
    history = model.fit(X, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0)
    # Trained on the first 30 rows only: the same as fitting them without validation.
    reference = _model(seed=4, metrics=["accuracy"])
    reference_history = reference.fit(X[:split], y[:split], epochs=3, batch_size=8,
                                      verbose=0)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        assert_array_equal(a, b)
    assert history.history["loss"] == reference_history.history["loss"]
    # Validated on the last 10 rows with the weights at the end of each epoch.
    val_loss, val_acc = model.evaluate(X[split:], y[split:])
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-12)
    assert history.history["val_accuracy"][-1] == pytest.approx(val_acc)


def test_validation_data(rng):
    X, y = _data(rng, n=40)
    X_val, y_val = _data(rng, n=15)
    model = _model(seed=4)
    history = model.fit(X, y, epochs=2, validation_data=(X_val, y_val), verbose=0)
    reference = _model(seed=4)
    reference.fit(X, y, epochs=2, verbose=0)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        assert_array_equal(a, b)
    assert list(history.history) == ["loss", "val_loss"]
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(X_val, y_val),
                                                            rel=1e-12)


@pytest.mark.parametrize("split", [1.0, -0.1, 1.5])
def test_validation_split_out_of_range(split, rng):
    X, y = _data(rng)
    with pytest.raises(ValueError, match="validation_split"):
        _model().fit(X, y, validation_split=split, verbose=0)


def test_validation_data_checks(rng):
    X, y = _data(rng)
    with pytest.raises(ValueError, match="validation_data must be a pair"):
        _model().fit(X, y, validation_data=(X,), verbose=0)
    with pytest.raises(ValueError, match="features"):
        _model().fit(X, y, validation_data=(X[:, :2], y), verbose=0)


# ---------------------------------------------------------------- sample weights

def test_zero_sample_weight_removes_the_sample_from_fit(rng):
    X, y = _data(rng, n=12)
    w = np.ones(12)
    w[[2, 7]] = 0.0
    keep = w > 0
    weighted, removed = _model(seed=4), _model(seed=4)
    weighted.fit(X, y, sample_weight=w, batch_size=100, epochs=3, shuffle=False, verbose=0)
    removed.fit(X[keep], y[keep], batch_size=100, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(weighted.get_weights(), removed.get_weights()):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_zero_sample_weight_removes_the_sample_from_evaluate(rng):
    X, y = _data(rng, n=12)
    w = np.ones(12)
    w[[2, 7]] = 0.0
    model = _model()
    assert model.evaluate(X, y, sample_weight=w) == pytest.approx(
        model.evaluate(X[w > 0], y[w > 0]), rel=1e-10)


def test_zero_weighted_samples_in_a_batch_of_their_own_change_nothing(rng):
    X, y = _data(rng, n=12)
    w = np.ones(12)
    w[10:] = 0.0
    weighted = _model(seed=4, optimizer=SGD(lr=0.1))
    removed = _model(seed=4, optimizer=SGD(lr=0.1))
    weighted.fit(X, y, sample_weight=w, batch_size=5, epochs=1, shuffle=False, verbose=0)
    removed.fit(X[:10], y[:10], batch_size=5, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(weighted.get_weights(), removed.get_weights()):
        assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_weighted_loss_is_the_weighted_mean(rng):
    """The loss with sample weights is sum(w l) / sum(w), as scikit-learn's average: a
    constant weight changes neither the loss nor the training."""
    X, y = _data(rng, n=20)
    w = rng.uniform(0.0, 3.0, 20)
    model = _model()
    P = model.predict(X).astype(np.float64)
    per_sample = -np.log(P[np.arange(20), y])
    assert model.evaluate(X, y, sample_weight=w) == pytest.approx(
        np.average(per_sample, weights=w), rel=1e-10)
    assert model.evaluate(X, y, sample_weight=np.full(20, 2.5)) == pytest.approx(
        model.evaluate(X, y), rel=1e-12)
    plain, weighted = _model(seed=4), _model(seed=4)
    history = plain.fit(X, y, epochs=2, batch_size=6, shuffle=False, verbose=0)
    weighted_history = weighted.fit(X, y, sample_weight=np.full(20, 2.5), epochs=2,
                                    batch_size=6, shuffle=False, verbose=0)
    assert_allclose(weighted_history.history["loss"], history.history["loss"], rtol=1e-10)
    for a, b in zip(plain.get_weights(), weighted.get_weights()):
        assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_sample_weights_summing_to_zero(rng):
    X, y = _data(rng, n=12)
    with pytest.raises(ValueError, match="sample_weight"):
        _model().fit(X, y, sample_weight=np.zeros(12), verbose=0)
    with pytest.raises(ValueError, match="sample_weight"):
        _model().evaluate(X, y, sample_weight=np.zeros(12))


def test_progress_bar_counts_a_batch_of_zero_weights(rng, capsys):
    X, y = _data(rng, n=12)
    w = np.ones(12)
    w[10:] = 0.0
    _model().fit(X, y, sample_weight=w, batch_size=5, shuffle=False, verbose=1)
    out = capsys.readouterr().out
    assert "3/3" in out  # the bar ends full even though the last batch made no step


def test_sample_weight_checks(rng):
    X, y = _data(rng, n=12)
    with pytest.raises(ValueError, match="sample_weight must be 12 non-negative numbers"):
        _model().fit(X, y, sample_weight=np.ones(11), verbose=0)
    with pytest.raises(ValueError, match="sample_weight must be 12 non-negative numbers"):
        _model().fit(X, y, sample_weight=-np.ones(12), verbose=0)
