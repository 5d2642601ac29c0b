"""The ``>>>`` examples in fastnn's docstrings run and print what they show."""

import doctest
import importlib
import pkgutil

import pytest

import fastnn

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(fastnn.__path__, "fastnn.")
    if "._kernels" not in info.name and info.name != "fastnn.__main__"
)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name.startswith("fastnn.onnx"):
        pytest.importorskip("skl2onnx", reason="the optional extra onnx")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
