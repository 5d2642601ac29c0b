"""The example gallery in the lecture's order, for sphinx-gallery (named in conf.py by
import path, so that Sphinx can cache the configuration). Examples not listed follow,
by file name."""

from pathlib import PurePath

LECTURE_ORDER = [
    "plot_lecture_three_points.py",  # the sigmoid neuron and its line P = 1/2
    "plot_one_vs_all.py",            # 1 vs All
    "plot_activations.py",           # more activation functions
    "plot_mlp_curves.py",            # a network, trained
    "plot_text_classification.py",   # on sparse text features
    "plot_benchmark.py",             # and how fast
]


def lecture_key(path):
    """The sort key of an example's file name or path (``minigallery_sort_order``)."""
    name = PurePath(path).name
    if name in LECTURE_ORDER:
        return (LECTURE_ORDER.index(name), name)
    return (len(LECTURE_ORDER), name)


class LectureOrder:
    """The gallery's ``within_subsection_order``: a class given the examples' folder."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        return lecture_key(filename)
