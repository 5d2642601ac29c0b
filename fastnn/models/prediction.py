"""Predicting with a :class:`fastnn.Sequential`: ``predict`` (Keras' batch_size and
verbose), Keras 1's ``predict_proba`` and ``predict_classes``, and the unchecked
``forward`` and one-row ``serve`` the estimators run, as the :class:`Predictor`
that Sequential inherits (beside :class:`fastnn.models.training.Trainer`).
"""

import warnings

import numpy as np

from fastnn._threads import training_threads
from fastnn.models.inference import Inference, check_finite_output
from fastnn.models.progress import Progress, check_batch_size, check_verbose

__all__ = ["Predictor"]

# rows per chunk of Sequential.forward: bounds the buffers of a large prediction
_FORWARD_ROWS = 4096


class Predictor:
    """What :class:`fastnn.Sequential` inherits to predict: the model supplies
    ``layers``, ``built``, ``input_dim``, ``n_outputs``, ``_check_x``,
    ``_require_built`` and the ``_inferences`` it keeps (one :class:`Inference` of
    the output, one of the logits)."""

    def predict(self, x, batch_size=None, verbose=0):
        """The network's output for ``x``, shape (n_samples, n_outputs).

        ``batch_size`` rows go through the network at a time (None: 32, as Keras);
        the output does not depend on it beyond float rounding. ``verbose``: 0 (the
        default, as Keras 1 and 2; Keras 3's is 'auto') silent, 1 or 'auto' a
        progress bar over the batches, 2 one line when done.

        Safe to call from several threads at once on one model (each thread binds the
        layers to its own buffers), though not while the model is being fitted.
        """
        batch_size = check_batch_size(batch_size)
        verbose = check_verbose(verbose)
        if not self.built and self.input_dim is None:
            self._require_built("predict")
        X = self._check_x(x)
        if not verbose:
            return check_finite_output(self.forward(X, batch_size=batch_size))
        with Progress(verbose, -(-X.shape[0] // batch_size), "predict") as progress:
            Y = check_finite_output(self.forward(X, batch_size=batch_size,
                                                 progress=progress.update))
            progress.done()
        return Y

    def predict_proba(self, x, batch_size=32, verbose=0):
        """:meth:`predict`, named as Keras 1's ``Sequential.predict_proba``: with its
        warning when an output is outside [0, 1] (the last layer is not a softmax
        or sigmoid).

        A Keras 1 name, kept by Keras 2 and removed in Keras 2.6 (TensorFlow 2.6):
        in Keras 3 write ``model.predict(x)``. Not scikit-learn's ``predict_proba``:
        a one-unit sigmoid gives one column, P(y = 1), not two. Keras 1.x defaulted
        to ``verbose=1``; fastnn to 0, as Keras 2.

        Examples
        --------
        >>> import numpy as np
        >>> from fastnn import Sequential
        >>> from fastnn.layers import Dense
        >>> model = Sequential([Dense(3, "softmax", input_dim=2)], seed=0)
        >>> model.predict_proba(np.ones((4, 2))).sum(axis=1)
        array([1., 1., 1., 1.])
        """
        proba = self.predict(x, batch_size, verbose)
        if proba.min() < 0.0 or proba.max() > 1.0:
            warnings.warn(
                "Network returning invalid probability values. The last layer might "
                "not normalize predictions into probabilities (like softmax or "
                "sigmoid would).", UserWarning, stacklevel=2,
            )
        return proba

    def predict_classes(self, x, batch_size=32, verbose=0):
        """The predicted class of each row, as Keras 1's
        ``Sequential.predict_classes``: the argmax of each output row when the
        network has several outputs, shape (n_samples,); for one output (a
        sigmoid) ``(proba > 0.5).astype('int32')``, which keeps Keras' shape
        (n_samples, 1).

        A Keras 1 name, kept by Keras 2 and removed in Keras 2.6 (TensorFlow 2.6):
        in Keras 3 write ``np.argmax(model.predict(x), axis=-1)`` (softmax) or
        ``(model.predict(x) > 0.5).astype("int32")`` (sigmoid). Keras 1.x
        defaulted to ``verbose=1``; fastnn to 0, as Keras 2.

        Examples
        --------
        >>> import numpy as np
        >>> from fastnn import Sequential
        >>> from fastnn.layers import Dense
        >>> model = Sequential([Dense(1, "sigmoid", input_dim=1, use_bias=False)])
        >>> model.set_weights([np.array([[1.0]])])
        >>> model.predict_classes(np.array([[-2.0], [3.0]]))
        array([[0],
               [1]], dtype=int32)
        """
        proba = self.predict(x, batch_size, verbose)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype(np.int32)

    def forward(self, X, logits=False, batch_size=_FORWARD_ROWS, progress=None):
        """The network's output for ``X`` as a new array, without :meth:`predict`'s
        input checks and conversion: ``X`` must be what predict makes of its ``x``, an
        ndarray of shape (n_samples, input_dim) in the model's dtype (the kernels
        still refuse any other with a ValueError). ``logits=True`` stops before a
        final activation layer (softmax, sigmoid...). The output is not checked for
        overflow (see :func:`fastnn.models.check_finite_output`).

        Safe from several threads at once, as :meth:`predict`; a one-row call
        reuses its thread's bound calls and allocates only its result.
        ``progress()``, if given, is called after each batch of ``batch_size`` rows.
        """
        inference = self._inference(logits)
        if not X.shape[0]:
            return np.empty((0, self.n_outputs), X.dtype)
        if X.shape[0] == 1:  # a served row: serial kernels, no OpenMP limit to set
            return inference(X, batch_size, progress)
        # NOTE: OpenMP's team spinning after an element-wise kernel steals the cores
        # BLAS's next GEMM needs: 10,000 rows of a digits MLP took 29 ms with both pools
        # on 2 cores, 3 ms with OpenMP held to this thread (as fit holds it).
        with training_threads():
            return inference(X, batch_size, progress)

    def serve(self, X, logits=False):
        """:meth:`forward` of the one row ``X`` (1, input_dim) with both ends tested:
        None if ``X`` is not finite (validate it to say why), check_finite_output's
        ValueError if the output is not. The one-row serving path of the estimators;
        its finiteness tests are bound calls on the binding's own buffers."""
        return self._inference(logits).serve(X)

    def _inference(self, logits):
        inference = self._inferences.get(logits)
        if inference is None:
            steps = [step for layer in self.layers for step in layer._steps()]
            if logits and steps[-1].activation is not None:
                steps = steps[:-1]
            inference = Inference([step.bind_forward for step in steps])
            self._inferences[logits] = inference
        return inference
