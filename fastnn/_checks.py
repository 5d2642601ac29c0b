"""Checks of arrays and scalars, shared by :mod:`fastnn.ops` and the layers above it.

Each raises ``TypeError`` for a wrong type or dtype and ``ValueError`` for a wrong
shape, layout, overlap or range, with a message that names the argument.
"""

import math

import numpy as np

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
REAL_TYPES = (int, float, np.integer, np.floating)


def check_float(name, array, ndim=None):
    """``array`` must be a C-contiguous float32/float64 ndarray (of ``ndim`` dimensions)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(array).__name__}")
    if array.dtype not in FLOATS:
        raise TypeError(f"{name} must have dtype float32 or float64, got {array.dtype}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {array.shape}")
    if not array.flags.c_contiguous:
        raise ValueError(
            f"{name} must be C-contiguous; pass np.ascontiguousarray({name})"
        )
    return array


def check_like(reference_name, reference, **arrays):
    """Each array must be a float array of the reference's dtype and shape."""
    for name, array in arrays.items():
        check_float(name, array)
        if array.dtype != reference.dtype:
            raise TypeError(
                f"{name} has dtype {array.dtype} but {reference_name} has "
                f"{reference.dtype}; mixed dtypes are not allowed"
            )
        if array.shape != reference.shape:
            raise ValueError(
                f"{name} has shape {array.shape} but {reference_name} has "
                f"{reference.shape}"
            )


def check_writeable(name, array):
    """``array`` is written in place, so it must be writeable."""
    if not array.flags.writeable:
        raise ValueError(f"{name} is read-only; it is written in place")


def may_overlap(a, b):
    """Whether two arrays may share memory (cheap when both own their data)."""
    # NOTE: two distinct arrays that own their buffers (base is None) cannot overlap;
    # that is the common case (np.empty/zeros outputs), and it skips a bounds query.
    if a is not b and a.base is None and b.base is None:
        return False
    return np.may_share_memory(a, b)


def output(name, out, shape, dtype, inputs=None, inplace=()):
    """Allocate ``out`` or check it: dtype, shape, layout, writeable, no overlap.

    ``out`` must not share memory with the arrays in ``inputs``, except that it may
    *be* one of those named in ``inplace`` (the same array object): the kernels
    support exactly that aliasing.
    """
    if out is None:
        return np.empty(shape, dtype)
    check_float(name, out)
    if out.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype}, got {out.dtype}")
    if out.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {out.shape}")
    check_writeable(name, out)
    for input_name, array in (inputs or {}).items():
        if array is None or (array is out and input_name in inplace):
            continue
        if may_overlap(out, array):
            raise ValueError(f"{name} overlaps {input_name}; pass a separate array")
    return out


def check_scalar(name, value, low=-math.inf, high=math.inf, low_open=False):
    if type(value) is not float:  # the common case skips the isinstance checks
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, REAL_TYPES):
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
        value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if value < low or value > high or (low_open and value == low):
        lo = "(" if low_open else "["
        raise ValueError(f"{name} must be in {lo}{low}, {high}], got {value}")
    return value
