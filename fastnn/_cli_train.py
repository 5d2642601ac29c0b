"""``fastnn train``: fit a classifier on a CSV file (or scikit-learn's digits) with a
progress bar on stderr, then print train/test accuracy, log-loss, the confusion matrix
and the time on stdout; save the model (safe format, with the feature names, target
and standardization in its metadata) and plot the training if asked."""

import contextlib
import io
import os
import re
import sys
import time
import warnings

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import fastnn
from fastnn._csv import read_csv

__all__ = ["UserError", "train"]


class UserError(Exception):
    """A mistake the user can fix; ``fastnn.cli.main`` prints its one-line message."""


def train(args, parser):
    """`fastnn train`: fit, report, then save and plot if asked; returns 0."""
    if args.plot:
        from fastnn.plotting import require_matplotlib
        try:
            require_matplotlib()
        except ImportError as error:
            raise UserError(f"--plot: {error}") from None
    for option, path in (("--save", args.save), ("--plot", args.plot)):
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise UserError(f"{option} {path}: the folder does not exist")
    X, y, feature_names, target, source = _training_data(args)
    if len(np.unique(y)) < 2:
        raise UserError(f"{source}: the target {target!r} has only one class, "
                        f"{str(y[0])!r}")
    if args.test_size:
        X_train, X_test, y_train, y_test = _split(X, y, args.test_size, args.seed)
    else:
        X_train, X_test, y_train, y_test = X, X[:0], y, y[:0]
    scaler = None
    if not args.no_scale:
        scaler = StandardScaler().fit(X_train)
        X_train = scaler.transform(X_train)
        if len(X_test):
            X_test = scaler.transform(X_test)
    estimator, description = _estimator(args)
    print(f"fastnn {fastnn.__version__}: {description} on {source}")
    print(f"{len(X_train)} training rows, {len(X_test)} test rows, "
          f"{X.shape[1]} features, {len(np.unique(y))} classes, seed {args.seed}"
          + ("" if scaler is None else ", features standardized"), flush=True)

    started = time.perf_counter()
    curves, notes = _fit(estimator, X_train, y_train, args)
    seconds = time.perf_counter() - started
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    confusion = _report(estimator, X_train, y_train, X_test, y_test)
    print(f"trained in {seconds:.2f} s ({_iterations(estimator)})")

    if args.save:
        metadata = {
            "fastnn": fastnn.__version__, "model": args.model,
            "feature_names": feature_names, "target": target,
            "scaler": None if scaler is None else {
                "mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist()},
        }
        from fastnn.saving import save_model
        try:
            save_model(estimator, args.save, metadata=metadata)
        except OSError as error:
            raise UserError(f"--save {args.save}: {error.strerror or error}") from None
        print(f"saved the model to {args.save}")
    if args.plot:
        from fastnn.plotting import save_training_plot
        if hasattr(estimator, "loss_curve_"):
            curves, label = [estimator.loss_curve_], "loss"
        else:
            label = "L-BFGS objective"
        try:
            save_training_plot(args.plot, curves, label, confusion[0], confusion[1],
                               getattr(estimator, "validation_scores_", None),
                               title=f"fastnn {args.model} on {source}")
        except (OSError, ValueError) as error:  # unwritable, or an unknown extension
            raise UserError(f"--plot {args.plot}: {error}") from None
        print(f"saved the plot to {args.plot}")
    return 0


def _training_data(args):
    if args.data is None:
        from sklearn.datasets import load_digits
        digits = load_digits()
        if args.target not in (None, "target"):
            raise UserError(f"the digits data has no column {args.target!r}; its "
                            "target is 'target'")
        return (digits.data, digits.target, list(digits.feature_names), "target",
                "scikit-learn's digits")
    X, y, feature_names, target = read_csv(args.data, target=args.target)
    return X, y, feature_names, target, args.data


def _split(X, y, test_size, seed):
    try:  # stratified when every class has rows enough for both sides
        return train_test_split(X, y, test_size=test_size, random_state=seed,
                                stratify=y)
    except ValueError:
        pass
    try:
        split = train_test_split(X, y, test_size=test_size, random_state=seed)
    except ValueError as error:
        raise UserError(f"--test-size {test_size}: {error}") from None
    if len(np.unique(split[2])) < 2:
        raise UserError("the training rows hold only one class; use more data or a "
                        "smaller --test-size")
    return split


def _estimator(args):
    if args.model == "mlp":
        kwargs = {"max_iter": args.epochs or 200}
        if args.batch_size:
            kwargs["batch_size"] = args.batch_size
        if args.learning_rate:
            kwargs["learning_rate_init"] = args.learning_rate
        estimator = fastnn.MLPClassifier(
            args.hidden, args.activation, random_state=args.seed, verbose=True,
            early_stopping=args.early_stopping, **kwargs)
        widths = " -> ".join(str(width) for width in args.hidden)
        return estimator, f"MLPClassifier (hidden {widths}, {args.activation}, adam)"
    binary = fastnn.LogisticRegression(max_iter=args.epochs or 100, verbose=1)
    if args.model == "logistic":
        return binary, "LogisticRegression (L-BFGS)"
    return fastnn.OneVsAllClassifier(binary), "OneVsAllClassifier (LogisticRegression)"


class _Progress(io.TextIOBase):
    """Where the estimator's ``verbose`` lines go while it trains: each becomes one
    step of a progress bar on stderr (tqdm if installed, else a line per epoch)."""

    # NOTE: the estimators report through print (MLPClassifier: "Iteration k, loss =
    # x" per epoch, LogisticRegression: "L-BFGS objective x" per iteration); reading
    # those lines keeps the estimators free of any progress-bar code.
    _VALUE = re.compile(r"(?:Iteration \d+, loss = |L-BFGS objective )(\S+)")

    def __init__(self, total, unit, quiet):
        self.buffer, self.values, self.notes = "", [], []
        self.total, self.unit, self.quiet = total, unit, quiet
        self.bar = None
        if not quiet:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                epochs = unit == "epoch"
                self.bar = tqdm(total=total, unit=unit if epochs else "it",
                                desc="training" if epochs else "training (L-BFGS)",
                                file=sys.stderr, leave=True, dynamic_ncols=True)

    def writable(self):
        return True

    def write(self, text):
        self.buffer += text
        *lines, self.buffer = self.buffer.split("\n")
        for line in lines:
            self._line(line.strip())
        return len(text)

    def _line(self, line):
        match = self._VALUE.match(line)
        if match is None:
            if line and not line.startswith("Validation score"):
                self.notes.append(line)
            return
        value = float(match.group(1))
        self.values.append(value)
        if self.quiet:
            return
        what = "loss" if self.unit == "epoch" else "objective"
        if self.bar is not None:
            self.bar.set_postfix_str(f"{what} {value:.4f}", refresh=False)
            self.bar.update(1)
        elif self.unit == "epoch" or len(self.values) % 10 == 1:
            of = f"/{self.total}" if self.total else ""
            print(f"{self.unit} {len(self.values)}{of}  {what} {value:.6f}",
                  file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
        super().close()


def _fit(estimator, X, y, args):
    """Fit with a progress bar; returns (loss curves, notes for the user)."""
    from sklearn.exceptions import ConvergenceWarning

    mlp = args.model == "mlp"
    progress = _Progress(estimator.max_iter if mlp else None,
                         "epoch" if mlp else "iteration", args.quiet)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            with contextlib.redirect_stdout(progress):
                estimator.fit(X, y)
        except ValueError as error:  # e.g. divergence: the message says what to do
            raise UserError(f"training failed: {error}") from None
        finally:
            progress.close()
    notes = [line for line in progress.notes if "Stopping" in line]
    notes += [str(w.message) for w in caught if issubclass(w.category,
                                                          ConvergenceWarning)]
    notes = list(dict.fromkeys(notes))  # one-vs-all: the same warning per class
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    _quiet(estimator)
    return _split_curves(progress.values), notes


def _quiet(estimator):
    """verbose back off before the model is saved or used."""
    if isinstance(estimator, fastnn.MLPClassifier):
        estimator.set_params(verbose=False)
    elif isinstance(estimator, fastnn.OneVsAllClassifier):
        for binary in [estimator.estimator, *estimator.estimators_]:
            binary.set_params(verbose=0)
    else:
        estimator.set_params(verbose=0)


def _split_curves(values):
    # NOTE: L-BFGS lowers the objective at every iteration, so a rise means the next
    # one-vs-all binary classifier has started from zero weights.
    curves = []
    for value in values:
        if not curves or value > curves[-1][-1]:
            curves.append([])
        curves[-1].append(value)
    return curves


def _iterations(estimator):
    if isinstance(estimator, fastnn.MLPClassifier):
        return f"{estimator.n_iter_} epochs"
    if isinstance(estimator, fastnn.OneVsAllClassifier):
        total = sum(int(binary.n_iter_[0]) for binary in estimator.estimators_)
        n_binary = len(estimator.estimators_)
        return f"{total} L-BFGS iterations over {n_binary} classifiers"
    return f"{int(estimator.n_iter_[0])} L-BFGS iterations"


def _report(estimator, X_train, y_train, X_test, y_test):
    """Print accuracy, log-loss and the confusion matrix; returns (matrix, labels)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, log_loss

    classes = estimator.classes_
    print(f"{'':8}{'accuracy':>10}{'log-loss':>10}")
    for name, X_part, y_part in (("train", X_train, y_train), ("test", X_test, y_test)):
        if len(y_part):
            proba = estimator.predict_proba(X_part)
            accuracy = accuracy_score(y_part, classes[proba.argmax(axis=1)])
            loss = log_loss(y_part, proba, labels=classes)
            print(f"{name:8}{accuracy:>10.4f}{loss:>10.4f}")
    which = "test" if len(y_test) else "train"
    X_part, y_part = (X_test, y_test) if len(y_test) else (X_train, y_train)
    matrix = confusion_matrix(y_part, estimator.predict(X_part), labels=classes)
    labels = [str(label) for label in classes]
    width = max(max(len(label) for label in labels), len(str(matrix.max())), 3) + 1
    print(f"confusion matrix ({which} rows; rows: true, columns: predicted)")
    print(" " * width + "".join(f"{label:>{width}}" for label in labels))
    for label, row in zip(labels, matrix):
        print(f"{label:>{width}}" + "".join(f"{count:>{width}}" for count in row))
    return matrix, labels
