"""The column rules of a data file, whatever its format (CSV or Parquet): a header of
unique names, numeric feature columns, and a label column of any text. Which columns
are read, and the one error class, :class:`DataError`, that names the file's mistake."""

from collections import namedtuple

import numpy as np

__all__ = ["Chunk", "DataError", "Layout", "check_header", "integer_labels",
           "prediction_layout", "rows_per_chunk", "shown_names", "training_layout"]

DTYPES = ("float64", "float32")
# NOTE: a chunk's float64 values take about this much memory, and the readers' own
# buffers a few times more (NumPy's block of text sits in a StringIO at 4 bytes a
# character): this bounds what reading holds besides X. Larger chunks read no faster
# (8 MiB: the same speed, 0.4 more arrays of memory on 200,000 x 50).
CHUNK_BYTES = 2 << 20


def rows_per_chunk(n_columns):
    """The rows of a chunk of ``n_columns`` columns: CHUNK_BYTES of float64, at
    least 256."""
    return max(256, CHUNK_BYTES // (8 * n_columns))


class DataError(ValueError):
    """A mistake in the user's data file; the message is one line for the user."""


# The columns to read: ``features`` and ``target`` are positions in the header (target
# None: no label column is read; any other column is read only to be checked).
Layout = namedtuple("Layout", "names features feature_names target target_name")

# Some consecutive rows of a file: X (n_rows, n_features) in the chosen dtype, y the
# labels as written (stripped text) or None when no label column is read.
Chunk = namedtuple("Chunk", "X y")


def shown_names(names, limit=8):
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_header(path, header):
    """Refuse a header with an unnamed column or a name given twice."""
    for position, name in enumerate(header, 1):
        if not name:
            raise DataError(f"{path}: column {position} of the header has no name")
    seen = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path}: the header names column {name!r} twice")
        seen.add(name)


def training_layout(path, header, target=None):
    """The label column is ``target`` (default: the last column); every other column
    is a feature."""
    if target is None:
        target = header[-1]
    elif target not in header:
        raise DataError(f"{path}: no column {target!r} for the target; the columns are "
                        f"{shown_names(header)}")
    features = [j for j, name in enumerate(header) if name != target]
    if not features:
        raise DataError(f"{path}: the target {target!r} is the only column; there are "
                        "no feature columns")
    return Layout(header, features, [header[j] for j in features],
                  header.index(target), target)


def prediction_layout(path, header, feature_names, target=None):
    """Exactly ``feature_names``, in that order; a column named ``target`` may be there
    and is ignored; any other column is an error."""
    index = {name: j for j, name in enumerate(header)}
    missing = [name for name in feature_names if name not in index]
    if missing:
        raise DataError(f"{path}: missing feature column(s) {shown_names(missing)}; "
                        "the model was trained on " + shown_names(list(feature_names)))
    extra = [name for name in header if name not in feature_names and name != target]
    if extra:
        raise DataError(f"{path}: column(s) {shown_names(extra)} were not features of "
                        "the model; remove them")
    return Layout(header, [index[name] for name in feature_names], list(feature_names),
                  None, target)


def integer_labels(y):
    """Labels written as integers ("0", "12", "-1") become int64, so they sort as
    numbers; any other text (or "007", which would not read back the same) stays."""
    try:
        numbers = y.astype(np.int64)
    except (ValueError, OverflowError):
        return y
    return numbers if (numbers.astype(str) == y).all() else y
