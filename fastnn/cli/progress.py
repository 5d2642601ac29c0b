"""The progress bars of the command line, tqdm's on stderr: `fastnn train`'s, fed by
scikit-learn's callbacks (``sklearn.callback``) that the estimators report their
iterations to, and finished at 100 % with the reason when training ends early; and
the one shown while a large data file is read."""

import sys
import time
from contextlib import contextmanager

import fastnn

__all__ = ["IterationProgress", "TrainingProgress", "reading_bar"]


class TrainingProgress:
    """A scikit-learn callback (set with ``estimator.set_callbacks``) drawing one
    progress bar on stderr while the estimator trains.

    ``kind`` is "mlp" (a step per epoch), "logistic" (a step per L-BFGS iteration) or
    "ova" (a step per binary classifier, the postfix numbering iterations per class,
    ``names`` naming the classes); the latter two take :class:`IterationProgress`.
    ``curves`` holds each epoch's loss (each iteration's objective), one list per
    binary classifier for one-vs-all. With ``quiet`` nothing is drawn but the curves
    are still kept.
    """

    # NOTE: auto-propagated (it has max_propagation_depth), so one-vs-all hands it to
    # each binary LogisticRegression it fits: their iterations are the bar's postfix.
    max_propagation_depth = None

    def __init__(self, kind, max_iter, quiet, names=()):
        self.kind, self.max_iter, self.names = kind, max_iter, list(names)
        self.curves = []
        self.what = "loss" if kind == "mlp" else "objective"
        self.bar = None
        if quiet:
            return
        from tqdm import tqdm  # a dependency; imported only when a bar is shown

        total, unit, desc = {
            "mlp": (max_iter, "epoch", "training"),
            "logistic": (max_iter, "it", "training (L-BFGS)"),
            "ova": (len(self.names), "classifier", "one-vs-all (L-BFGS)"),
        }[kind]
        self.bar = tqdm(total=total, unit=unit, desc=desc, file=sys.stderr,
                        leave=True, dynamic_ncols=True)

    # -- scikit-learn's callback hooks

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        if self.kind == "ova" and isinstance(estimator, fastnn.LogisticRegression) \
                and context.task_name == "fit":  # the next binary classifier starts
            if self.curves and self.bar is not None:
                self.bar.update(1)  # the previous one is done
            self.curves.append([])

    def on_fit_task_end(self, estimator, context, *, X=None):
        # NOTE: an epoch that ran (the one begun after the last never runs, and ends
        # without X). MLPClassifier's loss_ is the last epoch's by then: reading it
        # spares the fitted copy (a network of its own) that asking for
        # fitted_estimator would build at every epoch.
        if context.max_subtasks == 0 and X is not None:
            self._step(float(estimator.loss_))

    def _step(self, value):
        if not self.curves:
            self.curves.append([])
        self.curves[-1].append(value)
        if self.bar is None:
            return
        if self.kind == "ova":
            k = len(self.curves)
            self.bar.set_postfix_str(
                f"class {k}/{len(self.names)} {self.names[k - 1]}: iteration "
                f"{len(self.curves[-1])}, objective {value:.4f}", refresh=False)
            if time.time() - self.bar.last_print_t >= self.bar.mininterval:
                self.bar.refresh()  # as update() would: at most 10 times a second
        else:
            self.bar.set_postfix_str(f"{self.what} {value:.4f}", refresh=False)
            self.bar.update(1)

    # -- the end of training

    def finish(self, estimator, converged):
        """Training ended normally: complete the bar and say how it ended.
        ``converged`` is, for L-BFGS, the number of classifiers that converged."""
        if self.bar is None:
            return
        bar, steps = self.bar, len(self.curves[-1]) if self.curves else 0
        if self.kind == "ova":
            bar.update(bar.total - bar.n)
            n = len(self.names)
            word = (f"all {n} converged" if converged == n
                    else f"{converged} of {n} converged")
            bar.set_postfix_str(f"{sum(map(len, self.curves))} iterations, {word}",
                                refresh=False)
        else:
            word = ""
            if self.kind == "mlp" and steps < self.max_iter:
                # scikit-learn's n_iter_no_change rule ended it
                what = ("validation score" if estimator.early_stopping else "loss")
                word = f"stopped early: {what} stopped improving"
            elif self.kind == "logistic":
                word = "converged" if converged else "did not converge"
            bar.total = bar.n  # 100 %: ended early is not interrupted
            parts = [f"{self.what} {self.curves[-1][-1]:.4f}"] if steps else []
            bar.set_postfix_str(", ".join(parts + [word] * bool(word)), refresh=False)

    def close(self):
        if self.bar is not None:
            self.bar.close()


class IterationProgress(TrainingProgress):
    """:class:`TrainingProgress` for LogisticRegression (alone or one-vs-all's), whose
    objective at an iteration is its fitted copy's ``loss_`` there (cheap: the
    coefficients)."""

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        # an iteration that ran (the one begun after the last has no fitted copy)
        if context.max_subtasks == 0 and fitted_estimator is not None:
            self._step(float(fitted_estimator.loss_))


@contextmanager
def reading_bar(total, unit, quiet, desc="reading"):
    """A tqdm bar on stderr while a file is read, counting ``unit`` ("B": bytes, or
    "rows") up to ``total``; yields the function that advances it. Drawn only once
    reading has lasted half a second (a small file shows none), and cleared at the
    end: the time it took is reported with the results."""
    if quiet:
        yield lambda n: None
        return
    from tqdm import tqdm

    bytes_ = unit == "B"
    bar = tqdm(total=total, unit=unit, unit_scale=bytes_, unit_divisor=1024 if bytes_
               else 1000, desc=desc, file=sys.stderr, delay=0.5, leave=False,
               dynamic_ncols=True)
    try:
        yield bar.update
    finally:
        bar.close()
