"""The ``fastnn`` command (also ``python -m fastnn``): train, predict, bench.

    fastnn train [DATA.csv] [--target COLUMN] [--model logistic|ova|mlp] ...
    fastnn predict MODEL DATA.csv [--proba] [--output OUT.csv]
    fastnn bench [--quick]

A user's mistake (a missing or malformed file, a bad option) prints one line,
``fastnn: error: ...``, to stderr and exits with status 1 (2 for a bad command line,
as argparse does); progress goes to stderr, results to stdout.

NOTE: a ValueError nobody caught comes from the user's data reaching NumPy or
scikit-learn in a way no check foresaw: it too is one line (FASTNN_TRACEBACK=1 shows
the traceback). Any other exception is a bug in fastnn and keeps its traceback.
"""

import argparse
import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import fastnn
from fastnn.cli.checks import UserError, check_outputs
from fastnn.cli.csv import DataError, read_csv
from fastnn.cli.train import train as _train

__all__ = ["main"]

_MODELS = ("mlp", "logistic", "ova")
_ACTIVATIONS = ("relu", "tanh", "logistic", "identity", "leaky_relu", "elu", "maxout")


def main(argv=None):
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the
    exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.run(args, parser)
    except (UserError, DataError) as error:
        return _fail(error)
    except ValueError as error:
        if os.environ.get("FASTNN_TRACEBACK"):
            raise
        return _fail(error)
    except MemoryError:
        return _fail("out of memory: the data is too large for this machine")
    except KeyboardInterrupt:
        print("fastnn: interrupted", file=sys.stderr)
        return 130


def _fail(error):
    message = " ".join(str(error).split())  # one line, whatever the message held
    print(f"fastnn: error: {message}", file=sys.stderr)
    return 1


# ------------------------------------------------------------------ arguments

def _parser():
    parser = argparse.ArgumentParser(
        prog="fastnn", description="Train and use fastnn classifiers from CSV files.")
    parser.add_argument("--version", action="version",
                        version=f"fastnn {fastnn.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train a classifier and report its accuracy",
        description="Train a classifier on a CSV file (default: scikit-learn's digits) "
                    "and print train/test accuracy, log-loss and a confusion matrix.")
    train.add_argument("data", nargs="?", metavar="DATA.csv",
                       help="a header row, numeric feature columns and a label column; "
                            "default: the digits data shipped with scikit-learn")
    train.add_argument("--target", metavar="COLUMN",
                       help="the label column (default: the last column)")
    train.add_argument("--model", choices=_MODELS, default="mlp",
                       help="mlp (MLPClassifier, default), logistic "
                            "(LogisticRegression: sigmoid or softmax) or ova (one "
                            "LogisticRegression per class)")
    train.add_argument("--hidden", type=_sizes, metavar="100,50",
                       help="mlp: hidden layer widths (default: 100)")
    train.add_argument("--activation", choices=_ACTIVATIONS,
                       help="mlp: hidden activation (default: relu)")
    train.add_argument("--epochs", type=_positive(int), metavar="N",
                       help="mlp: epochs (default 200, fewer if the loss stops "
                            "improving); logistic/ova: L-BFGS iterations (default 100)")
    train.add_argument("--batch-size", type=_positive(int), metavar="N",
                       help="mlp: mini-batch size (default: min(200, rows))")
    train.add_argument("--learning-rate", type=_positive(float), metavar="X",
                       help="mlp: Adam's learning rate (default: 0.001)")
    train.add_argument("--early-stopping", action="store_true",
                       help="mlp: hold out 10%% of the training rows and stop when "
                            "their accuracy stops improving")
    train.add_argument("--test-size", type=_fraction, default=0.2, metavar="F",
                       help="fraction of rows held out for testing (default 0.2; 0 "
                            "trains on all rows)")
    train.add_argument("--seed", type=int, default=0, metavar="N",
                       help="seed of the split and the weights (default 0)")
    train.add_argument("--no-scale", action="store_true",
                       help="do not standardize the features (by default each is "
                            "centred and scaled on the training rows; the model file "
                            "keeps the mean and scale)")
    train.add_argument("--save", metavar="MODEL",
                       help="write the model here (JSON + npz, no pickle)")
    train.add_argument("--plot", metavar="OUT.png",
                       help="draw the loss curve and the confusion matrix (matplotlib)")
    train.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    train.set_defaults(run=_train)

    predict = commands.add_parser(
        "predict", help="predict with a saved model",
        description="Predict the labels (or class probabilities) of the rows of a CSV "
                    "file with a model saved by `fastnn train --save`.")
    predict.add_argument("model", metavar="MODEL")
    predict.add_argument("data", metavar="DATA.csv",
                         help="the model's feature columns, by name (a target column "
                              "is ignored)")
    predict.add_argument("--proba", action="store_true",
                         help="write one probability column per class")
    predict.add_argument("--output", metavar="OUT.csv", help="default: stdout")
    predict.set_defaults(run=_predict)

    bench = commands.add_parser(
        "bench", help="run the peer benchmark (needs a source checkout)",
        description="Run benchmarks/bench_sequential.py of a source checkout: fastnn "
                    "against PyTorch and scikit-learn.")
    bench.add_argument("--quick", action="store_true", help="fewer epochs and rows")
    bench.set_defaults(run=_bench)
    return parser


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0 or value != value:
            raise argparse.ArgumentTypeError(f"{text!r} is not > 0")
        return value
    parse.__name__ = kind.__name__
    return parse


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not in [0, 1)")
    return value


