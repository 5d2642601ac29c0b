"""The SAG/SAGA kernels' door: private to :mod:`fastnn.estimators`.

``SagData`` checks X (dense, or CSR with int32 or int64 indices, never copied), the
labels and the sample weights once; ``SagState`` allocates what SAG carries from one
epoch to the next; ``sag_epochs`` checks the weights and the state and runs epochs.
Checked as every op is (see :mod:`fastnn.ops`).
"""

import numpy as np
import scipy.sparse

from fastnn.ops._loader import sag_csr_kernels, sag_dense_kernels
from fastnn.ops.checks import (
    check_csr,
    check_float,
    check_index_array,
    check_positive_int,
    check_sample_weight,
    check_scalar,
    check_writeable,
    fit_dtype,
    may_overlap,
)

# sag_epochs' outcomes
RAN_ALL, CONVERGED, DIVERGED = 0, 1, -1

class SagData:
    """The rows SAG draws from, checked once for many epochs.

    ``X`` (n_samples, n_features): a C-contiguous float32/float64 ndarray or a SciPy
    CSR matrix/array of that dtype with int32 or int64 indices (neither is copied).
    ``y``: intp labels, in {0, 1} when ``n_outputs == 1`` (the sigmoid neuron), else in
    [0, n_outputs) (softmax). ``sample_weight``: (n_samples,) of X's dtype, or None.
    """

    def __init__(self, X, y, n_outputs, sample_weight=None):
        self.sparse = scipy.sparse.issparse(X)
        if self.sparse:
            self.data, self.indices, self.indptr = check_csr(X)
            self.dtype = self.data.dtype
        else:
            check_float("X", X, ndim=2)
            self.X, self.dtype = X, X.dtype
        self.n_samples, self.n_features = X.shape
        if self.n_samples < 1 or self.n_features < 1:
            raise ValueError(f"X must have at least one row and one column, got {X.shape}")
        self.n_outputs = check_positive_int("n_outputs", n_outputs)
        if self.n_outputs == 2:
            raise ValueError("n_outputs is 1 (sigmoid) for two classes, or >= 3 (softmax)")
        check_index_array("y", y, self.n_samples, max(self.n_outputs, 2))
        self.y = y
        self.sample_weight = check_sample_weight(
            sample_weight, self.n_samples, self.dtype, reference="X"
        )

    def max_squared_row_norm(self):
        """max_i ||x_i||^2 (float), for the step size."""
        if self.sparse:
            return sag_csr_kernels.max_row_norm_csr(self.data, self.indptr)
        return sag_dense_kernels.max_row_norm_dense(self.X)


class SagState:
    """What SAG(A) carries across epochs for ``data``: the last gradient coefficient
    of each row (``memory``), their sum through X (``S``) and for the intercept
    (``b_sum``), which rows were drawn (``seen``, ``n_seen``), the weights at the last
    convergence check (``W_before``, zeros at the start as in scikit-learn), the random
    generator's state (from ``seed``) and the kernels' scratch."""

    def __init__(self, data, seed):
        n, d, k, dtype = data.n_samples, data.n_features, data.n_outputs, data.dtype
        self.memory = np.zeros((n, k), dtype)
        self.S = np.zeros((d, k), dtype)
        self.b_sum = np.zeros(k, dtype)
        self.seen = np.zeros(n, np.uint8)
        self.n_seen = np.zeros(1, np.intp)
        self.W_before = np.zeros((d, k), dtype)
        self.random_state = np.array([int(seed) % 2**64], np.uint64)
        self.scratch = np.zeros(2 * k, dtype)
        # the just-in-time step sums of CSR epochs (cumulative over a row's steps)
        sparse = data.sparse
        self.C = np.zeros(n + 1 if sparse else 1, dtype)
        self.P = np.zeros(n + 1 if sparse else 1, dtype)
        self.seen_at = np.zeros(n + 1 if sparse else 1, np.intp)
        self.last = np.zeros(d if sparse else 1, np.intp)
        self._shapes = {
            name: (getattr(self, name).shape, getattr(self, name).dtype)
            for name in (
                "memory", "S", "b_sum", "seen", "n_seen", "W_before", "random_state",
                "scratch", "C", "P", "seen_at", "last",
            )
        }

    def check(self):
        """Refuse a state whose arrays were replaced by ones the kernel cannot use."""
        for name, (shape, dtype) in self._shapes.items():
            array = getattr(self, name)
            if (
                not isinstance(array, np.ndarray)
                or array.shape != shape
                or array.dtype != dtype
                or not array.flags.c_contiguous
                or not array.flags.writeable
            ):
                raise ValueError(f"SagState.{name} must stay a writeable {dtype} {shape}")


