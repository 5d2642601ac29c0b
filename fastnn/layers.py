"""Layers, Keras-style: each knows its forward pass and its piece of backpropagation.

A layer is built (its weights created) when it first learns its input width: from
``input_dim``, from :meth:`Layer.build`, or from the first ``X`` it sees. Then

- ``forward(X, training=False) -> Y`` computes the output and keeps what backward needs;
- ``backward(dY, need_dX=True) -> dX`` fills the gradients ``grads`` (same order and
  shapes as ``params``) and returns dL/dX (None when ``need_dX`` is False, which saves
  the first layer of a network one GEMM).

Outputs are written into buffers the layer keeps and reuses (one per batch size), so a
training loop allocates nothing per batch: copy a returned array if you need it after
the next call. Every array operation goes through :mod:`fastnn.ops`.

Each layer states its work once, as bindings: ``_bind_forward(X, training)`` and
``_bind_backward(dY, need_dX)`` check their arrays through :func:`fastnn.ops.bind` and
return ``(runs, output)``. ``forward`` and ``backward`` bind and run at once; a model
binds every layer once per batch size and then only runs, which skips the checks and
the Python between kernels on every later batch.

Inference may run in many threads at once: inside :func:`private_buffers` a layer
binds its forward to new arrays and records nothing on itself, so each thread's
predict owns its buffers (training one model from two threads at once is not
supported, as in scikit-learn and Keras).
"""

import contextlib
import functools
import itertools
import threading
import weakref
from collections import namedtuple

import numpy as np

from fastnn import activations, initializers, ops
from fastnn.ops.checks import FLOATS, check_positive_int, check_scalar
from fastnn.saving import registry
from fastnn.saving.container import generator, parameters, scalar_config

__all__ = ["Layer", "Dense", "Activation", "Dropout", "Maxout"]

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

    def _bind(self, params, grads, model):
        """Point the layer at ``params``/``grads``, views into ``model``'s flat vectors."""
        self.params, self.grads = list(params), list(grads)
        self._model = weakref.ref(model)

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


class Activation(Layer):
    """An activation applied element-wise (row-wise for softmax).

    Parameters
    ----------
    activation : {'linear', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'elu', 'softmax'}
        Leaky ReLU is the lecture's max(0.1 x, x); ELU uses alpha = 1.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.layers import Activation
    >>> relu = Activation("relu")
    >>> relu.forward(np.array([[-1.0, 2.0]]))
    array([[0., 2.]])
    >>> relu.backward(np.array([[5.0, 5.0]]))
    array([[0., 5.]])
    """

    def __init__(self, activation, name=None):
        self.activation = activations.get(activation)
        super().__init__(name)
        self._X = self._Y = None

    def _bind_forward(self, X, training=False):
        runs, Y = self.activation.bind_forward(X, self._buffer("Y", X.shape))
        if not _is_private():  # what backward needs
            self._X, self._Y = X, Y
        return runs, Y

    def _bind_backward(self, dY, need_dX=True):
        if self._X is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        if not need_dX:
            return [], None
        return self.activation.bind_backward(
            self._X, self._Y, dY, self._buffer("dX", self._X.shape)
        )

    def get_config(self):
        return {"activation": self.activation.name, **super().get_config()}

    def _steps(self):
        return [Step(self._bind_forward, self._bind_backward, self.activation.name, False)]


