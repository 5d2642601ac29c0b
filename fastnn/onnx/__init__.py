"""ONNX export of fastnn's estimators through skl2onnx (the optional extra ``onnx``).

Importing this module registers fastnn's LogisticRegression, OneVsAllClassifier and
MLPClassifier with skl2onnx, so that ``skl2onnx.to_onnx(estimator, X_sample)`` (and
anything built on skl2onnx's registry, a Pipeline ending in a fastnn estimator
included) converts them; :func:`to_onnx` is the same call. onnxruntime then gives
fastnn's ``predict`` and ``predict_proba``: float32 or float64 as ``X_sample`` is,
with or without the ZipMap output (the ``zipmap`` option). docs/onnx.md tells more.

- LogisticRegression: skl2onnx's converter of scikit-learn's LogisticRegression
  (``_logistic``);
- MLPClassifier: fastnn's own, for every activation (``_mlp``);
- OneVsAllClassifier: fastnn's own, each binary estimator through its own converter
  (``_one_vs_all``).
"""

try:
    import onnx  # noqa: F401 (skl2onnx's own dependency: fails the same way)
    import skl2onnx
except ImportError as error:
    raise ImportError(
        "fastnn.onnx needs skl2onnx and onnx, fastnn's optional extra 'onnx': "
        'pip install "fastnn-cython[onnx]" (or pip install ".[onnx]" in a checkout of '
        f"fastnn). ({error})"
    ) from error

from fastnn.estimators import LogisticRegression, MLPClassifier, OneVsAllClassifier
from fastnn.estimators._one_vs_all_binary import ConstantPredictor
from fastnn.onnx._logistic import (
    LOGISTIC_OPTIONS,
    convert_logistic_regression,
    logistic_output_shapes,
)
from fastnn.onnx._mlp import convert_mlp, mlp_output_shapes
from fastnn.onnx._one_vs_all import (
    constant_output_shapes,
    convert_constant,
    convert_one_vs_all,
    one_vs_all_output_shapes,
)
from fastnn.onnx._parse import CLASSIFIER_OPTIONS, parse_classifier

__all__ = ["to_onnx"]

# NOTE: each alias is the class's name in skl2onnx's registry, which also holds
# scikit-learn's classes of the same names (under "Sklearn...").
for _cls, _shapes, _convert, _options in (
    (LogisticRegression, logistic_output_shapes, convert_logistic_regression,
     LOGISTIC_OPTIONS),
    (MLPClassifier, mlp_output_shapes, convert_mlp, CLASSIFIER_OPTIONS),
    (OneVsAllClassifier, one_vs_all_output_shapes, convert_one_vs_all,
     CLASSIFIER_OPTIONS),
):
    skl2onnx.update_registered_converter(
        _cls, f"Fastnn{_cls.__name__}", _shapes, _convert, parser=parse_classifier,
        options=_options)
# a OneVsAllClassifier's binary estimator for a label all (or no) samples had
skl2onnx.update_registered_converter(
    ConstantPredictor, "FastnnConstantPredictor", constant_output_shapes,
    convert_constant)
del _cls, _shapes, _convert, _options


def to_onnx(estimator, X=None, **kwargs):
    """The ONNX model of a fitted fastnn estimator: ``skl2onnx.to_onnx``'s.

    Parameters
    ----------
    estimator : LogisticRegression, OneVsAllClassifier or MLPClassifier
        Fitted (or a scikit-learn Pipeline of convertible steps ending in one).
    X : ndarray of shape (n_samples, n_features), default=None
        A sample of the input: its dtype (float32 or float64) and width make the
        model's input type. Or give skl2onnx's ``initial_types``.
    **kwargs
        ``skl2onnx.to_onnx``'s: ``options`` (``{"zipmap": False}`` gives the
        probabilities as one tensor), ``target_opset``, ``name``, ...

    Returns
    -------
    onnx.ModelProto
        Its outputs are the label and the probabilities (a list of
        ``{class: probability}`` with the ZipMap, the default).

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import LogisticRegression
    >>> from fastnn.onnx import to_onnx
    >>> X = np.array([[-2.0, 4.0], [2.0, 2.6], [-0.4, 1.0]], dtype=np.float32)
    >>> model = to_onnx(LogisticRegression().fit(X, [0, 1, 1]), X,
    ...                 options={"zipmap": False})
    >>> [output.name for output in model.graph.output]
    ['label', 'probabilities']
    """
    return skl2onnx.to_onnx(estimator, X, **kwargs)
