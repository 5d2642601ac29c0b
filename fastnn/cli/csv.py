"""Read the command line's CSV files with the ``csv`` module and NumPy: a header row,
numeric feature columns, a label column of any text. Every mistake in a file is a
:class:`DataError` whose message names the file, the column and the line."""

import csv

import numpy as np

__all__ = ["DataError", "read_csv"]


class DataError(ValueError):
    """A mistake in the user's data file; the message is one line for the user."""


def read_csv(path, target=None, features=None):
    """``(X, y, feature_names, target_name)`` from the CSV file at ``path``.

    With ``features=None`` (training) the label column is ``target`` (default: the
    last column) and every other column is a feature. With ``features`` (a list of
    names: predicting) ``X`` holds exactly those columns in that order, ``target``
    may be present and is then ignored (``y`` is None), and any other column is an
    error. ``X`` is float64; ``y`` holds the label strings as written.
    """
    header, rows, lines = _read_rows(path)
    index = {name: i for i, name in enumerate(header)}
    if features is None:
        if target is None:
            target = header[-1]
        elif target not in index:
            raise DataError(f"{path}: no column {target!r} for the target; the columns "
                            f"are {_names(header)}")
        feature_names = [name for name in header if name != target]
        if not feature_names:
            raise DataError(f"{path}: the target {target!r} is the only column; there "
                            "are no feature columns")
    else:
        feature_names = list(features)
        missing = [name for name in feature_names if name not in index]
        if missing:
            raise DataError(f"{path}: missing feature column(s) {_names(missing)}; the "
                            "model was trained on " + _names(feature_names))
        extra = [name for name in header
                 if name not in feature_names and name != target]
        if extra:
            raise DataError(f"{path}: column(s) {_names(extra)} were not features of "
                            "the model; remove them")
    X = _numbers(path, rows, lines, [index[name] for name in feature_names],
                 feature_names)
    y = None
    if features is None:
        column = index[target]
        y = np.array([row[column].strip() for row in rows])
        blank = np.flatnonzero(y == "")
        if blank.size:
            raise DataError(f"{path}: line {lines[blank[0]]}: the target {target!r} is "
                            "blank")
        y = _integer_labels(y)
    return X, y, feature_names, target


def _integer_labels(y):
    """Labels written as integers ("0", "12", "-1") become int64, so they sort as
    numbers; any other text (or "007", which would not read back the same) stays."""
    try:
        numbers = y.astype(np.int64)
    except (ValueError, OverflowError):
        return y
    return numbers if (numbers.astype(str) == y).all() else y


def _names(names, limit=8):
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _read_rows(path):
    """(header, rows, line number of each row); blank lines are skipped."""
    try:
        file = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as error:
        raise DataError(f"{path}: {error.strerror or error}") from None
    reader = csv.reader(file)
    rows, lines = [], []
    try:
        with file:
            header = next(reader, None)
            while header is not None and not any(cell.strip() for cell in header):
                header = next(reader, None)  # blank lines before the header
            if header is None:
                raise DataError(f"{path}: the file is empty (a CSV file starts with a "
                                "header row of column names)")
            header = [name.strip() for name in header]
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line
                if len(row) != len(header):
                    raise DataError(f"{path}: line {reader.line_num} has {len(row)} "
                                    f"fields, the header has {len(header)}")
                rows.append(row)
                lines.append(reader.line_num)
    except csv.Error as error:
        raise DataError(f"{path}: line {reader.line_num}: {error}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: the file is not UTF-8 text") from None
    for position, name in enumerate(header, 1):
        if not name:
            raise DataError(f"{path}: column {position} of the header has no name")
    seen = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path}: the header names column {name!r} twice")
        seen.add(name)
    if not rows:
        raise DataError(f"{path}: the file has a header but no data rows")
    return header, rows, lines


def _numbers(path, rows, lines, columns, names):
    """The float64 matrix of ``columns``; a DataError names the first bad cell."""
    cells = [[row[j] for j in columns] for row in rows]
    try:
        X = np.array(cells, dtype=np.float64).reshape(len(rows), len(columns))
    except ValueError:
        X = None  # find the cell that is not a number
    if X is not None and np.isfinite(X).all():
        return X
    for i, row in enumerate(cells):
        for j, value in enumerate(row):
            where = f"{path}: line {lines[i]}, column {names[j]!r}"
            if not value.strip():
                raise DataError(f"{where} is blank (missing values are not supported)")
            try:
                number = float(value)
            except ValueError:
                raise DataError(f"{where}: {value!r} is not a number (feature columns "
                                "must be numeric)") from None
            if not np.isfinite(number):
                raise DataError(f"{where}: {value!r} is not a finite number")
    raise DataError(f"{path}: the feature columns are not all numbers")  # not reached
