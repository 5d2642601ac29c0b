"""
One-vs-all decision regions
===========================

The lecture's "1 vs All": for K classes, K binary sigmoid neurons, neuron k
answering "class k or not?"; a point goes to the class whose neuron is most
sure. :class:`fastnn.OneVsAllClassifier` composes any binary classifier, here
fastnn's :class:`fastnn.LogisticRegression`, on a 2-D problem of four blobs.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_blobs

from fastnn import LogisticRegression, OneVsAllClassifier

X, y = make_blobs(n_samples=400, centers=4, cluster_std=1.2, random_state=3)
one_vs_all = OneVsAllClassifier(LogisticRegression()).fit(X, y)
print(f"{len(one_vs_all.estimators_)} binary neurons, "
      f"training accuracy {one_vs_all.score(X, y):.3f}")

# %%
# The regions, and each neuron's line P = ½
# -----------------------------------------
# The coloured regions are ``predict`` on a grid. The dashed lines are where
# each binary neuron alone says P = ½, ``x θ_k = 0``: class k on one side, "the
# rest" on the other. Where neurons disagree, the most probable class wins.

x1 = np.linspace(X[:, 0].min() - 1, X[:, 0].max() + 1, 300)
x2 = np.linspace(X[:, 1].min() - 1, X[:, 1].max() + 1, 300)
grid = np.column_stack([g.ravel() for g in np.meshgrid(x1, x2)])
regions = one_vs_all.predict(grid).reshape(len(x2), len(x1))

colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
fig, ax = plt.subplots(figsize=(7, 5.5))
ax.contourf(x1, x2, regions, levels=np.arange(-0.5, 4), colors=colors,
            alpha=0.25)
for k, (neuron, color) in enumerate(zip(one_vs_all.estimators_, colors)):
    (theta1, theta2), b = neuron.coef_[0], neuron.intercept_[0]
    ax.plot(x1, -(theta1 * x1 + b) / theta2, color=color, linestyle="--",
            linewidth=1.5)
    ax.scatter(*X[y == k].T, color=color, edgecolor="black", s=25,
               label=f"class {k}")
ax.set(xlim=(x1[0], x1[-1]), ylim=(x2[0], x2[-1]), xlabel="x1", ylabel="x2",
       title="OneVsAllClassifier(LogisticRegression()): regions, lines P = ½")
ax.legend(loc="upper left")
plt.show()
