"""Evaluating a :class:`fastnn.Sequential`: evaluate and test_on_batch, as the
:class:`Evaluator` that Sequential inherits beside :class:`fastnn.models.training.Trainer`
(whose fit reports its validation loss through :meth:`Evaluator._evaluate`). The loss
runs the training plan's forward in row chunks and sums in float64.
"""

import numpy as np

from fastnn._threads import training_threads
from fastnn.models.epoch import n_correct
from fastnn.models.inference import Inference
from fastnn.models.progress import Progress, check_batch_size, check_verbose

__all__ = ["Evaluator"]


class Evaluator:
    """What :class:`fastnn.Sequential` inherits to evaluate: the model supplies
    ``_check_data``, ``_metric_names``, ``_plan`` (its Trainer's), ``metrics`` and
    ``predict``."""

    def test_on_batch(self, x, y, sample_weight=None):
        """The loss (and metrics) on ``(x, y)`` without updating the weights."""
        X, y, sample_weight = self._check_data(x, y, sample_weight)
        values = self._evaluate(X, y, X.shape[0], self._metric_names(), sample_weight)
        return self._as_result(values)

    def _logs(self, loss, accuracy, X, y):
        values = {"loss": loss}
        for name, function in self.metrics:
            values[name] = accuracy if name == "accuracy" else function(y, self.predict(X))
        return self._as_result(values)

    @staticmethod
    def _as_result(values):
        return values["loss"] if len(values) == 1 else list(values.values())

    def evaluate(self, x, y, batch_size=None, verbose=1, sample_weight=None,
                 return_dict=False, show_accuracy=False):
        """The mean loss on ``(x, y)``, or ``[loss, *metrics]`` when the model was
        compiled with metrics, as Keras.

        Parameters
        ----------
        x, y : the rows and their targets, as for :meth:`fit`
        batch_size : int, optional
            Rows per forward pass (None: 32, as Keras); the result does not depend
            on it beyond float rounding.
        verbose : {1, 0, 2, 'auto'}
            1 (the default) or 'auto' a progress bar over the batches ending with
            the results, 2 one line when done, 0 silent.
        sample_weight : array of shape (n_samples,), optional
            The mean loss is weighted by it (the accuracy is not).
        return_dict : bool, default False
            Return ``{'loss': ..., 'accuracy': ...}`` instead (Keras 3).
        show_accuracy : bool, default False
            Keras 1: report the accuracy even if compile had no metrics.

        Examples
        --------
        >>> import numpy as np
        >>> from fastnn import Sequential
        >>> from fastnn.layers import Dense
        >>> model = Sequential([Dense(1, "sigmoid", input_dim=1)])
        >>> model.set_weights([np.array([[2.0]]), np.array([0.0])])
        >>> model.compile(loss="binary_crossentropy", metrics=["accuracy"])
        >>> X, y = np.array([[-1.0], [1.0], [-3.0]]), np.array([0, 1, 1])
        >>> model.evaluate(X, y, verbose=2, return_dict=True)
        1/1 - ...s - loss: 2.0854 - accuracy: 0.6667
        {'loss': 2.085..., 'accuracy': 0.666...}
        """
        batch_size = check_batch_size(batch_size)
        verbose = check_verbose(verbose)
        X, y, sample_weight = self._check_data(x, y, sample_weight)
        names = self._metric_names(show_accuracy)
        with Progress(verbose, -(-X.shape[0] // batch_size), "evaluate") as progress:
            values = self._evaluate(X, y, batch_size, names, sample_weight,
                                    progress.update)
            progress.done(values)
        return dict(values) if return_dict else self._as_result(values)

    def _evaluate(self, X, y, batch_size, metric_names, sample_weight=None,
                  progress=None):
        plan = self._plan()
        loss, threshold = plan.loss_function, plan.threshold
        n_samples = X.shape[0]
        if n_samples == 0:
            raise ValueError("cannot evaluate on zero samples")
        losses = np.empty(n_samples, X.dtype)
        correct = 0
        with training_threads():
            for start, stop, A in Inference(plan.forward).chunks(X, batch_size):
                weights = None if sample_weight is None else sample_weight[start:stop]
                loss(A, y[start:stop], weights, 1.0, False, losses[start:stop], None)
                if "accuracy" in metric_names:
                    correct += n_correct(A, y[start:stop], threshold)
                if progress is not None:
                    progress()
        total_weight = n_samples if sample_weight is None else float(sample_weight.sum())
        if total_weight <= 0:
            raise ValueError("sample_weight sums to 0: the mean loss is undefined")
        values = {"loss": float(losses.sum(dtype=np.float64)) / total_weight}
        for name, function in self.metrics:
            if name != "accuracy":
                values[name] = function(y, self.predict(X, batch_size))
        if "accuracy" in metric_names:
            values = {"loss": values.pop("loss"), "accuracy": correct / n_samples, **values}
        return values
