"""LogisticRegression: the lecture's sigmoid neuron (two classes) and softmax (more),
scikit-learn 1.9's estimator with every one of its solvers, compiled. This module
validates and fits; ``_logistic_params`` reads the penalty, ``_logistic_routing``
picks the solver (``_logistic_solvers``: L-BFGS and SGD; ``_logistic_newton``,
``_logistic_sag``, ``_logistic_cd``), ``_logistic_predict`` and ``_logistic_partial``
hold the predictions and ``partial_fit``."""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.callback import CallbackSupportMixin
from sklearn.linear_model._base import LinearClassifierMixin, SparseCoefMixin
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

from fastnn.estimators import _saved as saved
from fastnn.estimators._callbacks import IterationTasks, has_callbacks
from fastnn.estimators._dask_input import is_dask
from fastnn.estimators._logistic_params import read_penalty
from fastnn.estimators._logistic_partial import LogisticPartialFit
from fastnn.estimators._logistic_predict import LogisticPredictions
from fastnn.estimators._logistic_problem import LogisticProblem
from fastnn.estimators._logistic_routing import solve
from fastnn.saving.estimators import read_classifier, write_classifier

SOLVERS = ("lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag", "saga", "sgd")


class LogisticRegression(
    CallbackSupportMixin, LogisticPartialFit, LogisticPredictions, LinearClassifierMixin,
    SparseCoefMixin, BaseEstimator,
):
    """Logistic regression: sigmoid for two classes, softmax (multinomial) for more.

    scikit-learn 1.9's ``LogisticRegression``, parameter for parameter: it minimises
    the same objective ``C * sum_i s_i loss_i + l1_ratio * ||W||_1 +
    (1 - l1_ratio) / 2 * ||W||**2`` (``s_i`` the sample weight times the class weight,
    ``loss_i`` the log-loss of sample ``i``; the intercept is not penalised, except by
    'liblinear') with every solver, on fastnn's compiled kernels.

    Dense arrays and CSR matrices (float32 or float64; other sparse formats are
    converted to CSR) are fitted in their own dtype; a C-contiguous dense ``X`` or a
    CSR matrix is never copied (except by 'liblinear', which appends its intercept
    column, and the L1 solver, which reads columns: see ``solver``).

    Parameters
    ----------
    penalty : {'l1', 'l2', 'elasticnet', None}, default='l2'
        Deprecated (as in scikit-learn 1.8): use ``l1_ratio`` and ``C``. ``'l2'`` is
        ``l1_ratio=0``, ``'l1'`` is ``l1_ratio=1``, ``'elasticnet'`` a ratio between,
        ``None`` is ``C=np.inf``.
    C : float, default=1.0
        Inverse regularisation strength; ``np.inf`` fits the unpenalised model.
    l1_ratio : float, default=0.0
        The L1 share of the penalty, in [0, 1]: 0 is L2, 1 is L1 (sparse ``coef_``),
        between is the elastic net. Above 0 it needs ``solver='saga'`` (or
        'liblinear' for 1).
    dual : bool, default=False
        Only 'liblinear' with an L2 penalty takes True; fastnn then solves the primal
        problem, whose solution is the same.
    tol : float, default=1e-4
        Stopping tolerance (each solver's own criterion, as scikit-learn's).
    fit_intercept : bool, default=True
    intercept_scaling : float, default=1
        'liblinear' only: the intercept is the weight of a constant feature of this
        value, penalised like the others.
    class_weight : dict, 'balanced' or None, default=None
        Multiplies each sample's weight by the weight of its class.
    random_state : int, RandomState instance or None, default=None
        Shuffles the samples for 'sag', 'saga' and 'sgd'.
    solver : {'lbfgs', 'liblinear', 'newton-cg', 'newton-cholesky', 'sag', 'saga', \
'sgd'}, default='lbfgs'
        - 'lbfgs': SciPy's L-BFGS-B on fastnn's fused loss-and-gradient kernel.
        - 'newton-cholesky': Newton steps on the exact Hessian (compiled, BLAS SYRK)
          solved by Cholesky; the fastest when n_features (times n_classes) is small.
        - 'newton-cg': Newton steps by conjugate gradients on compiled
          Hessian-vector products.
        - 'sag', 'saga': compiled stochastic average gradient epochs; 'saga' also
          takes L1 and elastic-net penalties. With ``l1_ratio > 0`` (any number of
          classes), 'saga' runs fastnn's proximal Newton coordinate descent (the
          method of liblinear's and glmnet's L1 solvers), which reaches the same
          minimiser many times faster.
        - 'liblinear': two classes only; the same proximal Newton solver for L1 and
          L-BFGS for L2, on scikit-learn's liblinear objective (penalised intercept,
          ``intercept_scaling``).
        - 'sgd' (fastnn only): mini-batch SGD epochs with ``learning_rate``,
          ``power_t``, ``batch_size``, ``shuffle``, ``n_iter_no_change``;
          ``partial_fit`` is available.
    max_iter : int, default=100
        Iterations of the solver (epochs for 'sag', 'saga' and 'sgd'); 0 is allowed.
    verbose : int, default=0
        Prints each iteration's progress when positive.
    warm_start : bool, default=False
        Start from the previous ``coef_`` and ``intercept_`` when the classes match.
    n_jobs : None
        Deprecated in scikit-learn 1.8 and without effect; fastnn's kernels use the
        cores by themselves (OpenMP and BLAS threads).
    learning_rate, power_t, batch_size, shuffle, n_iter_no_change
        'sgd' only: epoch ``t`` (from 0) steps by ``learning_rate / (1 + t) **
        power_t`` over mini-batches of ``batch_size``; it stops after
        ``n_iter_no_change`` epochs whose objective is not below the best by ``tol``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : ndarray of shape (1,)
        The solver's iterations (epochs for 'sag', 'saga' and 'sgd', counted over all
        ``partial_fit`` calls).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Only when ``X`` has string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from fastnn import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=1000).fit(X, y)
    >>> clf.coef_.shape
    (3, 4)
    >>> clf.predict(X[:2])
    array([0, 0])
    >>> round(clf.score(X, y), 2)
    0.97
    """

    _parameter_constraints = {
        "penalty": [
            StrOptions({"l1", "l2", "elasticnet"}), None,
            Hidden(StrOptions({"deprecated"})),
        ],
        "C": [Interval(numbers.Real, 0, None, closed="right")],
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both"), None],
        "dual": ["boolean"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "intercept_scaling": [Interval(numbers.Real, 0, None, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "random_state": ["random_state"],
        "solver": [StrOptions(set(SOLVERS))],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "n_jobs": [None, numbers.Integral],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "power_t": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        penalty="deprecated",
        *,
        C=1.0,
        l1_ratio=0.0,
        dual=False,
        tol=1e-4,
        fit_intercept=True,
        intercept_scaling=1,
        class_weight=None,
        random_state=None,
        solver="lbfgs",
        max_iter=100,
        verbose=0,
        warm_start=False,
        n_jobs=None,
        learning_rate=1.0,
        power_t=0.25,
        batch_size=32,
        shuffle=True,
        n_iter_no_change=5,
    ):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.learning_rate = learning_rate
        self.power_t = power_t
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.n_iter_no_change = n_iter_no_change

    # Parameters newer than fastnn's first file format (see fastnn.saving.estimators).
    __fastnn_later_params__ = {"l1_ratio": 0.0, "dual": False, "intercept_scaling": 1,
                               "n_jobs": None}

    def __sklearn_is_fitted__(self):
        # NOTE: a first fit or partial_fit that failed on its labels has already set
        # n_features_in_; only a successful one sets coef_.
        return "coef_" in self.__dict__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ----------------------------------------------------------------------- fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to ``X`` (n_samples, n_features) and labels ``y``.

        With a dask array ``X`` (dense or of CSR chunks) and an active
        ``distributed.Client``, 'lbfgs' and 'newton-cholesky' fit data-parallel: each
        worker computes the loss and gradient (and Hessian) of the chunks it holds
        (docs/scale-out.md).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : LogisticRegression
        """
        penalty = read_penalty(self)
        solver = self.solver
        if is_dask(X, y, sample_weight):
            # data-parallel on a dask.distributed cluster (dask imported there)
            from fastnn.estimators._logistic_dask import fit_dask

            return fit_dask(self, X, y, sample_weight, penalty)
        X, y = self._validate_fit_data(X, y, reset=True)
        classes, y_index = np.unique(y, return_inverse=True)
        # NOTE: the callbacks' root task spans the fit; each of the solver's iterations
        # is a subtask (at least one, as scikit-learn counts them).
        callbacks = self._init_callback_context(max_subtasks=max(self.max_iter, 1) + 1)
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        callbacks.call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)
        if solver == "liblinear":
            _check_liblinear(X, len(classes))
        if len(classes) < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the "
                f"data contains only one class: {classes[0]!r}"
            )
        warm = (
            self.warm_start
            and isinstance(getattr(self, "coef_", None), np.ndarray)
            and np.array_equal(classes, self.classes_)
        )
        weights, weight_sum = self._sample_weights(X, y, sample_weight)
        W, b = self._initial_params(X, len(classes), warm)
        problem = self._problem(X, y_index, weights, weight_sum, len(classes), penalty)
        n_iter = self._run_solver(solve, problem, W, b, callbacks, X, y, metadata,
                                  classes)
        return self._fitted(classes, W, b, n_iter, callbacks, X, y, metadata)

    def _run_solver(self, run, problem, W, b, callbacks, X, y, metadata, classes):
        """``run(self, problem, W, b)``, each of its iterations a callbacks' subtask;
        returns its iteration count."""
        if not has_callbacks(self):
            return run(self, problem, W, b)
        iterations = IterationTasks(callbacks, f"{self.solver}-iter", self, X, y,
                                    metadata, self._fitted_at(classes), W, b, None)
        problem.on_iteration = iterations.end_and_begin
        try:
            return run(self, problem, W, b)
        finally:
            iterations.close()

    def _fitted(self, classes, W, b, n_iter, callbacks, X, y, metadata):
        """Set the fitted state of a fit that succeeded; returns self."""
        # NOTE: the fitted state changes only once the fit has succeeded.
        self.classes_ = classes
        self._set_params(W, b)
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        callbacks.call_on_fit_task_end(
            estimator=self, X=X, y=y, metadata=metadata, reconstruction_attributes={}
        )
        return self

    def _fitted_at(self, classes):
        """For the callbacks' IterationTasks: the attributes of a copy fitted at a
        solver's ``W``, ``b`` and objective ``loss`` (None if unknown)."""
        fit_intercept = self.fit_intercept

        def fitted_at(W, b, loss):
            def attributes():
                fitted = {"classes_": classes, "coef_": W.T.copy(),
                          "intercept_": b.copy() if fit_intercept else np.zeros_like(b)}
                if loss is not None:
                    fitted["loss_"] = float(loss)
                return fitted

            return attributes

        return fitted_at

    def _validate_fit_data(self, X, y, reset):
        # NOTE: order="C" keeps a C-contiguous float ndarray as is (no copy), and
        # dtype=[float64, float32] keeps float32 data float32.
        X, y = validate_data(
            self, X, y, reset=reset, accept_sparse="csr", order="C",
            dtype=[np.float64, np.float32], accept_large_sparse=True,
        )
        check_classification_targets(y)
        return X, y

    def _sample_weights(self, X, y, sample_weight):
        """(weights in X's dtype or None for all ones, their sum)."""
        n_samples = X.shape[0]
        if sample_weight is None and self.class_weight is None:
            return None, float(n_samples)
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True, copy=True
        )
        if self.class_weight is not None:
            weights *= compute_sample_weight(self.class_weight, y)
        weight_sum = float(weights.sum())
        if not weight_sum > 0:
            raise ValueError("the sample weights (times the class weights) sum to zero")
        return weights.astype(X.dtype, copy=False), weight_sum

    def _problem(self, X, y_index, weights, weight_sum, n_classes, penalty):
        return LogisticProblem(
            X, y_index, weights, weight_sum, 1 if n_classes == 2 else n_classes,
            fit_intercept=self.fit_intercept, C=penalty.C, l1_ratio=penalty.l1_ratio,
            tol=self.tol, max_iter=self.max_iter, verbose=self.verbose,
            random_state=self.random_state,
        )

    def _initial_params(self, X, n_classes, warm):
        n_outputs = 1 if n_classes == 2 else n_classes
        W = np.zeros((X.shape[1], n_outputs), X.dtype)
        b = np.zeros(n_outputs, X.dtype)
        if warm:
            W[:] = self.coef_.T
            if self.fit_intercept:
                b[:] = self.intercept_
        return W, b

    def _set_params(self, W, b):
        self.coef_ = np.ascontiguousarray(W.T)
        self.intercept_ = b.copy() if self.fit_intercept else np.zeros_like(b)

    # -- saved state (owned here, read and written by fastnn.saving) --

    from_config = classmethod(saved.from_config)

    def __fastnn_save__(self, writer):
        """The fitted attributes (JSON, arrays added to ``writer``)."""
        return {**write_classifier(self, writer), "coef_": writer.add(self.coef_),
                "intercept_": writer.add(self.intercept_),
                "n_iter_": writer.add(self.n_iter_)}

    def __fastnn_load__(self, fitted, reader):
        """Restore :meth:`__fastnn_save__`'s attributes from an untrusted file: every
        shape and dtype checked against the others (ValueError)."""
        n_features, classes = read_classifier(self, fitted, reader,
                                              {"coef_", "intercept_", "n_iter_"})
        if len(classes) < 2:
            raise ValueError("a LogisticRegression has at least 2 classes")
        n_outputs = 1 if len(classes) == 2 else len(classes)
        coef = reader.array(fitted["coef_"], "coef_", ndim=2)
        if coef.shape != (n_outputs, n_features) or coef.dtype.name not in (
            "float32", "float64"
        ):
            raise ValueError(f"coef_ is {coef.dtype} {coef.shape}, expected "
                             f"{(n_outputs, n_features)} floats")
        intercept = reader.array(fitted["intercept_"], "intercept_", dtype=coef.dtype)
        n_iter = reader.array(fitted["n_iter_"], "n_iter_", "i", dtype=np.int32)
        if intercept.shape != (n_outputs,) or n_iter.shape != (1,):
            raise ValueError("intercept_ or n_iter_ has the wrong shape")
        self.coef_, self.intercept_ = coef.copy(), intercept.copy()
        self.n_iter_ = n_iter.copy()


def _check_liblinear(X, n_classes):
    """scikit-learn's refusals of a problem for 'liblinear'."""
    if n_classes > 2:
        raise ValueError(
            "The 'liblinear' solver does not support multiclass classification"
            " (n_classes >= 3). Either use another solver or wrap the "
            "estimator in a OneVsRestClassifier to keep applying a "
            "one-versus-rest scheme."
        )
    if sp.issparse(X) and not X.has_canonical_format:
        # NOTE: a sparse max() sums duplicates and sorts the rows in place: the user's
        # matrix is left as it came, its copy canonicalised (duplicates may add up).
        X = X.copy()
    largest = X.max() if X.shape[0] and X.shape[1] else 0.0
    if largest > 1e30:
        raise ValueError(
            "Using the 'liblinear' solver while X contains a maximum "
            "value > 1e30 results in a frozen fit. Please choose another "
            "solver or rescale the input X."
        )
