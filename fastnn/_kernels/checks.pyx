# The checks of arrays and scalars that fastnn.ops (and, for now, the layers) run.
"""Checks of arrays and scalars, shared by :mod:`fastnn.ops` and the layers above it.

Each raises ``TypeError`` for a wrong type or dtype and ``ValueError`` for a wrong
shape, layout, overlap or range, with a message that names the argument.

# NOTE: compiled (Cython, NumPy's C API) because a training step makes dozens of these
# checks: in Python, each ``array.flags``/``.dtype``/``.shape`` lookup builds an object,
# and the checks cost more than the kernels of a 32-row mini-batch.
"""

cimport numpy as cnp

import math

import numpy as np

cnp.import_array()

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
REAL_TYPES = (int, float, np.integer, np.floating)


cdef inline bint _is_native_float(cnp.ndarray array) noexcept:
    cdef int type_num = cnp.PyArray_TYPE(array)
    return (
        (type_num == cnp.NPY_FLOAT32 or type_num == cnp.NPY_FLOAT64)
        and cnp.PyArray_ISNOTSWAPPED(array)
    )


def check_float(name, array, ndim=None):
    """``array`` must be a C-contiguous float32/float64 ndarray (of ``ndim`` dimensions)."""
    if not isinstance(array, cnp.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(array).__name__}")
    cdef cnp.ndarray checked = array
    if not _is_native_float(checked):
        raise TypeError(f"{name} must have dtype float32 or float64, got {array.dtype}")
    if ndim is not None and cnp.PyArray_NDIM(checked) != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {array.shape}")
    if not cnp.PyArray_IS_C_CONTIGUOUS(checked):
        raise ValueError(
            f"{name} must be C-contiguous; pass np.ascontiguousarray({name})"
        )
    return array


def check_like(reference_name, cnp.ndarray reference, **arrays):
    """Each array must be a float array of the reference's dtype and shape."""
    cdef cnp.ndarray checked
    for name, array in arrays.items():
        check_float(name, array)
        checked = array
        if cnp.PyArray_TYPE(checked) != cnp.PyArray_TYPE(reference):
            raise TypeError(
                f"{name} has dtype {array.dtype} but {reference_name} has "
                f"{reference.dtype}; mixed dtypes are not allowed"
            )
        if not cnp.PyArray_SAMESHAPE(checked, reference):
            raise ValueError(
                f"{name} has shape {array.shape} but {reference_name} has "
                f"{(<object>reference).shape}"
            )


def check_writeable(name, cnp.ndarray array):
    """``array`` is written in place, so it must be writeable."""
    if not cnp.PyArray_ISWRITEABLE(array):
        raise ValueError(f"{name} is read-only; it is written in place")


def may_overlap(cnp.ndarray a, cnp.ndarray b):
    """Whether two arrays may share memory."""
    # NOTE: for C-contiguous arrays (all ops passes here) this is the byte-range test of
    # np.may_share_memory, exact, in 70 ns instead of 450; others go to NumPy.
    if not (cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_IS_C_CONTIGUOUS(b)):
        return bool(np.may_share_memory(a, b))
    cdef const char* a_start = <const char*>cnp.PyArray_DATA(a)
    cdef const char* b_start = <const char*>cnp.PyArray_DATA(b)
    cdef Py_ssize_t a_bytes = cnp.PyArray_NBYTES(a), b_bytes = cnp.PyArray_NBYTES(b)
    return (
        a_bytes > 0 and b_bytes > 0
        and a_start < b_start + b_bytes and b_start < a_start + a_bytes
    )


cdef bint _has_shape(cnp.ndarray array, tuple shape):
    cdef int axis, ndim = cnp.PyArray_NDIM(array)
    if ndim != len(shape):
        return False
    for axis in range(ndim):
        if cnp.PyArray_DIM(array, axis) != shape[axis]:
            return False
    return True


def output(name, out, shape, dtype, inputs=None, inplace=()):
    """Allocate ``out`` or check it: dtype, shape, layout, writeable, no overlap.

    ``out`` must not share memory with the arrays in ``inputs``, except that it may
    *be* one of those named in ``inplace`` (the same array object): the kernels
    support exactly that aliasing.
    """
    if out is None:
        return np.empty(shape, dtype)
    check_float(name, out)
    cdef cnp.ndarray checked = out
    shape = tuple(shape)
    if out.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype}, got {out.dtype}")
    if not _has_shape(checked, shape):
        raise ValueError(f"{name} must have shape {shape}, got {out.shape}")
    check_writeable(name, checked)
    if inputs:
        for input_name, array in inputs.items():
            if array is None or (array is out and input_name in inplace):
                continue
            if may_overlap(checked, array):
                raise ValueError(f"{name} overlaps {input_name}; pass a separate array")
    return out


def check_scalar(name, value, low=-math.inf, high=math.inf, low_open=False):
    """``value`` as a finite float in [low, high] (or (low, high] with ``low_open``)."""
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


def check_positive_int(name, value):
    """``value`` as a Python int >= 1 (bools are refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)
