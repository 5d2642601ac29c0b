"""Per-weight rates from a running sum or average of squared gradients:
:class:`RMSprop`, :class:`Adagrad` and :class:`Adadelta`, each one compiled kernel
(``fastnn.ops``) with PyTorch's update rule (which is Keras 1's) and Keras 1's
``decay`` of the rate."""

import numpy as np

from fastnn import ops
from fastnn.nn.optimizers.base import OneKernel, learning_rate_argument
from fastnn.ops.checks import check_scalar
from fastnn.ops.optimizers import check_decay_rate, check_epsilon
from fastnn.saving import registry

__all__ = ["RMSprop", "Adagrad", "Adadelta"]


class _SquaredAverage(OneKernel):
    """RMSprop's and Adadelta's settings: a rate with Keras 1's decay, the decay
    ``rho`` of a running average of g**2, and ``epsilon``."""

    def __init__(self, learning_rate, rho, epsilon, decay):
        super().__init__()
        self.learning_rate = learning_rate
        self.rho = check_decay_rate("rho", rho)
        self.epsilon = check_epsilon(epsilon)
        self.decay = check_scalar("decay", decay, low=0.0)

    def _step_arguments(self, t):
        return dict(learning_rate=self._step_scalars(t), rho=self.rho,
                    epsilon=self.epsilon)


@registry.register("optimizer")
class RMSprop(_SquaredAverage):
    """RMSprop (Tieleman & Hinton): the step divided by a running RMS of the gradient.

    With g the gradient, ``S`` a running average of g**2 (zeros at first) and
    lr_t = learning_rate / (1 + decay * iterations) (Keras 1's ``decay``)::

        S = rho * S + (1 - rho) * g**2
        w -= lr_t * g / (sqrt(S) + epsilon)

    as ``torch.optim.RMSprop`` and Keras 1. ``centered`` divides by the root of a
    variance, keeping A, a running average of g: A = rho * A + (1 - rho) * g and
    sqrt(S - A**2) in place of sqrt(S). With ``momentum``, a buffer B (zeros at
    first): B = momentum * B + g / (sqrt(...) + epsilon), then w -= lr_t * B. Both
    as PyTorch's, and Keras 3's options of those names.

    Parameters
    ----------
    learning_rate : float > 0, default 0.001 (``lr`` is accepted, as in Keras 1)
    rho : float in [0, 1), default 0.9
        The decay of the average of g**2 (PyTorch's ``alpha``).
    epsilon : float > 0, default 1e-7
    decay : float >= 0, default 0.0
    momentum : float in [0, 1], default 0.0
    centered : bool, default False

    Notes
    -----
    Defaults as Keras (1, 2 and 3; Keras 1 had epsilon 1e-8 and neither ``momentum``
    nor ``centered``). PyTorch's differ: lr=0.01, alpha=0.99, eps=1e-8. Keras 3 puts
    epsilon inside the square root, ``w -= lr * g / sqrt(S + epsilon)`` (centered:
    ``sqrt(S - A**2 + epsilon)``), keeps its momentum buffer in steps already
    multiplied by the rate (the same steps while the rate is constant), and has no
    ``decay`` (a learning-rate schedule instead). Where rounding takes S - A**2
    below 0, it is taken as 0 (PyTorch's root gives NaN).

    Examples
    --------
    First step from S = 0: S = 0.1 g**2, so w moves by lr g / (sqrt(0.1) abs(g)), about
    3.16 lr against the gradient's sign.

    >>> import numpy as np
    >>> from fastnn.optimizers import RMSprop
    >>> w = np.array([1.0, -1.0])
    >>> RMSprop(learning_rate=0.01).apply([w], [np.array([0.5, -2.0])])
    >>> w.round(6)
    array([ 0.968377, -0.968377])
    """

    _compiled = True
    _op = staticmethod(ops.rmsprop_update)

    def __init__(self, learning_rate=None, rho=0.9, epsilon=1e-7, decay=0.0,
                 momentum=0.0, centered=False, lr=None):
        super().__init__(learning_rate_argument(learning_rate, lr, 0.001), rho, epsilon,
                         decay)
        self.momentum = check_scalar("momentum", momentum, low=0.0, high=1.0)
        if not isinstance(centered, (bool, np.bool_)):
            raise TypeError(f"centered must be a bool, got {centered!r}")
        self.centered = bool(centered)
        # the state arrays: S, then A when centered, B with momentum (set once here)
        self._slot_names = ["A"] * self.centered + ["B"] * (self.momentum > 0)
        self.n_slots = 1 + len(self._slot_names)

    def _slot_arguments(self, slots):
        return slots[:1], dict(zip(self._slot_names, slots[1:]))

    def _step_arguments(self, t):
        return dict(super()._step_arguments(t), momentum=self.momentum,
                    centered=self.centered)


