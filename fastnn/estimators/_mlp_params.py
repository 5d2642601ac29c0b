"""MLPClassifier's parameters as scikit-learn's MLPClassifier shows them, over fastnn's
network (a :class:`fastnn.Sequential` that holds every weight in one flat vector).

- The initial weights: scikit-learn's draws, or the ``coefs_`` and ``intercepts_`` a
  user assigned before a ``partial_fit`` or a ``fit`` with ``warm_start=True``.
- ``coefs_`` and ``intercepts_``: lists of views into the network's vector, so writing
  into one of their arrays changes the network. A list or an item the user replaces
  is checked and copied into the network before the next prediction, training step or
  save; the attributes then hold the network's views again (:meth:`_sync_weights`).
- ``_optimizer``: the learning rate the stochastic solvers train with, as scikit-learn's
  optimizers report it (:class:`LearningRate`).
- ``_loss_grad_lbfgs``: the training objective and its gradient over scikit-learn's
  packing of the parameters (every ``coefs_`` raveled, then every ``intercepts_``).
"""

import math
from itertools import pairwise

import numpy as np
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from fastnn.estimators._mlp_network import (
    _MAXOUT_PIECES,
    _loss_for,
    _network,
    _Views,
    weight_views,
)
from fastnn.models.sparse import validate_csr_data
from fastnn.nn.optimizers import SGD, Adam
from fastnn.ops.optimizers import adam_step_size

__all__ = ["LearningRate", "MLPParams", "weights_in_sync"]

def weights_in_sync(state, model):
    """Whether the estimator's ``state`` (its ``__dict__``) still hands out ``model``'s
    own, unchanged lists of views (then nothing needs copying into the network)."""
    coefs, intercepts = state.get("coefs_"), state.get("intercepts_")
    return (type(coefs) is _Views and type(intercepts) is _Views
            and coefs.model is model and intercepts.model is model
            and coefs.name == "coefs_" and intercepts.name == "intercepts_"
            and not (coefs.changed or intercepts.changed))


def _checked_weights(model, coefs, intercepts, units):
    """Copies of ``coefs`` and ``intercepts`` in ``model``'s dtype, in the order of
    :meth:`fastnn.Sequential.set_weights`; TypeError or ValueError, naming the
    attribute, if they do not fit the network of layer widths ``units``."""
    layers = [layer for layer in model.layers if layer.params]
    for name, given in (("coefs_", coefs), ("intercepts_", intercepts)):
        if not isinstance(given, (list, tuple)):
            raise TypeError(f"{name} must be a list of arrays, got "
                            f"{type(given).__name__}")
        if len(given) != len(layers):
            raise ValueError(f"{name} holds {len(given)} arrays; the network of layer "
                             f"widths {units} has {len(layers)} weight layers")
    arrays = []
    for index, layer in enumerate(layers):
        for name, given, param in (("coefs_", coefs[index], layer.params[0]),
                                   ("intercepts_", intercepts[index], layer.params[1])):
            where = f"{name}[{index}]"
            try:
                array = np.asarray(given)
            except (TypeError, ValueError) as error:  # e.g. ragged nested lists
                raise ValueError(f"{where} is not an array: {error}") from None
            if array.dtype.kind not in "iuf":
                raise TypeError(f"{where} must hold real numbers, got dtype "
                                f"{array.dtype}")
            if array.shape != param.shape:
                raise ValueError(f"{where} has shape {array.shape}; the network of layer "
                                 f"widths {units} takes {param.shape}")
            # NOTE: a copy, taken before anything is written: an item may be a view of
            # another of the network's arrays (e.g. two layers' coefs_ swapped).
            with np.errstate(over="ignore", invalid="ignore"):
                array = np.array(array, dtype=param.dtype)
            if not np.isfinite(array).all():
                raise ValueError(f"{where} holds NaN or inf (in the network's "
                                 f"{param.dtype})")
            arrays.append(array)
    return arrays


