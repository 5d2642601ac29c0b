# BLAS for blas.pyx and logistic.pyx: GEMM, GEMV, dot and axpy of the newest OpenBLAS
# (the scipy-openblas32 wheel, whose symbols carry a scipy_ prefix; setup.py links it,
# fastnn.ops loads it before these modules). float32 and float64 by fused type, the
# column-major reference signatures, operands passed as const pointers. A row-major
# matrix is its transpose in column-major, so a row-major C = A B is the column-major
# call C^T = B^T A^T.
from cython cimport floating

cdef extern from *:
    """
    void scipy_sgemm_(const char *, const char *, const int *, const int *, const int *,
                      const float *, const float *, const int *, const float *,
                      const int *, const float *, float *, const int *);
    void scipy_dgemm_(const char *, const char *, const int *, const int *, const int *,
                      const double *, const double *, const int *, const double *,
                      const int *, const double *, double *, const int *);
    void scipy_sgemv_(const char *, const int *, const int *, const float *,
                      const float *, const int *, const float *, const int *,
                      const float *, float *, const int *);
    void scipy_dgemv_(const char *, const int *, const int *, const double *,
                      const double *, const int *, const double *, const int *,
                      const double *, double *, const int *);
    float scipy_sdot_(const int *, const float *, const int *, const float *,
                      const int *);
    double scipy_ddot_(const int *, const double *, const int *, const double *,
                       const int *);
    void scipy_saxpy_(const int *, const float *, const float *, const int *, float *,
                      const int *);
    void scipy_daxpy_(const int *, const double *, const double *, const int *,
                      double *, const int *);
    """
    void scipy_sgemm_(const char*, const char*, const int*, const int*, const int*,
                      const float*, const float*, const int*, const float*, const int*,
                      const float*, float*, const int*) noexcept nogil
    void scipy_dgemm_(const char*, const char*, const int*, const int*, const int*,
                      const double*, const double*, const int*, const double*,
                      const int*, const double*, double*, const int*) noexcept nogil
    void scipy_sgemv_(const char*, const int*, const int*, const float*, const float*,
                      const int*, const float*, const int*, const float*, float*,
                      const int*) noexcept nogil
    void scipy_dgemv_(const char*, const int*, const int*, const double*,
                      const double*, const int*, const double*, const int*,
                      const double*, double*, const int*) noexcept nogil
    float scipy_sdot_(const int*, const float*, const int*, const float*,
                      const int*) noexcept nogil
    double scipy_ddot_(const int*, const double*, const int*, const double*,
                       const int*) noexcept nogil
    void scipy_saxpy_(const int*, const float*, const float*, const int*, float*,
                      const int*) noexcept nogil
    void scipy_daxpy_(const int*, const double*, const double*, const int*, double*,
                      const int*) noexcept nogil


cdef inline void _gemm(
    char transa, char transb, int m, int n, int k,
    floating alpha, const floating* A, int lda, const floating* B, int ldb,
    floating beta, floating* C, int ldc,
) noexcept nogil:
    # Column-major C (m x n) = alpha op(A) op(B) + beta C, as in the reference BLAS.
    if floating is float:
        scipy_sgemm_(&transa, &transb, &m, &n, &k, &alpha, A, &lda, B, &ldb, &beta, C,
                     &ldc)
    else:
        scipy_dgemm_(&transa, &transb, &m, &n, &k, &alpha, A, &lda, B, &ldb, &beta, C,
                     &ldc)


cdef inline void _gemv(
    char trans, int m, int n, floating alpha, const floating* A, int lda,
    const floating* x, floating beta, floating* y,
) noexcept nogil:
    # Column-major y = alpha op(A) x + beta y, unit strides.
    cdef int one = 1
    if floating is float:
        scipy_sgemv_(&trans, &m, &n, &alpha, A, &lda, x, &one, &beta, y, &one)
    else:
        scipy_dgemv_(&trans, &m, &n, &alpha, A, &lda, x, &one, &beta, y, &one)


cdef inline floating _dot(int n, const floating* x, const floating* y) noexcept nogil:
    # sum x_i y_i, unit strides.
    cdef int one = 1
    if floating is float:
        return scipy_sdot_(&n, x, &one, y, &one)
    else:
        return scipy_ddot_(&n, x, &one, y, &one)


cdef inline void _axpy(int n, floating alpha, const floating* x, floating* y) noexcept nogil:
    # y += alpha x, unit strides.
    cdef int one = 1
    if floating is float:
        scipy_saxpy_(&n, &alpha, x, &one, y, &one)
    else:
        scipy_daxpy_(&n, &alpha, x, &one, y, &one)


# SYRK for newton_dense.pyx (the Newton solvers' Hessian X^T D X).
cdef extern from *:
    """
    void scipy_ssyrk_(const char *, const char *, const int *, const int *,
                      const float *, const float *, const int *, const float *,
                      float *, const int *);
    void scipy_dsyrk_(const char *, const char *, const int *, const int *,
                      const double *, const double *, const int *, const double *,
                      double *, const int *);
    """
    void scipy_ssyrk_(const char*, const char*, const int*, const int*, const float*,
                      const float*, const int*, const float*, float*,
                      const int*) noexcept nogil
    void scipy_dsyrk_(const char*, const char*, const int*, const int*, const double*,
                      const double*, const int*, const double*, double*,
                      const int*) noexcept nogil


cdef inline void _syrk(
    char uplo, char trans, int n, int k, floating alpha, const floating* A, int lda,
    floating beta, floating* C, int ldc,
) noexcept nogil:
    # Column-major C (n x n, triangle uplo) = alpha op(A) op(A)^T + beta C.
    if floating is float:
        scipy_ssyrk_(&uplo, &trans, &n, &k, &alpha, A, &lda, &beta, C, &ldc)
    else:
        scipy_dsyrk_(&uplo, &trans, &n, &k, &alpha, A, &lda, &beta, C, &ldc)


cdef inline void _block_logits(
    const floating* x, Py_ssize_t rows, Py_ssize_t d, const floating* W,
    const floating* b, bint with_bias, floating* Z, Py_ssize_t k,
) noexcept nogil:
    # Z (rows, k) = x W + b for a row-major block x (rows, d) and W (d, k); b is not
    # read without with_bias (Z starts at 0). d = 0 leaves Z = b: BLAS takes no zero
    # leading dimension.
    cdef Py_ssize_t r, c
    for r in range(rows):
        for c in range(k):
            Z[r * k + c] = b[c] if with_bias else 0
    if d == 0:
        return
    if k == 1:
        # column-major x^T is (d x rows): z = (x^T)^T w (GEMM is slow with one column)
        _gemv(c"T", <int>d, <int>rows, 1, x, <int>d, W, 1, Z)
    else:
        # column-major Z^T (k x rows) = W^T (k x d) x^T (d x rows)
        _gemm(c"N", c"N", <int>k, <int>rows, <int>d, 1, W, <int>k, x, <int>d, 1, Z,
              <int>k)


cdef inline void _block_add_xt(
    const floating* x, Py_ssize_t rows, Py_ssize_t d, const floating* G,
    floating* out, Py_ssize_t k,
) noexcept nogil:
    # out (d, k) += x^T G for a row-major block x (rows, d) and G (rows, k).
    if d == 0:
        return
    if k == 1:
        _gemv(c"N", <int>d, <int>rows, 1, x, <int>d, G, 1, out)
    else:
        # column-major out^T (k x d) += G^T (k x rows) x (rows x d)
        _gemm(c"N", c"T", <int>k, <int>d, <int>rows, 1, G, <int>k, x, <int>d, 1, out,
              <int>k)
