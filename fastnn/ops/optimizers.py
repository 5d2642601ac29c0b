"""The optimizers' in-place updates (SGD, momentum, Adam, RMSprop, Adagrad, Adadelta,
Adamax, Nadam), the per-step scalars their rates need, the L2 penalty, and the sum of
squares of a weight vector (a training loop's finiteness test)."""

import math

import numpy as np

from fastnn.ops._bind import bindable, recorded_calls, run_kernel
from fastnn.ops._kernel_args import NO_STATE, flat
from fastnn.ops._loader import blas_kernels, optimizer_kernels
from fastnn.ops.checks import (
    check_float,
    check_like,
    check_scalar,
    check_writeable,
    fit_dtype,
    may_overlap,
)


def _check_params(W, G, **state):
    """Parameter, gradient and optimizer state: one dtype and shape, no two overlapping."""
    check_float("W", W)
    check_like("W", W, G=G, **state)
    arrays = {"W": W, "G": G, **state}
    for name in ("W", *state):
        check_writeable(name, arrays[name])
    names = list(arrays)
    for i, name in enumerate(names):
        for other in names[i + 1:]:
            if may_overlap(arrays[name], arrays[other]):
                raise ValueError(f"{name} overlaps {other}; pass separate arrays")


@bindable
def sgd_update(W, G, learning_rate, l2=0.0):
    """In place: W -= learning_rate * (G + l2 * W)."""
    _check_params(W, G)
    lr = check_scalar("learning_rate", learning_rate, low=0.0)
    l2 = check_scalar("l2", l2, low=0.0)
    fit_dtype(W.dtype, learning_rate=lr, l2=l2)
    run_kernel(optimizer_kernels.sgd_update, flat(W), flat(G), lr, l2)


@bindable
def momentum_update(W, G, V, learning_rate, momentum, nesterov=False, l2=0.0):
    """In place, with g = G + l2 * W: V = momentum * V - learning_rate * g, then
    W += V, or with ``nesterov`` W += momentum * V - learning_rate * g (Keras' form)."""
    _check_params(W, G, V=V)
    lr = check_scalar("learning_rate", learning_rate, low=0.0)
    mu = check_scalar("momentum", momentum, low=0.0, high=1.0)
    l2 = check_scalar("l2", l2, low=0.0)
    fit_dtype(W.dtype, learning_rate=lr, l2=l2)
    run_kernel(
        optimizer_kernels.momentum_update, flat(W), flat(G), flat(V), lr, mu,
        bool(nesterov), l2,
    )


@bindable
def adam_update(
    W, G, M, S, learning_rate, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7, l2=0.0
):
    """In place Adam step number ``t`` (1 for the first update), with g = G + l2 * W:
    M = beta_1 M + (1 - beta_1) g; S = beta_2 S + (1 - beta_2) g**2;
    W -= lr_t M / (sqrt(S) + epsilon), lr_t = lr sqrt(1 - beta_2**t) / (1 - beta_1**t)."""
    _check_params(W, G, M=M, S=S)
    lr = check_scalar("learning_rate", learning_rate, low=0.0)
    beta_1 = check_scalar("beta_1", beta_1, low=0.0, high=1.0)
    beta_2 = check_scalar("beta_2", beta_2, low=0.0, high=1.0)
    if beta_1 == 1.0 or beta_2 == 1.0:
        raise ValueError("beta_1 and beta_2 must be below 1")
    epsilon = check_scalar("epsilon", epsilon, low=0.0, low_open=True)
    l2 = check_scalar("l2", l2, low=0.0)
    lr_t = adam_step_size(lr, _check_step(t), beta_1, beta_2)
    fit_dtype(W.dtype, learning_rate=lr_t, epsilon=epsilon, l2=l2)
    run_kernel(
        optimizer_kernels.adam_update,
        flat(W), flat(G), flat(M), flat(S), lr_t, beta_1, beta_2, epsilon, l2,
    )


def _check_step(t):
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)) or t < 1:
        raise ValueError(f"t must be an int >= 1 (the update count), got {t!r}")
    return int(t)


def check_decay_rate(name, value):
    """A running average's decay rate (rho, beta_1, beta_2): in [0, 1)."""
    value = check_scalar(name, value, low=0.0, high=1.0)
    if value == 1.0:
        raise ValueError(f"{name} must be below 1, got 1.0")
    return value


