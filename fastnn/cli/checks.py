"""What `fastnn train` and `fastnn predict` check before they do any work: a target
that looks like class labels, output files that overwrite no input, feature values a
model can do arithmetic on, and options the chosen model would ignore. Each refusal is
a :class:`UserError`, one line for the user."""

import os
import warnings

import numpy as np

__all__ = ["UserError", "check_outputs", "check_target", "check_unscaled",
           "column_peaks", "ignored_options", "scale_rows", "standardize"]

# NOTE: a classifier needs several rows per class; a target with more distinct values
# than half the rows is a measurement or an identifier, not a class label.
MAX_CLASSES_PER_ROW = 0.5
# NOTE: the models square and sum feature values (L-BFGS's curvature, Adam's second
# moments); above about sqrt(float64 max) = 1.3e154 a square overflows to inf.
UNSCALED_LIMIT = 1e150


class UserError(Exception):
    """A mistake the user can fix; ``fastnn.cli.main`` prints its one-line message."""


def check_target(y, source, target):
    """Refuse a target that looks continuous: numbers that are not all whole, or more
    distinct values than half the rows."""
    labels = np.unique(y)
    if y.dtype.kind == "U":
        try:
            values = y.astype(np.float64)
        except ValueError:
            values = None
        if values is not None:
            fractional = np.flatnonzero(np.isfinite(values) & (values % 1 != 0))
            if fractional.size:
                raise UserError(
                    f"{source}: the target {target!r} holds numbers that are not whole "
                    f"(e.g. {y[fractional[0]]}): it looks continuous, and fastnn "
                    "trains classifiers; name a column of class labels with --target")
    if len(labels) > MAX_CLASSES_PER_ROW * len(y):
        raise UserError(
            f"{source}: the target {target!r} has {len(labels)} distinct values in "
            f"{len(y)} rows (more than half): it looks like a measurement or an "
            "identifier, not class labels; name a column of class labels with "
            "--target")


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return os.path.realpath(a) == os.path.realpath(b)


def check_outputs(outputs, inputs):
    """Refuse an output that is an input file, or two outputs that are one file.
    ``outputs`` and ``inputs`` are ``(what, path)`` pairs, e.g. ``("--save", p)``."""
    outputs = [(what, path) for what, path in outputs if path]
    for option, path in outputs:
        for what, source in inputs:
            if source and _same_file(path, source):
                raise UserError(f"{option} {path} would overwrite the {what}; choose "
                                "another file name")
    for i, (option, path) in enumerate(outputs):
        for other, other_path in outputs[i + 1:]:
            if _same_file(path, other_path):
                raise UserError(f"{option} and {other} name the same file, "
                                f"{os.path.realpath(path)}; give them different names")


# NOTE: standardizing walks the rows in blocks of this many, so its temporaries are a
# block's, not the array's.
ROWS_PER_BLOCK = 16384


def _blocks(X):
    for start in range(0, len(X), ROWS_PER_BLOCK):
        yield X[start:start + ROWS_PER_BLOCK]


def column_peaks(*arrays):
    """The largest magnitude in each column of the arrays (same columns)."""
    peaks = np.zeros(arrays[0].shape[1])
    for X in arrays:
        if len(X):
            peaks = np.maximum(peaks, np.maximum(X.max(axis=0), -X.min(axis=0)))
    return peaks


def _column_error(source, name, peak, why, fix):
    return UserError(f"{source}: column {name!r} (values up to {peak:.3g} in "
                     f"magnitude) {why}; {fix}")


def scale_rows(X, mean, scale):
    """Standardize X in place as StandardScaler.transform does (X -= mean; X /= scale,
    in float64 when X is float32, stored back in X's dtype); returns X."""
    with np.errstate(over="ignore", invalid="ignore"):
        for block in _blocks(X):
            np.subtract(block, mean, out=block, casting="same_kind")
            np.divide(block, scale, out=block, casting="same_kind")
    return X


def standardize(X_train, X_test, feature_names, source):
    """The StandardScaler fitted on the training rows, with which both arrays are
    standardized in place; a UserError names the first column whose mean, variance or
    scaled values overflow float64."""
    from sklearn.preprocessing import StandardScaler

    peaks = column_peaks(X_train, X_test)  # before the values are scaled
    scaler = StandardScaler()
    with np.errstate(over="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # NOTE: in blocks: fit's temporaries would be X's size
        for block in _blocks(X_train):
            scaler.partial_fit(block)
    bad = ~(np.isfinite(scaler.mean_) & np.isfinite(scaler.var_)
            & np.isfinite(scaler.scale_))
    if not bad.any():
        for X in (X_train, X_test):
            scale_rows(X, scaler.mean_, scaler.scale_)
            for block in _blocks(X):
                bad |= ~np.isfinite(block).all(axis=0)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise _column_error(
            source, feature_names[j], peaks[j], "cannot be standardized: its mean or "
            "variance overflows float64 (squares of values above about 1e154 do)",
            "rescale the column, e.g. by changing its unit")
    return scaler


def check_unscaled(X_train, X_test, feature_names, source):
    """With --no-scale: refuse a column the model's arithmetic would overflow on."""
    peaks = column_peaks(X_train, X_test)
    big = np.flatnonzero(peaks > UNSCALED_LIMIT)
    if big.size:
        j = int(big[0])
        raise _column_error(
            source, feature_names[j], peaks[j], "is too large to train on without "
            f"standardization: above {UNSCALED_LIMIT:.0e} the model's arithmetic "
            "overflows float64", "drop --no-scale, or rescale the column")


# (argparse attribute, option) of the options only the mlp model reads
_MLP_ONLY = (("hidden", "--hidden"), ("activation", "--activation"),
             ("batch_size", "--batch-size"), ("learning_rate", "--learning-rate"),
             ("early_stopping", "--early-stopping"))


def ignored_options(args):
    """The one warning for options the user gave that ``args.model`` ignores, or
    None."""
    if args.model == "mlp":
        return None
    given = [option for name, option in _MLP_ONLY
             if getattr(args, name) not in (None, False)]
    if not given:
        return None
    verb = "applies" if len(given) == 1 else "apply"
    return (f"{', '.join(given)} {verb} to --model mlp only, and "
            f"--model {args.model} ignores {'it' if len(given) == 1 else 'them'}")
