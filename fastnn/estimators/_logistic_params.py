"""What a LogisticRegression's parameters ask for, read as scikit-learn 1.9 reads them:
the penalty (``penalty`` is deprecated in favour of ``l1_ratio`` and ``C``), the
solver's compatibility with it, and their warnings and errors, word for word."""

import math
import warnings

_PENALTY_DEPRECATED = (
    "'penalty' was deprecated in version 1.8 and will be removed in 1.10. To avoid "
    "this warning, leave 'penalty' set to its default value and use 'l1_ratio' or 'C' "
    "instead. Use l1_ratio=0 instead of penalty='l2', l1_ratio=1 instead of "
    "penalty='l1', l1_ratio set to a float between 0 and 1 instead of "
    "penalty='elasticnet', and C=np.inf instead of penalty=None."
)
_L1_RATIO_NONE_DEPRECATED = (
    "'l1_ratio=None' was deprecated in version 1.8 and will trigger an error in 1.10. "
    "Use 0<=l1_ratio<=1 instead."
)
_N_JOBS_DEPRECATED = (
    "'n_jobs' has no effect since 1.8 and will be removed in 1.10. You provided "
    "'n_jobs={}', please leave it unspecified."
)

# Solvers that take an L1 part (scikit-learn's: liblinear, saga).
L1_SOLVERS = ("liblinear", "saga")


class Penalty:
    """The penalty a fit minimises: ``C`` (inf: none) and the L1 share ``l1_ratio``
    of ``l1_ratio ||W||_1 + (1 - l1_ratio) / 2 ||W||^2``; ``name`` is scikit-learn's
    (``'l1'``, ``'l2'``, ``'elasticnet'`` or None)."""

    def __init__(self, name, C, l1_ratio):
        self.name, self.C, self.l1_ratio = name, C, l1_ratio


def read_penalty(estimator):
    """The Penalty ``estimator``'s parameters ask for; warns and raises as
    scikit-learn's ``LogisticRegression.fit`` does, in its order."""
    l1_ratio, C = estimator.l1_ratio, estimator.C
    if estimator.penalty == "deprecated":
        if l1_ratio == 0 or l1_ratio is None:
            name = "l2"
            if l1_ratio is None:
                warnings.warn(_L1_RATIO_NONE_DEPRECATED, FutureWarning)
        elif l1_ratio == 1:
            name = "l1"
        else:
            name = "elasticnet"
        if C == math.inf:
            name = None
    else:
        name = estimator.penalty
        warnings.warn(_PENALTY_DEPRECATED, FutureWarning)
    check_solver(estimator.solver, name, estimator.dual)
    if name != "elasticnet" and l1_ratio is not None and 0 < l1_ratio < 1:
        warnings.warn(
            "l1_ratio parameter is only used when penalty is 'elasticnet'. Got "
            f"(penalty={name})"
        )
    if (estimator.penalty == "l2" and l1_ratio != 0) or (
        estimator.penalty == "l1" and l1_ratio != 1
    ):
        warnings.warn(
            f"Inconsistent values: penalty={estimator.penalty} with "
            f"l1_ratio={l1_ratio}. penalty is deprecated. Please use l1_ratio only."
        )
    if name == "elasticnet" and l1_ratio is None:
        raise ValueError("l1_ratio must be specified when penalty is elasticnet.")
    if estimator.penalty is None:
        if C != 1.0:
            warnings.warn("Setting penalty=None will ignore the C and l1_ratio parameters")
        C = math.inf
    if estimator.n_jobs is not None:
        warnings.warn(_N_JOBS_DEPRECATED.format(estimator.n_jobs), FutureWarning)
    # NOTE: the share of L1 each penalty means, whatever l1_ratio says beside it
    # (scikit-learn's penalty='l1' with the default l1_ratio=0 is a pure L1 fit).
    share = {"l1": 1.0, "elasticnet": l1_ratio}.get(name, 0.0)
    if math.isinf(C):
        name, share = None, 0.0
    return Penalty(name, float(C), float(share))


def check_solver(solver, penalty, dual):
    """scikit-learn's refusals of a solver for a penalty (and of ``dual``)."""
    if solver not in L1_SOLVERS and penalty not in ("l2", None):
        raise ValueError(
            f"Solver {solver} supports only 'l2' or None penalties, got {penalty} "
            "penalty."
        )
    if solver != "liblinear" and dual:
        raise ValueError(f"Solver {solver} supports only dual=False, got dual={dual}")
    if penalty == "elasticnet" and solver != "saga":
        raise ValueError(
            f"Only 'saga' solver supports elasticnet penalty, got solver={solver}."
        )
    if solver == "liblinear" and penalty is None:
        raise ValueError(
            "C=np.inf as well as penalty=None is not supported for the liblinear solver"
        )
    if solver == "liblinear" and penalty == "l1" and dual:
        # liblinear's own refusal, as scikit-learn passes it on
        raise ValueError(
            "Unsupported set of arguments: The combination of penalty='l1' and "
            "loss='logistic_regression' are not supported when dual=True, Parameters: "
            "penalty='l1', loss='logistic_regression', dual=True"
        )
    return solver
