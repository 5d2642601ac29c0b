"""LogisticRegression to ONNX: skl2onnx's converter of scikit-learn's
LogisticRegression, given a scikit-learn twin that holds fastnn's fitted attributes.

fastnn's ``coef_``, ``intercept_`` and ``classes_`` are scikit-learn's, and so are its
predictions: for two classes the probabilities ``[sigmoid(-z), sigmoid(z)]`` and the
class ``z > 0``, for more the softmax of the scores and their argmax. skl2onnx's
linear-classifier converter computes exactly these, float32 (the ``LinearClassifier``
operator) and float64 (MatMul, Add and the transform), with its ``raw_scores`` and
``nocl`` options.
"""

from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from skl2onnx import get_model_alias
from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
from skl2onnx.operator_converters.linear_classifier import (
    convert_sklearn_linear_classifier,
)
from sklearn.linear_model import LogisticRegression as ScikitLearnLogisticRegression

from fastnn.onnx._parse import CLASSIFIER_OPTIONS

__all__ = ["LOGISTIC_OPTIONS", "convert_logistic_regression",
           "logistic_output_shapes"]

# the options of skl2onnx's converter of scikit-learn's LogisticRegression
LOGISTIC_OPTIONS = {**CLASSIFIER_OPTIONS, "raw_scores": [True, False]}

logistic_output_shapes = calculate_linear_classifier_output_shapes


def scikit_learn_twin(estimator):
    """A scikit-learn LogisticRegression (default parameters) holding ``estimator``'s
    fitted ``coef_`` (dense, also after ``sparsify``), ``intercept_`` and
    ``classes_``: all skl2onnx's converter reads."""
    twin = ScikitLearnLogisticRegression()
    coef = estimator.coef_
    twin.coef_ = np.asarray(coef.toarray() if sp.issparse(coef) else coef)
    twin.intercept_ = np.asarray(estimator.intercept_)
    twin.classes_ = estimator.classes_
    twin.n_features_in_ = twin.coef_.shape[1]
    return twin


@contextmanager
def _options_for(model, options, scope, container):
    """``options`` (the converter's options, given by the user for another model)
    registered for ``model`` while the block runs, then removed: skl2onnx keeps them
    in the dict the user passed, keyed by ``id(model)``."""
    for holder in (container, scope):
        holder.add_options(id(model), options)
    try:
        yield
    finally:
        for holder in (container, scope):
            if holder.options is not None:
                holder.options.pop(id(model), None)


def convert_logistic_regression(scope, operator, container):
    """skl2onnx's converter of scikit-learn's LogisticRegression on the twin of the
    operator's fastnn LogisticRegression, with the options given for the latter.

    NOTE: skl2onnx chooses the probabilities' transform by
    ``isinstance(op, sklearn.linear_model.LogisticRegression)``; any other class gets
    a softmax, which for two classes is softmax([-z, z]) = sigmoid(2 z), not
    sigmoid(z). The twin takes scikit-learn's path, which is fastnn's.
    """
    estimator = operator.raw_operator
    twin = scikit_learn_twin(estimator)
    options = container.get_options(estimator, {"raw_scores": False, "nocl": False})
    alias = get_model_alias(ScikitLearnLogisticRegression)
    with _options_for(twin, options, scope, container):
        convert_sklearn_linear_classifier(
            scope, operator.new_raw_operator(twin, alias), container)
