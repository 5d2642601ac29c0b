"""fastnn: a compact, compiled neural-network library.

The engine is :mod:`fastnn.ops`, typed Cython kernels behind one validating door. On it:
:mod:`fastnn.layers`, :mod:`fastnn.losses`, :mod:`fastnn.optimizers` and the Keras-style
:class:`Sequential` (:mod:`fastnn.models`); the scikit-learn estimators
:class:`LogisticRegression`, :class:`OneVsAllClassifier`, :class:`MLPClassifier`
(:mod:`fastnn.estimators`); the teaching gate API in :mod:`fastnn.graph`.
"""

import importlib.machinery as _machinery
import os as _os


def _check_build():
    """Raise one clear ImportError when fastnn is imported from a source tree whose
    compiled modules were never built (as scikit-learn and NumPy do), instead of a
    ModuleNotFoundError deep inside :mod:`fastnn.ops`.

    It looks for the files beside this one rather than importing them: an editable
    install elsewhere on the machine would otherwise lend its compiled modules."""
    package = _os.path.dirname(_os.path.abspath(__file__))
    for module in (_os.path.join("_kernels", "checks"),
                   _os.path.join("_kernels", "blas")):
        if not any(_os.path.exists(_os.path.join(package, module + suffix))
                   for suffix in _machinery.EXTENSION_SUFFIXES):
            break
    else:
        return
    source_tree = _os.path.exists(_os.path.join(package, "..", "setup.py"))
    where = (
        "from its source tree, whose kernels are not built"
        if source_tree else "from an installation that lacks its compiled kernels"
    )
    raise ImportError(
        f"fastnn is being imported {where} ({package}).\n"
        "To use the installed fastnn, run Python outside this folder; in a checkout, "
        "pytest (not python -m pytest) tests the installed package.\n"
        "To work on fastnn, build the kernels in place: "
        'pip install -e ".[test]" in the checkout (see docs/contributing.md).\n'
        f"(No compiled module fastnn.{module.replace(_os.sep, '.')} in {package})"
    )


_check_build()

from fastnn import ops  # noqa: E402
# The Keras-style namespaces are attributes of the package (fastnn.optimizers.SGD after
# import fastnn, as keras.optimizers.SGD), though nothing inside fastnn imports them.
from fastnn import (  # noqa: E402, F401
    activations, initializers, layers, losses, metrics, optimizers,
)
from fastnn.estimators import (  # noqa: E402
    LogisticRegression, MLPClassifier, OneVsAllClassifier,
)
from fastnn.models import Sequential  # noqa: E402
from fastnn import callbacks  # noqa: E402, F401  (fastnn.callbacks.EarlyStopping)
from fastnn.saving import load_model  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "ops", "Sequential", "load_model",
    "LogisticRegression", "OneVsAllClassifier", "MLPClassifier", "__version__",
]