class LearningRate:
    """What scikit-learn's ``MLPClassifier._optimizer`` tells of a stochastic solver:
    its ``learning_rate``, read from the optimizer the network trains with (fastnn's
    :class:`fastnn.optimizers.SGD` or :class:`fastnn.optimizers.Adam`).

    Attributes
    ----------
    learning_rate : float
        'sgd': the rate of the next update; ``learning_rate_init`` when a ``fit``
        starts (each fit, warm start or not, starts a new optimizer, a ``partial_fit``
        goes on with the last one), then after each epoch
        ``learning_rate_init / (t_ + 1) ** power_t`` for 'invscaling', divided by 5 at
        each plateau for 'adaptive'. 'adam': the step size of the last update,
        ``learning_rate_init * sqrt(1 - beta_2**t) / (1 - beta_1**t)`` after ``t``
        updates (``learning_rate_init`` before any).
    """

    __slots__ = ("_optimizer",)

    def __init__(self, optimizer):
        self._optimizer = optimizer

    @property
    def learning_rate(self):
        optimizer = self._optimizer
        if isinstance(optimizer, Adam) and optimizer.iterations:
            return adam_step_size(optimizer.learning_rate, optimizer.iterations,
                                  optimizer.beta_1, optimizer.beta_2)
        return optimizer.current_learning_rate()

    def __repr__(self):
        return (f"LearningRate({type(self._optimizer).__name__}, "
                f"learning_rate={self.learning_rate!r})")


