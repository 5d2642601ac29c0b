"""fastnn train --plot (a PNG, one curve per one-vs-all classifier, a legend, the hint
when matplotlib is missing) and fastnn bench (the checkout's script, in plain words).
"""

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastnn
from fastnn.cli import bench as cli_bench

from _cli_helpers import LABELS, ROOT, _animals, _main, _one_error_line


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
    from sklearn.datasets import load_iris

    from fastnn.cli.progress import IterationProgress

    X, y = load_iris(return_X_y=True)
    progress = IterationProgress("ova", 100, quiet=True, names=["'a'", "'b'", "'c'"])
    ova = fastnn.OneVsAllClassifier(fastnn.LogisticRegression(max_iter=100))
    ova.set_callbacks(progress).fit(X, y)
    # one curve per binary classifier, a value per L-BFGS iteration, never rising
    assert [len(curve) for curve in progress.curves] == [
        int(binary.n_iter_[0]) for binary in ova.estimators_]
    for curve in progress.curves:
        assert all(later <= earlier for earlier, later in zip(curve, curve[1:]))


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


def _bench_sequential():
    """The checkout's benchmarks/bench_sequential.py as a module (skips without it)."""
    folder = Path(__file__).resolve().parents[2] / "benchmarks"
    if not (folder / "bench_sequential.py").is_file():
        pytest.skip("the benchmarks are in the source checkout only")
    sys.path.insert(0, str(folder))
    try:
        import bench_sequential
    finally:
        sys.path.remove(str(folder))
    return bench_sequential


def _verdicts(bench, results):
    """What ``bench.verdicts(results)`` prints."""
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        bench.verdicts(results)
    return printed.getvalue()


def test_bench_prints_plain_words():
    bench = _bench_sequential()
    times = dict(times=[0.02] * 4, busy=0.0, test_acc=0.97)
    results = {"a": {"fastnn": dict(times, times=[0.005] * 4),
                     "torch": dict(times, busy=0.5),
                     "sklearn": dict(times, times=[0.06] * 4)}}
    text = _verdicts(bench, results)
    assert "PyTorch took 4.00 times as long as fastnn per epoch (goal: 20 times); not " \
           "judged: the machine was busy" in text
    assert "so the timings are not reliable" in text
    assert "scikit-learn took 12.00 times as long as fastnn per epoch (goal: 10 " \
           "times): goal met" in text
    for jargon in ("TARGETS", "BUSY", "spec target", "aim"):
        assert jargon not in text


def test_bench_withholds_its_verdict_when_the_vcpus_run_far_apart():
    bench = _bench_sequential()
    run = dict(busy=0.0, test_acc=0.95)
    by = {"fastnn": dict(run, times=[0.65] * 4),  # slow on two BLAS threads
          "sklearn": dict(run, times=[0.8] * 4), "floor": dict(run, times=[0.36] * 4),
          "torch": dict(error="--no-torch")}
    for one_thread, judged in ((0.55, False), (0.65 * 1.3, True)):
        by["fastnn_1blas"] = dict(run, times=[one_thread] * 4)
        text = _verdicts(bench, {"b": by})
        far = "not judged: BLAS's second thread made fastnn only"
        assert (far not in text) == judged, text
        assert ("far apart)" not in text) == judged, text
