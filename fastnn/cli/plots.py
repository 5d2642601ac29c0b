"""Training plots for the command line: the loss curve (with the validation score when
there is one) beside the confusion matrix, drawn with matplotlib's Agg renderer.

matplotlib is optional (``pip install matplotlib``); it is imported only when a plot
is drawn, and without pyplot, so no global backend is chosen.
"""

import os

import numpy as np

__all__ = ["INSTALL_HINT", "check_format", "plot_file", "require_matplotlib",
           "save_training_plot"]

# NOTE: the hint names matplotlib, not fastnn's "plot" extra: "fastnn" on PyPI is another project.
INSTALL_HINT = "plotting needs matplotlib: pip install matplotlib"
DPI = 150  # with FIGSIZE: 1650 x 720 pixels, sharp on a laptop screen
FIGSIZE = (11, 4.8)


def require_matplotlib():
    """Raise ``ImportError`` with the install hint when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401 (only: is it there)
    except ImportError:
        raise ImportError(INSTALL_HINT) from None


def plot_file(path):
    """The file a plot saved to ``path`` lands in: ``path`` itself, or ``path.png``
    when it has no extension (as matplotlib's ``savefig`` does)."""
    path = os.fspath(path)
    return path if os.path.splitext(path)[1][1:] else path + ".png"


def check_format(path):
    """``ValueError`` if matplotlib cannot write ``path``'s extension;
    ``ImportError`` without matplotlib."""
    require_matplotlib()
    from matplotlib.backend_bases import FigureCanvasBase

    extension = os.path.splitext(plot_file(path))[1][1:].lower()
    formats = FigureCanvasBase.get_supported_filetypes()
    if extension not in formats:
        raise ValueError(f"matplotlib cannot write .{extension} files; use one of "
                         + ", ".join(f".{name}" for name in sorted(formats)))


def save_training_plot(path, curves, curve_label, confusion, labels,
                       validation_scores=None, title="", curve_names=None,
                       accuracy=None):
    """Write the figure to ``plot_file(path)`` and return that file name.

    ``curves`` is a list of loss curves (one per binary classifier for one-vs-all,
    named in the legend by ``curve_names``), ``confusion`` the (n_classes, n_classes)
    count matrix, rows true and columns predicted, ``labels`` its class names, and
    ``accuracy`` a (rows, value) pair such as ("test", 0.975) for the title.
    """
    path = plot_file(path)
    check_format(path)
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    confusion = np.asarray(confusion)
    figure = Figure(figsize=FIGSIZE, layout="constrained")
    loss_axes, matrix_axes = figure.subplots(1, 2)
    for k, curve in enumerate(curves):
        name = curve_names[k] if curve_names and k < len(curve_names) else None
        loss_axes.plot(np.arange(1, len(curve) + 1), curve, linewidth=1.5, label=name)
    if curve_names and len(curves) > 1:
        loss_axes.legend(title="class against the rest", fontsize="small")
    loss_axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    loss_axes.set_xlabel("epoch" if curve_label == "loss" else "iteration")
    loss_axes.set_ylabel(curve_label)
    loss_axes.set_title("training " + curve_label + (
        f" ({len(curves)} binary classifiers)" if len(curves) > 1 else ""))
    loss_axes.grid(alpha=0.3)
    if validation_scores:
        score_axes = loss_axes.twinx()
        score_axes.plot(np.arange(1, len(validation_scores) + 1), validation_scores,
                        color="tab:orange", linewidth=1.5)
        score_axes.set_ylabel("validation accuracy", color="tab:orange")
    _draw_confusion(figure, matrix_axes, confusion, labels,
                    accuracy[0] if accuracy else None)
    if accuracy:
        title = f"{title}: {accuracy[0]} accuracy {accuracy[1]:.4f}".lstrip(": ")
    if title:
        figure.suptitle(title, fontsize="x-large")
    figure.savefig(path, dpi=DPI)
    return path


def _draw_confusion(figure, axes, confusion, labels, rows):
    image = axes.imshow(confusion, cmap="Blues")
    figure.colorbar(image, ax=axes, shrink=0.8)
    ticks = np.arange(len(labels))
    rotate = max((len(str(label)) for label in labels), default=0) > 3
    axes.set_xticks(ticks, [str(label) for label in labels],
                    rotation=45 if rotate else 0, ha="right" if rotate else "center")
    axes.set_yticks(ticks, [str(label) for label in labels])
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title("confusion matrix" + (f" ({rows} rows)" if rows else ""))
    if len(labels) <= 20:
        # NOTE: the cell numbers shrink as the cells do: 13 pt for up to 5 classes,
        # 10 pt for 10, 7 pt for 20.
        size = max(7.0, min(13.0, 16 - 0.6 * len(labels)))
        threshold = confusion.max() / 2 if confusion.size else 0
        for (i, j), count in np.ndenumerate(confusion):
            axes.text(j, i, str(count), ha="center", va="center", fontsize=size,
                      color="white" if count > threshold else "black")