class MLPParams:
    """Mixin of :class:`fastnn.MLPClassifier`: its network's parameters, as
    scikit-learn's attributes (see the module)."""

    # ------------------------------------------------------------ initial weights

    def _initialize(self, X, Y, sizes, random_state, assigned=None):
        """Build the network: with scikit-learn's initial weights (the same draws from
        ``random_state``), or with ``assigned``, the (coefs_, intercepts_) a user set,
        checked against the architecture. The counters and curves start afresh."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        units = [X.shape[1], *sizes, self.n_outputs_]
        self.n_layers_ = len(units)
        multiclass = self._label_binarizer.y_type_ == "multiclass"
        self.out_activation_ = "softmax" if multiclass else "logistic"
        weights = (self._initial_weights(units, len(sizes), random_state)
                   if assigned is None else None)
        self._architecture = (units, self.activation, float(self.dropout),
                              float(self.alpha), self.out_activation_, X.dtype.name)
        model = _network(self._architecture, int(random_state.randint(2**31 - 1)))
        if assigned is not None:
            weights = _checked_weights(model, *assigned, units)
        model.set_weights(weights)
        self._adopt(model)
        # NOTE: only early stopping reads the best weights: a copy of every weight,
        # 12.8 MB for a 50000-word vocabulary into 64 float32 units, made only for it
        self.__dict__.pop("_best_params", None)
        if self.early_stopping:
            self._best_params = model.get_flat_weights()
        if self.solver != "lbfgs":
            self._initialize_curves()

    def _initial_weights(self, units, n_hidden, random_state):
        """scikit-learn's draws: uniform, bound ``sqrt(6 / (fan_in + fan_out))``
        (``sqrt(2 / ...)`` for 'logistic'), each matrix then its bias."""
        factor = 2.0 if self.activation == "logistic" else 6.0
        weights = []
        for index, (fan_in, fan_out) in enumerate(pairwise(units)):
            bound = math.sqrt(factor / (fan_in + fan_out))
            width = fan_out * (_MAXOUT_PIECES if index < n_hidden
                               and self.activation == "maxout" else 1)
            weights.append(random_state.uniform(-bound, bound, (fan_in, width)))
            weights.append(random_state.uniform(-bound, bound, width))
        return weights

    def _assigned_weights(self):
        """The (coefs_, intercepts_) a user set on an estimator with no network yet,
        or None; ValueError if only one of them was set."""
        state = self.__dict__
        if "coefs_" not in state and "intercepts_" not in state:
            return None
        if "coefs_" not in state or "intercepts_" not in state:
            raise ValueError("set both coefs_ and intercepts_ to start from your own "
                             "weights, or neither")
        return state["coefs_"], state["intercepts_"]

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

    # ------------------------------------------------------- coefs_, intercepts_

    def _adopt(self, model):
        """Hold ``model``; point coefs_ and intercepts_ at its weights."""
        self._model = model
        self.coefs_, self.intercepts_ = weight_views(model)

    def _sync_weights(self):
        """Copy ``coefs_`` and ``intercepts_`` into the network unless they are its
        own unchanged views (:func:`weights_in_sync`); they are its views afterwards
        (the estimator's own list stays the same list). TypeError or ValueError, and
        nothing copied, if they do not fit the network."""
        state = self.__dict__
        model = state["_model"]
        if weights_in_sync(state, model):
            return
        if "coefs_" not in state or "intercepts_" not in state:
            raise ValueError("coefs_ or intercepts_ was deleted; refit the estimator")
        model.set_weights(_checked_weights(model, state["coefs_"], state["intercepts_"],
                                           self._architecture[0]))
        for name, views in zip(("coefs_", "intercepts_"), weight_views(model)):
            given = state[name]
            if type(given) is _Views and given.model is model and given.name == name:
                list.__setitem__(given, slice(None), views)  # not a change to note
                given.changed = False
            else:
                setattr(self, name, views)

    # ----------------------------------------------------------------- _optimizer

    @property
    def _optimizer(self):
        """The learning rate of the stochastic solvers (:class:`LearningRate`), as
        scikit-learn's ``_optimizer`` shows it; AttributeError before a stochastic
        solver trained the network, or after 'lbfgs' did."""
        model = self.__dict__.get("_model")
        optimizer = None if model is None else model.optimizer
        if not isinstance(optimizer, (SGD, Adam)):
            raise AttributeError(
                "_optimizer: no stochastic solver ('sgd' or 'adam') trained this "
                "network last"
            )
        return LearningRate(optimizer)

    # ---------------------------------------------------------- _loss_grad_lbfgs

    def _loss_grad_lbfgs(self, packed_coef_inter, X, y, sample_weight=None,
                         activations=None, deltas=None, coef_grads=None,
                         intercept_grads=None):
        """The training objective at ``packed_coef_inter`` and its gradient, packed as
        scikit-learn packs them; the network then holds those weights (as
        scikit-learn's ``_loss_grad_lbfgs`` leaves them in ``coefs_``).

        Parameters
        ----------
        packed_coef_inter : ndarray of shape (n_params,)
            Every ``coefs_[i].ravel()``, then every ``intercepts_[i]``.
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : ndarray of shape (n_samples, n_outputs_)
            The binarized labels, as ``_label_binarizer.transform`` gives them.
        sample_weight : array-like of shape (n_samples,), default=None
        activations, deltas, coef_grads, intercept_grads : ignored
            scikit-learn's work buffers: fastnn's network keeps its own.

        Returns
        -------
        loss : float
            The mean log-loss plus ``alpha / (2 * sum(sample_weight)) * sum(||W||**2)``.
        grad : ndarray of shape (n_params,), float64
        """
        check_is_fitted(self)
        self._sync_weights()
        model = self._model
        order = self._packing()
        packed = np.asarray(packed_coef_inter)
        if packed.dtype.kind not in "iuf":
            raise TypeError(f"packed_coef_inter must hold real numbers, got dtype "
                            f"{packed.dtype}")
        if packed.shape != order.shape:
            raise ValueError(f"packed_coef_inter must be {order.size} real numbers, "
                             f"got shape {packed.shape}")
        X = validate_csr_data(self, X, reset=False, dtype=model.dtype, order="C")
        Y = np.asarray(y)
        Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        if Y.shape != (X.shape[0], self.n_outputs_):
            raise ValueError(f"y must be the binarized labels, shape "
                             f"({X.shape[0]}, {self.n_outputs_}); got {Y.shape}")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype,
                                                 ensure_non_negative=True)
        if model.loss is None:  # loaded from a file that kept no optimizer
            model.compile(optimizer=SGD(), loss=_loss_for(self.out_activation_))
            model.optimizer = None
        fun = model.objective(X, self._targets(Y, X.dtype), sample_weight)
        weights = np.empty(order.size)
        weights[order] = packed
        loss, grad = fun(weights)
        return loss, grad[order]

    def _packing(self):
        """The index in the network's flat vector of each entry of scikit-learn's
        packed vector (the network's layout is each layer's matrix then its bias)."""
        pieces, start = [], 0
        for layer in self._model.layers:
            for param in layer.params:
                pieces.append(np.arange(start, start + param.size))
                start += param.size
        return np.concatenate(pieces[0::2] + pieces[1::2])
