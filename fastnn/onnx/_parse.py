"""The outputs skl2onnx declares for a fastnn classifier: the label and the
probabilities, with a ZipMap (the ``zipmap`` option) or the class labels
(``output_class_labels``), as for a scikit-learn classifier. Two differences: an
estimator that is not fitted is refused first, with scikit-learn's NotFittedError, and
float64 probabilities reach the ZipMap as float32, the only values ONNX's ZipMap
takes."""

from skl2onnx._parse import (
    _apply_zipmap,
    _parse_sklearn_classifier,
    _parse_sklearn_simple_model,
)
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
from sklearn.utils.validation import check_is_fitted

__all__ = ["CLASSIFIER_OPTIONS", "parse_classifier"]

# every fastnn classifier's options: this parser's, and nocl (labels 0, 1, ... instead
# of classes_: skl2onnx's get_label_classes reads it for every classifier)
CLASSIFIER_OPTIONS = {"zipmap": [True, False, "columns"],
                      "output_class_labels": [False, True], "nocl": [True, False]}


def parse_classifier(scope, model, inputs, custom_parsers=None):
    """skl2onnx's parser of a classifier, once ``model`` is known to be fitted.

    NOTE: skl2onnx's parser reads ``classes_`` before any converter runs, so an
    unfitted estimator would fail there with an AttributeError. And it feeds float64
    probabilities to ZipMap as they are, which onnxruntime refuses (ONNX's ZipMap
    takes float only, even for scikit-learn's own classifiers): here they are cast
    to float32 on the way, the label staying the float64 model's.
    """
    check_is_fitted(model)
    options = scope.get_options(model, {"zipmap": True, "output_class_labels": False})
    if not (options["zipmap"] is True and not options["output_class_labels"]
            and isinstance(inputs[0].type, DoubleTensorType)):
        return _parse_sklearn_classifier(scope, model, inputs,
                                         custom_parsers=custom_parsers)
    label, proba = _parse_sklearn_simple_model(scope, model, inputs,
                                               custom_parsers=custom_parsers)
    cast = scope.declare_local_operator("SklearnCast")
    cast.inputs.append(proba)
    proba32 = scope.declare_local_variable("probabilities32", FloatTensorType())
    cast.outputs.append(proba32)
    return _apply_zipmap(True, scope, model, FloatTensorType(), [label, proba32])
