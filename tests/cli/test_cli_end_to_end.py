"""The fastnn command line end to end, through the installed ``fastnn`` console script
in subprocesses: train on the shipped digits, train on a CSV with string labels, save,
predict, and each first-run problem of issue 12 as one line on stderr with a non-zero
exit.

Each subprocess pays ~1.5 s of importing scikit-learn, so the error cases start
together (``_run_all``) and each run checks several things.
"""

import csv
import importlib.util
import os
import struct
import subprocess
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastnn
from fastnn import cli
from fastnn.saving import load_model, read_metadata

from _cli_helpers import LABELS, ROOT, _animals, _last_bar, _one_error_line, _write_csv

pytestmark = pytest.mark.slow  # each subprocess pays ~1.5 s of imports

# NOTE: the console script pip wrote next to this Python (a venv's bin/, or the user
# scheme's), the very command a user types; PYTHONPATH makes it import the fastnn
# these tests imported.
_SCRIPTS = [sysconfig.get_path("scripts"),
            sysconfig.get_path("scripts", f"{os.name}_user")]
SCRIPT = next((Path(folder) / name for folder in _SCRIPTS
               for name in ("fastnn", "fastnn.exe") if (Path(folder) / name).is_file()),
              None)
_ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(
    [str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))


def _start(args, cwd, env=None):
    assert SCRIPT is not None, f"no fastnn console script in {_SCRIPTS}: pip install ."
    return subprocess.Popen([str(SCRIPT), *map(str, args)], cwd=cwd,
                            env=dict(_ENV, **(env or {})),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process):
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def _run(*args, cwd, env=None):
    """``fastnn ARGS`` in a subprocess: (exit code, stdout, stderr)."""
    return _finish(_start(args, cwd, env))


def _run_all(commands, cwd):
    """Several ``fastnn`` commands at once: a list of (exit code, stdout, stderr)."""
    processes = [_start(args, cwd) for args in commands]
    return [_finish(process) for process in processes]


# --------------------------------------------------------------- end to end

def _png_size(path):
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])  # the IHDR chunk's width and height


def test_train_on_the_shipped_digits(tmp_path):
    """README's first command: one bar, finished at 100 % with why it stopped early;
    the model and the plot where the output says (matplotlib's .png added)."""
    # The plot is checked where the optional matplotlib is installed; the rest always.
    plot = importlib.util.find_spec("matplotlib") is not None
    code, out, err = _run("train", "--save", "digits.fnn",
                          *(["--plot", "plot_noext"] if plot else []), cwd=tmp_path)
    assert code == 0, err
    assert "scikit-learn's digits" in out
    assert "1437 training rows, 360 test rows, 64 features, 10 classes" in out
    assert "confusion matrix (test rows" in out
    table = out[out.index("columns: predicted)"):].splitlines()[2:12]
    assert sum(int(count) for row in table for count in row.split()[1:]) == 360
    assert "Traceback" not in err
    epochs = int(out.split("trained in ")[1].split("(")[1].split()[0])
    assert epochs < 200  # the default run stops early: the loss stops improving
    bar = _last_bar(err)
    assert bar.startswith("training: 100%") and f"{epochs}/{epochs}" in bar, bar
    assert bar.endswith("stopped early: loss stopped improving]"), bar
    assert err.count("epoch ") == 0  # a bar, not a line per epoch
    folder = tmp_path.resolve()
    assert f"saved the model to {folder / 'digits.fnn'}\n" in out
    assert type(load_model(tmp_path / "digits.fnn")) is fastnn.MLPClassifier
    if plot:
        assert f"saved the plot to {folder / 'plot_noext.png'}\n" in out
        assert not (tmp_path / "plot_noext").exists()
        assert _png_size(tmp_path / "plot_noext.png") == (1650, 720)  # 11 x 4.8, 150 dpi


def test_one_vs_all_progress_counts_per_class_and_ignored_options_warn(tmp_path):
    data = _animals(tmp_path / "animals.csv")
    code, out, err = _run("train", data, "--target", "animal", "--model", "ova",
                          "--hidden", "5", "--early-stopping", "--save", "m.fnn",
                          cwd=tmp_path, env={"TQDM_MININTERVAL": "0"})  # draw each
    assert code == 0, err
    assert ("warning: --hidden, --early-stopping apply to --model mlp only, and "
            "--model ova ignores them\n") in err
    bar = _last_bar(err)
    assert bar.startswith("one-vs-all (L-BFGS): 100%") and "3/3" in bar, bar
    assert bar.endswith("all 3 converged]"), bar
    iterations = int(out.split("trained in ")[1].split("(")[1].split()[0])
    assert f"{iterations} iterations, all 3 converged" in bar
    # while it ran, the bar counted each class's iterations from 1
    for k, label in enumerate(LABELS, 1):
        assert f"class {k}/3 '{label}': iteration 1, objective" in err
    assert type(load_model(tmp_path / "m.fnn").estimators_[0]) is \
        fastnn.LogisticRegression


