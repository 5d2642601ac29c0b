"""The base of every layer: parameters, reusable output buffers, building, weights in
and out, and the bindings a model runs (see :mod:`fastnn.nn.layers`)."""

import contextlib
import itertools
import threading
import weakref
from collections import namedtuple

import numpy as np

from fastnn.ops.checks import FLOATS, check_positive_int
from fastnn.saving.container import parameters, scalar_config

__all__ = ["Layer", "Step", "bind_steps", "private_buffers"]

# One primitive piece of a layer, as a model runs it: the fused-loss path of a model
# drops a final softmax/sigmoid step and hands the loss its logits instead.
Step = namedtuple("Step", "bind_forward bind_backward activation has_params")

_MAX_BUFFERS = 16  # batch sizes a layer keeps buffers for (train, last batch, predict)

_private = threading.local()  # .on: this thread binds to new arrays (private_buffers)


@contextlib.contextmanager
def private_buffers():
    """Within the block, layers bound by this thread write into new arrays, not the
    buffers they keep, and keep no reference to the inputs: an inference-only forward
    (``training=False``) becomes re-entrant across threads."""
    before = getattr(_private, "on", False)
    _private.on = True
    try:
        yield
    finally:
        _private.on = before


def _is_private():
    return getattr(_private, "on", False)


def _run(runs, output):
    """Run bound calls in order; return what they compute."""
    for run in runs:
        run()
    return output


def bind_steps(binders, A, *args):
    """Bind each of ``binders`` (a step's ``bind_forward`` or ``bind_backward``) to the
    output of the one before, starting from ``A``; ``args`` go to every binder (e.g.
    ``training`` or ``need_dX``). Returns ``(runs, output)``: calling each of ``runs``
    in turn computes ``output`` from the current contents of ``A``."""
    runs = []
    for bind in binders:
        more, A = bind(A, *args)
        runs += more
    return runs, A


def _input_dim(input_dim, input_shape):
    if input_shape is not None:
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 1:
            raise ValueError(
                f"input_shape must be a 1-tuple such as (784,), got {input_shape!r}"
            )
        if input_dim is not None and input_dim != input_shape[0]:
            raise ValueError(
                f"input_dim={input_dim} and input_shape={input_shape} disagree"
            )
        input_dim = input_shape[0]
    return None if input_dim is None else check_positive_int("input_dim", input_dim)


