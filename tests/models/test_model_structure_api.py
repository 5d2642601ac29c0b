"""Sequential's Keras structure API: get_config / Sequential.from_config (a JSON-able
architecture, round trips, bad configs refused before anything is made), get_layer
(Keras' errors word for word) and pop (Keras' TypeError; on a built, trained model the
weights stay, the optimizer keeps their state, fit and predict go on), and add on a
built model.
"""

import json
import os

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastnn
from fastnn import Sequential
from fastnn.layers import Activation, Dense, Dropout, Maxout
from fastnn.optimizers import SGD, Adam

from _sequential_cases import _data


def _network(seed=0, input_dim=3, dtype=None):
    model = Sequential([
        Dense(8, "tanh", input_dim=input_dim, kernel_l2=0.01, name="hidden"),
        Dropout(0.25, seed=4),
        Maxout(4, pieces=3),
        Dense(3, name="logits"),
        Activation("softmax"),
    ], seed=seed, name="net")
    return model if dtype is None else model.build(dtype=dtype)


# ------------------------------------------------------------ get_config / from_config


@pytest.mark.parametrize("dtype", [None, np.float32, np.float64])
def test_the_config_is_json_and_round_trips(dtype):
    model = _network(dtype=dtype)
    config = model.get_config()
    assert json.loads(json.dumps(config)) == config
    assert config["name"] == "net" and config["seed"] == 0 and config["input_dim"] == 3
    assert config["dtype"] == (None if dtype is None else np.dtype(dtype).name)
    assert [entry["class_name"] for entry in config["layers"]] == [
        "Dense", "Dropout", "Maxout", "Dense", "Activation"]
    assert all(set(entry) == {"class_name", "config"} for entry in config["layers"])
    assert config["layers"][0]["config"]["kernel_l2"] == 0.01
    again = Sequential.from_config(json.loads(json.dumps(config)))
    assert again.get_config() == config
    assert again.built == model.built
    assert all(a is not b for a, b in zip(again.layers, model.layers))


def test_from_config_of_a_built_model_draws_the_seeds_initial_weights(rng):
    X, y = _data(rng)
    model = _network(seed=7, dtype=np.float32)
    initial = model.get_weights()
    model.compile(SGD(lr=0.1, momentum=0.9), "sparse_categorical_crossentropy")
    model.fit(X, y, epochs=3, verbose=0)
    fresh = Sequential.from_config(model.get_config())
    assert fresh.built and fresh.dtype == np.float32 and fresh.loss is None
    for before, now, trained in zip(initial, fresh.get_weights(), model.get_weights()):
        assert_array_equal(now, before)
        assert now.dtype == np.float32
    assert not all(np.array_equal(a, b)
                   for a, b in zip(fresh.get_weights(), model.get_weights()))
    fresh.compile("adam", "sparse_categorical_crossentropy")
    fresh.fit(X, y, epochs=2, verbose=0)
    assert fresh.predict(X).shape == (len(X), 3)


def test_an_unbuilt_config_gives_an_unbuilt_model(rng):
    model = Sequential([Dense(4, "relu"), Dense(2, "softmax")], seed=3)
    config = model.get_config()
    assert config["input_dim"] is None and config["dtype"] is None
    fresh = Sequential.from_config(config)
    assert not fresh.built and fresh.input_dim is None
    X, y = _data(rng, k=2)
    fresh.compile("sgd", "sparse_categorical_crossentropy")
    fresh.fit(X, y, epochs=1, verbose=0)  # built from the data, as Keras
    assert fresh.input_dim == 3


def test_from_config_keeps_the_name_and_defaults_what_it_is_not_given():
    model = Sequential.from_config({"layers": [
        {"class_name": "Dense", "config": {"units": 2, "input_dim": 3}}]})
    assert model.name == "sequential" and model.seed is None and not model.built
    assert model.input_dim == 3


def test_get_config_refuses_a_seed_it_cannot_write():
    model = Sequential([Dense(2, input_dim=3)], seed=np.random.default_rng(0))
    with pytest.raises(TypeError, match="seed is a Generator"):
        model.get_config()
    assert Sequential([Dense(2, input_dim=3)], seed=np.int64(5)).get_config()["seed"] == 5


def _config(**changes):
    config = _network().get_config()
    config.update(changes)
    return config


