"""The one inference path (fastnn.models.inference): every prediction of
Sequential, its evaluation and MLPClassifier's run it; small chunks keep their
bindings per thread."""

import numpy as np
from numpy.testing import assert_array_equal

from fastnn import Sequential
from fastnn.layers import Dense
from fastnn.models.inference import Inference


def _model():
    model = Sequential([Dense(8, "tanh", input_dim=4), Dense(3, "softmax")], seed=0)
    return model.build(4, np.float64)


def test_one_row_calls_bind_once_per_thread_and_copy_their_answer(monkeypatch):
    model = _model()
    X = np.random.default_rng(0).normal(size=(5, 4))
    binds = []
    real = Inference._bind
    monkeypatch.setattr(Inference, "_bind", lambda self, key: binds.append(key)
                        or real(self, key))
    first = model.forward(X[:1])
    again = model.forward(X[:1])
    assert binds == [(1, 4, "d")]  # kept for the next call
    first[...] = 0  # a copy, not the bound buffer
    assert_array_equal(model.forward(X[:1]), again)
    assert_array_equal(model.forward(X), model.predict(X))


def test_a_nested_call_in_one_thread_binds_its_own_buffers():
    model = _model()
    X = np.random.default_rng(1).normal(size=(6, 4))
    serial = model.forward(X, batch_size=2)
    inference = model._inferences[False]
    for start, stop, A in inference.chunks(X, 2):
        inner = model.forward(X[start:stop], batch_size=2)  # same key, same thread
        assert_array_equal(A, inner)
        assert_array_equal(A, serial[start:stop])


def test_logits_stop_before_the_final_activation():
    model = _model()
    X = np.random.default_rng(2).normal(size=(3, 4))
    logits = model.forward(X, logits=True)
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(proba / proba.sum(axis=1, keepdims=True),
                               model.predict(X), rtol=1e-12)
