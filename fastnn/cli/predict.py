"""``fastnn predict``: load a model saved by ``fastnn train --save``, read the rows of
a CSV file by the model's feature names, standardize them as in training, and write one
prediction (or one probability per class) per row as CSV, to a file or stdout."""

import csv
import os
import sys

import numpy as np

from fastnn.cli.checks import UserError, check_outputs
from fastnn.cli.csv import read_csv

__all__ = ["predict"]


def predict(args, parser):
    """`fastnn predict`: write the model's predictions (or probabilities) of the
    rows of a CSV file, to --output or stdout; returns 0."""
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
