"""The public namespaces users import keep exactly the names they had before the
network's parts moved into ``fastnn.nn`` (issue 13): ``__all__`` and every public
name the modules defined."""

import importlib

import pytest

from _repository import ROOT

BEFORE = {
    "activations": (["Activation", "NAMES", "get"], []),
    "initializers": (["NAMES", "get"], ["glorot_normal", "glorot_uniform", "he_normal",
                                        "he_uniform", "normal", "ones", "uniform",
                                        "zeros"]),
    "layers": (["Activation", "Dense", "Dropout", "Layer", "Maxout"],
               ["Step", "private_buffers"]),
    "losses": (["Loss", "NAMES", "get"],
               ["BinaryCrossentropy", "CategoricalCrossentropy", "EPSILON",
                "MeanSquaredError", "SparseCategoricalCrossentropy"]),
    # issue 20 added the classic optimizers
    "optimizers": (["Adadelta", "Adagrad", "Adam", "Adamax", "NAMES", "Nadam",
                    "Optimizer", "RMSprop", "SGD", "get"], []),
    "models": (["Callback", "History", "Sequential"], ["check_finite_output"]),
}


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_public_names_are_unchanged(name):
    module = importlib.import_module(f"fastnn.{name}")
    exported, also_public = BEFORE[name]
    assert sorted(module.__all__) == exported
    for attribute in exported + also_public:
        assert hasattr(module, attribute), f"fastnn.{name}.{attribute} is gone"


def test_the_public_names_are_the_objects_of_fastnn_nn():
    from fastnn import activations, layers, losses, nn, optimizers
    from fastnn.nn import activations as nn_activations
    from fastnn.nn import losses as nn_losses
    from fastnn.nn import optimizers as nn_optimizers

    assert nn.layers.Dense is layers.Dense
    assert activations.Activation is nn_activations.ActivationFunction
    assert activations.get("relu") is nn_activations.get("relu")
    assert losses.Loss is nn_losses.Loss
    assert optimizers.SGD is nn_optimizers.SGD


def test_every_keras_callback_is_public_and_in_the_api_reference():
    """fastnn.callbacks (issue 20) is the public home of Keras' callbacks; each is on
    the API page and in the guide beside its Keras counterpart."""
    from fastnn import callbacks, models

    assert sorted(callbacks.__all__) == [
        "CSVLogger", "Callback", "EarlyStopping", "History", "LambdaCallback",
        "LearningRateScheduler", "ModelCheckpoint", "ReduceLROnPlateau", "TerminateOnNaN",
    ]
    assert callbacks.Callback is models.Callback and callbacks.History is models.History
    reference = (ROOT / "docs" / "api" / "sequential.rst").read_text(encoding="utf-8")
    guide = (ROOT / "docs" / "keras-callbacks.md").read_text(encoding="utf-8")
    for name in callbacks.__all__:
        assert f"\n   {name}\n" in reference, name
        assert f"| `{name}" in guide, name
