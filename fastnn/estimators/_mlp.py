"""MLPClassifier: scikit-learn's multi-layer perceptron, trained by fastnn's engine.

The network is a :class:`fastnn.Sequential` of Dense (or Maxout) layers, with Dropout
after each hidden layer when asked; the stochastic solvers run its ``fit`` (one
backprop path in the codebase), a :class:`fastnn.models.Callback` applies
scikit-learn's per-epoch rules (learning-rate schedules, ``tol`` stopping, early
stopping), and ``lbfgs`` minimizes :meth:`fastnn.Sequential.objective` over the
model's flat weight vector. ``coefs_`` and ``intercepts_`` are views into that vector.
"""

import math
import threading
import warnings
from itertools import pairwise
from numbers import Integral, Real

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    type_of_target,
    unique_labels,
)
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from fastnn import ops
from fastnn.estimators import _saved as saved
from fastnn.layers import Dense, Dropout, Maxout
from fastnn.losses import BinaryCrossentropy
from fastnn.models import Callback, Sequential, check_finite_output
from fastnn.optimizers import SGD, Adam, Optimizer
from fastnn.saving.container import check_float, check_int, check_keys
from fastnn.saving.estimators import read_classifier, write_classifier

__all__ = ["MLPClassifier"]

# scikit-learn's activation names -> fastnn's ('maxout' builds Maxout layers instead)
_HIDDEN = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
           "leaky_relu": "leaky_relu", "elu": "elu", "maxout": None}
_MAXOUT_PIECES = 2
_CHUNK = 4096  # rows per forward call when predicting many rows (bounds the buffers)


