"""OneVsAllClassifier to ONNX: each binary estimator through its own converter
(skl2onnx's, or fastnn's for fastnn's estimators), combined as fastnn combines them;
and the constant predictor of a label every training sample had, or none.

What fastnn's predictions are, and so the graph:

- two classes (one binary estimator): its own probabilities and its own class;
- more classes: each estimator's probability of its class, normalised to sum to 1
  (a row where every one is 0 is uniform); the class of the highest decision value
  (``X @ coef_.T + intercept_`` of linear estimators, fastnn's LogisticRegression
  among them), else of the highest probability;
- multilabel: each label's probability as it is, and each estimator's own label.

NOTE: skl2onnx's OneVsRestClassifier converter is not reused: it makes a row of
zeros NaN (0 / 0) or leaves it zeros, by opset, where fastnn is uniform; it turns one
estimator's ``p`` into ``[1 - p, p]`` where fastnn keeps the estimator's own columns;
and it compares rounded probabilities where fastnn compares decision values (two
classes whose probabilities both round to 1, or to 0, would tie) or asks each
estimator for its label. Its way of
converting the binary estimators (a local operator each, through skl2onnx's
registry) is the one used here.
"""

import numpy as np
import scipy.sparse as sp
from skl2onnx import get_model_alias
from skl2onnx.common.data_types import Int64TensorType, guess_tensor_type
from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
from sklearn.linear_model._base import LinearClassifierMixin

from fastnn.onnx._nodes import Nodes, class_labels, float_input, graph_dtype

__all__ = ["constant_output_shapes", "convert_constant", "convert_one_vs_all",
           "one_vs_all_output_shapes"]


def _check_convertible(classifier):
    """ValueError (naming the estimator) unless every binary estimator has
    ``predict_proba`` and a converter."""
    for binary in classifier.estimators_:
        name = type(binary).__name__
        if not hasattr(binary, "predict_proba"):
            raise ValueError(
                f"{type(classifier).__name__}'s binary estimators have no "
                f"predict_proba ({name}): it has no probabilities to convert")
        try:
            get_model_alias(type(binary))
        except RuntimeError:
            raise ValueError(
                f"skl2onnx has no converter for {name}, one of "
                f"{type(classifier).__name__}'s binary estimators") from None


def one_vs_all_output_shapes(operator):
    """skl2onnx's classifier outputs (a multilabel one's label is (n_samples,
    n_labels): skl2onnx reads ``multilabel_``)."""
    _check_convertible(operator.raw_operator)
    calculate_linear_classifier_output_shapes(operator)


def _binary_outputs(scope, container, operator, binary):
    """A local operator converting ``binary``: (its label's name, int64 0/1 of shape
    (n_samples,); its probabilities' name, (n_samples, 2))."""
    if container.has_options(binary, "raw_scores"):
        # NOTE: probabilities, whatever raw_scores the user set for its class
        for holder in (container, scope):
            holder.add_options(id(binary), {"raw_scores": False})
    local = scope.declare_local_operator(get_model_alias(type(binary)), binary)
    local.inputs = operator.inputs
    label = scope.declare_local_variable("binary_label", Int64TensorType())
    proba = scope.declare_local_variable("binary_proba",
                                         guess_tensor_type(operator.inputs[0].type))
    local.outputs.extend([label, proba])
    return label.full_name, proba.full_name


def _decision_values(nodes, X, binaries):
    """The binary estimators' decision values side by side, (n_samples,
    n_estimators), if they are all linear (their decision_function is ``X @ coef_.T +
    intercept_``): one MatMul of their stacked weights, as fastnn's one-row path
    computes them. None otherwise."""
    if not all(isinstance(binary, LinearClassifierMixin) for binary in binaries):
        return None
    coefs = [binary.coef_.toarray() if sp.issparse(binary.coef_) else binary.coef_
             for binary in binaries]
    W = np.concatenate([np.reshape(coef, (1, -1)) for coef in coefs]).T
    b = np.concatenate([np.ravel(binary.intercept_) for binary in binaries])
    return nodes.affine(X, W, b)


def convert_one_vs_all(scope, operator, container):
    """The label and probabilities of the operator's OneVsAllClassifier (see the
    module)."""
    classifier = operator.raw_operator
    label, proba = (output.full_name for output in operator.outputs[:2])
    nodes = Nodes(scope, container, graph_dtype(operator.inputs[0]))
    binaries = [_binary_outputs(scope, container, operator, binary)
                for binary in classifier.estimators_]
    if len(binaries) == 1:
        (binary_label, binary_proba), = binaries
        nodes.add("Identity", binary_proba, output=proba)
        class_labels(nodes, binary_label, classifier, label)
        return
    second = nodes.constant([1], "second", np.int64)
    P = nodes.add("Concat", *(nodes.add("Gather", p, second, axis=1)
                              for _, p in binaries), axis=1)
    if classifier.multilabel_:
        nodes.add("Identity", P, output=proba)
        column = nodes.constant([-1, 1], "column", np.int64)
        nodes.add("Concat", *(nodes.add("Reshape", y, column) for y, _ in binaries),
                  output=label, axis=1)
        return
    # NOTE: P / its row sum, except a row summing to 0: uniform, as fastnn's
    # predict_proba (the division's 0 / 0 there is not taken).
    total = nodes.reduce("ReduceSum", P, axis=1, keepdims=1)
    none = nodes.add("Equal", total, nodes.constant(np.zeros((1, 1)), "zero"))
    uniform = nodes.constant(np.full((1, 1), 1 / len(binaries)), "uniform")
    nodes.add("Where", none, uniform, nodes.add("Div", P, total), output=proba)
    scores = _decision_values(nodes, float_input(nodes, operator.inputs[0]),
                              classifier.estimators_)
    class_labels(nodes, nodes.add("ArgMax", P if scores is None else scores, axis=1,
                                  keepdims=0), classifier, label)


def constant_output_shapes(operator):
    """A constant predictor's label (n_samples,) and probabilities (n_samples, 2)."""
    n_samples = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = Int64TensorType([n_samples])
    operator.outputs[1].type = guess_tensor_type(operator.inputs[0].type)
    operator.outputs[1].type.shape = [n_samples, 2]


def convert_constant(scope, operator, container):
    """Every row's label is the constant, its probabilities ``[1 - c, c]``."""
    constant = operator.raw_operator.constant_
    nodes = Nodes(scope, container, graph_dtype(operator.inputs[0]))
    rows = nodes.rows(operator.inputs[0].full_name)
    nodes.add("Expand", nodes.constant([constant], "constant", np.int64), rows,
              output=operator.outputs[0].full_name)
    two = nodes.constant([2], "two", np.int64)
    nodes.add("Expand", nodes.constant(np.array([[1.0 - constant, constant]]), "proba"),
              nodes.add("Concat", rows, two, axis=0),
              output=operator.outputs[1].full_name)

