"""Optimizers, Keras-style: ``SGD`` (momentum, Nesterov, decay) and ``Adam``.

An optimizer updates a list of parameter arrays in place from their gradients with one
kernel call each (``fastnn.ops``); a ``Sequential`` model hands it one flat vector
holding every weight, so one update is one call. Its state (velocities, moments) is
created on the first update, one array per parameter.
"""

import numpy as np

from fastnn import ops
from fastnn.ops.optimizers import adam_step_size
from fastnn.ops.checks import check_scalar
from fastnn.saving import registry
from fastnn.saving.container import parameters, scalar_config

__all__ = ["Optimizer", "SGD", "Adam", "get"]


def _learning_rate(learning_rate, lr, default):
    """Keras 1 spelled it ``lr``; accept either, not both."""
    if lr is not None:
        if learning_rate is not None and learning_rate != lr:
            raise ValueError(f"learning_rate={learning_rate} and lr={lr} disagree")
        learning_rate = lr
    if learning_rate is None:
        learning_rate = default
    return check_scalar("learning_rate", learning_rate, low=0.0, low_open=True)


class Optimizer:
    """Base class: counts updates in ``iterations`` and keeps per-parameter state."""

    n_slots = 0  # state arrays per parameter

    def __init__(self):
        self.iterations = 0
        self._slots = None
        self._layout = None  # the (shape, dtype) of each parameter the state is for

    def apply(self, params, grads):
        """Update each array of ``params`` in place from the matching ``grads``."""
        self._ensure_state(params)
        for param, grad, slots in zip(params, grads, self._slots):
            self._update(param, grad, slots)
        self.iterations += 1

    def bind_update(self, params, grads):
        """The update of ``params`` from ``grads`` bound once (:func:`fastnn.ops.bind`):
        one Call per parameter whose first real is the rate, which the training loop
        sets per step from :meth:`rates` and then adds its steps to ``iterations``.
        None for an optimizer that updates only through :meth:`apply` (a subclass)."""
        return None

    def rates(self, count):
        """The rates of the next ``count`` updates, as float64 (see bind_update)."""
        raise NotImplementedError

    def _ensure_state(self, params):
        if self._slots is None:
            self._slots = [
                [np.zeros_like(param) for _ in range(self.n_slots)] for param in params
            ]
            self._layout = [(param.shape, param.dtype) for param in params]
        elif len(params) != len(self._layout) or any(
            (param.shape, param.dtype) != layout
            for param, layout in zip(params, self._layout)
        ):
            raise ValueError(
                f"this {type(self).__name__} holds state for other parameters; "
                "give each model its own optimizer"
            )

    def _update(self, param, grad, slots):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    def get_state(self):
        """The iteration count and the state arrays (for saving)."""
        slots = [] if self._slots is None else [s for group in self._slots for s in group]
        return self.iterations, slots

    def set_state(self, iterations, slots, params):
        """Restore :meth:`get_state` for ``params``; checks every shape and dtype."""
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
            raise ValueError(f"iterations must be an int >= 0, got {iterations!r}")
        if slots and len(slots) != self.n_slots * len(params):
            raise ValueError(
                f"{type(self).__name__} state needs {self.n_slots * len(params)} arrays, "
                f"got {len(slots)}"
            )
        groups = None
        if slots:
            groups = []
            for index, param in enumerate(params):
                group = slots[index * self.n_slots:(index + 1) * self.n_slots]
                for slot in group:
                    if slot.shape != param.shape or slot.dtype != param.dtype:
                        raise ValueError("optimizer state does not match the weights")
                    if not np.isfinite(slot).all():
                        raise ValueError("optimizer state holds NaN or inf")
                groups.append([np.array(slot) for slot in group])
        self.iterations, self._slots = iterations, groups
        self._layout = None if groups is None else [(p.shape, p.dtype) for p in params]

    def __repr__(self):
        config = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({config})"

    # -- saved state (owned here, read and written by fastnn.saving) --

    @classmethod
    def from_config(cls, config):
        """The optimizer of ``config`` (as :meth:`get_config` gives it, from an
        untrusted file): only the constructor's arguments, only JSON scalars."""
        return cls(**scalar_config(config, parameters(cls) - {"lr"}, cls.__name__))

    @staticmethod
    def deserialize(class_name, config):
        """A new optimizer of the registered class ``class_name`` (no state yet);
        ValueError for any other name."""
        cls = registry.get("optimizer", class_name)
        if cls is None:
            raise ValueError(f"unknown optimizer {class_name!r}")
        return cls.from_config(config)


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
        self.learning_rate = _learning_rate(learning_rate, lr, 0.01)
        self.momentum = check_scalar("momentum", momentum, low=0.0, high=1.0)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be a bool, got {nesterov!r}")
        self.nesterov = bool(nesterov)
        self.decay = check_scalar("decay", decay, low=0.0)
        self.n_slots = 1 if self.momentum else 0

    def current_learning_rate(self):
        """The rate the next update uses, lr / (1 + decay * iterations)."""
        return self.learning_rate / (1.0 + self.decay * self.iterations)

    def rates(self, count):
        if not self.decay:  # lr / (1 + 0 * t) is lr exactly
            return np.full(count, self.learning_rate)
        # NOTE: the same IEEE operations as current_learning_rate, element by element.
        steps = self.iterations + np.arange(count, dtype=np.float64)
        return self.learning_rate / (1.0 + self.decay * steps)

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


