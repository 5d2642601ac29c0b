"""Read the command line's CSV files in chunks: a header row, numeric feature columns,
a label column of any text (:mod:`~fastnn.cli.columns` has the rules).

Three readers, one set of rules. Two parse in C and read valid files fast: pandas'
parser when pandas is installed, else NumPy's ``loadtxt`` on blocks of the file
(pandas' is 3-4x faster on 200,000 x 50, benchmarks/bench_read.py; pyarrow's
multi-threaded reader was slower than pandas' on 2 cores and is not used for CSV).
At the first thing they refuse, or let through against the rules (NaN, a blank label),
the file is read again from its start by the exact reader, the ``csv`` module row by
row: it names the line and column of the first mistake, or reads on where a C parser
was only stricter than the rules (a quoted line break across blocks, "1_000").
``FASTNN_CSV_READER=numpy|pandas|python`` picks one.
"""

import csv
import io
import os
import warnings

import numpy as np

from fastnn.cli.columns import Chunk, DataError, check_header, rows_per_chunk

__all__ = ["CsvFile", "csv_reader"]

READERS = ("pandas", "numpy", "python")


class _Refused(Exception):
    """A C parser met something it does not read; the exact reader takes over."""


def csv_reader():
    """The reader used: FASTNN_CSV_READER, else pandas when installed, else numpy."""
    name = os.environ.get("FASTNN_CSV_READER", "").strip().lower()
    if name:
        if name not in READERS:
            raise DataError(f"FASTNN_CSV_READER={name!r}: choose one of "
                            f"{', '.join(READERS)}")
        return name
    try:
        import pandas  # noqa: F401  (optional: the faster parser when installed)
    except ImportError:
        return "numpy"
    return "pandas"


