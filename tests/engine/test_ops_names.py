"""fastnn.ops keeps every public name it has had (the functions in ``__all__`` and the
checks reachable through it), except the logistic regression kernels, now private to
the estimators (``fastnn.ops._logistic``)."""

import types

from fastnn import ops
from fastnn.ops import _logistic as logistic_ops

PUBLIC = {
    "SIMD", "bind",
    "sigmoid", "sigmoid_backward", "tanh", "tanh_backward",
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward",
    "elu", "elu_backward", "maxout", "maxout_backward", "dropout", "dropout_backward",
    "softmax", "softmax_backward", "log_softmax",
    "softmax_cross_entropy", "binary_cross_entropy", "squared_error",
    "dense_forward", "dense_backward",
    "sgd_update", "momentum_update", "adam_update", "l2_penalty", "sum_of_squares",
    "rmsprop_update", "adagrad_update", "adadelta_update", "adamax_update",
    "nadam_update",
    "take_rows",
    "CSR", "csr_matmul", "csr_t_matmul", "csr_transpose", "csr_rows_buffer",
    "csr_take_rows",
}
# Reachable as fastnn.ops.X though not in __all__: the array checks.
CHECKS = {
    "FLOATS", "check_float", "check_like", "check_positive_int", "check_scalar",
    "check_writeable", "may_overlap", "output",
}


def test_all_lists_the_public_operations():
    assert sorted(ops.__all__) == sorted(PUBLIC)
    assert len(ops.__all__) == len(set(ops.__all__))


def test_every_public_name_is_still_reachable():
    names = {
        name for name in dir(ops)
        if not name.startswith("_") and not isinstance(getattr(ops, name), types.ModuleType)
    }
    assert PUBLIC | CHECKS <= names


def test_logistic_kernels_are_private_to_the_estimators():
    for name in ("logistic_sgd_epoch", "logistic_loss_grad"):
        assert name not in ops.__all__ and not hasattr(ops, name)
        assert callable(getattr(logistic_ops, name))