class _LogLoss(BinaryCrossentropy):
    """scikit-learn's binary log-loss: summed over the outputs (Keras averages them),
    so a multi-label network learns as scikit-learn's does."""

    name = "binary_log_loss"

    def from_logits(self, logits, y, sample_weight=None, scale=1.0, with_grad=True,
                    loss_out=None, grad_out=None):
        return ops.binary_cross_entropy(
            logits, y, sample_weight, scale, with_grad, loss_out, grad_out
        )


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """Multi-layer perceptron classifier: scikit-learn's parameters, defaults and
    attributes, trained by fastnn's compiled engine.

    The objective is scikit-learn's: the mean log-loss plus
    ``alpha / (2 * n_samples) * sum(||W||**2)`` over the weight matrices (never the
    intercepts). Two classes use one logistic output unit, more a softmax, a 2-D
    indicator ``y`` (multi-label) one logistic unit per label. Weights start as
    scikit-learn's (uniform, bound ``sqrt(6 / (fan_in + fan_out))``, ``sqrt(2 / ...)``
    for 'logistic') drawn from the same ``random_state``. float32 input trains and
    predicts in float32, float64 in float64. Sparse input is densified.

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
        network's weights.
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

    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` (n_samples, n_features) and labels ``y``
        (n_samples,) or a 2-D indicator matrix (multi-label); returns self."""
        self._validate_params()
        return self._fit(X, y, sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

    @available_if(_check_solver)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``; the first call needs ``classes`` (all labels
        of the whole data set) unless ``y`` is a multi-label indicator matrix."""
        self._validate_params()
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
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(X, Y, sizes, random_state)
        elif X.dtype != self._model.dtype:
            X = X.astype(self._model.dtype)  # the network keeps the dtype it was built in
            if sample_weight is not None:
                sample_weight = sample_weight.astype(X.dtype)
        targets = self._targets(Y, X.dtype)
        self._serve = None
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, targets, sample_weight)
        else:
            self._fit_stochastic(X, Y, targets, sample_weight, incremental, random_state)
        if not np.isfinite(self._model._params).all():
            raise ValueError(
                "training diverged: the weights overflowed to NaN or inf. Scale the "
                "inputs (e.g. StandardScaler) or lower learning_rate_init"
            )
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
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), order="C", reset=reset)
        if sp.issparse(X):
            X = np.ascontiguousarray(X.toarray())
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
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
        return X, self._label_binarizer.transform(y)

    def _targets(self, Y, dtype):
        """What the network's loss takes: class indices for softmax, else 0/1 floats."""
        if self.out_activation_ == "softmax":
            return Y.argmax(axis=1).astype(np.intp)
        return np.ascontiguousarray(Y, dtype=dtype)

    def _initialize(self, X, Y, sizes, random_state):
        """Build the network with scikit-learn's initial weights (same draws)."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        units = [X.shape[1], *sizes, self.n_outputs_]
        self.n_layers_ = len(units)
        multiclass = self._label_binarizer.y_type_ == "multiclass"
        self.out_activation_ = "softmax" if multiclass else "logistic"
        factor = 2.0 if self.activation == "logistic" else 6.0
        weights = []
        for index, (fan_in, fan_out) in enumerate(pairwise(units)):
            bound = math.sqrt(factor / (fan_in + fan_out))
            hidden = index < len(sizes)
            width = fan_out * (_MAXOUT_PIECES if hidden and self.activation == "maxout"
                               else 1)
            weights.append(random_state.uniform(-bound, bound, (fan_in, width)))
            weights.append(random_state.uniform(-bound, bound, width))
        self._architecture = (units, self.activation, float(self.dropout),
                              float(self.alpha), self.out_activation_, X.dtype.name)
        model = _network(self._architecture, int(random_state.randint(2**31 - 1)))
        model.set_weights(weights)
        self._adopt(model)
        self._best_params = model._params.copy()
        if self.solver != "lbfgs":
            self._initialize_curves()

    def _initialize_curves(self):
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _adopt(self, model):
        """Hold ``model``; point coefs_ and intercepts_ at its weights."""
        self._model = model
        self._lock = threading.Lock()
        self._serve = None
        affine = [layer for layer in model.layers if layer.params]
        self.coefs_ = [layer.params[0] for layer in affine]
        self.intercepts_ = [layer.params[1] for layer in affine]

    def _fit_lbfgs(self, X, targets, sample_weight):
        model = self._model
        model.compile(optimizer=SGD(), loss=_loss_for(self.out_activation_))
        fun = model.objective(X, targets, sample_weight)
        iteration = [0]

        def report(intermediate_result):
            iteration[0] += 1
            print(f"Iteration {iteration[0]}, loss = {intermediate_result.fun:.8f}")

        result = scipy.optimize.minimize(
            fun, model._params.astype(np.float64), method="L-BFGS-B", jac=True,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
            callback=report if self.verbose else None,
        )
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        self.loss_ = float(result.fun)
        model._params[...] = result.x
        model.optimizer = None  # a later stochastic fit starts its own, as scikit-learn

    def _fit_stochastic(self, X, Y, targets, sample_weight, incremental, random_state):
        model = self._model
        if not hasattr(self, "loss_curve_"):  # the weights came from 'lbfgs'
            self._initialize_curves()
        if not incremental or model.optimizer is None:
            if self.solver == "sgd":
                optimizer = SGD(self.learning_rate_init, momentum=self.momentum,
                                nesterov=self.nesterovs_momentum)
            else:
                optimizer = Adam(self.learning_rate_init, self.beta_1, self.beta_2,
                                 self.epsilon)
            model.compile(optimizer=optimizer, loss=_loss_for(self.out_activation_))
        X_val = y_val = sw_val = None
        if self.early_stopping:
            # NOTE: stratified on the labels unless multi-label, as scikit-learn's
            # documentation says (its code stratifies binary problems only).
            stratify = targets if targets.ndim == 1 or Y.shape[1] == 1 else None
            arrays = [X, targets] + ([sample_weight] if sample_weight is not None else [])
            split = train_test_split(*arrays, random_state=random_state,
                                     test_size=self.validation_fraction,
                                     stratify=stratify)
            X, X_val, targets, y_val = split[:4]
            if sample_weight is not None:
                sample_weight, sw_val = split[4:]
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            y_val = self._labels_from_targets(y_val)
        n_samples = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample "
                              "size. It is going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        self.n_iter_ = 0
        schedule = _Schedule(self, n_samples, X_val, y_val, sw_val, incremental)
        try:
            model.fit(X, targets, batch_size=batch_size, epochs=1 if incremental else
                      self.max_iter, verbose=0, shuffle=self.shuffle,
                      sample_weight=sample_weight, callbacks=[schedule])
        except KeyboardInterrupt:
            # NOTE: as scikit-learn's MLP: Ctrl-C ends training and keeps the weights
            # of the last completed step (Sequential.fit leaves them consistent).
            warnings.warn("Training interrupted by user.")
        if self.early_stopping:
            model._params[...] = self._best_params

    def _labels_from_targets(self, targets):
        if targets.ndim == 1:
            return self.classes_[targets]
        return self._label_binarizer.inverse_transform(targets)

    # --------------------------------------------------------------- predicting

    def _checked(self, X):
        """``X`` as the network takes it; a C-contiguous ndarray of the network's
        dtype and width (the serving path) skips scikit-learn's validation."""
        model = self.__dict__.get("_model")
        if model is None:
            check_is_fitted(self)
        if (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype == model.dtype
            and X.flags.c_contiguous
            and X.shape[0]
            and X.shape[1] == self.n_features_in_
            and "feature_names_in_" not in self.__dict__
            # NOTE: a sum is finite only if every term is (NaN and inf propagate), so
            # one reduction stands in for isfinite; an overflowing sum of finite
            # values only sends X through the full check below.
            and math.isfinite(X.sum())
        ):
            return X
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False,
                          dtype=model.dtype, order="C")
        return np.ascontiguousarray(X.toarray()) if sp.issparse(X) else X

    def _forward(self, X, logits):
        """The network's output for checked ``X``: probabilities, or the output
        layer's logits (``logits=True``), as a new array."""
        with self._lock:  # the layers' buffers are shared: one forward at a time
            if X.shape[0] == 1:  # the serving path: bound once, then only run
                serve = self._serve
                if serve is None:
                    serve = self._serve = {}
                bound = serve.get(logits)
                if bound is None:
                    bound = serve[logits] = _bind(self._steps(logits), np.empty_like(X))
                A0, runs, A = bound
                A0[...] = X
                for run in runs:
                    run()
                return A.copy()
            steps = self._steps(logits)
            out = np.empty((X.shape[0], self._model.n_outputs), X.dtype)
            for start in range(0, X.shape[0], _CHUNK):
                _, runs, A = _bind(steps, X[start:start + _CHUNK])
                for run in runs:
                    run()
                out[start:start + _CHUNK] = A
            return out

    def _steps(self, logits):
        steps = [step for layer in self._model.layers for step in layer._steps()]
        return steps[:-1] if logits else steps  # [:-1]: the output softmax or sigmoid

    def predict_proba(self, X):
        """Probability of each class, shape (n_samples, n_classes), in the order of
        ``classes_`` (one column per label for multi-label)."""
        proba = check_finite_output(self._forward(self._checked(X), logits=False))
        if self.n_outputs_ == 1:
            both = np.empty((proba.shape[0], 2), proba.dtype)
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
        """The predicted class of each row (an indicator matrix for multi-label)."""
        Z = check_finite_output(self._forward(self._checked(X), logits=True))
        return self._labels_from_logits(Z)

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
        Z = self._forward(X, logits=True)
        if not np.isfinite(Z).all():
            return np.nan
        return accuracy_score(y, self._labels_from_logits(Z), sample_weight=sample_weight)

    # ----------------------------------------------------------------- pickling

    def __getstate__(self):
        # NOTE: the state is the weights, the optimizer's slots and the random
        # generators, nothing bound: dask_ml's Incremental ships it with every block.
        state = dict(super().__getstate__())  # a copy: the live __dict__ stays whole
        model = state.pop("_model", None)
        for key in ("_lock", "_serve", "coefs_", "intercepts_"):
            state.pop(key, None)
        if not self.early_stopping:
            state.pop("_best_params", None)  # only early stopping reads it
        if model is not None:
            state["_network"] = self._network_state()
        return state

    def __setstate__(self, state):
        network = state.pop("_network", None)
        super().__setstate__(state)
        if network is not None:
            self._restore_network(network)
            if "_best_params" not in self.__dict__:
                self._best_params = self._model.get_flat_weights()

    def __sklearn_is_fitted__(self):
        # NOTE: a first fit or partial_fit that failed may have left classes_ and
        # n_features_in_; the network is what a prediction needs.
        return "_model" in self.__dict__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags

    # -- saved state (owned here, read and written by fastnn.saving) --

    from_config = classmethod(saved.from_config)

    _SAVED_SCALARS = ("loss_", "best_loss_", "best_validation_score_")
    _SAVED_CURVES = ("loss_curve_", "validation_scores_")

    def _network_state(self):
        """The fitted network as plain values, the one definition of it (pickle and
        fastnn's files both use it): ``weights`` (the flat vector), ``rng`` and
        ``dropout_rngs`` (PCG64 states), ``optimizer`` (None, or its ``class_name``,
        ``config``, ``iterations`` and ``slots``)."""
        model = self._model
        rng, dropout_rngs = model.get_random_state()
        optimizer = None
        if model.optimizer is not None:
            iterations, slots = model.optimizer.get_state()
            optimizer = {"class_name": type(model.optimizer).__name__,
                         "config": model.optimizer.get_config(),
                         "iterations": int(iterations),
                         "slots": [slot.copy() for slot in slots]}
        return {"weights": model.get_flat_weights(), "rng": rng,
                "dropout_rngs": dropout_rngs, "optimizer": optimizer}

    def _restore_network(self, state):
        """Rebuild the network of :meth:`_network_state` for ``_architecture``;
        ValueError if the state does not fit it."""
        model = _network(self._architecture, None)
        model.set_flat_weights(state["weights"])
        model.set_random_state(state["rng"], state["dropout_rngs"])
        saved = state["optimizer"]
        if saved is not None:
            optimizer = Optimizer.deserialize(saved["class_name"], saved["config"])
            slots = saved["slots"]
            if not isinstance(slots, list) or len(slots) != optimizer.n_slots:
                raise ValueError("the optimizer state is incomplete")
            if any(slot.shape != state["weights"].shape for slot in slots):
                raise ValueError("an optimizer slot does not match the weights")
            model.restore_optimizer(optimizer, _loss_for(self.out_activation_),
                                    saved["iterations"], slots)
        self._adopt(model)

    def __fastnn_save__(self, writer):
        """The fitted attributes (JSON, arrays added to ``writer``)."""
        units, activation, dropout, alpha, out_activation, dtype = self._architecture
        network = self._network_state()
        fitted = {
            **write_classifier(self, writer),
            "y_type": self._label_binarizer.y_type_,
            "architecture": {"units": [int(unit) for unit in units],
                             "activation": activation, "dropout": dropout,
                             "alpha": alpha, "out_activation": out_activation,
                             "dtype": dtype},
            "n_iter_": int(self.n_iter_), "t_": int(self.t_),
            "weights": writer.add(network["weights"]),
            # only early stopping reads the best weights (as in the pickle)
            "best_weights": writer.add(self._best_params) if self.early_stopping
            else None,
            "rng": network["rng"], "dropout_rngs": network["dropout_rngs"],
            "optimizer": None,
        }
        for name in self._SAVED_SCALARS:
            if name in self.__dict__:
                value = self.__dict__[name]
                fitted[name] = None if value is None else float(value)
        if "_no_improvement_count" in self.__dict__:
            fitted["_no_improvement_count"] = int(self._no_improvement_count)
        for name in self._SAVED_CURVES:
            if name in self.__dict__:
                value = self.__dict__[name]
                fitted[name] = None if value is None else writer.add(
                    np.asarray(value, np.float64))
        if network["optimizer"] is not None:
            fitted["optimizer"] = {**network["optimizer"], "slots": [
                writer.add(slot) for slot in network["optimizer"]["slots"]]}
        return fitted

    def __fastnn_load__(self, fitted, reader):
        """Restore :meth:`__fastnn_save__`'s attributes from an untrusted file: the
        architecture checked against the classes and the features, the network's
        size against the file, before anything is built (ValueError)."""
        n_features, classes = read_classifier(
            self, fitted, reader,
            {"y_type", "architecture", "n_iter_", "t_", "weights", "best_weights",
             "rng", "dropout_rngs", "optimizer"},
            {*self._SAVED_SCALARS, "_no_improvement_count", *self._SAVED_CURVES},
        )
        arch = check_keys(fitted["architecture"],
                          {"units", "activation", "dropout", "alpha", "out_activation",
                           "dtype"}, "architecture")
        units = arch["units"]
        if not isinstance(units, list) or len(units) < 2:
            raise ValueError("the architecture's units are not a list of widths")
        units = [check_int(unit, "a layer width", 1) for unit in units]
        if arch["activation"] not in _HIDDEN or arch["dtype"] not in ("float32",
                                                                      "float64"):
            raise ValueError("the architecture's activation or dtype is unknown")
        dropout = check_float(arch["dropout"], "dropout")
        alpha = check_float(arch["alpha"], "alpha")
        if not (0 <= dropout < 1 and 0 <= alpha < np.inf):
            raise ValueError("the architecture's dropout or alpha is out of range")
        n_outputs, y_type, out = units[-1], fitted["y_type"], arch["out_activation"]
        consistent = {
            "multiclass": out == "softmax" and n_outputs == len(classes) >= 3,
            "binary": out == "logistic" and n_outputs == 1 and len(classes) <= 2,
            "multilabel-indicator": out == "logistic"
            and np.array_equal(classes, np.arange(n_outputs)),
        }
        if units[0] != n_features or not consistent.get(y_type, False):
            raise ValueError("the architecture does not match the classes and features")
        dtype = np.dtype(arch["dtype"])

        # NOTE: the weights member's size was checked against the file; the count the
        # architecture implies is Python-int arithmetic, so nothing is built before
        # the two agree.
        weights = reader.array(fitted["weights"], "weights", dtype=dtype)
        maxout = arch["activation"] == "maxout"
        count = sum(
            (fan_in + 1) * fan_out * (_MAXOUT_PIECES if maxout and i < len(units) - 2
                                      else 1)
            for i, (fan_in, fan_out) in enumerate(pairwise(units))
        )
        if weights.size != count:
            raise ValueError(f"the network has {count} weights, the file "
                             f"{weights.size}")
        best = weights
        if fitted["best_weights"] is not None:
            best = reader.array(fitted["best_weights"], "best_weights", dtype=dtype)
            if best.shape != weights.shape:
                raise ValueError("best_weights does not match the weights")
        optimizer = fitted["optimizer"]
        if optimizer is not None:
            check_keys(optimizer, {"class_name", "config", "iterations", "slots"},
                       "the optimizer")
            slots = optimizer["slots"]
            if not isinstance(slots, list):
                raise ValueError("the optimizer state is incomplete")
            optimizer = {**optimizer, "slots": [
                reader.array(name, "an optimizer slot", dtype=dtype) for name in slots],
                "iterations": check_int(optimizer["iterations"],
                                        "the optimizer's iterations")}

        binarizer = LabelBinarizer()
        binarizer.classes_, binarizer.y_type_, binarizer.sparse_input_ = (
            self.classes_, y_type, False)
        self._label_binarizer = binarizer
        self._architecture = (units, arch["activation"], dropout, alpha, out,
                              dtype.name)
        self.n_outputs_, self.n_layers_, self.out_activation_ = n_outputs, len(units), out
        self._restore_network({"weights": weights, "rng": fitted["rng"],
                               "dropout_rngs": fitted["dropout_rngs"],
                               "optimizer": optimizer})
        self.n_iter_ = check_int(fitted["n_iter_"], "n_iter_")
        self.t_ = check_int(fitted["t_"], "t_")
        for name in self._SAVED_SCALARS:
            if name in fitted:
                value = fitted[name]
                setattr(self, name, None if value is None else check_float(value, name))
        if "_no_improvement_count" in fitted:
            self._no_improvement_count = check_int(fitted["_no_improvement_count"],
                                                   "_no_improvement_count")
        for name in self._SAVED_CURVES:
            if fitted.get(name) is not None:
                # NOTE: a validation score is NaN when the network's output overflowed
                curve = reader.array(fitted[name], name, dtype=np.float64,
                                     finite=name == "loss_curve_")
                setattr(self, name, curve.tolist())
            elif name in fitted:
                setattr(self, name, None)
        self._best_params = best.copy()


