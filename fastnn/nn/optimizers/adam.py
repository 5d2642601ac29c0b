"""The Adam family: running averages of the gradient and of its size. :class:`Adam`
(Kingma & Ba), :class:`Adamax` (its infinity-norm variant) and :class:`Nadam` (Adam with
Nesterov momentum, Dozat), each one compiled kernel (``fastnn.ops``)."""

import numpy as np

from fastnn import ops
from fastnn.nn.optimizers.base import (
    OneKernel,
    Optimizer,
    decayed_rate,
    learning_rate_argument,
)
from fastnn.ops.checks import check_scalar
from fastnn.ops.optimizers import (
    adam_step_size,
    adamax_step_size,
    check_decay_rate,
    check_epsilon,
    nadam_mu_product,
    nadam_step_scalars,
)
from fastnn.saving import registry

__all__ = ["Adam", "Adamax", "Nadam"]


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
        self.learning_rate = learning_rate_argument(learning_rate, lr, 0.001)
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


@registry.register("optimizer")
class Adamax(OneKernel):
    """Adamax (Kingma & Ba, sec. 7): Adam with the infinity norm of past gradients.

    With g the gradient, ``M`` and ``U`` zeros at first, t the update count from 1 and
    lr_t = learning_rate / (1 + decay * (t - 1))::

        M = beta_1 * M + (1 - beta_1) * g
        U = max(beta_2 * U, |g| + epsilon)
        w -= lr_t / (1 - beta_1**t) * M / U

    as ``torch.optim.Adamax`` (plus Keras 1's ``decay``).

    Parameters
    ----------
    learning_rate : float > 0, default 0.002 (``lr`` is accepted, as in Keras 1)
    beta_1, beta_2 : float in [0, 1), default 0.9 and 0.999
    epsilon : float > 0, default 1e-7
    decay : float >= 0, default 0.0

    Notes
    -----
    Defaults as Keras 1 (lr 0.002; epsilon 1e-8 there, 1e-7 in Keras 2). PyTorch's:
    lr=0.002, eps=1e-8, no decay. Keras (1 and 3) adds epsilon outside the max,
    ``U = max(beta_2 U, |g|)``, ``w -= lr_t M / ((1 - beta_1**t) (U + epsilon))``;
    Keras 3's learning_rate is 0.001, and it has no ``decay``.

    Examples
    --------
    The first step is about learning_rate against the gradient's sign:

    >>> import numpy as np
    >>> from fastnn.optimizers import Adamax
    >>> w = np.array([1.0, -1.0])
    >>> Adamax(learning_rate=0.1).apply([w], [np.array([0.5, -2.0])])
    >>> w.round(6)
    array([ 0.9, -0.9])
    """

    n_slots = 2
    _compiled = True
    _op = staticmethod(ops.adamax_update)

    def __init__(self, learning_rate=None, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 decay=0.0, lr=None):
        super().__init__()
        self.learning_rate = learning_rate_argument(learning_rate, lr, 0.002)
        self.beta_1 = check_decay_rate("beta_1", beta_1)
        self.beta_2 = check_decay_rate("beta_2", beta_2)
        self.epsilon = check_epsilon(epsilon)
        self.decay = check_scalar("decay", decay, low=0.0)

    def _step_scalars(self, t):
        lr_t = decayed_rate(self.learning_rate, self.decay, t - 1)
        return adamax_step_size(lr_t, t, self.beta_1)

    def _step_arguments(self, t):
        return dict(learning_rate=decayed_rate(self.learning_rate, self.decay, t - 1),
                    t=t, beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)


@registry.register("optimizer")
class Nadam(OneKernel):
    """Nadam (Dozat): Adam with Nesterov momentum and a warming momentum schedule.

    With g the gradient, ``M`` and ``S`` zeros at first, t the update count from 1,
    mu_t = beta_1 (1 - 0.5 * 0.96**(t * schedule_decay)) and P_t = mu_1 ... mu_t::

        M = beta_1 * M + (1 - beta_1) * g
        S = beta_2 * S + (1 - beta_2) * g**2
        w -= lr * ((1 - mu_t) g / (1 - P_t) + mu_{t+1} M / (1 - P_t mu_{t+1}))
              / (sqrt(S / (1 - beta_2**t)) + epsilon)

    as ``torch.optim.NAdam`` (whose ``momentum_decay`` is ``schedule_decay``) and
    Keras 1. Each step's three scalars are computed once per epoch, in float64, for
    the compiled loop; P_t is a function of t, so the saved state is the update
    count and the two moments.

    Parameters
    ----------
    learning_rate : float > 0, default 0.002 (``lr`` is accepted, as in Keras 1)
    beta_1, beta_2 : float in [0, 1), default 0.9 and 0.999
    epsilon : float > 0, default 1e-7
    schedule_decay : float >= 0, default 0.004

    Notes
    -----
    Defaults as Keras 1 (epsilon 1e-8 there, 1e-7 in Keras 2). PyTorch's: lr=0.002,
    eps=1e-8, momentum_decay=0.004. Keras 3's learning_rate is 0.001 and its schedule
    has no ``schedule_decay``: mu_t = beta_1 (1 - 0.5 * 0.96**t), which reaches
    beta_1 within a hundred steps where 0.96**(0.004 t) takes tens of thousands.

    Examples
    --------
    First step: M = 0.1 g and S / (1 - beta_2) = g**2, so w moves by
    lr (1 + 0.1 mu_2 / (1 - mu_1 mu_2)) = 1.0565 lr against the gradient's sign
    (mu_1 = 0.450073, mu_2 = 0.450147):

    >>> import numpy as np
    >>> from fastnn.optimizers import Nadam
    >>> w = np.array([1.0, -1.0])
    >>> Nadam(learning_rate=0.1).apply([w], [np.array([0.5, -2.0])])
    >>> w.round(6)
    array([ 0.894355, -0.894355])
    """

    n_slots = 2
    _compiled = True
    _op = staticmethod(ops.nadam_update)

    def __init__(self, learning_rate=None, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 schedule_decay=0.004, lr=None):
        super().__init__()
        self.learning_rate = learning_rate_argument(learning_rate, lr, 0.002)
        self.beta_1 = check_decay_rate("beta_1", beta_1)
        self.beta_2 = check_decay_rate("beta_2", beta_2)
        self.epsilon = check_epsilon(epsilon)
        self.schedule_decay = check_scalar("schedule_decay", schedule_decay, low=0.0)
        self._known_product = None  # (beta_1, schedule_decay, t, P_t) last computed

    def _mu_product(self, t):
        """P_t = mu_1 ... mu_t, multiplied in order (as torch.optim.NAdam keeps it),
        from the last one computed when that is not past t."""
        start = (0, 1.0)
        known = self._known_product
        if known is not None and known[:2] == (self.beta_1, self.schedule_decay) and (
                known[2] <= t):
            start = known[2:]
        product = nadam_mu_product(t, self.beta_1, self.schedule_decay, start)
        self._known_product = (self.beta_1, self.schedule_decay, t, product)
        return product

    def _step_scalars(self, t):
        return nadam_step_scalars(self.learning_rate, t, self._mu_product(t),
                                  self.beta_1, self.beta_2, self.epsilon,
                                  self.schedule_decay)

    def _step_arguments(self, t):
        return dict(learning_rate=self.learning_rate, t=t, beta_1=self.beta_1,
                    beta_2=self.beta_2, epsilon=self.epsilon,
                    schedule_decay=self.schedule_decay, mu_product=self._mu_product(t))
