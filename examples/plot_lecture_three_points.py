"""
The lecture's three points and the line P = ½
=============================================

The lecture's sigmoid neuron gives P(y = 1 | x) = sigm(xθ), and the points where
P = ½ are the line xθ = 0: a linear separating hyper-plane. Its table has three
points in the plane, two of class 1 and one of class 0. One fastnn ``Dense`` unit
with a sigmoid activation, trained by SGD on the binary cross-entropy (the
lecture's maximum-likelihood cost), finds such a line.
"""

import matplotlib.pyplot as plt
import numpy as np

from fastnn import Sequential
from fastnn.layers import Dense
from fastnn.optimizers import SGD

# The lecture's table: x1, x2 and y.
X = np.array([[-2.0, 4.0], [2.0, 2.6], [-0.4, 1.0]])
y = np.array([0, 1, 1])

model = Sequential([Dense(1, activation="sigmoid", input_dim=2)], seed=0)
model.compile(SGD(learning_rate=0.5), "binary_crossentropy",
              metrics=["accuracy"])
history = model.fit(X, y, epochs=200, batch_size=3, verbose=0)
loss, accuracy = model.evaluate(X, y, verbose=0)
P = model.predict(X).ravel()

print("   x1    x2   y   P(y = 1 | x)")
for (x1, x2), label, p in zip(X, y, P):
    print(f"{x1:5.1f} {x2:5.1f}   {label}   {p:.3f}")
print(f"loss {history.history['loss'][0]:.3f} -> {loss:.3f}, "
      f"accuracy {accuracy:.0%}")

# %%
# The line xθ = 0
# ---------------
# With weights ``W = (θ1, θ2)`` and bias ``b``, P = ½ where
# ``θ1 x1 + θ2 x2 + b = 0``. The shading is P itself, the model's prediction on
# a grid.

W, b = model.get_weights()
theta1, theta2 = W[:, 0]
x1 = np.linspace(-3.0, 3.0, 200)
x2 = np.linspace(0.0, 5.0, 200)
grid = np.column_stack([g.ravel() for g in np.meshgrid(x1, x2)])
P_grid = model.predict(grid).reshape(len(x2), len(x1))

fig, ax = plt.subplots(figsize=(6.4, 4.8))
shading = ax.contourf(x1, x2, P_grid, levels=np.linspace(0, 1, 11),
                      cmap="RdBu", alpha=0.6)
fig.colorbar(shading, ax=ax, label="P(y = 1 | x)")
ax.plot(x1, -(theta1 * x1 + b[0]) / theta2, color="black", linewidth=2,
        label="P = ½  (xθ = 0)")
for label, marker, color in [(0, "o", "tab:red"), (1, "s", "tab:blue")]:
    ax.scatter(*X[y == label].T, marker=marker, s=120, color=color,
               edgecolor="black", label=f"y = {label}", zorder=3)
for (a, c), p in zip(X, P):
    ax.annotate(f"P = {p:.2f}", (a, c), xytext=(8, 8),
                textcoords="offset points")
ax.set(xlim=(-3, 3), ylim=(0, 5), xlabel="x1", ylabel="x2",
       title="One sigmoid neuron on the lecture's three points")
ax.legend(loc="lower right")
plt.show()
