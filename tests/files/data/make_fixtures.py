"""Write the model-file fixtures of fastnn's format 1 (``fastnn.Sequential`` and
``fastnn.estimator`` version 1) and the predictions they must give.

Made once by the code of commit c70f7f6 (before issue 13's restructure), with
``PYTHONPATH=. python tests/data/make_fixtures.py``; tests/test_model_file_fixtures.py
checks that today's code still loads these files and predicts the same. Do not
re-run it to "refresh" the fixtures: they stand for files users already have.
"""

import json
import os
import warnings

import numpy as np

from fastnn import LogisticRegression, MLPClassifier, OneVsAllClassifier, Sequential
from fastnn.layers import Activation, Dense, Dropout, Maxout
from fastnn.optimizers import SGD, Adam
from fastnn.saving import save_model

HERE = os.path.dirname(os.path.abspath(__file__))


def data(n=60, n_features=4, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8) * (n_classes - 2)
    return X, y % n_classes


def X_query(dtype=np.float64):
    return np.random.default_rng(1).normal(size=(7, 4)).astype(dtype)


def sequentials():
    X, y = data()
    compiled = Sequential([Dense(6, "relu", input_dim=4), Dropout(0.25),
                           Maxout(5, pieces=2), Activation("tanh"),
                           Dense(3, "softmax")], seed=3, name="compiled")
    compiled.compile(Adam(learning_rate=0.01), "sparse_categorical_crossentropy",
                     ["accuracy"])
    compiled.fit(X.astype(np.float32), y, epochs=3, batch_size=16, verbose=0)
    yield "sequential_compiled", compiled

    uncompiled = Sequential([Dense(5, "sigmoid", input_dim=4), Dense(2, "linear")],
                            seed=4, name="uncompiled")
    uncompiled.build(4, np.float32)
    yield "sequential_uncompiled", uncompiled

    double = Sequential([Dense(4, "tanh", input_dim=4, kernel_l2=0.01),
                         Dense(1, "sigmoid")], seed=5, name="double")
    double.compile(SGD(learning_rate=0.05, momentum=0.9, nesterov=True, decay=0.01),
                   "binary_crossentropy")
    double.fit(X, (y == 1).astype(float), epochs=2, batch_size=20, verbose=0)
    yield "sequential_float64", double


def estimators():
    X, y = data()
    yield "logistic_binary", LogisticRegression(C=0.5).fit(X, (y == 1).astype(int))
    yield "logistic_multiclass", LogisticRegression(
        solver="sgd", max_iter=5, random_state=0).fit(X.astype(np.float32), y)
    labels = np.array(["cat", "dog", "fox"])[y]
    yield "one_vs_all", OneVsAllClassifier(LogisticRegression(C=2.0)).fit(X, labels)

    adam = MLPClassifier((6,), solver="adam", max_iter=5, random_state=0,
                         learning_rate_init=0.01, dropout=0.2)
    adam.partial_fit(X[:30], y[:30], classes=[0, 1, 2])
    adam.partial_fit(X[30:], y[30:])
    yield "mlp_adam_partial", adam

    sgd = MLPClassifier((5, 4), activation="tanh", solver="sgd", max_iter=4,
                        random_state=1, learning_rate="invscaling",
                        learning_rate_init=0.05)
    sgd.fit(X.astype(np.float32), (y == 1).astype(int))
    yield "mlp_sgd_binary", sgd

    early = MLPClassifier((6,), activation="maxout", solver="sgd", max_iter=6,
                          random_state=2, early_stopping=True,
                          validation_fraction=0.25, learning_rate_init=0.05)
    early.fit(X, y)
    yield "mlp_sgd_early_stopping", early


