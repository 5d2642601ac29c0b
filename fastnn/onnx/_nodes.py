"""The ONNX graph a converter writes, one node per call: :class:`Nodes` adds a node or
a constant to skl2onnx's scope and container and returns the name of what it made, so
a converter reads as the maths it computes; :func:`class_labels` turns class indices
into ``classes_``'s labels (:func:`onnx_labels`)."""

import numbers

import numpy as np
from onnx import TensorProto
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
from skl2onnx.common.utils_classifier import get_label_classes

__all__ = ["Nodes", "class_labels", "float_input", "graph_dtype", "onnx_labels"]

_PROTO = {np.dtype(np.float32): TensorProto.FLOAT,
          np.dtype(np.float64): TensorProto.DOUBLE,
          np.dtype(np.int64): TensorProto.INT64}


def graph_dtype(variable):
    """The float dtype a converter computes in for the input ``variable``: float64 for
    a DoubleTensorType, float32 for any other (as skl2onnx's converters do)."""
    return np.dtype(np.float64 if isinstance(variable.type, DoubleTensorType)
                    else np.float32)


def float_input(nodes, variable):
    """The name of the input ``variable`` in the graph's floats: itself for a float32
    or float64 tensor (the graph computes in its dtype), else cast to float32."""
    if isinstance(variable.type, (FloatTensorType, DoubleTensorType)):
        return variable.full_name
    return nodes.cast(variable.full_name, nodes.dtype)


class Nodes:
    """Adds the nodes of one converter, computing in ``dtype`` (float32 or float64).

    Each method adds one node (or constant) with a name unique in ``scope`` and
    returns its output's name; ``output`` names it instead (an operator's output).
    """

    def __init__(self, scope, container, dtype):
        self.scope, self.container, self.dtype = scope, container, np.dtype(dtype)

    @property
    def opset(self):
        """The opset of the ONNX domain the model targets."""
        return self.container.main_opset

    def constant(self, array, name="constant", dtype=None):
        """An initializer holding ``array`` in ``dtype`` (default: the graph's floats,
        or int64 for integers and strings as they are)."""
        array = np.asarray(array)
        if dtype is None:
            dtype = np.int64 if array.dtype.kind in "iub" else self.dtype
        if array.dtype.kind in "OUS":
            proto = TensorProto.STRING
            values = [str(value).encode("utf-8") for value in array.ravel()]
        else:
            array = array.astype(dtype)
            proto, values = _PROTO[array.dtype], array.ravel()
        unique = self.scope.get_unique_variable_name(name)
        self.container.add_initializer(unique, proto, list(array.shape), values)
        return unique

    def add(self, op_type, *inputs, output=None, domain=None, **attributes):
        """The node ``op_type(*inputs, **attributes)``; returns its output's name."""
        if output is None:
            output = self.scope.get_unique_variable_name(op_type.lower())
        kwargs = {} if domain is None else {"op_domain": domain}
        self.container.add_node(
            op_type, list(inputs), output,
            name=self.scope.get_unique_operator_name(op_type), **kwargs, **attributes,
        )
        return output

    def affine(self, name, W, b):
        """``name @ W + b``, the weights and intercepts as constants of the graph."""
        product = self.add("MatMul", name, self.constant(W, "coefficient"))
        return self.add("Add", product, self.constant(np.reshape(b, (1, -1)),
                                                      "intercept"))

    def cast(self, name, dtype, output=None):
        """``name`` cast to ``dtype`` (a NumPy float or int64 dtype)."""
        return self.add("Cast", name, output=output, to=_PROTO[np.dtype(dtype)])

    def reduce(self, op_type, name, axis, keepdims):
        """``ReduceMax`` or ``ReduceSum`` over one ``axis``.

        NOTE: the axes became an input in opset 13 for ReduceSum and in opset 18 for
        ReduceMax; before, they are an attribute.
        """
        since = {"ReduceSum": 13, "ReduceMax": 18}[op_type]
        if self.opset >= since:
            axes = self.constant([axis], name="axes", dtype=np.int64)
            return self.add(op_type, name, axes, keepdims=keepdims)
        return self.add(op_type, name, axes=[axis], keepdims=keepdims)

    def rows(self, name):
        """The number of rows of ``name``, as a 1-D int64 tensor of one entry."""
        shape = self.add("Shape", name)
        return self.add("Gather", shape, self.constant([0], "first", np.int64))


def onnx_labels(classes):
    """``classes`` as ONNX labels: int64 for integer (or integral float, or bool)
    classes, strings for string classes, as skl2onnx's classifiers give them;
    ValueError for any other (scikit-learn's classifiers fit no such classes)."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "OUS" and all(isinstance(c, str) for c in classes):
        return classes.astype(str)
    if classes.dtype.kind in "iub" or (
        classes.dtype.kind in "fO"
        and all(isinstance(c, numbers.Real) and float(c).is_integer() for c in classes)
    ):
        return classes.astype(np.int64)
    raise ValueError(
        f"ONNX labels are integers or strings; classes_ holds {classes.dtype} values "
        f"that are neither ({classes[:3].tolist()} ...)"
    )


def class_labels(nodes, indices, estimator, output):
    """``estimator.classes_[indices]`` into ``output`` (:func:`onnx_labels`; 0, 1, ...
    with skl2onnx's ``nocl`` option); ``indices`` is an int64 tensor of shape
    (n_samples,)."""
    labels = onnx_labels(get_label_classes(nodes.scope, estimator))
    return nodes.add("Gather", nodes.constant(labels, "classes"), indices,
                     output=output, axis=0)
