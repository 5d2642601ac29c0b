"""The one door into fastnn's compiled kernels.

Every function here checks its arrays before a kernel sees them: they must be
``numpy.ndarray`` of one floating dtype (float32 or float64, never mixed; ``take_rows``
also gathers intp labels), C-contiguous, with matching shapes; outputs must be writeable
and must not overlap an input unless the function says in-place is allowed. A bad call
raises ``TypeError`` (wrong type or dtype) or ``ValueError`` (wrong shape, layout,
range), naming the argument. Kernels run with bounds checks off, so nothing reaches
them that could be read or written out of bounds. NaN and inf are not searched for
(that would cost a pass over the data); they propagate as in NumPy. Arithmetic is in
the inputs' dtype, so where an intermediate overflows (a float32 ``X @ W`` past 3.4e38)
the result is inf or NaN even when the exact answer would be finite. Validation of user
data belongs to the layers and estimators.

Outputs are allocated when ``out`` is None, else written into ``out`` and returned;
the dtype of the inputs is the dtype of the outputs. Where a function allows in-place
work, ``out`` may be the input array itself (the same object); any other overlap is
refused.

Element-wise kernels split arrays above 131,072 elements across OpenMP's threads
(when built with OpenMP). In a loop that interleaves them with BLAS calls, limit one
pool with ``threadpoolctl.threadpool_limits(1, user_api="openmp")``: the two pools'
spinning threads otherwise fight for the cores (see README, "Building").

On x86-64 the element-wise kernels exist in two builds; the AVX2+FMA one is used when
the CPU has it (``SIMD == "avx2"``). Set ``FASTNN_SIMD=baseline`` before importing
fastnn to force the portable build.

One module per kernel family: ``activations`` (with maxout and dropout), ``losses``
(softmax and the losses), ``dense`` (GEMM), ``optimizers`` (updates, L2 penalty, sum
of squares), ``rows`` (take_rows), ``sparse`` (CSR products and row gathers);
``checks`` holds the array checks, the layers above
take theirs from it. ``_loader`` is the one module that imports compiled code (and
picks the SIMD build), ``_bind`` holds :func:`bind`, ``_logistic`` the logistic
regression kernels' door, private to the estimators.
"""

from fastnn.ops._bind import bind
from fastnn.ops._loader import SIMD
from fastnn.ops.activations import (
    dropout,
    dropout_backward,
    elu,
    elu_backward,
    leaky_relu,
    leaky_relu_backward,
    maxout,
    maxout_backward,
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
    tanh,
    tanh_backward,
)
from fastnn.ops.checks import (  # noqa: F401 (reachable as fastnn.ops.X, as they were)
    FLOATS,
    check_float,
    check_like,
    check_positive_int,
    check_scalar,
    check_writeable,
    may_overlap,
    output,
)
from fastnn.ops.dense import dense_backward, dense_forward
from fastnn.ops.losses import (
    binary_cross_entropy,
    log_softmax,
    softmax,
    softmax_backward,
    softmax_cross_entropy,
    squared_error,
)
from fastnn.ops.optimizers import (
    adadelta_update,
    adagrad_update,
    adam_update,
    adamax_update,
    l2_penalty,
    momentum_update,
    nadam_update,
    rmsprop_update,
    sgd_update,
    sum_of_squares,
)
from fastnn.ops.rows import take_rows
from fastnn.ops.sparse import (
    CSR,
    csr_matmul,
    csr_rows_buffer,
    csr_t_matmul,
    csr_take_rows,
    csr_transpose,
)

__all__ = [
    "SIMD", "bind",
    "sigmoid", "sigmoid_backward", "tanh", "tanh_backward",
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward",
    "elu", "elu_backward", "maxout", "maxout_backward", "dropout", "dropout_backward",
    "softmax", "softmax_backward", "log_softmax",
    "softmax_cross_entropy", "binary_cross_entropy", "squared_error",
    "dense_forward", "dense_backward",
    "sgd_update", "momentum_update", "adam_update", "l2_penalty",
    "rmsprop_update", "adagrad_update", "adadelta_update", "adamax_update",
    "nadam_update",
    "take_rows",
    "sum_of_squares",
    "CSR", "csr_matmul", "csr_t_matmul", "csr_transpose", "csr_rows_buffer",
    "csr_take_rows",
]