def test_first_run_problems_are_one_clear_line(tmp_path):
    """Issue 12's reports, each through the console script, run side by side."""
    data = _animals(tmp_path / "animals.csv")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    continuous = _write_csv(tmp_path / "wine.csv", [
        [f"{a:.3f}", f"{12 + b:.2f}", label] for (a, b), label in zip(X, "01" * 30)],
        ["color", "alcohol", "class"])
    huge = _write_csv(tmp_path / "huge.csv", [
        [f"{a:.3f}", repr(float(1e300 * np.sign(b))), label] for (a, b), label
        in zip(X, "ab" * 30)], ["a", "b", "label"])
    rare = _write_csv(tmp_path / "rare.csv", [
        *([f"{a + 3 * (i % 2):.3f}", f"{b:.3f}", "ab"[i % 2]] for i, (a, b)
          in enumerate(X[:40])), ["9", "9", "owl"], ["-9", "9", "emu"]],
        ["x1", "x2", "bird"])
    model = tmp_path / "m.fnn"
    assert _main_quiet("train", data, "--target", "animal", "--model", "logistic",
                       "--save", model) == 0
    before = data.read_bytes()
    results = _run_all([
        ("train", continuous, "--target", "alcohol"),
        ("train", data, "--target", "animal", "--save", data),
        ("predict", model, data, "--output", model),
        ("train", huge, "-q"),
        ("train", huge, "-q", "--no-scale"),
        ("train", rare, "-q", "--seed", 3, "--model", "logistic"),
        ("predict", "absent.fnn", "absent.csv"),
    ], cwd=tmp_path)
    (code, _, err), *results = results
    _one_error_line(code, err, "the target 'alcohol' holds numbers that are not "
                    "whole (e.g. ", "it looks continuous")
    (code, _, err), *results = results
    _one_error_line(code, err, f"--save {data} would overwrite the input data file")
    assert data.read_bytes() == before
    (code, _, err), *results = results
    _one_error_line(code, err, f"--output {model} would overwrite the model file")
    (code, _, err), *results = results
    _one_error_line(code, err, "column 'b' (values up to 1e+300 in magnitude) cannot "
                    "be standardized")
    (code, _, err), *results = results
    _one_error_line(code, err, "column 'b'", "too large to train on without "
                    "standardization", "drop --no-scale")
    (code, out, err), *results = results  # a class in the test rows only: no crash
    assert code == 0 and "Traceback" not in err, err
    assert "warning: 2 classes have a single row ('emu', 'owl')" in err
    assert "note: no test log-loss: 1 test row belongs to classes the training rows " \
           "lack ('owl')" in err
    test_row = [line.split() for line in out.splitlines() if line.startswith("test ")]
    assert test_row[0][2] == "n/a"  # accuracy, then no log-loss
    (code, _, err), = results
    _one_error_line(code, err, "absent.fnn: no such model file")


def _main_quiet(*args):
    """``cli.main`` for a setup step, its output dropped: the exit code."""
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        return cli.main([str(arg) for arg in args] + ["--quiet"])


def test_train_save_predict_with_string_labels(tmp_path):
    data = _animals(tmp_path / "animals.csv")
    code, out, err = _run("train", data, "--target", "animal", "--hidden", "8",
                          "--epochs", 60, "--learning-rate", 0.05, "--seed", 3,
                          "--save", "model.fnn", cwd=tmp_path)
    assert code == 0, err
    assert "72 training rows, 18 test rows, 3 features, 3 classes" in out
    assert f"saved the model to {tmp_path.resolve() / 'model.fnn'}" in out
    for label in LABELS:
        assert label in out  # the confusion matrix names the classes
    model = load_model(tmp_path / "model.fnn")
    assert model.classes_.tolist() == LABELS.tolist()
    metadata = read_metadata(tmp_path / "model.fnn")
    assert metadata["feature_names"] == ["width", "height", "weight"]
    assert metadata["target"] == "animal"

    code, out, err = _run("predict", "model.fnn", data, "--output", "out.csv",
                          cwd=tmp_path)
    assert code == 0, err
    with open(tmp_path / "out.csv", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["prediction"] and len(rows) == 91
    predicted = np.array([row[0] for row in rows[1:]])
    # The same as loading the model and standardizing with the saved mean and scale.
    X = np.loadtxt(data, delimiter=",", skiprows=1, usecols=[0, 2, 3])
    scaler = metadata["scaler"]
    X = (X - np.array(scaler["mean"])) / np.array(scaler["scale"])
    assert_array_equal(predicted, model.predict(X))
    truth = np.loadtxt(data, delimiter=",", skiprows=1, usecols=[1], dtype=str)
    assert np.mean(predicted == truth) > 0.9