def _first_layer(**changes):
    config = _network().get_config()
    config["layers"][0] = {**config["layers"][0], **changes}
    return config


@pytest.mark.parametrize("config, message", [
    ([], "is a dict, got list"),
    ("Sequential", "is a dict, got str"),
    (_config(optimizer="adam"), r"unknown keys \['optimizer'\]"),
    ({"name": "net"}, "needs 'layers'"),
    (_config(layers={"0": {}}), "needs 'layers'"),
    (_config(name=3), "name must be a str"),
    (_config(seed=-1), "seed must be None or an int >= 0"),
    (_config(seed=True), "seed must be None or an int >= 0"),
    (_config(seed="0"), "seed must be None or an int >= 0"),
    (_config(input_dim=0), "input_dim must be None or an int >= 1"),
    (_config(input_dim=2.0), "input_dim must be None or an int >= 1"),
    (_config(input_dim=4), "input_dim 4 is not its first layer's"),
    (_config(dtype="float16"), "dtype must be None, 'float32' or 'float64'"),
    (_config(dtype=np.array(["float32", "float64"])), "dtype must be None"),
    (_config(dtype="float32", input_dim=4), "expects inputs of width 3, got 4"),
    (_config(layers=["Dense"]), "layer 0 of the config: a layer entry must be"),
    (_first_layer(module="keras.layers"), "a layer entry must be a dict of"),
    (_first_layer(class_name="Lambda"), ("unknown layer 'Lambda'; fastnn models hold "
                                        "Dense, Activation, Dropout, Maxout")),
    (_first_layer(class_name="Sequential"), "unknown layer 'Sequential'"),
    (_first_layer(class_name=["Dense"]), r"unknown layer \['Dense'\]"),
    (_first_layer(config={"units": 2, "function": "os.system"}),
     r"Dense config has unknown keys \['function'\]"),
    (_first_layer(config={"units": [2]}), "Dense config value 'units' is not a scalar"),
    (_first_layer(config={"activation": "relu"}), "Dense config: .*units"),
    (_first_layer(config={"units": 2, "name": 5}), "Dense config: name must be a str"),
    (_first_layer(config={"units": 2, "activation": "swish"}), "swish"),
    (_first_layer(config="units=2"), "Dense config is not an object"),
])
def test_bad_configs_are_refused_with_a_value_error(config, message):
    with pytest.raises(ValueError, match=message):
        Sequential.from_config(config)


# ------------------------------------------------------------------------ get_layer


def test_get_layer_by_name_or_index():
    model = _network()
    assert model.get_layer("logits") is model.layers[3]
    assert model.get_layer(name="hidden") is model.layers[0]
    assert model.get_layer(index=2) is model.layers[2]
    assert model.get_layer(index=-1) is model.layers[-1]
    assert model.get_layer(index=np.int64(1)) is model.layers[1]


@pytest.mark.parametrize("arguments, error, message", [
    ({"name": "hidden", "index": 0}, ValueError,
     "Provide only a layer name or a layer index. Received: index=0, name=hidden."),
    ({}, ValueError, "Provide either a layer name or layer index at `get_layer`."),
    ({"name": "output"}, ValueError, ("No such layer: output. Existing layers are: "
                                      "['hidden', 'dropout_")),
    ({"index": 5}, ValueError,
     "Was asked to retrieve layer at index 5 but model only has 5 layers."),
    ({"index": -6}, ValueError, "Was asked to retrieve layer at index -6"),
    ({"index": 1.0}, TypeError, "index must be an int, got float"),
    ({"index": True}, TypeError, "index must be an int, got bool"),
])
def test_get_layer_errors_are_keras(arguments, error, message):
    with pytest.raises(error) as raised:
        _network().get_layer(**arguments)
    assert str(raised.value).startswith(message)


# ------------------------------------------------------------------------------ pop


def test_pop_on_an_empty_model_is_keras_type_error():
    with pytest.raises(TypeError, match="^There are no layers in the model.$"):
        Sequential().pop()


def test_pop_on_an_unbuilt_model_returns_the_layer():
    model = Sequential([Dense(4, input_dim=3), Dense(2)])
    last = model.layers[-1]
    assert model.pop() is last
    assert len(model.layers) == 1 and not model.built
    assert model.get_config()["layers"][0]["config"]["units"] == 4


