# One C calling convention for every kernel, so a bound call is a C function pointer and
# its arguments, run with no Python in between (see calls.pyx).
#
# A kernel is a pair of `double f(Op*) noexcept nogil` functions, one per float dtype;
# the Op holds its arguments in the order of the kernel's signature: the arrays' data
# pointers and shapes, the real scalars and the integer (or bool) scalars, each kind
# numbered from 0. What f returns is the kernel's result (a sum, a bad index), else 0.

cdef enum:
    MAX_ARRAYS = 8
    MAX_REALS = 6
    MAX_INTEGERS = 4


ctypedef struct Op:
    void* data[MAX_ARRAYS]
    Py_ssize_t size[MAX_ARRAYS]      # elements
    Py_ssize_t rows[MAX_ARRAYS]      # shape[0] (size of a 1-D array)
    Py_ssize_t cols[MAX_ARRAYS]      # shape[1], 1 for a 1-D array
    Py_ssize_t itemsize[MAX_ARRAYS]
    double real[MAX_REALS]
    Py_ssize_t integer[MAX_INTEGERS]


ctypedef double (*OpFunction)(Op* op) noexcept nogil


cdef class Kernel:
    cdef readonly str name
    cdef readonly str signature    # one letter per argument: A array, r real, i integer
    cdef OpFunction for_float32
    cdef OpFunction for_float64
    cdef OpFunction for_any        # a kernel that copies bytes serves every dtype
    cdef int pack(self, tuple args, Op* op, OpFunction* function) except -1


cdef class Call:
    cdef Op op
    cdef OpFunction function
    cdef readonly Kernel kernel
    cdef readonly tuple args       # held: the arrays must outlive the call


cdef Kernel new_kernel(str name, str signature, OpFunction for_float32,
                       OpFunction for_float64, OpFunction for_any=*)
