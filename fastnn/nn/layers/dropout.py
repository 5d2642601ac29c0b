"""Inverted dropout: a random mask while training, the identity otherwise."""

import numpy as np

from fastnn import ops
from fastnn.nn.layers.base import Layer, _is_private
from fastnn.ops.activations import uniform_fill
from fastnn.ops.checks import check_scalar
from fastnn.saving.container import generator

__all__ = ["Dropout"]


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
        # new uniform numbers from the layer's generator, then the mask from them
        draw, _ = ops.bind(uniform_fill, self._rng.bit_generator, U)
        run, Y = ops.bind(ops.dropout, X, U, self.rate, out=self._buffer("Y", X.shape))
        return [draw, run], Y

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
        # NOTE: into the generator the layer has, which its bound draws hold.
        self._rng.bit_generator.state = generator(state).bit_generator.state
