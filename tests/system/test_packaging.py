"""What a new user meets before any model: the distribution's name and metadata, the
install hints fastnn prints, and the error of an import from an unbuilt source tree."""

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fastnn

CHECKOUT = Path(__file__).resolve().parents[2]  # the tests run from the checkout
PACKAGE = Path(fastnn.__file__).resolve().parent  # the fastnn the tests imported

# "fastnn" on PyPI is another project: any `pip install fastnn...` hint would fetch it.
FOREIGN_HINT = re.compile(r"pip install\s+[\"']?fastnn\b(?!-cython)")


def _distribution():
    names = set(importlib.metadata.packages_distributions().get("fastnn", []))
    assert len(names) == 1, f"fastnn is provided by {names}"
    return importlib.metadata.distribution(names.pop())


def test_the_distribution_is_not_named_like_the_pypi_project_fastnn():
    distribution = _distribution()
    assert distribution.metadata["Name"] == "fastnn-cython"
    assert distribution.version == fastnn.__version__


def test_the_metadata_a_registry_shows():
    """One version (fastnn.__version__, read by setuptools), the Python versions the
    classifiers name within requires-python, and a description."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    metadata = _distribution().metadata
    classifiers = metadata.get_all("Classifier")
    assert "Programming Language :: Python :: 3 :: Only" in classifiers
    assert "Operating System :: POSIX :: Linux" in classifiers
    minimum = tuple(int(part) for part in
                    metadata["Requires-Python"].removeprefix(">=").split("."))
    named = [tuple(int(part) for part in c.rsplit(" :: ", 1)[1].split("."))
             for c in classifiers if c.startswith("Programming Language :: Python :: 3.")]
    assert named and all(version >= minimum for version in named)
    assert metadata["Summary"] and metadata["Keywords"]


def test_tqdm_is_a_runtime_dependency_and_the_license_ships():
    distribution = _distribution()
    runtime = [req for req in distribution.requires if "extra ==" not in req]
    assert any(req.startswith("tqdm") for req in runtime), runtime
    assert distribution.metadata["License-Expression"] == "BSD-3-Clause"
    licenses = [f for f in distribution.files if f.name == "LICENSE"]
    assert licenses and "BSD 3-Clause" in licenses[0].read_text()
    assert (CHECKOUT / "LICENSE").read_text() == licenses[0].read_text()


def _texts():
    files = sorted(PACKAGE.rglob("*.py")) + [CHECKOUT / "README.md"]
    files += sorted((CHECKOUT / "docs").rglob("*.md"))
    files += sorted((CHECKOUT / "benchmarks").rglob("*.py"))
    return [(path, path.read_text(encoding="utf-8")) for path in files if path.exists()]


def test_no_hint_installs_the_other_pypi_project():
    found = [
        f"{path.name}: {match.group(0)}"
        for path, text in _texts()
        for match in FOREIGN_HINT.finditer(text)
    ]
    assert not found, found


def test_an_unbuilt_source_tree_raises_one_clear_import_error(tmp_path):
    # The checkout's sources without their compiled modules, as after a git clone.
    source = tmp_path / "checkout"
    shutil.copytree(
        CHECKOUT / "fastnn", source / "fastnn",
        ignore=shutil.ignore_patterns("*.so", "*.pyd", "*.c", "__pycache__"),
    )
    shutil.copy(CHECKOUT / "setup.py", source / "setup.py")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", "import fastnn"], cwd=source, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    err = result.stderr
    assert "ImportError: fastnn is being imported from its source tree" in err
    assert 'pip install -e ".[test]"' in err  # what to run
    assert "docs/contributing.md" in err and (CHECKOUT / "docs/contributing.md").exists()
    assert "No compiled module fastnn._kernels.checks" in err  # what is missing
    assert "During handling" not in err and "direct cause" not in err  # one error


def test_every_expanded_template_stays_out_of_the_sdist_and_git():
    # setup.py expands each fastnn/_kernels/<name>.pyx.tp into <name>.pyx at build
    # time: MANIFEST.in must exclude that file by name and .gitignore list it, or the
    # sdist ships a stale expansion (CI's sdist check caught csr.pyx only after a build).
    templates = sorted((CHECKOUT / "fastnn" / "_kernels").glob("*.pyx.tp"))
    if not templates or not (CHECKOUT / ".gitignore").is_file():
        pytest.skip("not a git checkout: no templates or no .gitignore")
    manifest = (CHECKOUT / "MANIFEST.in").read_text().split()
    ignored = (CHECKOUT / ".gitignore").read_text().split()
    for template in templates:
        expanded = f"fastnn/_kernels/{template.name.removesuffix('.tp')}"
        assert expanded in manifest, f"MANIFEST.in does not exclude {expanded}"
        assert expanded in ignored, f".gitignore does not list {expanded}"
