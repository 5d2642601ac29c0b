"""The ``fastnn`` command line (also ``python -m fastnn``): ``fastnn train``,
``fastnn predict`` and ``fastnn bench`` on CSV (or Parquet) files.

One module per job: :mod:`~fastnn.cli.command` parses the arguments and turns a
user's mistake into one line on stderr, :mod:`~fastnn.cli.train` trains and reports,
:mod:`~fastnn.cli.predict` predicts with a saved model, :mod:`~fastnn.cli.bench` runs
the checkout's benchmark, :mod:`~fastnn.cli.checks` refuses bad input before any work,
:mod:`~fastnn.cli.progress` draws the progress bars, :mod:`~fastnn.cli.data` reads the
data files in chunks (the formats in :mod:`~fastnn.cli.csv` and
:mod:`~fastnn.cli.parquet`, their shared rules in :mod:`~fastnn.cli.columns`) and
:mod:`~fastnn.cli.plots` draws the training plot (matplotlib, imported only then).
Nothing else in fastnn imports this package.
"""

from fastnn.cli.command import main

__all__ = ["main"]
