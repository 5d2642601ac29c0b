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

from fastnn.nn.layers.base import Layer, Step, bind_steps, private_buffers
from fastnn.nn.layers.core import Activation, Dense
from fastnn.nn.layers.dropout import Dropout
from fastnn.nn.layers.maxout import Maxout
from fastnn.nn.layers.serialization import deserialize, serialize
from fastnn.saving import registry

for _layer in (Dense, Activation, Dropout, Maxout):  # the order errors list them in
    registry.register("layer")(_layer)
del _layer

__all__ = ["Layer", "Dense", "Activation", "Dropout", "Maxout", "Step", "bind_steps",
           "private_buffers", "serialize", "deserialize"]
