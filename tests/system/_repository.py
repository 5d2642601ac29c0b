"""The checkout (or unpacked sdist) the tests run from, for the tests that read its
files: README.md, docs/, examples/."""

from pathlib import Path


def _repository_root():
    """The folder holding pyproject.toml, above this file wherever the tests are filed."""
    for folder in Path(__file__).resolve().parents:
        if (folder / "pyproject.toml").is_file() and (folder / "README.md").is_file():
            return folder
    raise RuntimeError(f"no pyproject.toml above {__file__}")


ROOT = _repository_root()
