"""What `fastnn train` and `fastnn predict` spend reading data (issue 19), against the
readers a user would call, same file, same run.

    cd <repo> && PYTHONPATH=. python benchmarks/bench_read.py [--quick] [--only CASE]
        [--repeats N] [--rows N] [--features N] [--predict-gb X] [--keep]

Three cases, one table each, ratios first:
  readers  a 200,000 x 50 float CSV (6 decimals, an integer label column: 95 MB) read
           into a float64 array by each reader alone: numpy.loadtxt (the reference),
           fastnn's NumPy reader and pandas reader (FASTNN_CSV_READER), pandas.read_csv
           and pyarrow.csv.read_csv whole (then to one array), pyarrow's streaming
           reader in 2 MiB blocks into one array (as fastnn's). Time / loadtxt's, and
           the memory reading took beyond the process's after its imports, in units
           of the array's size (n x d x 8 bytes).
  train    `fastnn train FILE --model logistic -q` (in-process cli.main, imports done)
           with each reader against numpy.loadtxt of the file + the fit alone (the
           same LogisticRegression fit on the same standardized training rows), and
           with --dtype float32 (memory still in float64 arrays).
           Target: <= 1.5x; the memory beyond the imports <= 3x the array. Also the
           whole processes' wall times, imports included, both sides.
  predict  `fastnn predict MODEL BIG.csv --output OUT` on a CSV of --predict-gb GB
           (default 2: the 95 MB file's rows repeated), with each reader: the
           process's peak RSS (target < 500 MB) and rows per second.
Each contender runs in its own child process, one after the other (the medians of
--repeats children for readers and train, one child each for predict); peak memory is
the child's VmHWM. The data is written once to a temporary folder (deleted unless
--keep). The header says how many CPUs other processes took during the run: above
BUSY the timings measure the contention, not the readers.
"""

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _machine import foreign_cpu_seconds
from _machine import peak_rss_mb as _peak_mb

SEED, BUSY, TRAIN_TARGET, MEMORY_TARGET, PREDICT_MB = 0, 0.25, 1.5, 3.0, 500
READERS = ("numpy.loadtxt", "fastnn numpy", "fastnn pandas", "pandas.read_csv",
           "pyarrow.csv", "pyarrow chunks")
TRAINS = ("loadtxt + fit", "fastnn train (numpy)", "fastnn train (pandas)",
          "fastnn train (pandas) f32")
PREDICTS = ("fastnn predict (numpy)", "fastnn predict (pandas)")


# ------------------------------------------------------------------ the children

def _read(who, path, n_features):
    """(X, y) of the CSV by ``who``."""
    if who == "numpy.loadtxt":
        data = np.loadtxt(path, delimiter=",", skiprows=1)
        return data[:, :n_features], data[:, n_features]
    if who.startswith("fastnn"):
        from fastnn.cli.data import read_training_data
        data = read_training_data(path, quiet=True)
        return data.X, data.y
    if who == "pandas.read_csv":
        import pandas as pd
        frame = pd.read_csv(path)
        return frame.iloc[:, :n_features].to_numpy(), frame.iloc[:, -1].to_numpy()
    import pyarrow.csv as pa_csv
    if who == "pyarrow chunks":  # as fastnn's readers: 2 MiB blocks into one array
        with open(path, "rb") as file:
            n_rows = sum(block.count(b"\n") for block in iter(lambda: file.read(2**20),
                                                               b""))
        X, start = np.empty((n_rows, n_features)), 0
        options = pa_csv.ReadOptions(block_size=2 << 20)
        for batch in pa_csv.open_csv(path, read_options=options):
            for j in range(n_features):
                X[start:start + batch.num_rows, j] = batch.column(j).to_numpy()
            start += batch.num_rows
        return X[:start], None
    table = pa_csv.read_csv(path)
    X = np.empty((table.num_rows, n_features))
    for j in range(n_features):
        X[:, j] = table.column(j).to_numpy()
    return X, table.column(n_features).to_numpy()