class Layer:
    """Base class: parameters, buffers, building, weights in and out."""

    _names = {}

    def __init__(self, name=None):
        if name is None:
            kind = type(self).__name__.lower()
            counter = Layer._names.setdefault(kind, itertools.count(1))
            name = f"{kind}_{next(counter)}"
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        self.name = name
        self.input_dim = None
        self.dtype = None
        self.params = []
        self.grads = []
        self._buffers = {}
        self._model = None  # the model whose flat vectors hold the weights, once built

    # ----------------------------------------------------------------- building

    @property
    def built(self):
        return self.dtype is not None

    def build(self, input_dim, dtype=np.float32, rng=None):
        """Create the weights for inputs of width ``input_dim`` in ``dtype``.

        ``rng`` (a ``numpy.random.Generator``) draws the initial weights; a fresh
        unseeded one is used when it is None.
        """
        input_dim = check_positive_int("input_dim", input_dim)
        dtype = np.dtype(dtype)
        if dtype not in FLOATS:
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
        if self.input_dim is not None and input_dim != self.input_dim:
            raise ValueError(
                f"{self.name} expects inputs of width {self.input_dim}, got {input_dim}"
            )
        if self.built and dtype != self.dtype:
            raise ValueError(f"{self.name} is built for {self.dtype}, not {dtype}")
        if not self.built:
            self.input_dim, self.dtype = input_dim, dtype
            self._create(np.random.default_rng() if rng is None else rng)
            self.grads = [np.zeros_like(param) for param in self.params]
        return self

    def _create(self, rng):
        """Create ``self.params`` (subclasses with weights override this)."""

    def param_shapes(self, input_dim):
        """The shapes of the parameters for inputs of width ``input_dim``."""
        return []

    def output_dim(self, input_dim):
        """The width of the output for inputs of width ``input_dim``."""
        return input_dim

    def _check_input(self, X):
        if not self.built:
            if not isinstance(X, np.ndarray) or X.ndim != 2:
                raise ValueError(f"{self.name} expects a 2-D ndarray (n_samples, n_features)")
            self.build(X.shape[1], X.dtype)
        if (
            not isinstance(X, np.ndarray)
            or X.ndim != 2
            or X.shape[1] != self.input_dim
            or X.dtype != self.dtype
        ):
            got = (
                f"{X.dtype} array of shape {X.shape}"
                if isinstance(X, np.ndarray)
                else type(X).__name__
            )
            raise ValueError(
                f"{self.name} expects a {self.dtype} array of shape "
                f"(n_samples, {self.input_dim}), got {got}"
            )

    def _buffer(self, name, shape, dtype=None):
        """A reusable array for output ``name``: allocated once per shape."""
        if _is_private():
            return np.zeros(shape, dtype or self.dtype)
        key = (name, shape)
        buffer = self._buffers.get(key)
        if buffer is None:
            if len(self._buffers) >= _MAX_BUFFERS:
                self._buffers.clear()
            # NOTE: zeros, not empty: an integer buffer (maxout's argmax) is range-checked
            # when a backward is bound, which may happen before a forward fills it.
            buffer = self._buffers[key] = np.zeros(shape, dtype or self.dtype)
        return buffer

    # ---------------------------------------------------------- weights in/out

    def get_weights(self):
        """Copies of the parameters, in the order of ``params``."""
        return [param.copy() for param in self.params]

    def set_weights(self, weights):
        """Copy ``weights`` (a list shaped like :meth:`get_weights`) into the layer."""
        if not self.built:
            raise ValueError(f"{self.name} is not built yet; call build(input_dim) first")
        shapes = self.param_shapes(self.input_dim)
        if not isinstance(weights, (list, tuple)) or len(weights) != len(shapes):
            raise ValueError(
                f"{self.name} takes {len(shapes)} weight arrays, got "
                f"{len(weights) if isinstance(weights, (list, tuple)) else weights!r}"
            )
        arrays = []
        for index, (weight, shape) in enumerate(zip(weights, shapes)):
            weight = np.asarray(weight)
            if weight.shape != shape:
                raise ValueError(
                    f"{self.name} weight {index} must have shape {shape}, got {weight.shape}"
                )
            if weight.dtype.kind not in "iuf" or not np.isfinite(weight).all():
                raise ValueError(f"{self.name} weight {index} must be finite real numbers")
            arrays.append(weight)
        for param, weight in zip(self.params, arrays):
            param[...] = weight

    def _attach(self, params, grads, model):
        """Point the layer at ``params``/``grads``, views into ``model``'s flat vectors."""
        self.params, self.grads = list(params), list(grads)
        self._model = weakref.ref(model)

    def __getstate__(self):
        # NOTE: a weak reference does not pickle; the model that unpickles this layer
        # attaches it again (Sequential.__setstate__), a layer pickled alone has none.
        return {**self.__dict__, "_model": None}

    def _detach(self):
        """Leave the model: the parameters and gradients become the layer's own
        copies (they were views into the model's flat vectors)."""
        self.params = [param.copy() for param in self.params]
        self.grads = [grad.copy() for grad in self.grads]
        self._model = None

    def count_params(self):
        return sum(param.size for param in self.params)

    # ---------------------------------------------------------------- the model

    def get_config(self):
        """The constructor arguments, as JSON-able values (for saving)."""
        return {"name": self.name}

    def forward(self, X, training=False):
        """The output for ``X`` of shape (n_samples, input_dim); ``training`` turns on
        what only happens while training (dropout). Keeps what backward needs."""
        self._check_input(X)
        return _run(*self._bind_forward(X, training))

    def backward(self, dY, need_dX=True):
        """Fill ``grads`` from dL/dY and return dL/dX (None when ``need_dX`` is False)."""
        return _run(*self._bind_backward(dY, need_dX))

    def _bind_forward(self, X, training):
        raise NotImplementedError

    def _bind_backward(self, dY, need_dX):
        raise NotImplementedError

    def _steps(self):
        return [Step(self._bind_forward, self._bind_backward, None, bool(self.params))]

    def __repr__(self):
        config = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({config})"

    # -- saved state (owned here, read and written by fastnn.saving) --

    @classmethod
    def from_config(cls, config):
        """The layer of ``config`` (as :meth:`get_config` gives it, from an untrusted
        file): only the constructor's arguments, only JSON scalars, else ValueError.
        Its weights are the model's to restore."""
        return cls(**scalar_config(config, parameters(cls) - {"init"}, cls.__name__))
