"""The progress bar of `fastnn train`: one tqdm bar on stderr, fed by the estimator's
``verbose`` lines, finished at 100 % with the reason when training ends early."""

import io
import re
import sys
import time

import fastnn

__all__ = ["AnnouncedLogisticRegression", "Progress", "plain_estimators"]

_CLASS_STARTS = "fastnn-cli: the next binary classifier starts"


class AnnouncedLogisticRegression(fastnn.LogisticRegression):
    """One-vs-all's binary template for the command line: says when each fit starts,
    so the bar can number iterations per class (``plain_estimators`` undoes it)."""

    def fit(self, X, y, sample_weight=None):
        if self.verbose:
            print(_CLASS_STARTS)
        return super().fit(X, y, sample_weight=sample_weight)


def plain_estimators(ova):
    """Make ``ova``'s binary classifiers plain LogisticRegression again, so the model
    saves and loads as one."""
    # NOTE: the subclass adds a method and no state, so its instances are already
    # LogisticRegression objects in every attribute.
    for binary in ova.estimators_:
        binary.__class__ = fastnn.LogisticRegression
    ova.estimator = fastnn.LogisticRegression(**ova.estimator.get_params())


class Progress(io.TextIOBase):
    """Where the estimator's ``verbose`` lines go while it trains (stdout is redirected
    here): each value becomes a step of one progress bar on stderr.

    ``kind`` is "mlp" (a step per epoch), "logistic" (a step per L-BFGS iteration) or
    "ova" (a step per binary classifier, the postfix numbering iterations per class,
    ``names`` naming the classes). ``curves`` holds the values, one list per class for
    one-vs-all.
    """

    # NOTE: the estimators report through print (MLPClassifier: "Iteration k, loss =
    # x" per epoch, LogisticRegression: "L-BFGS objective x" per iteration); reading
    # those lines keeps the estimators free of any progress-bar code.
    _VALUE = re.compile(r"(?:Iteration \d+, loss = |L-BFGS objective )(\S+)")

    def __init__(self, kind, max_iter, quiet, names=()):
        self.kind, self.max_iter, self.names = kind, max_iter, list(names)
        self.buffer, self.curves, self.stop_reason = "", [], None
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

    def writable(self):
        return True

    def write(self, text):
        self.buffer += text
        *lines, self.buffer = self.buffer.split("\n")
        for line in lines:
            self._line(line.strip())
        return len(text)

    def _line(self, line):
        if line == _CLASS_STARTS:
            if self.curves and self.bar is not None:
                self.bar.update(1)  # the previous classifier is done
            self.curves.append([])
            return
        if line.endswith("Stopping."):  # MLPClassifier's n_iter_no_change rule
            what = "validation score" if line.startswith("Validation") else "loss"
            self.stop_reason = f"{what} stopped improving"
            return
        match = self._VALUE.match(line)
        if match is None:
            return
        if not self.curves:
            self.curves.append([])
        value = float(match.group(1))
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

    def finish(self, converged):
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
            if self.kind == "mlp" and self.stop_reason and steps < self.max_iter:
                word = f"stopped early: {self.stop_reason}"
            elif self.kind == "logistic":
                word = "converged" if converged else "did not converge"
            bar.total = bar.n  # 100 %: ended early is not interrupted
            parts = [f"{self.what} {self.curves[-1][-1]:.4f}"] if steps else []
            bar.set_postfix_str(", ".join(parts + [word] * bool(word)), refresh=False)

    def close(self):
        if self.bar is not None:
            self.bar.close()
        super().close()
