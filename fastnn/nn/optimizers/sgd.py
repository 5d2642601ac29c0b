"""Stochastic gradient descent: plain, with momentum, with Nesterov momentum, and
Keras 1's rate decay (:class:`SGD`)."""

import numpy as np

from fastnn import ops
from fastnn.nn.optimizers.base import Optimizer, decayed_rate, learning_rate_argument
from fastnn.ops.checks import check_scalar
from fastnn.saving import registry

__all__ = ["SGD"]


@registry.register("optimizer")
class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and decay.

    With velocity v and gradient g: v = momentum * v - lr_t * g, then w += v, or with
    ``nesterov`` w += momentum * v - lr_t * g (Keras' form). ``decay`` lowers the rate
    per update as Keras 1 did: lr_t = learning_rate / (1 + decay * iterations), with
    ``iterations`` counting updates from 0.

    Parameters
    ----------
    learning_rate : float > 0, default 0.01 (``lr`` is accepted, as in Keras 1)
    momentum : float in [0, 1]
    nesterov : bool
    decay : float >= 0

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.optimizers import SGD
    >>> w, g = np.array([1.0]), np.array([0.5])
    >>> SGD(lr=0.1).apply([w], [g])
    >>> w
    array([0.95])
    """

    def __init__(self, learning_rate=None, momentum=0.0, nesterov=False, decay=0.0, lr=None):
        super().__init__()
        self.learning_rate = learning_rate_argument(learning_rate, lr, 0.01)
        self.momentum = check_scalar("momentum", momentum, low=0.0, high=1.0)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be a bool, got {nesterov!r}")
        self.nesterov = bool(nesterov)
        self.decay = check_scalar("decay", decay, low=0.0)

    @property
    def n_slots(self):
        """The velocity with momentum, nothing without (it may change between fits)."""
        return 1 if self.momentum else 0

    def current_learning_rate(self):
        """The rate the next update uses, lr / (1 + decay * iterations)."""
        return decayed_rate(self.learning_rate, self.decay, self.iterations)

    def rates(self, count):
        if not self.decay:  # lr / (1 + 0 * t) is lr exactly
            return np.full(count, self.learning_rate)
        # NOTE: decayed_rate of every step at once: the same IEEE operations as
        # current_learning_rate's, element by element.
        steps = self.iterations + np.arange(count, dtype=np.float64)
        return decayed_rate(self.learning_rate, self.decay, steps)

    def bind_update(self, params, grads):
        if type(self) is not SGD:  # a subclass may update its own way
            return None
        self._ensure_state(params)
        if self.momentum:
            return [
                ops.bind(ops.momentum_update, param, grad, slots[0], 0.0,
                         self.momentum, self.nesterov)[0]
                for param, grad, slots in zip(params, grads, self._slots)
            ]
        return [ops.bind(ops.sgd_update, param, grad, 0.0)[0]
                for param, grad in zip(params, grads)]

    def _update(self, param, grad, slots):
        lr = self.current_learning_rate()
        if self.momentum:
            ops.momentum_update(param, grad, slots[0], lr, self.momentum, self.nesterov)
        else:
            ops.sgd_update(param, grad, lr)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "decay": self.decay,
        }
