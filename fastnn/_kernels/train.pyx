# The training loop's inner part: mini-batches of one size, each from the row gather
# through forward, loss, backward, L2, the divergence checks and the optimizer update,
# with no Python between the kernels (models/epoch.py builds it and owns the epoch).
#
# Every kernel call arrives bound, as a calls.Call; the loop runs their C functions
# directly, with the GIL released. A step that is not compiled (a user's own layer, a
# user's optimizer or a loss without a kernel) arrives as a Python callable and is run
# in place with the GIL held, so any network trains here, and the compiled steps run
# the same machine code as a call from Python: the results are the same bit for bit.
#
# Per batch b of a run, with the n rows order[start + b n ...]:
#   1. gather the rows of X, y (and the sample weights) into the batch buffers;
#   2. scale = 1 / n, or 1 / (sum of the batch's weights), 0 when that sum is 0;
#   3. forward; count the right predictions (argmax or threshold, count_mode);
#   4. the loss and its gradient (scale goes into the loss kernel's first real);
#      the per-sample losses are copied out to the epoch's losses[start ...];
#   5. unless scale is 0: backward, the L2 terms (dW += l2 scale W, each adding
#      l2 sum(W**2) to the penalty), then the divergence check of the gradients, the
#      optimizer step (its per-step rates, the step kernels' first reals, from
#      `rates`) and the check of the weights.
# A run stops after `max_batches` batches, or once `budget` seconds have passed at the
# end of a batch, so the caller updates progress, and a Ctrl-C lands, between batches.
cimport numpy as cnp
import numpy as np
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.ref cimport PyObject
from libc.math cimport isfinite
from libc.string cimport memcpy
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

from fastnn._kernels.calls cimport MAX_REALS, Call, Op, OpFunction

cnp.import_array()

_NO_RATES = np.empty((0, 1))

# What run() found: every batch went through, or a divergence stopped it before the
# bad values entered the weights (the caller restores the epoch's starting state).
cdef enum:
    _OK = 0
    _GRADIENT_DIVERGED = 1
    _WEIGHTS_DIVERGED = 2

# How the right predictions are counted (count_mode).
cdef enum:
    _COUNT_NONE = 0
    _COUNT_ARGMAX_LABELS = 1      # argmax of an output row == the intp label
    _COUNT_ARGMAX_TARGETS = 2     # argmax of an output row == argmax of its target row
    _COUNT_THRESHOLD = 3          # per output: (output > threshold) == (target > 0.5)

OK, GRADIENT_DIVERGED, WEIGHTS_DIVERGED = _OK, _GRADIENT_DIVERGED, _WEIGHTS_DIVERGED
COUNT_NONE, COUNT_ARGMAX_LABELS = _COUNT_NONE, _COUNT_ARGMAX_LABELS
COUNT_ARGMAX_TARGETS, COUNT_THRESHOLD = _COUNT_ARGMAX_TARGETS, _COUNT_THRESHOLD


ctypedef struct Step:
    OpFunction function      # NULL: call `callable` (with the GIL)
    Op* op
    PyObject* callable


cdef double _now() noexcept nogil:
    cdef timespec t
    clock_gettime(CLOCK_MONOTONIC, &t)
    return t.tv_sec + 1e-9 * t.tv_nsec


cdef class _Steps:
    """A list of runs (Calls or Python callables) as a C array; holds the list."""
    cdef Step* steps
    cdef Py_ssize_t n
    cdef list runs

    def __cinit__(self, runs):
        cdef Py_ssize_t i
        cdef Call call
        self.runs = list(runs)
        self.n = len(self.runs)
        self.steps = <Step*>PyMem_Malloc(max(self.n, 1) * sizeof(Step))
        if self.steps == NULL:
            raise MemoryError()
        for i, run in enumerate(self.runs):
            if isinstance(run, Call):
                call = <Call>run
                if call.function == NULL:
                    raise TypeError("a Call is made by Kernel.bind")
                self.steps[i].function, self.steps[i].op = call.function, &call.op
                self.steps[i].callable = NULL
            elif callable(run):
                self.steps[i].function, self.steps[i].op = NULL, NULL
                self.steps[i].callable = <PyObject*>run
            else:
                raise TypeError(f"a run must be a Call or callable, got {run!r}")

    def __dealloc__(self):
        PyMem_Free(self.steps)

    cdef int run(self) except -1 nogil:
        cdef Py_ssize_t i
        for i in range(self.n):
            if self.steps[i].function != NULL:
                self.steps[i].function(self.steps[i].op)
            else:
                with gil:
                    (<object>self.steps[i].callable)()
        return 0