def check_epsilon(epsilon):
    """A divisor's guard: a finite float > 0."""
    return check_scalar("epsilon", epsilon, low=0.0, low_open=True)


@bindable
def rmsprop_update(W, G, S, learning_rate, rho=0.9, epsilon=1e-7, l2=0.0,
                   momentum=0.0, centered=False, A=None, B=None):
    """In place RMSprop step (torch.optim.RMSprop's), with g = G + l2 * W:
    S = rho S + (1 - rho) g**2; W -= learning_rate g / (sqrt(S) + epsilon).

    ``centered`` (with ``A``, the running average of g): A = rho A + (1 - rho) g,
    and sqrt(S - A**2) in place of sqrt(S). With ``B``, the momentum buffer:
    B = momentum B + g / (sqrt(...) + epsilon); W -= learning_rate B."""
    state = {"S": S}
    if not isinstance(centered, (bool, np.bool_)):
        raise TypeError(f"centered must be a bool, got {centered!r}")
    if centered:
        if A is None:
            raise ValueError("centered needs A, the running average of g")
        state["A"] = A
    elif A is not None:
        raise ValueError("A is the centered average: pass centered=True with it")
    if B is not None:
        state["B"] = B
    _check_params(W, G, **state)
    lr = check_scalar("learning_rate", learning_rate, low=0.0)
    rho = check_decay_rate("rho", rho)
    epsilon = check_epsilon(epsilon)
    l2 = check_scalar("l2", l2, low=0.0)
    momentum = check_scalar("momentum", momentum, low=0.0, high=1.0)
    if momentum and B is None:
        raise ValueError("momentum needs B, the momentum buffer")
    fit_dtype(W.dtype, learning_rate=lr, epsilon=epsilon, l2=l2)
    none = NO_STATE[W.dtype]
    run_kernel(optimizer_kernels.rmsprop_update, flat(W), flat(G), flat(S),
               flat(A) if centered else none, none if B is None else flat(B),
               lr, rho, epsilon, momentum, l2, bool(centered), B is not None)


@bindable
def adagrad_update(W, G, S, learning_rate, epsilon=1e-7, l2=0.0):
    """In place Adagrad step (torch.optim.Adagrad's), with g = G + l2 * W:
    S += g**2; W -= learning_rate g / (sqrt(S) + epsilon)."""
    _check_params(W, G, S=S)
    lr = check_scalar("learning_rate", learning_rate, low=0.0)
    epsilon = check_epsilon(epsilon)
    l2 = check_scalar("l2", l2, low=0.0)
    fit_dtype(W.dtype, learning_rate=lr, epsilon=epsilon, l2=l2)
    run_kernel(optimizer_kernels.adagrad_update, flat(W), flat(G), flat(S),
               lr, epsilon, l2)


@bindable
def adadelta_update(W, G, S, D, learning_rate, rho=0.95, epsilon=1e-7, l2=0.0):
    """In place Adadelta step (torch.optim.Adadelta's), with g = G + l2 * W:
    S = rho S + (1 - rho) g**2; d = sqrt(D + epsilon) / sqrt(S + epsilon) g;
    D = rho D + (1 - rho) d**2; W -= learning_rate d."""
    _check_params(W, G, S=S, D=D)
    lr = check_scalar("learning_rate", learning_rate, low=0.0)
    rho = check_decay_rate("rho", rho)
    epsilon = check_epsilon(epsilon)
    l2 = check_scalar("l2", l2, low=0.0)
    fit_dtype(W.dtype, learning_rate=lr, epsilon=epsilon, l2=l2)
    run_kernel(optimizer_kernels.adadelta_update, flat(W), flat(G), flat(S), flat(D),
               lr, rho, epsilon, l2)