class _Schedule(Callback):
    """scikit-learn's end-of-epoch rules, run by :meth:`fastnn.Sequential.fit`."""

    def __init__(self, clf, n_samples, X_val, y_val, sw_val, incremental):
        self.clf = clf
        self.n_samples = n_samples
        self.validation = (X_val, y_val, sw_val)
        self.incremental = incremental

    def on_epoch_end(self, epoch, logs=None):
        clf, model = self.clf, self.model
        clf.n_iter_ += 1
        clf.t_ += self.n_samples
        clf.loss_ = logs["loss"]
        clf.loss_curve_.append(clf.loss_)
        if clf.verbose:
            print(f"Iteration {clf.n_iter_}, loss = {clf.loss_:.8f}")
        self._count_no_improvement()
        optimizer = model.optimizer
        sgd = isinstance(optimizer, SGD)
        if sgd and clf.learning_rate == "invscaling":
            optimizer.learning_rate = clf.learning_rate_init / (clf.t_ + 1) ** clf.power_t
        if clf._no_improvement_count > clf.n_iter_no_change:
            what = "Validation score" if clf.early_stopping else "Training loss"
            message = (f"{what} did not improve more than tol={clf.tol:f} for "
                       f"{clf.n_iter_no_change} consecutive epochs.")
            if sgd and clf.learning_rate == "adaptive" and optimizer.learning_rate > 1e-6:
                optimizer.learning_rate /= 5.0
                clf._no_improvement_count = 0
                if clf.verbose:
                    print(f"{message} Setting learning rate to "
                          f"{optimizer.learning_rate:f}")
            else:
                if clf.verbose:
                    print(message + " Stopping.")
                model.stop_training = True
                return
        if not self.incremental and clf.n_iter_ == clf.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({clf.max_iter}) reached and "
                "the optimization hasn't converged yet.", ConvergenceWarning,
            )

    def _count_no_improvement(self):
        clf = self.clf
        if clf.early_stopping:
            X_val, y_val, sw_val = self.validation
            score = clf._score(X_val, y_val, sw_val)
            clf.validation_scores_.append(score)
            if clf.verbose:
                print(f"Validation score: {score:f}")
            if score < clf.best_validation_score_ + clf.tol:
                clf._no_improvement_count += 1
            else:
                clf._no_improvement_count = 0
            if score > clf.best_validation_score_:
                clf.best_validation_score_ = score
                clf._best_params[...] = self.model._params
        else:
            if clf.loss_curve_[-1] > clf.best_loss_ - clf.tol:
                clf._no_improvement_count += 1
            else:
                clf._no_improvement_count = 0
            clf.best_loss_ = min(clf.best_loss_, clf.loss_curve_[-1])


def _loss_for(out_activation):
    return "sparse_categorical_crossentropy" if out_activation == "softmax" else _LogLoss()


def _network(architecture, seed):
    """The Sequential for ``architecture`` (built, with throw-away initial weights)."""
    units, activation, dropout, alpha, out_activation, dtype = architecture
    layers = []
    for width in units[1:-1]:
        if activation == "maxout":
            layers.append(Maxout(width, pieces=_MAXOUT_PIECES, kernel_l2=alpha))
        else:
            layers.append(Dense(width, _HIDDEN[activation], kernel_l2=alpha))
        if dropout:
            layers.append(Dropout(dropout))
    output = "softmax" if out_activation == "softmax" else "sigmoid"
    layers.append(Dense(units[-1], output, kernel_l2=alpha))
    model = Sequential(layers, seed=seed)
    return model.build(units[0], dtype)


def _bind(steps, X):
    """Bind the inference forward of ``steps`` on ``X``: ``(X, runs, output)``."""
    runs, A = [], X
    for step in steps:
        more, A = step.bind_forward(A, False)
        runs += more
    return X, runs, A
