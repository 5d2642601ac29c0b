"""MLPClassifier's solvers: L-BFGS on the network's objective, and the stochastic
solvers through :meth:`fastnn.Sequential.fit` with scikit-learn's per-epoch rules
(learning-rate schedules, ``tol`` stopping, early stopping) as a callback."""

import warnings

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.optimize import _check_optimize_result

from fastnn.estimators._callbacks import IterationTasks, has_callbacks
from fastnn.estimators._mlp_network import _loss_for, _network, weight_views
from fastnn.estimators._mlp_split import validation_split
from fastnn.models import Callback
from fastnn.nn.optimizers import SGD, Adam

__all__ = ["fit_lbfgs", "fit_stochastic", "iteration_tasks"]


def iteration_tasks(clf, context, X, y, metadata):
    """The epochs (L-BFGS: iterations) of ``clf``'s fit as subtasks of the callbacks'
    ``context`` (:class:`IterationTasks`), or None when nothing listens."""
    if not has_callbacks(clf):
        return None
    name = "lbfgs-iter" if clf.solver == "lbfgs" else "epoch"
    return IterationTasks(context, name, clf, X, y, metadata, _fitted_at(clf),
                          clf._model.flat_weights, None)


def _fitted_at(clf):
    """For IterationTasks: the attributes of a copy of ``clf`` fitted at the flat
    ``weights`` and loss ``loss`` (None before the first epoch). The copy gets a
    network of its own: the one training goes on changing."""

    def fitted_at(weights, loss):
        def attributes():
            model = _network(clf._architecture, None)
            model.flat_weights[...] = weights
            coefs, intercepts = weight_views(model)
            fitted = {"_model": model, "coefs_": coefs, "intercepts_": intercepts,
                      "n_iter_": clf.n_iter_}
            if loss is not None:
                fitted["loss_"] = float(loss)
            if getattr(clf, "loss_curve_", None) is not None:
                fitted["loss_curve_"] = list(clf.loss_curve_)
            return fitted

        return attributes

    return fitted_at


def fit_lbfgs(clf, X, targets, sample_weight, iterations=None, fun=None):
    """Fit ``clf``'s network by L-BFGS-B on :meth:`fastnn.Sequential.objective`
    (or on ``fun``, the same objective computed elsewhere: the dask fit's);
    ``iterations`` (IterationTasks or None) hears of each iteration and can stop it."""
    model = clf._model
    model.compile(optimizer=SGD(), loss=_loss_for(clf.out_activation_))
    if fun is None:
        fun = model.objective(X, targets, sample_weight)
    iteration = [0]

    def report(intermediate_result):
        iteration[0] += 1
        if clf.verbose:
            print(f"Iteration {iteration[0]}, loss = {intermediate_result.fun:.8f}")
        if iterations is not None:
            # the estimator's own n_iter_ and loss_ follow the fit, as with SGD's epochs
            clf.n_iter_, clf.loss_ = iteration[0], float(intermediate_result.fun)
            if iterations.end_and_begin(intermediate_result.x,
                                        float(intermediate_result.fun)):
                raise StopIteration  # scipy ends with status 99

    result = scipy.optimize.minimize(
        fun, model.flat_weights.astype(np.float64), method="L-BFGS-B", jac=True,
        options={"maxfun": clf.max_fun, "maxiter": clf.max_iter, "gtol": clf.tol},
        callback=report if clf.verbose or iterations is not None else None,
    )
    if result.status == 99:  # a callback asked to stop: no failure to converge
        clf.n_iter_ = int(result.nit)
    else:
        clf.n_iter_ = _check_optimize_result("lbfgs", result, clf.max_iter)
    clf.loss_ = float(result.fun)
    model.flat_weights[...] = result.x
    model.optimizer = None  # a later stochastic fit starts its own, as scikit-learn


def fit_stochastic(clf, X, Y, targets, sample_weight, incremental, random_state,
                   iterations=None):
    """Fit ``clf``'s network by :meth:`fastnn.Sequential.fit` ('sgd' or 'adam'),
    with scikit-learn's end-of-epoch rules as a callback (:class:`_Schedule`);
    ``iterations`` (IterationTasks or None) hears of each epoch and can stop it."""
    model = clf._model
    if not hasattr(clf, "loss_curve_"):  # the weights came from 'lbfgs'
        clf._initialize_curves()
    if not incremental or model.optimizer is None:
        if clf.solver == "sgd":
            optimizer = SGD(clf.learning_rate_init, momentum=clf.momentum,
                            nesterov=clf.nesterovs_momentum)
        else:
            optimizer = Adam(clf.learning_rate_init, clf.beta_1, clf.beta_2,
                             clf.epsilon)
        model.compile(optimizer=optimizer, loss=_loss_for(clf.out_activation_))
    X_val = y_val = sw_val = None
    if clf.early_stopping:
        if "_best_params" not in clf.__dict__:  # early stopping turned on since
            clf._best_params = model.get_flat_weights()
        arrays = [X, targets] + ([sample_weight] if sample_weight is not None else [])
        split = validation_split(clf, arrays, Y, random_state)
        X, X_val, targets, y_val = split[:4]
        if sample_weight is not None:
            sample_weight, sw_val = split[4:]
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase "
                             "'validation_fraction' or the size of your dataset.")
        y_val = clf._labels_from_targets(y_val)
    n_samples = X.shape[0]
    if clf.batch_size == "auto":
        batch_size = min(200, n_samples)
    else:
        if clf.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample "
                          "size. It is going to be clipped")
        batch_size = int(np.clip(clf.batch_size, 1, n_samples))
    clf.n_iter_ = 0
    schedule = _Schedule(clf, n_samples, X_val, y_val, sw_val, incremental, iterations)
    try:
        model.fit(X, targets, batch_size=batch_size, epochs=1 if incremental else
                  clf.max_iter, verbose=0, shuffle=clf.shuffle,
                  sample_weight=sample_weight, callbacks=[schedule])
    except KeyboardInterrupt:
        # NOTE: as scikit-learn's MLP: Ctrl-C ends training and keeps the weights
        # of the last completed step (Sequential.fit leaves them consistent).
        warnings.warn("Training interrupted by user.")
    if clf.early_stopping:
        model.flat_weights[...] = clf._best_params


class _Schedule(Callback):
    """scikit-learn's end-of-epoch rules, run by :meth:`fastnn.Sequential.fit`."""

    def __init__(self, clf, n_samples, X_val, y_val, sw_val, incremental, iterations):
        self.clf = clf
        self.n_samples = n_samples
        self.validation = (X_val, y_val, sw_val)
        self.incremental = incremental
        self.iterations = iterations

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
        if self.iterations is not None and self.iterations.end_and_begin(
                model.flat_weights, clf.loss_):
            model.stop_training = True  # a callback asked: no ConvergenceWarning
            return
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
                clf._best_params[...] = self.model.flat_weights
        else:
            if clf.loss_curve_[-1] > clf.best_loss_ - clf.tol:
                clf._no_improvement_count += 1
            else:
                clf._no_improvement_count = 0
            clf.best_loss_ = min(clf.best_loss_, clf.loss_curve_[-1])
