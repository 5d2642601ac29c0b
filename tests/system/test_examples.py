"""The example gallery's scripts, examples/plot_*.py (sphinx-gallery runs them when the
site is built): each has a gallery title, a place in the gallery's order, and runs,
drawing its figures. Skipped where there is no examples/ folder (an sdist)."""

import ast
import importlib.util
import runpy

import pytest

from _repository import ROOT

EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(EXAMPLES.glob("plot_*.py"))
pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="no examples/ folder")


def test_the_gallery_has_a_header_and_examples():
    header = (EXAMPLES / "README.txt").read_text(encoding="utf-8").splitlines()
    assert header[0] and header[1] == "=" * len(header[0])
    assert SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_an_example_opens_with_its_title(script):
    # sphinx-gallery's format: a docstring whose first line is the title, underlined
    docstring = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    assert docstring, f"{script.name} has no docstring"
    title, underline, *text = docstring.splitlines()
    assert underline == "=" * len(title), f"{script.name}: {title!r} is not underlined"
    assert "".join(text).strip(), f"{script.name} says nothing under its title"


def test_every_example_has_its_place_in_the_gallery():
    path = ROOT / "docs" / "sphinxext" / "gallery_order.py"
    spec = importlib.util.spec_from_file_location("gallery_order", path)
    gallery_order = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gallery_order)
    assert sorted(gallery_order.LECTURE_ORDER) == [script.name for script in SCRIPTS]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_an_example_runs_and_draws(script, monkeypatch):
    plt = pytest.importorskip("matplotlib.pyplot", reason="the optional extra plot")
    plt.switch_backend("agg")
    plt.close("all")
    monkeypatch.chdir(EXAMPLES)  # where the gallery runs it
    try:
        runpy.run_path(str(script), run_name="__main__")
        assert plt.get_fignums(), f"{script.name} drew no figure"
    finally:
        plt.close("all")
