# Scalar numerics shared by the element-wise kernels: exp and expm1 of non-positive
# arguments, the stable sigmoid, tanh and elu built on them, and the serial/parallel rule.
# Everything is `cdef inline ... noexcept nogil` and branch-free (selects, no ifs), so gcc
# vectorises the loops that call it. float32 uses our own polynomial (glibc's expf is a
# scalar call, ~5 ns here); float64 uses libm, whose accuracy float64 users expect.
# NOTE: literals in float arithmetic are written <floating>1, never bare 1: Cython emits a
# bare literal as a C double and the whole float32 expression is then done in double.
from cython cimport floating
from libc.math cimport exp, expm1, log, log1p, log1pf, logf, tanh, sqrt, sqrtf
from libc.stdint cimport int32_t
from libc.string cimport memcpy

# NOTE: below this many elements a parallel region costs more than it saves (entering
# one costs about a microsecond even with one thread), and in a training loop it would
# wake OpenMP threads to fight OpenBLAS's for the same cores.
cdef enum:
    PARALLEL_MIN_SIZE = 131072


cdef inline bint _serial(Py_ssize_t n) noexcept nogil:
    """True when a loop over n elements should stay on the calling thread."""
    return n < PARALLEL_MIN_SIZE


cdef inline float _expf_parts(float x, float* scale) noexcept nogil:
    # exp(x) = scale * (q + 1) for -87.3 <= x <= 0, float32; returns q, writes scale.
    # NOTE: Cody-Waite reduction x = n ln2 + r with |r| <= ln2/2, Cephes' degree-6
    # polynomial q = expm1(r), and 2**n written straight into the exponent bits. n is
    # rounded by adding 1.5 * 2**23 (its ulp is 1), which avoids a float->int conversion
    # that gcc will not vectorise after a select.
    cdef float t, n, r, p
    cdef int32_t bits
    # NOTE: written so that NaN fails the test and stays NaN (x > -87.3 would clamp it).
    x = <float>-87.3 if x < <float>-87.3 else x
    t = x * <float>1.44269504088896341 + <float>12582912.0
    n = t - <float>12582912.0
    r = x - n * <float>0.693359375
    r = r - n * <float>-2.12194440e-4
    p = <float>1.9875691500e-4
    p = p * r + <float>1.3981999507e-3
    p = p * r + <float>8.3334519073e-3
    p = p * r + <float>4.1665795894e-2
    p = p * r + <float>1.6666665459e-1
    p = p * r + <float>5.0000001201e-1
    memcpy(&bits, &t, 4)
    bits = (bits - 0x4B400000 + 127) << 23
    memcpy(scale, &bits, 4)
    return p * r * r + r


cdef inline floating _exp_nonpos(floating x) noexcept nogil:
    # exp(x) for x <= 0 (callers guarantee the sign: exp(-|z|), exp(z - max)).
    # NOTE: float32 results below 2**-126 (x < -87.3) are flushed to 0, never subnormal.
    cdef float scale, q
    if floating is float:
        q = _expf_parts(x, &scale)
        return <float>0 if x < <float>-87.3 else (scale * q + scale)  # NaN stays NaN
    else:
        return exp(x)


cdef inline floating _expm1_nonpos(floating x) noexcept nogil:
    # exp(x) - 1 for x <= 0 without the cancellation of exp(x) - 1 near 0.
    # NOTE: with n = 0 (|x| < ln2/2) scale is exactly 1 and the result is q itself.
    cdef float scale, q
    if floating is float:
        q = _expf_parts(x, &scale)
        return <float>-1 if x < <float>-87.3 else (scale * q + (scale - <float>1))
    else:
        return expm1(x)


cdef inline floating _sigmoid(floating x) noexcept nogil:
    # NOTE: e = exp(-|x|) is in (0, 1], so nothing overflows; sigma(x) = 1/(1+e) for
    # x >= 0 and e/(1+e) for x < 0. Both sides are computed and selected (no branch).
    cdef floating ax = x if x >= 0 else -x
    cdef floating e = _exp_nonpos(-ax)
    cdef floating s = <floating>1 / (<floating>1 + e)
    return s * (1 if x >= 0 else e)


cdef inline floating _tanh(floating x) noexcept nogil:
    cdef floating ax, z, small, e, big
    if floating is double:
        return tanh(x)
    else:
        # NOTE: (1 - e)/(1 + e) with e = exp(-2|x|) loses all relative accuracy near 0,
        # so |x| < 0.625 uses Cephes' odd polynomial instead (the same split as tanhf).
        ax = x if x >= 0 else -x
        z = x * x
        small = ((((<float>-5.70498872745e-3 * z + <float>2.06390887954e-2) * z
                   - <float>5.37397155531e-2) * z + <float>1.33314422036e-1) * z
                 - <float>3.33332819422e-1) * z * x + x
        e = _exp_nonpos(<floating>-2 * ax)
        big = (<floating>1 - e) / (<floating>1 + e)
        big = big if x >= 0 else -big
        return small if ax < <float>0.625 else big


cdef inline floating _elu(floating x, floating alpha) noexcept nogil:
    # NOTE: expm1 keeps alpha * (e**x - 1) accurate for tiny negative x. The selects
    # test x <= 0, false for NaN, so NaN comes out NaN as in NumPy.
    cdef floating neg = x if x <= 0 else 0
    return alpha * _expm1_nonpos(neg) if x <= 0 else x


cdef inline floating _sqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline floating _log(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating _log1p(floating x) noexcept nogil:
    if floating is float:
        return log1pf(x)
    else:
        return log1p(x)
