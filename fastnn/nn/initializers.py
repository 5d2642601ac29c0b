"""Weight initializers, by the names Keras uses.

Each takes ``(shape, fan_in, fan_out, rng, dtype)`` and returns a new array. The draws
are made in float64 and then cast, so a float32 and a float64 model built from the
same seed start from the same weights (up to rounding).

=================  ===========================================================
``uniform``        U(-0.05, 0.05), Keras 1's default ``init='uniform'``
``normal``         N(0, 0.05**2), Keras 1's ``init='normal'``
``glorot_uniform`` U(-l, l), l = sqrt(6 / (fan_in + fan_out))  (Glorot & Bengio)
``glorot_normal``  N(0, 2 / (fan_in + fan_out))
``he_uniform``     U(-l, l), l = sqrt(6 / fan_in)  (He et al., for ReLU)
``he_normal``      N(0, 2 / fan_in)
``zeros``, ``ones`` constants
=================  ===========================================================
"""

import math

import numpy as np

__all__ = ["get", "NAMES"]


def uniform(shape, fan_in, fan_out, rng, dtype):
    return rng.uniform(-0.05, 0.05, shape).astype(dtype)


def normal(shape, fan_in, fan_out, rng, dtype):
    return rng.normal(0.0, 0.05, shape).astype(dtype)


def glorot_uniform(shape, fan_in, fan_out, rng, dtype):
    limit = math.sqrt(6.0 / max(fan_in + fan_out, 1))
    return rng.uniform(-limit, limit, shape).astype(dtype)


def glorot_normal(shape, fan_in, fan_out, rng, dtype):
    return rng.normal(0.0, math.sqrt(2.0 / max(fan_in + fan_out, 1)), shape).astype(dtype)


def he_uniform(shape, fan_in, fan_out, rng, dtype):
    limit = math.sqrt(6.0 / max(fan_in, 1))
    return rng.uniform(-limit, limit, shape).astype(dtype)


def he_normal(shape, fan_in, fan_out, rng, dtype):
    return rng.normal(0.0, math.sqrt(2.0 / max(fan_in, 1)), shape).astype(dtype)


def zeros(shape, fan_in, fan_out, rng, dtype):
    return np.zeros(shape, dtype)


def ones(shape, fan_in, fan_out, rng, dtype):
    return np.ones(shape, dtype)


_BY_NAME = {
    function.__name__: function
    for function in (
        uniform, normal, glorot_uniform, glorot_normal, he_uniform, he_normal, zeros, ones
    )
}
NAMES = tuple(_BY_NAME)


def get(name):
    """The initializer called ``name``; ValueError listing the known names otherwise."""
    if not isinstance(name, str) or name not in _BY_NAME:
        raise ValueError(f"unknown initializer {name!r}; expected one of {', '.join(NAMES)}")
    return _BY_NAME[name]
