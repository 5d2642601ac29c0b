"""What ``verbose`` shows while a model works, as Keras' ``ProgbarLogger``: nothing
(``verbose=0``), a tqdm progress bar over the batches ending with the results (1, or
Keras 3's ``'auto'``), or one line when done (2). :class:`Progress` reports one
:meth:`Sequential.evaluate` or :meth:`Sequential.predict`; :func:`progress_bar` and
:func:`report_epoch` one epoch of a fit."""

import sys
import time
from numbers import Integral

from fastnn.ops.checks import check_positive_int

__all__ = ["Progress", "check_batch_size", "check_verbose", "progress_bar",
           "report_epoch"]

# Keras' batch_size when None is given (its evaluate and predict)
DEFAULT_BATCH_SIZE = 32


def check_verbose(verbose):
    """``verbose`` as 0, 1 or 2 (Keras 3's ``'auto'`` is 1); else a ValueError."""
    if isinstance(verbose, str) and verbose == "auto":
        return 1
    if not isinstance(verbose, Integral) or verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


def check_batch_size(batch_size):
    """``batch_size`` as a positive int (None: Keras' 32)."""
    if batch_size is None:
        return DEFAULT_BATCH_SIZE
    return check_positive_int("batch_size", batch_size)


class Progress:
    """The report of one evaluate or predict over ``n_batches`` batches: a context
    whose :meth:`update` moves the bar and :meth:`done` shows the results; leaving
    it closes the bar (also when the call fails).

    ``verbose`` is what :func:`check_verbose` returns; ``what`` names the bar.
    """

    def __init__(self, verbose, n_batches, what):
        self.verbose, self.n_batches = verbose, n_batches
        self._started = time.perf_counter()
        self._bar = _bar(n_batches, what) if verbose == 1 else None

    def __enter__(self):
        return self

    def __exit__(self, *error):
        if self._bar is not None:
            self._bar.close()

    def update(self, n_batches=1):
        """``n_batches`` more batches are done."""
        if self._bar is not None:
            self._bar.update(n_batches)

    def done(self, results=None):
        """Show ``results`` (a dict of names to numbers): on the bar, or in the one
        line of ``verbose=2`` with the batches and the seconds taken."""
        text = _logs_text(results or {})
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)
            self._bar.close()
        elif self.verbose == 2:
            seconds = time.perf_counter() - self._started
            line = f"{self.n_batches}/{self.n_batches} - {seconds:.2f}s"
            print(line + (f" - {text}" if text else ""), flush=True)


def progress_bar(verbose, epoch, epochs, n_batches):
    """The bar of one epoch of a fit over ``n_batches`` batches (None unless
    ``verbose`` is 1); :func:`report_epoch` closes it."""
    return _bar(n_batches, f"Epoch {epoch + 1}/{epochs}") if verbose == 1 else None


def report_epoch(verbose, bar, epoch, epochs, logs, seconds):
    """Show the epoch's ``logs``: on its bar, or as one line (``verbose=2``)."""
    text = _logs_text(logs)
    if bar is not None:
        bar.set_postfix_str(text, refresh=False)
        bar.close()
    elif verbose in (1, 2):
        print(f"Epoch {epoch + 1}/{epochs} - {seconds:.2f}s - {text}", flush=True)


def _bar(n_batches, what):
    from tqdm.auto import tqdm  # a dependency; imported when a bar is first shown

    return tqdm(total=n_batches, desc=what, unit="batch", file=sys.stdout, leave=True,
                dynamic_ncols=True)


def _logs_text(logs):
    return " - ".join(f"{key}: {value:.4f}" for key, value in logs.items())