@bindable
def adamax_update(
    W, G, M, U, learning_rate, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7, l2=0.0
):
    """In place Adamax step number ``t`` (torch.optim.Adamax's), with g = G + l2 * W:
    M = beta_1 M + (1 - beta_1) g; U = max(beta_2 U, abs(g) + epsilon);
    W -= learning_rate / (1 - beta_1**t) M / U."""
    _check_params(W, G, M=M, U=U)
    lr = check_scalar("learning_rate", learning_rate, low=0.0)
    beta_1 = check_decay_rate("beta_1", beta_1)
    beta_2 = check_decay_rate("beta_2", beta_2)
    epsilon = check_epsilon(epsilon)
    l2 = check_scalar("l2", l2, low=0.0)
    lr_t = adamax_step_size(lr, _check_step(t), beta_1)
    fit_dtype(W.dtype, learning_rate=lr_t, epsilon=epsilon, l2=l2)
    run_kernel(optimizer_kernels.adamax_update, flat(W), flat(G), flat(M), flat(U),
               lr_t, beta_1, beta_2, epsilon, l2)


@bindable
def nadam_update(
    W, G, M, S, learning_rate, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
    schedule_decay=0.004, l2=0.0, mu_product=None,
):
    """In place Nadam step number ``t`` (torch.optim.NAdam's), with g = G + l2 * W and
    the momentum schedule mu_t = beta_1 (1 - 0.5 * 0.96**(t schedule_decay)):
    M = beta_1 M + (1 - beta_1) g; S = beta_2 S + (1 - beta_2) g**2;
    W -= learning_rate ((1 - mu_t) g / (1 - P_t) + mu_{t+1} M / (1 - P_t mu_{t+1}))
    / (sqrt(S / (1 - beta_2**t)) + epsilon), with P_t = mu_1 ... mu_t, the
    ``mu_product`` (None: computed here, in O(t))."""
    _check_params(W, G, M=M, S=S)
    lr = check_scalar("learning_rate", learning_rate, low=0.0)
    beta_1 = check_decay_rate("beta_1", beta_1)
    beta_2 = check_decay_rate("beta_2", beta_2)
    epsilon = check_epsilon(epsilon)
    schedule_decay = check_scalar("schedule_decay", schedule_decay, low=0.0)
    l2 = check_scalar("l2", l2, low=0.0)
    t = _check_step(t)
    if mu_product is None:
        mu_product = nadam_mu_product(t, beta_1, schedule_decay)
    else:
        mu_product = check_decay_rate("mu_product", mu_product)
    rate_g, rate_m, epsilon_t = nadam_step_scalars(
        lr, t, mu_product, beta_1, beta_2, epsilon, schedule_decay
    )
    fit_dtype(W.dtype, rate_g=rate_g, rate_m=rate_m, epsilon=epsilon, l2=l2)
    run_kernel(optimizer_kernels.nadam_update, flat(W), flat(G), flat(M), flat(S),
               rate_g, rate_m, epsilon_t, beta_1, beta_2, l2)


def adamax_step_size(learning_rate, t, beta_1):
    """Adamax's rate for step ``t`` (from 1): lr / (1 - beta_1**t), M's bias correction
    (torch.optim.Adamax's clr)."""
    return learning_rate / (1.0 - beta_1**t)


def nadam_momentum(t, beta_1, schedule_decay):
    """Nadam's momentum mu_t = beta_1 (1 - 0.5 * 0.96**(t schedule_decay)) (Dozat;
    Keras 1 and torch.optim.NAdam)."""
    return beta_1 * (1.0 - 0.5 * 0.96 ** (t * schedule_decay))


def nadam_mu_product(t, beta_1, schedule_decay, start=(0, 1.0)):
    """mu_1 ... mu_t, multiplied in order from ``start``, a (step, product) pair
    already known (by default (0, 1.0)), as torch.optim.NAdam keeps it."""
    done, product = start
    for step in range(done + 1, t + 1):
        product *= nadam_momentum(step, beta_1, schedule_decay)
    return product


def nadam_step_scalars(learning_rate, t, mu_product, beta_1, beta_2, epsilon,
                       schedule_decay):
    """The three per-step scalars of the Nadam kernel at step ``t``, with
    ``mu_product`` = mu_1 ... mu_t: (rate_g, rate_m, epsilon_t)."""
    mu = nadam_momentum(t, beta_1, schedule_decay)
    mu_next = nadam_momentum(t + 1, beta_1, schedule_decay)
    # NOTE: torch.optim.NAdam's two rates, each times sqrt(1 - beta_2**t), and epsilon
    # too: the kernel divides by sqrt(S) + epsilon_t, not sqrt(S / (1 - beta_2**t))
    # + epsilon (the same step; one division per weight).
    root = math.sqrt(1.0 - beta_2**t)
    rate_g = learning_rate * (1.0 - mu) / (1.0 - mu_product)
    rate_m = learning_rate * mu_next / (1.0 - mu_product * mu_next)
    return rate_g * root, rate_m * root, epsilon * root