def sag_epochs(
    data, W, b, state, *, step, l2=0.0, l1=0.0, saga=False, fit_intercept=True,
    tol=1e-4, n_epochs=1, weight_scale=1.0, intercept_decay=1.0,
):
    """Run up to ``n_epochs`` SAG (or SAGA) epochs on ``W`` (n_features, k), ``b``
    (k,) in place, minimising

        (1/n) sum_i weight_scale s_i loss_i + l1 ||W||_1 + (l2 / 2) ||W||^2

    with a constant ``step``; ``l1`` needs ``saga``. Each epoch draws n_samples rows
    with replacement; ``b`` moves only when ``fit_intercept``, its SAG steps scaled by
    ``intercept_decay`` (scikit-learn's 0.01 for sparse X). Stops after the first epoch
    where max |W - W_before| <= tol max |W|. Returns ``(epochs, outcome)``: the epochs
    run and ``CONVERGED``, ``RAN_ALL`` or ``DIVERGED`` (W, b or a loss became inf or
    NaN in the last epoch: W and b then hold garbage).

    >>> X = np.array([[0.0, 1.0], [1.0, 0.0]]); y = np.array([0, 1])
    >>> data = SagData(X, y, 1); state = SagState(data, seed=0)
    >>> W, b = np.zeros((2, 1)), np.zeros(1)
    >>> sag_epochs(data, W, b, state, step=0.5, l2=0.1, n_epochs=500, tol=1e-8)[1]
    1
    >>> bool(W[0, 0] > 0 > W[1, 0])  # feature 0 marks class 1, feature 1 class 0
    True
    """
    if not isinstance(data, SagData):
        raise TypeError(f"data must be a SagData, got {type(data).__name__}")
    if not isinstance(state, SagState):
        raise TypeError(f"state must be a SagState, got {type(state).__name__}")
    dtype, k = data.dtype, data.n_outputs
    for name, array, shape in (("W", W, (data.n_features, k)), ("b", b, (k,))):
        check_float(name, array, ndim=len(shape))
        if array.dtype != dtype:
            raise TypeError(f"{name} has dtype {array.dtype} but X has {dtype}")
        if array.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
        check_writeable(name, array)
    if may_overlap(W, b):
        raise ValueError("W overlaps b; pass separate arrays")
    state.check()
    if state.memory.shape[0] != data.n_samples or state.S.shape != W.shape:
        raise ValueError("state was made for other data")
    if state.C.shape[0] != (data.n_samples + 1 if data.sparse else 1):
        raise ValueError("state was made for other data")
    step = check_scalar("step", step, low=0.0, low_open=True)
    l2 = check_scalar("l2", l2, low=0.0)
    l1 = check_scalar("l1", l1, low=0.0)
    if l1 > 0 and not saga:
        raise ValueError("an L1 penalty needs saga=True (SAG has no proximal step)")
    tol = check_scalar("tol", tol, low=0.0)
    weight_scale = check_scalar("weight_scale", weight_scale, low=0.0)
    intercept_decay = check_scalar("intercept_decay", intercept_decay, low=0.0)
    fit_dtype(dtype, step=step, weight_scale=weight_scale)
    n_epochs = int(n_epochs)
    if n_epochs < 0:
        raise ValueError(f"n_epochs must be >= 0, got {n_epochs}")
    if n_epochs == 0:
        return 0, RAN_ALL
    common = (
        state.random_state, state.scratch,
    )
    if data.sparse:
        return sag_csr_kernels.sag_epochs_csr(
            data.data, data.indices, data.indptr, data.y, data.sample_weight,
            weight_scale, W, b, state.memory, state.S, state.b_sum, state.seen,
            state.n_seen, state.W_before, *common, state.C, state.P, state.seen_at,
            state.last, step, l2, l1, bool(saga), bool(fit_intercept), tol,
            intercept_decay, n_epochs,
        )
    return sag_dense_kernels.sag_epochs_dense(
        data.X, data.y, data.sample_weight, weight_scale, W, b, state.memory, state.S,
        state.b_sum, state.seen, state.n_seen, state.W_before, *common, step, l2, l1,
        bool(saga), bool(fit_intercept), tol, n_epochs,
    )
