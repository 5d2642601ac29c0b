"""``python -m fastnn``: train a softmax classifier on scikit-learn's digits with the kernels.

A first look at the engine until the command-line tool lands: mini-batch SGD with
Nesterov momentum, each step one dense GEMM, one fused softmax cross-entropy, one
backward GEMM and two in-place updates, all through :mod:`fastnn.ops`.
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from fastnn import ops


def train_softmax_regression(X, y, n_classes, epochs, batch_size, learning_rate, seed):
    """Weights (W, b) of a softmax regression fitted by mini-batch SGD + momentum."""
    rng = np.random.default_rng(seed)
    n_samples, n_features = X.shape
    dtype = X.dtype
    W = np.zeros((n_features, n_classes), dtype)
    b = np.zeros(n_classes, dtype)
    W_velocity, b_velocity = np.zeros_like(W), np.zeros_like(b)
    for epoch in range(epochs):
        order = rng.permutation(n_samples)
        total_loss = 0.0
        for start in range(0, n_samples, batch_size):
            batch = order[start:start + batch_size]
            X_batch, y_batch = X[batch], y[batch]
            logits = ops.dense_forward(X_batch, W, b)
            loss, dlogits = ops.softmax_cross_entropy(
                logits, y_batch, scale=1.0 / len(batch), grad_out=logits
            )
            total_loss += float(loss.sum())
            dW, db, _ = ops.dense_backward(X_batch, W, dlogits, with_dX=False)
            ops.momentum_update(W, dW, W_velocity, learning_rate, 0.9, nesterov=True)
            ops.momentum_update(b, db, b_velocity, learning_rate, 0.9, nesterov=True)
        yield epoch, total_loss / n_samples, W, b


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastnn", description=__doc__)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.intp)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=args.seed, stratify=y
    )
    print(f"fastnn demo: softmax regression on digits, {X_train.shape[0]} train / "
          f"{X_test.shape[0]} test samples, kernels: {ops.SIMD}")
    start = time.perf_counter()
    for epoch, loss, W, b in train_softmax_regression(
        X_train, y_train, 10, args.epochs, args.batch_size, args.learning_rate, args.seed
    ):
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            print(f"epoch {epoch + 1:3d}  loss {loss:.4f}")
    elapsed = time.perf_counter() - start
    accuracy = np.mean(ops.dense_forward(X_test, W, b).argmax(axis=1) == y_test)
    print(f"test accuracy {accuracy:.3f}  ({elapsed * 1000:.0f} ms for {args.epochs} epochs)")


if __name__ == "__main__":
    main()