@registry.register("optimizer")
class Adagrad(OneKernel):
    """Adagrad (Duchi et al.): the step divided by the root of the summed g**2.

    With g the gradient, ``S`` the sum of every g**2 so far (starting at
    ``initial_accumulator_value``) and lr_t = learning_rate / (1 + decay * iterations)::

        S = S + g**2
        w -= lr_t * g / (sqrt(S) + epsilon)

    as ``torch.optim.Adagrad`` (whose ``lr_decay`` is ``decay`` here) and Keras 1.

    Parameters
    ----------
    learning_rate : float > 0, default 0.01 (``lr`` is accepted, as in Keras 1)
    epsilon : float > 0, default 1e-7
    decay : float >= 0, default 0.0
    initial_accumulator_value : float >= 0, default 0.0

    Notes
    -----
    Defaults as Keras 1 (lr 0.01, S from 0; epsilon 1e-8 there, 1e-7 in Keras 2).
    PyTorch's: lr=0.01, initial_accumulator_value=0, eps=1e-10. Keras 3's differ:
    learning_rate=0.001, initial_accumulator_value=0.1, and epsilon inside the square
    root, ``w -= lr * g / sqrt(S + epsilon)``; Keras 3 has no ``decay``.

    Examples
    --------
    First step from S = 0: S = g**2, so each weight moves by lr (times the
    gradient's sign).

    >>> import numpy as np
    >>> from fastnn.optimizers import Adagrad
    >>> w = np.array([1.0, -1.0])
    >>> Adagrad(learning_rate=0.1).apply([w], [np.array([0.5, -2.0])])
    >>> w.round(6)
    array([ 0.9, -0.9])
    """

    n_slots = 1
    _compiled = True
    _op = staticmethod(ops.adagrad_update)

    def __init__(self, learning_rate=None, epsilon=1e-7, decay=0.0,
                 initial_accumulator_value=0.0, lr=None):
        super().__init__()
        self.learning_rate = learning_rate_argument(learning_rate, lr, 0.01)
        self.epsilon = check_epsilon(epsilon)
        self.decay = check_scalar("decay", decay, low=0.0)
        self.initial_accumulator_value = check_scalar(
            "initial_accumulator_value", initial_accumulator_value, low=0.0
        )

    def _new_slots(self, param):
        return [np.full_like(param, self.initial_accumulator_value)]

    def _step_arguments(self, t):
        return dict(learning_rate=self._step_scalars(t), epsilon=self.epsilon)


@registry.register("optimizer")
class Adadelta(_SquaredAverage):
    """Adadelta (Zeiler): the step's size from running averages of g**2 and of the
    squared steps, so its units match the weights'.

    With g the gradient, ``S`` and ``D`` running averages (zeros at first) and
    lr_t = learning_rate / (1 + decay * iterations)::

        S = rho * S + (1 - rho) * g**2
        d = sqrt(D + epsilon) / sqrt(S + epsilon) * g
        D = rho * D + (1 - rho) * d**2
        w -= lr_t * d

    as ``torch.optim.Adadelta``, Keras 1 and Keras 3 (epsilon inside both roots).

    Parameters
    ----------
    learning_rate : float > 0, default 1.0 (``lr`` is accepted, as in Keras 1)
    rho : float in [0, 1), default 0.95
    epsilon : float > 0, default 1e-7
    decay : float >= 0, default 0.0

    Notes
    -----
    Defaults as Keras 1 (lr 1.0, rho 0.95; epsilon 1e-8 there, 1e-7 in Keras 2).
    PyTorch's: lr=1.0, rho=0.9, eps=1e-6. Keras 3's learning_rate is 0.001, and it has
    no ``decay``. With a tiny epsilon the first steps are tiny: about
    sqrt(epsilon) lr against the gradient's sign.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.optimizers import Adadelta
    >>> w = np.array([1.0])
    >>> Adadelta(epsilon=1e-2).apply([w], [np.array([1.0])])
    >>> w.round(6)  # d = sqrt(0.01) / sqrt(0.05 + 0.01) = 0.408248
    array([0.591752])
    """

    n_slots = 2
    _compiled = True
    _op = staticmethod(ops.adadelta_update)

    def __init__(self, learning_rate=None, rho=0.95, epsilon=1e-7, decay=0.0, lr=None):
        super().__init__(learning_rate_argument(learning_rate, lr, 1.0), rho, epsilon,
                         decay)