def describe(model):
    """The configuration a loaded model must have, as JSON text."""
    if isinstance(model, Sequential):
        compiled = None
        if model.loss is not None:
            iterations, _ = model.optimizer.get_state()
            compiled = [model.loss.name, type(model.optimizer).__name__,
                        model.optimizer.get_config(), iterations,
                        [name for name, _ in model.metrics]]
        config = [model.name, model.dtype.name, model.input_dim, compiled,
                  [[type(layer).__name__, layer.get_config()] for layer in model.layers]]
    else:
        # (parameters an estimator gained since, at their defaults, are not part of
        # the first format: fastnn.saving.estimators writes them only when set)
        later = getattr(type(model), "__fastnn_later_params__", {})
        config = [type(model).__name__,
                  {name: value for name, value in model.get_params(deep=False).items()
                   if name not in later or value != later[name]}]
    return json.dumps(config, default=_repr, sort_keys=True)


def _repr(value):
    """An estimator parameter as the first format's fastnn printed it: penalty='l2'
    was LogisticRegression's default then (scikit-learn 1.8 made it 'deprecated', the
    same fit), so its repr did not show it."""
    text = repr(value)
    for shown, then in ((", penalty='l2'", ""), ("penalty='l2', ", ""),
                        ("(penalty='l2')", "()")):
        text = text.replace(shown, then)
    return text


def state(model):
    """The saved training state beyond the weights: optimizer slots, fit curves."""
    arrays = {}
    optimizer = model.optimizer if isinstance(model, Sequential) else None
    if optimizer is not None:
        arrays.update((f"slot_{i}", slot.copy())
                      for i, slot in enumerate(optimizer.get_state()[1]))
    if isinstance(model, MLPClassifier):
        arrays["n_iter_t_"] = np.array([model.n_iter_, model.t_])
        for name in ("loss_curve_", "validation_scores_"):
            if getattr(model, name, None) is not None:
                arrays[name] = np.array(getattr(model, name))
        for name in ("best_loss_", "best_validation_score_"):
            if getattr(model, name, None) is not None:
                arrays[name] = np.array(getattr(model, name))
    return arrays


def carry_on(name, model):
    """Continue training where the saved state allows it exactly (no unsaved random
    state on the way); returns the model, or None where that is not possible."""
    X, y = data(seed=9)
    if name == "sequential_float64":
        model.train_on_batch(X, (y == 1).astype(float))
        return model
    if name == "mlp_adam_partial":
        return model.partial_fit(X, y)
    if name == "mlp_sgd_binary":
        return model.partial_fit(X.astype(np.float32), (y == 1).astype(int))
    if name == "logistic_multiclass":
        return model.partial_fit(X.astype(np.float32), y)
    return None


def predictions(model, X):
    if isinstance(model, Sequential):
        return {"predict": model.predict(X.astype(model.dtype))}
    return {"predict": model.predict(X), "proba": model.predict_proba(X)}


def expectations(name, model):
    """What the model saved as ``name`` must give once loaded (it is then changed)."""
    expected = {f"{name}.config": np.array(describe(model))}
    for key, value in {**predictions(model, X_query()), **state(model)}.items():
        expected[f"{name}.{key}"] = value
    if carry_on(name, model) is not None:
        for key, value in predictions(model, X_query()).items():
            expected[f"{name}.continued.{key}"] = value
    return expected


def main():
    expected = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of the short fits
        for name, model in (*sequentials(), *estimators()):
            save_model(model, os.path.join(HERE, f"{name}.fastnn"), METADATA.get(name))
            expected.update(expectations(name, model))
    np.savez_compressed(os.path.join(HERE, "fixtures_expected.npz"), **expected)


NAMES = ["sequential_compiled", "sequential_uncompiled", "sequential_float64",
         "logistic_binary", "logistic_multiclass", "one_vs_all", "mlp_adam_partial",
         "mlp_sgd_binary", "mlp_sgd_early_stopping"]
METADATA = {"sequential_compiled": {"features": ["a", "b", "c", "d"], "note": "fixture"},
            "one_vs_all": {"features": ["a", "b", "c", "d"]}}


if __name__ == "__main__":
    main()
