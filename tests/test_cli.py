"""The fastnn command line: end to end through the installed ``fastnn`` console script
in subprocesses (train on the shipped digits, train on a CSV with string labels, save,
predict, and each first-run problem of issue 12), every bad input as one line on
stderr with a non-zero exit, and the rest in-process through ``cli.main``.

Each subprocess pays ~1.5 s of importing scikit-learn, so the error cases start
together (``_run_all``) and each run checks several things."""

import csv
import importlib.util
import os
import struct
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastnn
from fastnn import cli
from fastnn.cli import bench as cli_bench
from fastnn.cli import train as cli_train
from fastnn.saving import load_model, read_metadata

ROOT = Path(fastnn.__file__).resolve().parent.parent
LABELS = np.array(["cat", "dog", "fox"])
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


def _last_bar(err):
    """The progress bar as it was left: the last state tqdm drew on stderr."""
    states = [part.strip() for part in err.replace("\n", "\r").split("\r")]
    return [state for state in states if "|" in state][-1]


def _main(capsys, *args):
    """``cli.main(ARGS)`` in this process: (exit code, stdout, stderr)."""
    code = cli.main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def _write_csv(path, rows, header):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _animals(path, n=90, seed=0):
    """Three separable blobs in 3 numeric columns, labels as strings in 'animal'
    (not the last column), so --target is needed."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.normal(size=(n, 3)) + 4 * np.eye(3)[y]
    rows = [[f"{a:.6f}", LABELS[label], f"{b:.6f}", f"{c:.6f}"]
            for (a, b, c), label in zip(X, y)]
    return _write_csv(path, rows, ["width", "animal", "height", "weight"])


def _one_error_line(code, err, *fragments):
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("fastnn: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


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


def test_predict_proba_is_exact(tmp_path, capsys):
    data = _animals(tmp_path / "a.csv")
    assert _main(capsys, "train", data, "--target", "animal", "--hidden", "4",
                 "--epochs", 5, "--quiet", "--save", tmp_path / "model.fnn")[0] == 0
    model = load_model(tmp_path / "model.fnn")
    scaler = read_metadata(tmp_path / "model.fnn")["scaler"]
    X = np.loadtxt(data, delimiter=",", skiprows=1, usecols=[0, 2, 3])
    X = (X - np.array(scaler["mean"])) / np.array(scaler["scale"])
    code, out, err = _main(capsys, "predict", tmp_path / "model.fnn", data, "--proba")
    assert code == 0, err
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == ["proba_cat", "proba_dog", "proba_fox"]
    proba = np.array(rows[1:], dtype=np.float64)
    assert_array_equal(proba, model.predict_proba(X))  # repr: exact
    assert_allclose(proba.sum(axis=1), 1.0)


# ------------------------------------------------------------------ in-process

@pytest.mark.parametrize("model", ["logistic", "ova", "mlp"])
def test_every_model_trains_saves_and_predicts(model, tmp_path, capsys):
    data = _animals(tmp_path / "a.csv")
    code, out, err = _main(capsys, "train", data, "--target", "animal", "--model", model,
                           "--epochs", 50, "--hidden", "6,4", "--save",
                           tmp_path / "m.fnn")
    assert code == 0, err
    assert "test" in out and "log-loss" in out
    expected = {"logistic": fastnn.LogisticRegression, "ova": fastnn.OneVsAllClassifier,
                "mlp": fastnn.MLPClassifier}[model]
    loaded = load_model(tmp_path / "m.fnn")
    assert type(loaded) is expected
    assert not loaded.get_params()["verbose" if model != "ova" else "estimator__verbose"]
    # predict takes the columns by name, in any order, the target column ignored
    with open(data, newline="") as file:
        rows = list(csv.reader(file))
    shuffled = [[row[3], row[0], row[2]] for row in rows]
    _write_csv(tmp_path / "b.csv", shuffled[1:], shuffled[0])
    code, first, _ = _main(capsys, "predict", tmp_path / "m.fnn", data)
    code2, second, _ = _main(capsys, "predict", tmp_path / "m.fnn", tmp_path / "b.csv")
    assert code == code2 == 0
    assert first == second and first.startswith("prediction\n")


def test_integer_labels_sort_as_numbers_and_test_size_zero(tmp_path, capsys):
    rows = [["1", "2", "10"], ["2", "1", "2"], ["3", "3", "10"], ["0", "1", "2"],
            ["5", "5", "1"], ["4", "4", "1"]]
    data = _write_csv(tmp_path / "tiny.csv", rows, ["a", "b", "y"])
    code, out, err = _main(capsys, "train", data, "--model", "logistic", "--quiet",
                           "--test-size", 0, "--save", tmp_path / "m.fnn")
    assert code == 0, err
    assert "6 training rows, 0 test rows" in out
    assert "confusion matrix (train rows" in out
    assert out.splitlines()[5].split() == ["1", "2", "10"]  # the matrix's header
    assert load_model(tmp_path / "m.fnn").classes_.tolist() == [1, 2, 10]
    code, out, _ = _main(capsys, "predict", tmp_path / "m.fnn", data)
    assert set(out.split()[1:]) <= {"1", "2", "10"}


def test_training_is_deterministic_given_the_seed(tmp_path, capsys):
    data = _animals(tmp_path / "a.csv")
    outputs = []
    for seed in (5, 5, 6):
        code, out, _ = _main(capsys, "train", data, "--target", "animal", "--epochs",
                             5, "--hidden", "5", "--seed", seed, "--quiet")
        assert code == 0
        outputs.append([line for line in out.splitlines()
                        if not line.startswith("trained in")])
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]


def test_progress_goes_to_stderr_results_to_stdout(tmp_path, capsys):
    data = _animals(tmp_path / "a.csv")
    code, out, err = _main(capsys, "train", data, "--target", "animal", "--epochs", 4,
                           "--hidden", "5")
    assert code == 0
    assert "epoch" in err and "loss" in err
    assert "epoch" not in out.split("trained in")[0].lower()
    code, out, err = _main(capsys, "train", data, "--target", "animal", "--epochs", 4,
                           "--hidden", "5", "--quiet")
    assert "loss" not in err
    # the estimators' verbose lines are what the bar counts: L-BFGS iterations too
    code, out, err = _main(capsys, "train", data, "--target", "animal", "--model",
                           "ova", "--epochs", 3)
    assert code == 0
    assert "9 L-BFGS iterations over 3 classifiers" in out
    assert "9 iterations, 0 of 3 converged]" in _last_bar(err)
    assert err.count("L-BFGS did not converge") == 1  # one note, not one per class


def _bad_files(tmp_path):
    header = ["a", "b", "label"]
    good = [["1", "2", "x"], ["3", "4", "y"]] * 5
    files = {
        "empty": ("", "the file is empty"),
        "blank lines only": ("\n\n\n", "the file is empty"),
        "header only": ("a,b,label\n", "header but no data rows"),
        "non-numeric": ([*good, ["1", "two", "x"]], "line 12, column 'b': 'two' is not a "
                                                    "number"),
        "blank value": ([*good, ["", "2", "x"]], "line 12, column 'a' is blank"),
        "nan": ([*good, ["nan", "2", "x"]], "line 12, column 'a': 'nan' is not a finite"),
        "ragged": ([*good, ["1", "2"]], "line 12 has 2 fields, the header has 3"),
        "blank label": ([*good, ["1", "2", " "]], "line 12: the target 'label' is blank"),
        "duplicate column": (([["1", "2", "3"]] * 4, ["a", "a", "label"]),
                             "names column 'a' twice"),
        "one class": ([["1", "2", "x"]] * 6, "has only one class"),
    }
    paths = {}
    for name, (content, message) in files.items():
        path = tmp_path / (name.replace(" ", "_") + ".csv")
        if isinstance(content, str):
            path.write_text(content)
        elif isinstance(content, tuple):
            _write_csv(path, *content)
        else:
            _write_csv(path, content, header)
        paths[name] = (path, message)
    return paths


def test_each_bad_training_file_is_one_line(tmp_path, capsys):
    for name, (path, message) in _bad_files(tmp_path).items():
        code, out, err = _main(capsys, "train", path, "--quiet")
        assert code == 1, name
        _one_error_line(code, err, str(path), message)
    path = _animals(tmp_path / "a.csv")
    code, _, err = _main(capsys, "train", path, "--target", "species")
    _one_error_line(code, err, "no column 'species' for the target", "'animal'")
    code, _, err = _main(capsys, "train", tmp_path)
    _one_error_line(code, err, str(tmp_path))  # a folder, not a file
    (tmp_path / "latin1.csv").write_bytes(b"a,b\n1,\xe9\n")
    code, _, err = _main(capsys, "train", tmp_path / "latin1.csv")
    _one_error_line(code, err, "not UTF-8")


def test_each_bad_prediction_input_is_one_line(tmp_path, capsys):
    data = _animals(tmp_path / "a.csv")
    model = tmp_path / "m.fnn"
    assert _main(capsys, "train", data, "--target", "animal", "--model", "logistic",
                 "--save", model, "--quiet")[0] == 0
    not_a_model = tmp_path / "notes.txt"
    not_a_model.write_text("just some text\n")
    code, _, err = _main(capsys, "predict", not_a_model, data)
    _one_error_line(code, err, "is not a fastnn model file")
    np.savez(tmp_path / "foreign.npz", weights=np.ones(3))
    code, _, err = _main(capsys, "predict", tmp_path / "foreign.npz", data)
    _one_error_line(code, err, "is not a fastnn model file")
    code, _, err = _main(capsys, "predict", model, data, "--output",
                         tmp_path / "no" / "out.csv")
    _one_error_line(code, err, "--output", "No such file or directory")
    code, _, err = _main(capsys, "predict", model, tmp_path / "absent.csv")
    _one_error_line(code, err, "absent.csv: no such file")
    _write_csv(tmp_path / "missing.csv", [["1", "2"]], ["width", "height"])
    code, _, err = _main(capsys, "predict", model, tmp_path / "missing.csv")
    _one_error_line(code, err, "missing feature column(s) 'weight'")
    _write_csv(tmp_path / "extra.csv", [["1", "2", "3", "4"]],
               ["width", "height", "weight", "colour"])
    code, _, err = _main(capsys, "predict", model, tmp_path / "extra.csv")
    _one_error_line(code, err, "'colour' were not features of the model")
    fastnn.Sequential([fastnn.layers.Dense(2, input_dim=3)]).build().save(
        tmp_path / "net.fnn")
    code, _, err = _main(capsys, "predict", tmp_path / "net.fnn", data)
    _one_error_line(code, err, "holds a Sequential")


@pytest.mark.parametrize("args, message", [
    (["train", "--test-size", "1.5"], "not in [0, 1)"),
    (["train", "--hidden", "10,x"], "comma-separated widths"),
    (["train", "--epochs", "0"], "is not > 0"),
    (["train", "--model", "svm"], "invalid choice"),
    (["predict", "m.fnn"], "required"),
])
def test_bad_arguments_exit_2(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_save_into_a_missing_folder_fails_before_training(tmp_path, capsys):
    code, out, err = _main(capsys, "train", "--save", tmp_path / "no" / "m.fnn")
    _one_error_line(code, err, "the folder does not exist")
    assert out == ""


def test_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")  # the optional extra fastnn[plot]
    data = _animals(tmp_path / "a.csv")
    plot = tmp_path / "plot.png"
    code, out, err = _main(capsys, "train", data, "--target", "animal", "--epochs", 5,
                           "--hidden", "4", "--early-stopping", "--quiet", "--plot",
                           plot)
    assert code == 0, err
    assert f"saved the plot to {plot}" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_vs_all_objectives_make_one_curve_per_classifier():
    from fastnn.cli.progress import _CLASS_STARTS, Progress

    progress = Progress("ova", 100, quiet=True, names=["'a'", "'b'", "'c'"])
    for value in ([0.7, 0.4, 0.2], [0.1, 0.05], [0.7, 0.1]):  # 0.1 < 0.2: no rise
        print(_CLASS_STARTS, file=progress)
        for v in value:
            print(f"L-BFGS objective {v}", file=progress)
    assert progress.curves == [[0.7, 0.4, 0.2], [0.1, 0.05], [0.7, 0.1]]


def test_mlp_progress_says_why_it_stopped(tmp_path, capsys):
    data = _animals(tmp_path / "a.csv")
    code, _, err = _main(capsys, "train", data, "--target", "animal", "--hidden", "4",
                         "--early-stopping")
    assert code == 0, err
    bar = _last_bar(err)
    assert bar.startswith("training: 100%"), bar
    assert bar.endswith("stopped early: validation score stopped improving]"), bar
    code, _, err = _main(capsys, "train", data, "--target", "animal", "--epochs", 3)
    assert "| 3/3 [" in _last_bar(err) and "stopped" not in _last_bar(err)
    assert "note: Stochastic Optimizer: Maximum iterations (3) reached" in err
    code, _, err = _main(capsys, "train", data, "--target", "animal", "--model",
                         "logistic")
    assert _last_bar(err).startswith("training (L-BFGS): 100%")
    assert _last_bar(err).endswith(", converged]")


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    code, out, err = _main(capsys, "train", "--plot", tmp_path / "p.png")
    _one_error_line(code, err, "pip install matplotlib")
    assert "fastnn[" not in err  # "fastnn" on PyPI is another project
    assert out == ""  # refused before training
    assert not (tmp_path / "p.png").exists()


def test_bench_without_a_source_checkout(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli_bench, "_benchmark_folders", lambda: [tmp_path])
    code, _, err = _main(capsys, "bench")
    _one_error_line(code, err, "source checkout")


def test_bench_runs_the_checkout_script(tmp_path, capsys, monkeypatch):
    (tmp_path / "benchmarks").mkdir()
    script = tmp_path / "benchmarks" / "bench_sequential.py"
    script.write_text("")
    monkeypatch.setattr(cli_bench, "_benchmark_folders", lambda: [tmp_path / "benchmarks"])
    calls = []

    def run(command, env, cwd):
        calls.append((command, env, cwd))
        return subprocess.CompletedProcess(command, 3)

    monkeypatch.setattr(subprocess, "run", run)
    assert _main(capsys, "bench", "--quick")[0] == 3  # the benchmark's own status
    command, env, cwd = calls[0]
    assert command == [sys.executable, str(script), "--quick"]
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(ROOT)
    assert env["PYTHONUNBUFFERED"] == "1" and cwd == tmp_path
    assert _main(capsys, "bench")[0] == 3
    assert calls[1][0] == [sys.executable, str(script)]
    assert cli_bench._find_benchmark() == script


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "train" in capsys.readouterr().err


# ------------------------------------------------------ issue 12, in-process variants

def test_targets_that_are_not_class_labels(tmp_path, capsys):
    rows = [[str(i), str(i % 7 * 10 + i // 7)] for i in range(40)]  # 40 distinct
    ids = _write_csv(tmp_path / "ids.csv", rows, ["x", "id"])
    code, out, err = _main(capsys, "train", ids, "--quiet")
    _one_error_line(code, err, "the target 'id' has 40 distinct values in 40 rows "
                    "(more than half)")
    assert out == ""
    whole = _write_csv(tmp_path / "whole.csv", [[str(i), f"{i % 2}.0"]
                                                for i in range(20)], ["x", "y"])
    code, out, err = _main(capsys, "train", whole, "--quiet", "--model", "logistic")
    assert code == 0, err  # "0.0" and "1.0" are class labels written as floats


def test_values_near_the_float_range(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = [[f"{a:.4f}", f"{b:.4f}", "xy"[i % 2]]
            for i, (a, b) in enumerate(rng.normal(size=(40, 2)))]
    rows[5][1] = "1e308"  # one cell: the variance overflows
    data = _write_csv(tmp_path / "one.csv", rows, ["a", "b", "label"])
    code, _, err = _main(capsys, "train", data, "--quiet")
    _one_error_line(code, err, "column 'b' (values up to 1e+308 in magnitude) cannot "
                    "be standardized")
    code, _, err = _main(capsys, "train", data, "--quiet", "--no-scale", "--model",
                         "ova")
    _one_error_line(code, err, "column 'b'", "--no-scale")
    rows[5][1] = "1e150"  # standardizes fine: a large but usable outlier
    data = _write_csv(tmp_path / "ok.csv", rows, ["a", "b", "label"])
    assert _main(capsys, "train", data, "--quiet", "--model", "logistic")[0] == 0


def test_outputs_never_overwrite_inputs(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    data = _animals(tmp_path / "a.csv")
    monkeypatch.chdir(tmp_path)
    before = data.read_bytes()
    for args, message in [
        (["--plot", "./a.csv"], "--plot ./a.csv would overwrite the input data file"),
        (["--save", "out.png", "--plot", "out"],
         f"--save and --plot name the same file, {tmp_path.resolve()}"),
        (["--plot", "out.v2"], "matplotlib cannot write .v2 files"),
    ]:
        code, out, err = _main(capsys, "train", "a.csv", "--target", "animal", *args)
        _one_error_line(code, err, message)
        assert out == ""  # refused before training
    code, _, err = _main(capsys, "predict", "m.fnn", "a.csv", "--output", "a.csv")
    _one_error_line(code, err, "--output a.csv would overwrite the input data file")
    assert data.read_bytes() == before


def test_options_the_model_ignores_warn_once(tmp_path, capsys):
    data = _animals(tmp_path / "a.csv")
    code, _, err = _main(capsys, "train", data, "--target", "animal", "--model",
                         "logistic", "--activation", "tanh", "--quiet")
    assert code == 0
    assert err == ("warning: --activation applies to --model mlp only, and --model "
                   "logistic ignores it\n")
    for args in (["--model", "logistic"], ["--hidden", "5", "--batch-size", "8"]):
        code, _, err = _main(capsys, "train", data, "--target", "animal", "--quiet",
                             "--epochs", 50, *args)
        assert "warning" not in err


def test_one_vs_all_plot_has_a_legend_and_the_accuracy(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure
    figures = []
    monkeypatch.setattr(Figure, "savefig", lambda figure, path, **kw: figures.append(
        (figure, kw)))
    data = _animals(tmp_path / "a.csv")
    code, out, err = _main(capsys, "train", data, "--target", "animal", "--model",
                           "ova", "--quiet", "--plot", tmp_path / "p.png")
    assert code == 0, err
    (figure, keywords), = figures
    assert keywords["dpi"] == 150
    loss_axes, matrix_axes = figure.axes[:2]
    legend = [text.get_text() for text in loss_axes.get_legend().get_texts()]
    assert legend == LABELS.tolist()
    accuracy = [line.split()[1] for line in out.splitlines() if line.startswith("test")]
    assert figure.get_suptitle().endswith(f"test accuracy {accuracy[0]}")
    numbers = [text for text in matrix_axes.texts if text.get_text().isdigit()]
    assert len(numbers) == 9 and min(t.get_fontsize() for t in numbers) >= 12


def test_an_unforeseen_value_error_is_one_line_other_errors_are_bugs(
        tmp_path, capsys, monkeypatch):
    data = _animals(tmp_path / "a.csv")

    def fail(*args, **kwargs):
        raise ValueError("Input contains something\nunexpected")

    monkeypatch.setattr(cli_train, "check_target", fail)
    code, _, err = _main(capsys, "train", data, "--target", "animal")
    _one_error_line(code, err, "Input contains something unexpected")
    monkeypatch.setenv("FASTNN_TRACEBACK", "1")
    with pytest.raises(ValueError):
        cli.main(["train", str(data), "--target", "animal"])
    monkeypatch.delenv("FASTNN_TRACEBACK")
    monkeypatch.setattr(cli_train, "check_target", lambda *a: None.missing)
    with pytest.raises(AttributeError):  # a bug in fastnn keeps its traceback
        cli.main(["train", str(data), "--target", "animal"])


def test_bench_prints_plain_words():
    folder = Path(__file__).resolve().parent.parent / "benchmarks"
    if not (folder / "bench_sequential.py").is_file():
        pytest.skip("the benchmarks are in the source checkout only")
    sys.path.insert(0, str(folder))
    try:
        import bench_sequential as bench
    finally:
        sys.path.remove(str(folder))
    times = dict(times=[0.02] * 4, busy=0.0, test_acc=0.97)
    results = {"a": {"fastnn": dict(times, times=[0.005] * 4),
                     "torch": dict(times, busy=0.5),
                     "sklearn": dict(times, times=[0.06] * 4)}}
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        bench.verdicts(results)
    text = printed.getvalue()
    assert "PyTorch took 4.00 times as long as fastnn per epoch (goal: 5 times); not " \
           "judged: the machine was busy" in text
    assert "so the timings are not reliable" in text
    assert "scikit-learn took 12.00 times as long as fastnn per epoch (goal: 10 " \
           "times): goal met" in text
    for jargon in ("TARGETS", "BUSY", "spec target", "aim"):
        assert jargon not in text