@registry.register("optimizer")
class Adam(Optimizer):
    """Adam (Kingma & Ba): per-weight rates from running moments of the gradient.

    Parameters
    ----------
    learning_rate : float > 0, default 0.001 (``lr`` is accepted)
    beta_1, beta_2 : float in [0, 1)
    epsilon : float > 0, default 1e-7 (Keras' default)

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.optimizers import Adam
    >>> w = np.array([1.0])
    >>> Adam(learning_rate=0.1).apply([w], [np.array([3.0])])  # first step: lr * sign(g)
    >>> w.round(6)
    array([0.9])
    """

    n_slots = 2

    def __init__(self, learning_rate=None, beta_1=0.9, beta_2=0.999, epsilon=1e-7, lr=None):
        super().__init__()
        self.learning_rate = _learning_rate(learning_rate, lr, 0.001)
        self.beta_1 = check_scalar("beta_1", beta_1, low=0.0, high=1.0)
        self.beta_2 = check_scalar("beta_2", beta_2, low=0.0, high=1.0)
        if self.beta_1 == 1.0 or self.beta_2 == 1.0:
            raise ValueError("beta_1 and beta_2 must be below 1")
        self.epsilon = check_scalar("epsilon", epsilon, low=0.0, low_open=True)

    def current_learning_rate(self):
        return self.learning_rate

    def rates(self, count):
        first = self.iterations + 1
        return np.array([
            adam_step_size(self.learning_rate, t, self.beta_1, self.beta_2)
            for t in range(first, first + count)
        ])

    def bind_update(self, params, grads):
        if type(self) is not Adam:  # a subclass may update its own way
            return None
        self._ensure_state(params)
        return [
            ops.bind(ops.adam_update, param, grad, slots[0], slots[1],
                     self.learning_rate, 1, self.beta_1, self.beta_2, self.epsilon)[0]
            for param, grad, slots in zip(params, grads, self._slots)
        ]

    def _update(self, param, grad, slots):
        ops.adam_update(
            param, grad, slots[0], slots[1], self.learning_rate, self.iterations + 1,
            self.beta_1, self.beta_2, self.epsilon,
        )

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


_BY_NAME = {"sgd": SGD, "adam": Adam}


def get(optimizer):
    """An optimizer instance from an instance or a name ('sgd', 'adam')."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in _BY_NAME:
        return _BY_NAME[optimizer.lower()]()
    raise ValueError(
        f"unknown optimizer {optimizer!r}; expected 'sgd', 'adam' or an Optimizer instance"
    )
