"""What the callbacks that watch a quantity share (EarlyStopping, ReduceLROnPlateau,
ModelCheckpoint): their arguments' checks, which way is better, and the value in an
epoch's logs, with Keras' warning when it is missing."""

import numbers
import warnings

__all__ = ["Monitor", "check_count", "check_number", "check_verbose"]


def check_count(name, value):
    """``value`` if it is an int >= 0 (``patience``, ``cooldown``...)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= 0, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return int(value)


def check_number(name, value, optional=False):
    """``value`` as a float if it is a real number (or None with ``optional``)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    return float(value)


def check_verbose(value):
    return check_count("verbose", value)


class Monitor:
    """The quantity ``monitor`` of an epoch's logs and which way is better.

    ``mode`` 'min' or 'max', or 'auto': larger is better when the name holds 'acc'
    (Keras 2's rule: 'accuracy', 'val_acc'...), smaller otherwise. ``warning`` is
    the owner's message when the logs lack the quantity, with ``{monitor}`` and
    ``{keys}`` (Keras' own texts); the fit goes on.
    """

    def __init__(self, owner, monitor, mode, warning):
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be a str such as 'val_loss', got {monitor!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{owner} mode {mode!r} is unknown; expected 'auto', 'min' "
                             "or 'max'")
        self.monitor, self.mode, self.warning = monitor, mode, warning
        self.maximize = mode == "max" or (
            mode == "auto" and ("acc" in monitor or monitor.startswith("fmeasure"))
        )

    @property
    def worst(self):
        """The value every real value improves on."""
        return -float("inf") if self.maximize else float("inf")

    def better(self, value, reference, min_delta=0.0):
        """Whether ``value`` beats ``reference`` by more than ``min_delta`` (NaN
        never does)."""
        if self.maximize:
            return value - min_delta > reference
        return value + min_delta < reference

    def value(self, logs):
        """The monitored value in ``logs``, or None after Keras' warning."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                self.warning.format(monitor=self.monitor, keys=",".join(logs)),
                UserWarning, stacklevel=3,
            )
        return value
