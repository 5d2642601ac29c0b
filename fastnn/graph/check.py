"""gradient_check: any gate, graph or layer's backward against central finite
differences, in float64."""

import inspect

import numpy as np

from fastnn.graph.computational_graph import ComputationalGraph
from fastnn.graph.gates import gradients_of


def gradient_check(obj, *inputs, eps=1e-6, rtol=1e-5, atol=1e-8, dout=None, seed=0):
    """Compare ``obj``'s backward with central finite differences, in float64.

    The scalar checked is ``sum(forward(...) * dout)``, with ``dout`` standard
    normal (seeded) unless given. ``obj`` is one of

    - a :class:`ComputationalGraph`: ``gradient_check(graph, {"x": 1.0, ...})``;
    - a layer, any object whose ``forward`` takes a ``training`` argument:
      ``forward(X, training=False) -> Y``, ``backward(dY) -> dX``, and optionally
      ``params`` (arrays, float64, perturbed in place) with ``grads`` of the same
      shapes filled by backward. ``gradient_check(layer, X)`` checks dX and grads;
    - anything else is a gate: ``gradient_check(gate, x, y)``.

    Keep inputs away from kinks (ReLU at 0, MaxGate at ties): there the two
    one-sided derivatives differ and finite differences measure neither.

    Returns
    -------
    float
        The largest relative error ``|a - n| / max(|a|, |n|, atol)``, analytic a
        against numerical n.

    Raises
    ------
    AssertionError
        If some gradient misses ``|a - n| <= atol + rtol * |n|``, naming which.

    Examples
    --------
    >>> from fastnn.graph import SigmoidGate
    >>> gradient_check(SigmoidGate(), np.array([-3.0, 0.5, 4.0])) < 1e-8
    True
    """
    if isinstance(obj, ComputationalGraph):
        (values,) = inputs
        labels = list(values)
        variables = [np.array(values[name], dtype=np.float64) for name in labels]

        def run():
            return obj.forward(dict(zip(labels, variables)))

        def backward(douts):
            gradients = obj.backward(douts)
            return [gradients[name] for name in labels]

    elif "training" in inspect.signature(obj.forward).parameters:
        (X,) = inputs
        params = list(getattr(obj, "params", []))
        for i, param in enumerate(params):
            if not (isinstance(param, np.ndarray) and param.dtype == np.float64):
                raise ValueError(f"params[{i}] must be a float64 array: it is "
                                 f"perturbed in place, and float32 is too coarse")
        variables = [np.array(X, dtype=np.float64), *params]
        labels = ["dX"] + [f"grads[{i}]" for i in range(len(params))]

        def run():
            return obj.forward(variables[0], training=False)

        def backward(douts):
            dX, grads = obj.backward(douts), list(getattr(obj, "grads", []))
            if [np.shape(g) for g in grads] != [p.shape for p in params]:
                raise ValueError(f"grads have shapes {[np.shape(g) for g in grads]}, "
                                 f"params {[p.shape for p in params]}")
            return [dX, *grads]

    else:
        variables = [np.array(x, dtype=np.float64) for x in inputs]
        labels = [f"input {i}" for i in range(len(variables))]

        def run():
            return obj.forward(*variables)

        def backward(douts):
            return list(gradients_of(obj, douts))

    shape = np.shape(run())
    douts = (np.random.default_rng(seed).standard_normal(shape) if dout is None
             else np.array(np.broadcast_to(np.asarray(dout, np.float64), shape)))
    # Copies: a layer may overwrite its grads in place on a later call.
    analytic = [np.array(grad, dtype=np.float64) for grad in backward(douts)]
    if len(analytic) != len(variables):
        raise AssertionError(f"gradient_check: backward returned {len(analytic)} "
                             f"gradients for {len(variables)} inputs")

    def objective():
        return float(np.sum(run() * douts))

    worst = 0.0
    for label, variable, grad in zip(labels, variables, analytic):
        numerical = np.zeros(variable.shape)
        for index in np.ndindex(variable.shape):
            original = variable[index]
            variable[index] = original + eps
            f_plus = objective()
            variable[index] = original - eps
            f_minus = objective()
            variable[index] = original
            numerical[index] = (f_plus - f_minus) / (2 * eps)
        if grad.shape != numerical.shape:
            raise AssertionError(f"gradient_check: {label} has shape {grad.shape}, "
                                 f"its input has shape {numerical.shape}")
        error = np.abs(grad - numerical)
        scale = np.maximum(np.maximum(np.abs(grad), np.abs(numerical)), atol)
        worst = max(worst, float(np.max(error / scale, initial=0.0)))
        excess = error - (atol + rtol * np.abs(numerical))
        if np.any(excess > 0):
            at = np.unravel_index(np.argmax(excess), excess.shape)
            raise AssertionError(
                f"gradient_check: {label} is wrong at index {at}: backward gives "
                f"{grad[at]:.6g}, finite differences {numerical[at]:.6g} "
                f"(rtol={rtol}, atol={atol})")
    run()  # leave obj holding the forward of the inputs as given
    return worst
