"""``fastnn train``: fit a classifier on a CSV file (or scikit-learn's digits) with a
progress bar on stderr, then print train/test accuracy, log-loss, the confusion matrix
and the time on stdout; save the model (safe format, with the feature names, target
and standardization in its metadata) and plot the training if asked."""

import os
import sys
import time
import warnings
from collections import namedtuple

import numpy as np

import fastnn
from fastnn.cli.checks import (
    UserError,
    check_outputs,
    check_target,
    check_unscaled,
    ignored_options,
    standardize,
)
from fastnn.cli.data import TrainingData, read_training_data
from fastnn.cli.progress import IterationProgress, TrainingProgress

__all__ = ["UserError", "train"]


def train(args, parser):
    """`fastnn train`: fit, report, then save and plot if asked; returns 0."""
    plot = _outputs(args)
    ignored = ignored_options(args)
    if ignored:
        print(f"warning: {ignored}", file=sys.stderr)
    data, source = _training_data(args)
    read = ("" if data.seconds is None
            else f"; data read in {data.seconds:.2f} s ({data.reader})")
    X, y, feature_names, target = data.X, data.y, data.feature_names, data.target
    n_features = X.shape[1]
    if len(np.unique(y)) < 2:
        raise UserError(f"{source}: the target {target!r} has only one class, "
                        f"{str(y[0])!r}")
    check_target(y, source, target)
    if args.test_size:
        X_train, X_test, y_train, y_test = _split(X, y, args.test_size, args.seed)
    else:
        X_train, X_test, y_train, y_test = X, X[:0], y, y[:0]
    del X, data  # NOTE: the split's copies replace the array read (memory: 2x, once)
    scaler = None
    if args.no_scale:
        check_unscaled(X_train, X_test, feature_names, source)
    else:
        scaler = standardize(X_train, X_test, feature_names, source)
    estimator, description = _estimator(args)
    print(f"fastnn {fastnn.__version__}: {description} on {source}")
    print(f"{len(X_train)} training rows, {len(X_test)} test rows, "
          f"{n_features} features, {len(np.unique(y))} classes, seed {args.seed}"
          + ("" if scaler is None else ", features standardized"), flush=True)

    started = time.perf_counter()
    curves, notes = _fit(estimator, X_train, y_train, args)
    seconds = time.perf_counter() - started
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    try:
        report = _report(estimator, X_train, y_train, X_test, y_test)
    except ValueError as error:  # e.g. predict overflowing on a test row
        raise UserError(f"evaluating the model failed: {error}") from None
    print(f"trained in {seconds:.2f} s ({_iterations(estimator)}){read}")

    if args.save:
        metadata = {
            "fastnn": fastnn.__version__, "model": args.model, "dtype": args.dtype,
            "feature_names": feature_names, "target": target,
            "scaler": None if scaler is None else {
                "mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist()},
        }
        from fastnn.saving import save_model
        try:
            save_model(estimator, args.save, metadata=metadata)
        except OSError as error:
            raise UserError(f"--save {args.save}: {error.strerror or error}") from None
        print(f"saved the model to {os.path.realpath(args.save)}")
    if plot:
        from fastnn.cli.plots import save_training_plot
        if hasattr(estimator, "loss_curve_"):
            curves, label = [estimator.loss_curve_], "loss"
        else:
            label = "L-BFGS objective"
        names = (_binary_names(estimator, quote=str) if args.model == "ova"
                 else None)
        try:
            save_training_plot(plot, curves, label, report.matrix, report.labels,
                               getattr(estimator, "validation_scores_", None),
                               title=f"fastnn {args.model} on {source}",
                               curve_names=names, accuracy=report.accuracy)
        except OSError as error:  # e.g. unwritable
            raise UserError(f"--plot {args.plot}: {error.strerror or error}"
                            ) from None
        print(f"saved the plot to {os.path.realpath(plot)}")
    return 0


def _outputs(args):
    """Check --save and --plot before any work; returns the file --plot writes."""
    plot = None
    if args.plot:
        from fastnn.cli.plots import plot_file, require_matplotlib
        try:
            require_matplotlib()
        except ImportError as error:
            raise UserError(f"--plot: {error}") from None
        plot = plot_file(args.plot)
    for option, path in (("--save", args.save), ("--plot", plot)):
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise UserError(f"{option} {path}: the folder does not exist")
    check_outputs([("--save", args.save), ("--plot", plot)],
                  [("input data file", args.data)])
    if plot:
        from fastnn.cli.plots import check_format
        try:
            check_format(plot)
        except ValueError as error:
            raise UserError(f"--plot {args.plot}: {error}") from None
    return plot


def _training_data(args):
    """(:class:`~fastnn.cli.data.TrainingData`, where it came from): the file, or
    scikit-learn's digits (read in no time by no reader: seconds and reader None)."""
    if args.data is None:
        from sklearn.datasets import load_digits
        digits = load_digits()
        if args.target not in (None, "target"):
            raise UserError(f"the digits data has no column {args.target!r}; its "
                            "target is 'target'")
        data = TrainingData(digits.data.astype(args.dtype), digits.target,
                            list(digits.feature_names), "target", None, None)
        return data, "scikit-learn's digits"
    data = read_training_data(args.data, target=args.target, dtype=args.dtype,
                              quiet=args.quiet)
    return data, args.data


def _split(X, y, test_size, seed):
    """train_test_split, stratified when every class has rows enough for both sides;
    otherwise a warning says why not. Split by row numbers, then each side copied once
    from X."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))
    try:
        train, test = train_test_split(rows, test_size=test_size, random_state=seed,
                                       stratify=y)
    except ValueError:
        train, test = _unstratified(rows, y, test_size, seed)
    return X[train], X[test], y[train], y[test]


def _unstratified(rows, y, test_size, seed):
    from sklearn.model_selection import train_test_split

    labels, counts = np.unique(y, return_counts=True)
    single = labels[counts < 2]
    if single.size:
        why = (f"{single.size} class{'es have' if single.size > 1 else ' has'} a "
               f"single row ({_shown(single)}), which cannot be in both the training "
               "and the test rows")
    else:
        why = (f"{len(labels)} classes do not fit in both the training and the test "
               f"rows of {len(y)} rows at --test-size {test_size:g}")
    print(f"warning: {why}; the split is not stratified, so some classes may be "
          "missing from one side", file=sys.stderr)
    try:
        train, test = train_test_split(rows, test_size=test_size, random_state=seed)
    except ValueError as error:
        raise UserError(f"--test-size {test_size}: {error}") from None
    if len(np.unique(y[train])) < 2:
        raise UserError("the training rows hold only one class; use more data or a "
                        "smaller --test-size")
    return train, test


def _estimator(args):
    if args.model == "mlp":
        hidden, activation = args.hidden or (100,), args.activation or "relu"
        kwargs = {"max_iter": args.epochs or 200}
        if args.batch_size:
            kwargs["batch_size"] = args.batch_size
        if args.learning_rate:
            kwargs["learning_rate_init"] = args.learning_rate
        estimator = fastnn.MLPClassifier(
            hidden, activation, random_state=args.seed,
            early_stopping=args.early_stopping, **kwargs)
        widths = " -> ".join(str(width) for width in hidden)
        return estimator, f"MLPClassifier (hidden {widths}, {activation}, adam)"
    max_iter = args.epochs or 100
    if args.model == "logistic":
        return (fastnn.LogisticRegression(max_iter=max_iter),
                "LogisticRegression (L-BFGS)")
    binary = fastnn.LogisticRegression(max_iter=max_iter)
    return fastnn.OneVsAllClassifier(binary), "OneVsAllClassifier (LogisticRegression)"


def _binary_names(estimator, classes=None, quote=repr):
    """How the progress bar and the plot name one-vs-all's binary classifiers."""
    classes = estimator.classes_ if classes is None else classes
    name = [quote(str(label)) for label in classes]
    if len(classes) == 2:  # one classifier: classes[1] against classes[0]
        return [f"{name[1]} vs {name[0]}"]
    return name


def _fit(estimator, X, y, args):
    """Fit with a progress bar; returns (loss curves, notes for the user)."""
    from sklearn.exceptions import ConvergenceWarning

    names = _binary_names(estimator, np.unique(y)) if args.model == "ova" else ()
    max_iter = args.epochs or (200 if args.model == "mlp" else 100)
    kind = TrainingProgress if args.model == "mlp" else IterationProgress
    progress = kind(args.model, max_iter, args.quiet, names)
    estimator.set_callbacks(progress)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            estimator.fit(X, y)
            progress.finish(estimator, _converged(estimator, caught))
        except ValueError as error:
            raise _training_error(error, args) from None
        finally:
            progress.close()
            estimator.set_callbacks()  # the saved model holds no callback
    notes = [str(w.message) for w in caught if issubclass(w.category,
                                                          ConvergenceWarning)]
    notes = list(dict.fromkeys(_in_cli_words(note, args) for note in notes))
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return progress.curves, notes


def _in_cli_words(note, args):
    """A ConvergenceWarning's advice in the command line's terms."""
    scale = ("standardize the features (drop --no-scale)" if args.no_scale
             else "rescale the features")
    if note.startswith("lbfgs failed to converge"):
        # scikit-learn's wording (with its links) says max_iter; the user gave --epochs
        reason = note.split("\n")[1].strip() if "\n" in note else ""
        return (f"L-BFGS did not converge ({reason.lower() or 'stopped early'}). "
                f"Increase --epochs or {scale}.")
    return (note.replace("Increase max_iter", "Increase --epochs")
            .replace("scale the data (StandardScaler)", scale))


def _converged(estimator, caught):
    """How many L-BFGS fits converged (each that did not warned), for the bar."""
    from sklearn.exceptions import ConvergenceWarning

    if isinstance(estimator, fastnn.MLPClassifier):
        return None
    n_fits = len(getattr(estimator, "estimators_", [estimator]))
    return n_fits - sum(issubclass(w.category, ConvergenceWarning) for w in caught)


def _training_error(error, args):
    """A UserError for a failed fit; an overflow says so, not scikit-learn's 'Input X
    contains NaN' (the input was finite: the model's own arithmetic overflowed)."""
    message = str(error)
    if any(word in message for word in ("NaN", "infinity", "non-finite", "overflow")):
        fix = ("drop --no-scale or rescale the features" if args.no_scale
               else "rescale the features")
        return UserError(f"training failed: the model's arithmetic overflowed float64 "
                         f"(the features are too large); {fix}")
    return UserError(f"training failed: {message}")  # e.g. divergence: what to do


def _iterations(estimator):
    if isinstance(estimator, fastnn.MLPClassifier):
        return f"{estimator.n_iter_} epochs"
    if isinstance(estimator, fastnn.OneVsAllClassifier):
        total = sum(int(binary.n_iter_[0]) for binary in estimator.estimators_)
        n_binary = len(estimator.estimators_)
        return f"{total} L-BFGS iterations over {n_binary} classifiers"
    return f"{int(estimator.n_iter_[0])} L-BFGS iterations"


Report = namedtuple("Report", "matrix labels accuracy")


def _report(estimator, X_train, y_train, X_test, y_test):
    """Print accuracy, log-loss and the confusion matrix; returns a Report (the test
    accuracy, or the training accuracy without test rows)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, log_loss

    classes = estimator.classes_
    unseen = np.setdiff1d(y_test, classes)  # a split that was not stratified
    print(f"{'':8}{'accuracy':>10}{'log-loss':>10}")
    for name, X_part, y_part in (("train", X_train, y_train), ("test", X_test, y_test)):
        if len(y_part):
            proba = estimator.predict_proba(X_part)
            accuracy = accuracy_score(y_part, classes[proba.argmax(axis=1)])
            # NOTE: the model gives a class it never saw probability 0: no log-loss.
            loss = "n/a"
            if name == "train" or not unseen.size:
                loss = f"{log_loss(y_part, proba, labels=classes):.4f}"
            print(f"{name:8}{accuracy:>10.4f}{loss:>10}")
    if unseen.size:
        n = int(np.isin(y_test, unseen).sum())
        rows = f"{n} test rows belong" if n > 1 else "1 test row belongs"
        print(f"note: no test log-loss: {rows} to classes the training rows lack "
              f"({_shown(unseen)})", file=sys.stderr)
    which = "test" if len(y_test) else "train"
    X_part, y_part = (X_test, y_test) if len(y_test) else (X_train, y_train)
    every = np.union1d(classes, y_part)
    matrix = confusion_matrix(y_part, estimator.predict(X_part), labels=every)
    labels = [str(label) for label in every]
    width = max(max(len(label) for label in labels), len(str(matrix.max())), 3) + 1
    print(f"confusion matrix ({which} rows; rows: true, columns: predicted)")
    print(" " * width + "".join(f"{label:>{width}}" for label in labels))
    for label, row in zip(labels, matrix):
        print(f"{label:>{width}}" + "".join(f"{count:>{width}}" for count in row))
    return Report(matrix, labels, (which, float(np.trace(matrix) / matrix.sum())))


def _shown(labels, limit=5):
    shown = ", ".join(repr(str(label)) for label in labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")
