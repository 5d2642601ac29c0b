"""Training plots for the command line: the loss curve (with the validation score when
there is one) beside the confusion matrix, drawn with matplotlib's Agg renderer.

matplotlib is an optional extra (``pip install "fastnn[plot]"``); it is imported only
when a plot is drawn, and without pyplot, so no global backend is chosen.
"""

import numpy as np

__all__ = ["INSTALL_HINT", "require_matplotlib", "save_training_plot"]

INSTALL_HINT = 'plotting needs matplotlib: pip install "fastnn[plot]"'


def require_matplotlib():
    """Raise ``ImportError`` with the install hint when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(INSTALL_HINT) from None


def save_training_plot(path, curves, curve_label, confusion, labels,
                       validation_scores=None, title=""):
    """Write a PNG (or any format matplotlib infers from ``path``).

    ``curves`` is a list of loss curves (one per binary classifier for one-vs-all),
    ``confusion`` the (n_classes, n_classes) count matrix, rows true and columns
    predicted, ``labels`` its class names.
    """
    require_matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    confusion = np.asarray(confusion)
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    loss_axes, matrix_axes = figure.subplots(1, 2)
    for curve in curves:
        loss_axes.plot(np.arange(1, len(curve) + 1), curve, linewidth=1.2)
    loss_axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    loss_axes.set_xlabel("epoch" if curve_label == "loss" else "iteration")
    loss_axes.set_ylabel(curve_label)
    loss_axes.set_title("training " + curve_label + (
        f" ({len(curves)} binary classifiers)" if len(curves) > 1 else ""))
    if validation_scores:
        score_axes = loss_axes.twinx()
        score_axes.plot(np.arange(1, len(validation_scores) + 1), validation_scores,
                        color="tab:orange", linewidth=1.2)
        score_axes.set_ylabel("validation accuracy", color="tab:orange")
    image = matrix_axes.imshow(confusion, cmap="Blues")
    figure.colorbar(image, ax=matrix_axes, shrink=0.8)
    ticks = np.arange(len(labels))
    matrix_axes.set_xticks(ticks, [str(label) for label in labels], rotation=45,
                           ha="right")
    matrix_axes.set_yticks(ticks, [str(label) for label in labels])
    matrix_axes.set_xlabel("predicted")
    matrix_axes.set_ylabel("true")
    matrix_axes.set_title("confusion matrix")
    if len(labels) <= 20:
        threshold = confusion.max() / 2 if confusion.size else 0
        for (i, j), count in np.ndenumerate(confusion):
            matrix_axes.text(j, i, str(count), ha="center", va="center", fontsize=8,
                             color="white" if count > threshold else "black")
    if title:
        figure.suptitle(title)
    figure.savefig(path, dpi=100)
