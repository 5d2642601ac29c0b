"""Losses, by Keras' names: they check targets and give per-sample losses and gradients.

``loss(output, y, ...)`` returns ``(per_sample_loss, dL/doutput)`` through ``ops``.
A cross-entropy whose matching activation ends the network (``fused_activation``) is
computed from the logits instead, ``from_logits(logits, y, ...)``: one fused kernel
gives the loss and the gradient p - y, never forming log(p) of a rounded probability.

=====================================  ============================================
``categorical_crossentropy``           one-hot (or probability) targets, softmax
``sparse_categorical_crossentropy``    integer labels, softmax
``binary_crossentropy``                targets in [0, 1], sigmoid; multi-label
``mse`` (``mean_squared_error``)       any real targets
=====================================  ============================================

Every per-sample loss is a mean over the outputs, as in Keras; the model averages it
over the samples.
"""

import numpy as np

from fastnn import ops

__all__ = ["Loss", "get", "NAMES"]

# NOTE: a probability from a non-fused output layer is clipped to [EPSILON, 1 - EPSILON]
# before its log is taken (Keras' epsilon), so log(0) never happens.
EPSILON = 1e-7


def _float_targets(y, n_samples, n_outputs, dtype, name, low=None, high=None):
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise ValueError(f"{name} needs numeric targets, got dtype {y.dtype}")
    if y.ndim == 1 and n_outputs == 1:
        y = y.reshape(-1, 1)
    if y.shape != (n_samples, n_outputs):
        raise ValueError(
            f"{name} needs targets of shape ({n_samples}, {n_outputs}) to match the "
            f"network's {n_outputs} outputs, got {y.shape}"
        )
    y = np.ascontiguousarray(y, dtype=dtype)
    if not np.isfinite(y).all():
        raise ValueError(f"{name}: y contains NaN or inf")
    if low is not None and y.size and (y.min() < low or y.max() > high):
        raise ValueError(f"{name} needs targets in [{low}, {high}]")
    return y


class Loss:
    """A loss by name: target checks, and the per-sample loss with its gradient."""

    name = None
    fused_activation = None

    def check_targets(self, y, n_samples, n_outputs, dtype):
        """``y`` as the kernels take it; ValueError naming a wrong shape or value."""
        raise NotImplementedError

    def __call__(self, output, y, sample_weight=None, scale=1.0, with_grad=True,
                 loss_out=None, grad_out=None):
        raise NotImplementedError

    def from_logits(self, logits, y, sample_weight=None, scale=1.0, with_grad=True,
                    loss_out=None, grad_out=None):
        raise NotImplementedError

    def bind_training(self, output, y, sample_weight, loss_out, grad_out, fused):
        """A mini-batch's loss and gradient bound to its buffers, for the training
        loop (:class:`fastnn.ops.training.BatchLoop`): ``(run, divisor, multiplier)``.
        ``run`` is a bound kernel call whose first real is scale / ``divisor`` and
        whose per-sample losses are then multiplied by ``multiplier``, or a callable
        ``run(scale)``; ``fused``: ``output`` holds the logits of the fused
        activation (:meth:`from_logits`)."""
        function = self.from_logits if fused else self

        def run(scale):
            function(output, y, sample_weight, scale, True, loss_out, grad_out)

        return run, 1.0, 1.0

    def __repr__(self):
        return f"<loss {self.name}>"


class CategoricalCrossentropy(Loss):
    """'categorical_crossentropy': -sum(y log p) over one-hot (or probability) targets;
    from the logits when a softmax ends the network."""

    name = "categorical_crossentropy"
    fused_activation = "softmax"

    def check_targets(self, y, n_samples, n_outputs, dtype):
        if np.ndim(y) == 1 and n_outputs > 1:
            raise ValueError(
                "categorical_crossentropy needs one-hot targets of shape "
                f"(n_samples, {n_outputs}); for integer labels use "
                "'sparse_categorical_crossentropy' or fastnn.utils.to_categorical(y)"
            )
        return _float_targets(y, n_samples, n_outputs, dtype, self.name, 0.0, 1.0)

    def from_logits(self, logits, y, sample_weight=None, scale=1.0, with_grad=True,
                    loss_out=None, grad_out=None):
        return ops.softmax_cross_entropy(
            logits, y, sample_weight, scale, with_grad, loss_out, grad_out
        )

    def bind_training(self, output, y, sample_weight, loss_out, grad_out, fused):
        if not fused or _overrides(self, CategoricalCrossentropy, "from_logits"):
            return super().bind_training(output, y, sample_weight, loss_out, grad_out, fused)
        return _bound(ops.softmax_cross_entropy, output, y, sample_weight, loss_out,
                      grad_out), 1.0, 1.0

    def __call__(self, output, y, sample_weight=None, scale=1.0, with_grad=True,
                 loss_out=None, grad_out=None):
        # The output layer is not a softmax: read the output as probabilities.
        p = np.clip(output, EPSILON, 1.0 - EPSILON)
        loss = -(y * np.log(p)).sum(axis=1)
        grad = None
        if with_grad:
            inside = (output > EPSILON) & (output < 1.0 - EPSILON)
            grad = np.where(inside, -y / p, 0.0).astype(output.dtype, copy=False)
            grad *= scale if sample_weight is None else scale * sample_weight[:, None]
        if sample_weight is not None:
            loss *= sample_weight
        return _into(loss, loss_out), _into(grad, grad_out)


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """'sparse_categorical_crossentropy': the categorical cross-entropy of integer
    labels 0 to n_outputs - 1."""

    name = "sparse_categorical_crossentropy"

    def check_targets(self, y, n_samples, n_outputs, dtype):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1 or y.shape[0] != n_samples:
            raise ValueError(
                f"{self.name} needs integer labels of shape ({n_samples},), got {y.shape}"
                + ("; for one-hot targets use 'categorical_crossentropy'" if y.ndim == 2 else "")
            )
        if y.dtype.kind == "f":
            if not np.isfinite(y).all() or (y != np.round(y)).any():
                raise ValueError(f"{self.name} needs integer labels, got non-integer floats")
        elif y.dtype.kind not in "iub":
            raise ValueError(f"{self.name} needs integer labels, got dtype {y.dtype}")
        if y.size and (y.min() < 0 or y.max() >= n_outputs):
            raise ValueError(
                f"labels must be in [0, {n_outputs}) for a network with {n_outputs} "
                f"outputs, got values in [{y.min()}, {y.max()}]"
            )
        return np.ascontiguousarray(y, dtype=np.intp)

    def __call__(self, output, y, sample_weight=None, scale=1.0, with_grad=True,
                 loss_out=None, grad_out=None):
        Y = np.zeros(output.shape, output.dtype)
        Y[np.arange(len(y)), y] = 1
        return super().__call__(output, Y, sample_weight, scale, with_grad, loss_out, grad_out)


