"""scikit-learn estimators on fastnn's engine.

``LogisticRegression`` (the lecture's sigmoid neuron, softmax for more classes),
``OneVsAllClassifier`` (one binary clone per class, of any scikit-learn classifier)
and ``MLPClassifier`` (trained through :class:`fastnn.Sequential`'s layers).
"""

from fastnn.estimators._logistic import LogisticRegression
from fastnn.estimators._mlp import MLPClassifier
from fastnn.estimators._one_vs_all import OneVsAllClassifier

__all__ = ["LogisticRegression", "MLPClassifier", "OneVsAllClassifier"]