def _sizes(text):
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not comma-separated widths, e.g. 100,50") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"{text!r}: every width must be >= 1")
    return sizes


# -------------------------------------------------------------------- predict

def _predict(args, parser):
    from fastnn.saving import load_model, read_metadata

    check_outputs([("--output", args.output)],
                  [("input data file", args.data), ("model file", args.model)])
    try:
        estimator = load_model(args.model)
        metadata = read_metadata(args.model)
    except FileNotFoundError:
        raise UserError(f"{args.model}: no such model file") from None
    except IsADirectoryError:
        raise UserError(f"{args.model}: is a folder, not a model file") from None
    except ValueError:
        raise UserError(f"{args.model} is not a fastnn model file (or it is damaged)"
                        ) from None
    if not hasattr(estimator, "predict_proba"):
        raise UserError(f"{args.model} holds a {type(estimator).__name__}; predict "
                        "takes a classifier saved by `fastnn train --save`")
    features, target, scaler = _model_columns(args.model, estimator, metadata)
    if features is None:
        features = _header(args.data)
        if len(features) != estimator.n_features_in_:
            raise UserError(f"{args.data} has {len(features)} columns; the model takes "
                            f"{estimator.n_features_in_} features")
    X, _, _, _ = read_csv(args.data, target=target, features=features)
    if scaler is not None:
        X = (X - scaler[0]) / scaler[1]  # as StandardScaler.transform
    classes = estimator.classes_
    if args.proba:
        header = [f"proba_{label}" for label in classes]
        rows = ([repr(float(p)) for p in row] for row in estimator.predict_proba(X))
    else:
        header = ["prediction"]
        rows = ([str(label)] for label in estimator.predict(X))
    if args.output:
        try:
            with open(args.output, "w", newline="", encoding="utf-8") as file:
                _write_csv(file, header, rows)
        except OSError as error:
            raise UserError(f"--output {args.output}: {error.strerror or error}"
                            ) from None
        what = "probabilities" if args.proba else "predictions"
        print(f"wrote {len(X)} rows of {what} to {os.path.realpath(args.output)}",
              file=sys.stderr)
    else:
        try:
            _write_csv(sys.stdout, header, rows)
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. `fastnn predict ... | head`
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
    return 0


def _write_csv(file, header, rows):
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def _model_columns(path, estimator, metadata):
    """(feature names or None, target name or None, (mean, scale) or None)."""
    features = metadata.get("feature_names")
    if features is None and hasattr(estimator, "feature_names_in_"):
        features = [str(name) for name in estimator.feature_names_in_]
    target = metadata.get("target")
    scaler = metadata.get("scaler")
    n_features = estimator.n_features_in_
    ok = features is None or (
        isinstance(features, list) and len(features) == n_features
        and all(isinstance(name, str) for name in features))
    ok = ok and (target is None or isinstance(target, str))
    if scaler is not None:
        try:
            scaler = (np.array(scaler["mean"], dtype=np.float64),
                      np.array(scaler["scale"], dtype=np.float64))
        except (TypeError, KeyError, ValueError):
            ok = False
        else:
            ok = ok and all(part.shape == (n_features,) and np.isfinite(part).all()
                            for part in scaler) and (scaler[1] > 0).all()
    if not ok:
        raise UserError(f"{path}: its metadata (feature names, target, scaler) is "
                        "damaged")
    return features, target, scaler


def _header(path):
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            header = next(csv.reader(file), None)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise UserError(f"{path}: {error}") from None
    if not header:
        raise UserError(f"{path}: the file is empty")
    return [name.strip() for name in header]


# ---------------------------------------------------------------------- bench

def _bench(args, parser):
    script = _find_benchmark()
    if script is None:
        raise UserError("bench runs benchmarks/bench_sequential.py of a source "
                        "checkout, and none was found: run it from the checkout "
                        "(git clone the fastnn repository)")
    command = [sys.executable, str(script)] + (["--quick"] if args.quick else [])
    env = dict(os.environ)
    # NOTE: the benchmark imports fastnn; it must find this very package.
    package_root = str(Path(fastnn.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(
        [package_root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["PYTHONUNBUFFERED"] = "1"  # its lines stream through, even into a pipe
    print(f"running {' '.join(command[1:])}", file=sys.stderr, flush=True)
    return subprocess.run(command, env=env, cwd=script.parent.parent).returncode


def _benchmark_folders():
    here = Path.cwd()
    return [here / "benchmarks", here, Path(fastnn.__file__).resolve().parent.parent
            / "benchmarks"]


def _find_benchmark():
    for folder in _benchmark_folders():
        script = folder / "bench_sequential.py"
        if script.is_file():
            return script
    return None
