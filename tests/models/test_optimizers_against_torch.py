"""The classic optimizers step by step against torch.optim in float64: a Sequential
Dense-tanh-Dense-softmax and its PyTorch twin start from the same weights and take the
same 21 mini-batches in order (fastnn through ``fit``, one batch per call, so each step
runs the compiled training loop); the weights agree after every step to rtol 1e-10.
Keras 1's ``decay`` is checked by setting PyTorch's rate per step (Adagrad's is its
``lr_decay``); RMSprop also centered and with momentum. Skipped where PyTorch is not
installed (CI); the NumPy twins of tests/kernels/test_classic_optimizer_kernels.py
always run."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastnn import Sequential
from fastnn.layers import Dense
from fastnn.optimizers import Adadelta, Adagrad, Adamax, Nadam, RMSprop

torch = pytest.importorskip("torch")

N_FEATURES, N_HIDDEN, N_CLASSES, BATCH, STEPS = 4, 6, 3, 8, 21


def _torch_optimizer(name, params, decay):
    optim = torch.optim
    return {
        "rmsprop": lambda: optim.RMSprop(params, lr=0.01, alpha=0.9, eps=1e-7),
        "rmsprop-centered-momentum": lambda: optim.RMSprop(
            params, lr=0.01, alpha=0.9, eps=1e-7, momentum=0.9, centered=True),
        "rmsprop-momentum": lambda: optim.RMSprop(params, lr=0.01, alpha=0.9, eps=1e-7,
                                                  momentum=0.5),
        "adagrad": lambda: optim.Adagrad(params, lr=0.1, lr_decay=decay, eps=1e-7,
                                         initial_accumulator_value=0.1),
        "adadelta": lambda: optim.Adadelta(params, lr=1.0, rho=0.95, eps=1e-6),
        "adamax": lambda: optim.Adamax(params, lr=0.02, betas=(0.9, 0.999), eps=1e-7),
        "nadam": lambda: optim.NAdam(params, lr=0.02, betas=(0.9, 0.999), eps=1e-7,
                                     momentum_decay=0.004),
    }[name]()


def _ours(name, decay):
    return {
        "rmsprop": lambda: RMSprop(learning_rate=0.01, rho=0.9, decay=decay),
        "rmsprop-centered-momentum": lambda: RMSprop(
            learning_rate=0.01, decay=decay, momentum=0.9, centered=True),
        "rmsprop-momentum": lambda: RMSprop(learning_rate=0.01, momentum=0.5),
        "adagrad": lambda: Adagrad(learning_rate=0.1, decay=decay,
                                   initial_accumulator_value=0.1),
        "adadelta": lambda: Adadelta(learning_rate=1.0, epsilon=1e-6, decay=decay),
        "adamax": lambda: Adamax(learning_rate=0.02, decay=decay),
        "nadam": lambda: Nadam(learning_rate=0.02),
    }[name]()


def _data():
    rng = np.random.default_rng(20)
    X = rng.normal(size=(STEPS * BATCH, N_FEATURES))
    y = rng.integers(0, N_CLASSES, size=STEPS * BATCH)
    weights = [rng.normal(scale=0.5, size=(N_FEATURES, N_HIDDEN)),
               rng.normal(scale=0.1, size=N_HIDDEN),
               rng.normal(scale=0.5, size=(N_HIDDEN, N_CLASSES)),
               rng.normal(scale=0.1, size=N_CLASSES)]
    return X, y, weights


@pytest.fixture
def float64_torch():
    # NOTE: NAdam keeps its running product of momenta in torch's default dtype.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


CASES = [(name, decay) for name in ("rmsprop", "adagrad", "adadelta", "adamax")
         for decay in (0.0, 0.05)] + [("nadam", 0.0)]  # Keras 1's Nadam had no decay
CASES += [("rmsprop-centered-momentum", 0.0), ("rmsprop-centered-momentum", 0.05),
          ("rmsprop-momentum", 0.0)]


@pytest.mark.parametrize("name, decay", CASES, ids=[f"{n}-{d}" for n, d in CASES])
def test_steps_match_torch_optim(name, decay, float64_torch):
    X, y, weights = _data()
    model = Sequential([Dense(N_HIDDEN, input_dim=N_FEATURES, activation="tanh"),
                        Dense(N_CLASSES, activation="softmax")])
    model.compile(_ours(name, decay), "sparse_categorical_crossentropy")
    model.build(N_FEATURES, np.float64)
    model.set_weights(weights)

    W1, b1, W2, b2 = (torch.tensor(w, requires_grad=True) for w in weights)
    optimizer = _torch_optimizer(name, [W1, b1, W2, b2], decay)
    torch_rate = optimizer.param_groups[0]["lr"]
    for step in range(STEPS):
        rows = slice(step * BATCH, (step + 1) * BATCH)
        model.fit(X[rows], y[rows], batch_size=BATCH, epochs=1, shuffle=False,
                  verbose=0)

        if decay and name != "adagrad":  # Keras 1's decay, set by hand in torch
            optimizer.param_groups[0]["lr"] = torch_rate / (1 + decay * step)
        optimizer.zero_grad()
        logits = torch.tanh(torch.tensor(X[rows]) @ W1 + b1) @ W2 + b2
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y[rows]))
        loss.backward()
        optimizer.step()

        for ours, theirs in zip(model.get_weights(), (W1, b1, W2, b2)):
            assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-13,
                            err_msg=f"{name} after step {step + 1}")
    assert model.optimizer.iterations == STEPS
