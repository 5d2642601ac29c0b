"""Inference: a network's forward pass (``training=False``) over many rows, in chunks,
safe from several threads at once. :meth:`fastnn.Sequential.predict`, its evaluation
and :class:`fastnn.MLPClassifier` all run it."""

import threading
from math import isfinite

import numpy as np

from fastnn.nn.layers import bind_steps, private_buffers

__all__ = ["Inference", "check_finite_output"]

# NOTE: chunks of at most this many rows (a served request, Sequential.predict's
# batches) keep their bound calls, per thread, for the next call: binding costs more
# than running them. A larger chunk is bound once per call; keeping its buffers would
# hold megabytes per thread.
_KEPT_ROWS = 64
_KEPT_SIZES = 4  # chunk shapes kept per thread


class Inference:
    """The inference forward of a chain of steps (each a step's ``bind_forward``).

    The rows of each chunk are copied into an input buffer the steps are bound to; the
    steps are bound inside :func:`fastnn.layers.private_buffers`, so every array they
    write belongs to one call of one thread and the layers record nothing: calls from
    several threads at once share no array. Bindings of small chunks are kept per
    thread (see ``_KEPT_ROWS``); a kept binding is taken out while in use, so a
    nested call in the same thread binds anew instead of sharing it.
    """

    def __init__(self, binders):
        self._binders = list(binders)
        self._kept = threading.local()

    def __call__(self, X, batch_size):
        """The output for every row of ``X`` (at least one), as a new array."""
        if X.shape[0] > batch_size:
            out = None
            for start, stop, A in self.chunks(X, batch_size):
                if out is None:
                    out = np.empty((X.shape[0], A.shape[1]), A.dtype)
                out[start:stop] = A
            return out
        # one chunk (a served request): no generator, no slicing
        kept = self._kept.__dict__
        key = (X.shape[0], X.shape[1], X.dtype.char)
        chunk = kept.pop(key, None) or self._bind(key)
        try:
            return _run(chunk, X).copy()
        finally:
            if key[0] <= _KEPT_ROWS and len(kept) < _KEPT_SIZES:
                kept[key] = chunk

    def chunks(self, X, batch_size):
        """Yield ``(start, stop, output)`` for each chunk of ``batch_size`` rows of
        ``X``; ``output`` is overwritten by the next chunk."""
        kept = self._kept.__dict__
        bound = {}  # this call's bindings
        try:
            for start in range(0, X.shape[0], batch_size):
                stop = min(start + batch_size, X.shape[0])
                key = (stop - start, X.shape[1], X.dtype.char)
                chunk = bound.get(key)
                if chunk is None:
                    chunk = bound[key] = kept.pop(key, None) or self._bind(key)
                yield start, stop, _run(chunk, X[start:stop])
        finally:
            for key, chunk in bound.items():
                if key[0] <= _KEPT_ROWS and len(kept) < _KEPT_SIZES:
                    kept[key] = chunk

    def _bind(self, key):
        """A new binding for chunks of ``key`` (rows, width, dtype character):
        ``(A0, runs, A)``, the input buffer, the calls and the output."""
        n_rows, width, dtype = key
        A0 = np.empty((n_rows, width), dtype)
        with private_buffers():
            runs, A = bind_steps(self._binders, A0, False)
        return A0, runs, A


def _run(chunk, rows):
    """Copy ``rows`` into the chunk's input buffer and run its calls; the output."""
    A0, runs, A = chunk
    A0[...] = rows
    for run in runs:
        run()
    return A


def check_finite_output(Y):
    """``Y``, the network's output for finite input, if it is finite; else a
    ValueError (weights that are finite but huge, from a diverged fit, overflow)."""
    # NOTE: a sum is finite only if every term is, so one reduction stands in for
    # isfinite; only an overflowing sum of finite values takes the full test.
    if not isfinite(Y.sum()) and not np.isfinite(Y).all():
        raise ValueError(
            "the network's output is not finite for this finite input: its weights "
            "are too large for it (did training diverge? lower the learning rate or "
            "scale the features, and fit again)"
        )
    return Y
