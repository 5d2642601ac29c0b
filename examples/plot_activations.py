"""
Activation functions and their derivatives
==========================================

The lecture's activations: sigmoid, tanh, ReLU, Leaky ReLU max(0.1x, x), ELU
and Maxout max(w1 x + b1, w2 x + b2). Each is drawn with its derivative, both
computed by fastnn's compiled kernels through :mod:`fastnn.ops`: a forward
call, then its backward call with an upstream gradient ``dY`` of ones, which
returns dY/dX itself.
"""

import matplotlib.pyplot as plt
import numpy as np

from fastnn import ops
from fastnn.layers import Maxout

X = np.linspace(-3.0, 3.0, 601).reshape(-1, 1)
ones = np.ones_like(X)

curves = {}
Y = ops.sigmoid(X)
curves["sigmoid  1 / (1 + exp(-x))"] = Y, ops.sigmoid_backward(Y, ones)
Y = ops.tanh(X)
curves["tanh  tanh(x)"] = Y, ops.tanh_backward(Y, ones)
curves["ReLU  max(0, x)"] = ops.relu(X), ops.relu_backward(X, ones)
curves["Leaky ReLU  max(0.1x, x)"] = (
    ops.leaky_relu(X, alpha=0.1), ops.leaky_relu_backward(X, ones, alpha=0.1))
Y = ops.elu(X, alpha=1.0)
curves["ELU  α (exp(x) - 1) for x ≤ 0, α = 1"] = (
    Y, ops.elu_backward(X, Y, ones))

# %%
# Maxout is a layer with weights: one unit that takes the max of two affine
# maps of x. Here w1 = 1, b1 = 0 and w2 = -0.5, b2 = 0.5; the layer's backward
# routes the gradient to the winning map, so dY/dx is w1 or w2.

maxout = Maxout(1, pieces=2, input_dim=1)
maxout.build(1, np.float64)
maxout.set_weights([np.array([[1.0, -0.5]]), np.array([0.0, 0.5])])
Y = maxout.forward(X, training=True)
curves["Maxout  max(x, -0.5x + 0.5)"] = Y, maxout.backward(ones)

fig, axes = plt.subplots(2, 3, figsize=(10, 6), sharex=True,
                         layout="constrained")
for ax, (name, (Y, dYdX)) in zip(axes.flat, curves.items()):
    ax.axhline(0, color="0.8", linewidth=0.8)
    ax.axvline(0, color="0.8", linewidth=0.8)
    ax.plot(X, Y, color="tab:blue", linewidth=2, label="f(x)")
    ax.plot(X, dYdX, color="tab:orange", linestyle="--", linewidth=2,
            label="f'(x)")
    ax.set_title(name, fontsize=10)
    ax.set_ylim(-1.5, 3.1)
axes[0, 0].legend(loc="upper left")
for ax in axes[1]:
    ax.set_xlabel("x")
fig.suptitle("Activations (solid) and their derivatives (dashed), "
             "from fastnn.ops")
plt.show()
