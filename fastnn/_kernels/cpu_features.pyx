# What the running CPU can do, asked once by ops.py to pick a kernel build, and the
# size below which the kernels' loops stay on the calling thread (PARALLEL_MIN_SIZE,
# _math.pxd's, for Python code that makes the same serial/parallel choice).
# NOTE: __builtin_cpu_supports also checks that the OS saves the AVX registers (XCR0).
from fastnn._kernels._math cimport PARALLEL_MIN_SIZE as _PARALLEL_MIN_SIZE

PARALLEL_MIN_SIZE = _PARALLEL_MIN_SIZE

cdef extern from *:
    """
    #if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    static int fastnn_has_avx2_fma(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    #else
    static int fastnn_has_avx2_fma(void) { return 0; }
    #endif
    """
    int fastnn_has_avx2_fma() noexcept nogil


def has_avx2_fma():
    """True when the CPU (and OS) can run the AVX2+FMA kernel builds."""
    return bool(fastnn_has_avx2_fma())