class _Affine(Layer):
    """Shared by Dense and Maxout: Z = X W + b, then an activation of Z."""

    def __init__(self, width, input_dim, input_shape, use_bias, kernel_initializer,
                 bias_initializer, init, name, kernel_l2=0.0):
        super().__init__(name)
        self.kernel_l2 = check_scalar("kernel_l2", kernel_l2, low=0.0)
        if init is not None:
            if kernel_initializer not in ("glorot_uniform", init):
                raise ValueError(
                    f"init={init!r} (Keras 1) and kernel_initializer="
                    f"{kernel_initializer!r} disagree; pass one of them"
                )
            kernel_initializer = init
        initializers.get(kernel_initializer)
        initializers.get(bias_initializer)
        self._width = width
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self._X = None
        self.input_dim = _input_dim(input_dim, input_shape)

    def param_shapes(self, input_dim):
        return [(input_dim, self._width)] + ([(self._width,)] if self.use_bias else [])

    def _create(self, rng):
        fan_in, fan_out = self.input_dim, self._fan_out()
        kernel = initializers.get(self.kernel_initializer)
        bias = initializers.get(self.bias_initializer)
        self.params = [
            init(shape, fan_in, fan_out, rng, self.dtype)
            for init, shape in zip((kernel, bias), self.param_shapes(self.input_dim))
        ]

    def _fan_out(self):
        return self._width

    def set_weights(self, weights):
        """Copy ``[W, b]`` (or ``[W]``) in; an unbuilt layer is built from W's shape."""
        if not self.built and isinstance(weights, (list, tuple)) and weights:
            W = np.asarray(weights[0])
            if W.ndim == 2 and W.shape[0] >= 1:
                self.build(W.shape[0], W.dtype if W.dtype in FLOATS else np.float32)
        super().set_weights(weights)

    @property
    def W(self):
        """The kernel, shape (input_dim, units) (units * pieces for Maxout)."""
        return self.params[0] if self.params else None

    @property
    def b(self):
        """The bias, or None without one."""
        return self.params[1] if self.use_bias and self.params else None

    def _bind_affine(self, X, training=False):
        if not _is_private():
            self._X = X
        b = self.params[1] if self.use_bias else None
        run, Z = ops.bind(
            ops.dense_forward, X, self.params[0], b,
            out=self._buffer("Z", (X.shape[0], self._width)),
        )
        return [run], Z

    def _bind_affine_backward(self, dZ, need_dX=True):
        X = self._X
        if X is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        dX = self._buffer("dX", X.shape) if need_dX else None
        run, _ = ops.bind(
            ops.dense_backward, X, self.params[0], dZ,
            with_bias=self.use_bias,
            with_dX=need_dX,
            dW=self.grads[0],
            db=self.grads[1] if self.use_bias else None,
            dX=dX,
        )
        return [run], dX

    def get_config(self):
        return {
            "input_dim": self.input_dim,
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
            "kernel_l2": self.kernel_l2,
            **super().get_config(),
        }


class Dense(_Affine):
    """A fully connected layer, Y = activation(X W + b).

    Parameters
    ----------
    units : int
        Output width.
    activation : str or None
        One of :data:`fastnn.activations.NAMES`; None is linear.
    input_dim : int, optional
        Input width; the first layer of a model needs it (or ``input_shape=(d,)``),
        later layers learn it from the layer before.
    use_bias : bool
    kernel_initializer, bias_initializer : str
        One of :data:`fastnn.initializers.NAMES`. Keras 1's ``init=`` sets the
        kernel's (``init='uniform'`` is U(-0.05, 0.05)).
    kernel_l2 : float >= 0, default 0
        L2 penalty on the kernel (never the bias), as scikit-learn's MLP ``alpha``:
        while a :class:`fastnn.Sequential` trains, each mini-batch adds
        ``kernel_l2 / 2 * sum(W**2)`` to its summed loss before dividing by the
        batch's weight, so dW gains ``kernel_l2 * W / batch weight``.

    Attributes
    ----------
    W : ndarray of shape (input_dim, units)
    b : ndarray of shape (units,)

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.layers import Dense
    >>> layer = Dense(3, activation="relu", input_dim=2)
    >>> layer.set_weights([np.ones((2, 3), np.float32), np.zeros(3, np.float32)])
    >>> layer.forward(np.array([[1.0, -3.0]], np.float32))
    array([[0., 0., 0.]], dtype=float32)
    """

    def __init__(self, units, activation=None, input_dim=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 init=None, input_shape=None, name=None, kernel_l2=0.0):
        units = check_positive_int("units", units)
        self.units = units
        self._activation = Activation(activation, name=f"{name or 'dense'}_activation")
        super().__init__(units, input_dim, input_shape, use_bias, kernel_initializer,
                         bias_initializer, init, name, kernel_l2)

    @property
    def activation(self):
        return self._activation.activation.name

    def _create(self, rng):
        super()._create(rng)
        self._activation.build(self.units, self.dtype)

    def output_dim(self, input_dim):
        return self.units

    def _bind_forward(self, X, training=False):
        runs, Z = self._bind_affine(X, training)
        if self.activation == "linear":
            return runs, Z
        more, Y = self._activation._bind_forward(Z, training)
        return runs + more, Y

    def _bind_backward(self, dY, need_dX=True):
        runs = []
        if self.activation != "linear":
            runs, dY = self._activation._bind_backward(dY)
        more, dX = self._bind_affine_backward(dY, need_dX)
        return runs + more, dX

    def _steps(self):
        affine = Step(self._bind_affine, self._bind_affine_backward, None, True)
        if self.activation == "linear":
            return [affine]
        return [affine, *self._activation._steps()]

    def get_config(self):
        return {"units": self.units, "activation": self.activation, **super().get_config()}