cdef int _check_rows(str name, cnp.ndarray array, cnp.ndarray rows, object dtype,
                     int ndim) except -1:
    """``array`` C-contiguous and aligned, ``ndim``-D, one row per index of ``rows``,
    of ``dtype`` (None: float32 or float64)."""
    if dtype is None:
        if array.dtype != np.float32 and array.dtype != np.float64:
            raise TypeError(f"{name} must be float32 or float64, got {array.dtype}")
    elif array.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {array.dtype}")
    if (not cnp.PyArray_ISCARRAY(array) or array.ndim != ndim
            or array.shape[0] != rows.shape[0]):
        raise ValueError(
            f"{name} must be a writeable C-contiguous {ndim}-D array of "
            f"{rows.shape[0]} rows"
        )
    return 0


cdef Call _call(object run, str what):
    if not isinstance(run, Call) or (<Call>run).function == NULL:
        raise TypeError(f"{what} must be a bound kernel call, got {run!r}")
    return <Call>run


cdef inline bint _all_finite(const void* data, Py_ssize_t n, bint is_float32) noexcept nogil:
    cdef Py_ssize_t i
    if is_float32:
        for i in range(n):
            if not isfinite((<const float*>data)[i]):
                return False
    else:
        for i in range(n):
            if not isfinite((<const double*>data)[i]):
                return False
    return True


cdef inline double _value(const void* data, Py_ssize_t i, bint is_float32) noexcept nogil:
    return (<const float*>data)[i] if is_float32 else (<const double*>data)[i]


cdef inline Py_ssize_t _argmax(const void* data, Py_ssize_t start, Py_ssize_t k,
                               bint is_float32) noexcept nogil:
    # NOTE: as np.argmax: the first maximum, and the first NaN wins over any number.
    cdef Py_ssize_t c, best = 0
    cdef double value, top = _value(data, start, is_float32)
    for c in range(1, k):
        value = _value(data, start + c, is_float32)
        if value > top or (value != value and top == top):
            best, top = c, value
    return best


