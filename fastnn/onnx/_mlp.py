"""MLPClassifier to ONNX: fastnn's own converter, for every hidden activation.

Each hidden layer is ``MatMul`` and ``Add`` of its ``coefs_`` and ``intercepts_``,
then its activation; dropout is the identity at inference, so it leaves no node. The
output layer gives the logits ``Z``, and from them, as fastnn's ``predict_proba`` and
``predict`` compute them:

- softmax output (more than two classes): ``softmax(Z)``, the class ``argmax(Z)``;
- one logistic unit (two classes): ``[1 - sigmoid(z), sigmoid(z)]``, the class
  ``z > 0``;
- one logistic unit per label (multilabel): ``sigmoid(Z)``, the labels ``Z > 0``.

NOTE: skl2onnx's MLPClassifier converter is not reused. It knows scikit-learn's four
activations only (fastnn has leaky_relu, elu and maxout, whose layer has ``pieces``
columns per unit), and it takes the class from the rounded probabilities (``p >=
0.5``, the argmax of the softmax), where fastnn thresholds the logits: near a tie the
two can differ. One converter for all seven activations is smaller than one for
three beside skl2onnx's for four, and predicts as fastnn does.
"""

import numpy as np
from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

from fastnn.nn.activations import ELU_ALPHA, LEAKY_RELU_SLOPE
from fastnn.onnx._nodes import Nodes, class_labels, float_input, graph_dtype

__all__ = ["convert_mlp", "mlp_output_shapes"]



def _scalar(nodes, value, name):
    return nodes.constant(np.full((1, 1), value), name)


def _leaky_relu(nodes, Z):
    # NOTE: max(z, 0.1 z) is z for z > 0, else 0.1 z. Not ONNX's LeakyRelu: its slope
    # is a float32 attribute, 1.5e-9 away from 0.1 in a float64 graph.
    return nodes.add("Max", Z, nodes.add("Mul", Z, _scalar(nodes, LEAKY_RELU_SLOPE,
                                                            "slope")))


def _elu(nodes, Z):
    # NOTE: relu(z) + alpha (exp(min(z, 0)) - 1): onnxruntime has no float64 Elu, and
    # min(z, 0) keeps exp from overflowing. (fastnn's expm1 is more exact for tiny z;
    # the difference is an ulp of 1.)
    negative = nodes.add("Sub", nodes.add("Exp", nodes.add("Min", Z, _scalar(
        nodes, 0.0, "zero"))), _scalar(nodes, 1.0, "one"))
    return nodes.add("Add", nodes.add("Relu", Z),
                     nodes.add("Mul", negative, _scalar(nodes, ELU_ALPHA, "alpha")))


# each element-wise hidden activation: (nodes, Z) -> its output's name
_ELEMENTWISE = {
    "relu": lambda nodes, Z: nodes.add("Relu", Z),
    "tanh": lambda nodes, Z: nodes.add("Tanh", Z),
    "logistic": lambda nodes, Z: nodes.add("Sigmoid", Z),
    "identity": lambda nodes, Z: Z,
    "leaky_relu": _leaky_relu,
    "elu": _elu,
}


def _multilabel(mlp):
    """Whether ``mlp`` has one logistic output unit per label."""
    return mlp.out_activation_ == "logistic" and mlp.n_outputs_ > 1


def _check_convertible(mlp):
    """ValueError for what has no ONNX model of fastnn's outputs."""
    if mlp.activation not in (*_ELEMENTWISE, "maxout"):
        raise ValueError(f"no ONNX conversion of the activation {mlp.activation!r}")
    if mlp.out_activation_ == "logistic" and mlp.n_outputs_ == 1 and len(
            mlp.classes_) < 2:
        # NOTE: its predict_proba has two columns for its one class (as scikit-learn's)
        raise ValueError(
            "this MLPClassifier was fitted on one class only: it always predicts "
            f"{mlp.classes_[0]!r}, and has no classifier's ONNX outputs")


def mlp_output_shapes(operator):
    """skl2onnx's classifier outputs; for a multilabel network the label output is
    (n_samples, n_labels)."""
    mlp = operator.raw_operator
    _check_convertible(mlp)
    calculate_linear_classifier_output_shapes(operator)
    if _multilabel(mlp):
        n_samples = operator.inputs[0].get_first_dimension()
        operator.outputs[0].type.shape = [n_samples, mlp.n_outputs_]


def _hidden(nodes, Z, mlp, W, next_width):
    """The activation of a hidden layer's affine output ``Z`` (maxout: the max over
    each unit's ``pieces`` columns, which ``W`` holds side by side)."""
    if mlp.activation == "maxout":
        pieces, remainder = divmod(W.shape[1], next_width)
        if remainder or pieces < 1:
            raise ValueError(f"a maxout layer's coefs_ has {W.shape[1]} columns for "
                             f"{next_width} units")
        # NOTE: unit j owns columns j * pieces ... j * pieces + pieces - 1: a row-major
        # reshape to (n_samples, units, pieces) puts them on the last axis.
        shape = nodes.constant([-1, next_width, pieces], "maxout_shape", np.int64)
        return nodes.reduce("ReduceMax", nodes.add("Reshape", Z, shape), axis=2,
                            keepdims=0)
    return _ELEMENTWISE[mlp.activation](nodes, Z)


def _logits(nodes, X, mlp):
    """The output layer's ``Z`` for the input ``X``, through every hidden layer."""
    coefs, intercepts = list(mlp.coefs_), list(mlp.intercepts_)
    for index, (W, b) in enumerate(zip(coefs, intercepts)):
        W, b = np.asarray(W), np.asarray(b)
        Z = nodes.affine(X, W, b)
        if index == len(coefs) - 1:
            return Z
        X = _hidden(nodes, Z, mlp, W, np.shape(coefs[index + 1])[0])
    raise ValueError("coefs_ is empty")


def convert_mlp(scope, operator, container):
    """The label and probabilities of the operator's fastnn MLPClassifier (see the
    module)."""
    mlp = operator.raw_operator
    _check_convertible(mlp)
    label, proba = (output.full_name for output in operator.outputs[:2])
    nodes = Nodes(scope, container, graph_dtype(operator.inputs[0]))
    Z = _logits(nodes, float_input(nodes, operator.inputs[0]), mlp)
    if mlp.out_activation_ == "softmax":
        nodes.add("Softmax", Z, output=proba, axis=1)
        class_labels(nodes, nodes.add("ArgMax", Z, axis=1, keepdims=0), mlp, label)
        return
    positive = nodes.add("Greater", Z, _scalar(nodes, 0.0, "zero"))
    if _multilabel(mlp):
        nodes.add("Sigmoid", Z, output=proba)
        nodes.cast(positive, np.int64, output=label)
        return
    p = nodes.add("Sigmoid", Z)
    nodes.add("Concat", nodes.add("Sub", _scalar(nodes, 1.0, "one"), p), p,
              output=proba, axis=1)
    flat = nodes.constant([-1], "flat", np.int64)
    class_labels(nodes, nodes.add("Reshape", nodes.cast(positive, np.int64), flat), mlp,
                 label)
