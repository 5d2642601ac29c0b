# GEMM and GEMV through SciPy (scipy.linalg.cython_blas), cimported by blas.pyx and
# logistic.pyx: float32 and float64 by fused type, the column-major reference
# signatures, operands passed as const pointers. A row-major matrix is its transpose in
# column-major, so a row-major C = A B is the column-major call C^T = B^T A^T.
from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, dgemv, sgemm, sgemv


cdef inline void _gemm(
    char transa, char transb, int m, int n, int k,
    floating alpha, const floating* A, int lda, const floating* B, int ldb,
    floating beta, floating* C, int ldc,
) noexcept nogil:
    # Column-major C (m x n) = alpha op(A) op(B) + beta C, as in the reference BLAS.
    if floating is float:
        sgemm(&transa, &transb, &m, &n, &k, &alpha, <float*>A, &lda,
              <float*>B, &ldb, &beta, C, &ldc)
    else:
        dgemm(&transa, &transb, &m, &n, &k, &alpha, <double*>A, &lda,
              <double*>B, &ldb, &beta, C, &ldc)


cdef inline void _gemv(
    char trans, int m, int n, floating alpha, const floating* A, int lda,
    const floating* x, floating beta, floating* y,
) noexcept nogil:
    # Column-major y = alpha op(A) x + beta y, unit strides.
    cdef int one = 1
    if floating is float:
        sgemv(&trans, &m, &n, &alpha, <float*>A, &lda, <float*>x, &one, &beta, y, &one)
    else:
        dgemv(&trans, &m, &n, &alpha, <double*>A, &lda, <double*>x, &one, &beta, y, &one)
