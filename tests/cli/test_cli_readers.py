"""The data readers of issue 19, in-process: every CSV reader (pandas' parser, NumPy's
loadtxt, the exact ``csv`` module reader) reads the same values and refuses every bad
file with the same one line; chunks change nothing (predict in chunks writes what it
wrote whole); float32 end to end; Parquet through pyarrow, and the message naming the
``io`` extra without it.
"""

import csv
import importlib.util
import sys
import time

import numpy as np
import pytest
from _cli_helpers import _animals, _main, _one_error_line, _write_csv
from numpy.testing import assert_array_equal

from fastnn.cli import columns as cli_columns
from fastnn.cli.data import read_training_data
from fastnn.cli.progress import reading_bar
from fastnn.saving import load_model, read_metadata

HAS_PANDAS = importlib.util.find_spec("pandas") is not None
HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None
READERS = [pytest.param("pandas", marks=pytest.mark.skipif(
               not HAS_PANDAS, reason="pandas (optional) is not installed")),
           "numpy", "python"]
needs_pyarrow = pytest.mark.skipif(
    not HAS_PYARROW, reason="pyarrow (the optional io extra) is not installed")


@pytest.fixture(params=READERS)
def reader(request, monkeypatch):
    monkeypatch.setenv("FASTNN_CSV_READER", request.param)
    return request.param


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 256 rows (the least) for the CSV and Parquet readers."""
    monkeypatch.setattr(cli_columns, "CHUNK_BYTES", 1)


def _bad_files(tmp_path):
    """(content, message) of each malformed training file: the CSV tests' list
    (tests/cli/test_cli.py) and more, each mistake after some good rows."""
    good = "a,b,label\n" + "1,2,x\n3,4,y\n" * 5
    return {
        "empty": ("", "the file is empty"),
        "blank lines only": ("\n\n\n", "the file is empty"),
        "header only": ("a,b,label\n", "header but no data rows"),
        "header and blank lines": ("a,b,label\n\n\n", "header but no data rows"),
        "non-numeric": (good + "1,two,x\n", ("line 12, column 'b': 'two' is not a "
                                             "number (feature columns must be "
                                             "numeric)")),
        "blank value": (good + ",2,x\n", ("line 12, column 'a' is blank (missing "
                                          "values are not supported)")),
        "NA": (good + "NA,2,x\n", "line 12, column 'a': 'NA' is not a number"),
        "nan": (good + "nan,2,x\n", "line 12, column 'a': 'nan' is not a finite"),
        "inf": (good + "1,-inf,x\n", "line 12, column 'b': '-inf' is not a finite"),
        "short row": (good + "1,2\n", "line 12 has 2 fields, the header has 3"),
        "long row": (good + "1,2,x,4\n", "line 12 has 4 fields, the header has 3"),
        "blank label": (good + "1,2, \n", "line 12: the target 'label' is blank"),
        "empty label": (good + "1,2,\n", "line 12: the target 'label' is blank"),
        "comment": (good + "#1,2,x\n", "line 12, column 'a': '#1' is not a number"),
        "quoted comma": (good + '"1,5",2,x\n', "line 12, column 'a': '1,5' is not"),
        "after a blank line": (good + "\n1,x,y\n", "line 13, column 'b': 'x' is not"),
        "duplicate column": ("a,a,label\n1,2,3\n", "names column 'a' twice"),
        "unnamed column": ("a,,label\n1,2,3\n", "column 2 of the header has no name"),
        "one class": ("a,b,label\n" + "1,2,x\n" * 6, "has only one class"),
        "crlf non-numeric": ((good + "1,two,x\n").replace("\n", "\r\n"),
                             "line 12, column 'b': 'two' is not a number"),
    }


def test_every_reader_refuses_every_bad_file_with_the_same_line(tmp_path, capsys,
                                                                 reader):
    for name, (content, message) in _bad_files(tmp_path).items():
        path = tmp_path / (name.replace(" ", "_") + ".csv")
        path.write_bytes(content.encode())
        code, out, err = _main(capsys, "train", path, "--quiet")
        _one_error_line(code, err, str(path), message)
        assert out == "", name
    (tmp_path / "latin1.csv").write_bytes(b"a,b\n1,2\n3,\xe9\n")
    code, _, err = _main(capsys, "train", tmp_path / "latin1.csv", "--quiet")
    _one_error_line(code, err, "latin1.csv: the file is not UTF-8 text")


def test_a_mistake_past_the_first_chunks_names_its_line(tmp_path, capsys, reader,
                                                        small_chunks):
    rows = [[str(i % 7), str(i % 5), "xy"[i % 2]] for i in range(1000)]
    rows[800][1] = "oops"  # line 802: the header is line 1
    path = _write_csv(tmp_path / "long.csv", rows, ["a", "b", "label"])
    code, _, err = _main(capsys, "train", path, "--quiet")
    _one_error_line(code, err, "line 802, column 'b': 'oops' is not a number")


def _awkward(path):
    """Valid but awkward: a BOM, CRLF, quoted names and fields, blank and blank-ish
    lines, spaces around labels, labels written as integers among text."""
    text = ('\ufeff\r\n"width",height ,"the label"\r\n'
            '1.5,"2",  cat \r\n\r\n-3e-2, 4 ,"dog, big"\r\n   \r\n'
            '5,6,007\r\n7,"8",cat\r\n')
    path.write_bytes(text.encode("utf-8"))
    return path


def test_every_reader_reads_awkward_files_alike(tmp_path, reader):
    data = read_training_data(_awkward(tmp_path / "awkward.csv"), quiet=True)
    assert data.feature_names == ["width", "height"]
    assert data.target == "the label"
    assert_array_equal(data.X, [[1.5, 2], [-3e-2, 4], [5, 6], [7, 8]])
    assert data.X.flags.c_contiguous
    assert data.y.tolist() == ["cat", "dog, big", "007", "cat"]  # text as written
    labels = _write_csv(tmp_path / "ints.csv", [["1", "10"], ["2", "-2"], ["3", "10"]],
                        ["x", "y"])
    data = read_training_data(labels, quiet=True)
    assert data.y.dtype == np.int64 and data.y.tolist() == [10, -2, 10]


def test_the_readers_read_the_same_numbers(tmp_path, monkeypatch, small_chunks):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(700, 4)) * 10.0 ** rng.integers(-300, 300, size=(700, 4))
    rows = [[repr(float(v)) for v in row] + [f"c{i % 3}"] for i, row in enumerate(X)]
    rows[3][2] = "1_000"  # Python's float reads it, the C parsers do not
    path = _write_csv(tmp_path / "x.csv", rows, ["a", "b", "c", "d", "y"])
    X[3, 2] = 1000.0
    for name in [r.values[0] if hasattr(r, "values") else r for r in READERS]:
        if name == "pandas" and not HAS_PANDAS:
            continue
        monkeypatch.setenv("FASTNN_CSV_READER", name)
        data = read_training_data(path, quiet=True)
        assert_array_equal(data.X, X)  # exactly: every parser rounds correctly
        assert data.y.tolist() == [f"c{i % 3}" for i in range(700)]
        assert data.reader == "python"  # "1_000": the C parsers handed over


def test_an_unknown_reader_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FASTNN_CSV_READER", "polars")
    code, _, err = _main(capsys, "train", _animals(tmp_path / "a.csv"), "--target",
                         "animal", "-q")
    _one_error_line(code, err, "FASTNN_CSV_READER='polars': choose one of pandas, "
                    "numpy, python")


def _trained(tmp_path, capsys, *args):
    data = _animals(tmp_path / "a.csv", n=900)
    model = tmp_path / "m.fnn"
    code, out, err = _main(capsys, "train", data, "--target", "animal", "--model",
                           "logistic", "--save", model, "-q", *args)
    assert code == 0, err
    return data, model, out


def test_predict_in_chunks_writes_what_it_writes_whole(tmp_path, capsys, monkeypatch,
                                                       reader):
    data, model, _ = _trained(tmp_path, capsys)
    with open(data, newline="") as file:
        rows = list(csv.reader(file))
    rows[500][2] = "1_000"  # the C parsers refuse it past the first chunk
    _write_csv(data, rows[1:], rows[0])
    whole = {}
    for option in ([], ["--proba"]):
        code, whole[str(option)], err = _main(capsys, "predict", model, data, *option)
        assert code == 0, err
    monkeypatch.setattr(cli_columns, "CHUNK_BYTES", 1)  # 256-row chunks
    for option in ([], ["--proba"]):
        code, out, err = _main(capsys, "predict", model, data, *option)
        assert code == 0, err
        assert out == whole[str(option)]
        assert len(out.splitlines()) == 901
    code, _, err = _main(capsys, "predict", model, data, "--output", tmp_path / "p.csv")
    assert code == 0 and "wrote 900 rows of predictions" in err
    assert (tmp_path / "p.csv").read_text() == whole["[]"]


def test_a_bad_row_halfway_leaves_no_output_file(tmp_path, capsys, reader,
                                                 small_chunks):
    data, model, _ = _trained(tmp_path, capsys)
    with open(data, newline="") as file:
        rows = list(csv.reader(file))
    rows[700][0] = "x"
    _write_csv(data, rows[1:], rows[0])
    code, _, err = _main(capsys, "predict", model, data, "--output", tmp_path / "p.csv")
    _one_error_line(code, err, "line 701, column 'width': 'x' is not a number")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.csv", "m.fnn"]


def test_float32_end_to_end(tmp_path, capsys, monkeypatch):
    data, model, _ = _trained(tmp_path, capsys, "--dtype", "float32")
    assert read_metadata(model)["dtype"] == "float32"
    assert load_model(model).coef_.dtype == np.float32  # trained in float32
    seen = []
    from fastnn.cli import predict as cli_predict
    original = cli_predict.prediction_chunks

    def spy(*args, **kwargs):
        for X in original(*args, **kwargs):
            seen.append(X.dtype)
            yield X

    monkeypatch.setattr(cli_predict, "prediction_chunks", spy)
    code, out32, err = _main(capsys, "predict", model, data, "--proba")
    assert code == 0, err
    assert set(seen) == {np.dtype(np.float32)}  # read in the model's dtype
    code, out64, _ = _main(capsys, "predict", model, data, "--proba", "--dtype",
                           "float64")
    proba32 = np.array([line.split(",") for line in out32.splitlines()[1:]], float)
    proba64 = np.array([line.split(",") for line in out64.splitlines()[1:]], float)
    np.testing.assert_allclose(proba32, proba64, atol=1e-5)
    big = _write_csv(tmp_path / "big.csv", [["1e39", "1", "x"], ["2", "2", "y"]] * 3,
                     ["a", "b", "label"])
    code, _, err = _main(capsys, "train", big, "--dtype", "float32", "-q")
    _one_error_line(code, err, "line 2, column 'a': '1e39' is beyond the range of "
                    "float32", "leave out --dtype float32")


def test_reading_time_and_reader_are_reported_beside_the_training_time(
        tmp_path, capsys, reader):
    _, _, out = _trained(tmp_path, capsys)
    line = next(line for line in out.splitlines() if line.startswith("trained in"))
    assert "; data read in " in line and line.endswith(f" s ({reader})"), line


def test_the_reading_bar_shows_only_once_reading_lasts(capsys):
    with reading_bar(1000, "B", quiet=False) as advance:
        advance(10)  # quick: no bar
    assert capsys.readouterr().err == ""
    with reading_bar(2048, "B", quiet=False) as advance:
        time.sleep(0.6)
        advance(1024)
    err = capsys.readouterr().err
    assert "reading:  50%" in err and "1.00k/2.00k" in err, err
    with reading_bar(10, "rows", quiet=True) as advance:
        time.sleep(0.6)
        advance(5)
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------ Parquet

def _to_parquet(csv_path, path):
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    table = pa_csv.read_csv(csv_path)
    pq.write_table(table, path, row_group_size=300)
    return path


@needs_pyarrow
def test_parquet_trains_and_predicts_as_its_csv(tmp_path, capsys, small_chunks):
    data, model, out_csv = _trained(tmp_path, capsys)
    table = _to_parquet(data, tmp_path / "a.parquet")
    code, out, err = _main(capsys, "train", table, "--target", "animal", "--model",
                           "logistic", "-q")
    assert code == 0, err

    def results(text):  # the lines that do not name the file or time the run
        return [line for line in text.splitlines()
                if not line.startswith(("fastnn ", "trained in", "saved"))]

    assert results(out) == results(out_csv)
    code, from_csv, _ = _main(capsys, "predict", model, data, "--proba")
    code, from_parquet, err = _main(capsys, "predict", model, table, "--proba")
    assert code == 0, err
    assert from_parquet == from_csv
    noext = tmp_path / "table.bin"  # found by its magic bytes
    noext.write_bytes(table.read_bytes())
    assert _main(capsys, "predict", model, noext)[0] == 0


@needs_pyarrow
def test_parquet_follows_the_column_rules(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    def write(name, columns):
        path = tmp_path / name
        pq.write_table(pa.table(columns), path)
        return path

    cases = [
        (write("null.parquet", {"a": [1.0, None, 3.0, 4.0], "y": list("xyxy")}),
         "row 2, column 'a' is blank (missing values are not supported)"),
        (write("nan.parquet", {"a": [1.0, 2.0, float("nan"), 4.0], "y": list("xyxy")}),
         "row 3, column 'a': nan is not a finite number"),
        (write("text.parquet", {"a": ["1", "2", "3", "4"], "y": list("xyxy")}),
         "column 'a' holds string values (feature columns must be numeric)"),
        (write("label.parquet", {"a": [1, 2, 3, 4], "y": ["x", None, "x", "y"]}),
         "row 2: the target 'y' is blank"),
        (write("empty.parquet", {"a": pa.array([], pa.float64()),
                                 "y": pa.array([], pa.string())}),
         "header but no data rows"),
    ]
    for path, message in cases:
        code, _, err = _main(capsys, "train", path, "-q")
        _one_error_line(code, err, str(path), message)
    code, _, err = _main(capsys, "train", cases[0][0], "--target", "b", "-q")
    _one_error_line(code, err, "no column 'b' for the target; the columns are 'a', 'y'")
    ints = write("ints.parquet", {"a": list(range(40)), "flag": [True, False] * 20,
                                  "y": [10, 2] * 20})
    code, _, err = _main(capsys, "train", ints, "--model", "logistic", "-q",
                           "--save", tmp_path / "m.fnn")
    assert code == 0, err
    assert load_model(tmp_path / "m.fnn").classes_.tolist() == [2, 10]


def test_parquet_without_pyarrow_names_the_extra(tmp_path, capsys, monkeypatch):
    _, model, _ = _trained(tmp_path, capsys)
    path = tmp_path / "data.parquet"
    path.write_bytes(b"PAR1 not really")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow fails
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    for args in (["train", path, "-q"], ["predict", model, path]):
        code, _, err = _main(capsys, *args)
        _one_error_line(code, err, f"{path}: reading Parquet files needs pyarrow, "
                        "which is not installed: pip install 'fastnn-cython[io]'")
