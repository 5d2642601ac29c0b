"""The Python examples of README.md and docs/*.md run as written, so the docs cannot rot.

Each ```python block is one test, named by its file and the line its fence opens on
(``README.md:63``, ``docs/ops.md:12``). Shell and console blocks are not run.
"""

import importlib.util
import re

import pytest

from _repository import ROOT

README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```", flags=re.DOTALL | re.MULTILINE)
# NOTE: a block that uses an optional extra (dask, matplotlib; skl2onnx, onnx and
# onnxruntime, the extra onnx) runs only where the extra is installed; the README's test
# command installs dask and plot. rich (which scikit-learn's ProgressBar draws with) is
# no extra of fastnn's: its blocks run where it is installed.
OPTIONAL = ("dask", "distributed", "dask_ml", "matplotlib", "rich", "skl2onnx", "onnx",
            "onnxruntime")


def _blocks(path):
    """(path, line of the opening fence, source) of each ```python block in ``path``."""
    text = path.read_text(encoding="utf-8")
    return [
        (path, text.count("\n", 0, match.start()) + 1, match.group(1))
        for match in FENCE.finditer(text)
    ]


BLOCKS = [block for path in DOCUMENTS for block in _blocks(path)]


def _name(path, line):
    return f"{path.relative_to(ROOT).as_posix()}:{line}"


def _missing_extras(source):
    imported = set(re.findall(r"^\s*(?:from|import)\s+(\w+)", source, flags=re.MULTILINE))
    return sorted(name for name in imported & set(OPTIONAL)
                  if importlib.util.find_spec(name) is None)


def test_readme_has_examples():
    assert any(path == README for path, _, _ in BLOCKS)
    assert len({path for path, _, _ in BLOCKS}) > 1, "no example in docs/*.md"


# NOTE: run as "__main__", so a block guarded for its spawned worker processes
# (the dask recipe) runs here too. The source is shifted to its line in the file, so a
# traceback points at the Markdown line that failed.
@pytest.mark.parametrize(
    "path, line, source", BLOCKS, ids=[_name(path, line) for path, line, _ in BLOCKS]
)
def test_readme_example_runs(path, line, source):
    missing = _missing_extras(source)
    if missing:
        pytest.skip(f"needs the optional {', '.join(missing)}")
    code = compile("\n" * line + source, str(path), "exec")
    exec(code, {"__name__": "__main__"})
