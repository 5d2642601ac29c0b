"""``bind``: check a call once, then repeat its kernel with ``run()``.

An op hands its kernel call to :func:`run_kernel`, which calls it now or, inside
:func:`bind`, records it; :func:`bindable` marks the ops that :func:`bind` accepts.
"""

import functools
import threading

from fastnn.ops._loader import Kernel

_capture = threading.local()  # .calls: the list a bind() in this thread is filling
_BINDABLE = set()  # the ops marked @bindable


def bindable(function):
    """Mark ``function`` as one :func:`bind` accepts; returns it unchanged."""
    _BINDABLE.add(function)
    return function


def recorded_calls():
    """The list a :func:`bind` in this thread is filling, else None."""
    return getattr(_capture, "calls", None)


def run_kernel(kernel, *args):
    """Call ``kernel`` now and return its result, or, inside :func:`bind`, record the
    call instead and return None."""
    calls = getattr(_capture, "calls", None)
    if calls is None:
        return kernel(*args)
    calls.append((kernel, args))
    return None


def bind(function, *args, **kwargs):
    """Check a call once and return ``(run, result)``: ``run()`` does its work.

    ``function`` is one of the layer operations (an activation or its backward,
    ``maxout``, ``dropout``, ``softmax``, ``dense_forward``, ``dense_backward`` and their
    backwards). The arguments are checked and the outputs allocated now, exactly as a
    direct call would, but no kernel runs until ``run()``; each ``run()`` then repeats
    the kernel on the same arrays, whose contents may change in between (their shapes,
    dtypes and memory must not: the arrays are held, not re-checked). A training loop
    binds each layer's calls once per batch size and skips the per-call checks, which
    on a 32-row mini-batch cost as much as the kernels. A compiled kernel's ``run`` is
    a :class:`fastnn._kernels.calls.Call`: its arguments packed once, one C call per
    ``run()``, which returns the kernel's result (0.0 for kernels that only write).

    >>> import numpy as np
    >>> from fastnn.ops import relu
    >>> X, out = np.array([-1.0, 2.0]), np.empty(2)
    >>> run, Y = bind(relu, X, out=out)
    >>> X[0] = 3.0; _ = run(); Y
    array([3., 2.])
    """
    if function not in _BINDABLE:
        raise ValueError(f"{getattr(function, '__name__', function)!r} cannot be bound")
    _capture.calls = calls = []
    try:
        result = function(*args, **kwargs)
    finally:
        _capture.calls = None
    if len(calls) == 1:
        kernel, kernel_args = calls[0]
        if isinstance(kernel, Kernel):  # packed once: run() is one C call
            return kernel.bind(*kernel_args), result
        return functools.partial(kernel, *kernel_args), result
    # An empty operand leaves no kernel call (NumPy filled the outputs): repeat the
    # checked call itself, which refills the same outputs only if they were passed in.
    passed = [*args, *kwargs.values()]
    results = result if isinstance(result, tuple) else (result,)
    if not all(
        any(array is given for given in passed) for array in results if array is not None
    ):
        raise ValueError("bind an operation on empty arrays with its outputs passed in")
    return functools.partial(function, *args, **kwargs), result
