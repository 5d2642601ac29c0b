"""The README's Python examples run as written, so the README cannot rot."""

import importlib.util
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
# NOTE: a block that uses an optional extra (dask, matplotlib) runs only where the extra
# is installed; the README's test command installs them all.
OPTIONAL = ("dask", "distributed", "dask_ml", "matplotlib")


def _missing_extras(source):
    imported = set(re.findall(r"^\s*(?:from|import)\s+(\w+)", source, flags=re.MULTILINE))
    return sorted(name for name in imported & set(OPTIONAL)
                  if importlib.util.find_spec(name) is None)


def test_readme_has_examples():
    assert BLOCKS


# NOTE: run as "__main__", so a block guarded for its spawned worker processes
# (the dask recipe) runs here too.
@pytest.mark.parametrize("source", BLOCKS, ids=lambda s: s.splitlines()[0][:40])
def test_readme_example_runs(source):
    missing = _missing_extras(source)
    if missing:
        pytest.skip(f"needs the optional {', '.join(missing)}")
    exec(compile(source, str(README), "exec"), {"__name__": "__main__"})
