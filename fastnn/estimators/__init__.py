"""scikit-learn estimators on fastnn's engine.

``LogisticRegression`` (the lecture's sigmoid neuron, softmax for more classes),
``OneVsAllClassifier`` (one binary clone per class, of any scikit-learn classifier)
and ``MLPClassifier`` (trained through :class:`fastnn.Sequential`'s layers).
"""

from fastnn.estimators._logistic import LogisticRegression
from fastnn.estimators._mlp import MLPClassifier
from fastnn.estimators._one_vs_all import OneVsAllClassifier
from fastnn.saving import registry

for _cls in (LogisticRegression, OneVsAllClassifier, MLPClassifier):
    registry.register("estimator")(_cls)  # the classes fastnn's files hold
del _cls
registry.register("template")(LogisticRegression)  # a saved OneVsAll's template

__all__ = ["LogisticRegression", "MLPClassifier", "OneVsAllClassifier"]
