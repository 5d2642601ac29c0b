"""``fastnn predict``: load a model saved by ``fastnn train --save``, read the rows of
a CSV or Parquet file by the model's feature names, standardize them as in training,
and write one prediction (or one probability per class) per row as CSV, to a file or
stdout. The file is read, predicted and written a chunk at a time, so memory is bounded
by a chunk, not by the file."""

import csv
import os
import sys

import numpy as np
from sklearn.base import ClassifierMixin

from fastnn.cli.checks import UserError, check_outputs, scale_rows
from fastnn.cli.columns import DTYPES
from fastnn.cli.data import open_data, prediction_chunks
from fastnn.cli.progress import reading_bar

__all__ = ["predict"]


def predict(args, parser):
    """`fastnn predict`: write the model's predictions (or probabilities) of the
    rows of a data file, to --output or stdout; returns 0."""
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
    if not isinstance(estimator, ClassifierMixin):  # not a Sequential
        raise UserError(f"{args.model} holds a {type(estimator).__name__}; predict "
                        "takes a classifier saved by `fastnn train --save`")
    features, target, scaler, dtype = _model_columns(args.model, estimator, metadata)
    source = open_data(args.data)
    if features is None:
        features = source.header
        if len(features) != estimator.n_features_in_:
            raise UserError(f"{args.data} has {len(features)} columns; the model takes "
                            f"{estimator.n_features_in_} features")
    classes = estimator.classes_
    header = ([f"proba_{label}" for label in classes] if args.proba
              else ["prediction"])

    def rows(X):
        if scaler is not None:
            scale_rows(X, *scaler)  # as in training
        if args.proba:
            proba = estimator.predict_proba(X).tolist()
            return ([repr(p) for p in row] for row in proba)
        return ([str(label)] for label in estimator.predict(X))

    with reading_bar(source.size, source.unit, quiet=False,
                     desc="predicting") as advance:
        chunks = prediction_chunks(source, features, target, args.dtype or dtype,
                                   advance)
        if args.output:
            n_rows = _write_file(args.output, header, chunks, rows)
        else:
            try:
                _write_csv(sys.stdout, header, chunks, rows)
                sys.stdout.flush()
            except BrokenPipeError:  # e.g. `fastnn predict ... | head`
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            return 0
    what = "probabilities" if args.proba else "predictions"
    print(f"wrote {n_rows} rows of {what} to {os.path.realpath(args.output)}",
          file=sys.stderr)
    return 0


def _write_csv(file, header, chunks, rows):
    """Write the header, then each chunk's rows as it comes; returns the rows written
    (the header waits for the first chunk: a file without rows writes nothing)."""
    writer = csv.writer(file, lineterminator="\n")
    n_rows = 0
    for X in chunks:
        if not n_rows:
            writer.writerow(header)
        writer.writerows(rows(X))
        n_rows += len(X)
    return n_rows


def _write_file(path, header, chunks, rows):
    """Write to a file beside ``path``, renamed to ``path`` when all rows are written:
    a mistake found in the data halfway leaves no half-written output."""
    folder, name = os.path.split(os.path.abspath(path))
    partial = os.path.join(folder, f".{name}.partial")
    try:
        try:
            with open(partial, "w", newline="", encoding="utf-8") as file:
                n_rows = _write_csv(file, header, chunks, rows)
            os.replace(partial, path)
        except OSError as error:
            raise UserError(f"--output {path}: {error.strerror or error}") from None
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise
    return n_rows


def _model_columns(path, estimator, metadata):
    """(feature names or None, target name or None, (mean, scale) or None, the dtype
    the model was trained in)."""
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
    dtype = metadata.get("dtype", "float64")  # models saved before --dtype: float64
    ok = ok and dtype in DTYPES
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
    return features, target, scaler, dtype
