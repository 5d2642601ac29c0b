"""The first-run problems of issue 12, in-process: targets that are not class labels,
values near the float range, outputs that would overwrite inputs, options the model
ignores, and an unforeseen ValueError as one line (other errors stay bugs).
"""

import numpy as np
import pytest

from fastnn import cli
from fastnn.cli import train as cli_train

from _cli_helpers import _animals, _main, _one_error_line, _write_csv


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
