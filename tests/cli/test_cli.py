"""The fastnn command line in-process through ``cli.main``: every model trains, saves and
predicts; labels, seeds, progress on stderr and results on stdout; every bad training
file, prediction input or argument as one line on stderr with a non-zero exit.
"""

import csv

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastnn
from fastnn import cli
from fastnn.saving import load_model, read_metadata

from _cli_helpers import _animals, _last_bar, _main, _one_error_line, _write_csv


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


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "train" in capsys.readouterr().err
