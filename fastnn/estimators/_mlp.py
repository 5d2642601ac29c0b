"""MLPClassifier: scikit-learn's multi-layer perceptron, trained by fastnn's engine.

The network is a :class:`fastnn.Sequential` of Dense (or Maxout) layers, with Dropout
after each hidden layer when asked; the stochastic solvers run its ``fit`` (one
backprop path in the codebase), a :class:`fastnn.models.Callback` applies
scikit-learn's per-epoch rules (learning-rate schedules, ``tol`` stopping, early
stopping), and ``lbfgs`` minimizes :meth:`fastnn.Sequential.objective` over the
model's flat weight vector. ``coefs_`` and ``intercepts_`` are views into that vector;
what a user assigns to them, and scikit-learn's ``_optimizer`` and
``_loss_grad_lbfgs``, are in :mod:`fastnn.estimators._mlp_params`.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.callback import CallbackSupportMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from fastnn.estimators._dask_input import is_dask
from fastnn.estimators._mlp_network import _HIDDEN
from fastnn.estimators._mlp_params import MLPParams, weights_in_sync
from fastnn.estimators._mlp_solvers import fit_lbfgs, fit_stochastic, iteration_tasks
from fastnn.estimators._mlp_state import MLPState
from fastnn.estimators._serving import serves_row, skips_validation
from fastnn.models import check_finite_output
from fastnn.models.sparse import validate_csr_data

__all__ = ["MLPClassifier"]


class MLPClassifier(CallbackSupportMixin, ClassifierMixin, MLPParams, MLPState,
                    BaseEstimator):
    """Multi-layer perceptron classifier: scikit-learn's parameters, defaults and
    attributes, trained by fastnn's compiled engine.

    The objective is scikit-learn's: the mean log-loss plus
    ``alpha / (2 * n_samples) * sum(||W||**2)`` over the weight matrices (never the
    intercepts). Two classes use one logistic output unit, more a softmax, a 2-D
    indicator ``y`` (multi-label) one logistic unit per label. Weights start as
    scikit-learn's (uniform, bound ``sqrt(6 / (fan_in + fan_out))``, ``sqrt(2 / ...)``
    for 'logistic') drawn from the same ``random_state``. float32 input trains and
    predicts in float32, float64 in float64. Sparse input stays sparse: the first
    layer multiplies its CSR rows (other sparse formats are converted to CSR once).

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, or int, default=(100,)
    activation : {'identity', 'logistic', 'tanh', 'relu', 'leaky_relu', 'elu', \
'maxout'}, default='relu'
        Hidden activation. 'leaky_relu' is max(0.1 x, x); 'elu' uses alpha 1;
        'maxout' makes each hidden unit the max of 2 affine maps (its ``coefs_``
        matrix has 2 columns per unit, unit j owning columns 2j and 2j + 1).
    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
    alpha : float >= 0, default=1e-4
        L2 penalty on the weight matrices, divided by the (mini-)batch size.
    batch_size : int or 'auto', default='auto'
        ``min(200, n_samples)`` for 'auto'; not used by 'lbfgs'.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        'sgd' only. 'invscaling': after each epoch the rate becomes
        ``learning_rate_init / (t_ + 1) ** power_t``; 'adaptive': divided by 5
        each time ``n_iter_no_change`` epochs miss ``tol``, stopping below 1e-6.
    learning_rate_init : float > 0, default=1e-3
    power_t : float >= 0, default=0.5
    max_iter : int >= 1, default=200
        Epochs for 'sgd' and 'adam', iterations for 'lbfgs'.
    shuffle : bool, default=True
    random_state : int, RandomState instance or None, default=None
        Draws the initial weights, the early-stopping split, then the seed of the
        mini-batch order and the dropout masks.
    tol : float >= 0, default=1e-4
    verbose : bool or int, default=False
        Prints the loss of every epoch (every iteration for 'lbfgs').
    warm_start : bool, default=False
    momentum : float in [0, 1], default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified unless multi-label)
        and stop when its accuracy misses ``tol`` for ``n_iter_no_change`` epochs;
        the best weights seen are kept.
    validation_fraction : float in [0, 1), default=0.1
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.999
    epsilon : float > 0, default=1e-8
    n_iter_no_change : int >= 1 or inf, default=10
    max_fun : int >= 1, default=15000
        'lbfgs' only: the most loss evaluations.
    dropout : float in [0, 1), default=0.0
        Rate of (inverted) dropout after each hidden layer while training with 'sgd'
        or 'adam'; predictions are deterministic.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coefs_, intercepts_ : list of ndarray
        The weight matrix (n_in, n_out) and bias of each layer: views into the
        network's weights, so writing into them changes the network. Lists or items
        assigned instead are copied into the network (in its dtype, shapes checked:
        ValueError) by the next predict, fit, partial_fit or save, and the lists then
        hold views again. Assigned before a first ``partial_fit`` or a ``fit`` with
        ``warm_start=True``, they are the weights training starts from.
    loss_ : float
    loss_curve_ : list of float
        The loss of each epoch ('sgd', 'adam').
    best_loss_ : float or None
    validation_scores_ : list of float or None
        Accuracy on the held-out rows after each epoch, with ``early_stopping``.
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs (iterations for 'lbfgs') run by the last call to fit or partial_fit.
    t_ : int
        Training samples seen by the solver, over all calls.
    n_features_in_, feature_names_in_, n_layers_, n_outputs_, out_activation_

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from fastnn import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(solver="sgd", learning_rate_init=0.1, max_iter=20,
    ...                     random_state=0).fit(X[:1500] / 16, y[:1500])
    >>> bool(clf.score(X[1500:] / 16, y[1500:]) > 0.9)
    True
    >>> clf.predict_proba(X[1500:1501] / 16).shape
    (1, 10)
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_HIDDEN))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, dropout=0.0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` (n_samples, n_features) and labels ``y``
        (n_samples,) or a 2-D indicator matrix (multi-label); returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

    @available_if(_check_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``; the first call needs ``classes`` (all labels
        of the whole data set) unless ``y`` is a multi-label indicator matrix."""
        if "_model" not in self.__dict__:
            self.__dict__.pop("classes_", None)  # left by a first call that failed
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def _fit(self, X, y, sample_weight, incremental):
        sizes = self._hidden_sizes()
        first_pass = "_model" not in self.__dict__ or (
            not self.warm_start and not incremental
        )
        if self.solver == "lbfgs" and self.dropout:
            raise ValueError("dropout needs a stochastic solver ('sgd' or 'adam'); "
                             "L-BFGS needs a deterministic objective")
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if is_dask(X, y, sample_weight):
            # NOTE: imported here: dask is optional, fastnn imports without it
            from fastnn.estimators._mlp_dask import fit_dask

            return fit_dask(self, X, y, sample_weight, sizes, first_pass)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        random_state = check_random_state(self.random_state)
        if first_pass:
            # coefs_ and intercepts_ set on an estimator never fitted: where a
            # partial_fit or a warm start begins, as in scikit-learn
            assigned = (self._assigned_weights() if "_model" not in self.__dict__
                        and (self.warm_start or incremental) else None)
            self._initialize(X, Y, sizes, random_state, assigned)
        else:
            self._sync_weights()
        if X.dtype != self._model.dtype:
            X = X.astype(self._model.dtype)  # the network keeps the dtype it was built in
            if sample_weight is not None:
                sample_weight = sample_weight.astype(X.dtype)
        targets = self._targets(Y, X.dtype)
        # NOTE: the callbacks' root task spans the fit; each epoch (L-BFGS: each
        # iteration) is a subtask, plus the one begun after the last.
        callbacks = self._init_callback_context(
            task_name="partial_fit" if incremental else "fit",
            max_subtasks=(1 if incremental else max(self.max_iter, 1)) + 1)
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        callbacks.call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)
        iterations = iteration_tasks(self, callbacks, X, y, metadata)
        try:
            if self.solver == "lbfgs":
                fit_lbfgs(self, X, targets, sample_weight, iterations)
            else:
                fit_stochastic(self, X, Y, targets, sample_weight, incremental,
                               random_state, iterations)
        finally:
            if iterations is not None:
                iterations.close()
        if not np.isfinite(self._model.flat_weights).all():
            raise ValueError(
                "training diverged: the weights overflowed to NaN or inf. Scale the "
                "inputs (e.g. StandardScaler) or lower learning_rate_init"
            )
        callbacks.call_on_fit_task_end(estimator=self, X=X, y=y, metadata=metadata,
                                       reconstruction_attributes={})
        return self

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if not all(isinstance(s, Integral) and not isinstance(s, bool) for s in sizes):
            raise ValueError(f"hidden_layer_sizes must hold ints, got {sizes}")
        if any(s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(s) for s in sizes]

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_csr_data(self, X, y, multi_output=True,
                                 dtype=(np.float64, np.float32), order="C", reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            self._check_classes(unique_labels(y))
        return X, self._label_binarizer.transform(y)

    def _check_classes(self, classes):
        """A warm start's or a later partial_fit's ``classes`` against ``classes_``
        (scikit-learn's ValueErrors)."""
        if self.warm_start:
            if set(classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as "
                    f"in the previous call to fit. Previously got {self.classes_}, "
                    f"`y` has {classes}"
                )
        elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
            raise ValueError(
                f"`y` has classes not in `self.classes_`. `self.classes_` has "
                f"{self.classes_}. 'y' has {classes}."
            )

    def _targets(self, Y, dtype):
        """What the network's loss takes: class indices for softmax, else 0/1 floats."""
        if self.out_activation_ == "softmax":
            return Y.argmax(axis=1).astype(np.intp)
        return np.ascontiguousarray(Y, dtype=dtype)

    def _labels_from_targets(self, targets):
        if targets.ndim == 1:
            return self.classes_[targets]
        return self._label_binarizer.inverse_transform(targets)

    # --------------------------------------------------------------- predicting

    def _checked(self, X, model):
        """``X`` as ``model`` takes it; a C-contiguous ndarray of the network's
        dtype and width (the serving path) skips scikit-learn's validation."""
        if skips_validation(self, X, self.n_features_in_, dtypes=(model.dtype,)):
            return X
        return validate_csr_data(self, X, reset=False, dtype=model.dtype, order="C")

    def _forward(self, X, logits):
        """The network's checked output for ``X``: a single row the serving path takes
        (``serves_row``) runs on bound buffers, whose finiteness tests are bound too;
        any other ``X``, or a row that is not finite, is validated first. The network
        first takes the ``coefs_`` or ``intercepts_`` a user assigned, if any."""
        state = self.__dict__
        model = state.get("_model")
        if model is None:
            check_is_fitted(self)
        if not weights_in_sync(state, model):
            self._sync_weights()  # coefs_ or intercepts_ assigned
        if serves_row(self, X, state["n_features_in_"], model.dtype):
            Y = model.serve(X, logits)
            if Y is not None:
                return Y
        X = self._checked(X, model)
        return check_finite_output(model.forward(X, logits))

    def predict_proba(self, X):
        """Probability of each class, shape (n_samples, n_classes), in the order of
        ``classes_`` (one column per label for multi-label)."""
        if is_dask(X):
            return _predict_blocks(self, "predict_proba", X)
        proba = self._forward(X, logits=False)
        if self.n_outputs_ == 1:
            both = np.empty((proba.shape[0], 2), proba.dtype)
            if proba.shape[0] == 1:
                # NOTE: a served row: Python floats cost a third of NumPy's slices, and
                # round alike (1 - p of a float32 p is exact in a double, then rounded
                # once to float32 when stored).
                p = proba.item()
                both[0, 0], both[0, 1] = 1 - p, p
                return both
            np.subtract(1, proba[:, 0], out=both[:, 0])
            both[:, 1] = proba[:, 0]
            return both
        return proba

    def predict_log_proba(self, X):
        """log(predict_proba(X)); -inf where a probability rounds to 0."""
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def predict(self, X):
        """The predicted class of each row (an indicator matrix for multi-label);
        a dask array, computed block by block on the workers, for a dask ``X``."""
        if is_dask(X):
            return _predict_blocks(self, "predict", X)
        return self._labels_from_logits(self._forward(X, logits=True))

    def _labels_from_logits(self, Z):
        if self.out_activation_ == "softmax":
            return self.classes_.take(Z.argmax(axis=1))
        if self.n_outputs_ == 1:
            if len(self.classes_) == 1:
                return np.repeat(self.classes_, Z.shape[0])
            return self.classes_.take((Z[:, 0] > 0).astype(np.intp))  # p > 0.5
        return self._label_binarizer.inverse_transform((Z > 0).astype(np.int64))

    def _score(self, X, y, sample_weight):
        """Accuracy on checked ``X`` (early stopping's validation score)."""
        Z = self._model.forward(X, logits=True)
        if not np.isfinite(Z).all():
            return np.nan
        return accuracy_score(y, self._labels_from_logits(Z), sample_weight=sample_weight)

    # ----------------------------------------------------------------- pickling

    def __sklearn_is_fitted__(self):
        # NOTE: a first fit or partial_fit that failed may have left classes_ and
        # n_features_in_; the network is what a prediction needs.
        return "_model" in self.__dict__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags


def _predict_blocks(estimator, method, X):
    """``estimator.<method>(X)`` of a dask X: a dask array (map_blocks)."""
    from fastnn.estimators._logistic_dask import predict_blocks

    return predict_blocks(estimator, method, X)