def child(args):
    """One contender in this process: prints a JSON line of its figures."""
    # every import before the memory after imports is taken
    import sklearn.linear_model
    import sklearn.metrics
    import sklearn.model_selection
    import sklearn.preprocessing  # noqa: F401

    import fastnn.cli.data  # noqa: F401
    from fastnn import cli

    who, path = args.child, args.file
    if "pandas" in who:
        import pandas  # noqa: F401
        os.environ["FASTNN_CSV_READER"] = "pandas"
    elif "numpy" in who:
        os.environ["FASTNN_CSV_READER"] = "numpy"
    if who.startswith("pyarrow"):
        import pyarrow.csv  # noqa: F401
    imported = _peak_mb()
    start, foreign = time.perf_counter(), foreign_cpu_seconds()
    result = {}
    if who in READERS:
        X, _ = _read(who, path, args.features)
        result["seconds"] = time.perf_counter() - start
        result["array_mb"] = X.nbytes / 2**20
    elif who == "loadtxt + fit":
        X, y = _read("numpy.loadtxt", path, args.features)
        result["read"] = time.perf_counter() - start
        result["array_mb"] = X.nbytes / 2**20
        result["fit"] = _fit_alone(X, y)
        result["seconds"] = result["read"] + result["fit"]
    else:
        command = (["train", path, "--model", "logistic", "-q"] if "train" in who
                   else ["predict", args.model, path, "--output", args.output])
        if who.endswith("f32"):
            command += ["--dtype", "float32"]
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = cli.main(command)
        result["seconds"] = time.perf_counter() - start
        if code:
            result["error"] = f"exit status {code}"
        text = out.getvalue()
        if "data read in" in text:
            result["read"] = float(text.split("data read in ")[1].split()[0])
            result["fit"] = float(text.split("trained in ")[1].split()[0])
            result["accuracy"] = float(text.split("\ntest ")[1].split()[0])
    elapsed = time.perf_counter() - start
    result.update(imported_mb=imported, peak_mb=_peak_mb(),
                  busy=max(0.0, (foreign_cpu_seconds() - foreign) / elapsed))
    print(json.dumps(result))


def _fit_alone(X, y):
    """Seconds of the fit `fastnn train --model logistic` runs, on the same rows."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    import fastnn

    X_train, _, y_train, _ = train_test_split(X, y.astype(np.int64), test_size=0.2,
                                              random_state=0, stratify=y)
    X_train = StandardScaler().fit_transform(X_train)
    estimator = fastnn.LogisticRegression(max_iter=100)
    start = time.perf_counter()
    estimator.fit(X_train, y_train)
    return time.perf_counter() - start


# ------------------------------------------------------------------ the parent

def make_csv(path, n_rows, n_features):
    rng = np.random.default_rng(SEED)
    with open(path, "w") as file:
        file.write(",".join([f"f{j}" for j in range(n_features)] + ["label"]) + "\n")
        for start in range(0, n_rows, 50_000):
            X = rng.normal(size=(min(50_000, n_rows - start), n_features))
            y = (X[:, :5].sum(axis=1) > 0).astype(int) + (X[:, 5] > 1)
            np.savetxt(file, np.column_stack([X, y]), delimiter=",",
                       fmt=["%.6f"] * n_features + ["%d"])


def make_big_csv(path, source, gigabytes):
    """``source``'s rows repeated up to ``gigabytes``; returns the row count."""
    header, body = Path(source).read_bytes().split(b"\n", 1)
    copies = max(1, round(gigabytes * 2**30 / len(body)))
    with open(path, "wb") as file:
        file.write(header + b"\n")
        file.writelines(body for _ in range(copies))
    return copies * body.count(b"\n")