class CsvFile:
    """A CSV file opened for reading: ``header`` (stripped names) and ``size`` (bytes)
    now, its rows in chunks with :meth:`chunks`; ``reader`` names the reader that read
    them (the exact reader's "python" once it took over)."""

    unit = "B"  # what ``size`` and ``advance`` count

    def __init__(self, path):
        self.path = str(path)
        self.header, self._header_lines, self._fast = _read_header(self.path)
        self.size = os.path.getsize(self.path)
        check_header(self.path, self.header)
        self.reader = csv_reader() if self._fast else "python"

    def chunks(self, layout, dtype, advance=lambda n_bytes: None):
        """The rows as :class:`~fastnn.cli.columns.Chunk` s of ``layout``'s columns,
        X in ``dtype``; ``advance(n)`` is called as n more bytes have been read."""
        fast = {"pandas": self._pandas_chunks,
                "numpy": self._numpy_chunks}.get(self.reader)
        rows_given = bytes_given = 0

        def counted(n_bytes):
            nonlocal bytes_given
            bytes_given += n_bytes
            advance(n_bytes)

        if fast is not None:
            try:
                for chunk in fast(layout, np.dtype(dtype), counted):
                    rows_given += len(chunk.X)
                    yield chunk
                return
            except _Refused:
                self.reader = "python"

        def past_given(n_bytes):  # the bar moves on once past where it was
            nonlocal bytes_given
            bytes_given -= n_bytes
            if bytes_given < 0:
                advance(-bytes_given)
                bytes_given = 0

        # the exact reader, past the rows already given
        for chunk in self._exact_chunks(layout, np.dtype(dtype), past_given):
            if rows_given >= len(chunk.X):
                rows_given -= len(chunk.X)
                continue
            yield Chunk(chunk.X[rows_given:],
                        None if chunk.y is None else chunk.y[rows_given:])
            rows_given = 0

    def _rows_per_chunk(self):
        return rows_per_chunk(len(self.header))

    # -- pandas

    def _pandas_chunks(self, layout, dtype, advance):
        import pandas as pd

        text = [j for j in range(len(self.header)) if j not in layout.features]
        with open(self.path, "rb") as file:
            for _ in range(self._header_lines):
                file.readline()
            start = file.tell()
            # NOTE: na_filter=False: "", "NA", "nan" stay text, so a float column
            # holding one fails to parse, and the exact reader names it.
            try:
                with pd.read_csv(
                        file, header=None, names=list(range(len(self.header))),
                        index_col=False, dtype={j: (str if j in text else np.float64)
                                                for j in range(len(self.header))},
                        na_filter=False, comment=None, skip_blank_lines=True,
                        encoding="utf-8", engine="c",
                        chunksize=self._rows_per_chunk()) as parts:
                    for part in parts:
                        chunk = self._pandas_chunk(part, layout, text, dtype)
                        advance(file.tell() - start)
                        start = file.tell()
                        yield chunk
            except pd.errors.EmptyDataError:  # no rows
                return
            except ValueError:  # parse errors, bad numbers, UnicodeDecodeError
                raise _Refused from None

    @staticmethod
    def _pandas_chunk(part, layout, text, dtype):
        X = _cast(part.iloc[:, layout.features].to_numpy(), dtype)
        # NOTE: a row short of fields gets "" in its last columns: such a text cell,
        # like a blank label, is for the exact reader to judge.
        if any((part[j].to_numpy() == "").any() for j in text):
            raise _Refused
        y = None
        if layout.target is not None:
            y = part[layout.target].str.strip().to_numpy().astype(str)
            if (y == "").any():  # a blank label
                raise _Refused
        _check_finite(X)
        return Chunk(X, y)

    # -- NumPy

    def _numpy_chunks(self, layout, dtype, advance):
        codes = {}

        def code(text):  # the label's number in ``codes``, so loadtxt gets floats
            return codes.setdefault(text.strip(), len(codes))

        converters = {j: (code if j == layout.target else _ignored)
                      for j in range(len(self.header)) if j not in layout.features}
        block_chars = self._rows_per_chunk() * 8 * len(self.header)
        with open(self.path, newline="", encoding="utf-8-sig") as file:
            for _ in range(self._header_lines):
                file.readline()
            while True:
                try:
                    block = file.read(block_chars)
                    if block and not block.endswith(("\n", "\r")):
                        block += file.readline()  # a whole last line
                except UnicodeDecodeError:
                    raise _Refused from None
                if not block:
                    return
                try:
                    with warnings.catch_warnings():  # "input contained no data"
                        warnings.simplefilter("ignore", UserWarning)
                        part = np.loadtxt(io.StringIO(block), delimiter=",",
                                          quotechar='"', comments=None,
                                          converters=converters, ndmin=2)
                except ValueError:
                    raise _Refused from None
                if not len(part):  # blank lines only
                    advance(len(block))
                    continue
                if part.shape[1] != len(self.header) or "" in codes:
                    raise _Refused
                X = _cast(part[:, layout.features], dtype)
                y = None
                if layout.target is not None:
                    labels = np.array(list(codes) or [""])
                    y = labels[part[:, layout.target].astype(np.intp)]
                _check_finite(X)
                advance(len(block))  # NOTE: characters, as many as bytes in ASCII
                yield Chunk(X, y)

    # -- the exact reader

    def _exact_chunks(self, layout, dtype, advance):
        """The ``csv`` module, row by row: each cell checked, each mistake named by its
        line and column."""
        try:
            file = open(self.path, newline="", encoding="utf-8-sig")
        except OSError as error:
            raise DataError(f"{self.path}: {error.strerror or error}") from None
        reader = csv.reader(file)
        rows_per_chunk = self._rows_per_chunk()
        rows, labels, read = [], [], 0
        try:
            with file:
                while reader.line_num < self._header_lines:
                    next(reader)
                for row in reader:
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue  # a blank line
                    rows.append(self._checked_row(row, reader.line_num, layout, dtype))
                    read += sum(map(len, row)) + len(row)  # NOTE: about the bytes
                    if layout.target is not None:
                        labels.append(row[layout.target].strip())
                    if len(rows) == rows_per_chunk:
                        yield self._exact_chunk(rows, labels, layout, dtype)
                        rows, labels = [], []
                        advance(read)
                        read = 0
        except csv.Error as error:
            raise DataError(f"{self.path}: line {reader.line_num}: {error}") from None
        except UnicodeDecodeError:
            raise DataError(f"{self.path}: the file is not UTF-8 text") from None
        if rows:
            advance(read)
            yield self._exact_chunk(rows, labels, layout, dtype)

    def _exact_chunk(self, rows, labels, layout, dtype):
        X = np.array(rows, dtype=np.float64).reshape(len(rows), len(layout.features))
        return Chunk(_cast(X, dtype),
                     None if layout.target is None else np.array(labels))

    def _checked_row(self, row, line, layout, dtype):
        """The row's feature values; a DataError names its first mistake."""
        if len(row) != len(self.header):
            raise DataError(f"{self.path}: line {line} has {len(row)} fields, the "
                            f"header has {len(self.header)}")
        values = []
        for j, name in zip(layout.features, layout.feature_names):
            text = row[j]
            where = f"{self.path}: line {line}, column {name!r}"
            if not text.strip():
                raise DataError(f"{where} is blank (missing values are not supported)")
            try:
                value = float(text)
            except ValueError:
                raise DataError(f"{where}: {text!r} is not a number (feature columns "
                                "must be numeric)") from None
            if not np.isfinite(value):
                raise DataError(f"{where}: {text!r} is not a finite number")
            if not np.isfinite(_cast(np.float64(value), dtype)):
                raise DataError(f"{where}: {text!r} is beyond the range of {dtype} "
                                f"(about {float(np.finfo(dtype).max):.1e}); leave out "
                                "--dtype float32")
            values.append(value)
        if layout.target is not None and not row[layout.target].strip():
            raise DataError(f"{self.path}: line {line}: the target "
                            f"{layout.target_name!r} is blank")
        return values


def _ignored(text):
    return 0.0


def _cast(X, dtype):
    """X as ``dtype``; a value beyond float32's range becomes inf, and is refused."""
    with np.errstate(over="ignore"):
        return X.astype(dtype)


def _check_finite(X):
    if not np.isfinite(X).all():  # NaN, inf, or beyond float32's range
        raise _Refused


def _read_header(path):
    """(the header's stripped names, the lines it ends on, whether the C parsers may
    read the rest); blank lines before the header are skipped."""
    try:
        file = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as error:
        raise DataError(f"{path}: {error.strerror or error}") from None
    reader = csv.reader(file)
    try:
        with file:
            header = next(reader, None)
            while header is not None and not any(cell.strip() for cell in header):
                header = next(reader, None)  # blank lines before the header
            lines = reader.line_num
    except csv.Error as error:
        raise DataError(f"{path}: line {reader.line_num}: {error}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: the file is not UTF-8 text") from None
    if header is None:
        raise DataError(f"{path}: the file is empty (a CSV file starts with a header "
                        "row of column names)")
    # NOTE: the C parsers find lines by "\n"; a file of "\r" line ends (old Mac) and
    # a header spanning lines (a quoted line break) are the exact reader's.
    with open(path, "rb") as file:
        start = file.read(1 << 16)
    fast = (b"\n" in start or b"\r" not in start) and not any(
        "\n" in cell or "\r" in cell for cell in header)
    return [name.strip() for name in header], lines, fast