@pytest.mark.parametrize("optimizer", [SGD(lr=0.05, momentum=0.9), Adam()],
                         ids=["momentum", "adam"])
def test_pop_on_a_trained_model_keeps_weights_and_optimizer_state(rng, optimizer):
    X, y = _data(rng, dtype=np.float32)
    model = _network(seed=1)
    model.compile(optimizer, "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(X, y, epochs=3, batch_size=8, verbose=0)
    logits = model.forward(X, logits=True)
    assert not np.allclose(model.predict(X), logits)  # binds the output's inference
    weights = model.get_weights()
    iterations, slots = model.optimizer.get_state()
    softmax = model.layers[-1]

    assert model.pop() is softmax
    assert model.built and model.dtype == np.float32
    for before, now in zip(weights, model.get_weights()):
        assert_array_equal(now, before)
    # the invariants: one flat vector, every layer's weights views into it
    n_params = model.count_params()
    assert model.flat_weights.size == n_params == sum(w.size for w in weights)
    for layer in model.layers:
        for param in layer.params:
            assert np.shares_memory(param, model.flat_weights)
    # the optimizer goes on with the state of the weights that stayed
    new_iterations, new_slots = model.optimizer.get_state()
    assert new_iterations == iterations and len(new_slots) == len(slots)
    for old, new in zip(slots, new_slots):
        assert_array_equal(new, old[:n_params])
    # no bound call of before is left: predict gives the old logits, fit trains
    assert_allclose(model.predict(X), logits, rtol=1e-6, atol=1e-6)
    assert model.predict(X).dtype == np.float32
    model.compile(optimizer, "mse")
    history = model.fit(X, np.eye(3, dtype=np.float32)[y], epochs=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_pop_down_to_a_layer_then_add_a_new_head(rng):
    X, y = _data(rng, k=2)
    model = _network(seed=2, dtype=np.float64)
    model.compile(Adam(learning_rate=0.01), "sparse_categorical_crossentropy")
    model.fit(X, y, epochs=2, verbose=0)
    popped = [model.pop() for _ in range(4)]
    hidden = model.get_weights()
    assert [layer.name for layer in model.layers] == ["hidden"]
    # the popped layers own their weights now, and may join another model
    assert not any(np.shares_memory(p, model.flat_weights)
                   for layer in popped for p in layer.params)
    other = Sequential([Dense(8, input_dim=3), popped[2]])
    assert other.build(dtype=np.float64).count_params() == 32 + 9 * 12
    # a built model builds what it is given: the Keras transfer-learning pattern
    model.add(Dense(2, "softmax"))
    assert model.built and model.count_params() == 32 + 18
    assert_array_equal(model.get_weights()[0], hidden[0])
    _, slots = model.optimizer.get_state()
    assert all(not slot[32:].any() for slot in slots)  # the new weights: no state
    history = model.fit(X, y, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(X).shape == (len(X), 2)


def test_pop_the_only_layer_leaves_an_empty_unbuilt_model(rng):
    X, y = _data(rng, k=2)
    model = Sequential([Dense(2, "softmax", input_dim=3)], seed=0)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(X, y, epochs=1, verbose=0)
    model.pop()
    assert not model.built and model.layers == [] and model.count_params() == 0
    assert model.flat_weights is None
    with pytest.raises(TypeError, match="There are no layers"):
        model.pop()
    model.add(Dense(2, "softmax", input_dim=3))
    model.fit(X, y, epochs=1, verbose=0)  # compiled still, a fresh optimizer state
    assert model.optimizer.get_state()[1][0].shape == (8,)


def test_a_popped_model_saves_and_loads(rng, tmp_path):
    X, y = _data(rng)
    model = _network(seed=5)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(X, y, epochs=1, verbose=0)
    model.pop()
    path = os.fspath(tmp_path / "popped.fastnn")
    model.save(path)
    loaded = fastnn.load_model(path)
    assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.get_config()["layers"] == model.get_config()["layers"]


def test_add_to_a_built_model_refuses_a_layer_of_another(rng):
    first = Sequential([Dense(3, input_dim=3)]).build()
    second = Sequential([Dense(3, input_dim=3)]).build()
    with pytest.raises(ValueError, match="belongs to another built model"):
        second.add(first.layers[0])
    assert len(second.layers) == 1 and second.count_params() == 12