def adam_step_size(learning_rate, t, beta_1, beta_2):
    """Adam's rate for step ``t`` (from 1): lr sqrt(1 - beta_2**t) / (1 - beta_1**t)."""
    # NOTE: the bias corrections of M and S fold into one step size (Kingma & Ba, sec. 2).
    return learning_rate * math.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)


@bindable
def axpy(x, y, alpha):
    """In place: y += alpha * x, through BLAS, for C-contiguous, aligned, non-empty
    float arrays of one dtype and shape that do not overlap: the L2 term's update of
    a gradient as a training loop binds it (:func:`l2_penalty` is two kernels)."""
    check_float("x", x)
    check_like("x", x, y=y)
    check_writeable("y", y)
    if may_overlap(x, y):
        raise ValueError("y overlaps x; pass separate arrays")
    if x.size == 0 or not (x.flags.aligned and y.flags.aligned):
        raise ValueError("axpy takes non-empty, aligned arrays")
    alpha = check_scalar("alpha", alpha)
    fit_dtype(x.dtype, alpha=alpha)
    run_kernel(blas_kernels.axpy, flat(x), flat(y), alpha)



def l2_penalty(W, dW, l2, scale=1.0):
    """In place: dW += scale * l2 * W; returns l2 * sum(W**2), of W before the update.

    The L2 term of a weight matrix (scikit-learn's ``alpha``), through OpenBLAS
    (axpy and dot). ``W`` and ``dW`` are C-contiguous arrays of one dtype and shape.
    """
    check_float("W", W)
    check_like("W", W, dW=dW)
    check_writeable("dW", dW)
    if may_overlap(W, dW):
        raise ValueError("dW overlaps W; pass separate arrays")
    l2 = check_scalar("l2", l2, low=0.0)
    scale = check_scalar("scale", scale)
    fit_dtype(W.dtype, **{"l2 * scale": l2 * scale})
    if W.size == 0:
        return 0.0
    w, dw = flat(W), flat(dW)
    if not (W.flags.aligned and dW.flags.aligned):
        # NOTE: BLAS may load a misaligned float with an aligned vector load; a
        # misaligned array (a view at an odd byte offset) takes NumPy's path.
        with np.errstate(over="ignore", invalid="ignore"):
            penalty = l2 * float(np.dot(w, w)) if l2 else 0.0
            dw += W.dtype.type(l2 * scale) * w
        return penalty
    # 0, not 0 * inf, when W**2 overflows and l2 is 0
    penalty = l2 * blas_kernels.sum_of_squares(w) if l2 else 0.0
    blas_kernels.axpy(w, dw, l2 * scale)
    return penalty


@bindable
def sum_of_squares(v):
    """sum(v**2) of a 1-D float vector, as a float, through BLAS's dot (no temporary,
    no warning): NaN if ``v`` holds NaN, inf if it holds inf or the sum overflows.

    A training loop's cheap finiteness test: a sum of squares is finite only if every
    term is (about 1 us for 10,000 weights, against about 10 us for ``isfinite``).

    Bound (:func:`bind`), ``run()`` returns the sum: about 0.5 us, a third of the
    checked call.

    >>> sum_of_squares(np.array([3.0, 4.0]))
    25.0
    """
    check_float("v", v, ndim=1)
    calls = recorded_calls()
    if not v.shape[0]:  # a model without weights has an empty vector
        kernel, args = _zero, ()
    elif not v.flags.aligned:  # see l2_penalty
        kernel, args = _misaligned_sum_of_squares, (v,)
    else:
        kernel, args = blas_kernels.sum_of_squares, (v,)
    if calls is not None:  # inside bind(): run() returns the sum
        calls.append((kernel, args))
        return None
    return float(kernel(*args))


def _misaligned_sum_of_squares(v):
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.dot(v, v))


def _zero():
    return 0.0
