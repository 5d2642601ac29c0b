"""Maxout: each unit the max of ``pieces`` affine maps."""

import numpy as np

from fastnn import ops
from fastnn.nn.layers.base import _is_private
from fastnn.nn.layers.core import _Affine
from fastnn.ops.checks import check_positive_int

__all__ = ["Maxout"]


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
