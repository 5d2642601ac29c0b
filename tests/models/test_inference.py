"""The one inference path (fastnn.models.inference): every prediction of
Sequential, its evaluation and MLPClassifier's run it; its bindings are kept for the
next call and never shared by two calls at once."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn import Sequential
from fastnn.layers import Dense
from fastnn.models.inference import Inference


def _model():
    model = Sequential([Dense(8, "tanh", input_dim=4), Dense(3, "softmax")], seed=0)
    return model.build(4, np.float64)


def test_calls_bind_once_and_copy_their_answer(monkeypatch):
    model = _model()
    X = np.random.default_rng(0).normal(size=(5, 4))
    binds = []
    real = Inference._take
    monkeypatch.setattr(Inference, "_take", lambda self, key: binds.append(key)
                        or real(self, key))
    first = model.forward(X[:1])
    again = model.forward(X[:1])
    inference = model._inferences[False]
    assert binds == [(1, 4, "d")] * 2 and len(inference._free[(1, 4, "d")]) == 1
    first[...] = 0  # a copy, not the bound buffer
    assert_array_equal(model.forward(X[:1]), again)
    assert_array_equal(model.forward(X), model.predict(X))


def test_a_nested_call_in_one_thread_binds_its_own_buffers():
    model = _model()
    X = np.random.default_rng(1).normal(size=(6, 4))
    serial = model.forward(X, batch_size=2)
    inference = model._inferences[False]
    for start, stop, A in inference.chunks(X, 2):
        inner = model.forward(X[start:stop], batch_size=2)  # the same chunk shape
        assert_array_equal(A, inner)
        assert_array_equal(A, serial[start:stop])
    assert len(inference._free[(2, 4, "d")]) == 2  # the outer call's and the inner's


def test_logits_stop_before_the_final_activation():
    model = _model()
    X = np.random.default_rng(2).normal(size=(3, 4))
    logits = model.forward(X, logits=True)
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(proba / proba.sum(axis=1, keepdims=True),
                               model.predict(X), rtol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_many_rows_run_with_openmp_held_to_the_calling_thread(monkeypatch):
    # OpenMP's spinning team and BLAS's threads fight over the cores (MLPClassifier's
    # 10,000-row predict_proba took 10x as long), so a forward of more than one row
    # holds OpenMP to this thread, as fit does; a served row runs serial kernels anyway.
    from fastnn import MLPClassifier
    from fastnn.models import prediction

    held = []
    real = prediction.training_threads
    monkeypatch.setattr(prediction, "training_threads",
                        lambda: held.append(True) or real())
    model = _model()
    X = np.random.default_rng(0).normal(size=(300, 4))
    model.forward(X[:1])
    assert held == []
    model.predict(X)
    assert held == [True]
    clf = MLPClassifier((8,), max_iter=5, random_state=0)
    clf.fit(X, np.arange(300) % 3)
    held.clear()
    clf.predict_proba(X)
    assert held == [True]


def test_finite_output_check_passes_huge_finite_values_without_a_warning():
    import warnings

    from fastnn.models import check_finite_output

    Y = np.full((2, 3), 3e38, np.float32)  # finite, but its sum overflows
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_finite_output(Y) is Y
    with pytest.raises(ValueError, match="not finite"):
        check_finite_output(np.array([[0.5, np.inf]]))


def test_serve_runs_one_row_and_tests_both_ends():
    model = _model()
    X = np.random.default_rng(3).normal(size=(4, 4))
    served = model.serve(X[:1])
    assert_array_equal(served, model.forward(X[:1]))  # the same binding, the same path
    served[...] = 0  # a copy, not the bound buffer
    assert_array_equal(model.serve(X[:1]), model.forward(X[:1]))
    assert_array_equal(model.serve(X[1:2], logits=True), model.forward(X[1:2], True))
    for bad in (np.nan, np.inf):
        row = X[:1].copy()
        row[0, 2] = bad
        assert model.serve(row) is None  # the caller validates it and says why
    assert model.serve(np.full((1, 4), 1e200)) is None  # its sum of squares overflows
    assert_array_equal(model.serve(X[:1]), model.forward(X[:1]))  # still bound right
    # every call, refused or not, gave its binding back: one serves them all
    assert [len(model._inferences[logits]._free[(1, 4, "d")])
            for logits in (False, True)] == [1, 1]


def test_serve_refuses_an_output_that_overflows():
    model = Sequential([Dense(2, activation="softmax", input_dim=2)], seed=0)
    model.build(2, np.float64)
    model.set_weights([np.array([[1e308, -1e308], [0.0, 0.0]]), np.zeros(2)])
    with pytest.raises(ValueError, match="not finite for this finite input"):
        model.serve(np.array([[2.0, 0.0]]))  # logits +-inf: softmax would be NaN
    assert np.isfinite(model.serve(np.array([[1e-3, 0.0]]))).all()