def run_child(args, who, path, **extra):
    command = [sys.executable, __file__, "--child", who, "--file", str(path),
               "--features", str(args.features)]
    for key, value in extra.items():
        command += [f"--{key}", str(value)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        result = {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    result["process"] = wall
    return result


def _median(runs, key):
    values = [run[key] for run in runs if key in run]
    return statistics.median(values) if values else float("nan")


def _span(runs, key):
    values = [run[key] for run in runs if key in run]
    if not values:
        return "n/a"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def readers_table(runs, n_rows, n_features):
    reference = _median(runs["numpy.loadtxt"], "seconds")
    print(f"\nreaders: {n_rows} x {n_features} CSV to a float64 array; seconds median "
          "(min-max); memory: peak minus after-imports, in arrays")
    print(f"{'reader':<18}{'time/loadtxt':>13}{'seconds':>20}{'memory':>8}"
          f"{'peak MB':>9}{'busy':>6}")
    for who, by_run in runs.items():
        if "error" in by_run[-1]:
            print(f"{who:<18}  {by_run[-1]['error']}")
            continue
        array = _median(by_run, "array_mb")
        memory = (_median(by_run, "peak_mb") - _median(by_run, "imported_mb")) / array
        print(f"{who:<18}{_median(by_run, 'seconds') / reference:>13.2f}"
              f"{_span(by_run, 'seconds'):>20}{memory:>8.2f}"
              f"{_median(by_run, 'peak_mb'):>9.0f}"
              f"{max(run['busy'] for run in by_run):>6.2f}")


def train_table(runs, n_rows, n_features):
    base = runs["loadtxt + fit"]
    reference = _median(base, "seconds")
    array = _median(base, "array_mb")
    print(f"\ntrain: {n_rows} x {n_features} CSV, LogisticRegression (L-BFGS); "
          "in-process seconds, imports done, median (min-max); memory: peak minus "
          f"after-imports, in arrays of {array:.0f} MB; process: the whole child's "
          "wall, imports included")
    print(f"{'contender':<27}{'time/reference':>15}{'seconds':>20}{'read':>7}"
          f"{'fit':>7}{'memory':>8}{'peak MB':>9}{'process':>9}{'busy':>6}")
    for who, by_run in runs.items():
        if "error" in by_run[-1]:
            print(f"{who:<27}  {by_run[-1]['error']}")
            continue
        ratio = _median(by_run, "seconds") / reference
        memory = (_median(by_run, "peak_mb") - _median(by_run, "imported_mb")) / array
        print(f"{who:<27}{ratio:>15.2f}{_span(by_run, 'seconds'):>20}"
              f"{_median(by_run, 'read'):>7.2f}{_median(by_run, 'fit'):>7.2f}"
              f"{memory:>8.2f}{_median(by_run, 'peak_mb'):>9.0f}"
              f"{_median(by_run, 'process'):>9.2f}"
              f"{max(run['busy'] for run in by_run):>6.2f}")
        if who != "loadtxt + fit":
            verdict = "PASS" if ratio <= TRAIN_TARGET else "MISS"
            if verdict == "MISS" and max(run["busy"] for run in by_run) > BUSY:
                verdict = "BUSY"
            print(f"{'':<27}time target <= {TRAIN_TARGET}x: {verdict}; memory "
                  f"target <= {MEMORY_TARGET:g} arrays: "
                  f"{'PASS' if memory <= MEMORY_TARGET else 'MISS'}")


def predict_table(runs, size_gb, n_rows):
    print(f"\npredict: a {size_gb:.2f} GB CSV of {n_rows} rows, --output to a file; "
          "one child each")
    print(f"{'contender':<26}{'peak MB':>9}{'target':>8}{'rows/s':>11}{'seconds':>9}"
          f"{'busy':>6}")
    for who, (run,) in runs.items():
        if "error" in run:
            print(f"{who:<26}  {run['error']}")
            continue
        verdict = "PASS" if run["peak_mb"] < PREDICT_MB else "MISS"
        print(f"{who:<26}{run['peak_mb']:>9.0f}{verdict:>8}"
              f"{n_rows / run['seconds']:>11.0f}{run['seconds']:>9.1f}"
              f"{run['busy']:>6.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="20,000 rows, 0.2 GB to predict, 2 repeats")
    parser.add_argument("--only", choices=("readers", "train", "predict"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--predict-gb", type=float, default=2.0)
    parser.add_argument("--keep", action="store_true", help="keep the data files")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    if args.quick:
        args.rows, args.predict_gb, args.repeats = 20_000, 0.2, 2
    cases = [args.only] if args.only else ["readers", "train", "predict"]
    folder = Path(tempfile.mkdtemp(prefix="bench_read_"))
    load = os.getloadavg()[0]
    start, foreign = time.perf_counter(), foreign_cpu_seconds()
    try:
        data = folder / "data.csv"
        make_csv(data, args.rows, args.features)
        tables = []
        if "readers" in cases:
            runs = {who: [] for who in READERS}
            for _ in range(args.repeats):  # the contenders alternate
                for who in READERS:
                    runs[who].append(run_child(args, who, data))
            tables.append(lambda: readers_table(runs, args.rows, args.features))
        if "train" in cases:
            trains = {who: [] for who in TRAINS}
            for _ in range(args.repeats):
                for who in TRAINS:
                    trains[who].append(run_child(args, who, data))
            tables.append(lambda: train_table(trains, args.rows, args.features))
        if "predict" in cases:
            model = folder / "model.fnn"
            from fastnn import cli
            with contextlib.redirect_stdout(io.StringIO()):
                cli.main(["train", str(data), "--model", "logistic", "-q", "--save",
                          str(model)])
            big = folder / "big.csv"
            n_rows = make_big_csv(big, data, args.predict_gb)
            size_gb = big.stat().st_size / 2**30
            predicts = {who: [run_child(args, who, big, model=model,
                                        output=folder / "out.csv")]
                        for who in PREDICTS}
            tables.append(lambda: predict_table(predicts, size_gb, n_rows))
    finally:
        if args.keep:
            print(f"data kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    other_cpus = (foreign_cpu_seconds() - foreign) / (time.perf_counter() - start)
    _header(load, other_cpus)
    for table in tables:
        table()


def _header(load, other_cpus):
    import fastnn
    cpuinfo = Path("/proc/cpuinfo")
    cpu = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
           if line.startswith("model name")] if cpuinfo.exists() else []
    versions = [f"fastnn {fastnn.__version__}", f"numpy {np.__version__}"]
    for name in ("pandas", "pyarrow"):
        try:
            versions.append(f"{name} {__import__(name).__version__}")
        except ImportError:
            versions.append(f"{name} absent")
    print("fastnn's data readers (issue 19); each contender in its own child process")
    print(f"machine: {cpu[0] if cpu else platform.processor()}, {os.cpu_count()} "
          f"logical CPUs; load average at start {load:.2f}; other processes used "
          f"{other_cpus:.2f} CPUs during the run; {', '.join(versions)}; Python "
          f"{platform.python_version()}")
    if other_cpus > BUSY:
        print("WARNING: the machine was busy; these figures measure the contention.")


if __name__ == "__main__":
    main()
