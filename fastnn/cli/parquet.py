"""Read Parquet files for the command line, in row batches, through pyarrow (the ``io``
extra): the same column rules as CSV (:mod:`~fastnn.cli.columns`), rows numbered from 1
in the messages, as Parquet has no lines."""

import numpy as np

from fastnn.cli.columns import Chunk, DataError, check_header, rows_per_chunk

__all__ = ["MAGIC", "ParquetFile"]

MAGIC = b"PAR1"  # a Parquet file's first (and last) four bytes


def _pyarrow(path):
    try:
        import pyarrow.parquet
    except ImportError:
        raise DataError(f"{path}: reading Parquet files needs pyarrow, which is not "
                        "installed: pip install 'fastnn-cython[io]'") from None
    return pyarrow


class ParquetFile:
    """A Parquet file opened for reading: ``header`` (the column names), ``size`` (in
    rows) now, its rows in chunks with :meth:`chunks`."""

    unit = "rows"  # what ``size`` and ``advance`` count
    reader = "pyarrow"

    def __init__(self, path):
        self.path = str(path)
        pyarrow = _pyarrow(self.path)
        try:
            self._file = pyarrow.parquet.ParquetFile(self.path)
        except (OSError, pyarrow.ArrowException) as error:
            raise DataError(f"{self.path}: not a readable Parquet file ({error})"
                            ) from None
        self._schema = self._file.schema_arrow
        self.header = [name.strip() for name in self._schema.names]
        self.size = self._file.metadata.num_rows
        if not self.header:
            raise DataError(f"{self.path}: the file has no columns")
        check_header(self.path, self.header)

    def chunks(self, layout, dtype, advance=lambda n_rows: None):
        """The rows as :class:`~fastnn.cli.columns.Chunk` s of ``layout``'s columns,
        X in ``dtype``; ``advance(n)`` is called as n more rows have been read."""
        from pyarrow import types

        for j, name in zip(layout.features, layout.feature_names):
            kind = self._schema.field(j).type
            if not (types.is_integer(kind) or types.is_floating(kind)
                    or types.is_boolean(kind) or types.is_decimal(kind)):
                raise DataError(f"{self.path}: column {name!r} holds {kind} values "
                                "(feature columns must be numeric)")
        dtype = np.dtype(dtype)
        columns = [self._schema.names[j] for j in layout.features]
        if layout.target is not None:
            columns.append(self._schema.names[layout.target])
        rows = rows_per_chunk(len(columns))
        first = 1  # the number of the batch's first row
        for batch in self._file.iter_batches(batch_size=rows, columns=columns):
            X = np.empty((batch.num_rows, len(layout.features)), dtype)
            for k, name in enumerate(layout.feature_names):
                X[:, k] = self._values(batch.column(k), name, first, dtype)
            y = None
            if layout.target is not None:
                y = self._labels(batch.column(len(layout.features)),
                                 layout.target_name, first)
            advance(batch.num_rows)
            first += batch.num_rows
            yield Chunk(X, y)

    def _values(self, column, name, first, dtype):
        where = f"{self.path}: row {{}}, column {name!r}"
        if column.null_count:
            row = first + int(np.flatnonzero(column.is_null().to_numpy(
                zero_copy_only=False))[0])
            raise DataError(f"{where.format(row)} is blank (missing values are not "
                            "supported)")
        values = column.to_numpy(zero_copy_only=False).astype(np.float64)
        with np.errstate(over="ignore"):
            cast = values.astype(dtype)
        bad = np.flatnonzero(~np.isfinite(cast))
        if bad.size:
            i = int(bad[0])
            value = float(values[i])
            if np.isfinite(value):
                raise DataError(f"{where.format(first + i)}: {value!r} is beyond the "
                                f"range of {dtype}; leave out --dtype float32")
            raise DataError(f"{where.format(first + i)}: {value!r} is not a finite "
                            "number")
        return cast

    def _labels(self, column, target, first):
        labels = np.array(column.to_pylist(), dtype=object)
        blank = np.flatnonzero([label is None or not str(label).strip()
                                for label in labels])
        if blank.size:
            raise DataError(f"{self.path}: row {first + int(blank[0])}: the target "
                            f"{target!r} is blank")
        return np.char.strip(labels.astype(str))