class Maxout(_Affine):
    """Maxout: each unit is the max of ``pieces`` affine maps, max(w1.x + b1, w2.x + b2).

    The kernel has shape (input_dim, units * pieces); unit j owns its columns
    j * pieces ... j * pieces + pieces - 1. The other parameters are Dense's
    (``kernel_l2`` included).

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.layers import Maxout
    >>> layer = Maxout(1, pieces=2, input_dim=1)
    >>> layer.set_weights([np.array([[1.0, -1.0]]), np.zeros(2)])
    >>> layer.forward(np.array([[-3.0], [2.0]]))   # max(x, -x) = |x|
    array([[3.],
           [2.]])
    """

    def __init__(self, units, pieces=2, input_dim=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 init=None, input_shape=None, name=None, kernel_l2=0.0):
        self.units = check_positive_int("units", units)
        self.pieces = check_positive_int("pieces", pieces)
        super().__init__(self.units * self.pieces, input_dim, input_shape, use_bias,
                         kernel_initializer, bias_initializer, init, name, kernel_l2)
        self._argmax = None

    def _fan_out(self):
        return self.units

    def output_dim(self, input_dim):
        return self.units

    def _bind_forward(self, X, training=False):
        runs, Z = self._bind_affine(X, training)
        shape = (X.shape[0], self.units)
        run, (Y, argmax) = ops.bind(
            ops.maxout, Z, self.pieces, out=self._buffer("Y", shape),
            argmax=self._buffer("argmax", shape, np.intp),
        )
        if not _is_private():
            self._argmax = argmax
        return runs + [run], Y

    def _bind_backward(self, dY, need_dX=True):
        if self._argmax is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        run, dZ = ops.bind(
            ops.maxout_backward, dY, self._argmax, self.pieces,
            out=self._buffer("dZ", (dY.shape[0], self.units * self.pieces)),
        )
        more, dX = self._bind_affine_backward(dZ, need_dX)
        return [run] + more, dX

    def get_config(self):
        return {"units": self.units, "pieces": self.pieces, **super().get_config()}


class Dropout(Layer):
    """Inverted dropout: while training, zero each input with probability ``rate`` and
    scale the survivors by 1 / (1 - rate), so the expected output equals the input;
    outside training it is the identity.

    Parameters
    ----------
    rate : float in [0, 1)
    seed : int, optional
        Seeds the masks; a model passes its own seed down when this is None.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.layers import Dropout
    >>> layer = Dropout(0.5, seed=0)
    >>> X = np.ones((1, 6))
    >>> layer.forward(X)                       # inference: unchanged
    array([[1., 1., 1., 1., 1., 1.]])
    >>> sorted(set(layer.forward(X, training=True).ravel().tolist()))
    [0.0, 2.0]
    """

    def __init__(self, rate, seed=None, name=None):
        rate = check_scalar("rate", rate, low=0.0, high=1.0)
        if rate == 1.0:
            raise ValueError("rate must be below 1 (a rate of 1 drops everything)")
        if seed is not None and (
            isinstance(seed, (bool, np.bool_))
            or not isinstance(seed, (int, np.integer))
            or seed < 0
        ):
            raise ValueError(f"seed must be None or an int >= 0, got {seed!r}")
        super().__init__(name)
        self.rate = rate
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._mask = None

    def _create(self, rng):
        if self.seed is None and rng is not None:
            self._rng = np.random.default_rng(rng.integers(2**63))

    def _bind_forward(self, X, training=False):
        if not training or self.rate == 0.0:
            if not _is_private():
                self._mask = False
            return [], X
        U = self._mask = self._buffer("mask", X.shape)
        draw = functools.partial(self._rng.random, out=U, dtype=X.dtype)
        run, Y = ops.bind(ops.dropout, X, U, self.rate, out=self._buffer("Y", X.shape))
        return [draw, run], Y  # new uniform numbers, then the mask from them

    def _bind_backward(self, dY, need_dX=True):
        if self._mask is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        if not need_dX or self._mask is False:
            return [], (dY if need_dX else None)
        run, dX = ops.bind(
            ops.dropout_backward, self._mask, dY, out=self._buffer("dX", dY.shape)
        )
        return [run], dX

    def get_config(self):
        return {"rate": self.rate, "seed": self.seed, **super().get_config()}

    # -- saved state (owned here, read and written by fastnn.saving) --

    def get_rng_state(self):
        """The state of the generator drawing the masks (a JSON-able dict)."""
        return self._rng.bit_generator.state

    def set_rng_state(self, state):
        """Draw the next masks from the saved PCG64 ``state``."""
        self._rng = generator(state)


for _layer in (Dense, Activation, Dropout, Maxout):  # the order errors list them in
    registry.register("layer")(_layer)
del _layer