cdef class BatchLoop:
    """Mini-batches of ``rows.shape[0]`` rows, bound once (see the module comment);
    :meth:`set_gathers` and :meth:`set_update` bind a fit's data and optimizer,
    :meth:`run` runs batches.

    ``rows``: the batch's intp index buffer the gathers read; ``weights``: the
    gathered sample weights or None; ``forward`` and ``backward``:
    runs; ``output`` and ``targets``: the forward's output and the gathered y, read
    to count right predictions by ``count_mode``; ``loss``: a Call of a loss kernel
    (its first real is the scale, divided by ``loss_divisor``; its per-sample losses,
    ``batch_losses``, are multiplied by ``loss_multiplier``) or a callable
    ``loss(scale)`` filling ``batch_losses`` and the gradient; ``penalties``: (Call of
    sum_of_squares on W, Call of axpy(W, dW), l2) for each penalized kernel;
    ``grads_check`` and ``params_check``: Calls of sum_of_squares on the flat
    gradients and weights (None without a backward). The arrays are held: the loop
    reads them through pointers, so their shapes and dtypes are checked here.
    """
    cdef Py_ssize_t batch_rows
    cdef Py_ssize_t* rows
    cdef object _keep
    cdef _Steps gathers, forward, backward, optimizer_calls
    cdef object optimizer_callable, loss_callable
    cdef Call loss_call, grads_check, params_check
    cdef bint is_float32, has_backward
    cdef const void* weights
    cdef const void* output
    cdef const void* targets
    cdef Py_ssize_t n_outputs
    cdef int count_mode
    cdef double threshold, loss_divisor, loss_multiplier
    cdef void* batch_losses
    cdef Py_ssize_t loss_bytes
    cdef list penalty_calls
    cdef Py_ssize_t n_penalties
    cdef Op** penalty_sums
    cdef Op** penalty_axpys
    cdef OpFunction sum_function, axpy_function
    cdef double* penalty_l2
    # what the last run did (kept on the object so an interrupted run still counts)
    cdef int status
    cdef Py_ssize_t batches, steps, right
    cdef double penalty

    def __cinit__(self):
        self.penalty_sums = self.penalty_axpys = NULL
        self.penalty_l2 = NULL

    def __init__(self, cnp.ndarray rows, weights, forward, output, targets,
                 int count_mode, double threshold, loss, double loss_divisor,
                 double loss_multiplier, cnp.ndarray batch_losses, backward,
                 penalties, grads_check, params_check):
        cdef Py_ssize_t i
        cdef Call sums, axpys
        if cnp.PyArray_TYPE(rows) != cnp.NPY_INTP or not cnp.PyArray_ISCARRAY(rows):
            raise TypeError("rows must be a writeable C-contiguous intp array")
        if cnp.PyArray_SIZE(rows) == 0:
            raise ValueError("a batch needs at least one row")
        _check_rows("output", output, rows, None, 2)
        _check_rows("batch_losses", batch_losses, rows, output.dtype, 1)
        if weights is not None:
            _check_rows("weights", weights, rows, output.dtype, 1)
        if count_mode == _COUNT_ARGMAX_LABELS:
            _check_rows("targets", targets, rows, np.intp, 1)
        elif count_mode != _COUNT_NONE:
            _check_rows("targets", targets, rows, output.dtype, 2)
            if cnp.PyArray_DIM(targets, 1) != cnp.PyArray_DIM(output, 1):
                raise ValueError("targets must have as many columns as output")
        self.batch_rows = cnp.PyArray_SIZE(rows)
        self.rows = <Py_ssize_t*>cnp.PyArray_DATA(rows)
        self.is_float32 = cnp.PyArray_TYPE(output) == cnp.NPY_FLOAT32
        self._keep = (rows, weights, output, targets, batch_losses, loss)
        self.gathers = self.optimizer_calls = self.optimizer_callable = None
        self.forward, self.backward = _Steps(forward), _Steps(backward)
        self.has_backward = len(backward) > 0
        self.weights = NULL if weights is None else cnp.PyArray_DATA(weights)
        self.output, self.targets = cnp.PyArray_DATA(output), cnp.PyArray_DATA(targets)
        self.n_outputs = cnp.PyArray_DIM(output, 1)
        self.count_mode, self.threshold = count_mode, threshold
        self.loss_call = loss if isinstance(loss, Call) else None
        self.loss_callable = None if isinstance(loss, Call) else loss
        self.loss_divisor, self.loss_multiplier = loss_divisor, loss_multiplier
        self.batch_losses = cnp.PyArray_DATA(batch_losses)
        self.loss_bytes = cnp.PyArray_NBYTES(batch_losses)
        if self.has_backward:  # else a model without weights: nothing to check
            self.grads_check = _call(grads_check, "grads_check")
            self.params_check = _call(params_check, "params_check")
        self.penalty_calls = list(penalties)
        self.n_penalties = len(self.penalty_calls)
        if self.n_penalties:
            self.penalty_sums = <Op**>PyMem_Malloc(self.n_penalties * sizeof(Op*))
            self.penalty_axpys = <Op**>PyMem_Malloc(self.n_penalties * sizeof(Op*))
            self.penalty_l2 = <double*>PyMem_Malloc(self.n_penalties * sizeof(double))
            if not (self.penalty_sums and self.penalty_axpys and self.penalty_l2):
                raise MemoryError()
            for i, (sums_run, axpy_run, l2) in enumerate(self.penalty_calls):
                sums = _call(sums_run, "a penalty's sum of squares")
                axpys = _call(axpy_run, "a penalty's axpy")
                self.penalty_sums[i], self.penalty_axpys[i] = &sums.op, &axpys.op
                self.sum_function, self.axpy_function = sums.function, axpys.function
                self.penalty_l2[i] = l2

    def set_gathers(self, gathers):
        """Bind this fit's data: ``gathers``, the Calls of take_rows from X, y (and
        the sample weights) through ``rows`` into the batch buffers (None: drop them,
        a fit's data is not kept past the fit)."""
        self.gathers = None if gathers is None else _Steps(
            [_call(run, "a gather") for run in gathers]
        )

    def set_update(self, optimizer):
        """Bind the optimizer's step: a list of Calls of step kernels (their first
        real is the rate) or a callable taking no argument."""
        if isinstance(optimizer, (list, tuple)):
            self.optimizer_callable = None
            self.optimizer_calls = _Steps(
                [_call(run, "an optimizer step") for run in optimizer]
            )
        elif callable(optimizer):
            self.optimizer_callable, self.optimizer_calls = optimizer, _Steps([])
        else:
            raise TypeError(f"optimizer must be Calls or a callable, got {optimizer!r}")

    def __dealloc__(self):
        PyMem_Free(self.penalty_sums)
        PyMem_Free(self.penalty_axpys)
        PyMem_Free(self.penalty_l2)

    cdef Py_ssize_t _count(self) noexcept nogil:
        cdef Py_ssize_t i, c, right = 0, n = self.batch_rows, k = self.n_outputs
        if self.count_mode == _COUNT_ARGMAX_LABELS:
            for i in range(n):
                right += _argmax(self.output, i * k, k, self.is_float32) == (
                    <const Py_ssize_t*>self.targets)[i]
        elif self.count_mode == _COUNT_ARGMAX_TARGETS:
            for i in range(n):
                right += _argmax(self.output, i * k, k, self.is_float32) == _argmax(
                    self.targets, i * k, k, self.is_float32)
        elif self.count_mode == _COUNT_THRESHOLD:
            for i in range(n * k):
                right += (_value(self.output, i, self.is_float32) > self.threshold) == (
                    _value(self.targets, i, self.is_float32) > 0.5)
        return right

    def run(self, const Py_ssize_t[::1] order, Py_ssize_t start, Py_ssize_t max_batches,
            optimizer, rates, cnp.ndarray losses, double budget):
        """Run up to ``max_batches`` batches from row ``start`` of ``order`` (stopping
        early once ``budget`` seconds have passed); per-sample losses go to
        ``losses[start ...]``. With Calls for the update (set_update), ``rates[s]``
        (float64, at least ``max_batches`` rows) is the rate of this run's s-th
        step, set as each Call's first real (a 2-D ``rates`` of k columns sets the
        first k reals: Nadam's three per-step scalars), and ``optimizer`` has its
        ``iterations`` advanced by the steps taken, also when a run is interrupted
        (no Python runs between the last step and that count, so a Ctrl-C cannot
        leave them apart).

        Returns ``(status, batches, steps, right, penalty)``: OK or the divergence
        (found in the last batch run, before its step or after it), the batches run,
        the optimizer steps taken, the right predictions counted, and the summed
        penalty sum(l2 * sum(W**2)) over the batches stepped (before their update).
        """
        cdef Py_ssize_t n = self.batch_rows
        cdef const double[:, ::1] step_rates = _NO_RATES
        cdef char* losses_data = <char*>cnp.PyArray_DATA(losses)
        cdef Py_ssize_t loss_item = self.loss_bytes // n
        if self.gathers is None or self.optimizer_calls is None:
            raise RuntimeError("set_gathers and set_update first")
        if max_batches < 0 or start < 0 or start + max_batches * n > order.shape[0]:
            raise ValueError("the batches run past the end of order")
        if (not cnp.PyArray_ISCARRAY(losses) or cnp.PyArray_ITEMSIZE(losses) != loss_item
                or cnp.PyArray_SIZE(losses) < start + max_batches * n):
            raise ValueError("losses must be a C-contiguous array of one loss per row")
        if max_batches == 0:
            return _OK, 0, 0, 0, 0.0
        if self.optimizer_callable is None:
            rates = np.asarray(rates)
            step_rates = rates.reshape(-1, 1) if rates.ndim == 1 else rates
            if step_rates.shape[0] < max_batches:
                raise ValueError("rates must hold a rate for every batch of the run")
            if not 1 <= step_rates.shape[1] <= MAX_REALS:
                raise ValueError(f"rates must have 1 to {MAX_REALS} columns")
        try:
            self._loop(order, start, max_batches, step_rates, losses_data, budget)
        finally:
            if self.optimizer_callable is None:
                optimizer.iterations += self.steps
        return self.status, self.batches, self.steps, self.right, self.penalty

    cdef int _loop(self, const Py_ssize_t[::1] order, Py_ssize_t start,
                   Py_ssize_t max_batches, const double[:, ::1] rates,
                   char* losses_data, double budget) except -1:
        cdef Py_ssize_t b = 0, i, j, right = 0, n = self.batch_rows
        cdef Py_ssize_t n_rates = rates.shape[1]
        cdef Py_ssize_t row = start, loss_item = self.loss_bytes // n
        cdef int status = _OK
        cdef double scale, total, penalty = 0, batch_penalty, began
        cdef Op* op
        self.status, self.batches, self.steps, self.right, self.penalty = _OK, 0, 0, 0, 0
        with nogil:
            began = _now()
            while b < max_batches:
                memcpy(self.rows, &order[row], n * sizeof(Py_ssize_t))
                self.gathers.run()
                if self.weights != NULL:
                    total = 0
                    for i in range(n):
                        total += _value(self.weights, i, self.is_float32)
                    scale = 1.0 / total if total > 0 else 0.0
                else:
                    scale = 1.0 / n
                self.forward.run()
                right += self._count()
                if self.loss_call is not None:
                    op = &self.loss_call.op
                    op.real[0] = scale / self.loss_divisor
                    self.loss_call.function(op)
                    if self.loss_multiplier != 1:
                        self._multiply_losses()
                else:
                    with gil:
                        self.loss_callable(scale)
                memcpy(losses_data + row * loss_item, self.batch_losses, self.loss_bytes)
                b += 1
                row += n
                if scale != 0 and self.has_backward:
                    self.backward.run()
                    batch_penalty = 0
                    for i in range(self.n_penalties):
                        if self.penalty_l2[i] != 0:
                            batch_penalty += self.penalty_l2[i] * self.sum_function(
                                self.penalty_sums[i])
                        self.penalty_axpys[i].real[0] = self.penalty_l2[i] * scale
                        self.axpy_function(self.penalty_axpys[i])
                    penalty += batch_penalty
                    # NOTE: a sum of squares is finite only if every term is, so one
                    # BLAS dot stands in for isfinite; when it overflows on finite
                    # values, the exact check decides.
                    op = &self.grads_check.op
                    if not isfinite(self.grads_check.function(op)) and not _all_finite(
                            op.data[0], op.size[0], self.is_float32):
                        status = _GRADIENT_DIVERGED
                        break
                    if self.optimizer_callable is not None:
                        with gil:
                            self.optimizer_callable()
                    else:
                        for i in range(self.optimizer_calls.n):
                            for j in range(n_rates):
                                self.optimizer_calls.steps[i].op.real[j] = (
                                    rates[self.steps, j])
                        self.optimizer_calls.run()
                    self.steps += 1  # here, not at the end: an interrupt may come
                    op = &self.params_check.op
                    if not isfinite(self.params_check.function(op)) and not _all_finite(
                            op.data[0], op.size[0], self.is_float32):
                        status = _WEIGHTS_DIVERGED
                        break
                if _now() - began >= budget:
                    break
        self.status, self.batches, self.right, self.penalty = status, b, right, penalty
        return 0

    cdef void _multiply_losses(self) noexcept nogil:
        cdef Py_ssize_t i
        cdef float factor32 = <float>self.loss_multiplier
        if self.is_float32:
            for i in range(self.batch_rows):
                (<float*>self.batch_losses)[i] = (<float*>self.batch_losses)[i] * factor32
        else:
            for i in range(self.batch_rows):
                (<double*>self.batch_losses)[i] = (
                    (<double*>self.batch_losses)[i] * self.loss_multiplier)
