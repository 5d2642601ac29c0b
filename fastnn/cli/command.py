"""The ``fastnn`` command (also ``python -m fastnn``): train, predict, bench.

    fastnn train [DATA.csv|DATA.parquet] [--target COLUMN] [--model logistic|ova|mlp]
                 [--dtype float64|float32] ...
    fastnn predict MODEL DATA.csv|DATA.parquet [--proba] [--output OUT.csv] [--dtype]
    fastnn bench [--quick]

A user's mistake (a missing or malformed file, a bad option) prints one line,
``fastnn: error: ...``, to stderr and exits with status 1 (2 for a bad command line,
as argparse does); progress goes to stderr, results to stdout.

NOTE: a ValueError nobody caught comes from the user's data reaching NumPy or
scikit-learn in a way no check foresaw: it too is one line (FASTNN_TRACEBACK=1 shows
the traceback). Any other exception is a bug in fastnn and keeps its traceback.
"""

import argparse
import os
import sys

import fastnn
from fastnn.cli.bench import bench as _bench
from fastnn.cli.checks import UserError
from fastnn.cli.columns import DTYPES, DataError
from fastnn.cli.predict import predict as _predict
from fastnn.cli.train import train as _train
from fastnn.estimators._mlp_network import HIDDEN_ACTIVATIONS

__all__ = ["main"]

_MODELS = ("mlp", "logistic", "ova")
_ACTIVATIONS = HIDDEN_ACTIVATIONS  # MLPClassifier's, in --help's order


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
        prog="fastnn",
        description="Train and use fastnn classifiers from CSV (or Parquet) files.")
    parser.add_argument("--version", action="version",
                        version=f"fastnn {fastnn.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train a classifier and report its accuracy",
        description="Train a classifier on a CSV or Parquet file (default: "
                    "scikit-learn's digits) and print train/test accuracy, log-loss "
                    "and a confusion matrix.")
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
    train.add_argument("--dtype", choices=DTYPES, default="float64",
                       help="the precision the data is read and trained in (default "
                            "float64; float32 halves the memory)")
    train.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    train.set_defaults(run=_train)

    predict = commands.add_parser(
        "predict", help="predict with a saved model",
        description="Predict the labels (or class probabilities) of the rows of a CSV "
                    "or Parquet file with a model saved by `fastnn train --save`, a "
                    "chunk of rows at a time.")
    predict.add_argument("model", metavar="MODEL")
    predict.add_argument("data", metavar="DATA.csv",
                         help="the model's feature columns, by name (a target column "
                              "is ignored)")
    predict.add_argument("--proba", action="store_true",
                         help="write one probability column per class")
    predict.add_argument("--output", metavar="OUT.csv", help="default: stdout")
    predict.add_argument("--dtype", choices=DTYPES,
                         help="the precision the data is read in (default: the one "
                              "the model was trained in)")
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
