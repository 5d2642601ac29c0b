"""The ``fastnn`` command line (also ``python -m fastnn``): ``fastnn train``,
``fastnn predict`` and ``fastnn bench`` on CSV files.

One module per job: :mod:`~fastnn.cli.command` parses the arguments and turns a
user's mistake into one line on stderr, :mod:`~fastnn.cli.train` trains and reports,
:mod:`~fastnn.cli.predict` predicts with a saved model, :mod:`~fastnn.cli.bench` runs
the checkout's benchmark, :mod:`~fastnn.cli.checks` refuses bad input before any work,
:mod:`~fastnn.cli.progress` draws the progress bar, :mod:`~fastnn.cli.csv` reads the
data files and :mod:`~fastnn.cli.plots` draws the training plot (matplotlib, imported
only then). Nothing else in fastnn imports this package.
"""

from fastnn.cli.command import main

__all__ = ["main"]
