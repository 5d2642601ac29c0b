"""The data files of `fastnn train` and `fastnn predict`, CSV or Parquet, read in
chunks: training gathers the chunks into one preallocated array (memory: the array and
one chunk); prediction takes them one at a time (memory: one chunk)."""

import time
from collections import namedtuple

import numpy as np

from fastnn.cli.columns import (
    DataError,
    integer_labels,
    prediction_layout,
    training_layout,
)
from fastnn.cli.csv import CsvFile
from fastnn.cli.parquet import MAGIC, ParquetFile
from fastnn.cli.progress import reading_bar

__all__ = ["TrainingData", "open_data", "prediction_chunks", "read_training_data"]

# X (n_samples, n_features) in the dtype asked for, y the labels (int64 when all are
# written as integers, else text), the seconds reading took and the reader that read.
TrainingData = namedtuple("TrainingData", "X y feature_names target seconds reader")


def open_data(path):
    """A :class:`~fastnn.cli.parquet.ParquetFile` (by its magic bytes or a .parquet
    name) or a :class:`~fastnn.cli.csv.CsvFile`, its header read and checked."""
    try:
        with open(path, "rb") as file:
            magic = file.read(len(MAGIC))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as error:  # e.g. a folder
        raise DataError(f"{path}: {error.strerror or error}") from None
    if magic == MAGIC or str(path).lower().endswith(".parquet"):
        return ParquetFile(path)
    return CsvFile(path)


def read_training_data(path, target=None, dtype="float64", quiet=False):
    """:class:`TrainingData` of the file at ``path``: ``target`` is the label column
    (default: the last), every other column a feature; a progress bar on stderr while
    reading lasts (none when ``quiet``)."""
    started = time.perf_counter()
    source = open_data(path)
    layout = training_layout(source.path, source.header, target)
    X = np.empty((_rows_at_most(source), len(layout.features)), dtype)
    labels, n_rows = [], 0
    with reading_bar(source.size, source.unit, quiet) as advance:
        for chunk in source.chunks(layout, dtype, advance):
            end = n_rows + len(chunk.X)
            if end > len(X):  # more rows than lines counted ("\r" line ends)
                X = np.concatenate([X[:n_rows], np.empty((end, X.shape[1]), dtype)])
            X[n_rows:end] = chunk.X
            labels.append(chunk.y)
            n_rows = end
    if not n_rows:
        raise DataError(f"{source.path}: the file has a header but no data rows")
    y = integer_labels(np.concatenate(labels))
    return TrainingData(X[:n_rows], y, layout.feature_names, layout.target_name,
                        time.perf_counter() - started, source.reader)


def _rows_at_most(source):
    """The rows to allocate: Parquet says; a CSV file has at most its lines' count
    (counted in binary, at the disk's speed)."""
    if isinstance(source, ParquetFile):
        return source.size
    lines = 1
    with open(source.path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            lines += block.count(b"\n")
    return lines


def prediction_chunks(source, feature_names, target=None, dtype="float64",
                      advance=lambda n: None):
    """The ``feature_names`` columns of ``source`` (from :func:`open_data`), in that
    order, as chunks (X only), for a model; a column named ``target`` is ignored, any
    other is an error."""
    layout = prediction_layout(source.path, source.header, feature_names, target)
    n_rows = 0
    for chunk in source.chunks(layout, dtype, advance):
        n_rows += len(chunk.X)
        yield chunk.X
    if not n_rows:
        raise DataError(f"{source.path}: the file has a header but no data rows")
