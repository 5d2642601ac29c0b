"""The optimizers' base class: the update count, per-parameter state, saved state, and
the bound update a compiled training loop runs (:class:`OneKernel`).

An optimizer updates a list of parameter arrays in place from their gradients with one
kernel call each (``fastnn.ops``); a ``Sequential`` model hands it one flat vector
holding every weight, so one update is one call. Its state (velocities, moments) is
created on the first update, one array per parameter.
"""

import inspect

import numpy as np

from fastnn import ops
from fastnn.ops.checks import check_scalar
from fastnn.saving import registry
from fastnn.saving.container import parameters, scalar_config

__all__ = ["Optimizer", "OneKernel", "decayed_rate", "learning_rate_argument"]


def learning_rate_argument(learning_rate, lr, default):
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
        one Call per parameter whose first real is the rate (whose first k reals are
        the per-step scalars), which the training loop sets per step from
        :meth:`rates` and then adds its steps to ``iterations``. None for an optimizer
        that updates only through :meth:`apply` (a subclass)."""
        return None

    def rates(self, count):
        """The rates of the next ``count`` updates, as float64 (see bind_update):
        shape (count,), or (count, k) for k per-step scalars."""
        raise NotImplementedError

    def _ensure_state(self, params):
        if self._slots is None:
            self._slots = [self._new_slots(param) for param in params]
            self._layout = [(param.shape, param.dtype) for param in params]
        elif len(params) != len(self._layout) or any(
            (param.shape, param.dtype) != layout
            for param, layout in zip(params, self._layout)
        ):
            raise ValueError(
                f"this {type(self).__name__} holds state for other parameters; "
                "give each model its own optimizer"
            )
        # NOTE: a setting changed since the state was made may need more of it (SGD's
        # momentum turned on between fits): the new arrays start at zero, as on a first
        # update; get_state leaves out what a setting no longer uses.
        for group, param in zip(self._slots, params):
            if len(group) < self.n_slots:
                group.extend(self._new_slots(param)[len(group):])

    def _new_slots(self, param):
        """The state arrays of ``param`` before the first update: zeros."""
        return [np.zeros_like(param) for _ in range(self.n_slots)]

    def _update(self, param, grad, slots):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    def get_state(self):
        """The iteration count and the state arrays (for saving)."""
        groups = self._slots or []
        slots = [slot for group in groups for slot in group[:self.n_slots]]
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


def decayed_rate(learning_rate, decay, iterations):
    """Keras 1's ``decay``: learning_rate / (1 + decay * iterations), ``iterations``
    counting updates from 0 (torch.optim.Adagrad's ``lr_decay``, step - 1)."""
    return learning_rate / (1.0 + decay * iterations)


class OneKernel(Optimizer):
    """An optimizer whose update of a parameter is one call of the op ``_op`` at step t
    (from 1): ``_op(param, grad, *slots, **self._step_arguments(t))``; its bound Calls
    take their first reals, per step, from ``_step_scalars(t)`` (what the op computes
    from those arguments, by the same Python arithmetic, so the compiled loop and
    :meth:`apply` run the same numbers); ``_slot_arguments`` may name the state
    arrays the op takes by keyword. A subclass's ``_compiled = True`` in its own
    body lets the compiled loop run it; a user's subclass of it updates through
    :meth:`apply`, as SGD's and Adam's do."""

    _op = None  # a staticmethod of fastnn.ops

    def _step_arguments(self, t):
        raise NotImplementedError

    def _slot_arguments(self, slots):
        """The op's arguments for the state arrays: (positional, keywords)."""
        return slots, {}

    def _step_scalars(self, t):
        """By default the one per-step scalar is the rate with Keras 1's decay."""
        return decayed_rate(self.learning_rate, self.decay, t - 1)

    def get_config(self):
        """The constructor's arguments (Keras 1's alias ``lr`` aside), in its order."""
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names
                if name not in ("self", "lr")}

    def current_learning_rate(self):
        """The rate the next update uses (before any bias correction)."""
        return decayed_rate(self.learning_rate, getattr(self, "decay", 0.0),
                            self.iterations)

    def rates(self, count):
        first = self.iterations + 1
        rows = [self._step_scalars(t) for t in range(first, first + count)]
        return np.array(rows, dtype=np.float64)

    def bind_update(self, params, grads):
        if not type(self).__dict__.get("_compiled", False):
            return None  # a user's subclass may update its own way
        self._ensure_state(params)
        return [
            ops.bind(self._op, param, grad, *arrays, **named,
                     **self._step_arguments(1))[0]
            for param, grad, (arrays, named) in zip(
                params, grads, map(self._slot_arguments, self._slots))
        ]

    def _update(self, param, grad, slots):
        arrays, named = self._slot_arguments(slots)
        self._op(param, grad, *arrays, **named,
                 **self._step_arguments(self.iterations + 1))
