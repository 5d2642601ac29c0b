# Kernel and Call: how Python reaches a kernel, and how a bound call is kept.
#
# A Kernel is called like the function it stands for, kernel(*args): the arguments are
# packed into an Op (calls.pxd) and the dtype's C function runs with the GIL released.
# kernel.bind(*args) packs them once into a Call; call() then runs the same C function
# on the same arrays, about 0.1 us, where a call through typed memoryviews costs about
# 1 us (acquiring one view per array). A training loop (epoch.pyx) runs its Calls' C
# functions directly, so the bound, the looped and the direct paths are one machine code.
#
# Signature letters, one per argument: A a float array of the call's dtype (the first
# float array decides it), L an intp array (labels, indices), B an array of any dtype
# (copied as bytes); I a CSR index array, int32 or int64 (every I and J of a call
# shares one, the first decides; the kernel reads its width from op.itemsize); W, M, C
# and J the same four kinds written by the kernel, which must be writeable; r a real
# scalar, i an integer or bool scalar; G a NumPy BitGenerator
# (its C struct, which draws as NumPy's Generator does). Every array must be
# C-contiguous and (but for B and C) aligned: a kernel handed anything else raises, it
# never reads or writes out of bounds or into read-only memory. Shapes and values are
# the caller's (fastnn.ops) to check.
cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid

import numpy as np

cnp.import_array()


cdef int _pack_array(cnp.ndarray array, Op* op, Py_ssize_t k, bint bytes,
                     bint written) except -1:
    # NOTE: a float kernel's vectorised loop may assume its elements are aligned (a
    # view at an odd byte offset is not); a copy of bytes needs no alignment.
    if not (cnp.PyArray_IS_C_CONTIGUOUS(array) if bytes else cnp.PyArray_ISCARRAY_RO(array)):
        raise ValueError(
            "a kernel takes C-contiguous, aligned arrays; pass np.ascontiguousarray(a)"
        )
    if written and not cnp.PyArray_ISWRITEABLE(array):
        raise ValueError("a kernel's output is read-only; pass a writeable array")
    op.data[k] = cnp.PyArray_DATA(array)
    op.size[k] = cnp.PyArray_SIZE(array)
    op.itemsize[k] = cnp.PyArray_ITEMSIZE(array)
    if cnp.PyArray_NDIM(array) == 0:
        op.rows[k] = op.cols[k] = 1
    else:
        op.rows[k] = cnp.PyArray_DIM(array, 0)
        op.cols[k] = op.size[k] // op.rows[k] if op.rows[k] else 0
    return 0


cdef class Kernel:
    """A compiled kernel: ``kernel(*args)`` runs it, ``kernel.bind(*args)`` keeps the
    call as a :class:`Call`."""

    cdef int pack(self, tuple args, Op* op, OpFunction* function) except -1:
        cdef Py_ssize_t n_arrays = 0, n_reals = 0, n_integers = 0
        cdef int type_num = -1, index_num = -1
        cdef str letter
        if self.signature is None:
            raise TypeError("a Kernel is made by its kernel module, not called bare")
        if len(args) != len(self.signature):
            raise TypeError(
                f"{self.name} takes {len(self.signature)} arguments, got {len(args)}"
            )
        for letter, arg in zip(self.signature, args):
            if letter == "r":
                op.real[n_reals] = float(arg)
                n_reals += 1
            elif letter == "i":
                op.integer[n_integers] = int(arg)
                n_integers += 1
            elif letter == "G":
                # NOTE: the call holds the BitGenerator, whose capsule points at the C
                # struct NumPy draws with; a kernel draws from it with the GIL
                # released, so the BitGenerator must not be shared with other threads.
                capsule = getattr(arg, "capsule", None) if isinstance(
                    arg, np.random.BitGenerator) else None
                if capsule is None or not PyCapsule_IsValid(capsule, "BitGenerator"):
                    raise TypeError(
                        f"{self.name} takes a numpy BitGenerator, got {type(arg).__name__}"
                    )
                op.data[n_arrays] = PyCapsule_GetPointer(capsule, "BitGenerator")
                op.size[n_arrays] = op.rows[n_arrays] = op.cols[n_arrays] = 0
                op.itemsize[n_arrays] = 0
                n_arrays += 1
            else:
                if not isinstance(arg, cnp.ndarray):
                    raise TypeError(
                        f"{self.name} takes numpy arrays, got {type(arg).__name__}"
                    )
                if letter == "A" or letter == "W":
                    if type_num < 0:
                        type_num = cnp.PyArray_TYPE(arg)
                        if type_num != cnp.NPY_FLOAT32 and type_num != cnp.NPY_FLOAT64:
                            raise TypeError(
                                f"{self.name} takes float32 or float64 arrays, "
                                f"got {arg.dtype}"
                            )
                    elif cnp.PyArray_TYPE(arg) != type_num:
                        raise TypeError(f"{self.name}: arrays of different dtypes")
                elif (letter == "L" or letter == "M") and (
                        cnp.PyArray_TYPE(arg) != cnp.NPY_INTP):
                    raise TypeError(f"{self.name} takes intp indices, got {arg.dtype}")
                elif letter == "I" or letter == "J":
                    if (cnp.PyArray_TYPE(arg) != cnp.NPY_INT32
                            and cnp.PyArray_TYPE(arg) != cnp.NPY_INT64) or (
                                not cnp.PyArray_ISNOTSWAPPED(arg)):
                        raise TypeError(
                            f"{self.name} takes int32 or int64 CSR indices, got {arg.dtype}"
                        )
                    if index_num < 0:
                        index_num = cnp.PyArray_TYPE(arg)
                    elif cnp.PyArray_TYPE(arg) != index_num:
                        raise TypeError(f"{self.name}: CSR index arrays of different dtypes")
                _pack_array(arg, op, n_arrays, letter == "B" or letter == "C",
                            letter == "W" or letter == "M" or letter == "C" or letter == "J")
                n_arrays += 1
        if self.for_any != NULL:
            function[0] = self.for_any
        elif type_num == cnp.NPY_FLOAT32:
            function[0] = self.for_float32
        else:
            function[0] = self.for_float64
        if function[0] == NULL:
            raise TypeError("a Kernel is made by its kernel module, not called bare")
        return 0

    def __call__(self, *args):
        cdef Op op
        cdef OpFunction function
        cdef double result
        self.pack(args, &op, &function)
        with nogil:
            result = function(&op)
        return result

    def bind(self, *args):
        """The call ``kernel(*args)`` packed once: a :class:`Call`."""
        cdef Call call = Call.__new__(Call)
        self.pack(args, &call.op, &call.function)
        call.kernel, call.args = self, args
        return call

    def __repr__(self):
        return f"<kernel {self.name}({self.signature or ''})>"


cdef class Call:
    """One kernel call bound to its arrays; ``call()`` runs it and returns its result
    (0.0 for kernels that only write)."""

    def __call__(self):
        cdef double result
        if self.function == NULL:
            raise TypeError("a Call is made by Kernel.bind, not called bare")
        with nogil:
            result = self.function(&self.op)
        return result

    def __repr__(self):
        return f"<bound {'nothing' if self.kernel is None else self.kernel.name}>"


cdef Kernel new_kernel(str name, str signature, OpFunction for_float32,
                       OpFunction for_float64, OpFunction for_any=NULL):
    cdef Kernel kernel = Kernel.__new__(Kernel)
    kernel.name, kernel.signature = name, signature
    kernel.for_float32, kernel.for_float64 = for_float32, for_float64
    kernel.for_any = for_any
    return kernel
