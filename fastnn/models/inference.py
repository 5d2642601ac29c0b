"""Inference: a network's forward pass (``training=False``) over many rows, in chunks,
safe from several threads at once. :meth:`fastnn.Sequential.predict`, its evaluation
and :class:`fastnn.MLPClassifier` all run it; :meth:`Inference.serve` runs one row
with the finiteness of its input and output tested by bound calls."""

from math import isfinite

import numpy as np
import scipy.sparse as sp

from fastnn import ops
from fastnn.nn.layers import bind_steps, private_buffers

__all__ = ["Inference", "check_finite_output"]

# NOTE: a binding (the chunk's input buffer, the bound calls and their output buffers)
# costs more than running it on a few rows, and a large chunk's buffers cost their page
# faults when new (a 10,000-row MLPClassifier.predict_proba took 3x as long with new
# buffers each call). So bindings are kept for the next call: taken out of a free list
# while in use (list.pop and append are atomic), so two threads never share one. A
# small chunk (a served request) keeps a few, for concurrent callers; a large one keeps
# one, the memory a layer's own buffers held before.
_SMALL_ROWS = 64
_KEPT = {True: 8, False: 1}  # bindings kept per chunk shape: small, large
_KEPT_SHAPES = 8


class Inference:
    """The inference forward of a chain of steps (each a step's ``bind_forward``).

    The rows of each chunk are copied into an input buffer the steps are bound to; the
    steps are bound inside :func:`fastnn.layers.private_buffers`, so their arrays
    belong to the binding alone and the layers record nothing. A call takes a binding
    no other call holds (a kept one, else a new one): calls from several threads at
    once, or nested in one thread, share no array.
    """

    def __init__(self, binders):
        self._binders = list(binders)
        self._free = {}  # chunk shape -> list of unused bindings

    def __call__(self, X, batch_size, progress=None):
        """The output for every row of ``X`` (at least one), as a new array;
        ``progress()``, if given, is called after each chunk."""
        if X.shape[0] > batch_size or sp.issparse(X):
            out = None
            for start, stop, A in self.chunks(X, batch_size):
                if out is None:
                    out = np.empty((X.shape[0], A.shape[1]), A.dtype)
                out[start:stop] = A
                if progress is not None:
                    progress()
            return out
        # one chunk (a served request): no generator, no slicing
        key = (X.shape[0], X.shape[1], X.dtype.char)
        chunk = self._take(key)
        try:
            out = _run(chunk, X).copy()
        finally:
            self._give_back(key, chunk)
        if progress is not None:
            progress()
        return out

    def serve(self, X):
        """The output for the one row ``X`` (1, width), as a new array, or None if
        ``X`` is not finite (for the caller to validate and refuse); a ValueError
        (:func:`check_finite_output`'s) if the output is not finite.

        Both tests are bound sums of squares of the binding's buffers, so a served row
        pays for no checked call (a sum that overflows on finite values takes the full
        test: a row so large returns None, the output is tested entry by entry).
        """
        key = (1, X.shape[1], X.dtype.char)
        chunk = self._take(key)
        try:
            A0, runs, A, (input_norm, output_norm) = chunk
            A0[...] = X
            if not isfinite(input_norm()):
                return None
            for run in runs:
                run()
            if not isfinite(output_norm()):
                check_finite_output(A)
            return A.copy()
        finally:
            self._give_back(key, chunk)

    def chunks(self, X, batch_size):
        """Yield ``(start, stop, output)`` for each chunk of ``batch_size`` rows of
        ``X``; ``output`` is overwritten by the next chunk."""
        if sp.issparse(X):
            yield from _csr_chunks(self._binders, X, batch_size)
            return
        bound = {}  # this call's bindings
        try:
            for start in range(0, X.shape[0], batch_size):
                stop = min(start + batch_size, X.shape[0])
                key = (stop - start, X.shape[1], X.dtype.char)
                chunk = bound.get(key)
                if chunk is None:
                    chunk = bound[key] = self._take(key)
                yield start, stop, _run(chunk, X[start:stop])
        finally:
            for key, chunk in bound.items():
                self._give_back(key, chunk)

    def _take(self, key):
        """An unused binding for chunks of ``key`` (rows, width, dtype character):
        ``(A0, runs, A, norms)``, the input buffer, the calls, the output, and for one
        row the bound sums of squares of A0 and A (else None)."""
        free = self._free.get(key)
        if free:
            try:
                return free.pop()
            except IndexError:  # another thread took the last one
                pass
        n_rows, width, dtype = key
        A0 = np.empty((n_rows, width), dtype)
        with private_buffers():
            runs, A = bind_steps(self._binders, A0, False)
        norms = (_bind_norm(A0), _bind_norm(A)) if n_rows == 1 else None
        return A0, runs, A, norms

    def _give_back(self, key, chunk):
        free = self._free.get(key)
        if free is None:
            if len(self._free) >= _KEPT_SHAPES:
                self._free.clear()
            free = self._free.setdefault(key, [])
        if len(free) < _KEPT[key[0] <= _SMALL_ROWS]:
            free.append(chunk)


def _csr_chunks(binders, X, batch_size):
    """:meth:`Inference.chunks` of a CSR ``X``: each chunk's rows sliced out (a CSR of
    their entries alone, never densified) and the steps bound to it."""
    # NOTE: a chunk's binding is new (private buffers, no kept free list): its rows'
    # entries differ in number from chunk to chunk, and binding costs little beside
    # a chunk of sparse rows.
    for start in range(0, X.shape[0], batch_size):
        stop = min(start + batch_size, X.shape[0])
        with private_buffers():
            runs, A = bind_steps(binders, X[start:stop], False)
        for run in runs:
            run()
        yield start, stop, A


def _bind_norm(A):
    """A ``run()`` returning sum(A**2) for the current contents of ``A``."""
    if A.flags.c_contiguous:  # ravel is a view of A
        return ops.bind(ops.sum_of_squares, A.ravel())[0]
    return lambda: ops.sum_of_squares(A.ravel())


def _run(chunk, rows):
    """Copy ``rows`` into the chunk's input buffer and run its calls; the output."""
    A0, runs, A, _ = chunk
    A0[...] = rows
    for run in runs:
        run()
    return A


def check_finite_output(Y):
    """``Y``, the network's output for finite input, if it is finite; else a
    ValueError (weights that are finite but huge, from a diverged fit, overflow)."""
    # NOTE: a sum of squares is finite only if every term is, so one BLAS dot stands
    # in for isfinite (the same test as fit's and the serving check's; unlike Y.sum()
    # it warns of no overflow); only an overflowing sum of finite values takes the
    # full test.
    if not isfinite(ops.sum_of_squares(Y.ravel())) and not np.isfinite(Y).all():
        raise ValueError(
            "the network's output is not finite for this finite input: its weights "
            "are too large for it (did training diverge? lower the learning rate or "
            "scale the features, and fit again)"
        )
    return Y
