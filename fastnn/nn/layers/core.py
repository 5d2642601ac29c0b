"""The Dense layer and the Activation layer (and ``_Affine``, Z = X W + b, which
Dense and Maxout share, on a dense or a CSR X)."""

import numpy as np

from fastnn import ops
from fastnn.nn import activations, initializers
from fastnn.nn.layers.base import Layer, Step, _input_dim, _is_private
from fastnn.ops.checks import FLOATS, check_positive_int, check_scalar
from fastnn.ops.dense import column_sums

__all__ = ["Activation", "Dense"]


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
        self.activation = activations.get(activation)  # an ActivationFunction
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


def _is_csr(X):
    """Whether ``X`` is a CSR matrix (SciPy's, or a :class:`fastnn.ops.CSR` batch)."""
    return getattr(X, "format", None) == "csr"


class _Affine(Layer):
    """Shared by Dense and Maxout: Z = X W + b, then an activation of Z.

    X may be a CSR matrix (``takes_sparse``): Z is then a sparse-dense product, dW
    X^T dZ the sparse-transpose one, and X, an input, has no gradient.
    """

    takes_sparse = True

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
            ops.csr_matmul if _is_csr(X) else ops.dense_forward,
            X, self.params[0], b, out=self._buffer("Z", (X.shape[0], self._width)),
        )
        return [run], Z

    def _bind_affine_backward(self, dZ, need_dX=True):
        X = self._X
        if X is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        if _is_csr(X):
            return self._bind_sparse_backward(X, dZ, need_dX), None
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

    def _bind_sparse_backward(self, X, dZ, need_dX):
        """dW = X^T dZ and db = the column sums of dZ for a CSR X, which has no dX."""
        if need_dX:
            raise ValueError(
                f"{self.name} was fed a sparse X, which has no gradient: a layer taking "
                "sparse input must be the model's first"
            )
        # NOTE: one scatter of X's rows, not csr_t_matmul's per-thread parts nor a
        # CSC view built once: measured on 2 busy cores (10000 x 50000 CSR, 1M
        # entries, 64 units, float32), the scatter took 43 ms, two parts 46, the CSC
        # view 32 plus 26 to build and X's size in memory again; a mini-batch's rows
        # change every step (no view to keep), and there SciPy's L-BFGS-B step costs
        # twice the whole objective.
        runs = [ops.bind(ops.csr_t_matmul, X, dZ, out=self.grads[0])[0]]
        if self.use_bias:
            runs.append(ops.bind(column_sums, dZ, out=self.grads[1])[0])
        return runs

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
        self._activation_layer = Activation(
            activation, name=f"{name or 'dense'}_activation"
        )
        super().__init__(units, input_dim, input_shape, use_bias, kernel_initializer,
                         bias_initializer, init, name, kernel_l2)

    @property
    def activation(self):
        return self._activation_layer.activation.name

    def _create(self, rng):
        super()._create(rng)
        self._activation_layer.build(self.units, self.dtype)

    def output_dim(self, input_dim):
        return self.units

    def _bind_forward(self, X, training=False):
        runs, Z = self._bind_affine(X, training)
        if self.activation == "linear":
            return runs, Z
        more, Y = self._activation_layer._bind_forward(Z, training)
        return runs + more, Y

    def _bind_backward(self, dY, need_dX=True):
        runs = []
        if self.activation != "linear":
            runs, dY = self._activation_layer._bind_backward(dY)
        more, dX = self._bind_affine_backward(dY, need_dX)
        return runs + more, dX

    def _steps(self):
        affine = Step(self._bind_affine, self._bind_affine_backward, None, True)
        if self.activation == "linear":
            return [affine]
        return [affine, *self._activation_layer._steps()]

    def get_config(self):
        return {"units": self.units, "activation": self.activation, **super().get_config()}
