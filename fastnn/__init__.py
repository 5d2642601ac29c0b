"""fastnn: a compact, compiled neural-network library.

The engine is :mod:`fastnn.ops`, typed Cython kernels behind one validating door.
"""

from fastnn import ops

__version__ = "0.1.0"

__all__ = ["ops", "__version__"]