class BinaryCrossentropy(Loss):
    """'binary_crossentropy': -(y log p + (1 - y) log(1 - p)) for targets in [0, 1],
    the mean over the outputs (multi-label); from the logits when a sigmoid ends the
    network."""

    name = "binary_crossentropy"
    fused_activation = "sigmoid"
    averages_outputs = True  # Keras' mean over the outputs; False sums them

    def check_targets(self, y, n_samples, n_outputs, dtype):
        return _float_targets(y, n_samples, n_outputs, dtype, self.name, 0.0, 1.0)

    def from_logits(self, logits, y, sample_weight=None, scale=1.0, with_grad=True,
                    loss_out=None, grad_out=None):
        n_outputs = logits.shape[1] if self.averages_outputs else 1
        loss, grad = ops.binary_cross_entropy(
            logits, y, sample_weight, scale / n_outputs, with_grad, loss_out, grad_out
        )
        if n_outputs > 1:
            loss *= 1.0 / n_outputs  # the kernel sums over outputs; Keras averages
        return loss, grad

    def bind_training(self, output, y, sample_weight, loss_out, grad_out, fused):
        if (not fused or output.shape[1] == 0
                or _overrides(self, BinaryCrossentropy, "from_logits")):
            return super().bind_training(output, y, sample_weight, loss_out, grad_out, fused)
        n_outputs = output.shape[1] if self.averages_outputs else 1
        run = _bound(ops.binary_cross_entropy, output, y, sample_weight, loss_out, grad_out)
        return run, float(n_outputs), (1.0 / n_outputs if n_outputs > 1 else 1.0)

    def __call__(self, output, y, sample_weight=None, scale=1.0, with_grad=True,
                 loss_out=None, grad_out=None):
        # The output layer is not a sigmoid: read the output as probabilities.
        n_outputs = output.shape[1]
        p = np.clip(output, EPSILON, 1.0 - EPSILON)
        loss = -(y * np.log(p) + (1 - y) * np.log1p(-p)).mean(axis=1)
        grad = None
        if with_grad:
            inside = (output > EPSILON) & (output < 1.0 - EPSILON)
            grad = np.where(inside, (p - y) / (p * (1 - p)), 0.0).astype(output.dtype)
            grad *= scale / n_outputs if sample_weight is None else (
                scale / n_outputs * sample_weight[:, None]
            )
        if sample_weight is not None:
            loss *= sample_weight
        return _into(loss, loss_out), _into(grad, grad_out)


class MeanSquaredError(Loss):
    """'mse' ('mean_squared_error'): the mean over the outputs of (output - y)**2."""

    name = "mse"

    def check_targets(self, y, n_samples, n_outputs, dtype):
        return _float_targets(y, n_samples, n_outputs, dtype, self.name)

    def __call__(self, output, y, sample_weight=None, scale=1.0, with_grad=True,
                 loss_out=None, grad_out=None):
        return ops.squared_error(
            output, y, sample_weight, scale, with_grad, loss_out, grad_out
        )

    def bind_training(self, output, y, sample_weight, loss_out, grad_out, fused):
        if output.shape[1] == 0 or _overrides(self, MeanSquaredError, "__call__"):
            return super().bind_training(output, y, sample_weight, loss_out, grad_out, fused)
        return _bound(ops.squared_error, output, y, sample_weight, loss_out,
                      grad_out), 1.0, 1.0


def _overrides(loss, cls, method):
    """Whether ``loss`` is of a subclass of ``cls`` with its own ``method``: the
    compiled binding of ``cls`` would not do what it does."""
    return getattr(type(loss), method) is not getattr(cls, method)


def _bound(loss_op, output, y, sample_weight, loss_out, grad_out):
    """``loss_op`` (an ops loss) bound with scale 1, which the loop sets per batch."""
    return ops.bind(loss_op, output, y, sample_weight, 1.0, True, loss_out, grad_out)[0]


def _into(array, out):
    if array is None or out is None:
        return array
    out[...] = array
    return out


_BY_NAME = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
}
NAMES = tuple(_BY_NAME)


def get(loss):
    """A loss instance from an instance or one of :data:`NAMES`."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss in _BY_NAME:
        return _BY_NAME[loss]()
    raise ValueError(f"unknown loss {loss!r}; expected one of {', '.join(NAMES)}")
