"""
A network's loss and validation curves
======================================

:class:`fastnn.MLPClassifier` trains a multi-layer perceptron on
scikit-learn's handwritten digits. With ``early_stopping=True`` it holds out a
tenth of the training data, scores it after every epoch, and stops once the
score has not improved by ``tol`` for ``n_iter_no_change`` epochs, keeping the
best epoch's weights. ``loss_curve_`` is the training loss per epoch,
``validation_scores_`` the held-out accuracy per epoch.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from fastnn import MLPClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16.0, y, test_size=0.25, random_state=0, stratify=y)

mlp = MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=0.01,
                    early_stopping=True, n_iter_no_change=10, max_iter=200,
                    random_state=0)
mlp.fit(X_train, y_train)
best = int(np.argmax(mlp.validation_scores_))
print(f"{mlp.n_iter_} epochs; best validation accuracy "
      f"{mlp.best_validation_score_:.3f} at epoch {best + 1}")
print(f"test accuracy {mlp.score(X_test, y_test):.3f}")

# %%
# The curves
# ----------
# The training loss falls every epoch, while the validation accuracy levels
# off: training stops ``n_iter_no_change`` epochs after the best one.

epochs = np.arange(1, mlp.n_iter_ + 1)
fig, (ax_loss, ax_score) = plt.subplots(1, 2, figsize=(10, 4),
                                        layout="constrained")
ax_loss.plot(epochs, mlp.loss_curve_, color="tab:blue", linewidth=2)
ax_loss.set(xlabel="epoch", ylabel="training log-loss", yscale="log",
            title="loss_curve_")
ax_score.plot(epochs, mlp.validation_scores_, color="tab:green", linewidth=2)
ax_score.axvline(best + 1, color="0.5", linestyle="--", label="best epoch")
ax_score.set(xlabel="epoch", ylabel="validation accuracy",
             title="validation_scores_")
ax_score.legend(loc="lower right")
fig.suptitle("MLPClassifier((64,)) on the digits, early stopping")
plt.show()
