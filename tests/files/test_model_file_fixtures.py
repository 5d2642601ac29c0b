"""Model files written by fastnn before issue 13's restructure (tests/data, made by
tests/data/make_fixtures.py at commit c70f7f6) still load: same configuration, same
predictions, and training continues from the saved state as it did then."""

import importlib.util
import os
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastnn.saving
from fastnn import Sequential, load_model
from fastnn.saving import read_metadata

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
_spec = importlib.util.spec_from_file_location(
    "make_fixtures", os.path.join(DATA, "make_fixtures.py"))
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)


@pytest.fixture(scope="module")
def expected():
    with np.load(os.path.join(DATA, "fixtures_expected.npz")) as archive:
        return dict(archive)


def _check_predictions(model, expected, prefix):
    for key, value in fixtures.predictions(model, fixtures.X_query()).items():
        if key == "predict" and not isinstance(model, Sequential):
            assert_array_equal(value, expected[f"{prefix}.{key}"])  # labels: exact
        else:
            assert value.dtype == expected[f"{prefix}.{key}"].dtype
            assert_allclose(value, expected[f"{prefix}.{key}"], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", fixtures.NAMES)
def test_a_file_of_the_first_format_loads_and_predicts_as_before(name, expected):
    path = os.path.join(DATA, f"{name}.fastnn")
    model = load_model(path)
    assert read_metadata(path) == fixtures.METADATA.get(name, {})
    assert fixtures.describe(model) == str(expected[f"{name}.config"])
    _check_predictions(model, expected, name)
    state = fixtures.state(model)
    saved = {key.split(".")[1] for key in expected if key.startswith(name + ".")}
    assert set(state) == saved - {"config", "predict", "proba", "continued"}
    for key, value in state.items():
        assert_allclose(value, expected[f"{name}.{key}"], rtol=1e-6)


@pytest.mark.parametrize("name", [name for name in fixtures.NAMES
                                  if name in ("sequential_float64", "mlp_adam_partial",
                                              "mlp_sgd_binary", "logistic_multiclass")])
def test_training_continues_from_the_saved_state(name, expected):
    model = load_model(os.path.join(DATA, f"{name}.fastnn"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert fixtures.carry_on(name, model) is model
    _check_predictions(model, expected, f"{name}.continued")


@pytest.mark.parametrize("name", fixtures.NAMES)
def test_a_loaded_file_saved_again_is_the_same_bytes(name, tmp_path):
    """The format is unchanged: what loads is written back member for member, so
    older fastnn reads the files newer fastnn writes."""
    path = os.path.join(DATA, f"{name}.fastnn")
    fastnn.saving.save_model(load_model(path), tmp_path / "again.fastnn",
                             read_metadata(path) or None)
    with open(path, "rb") as before, open(tmp_path / "again.fastnn", "rb") as after:
        assert before.read() == after.read()
