"""Sphinx configuration of fastnn's documentation site.

Built from the checkout's root with fastnn installed (the API reference and the
gallery import its compiled kernels), warnings as errors:

    pip install ".[docs]" && sphinx-build -W --keep-going -b html docs docs/_build/html

The guides stay Markdown, read by MyST, so that they read on GitHub too. The API
reference (api/) is generated from the numpydoc docstrings; the example gallery
(auto_examples/) from examples/plot_*.py, which run at build time.
"""

import re
import sys
from pathlib import Path

import fastnn

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY / "docs" / "sphinxext"))

project = "fastnn"
author = "the fastnn developers"
copyright = "the fastnn developers, BSD-3-Clause"
release = version = fastnn.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "api/generated/backreferences"]

# -- the guides: Markdown ----------------------------------------------------------
# "[text](page.md#a-heading)" links need the headings' slugs, as GitHub makes them.
myst_heading_anchors = 3
# Links from a guide to the repository's Markdown files outside docs/ (../README.md,
# ../benchmarks/README.md) work on GitHub; the site has no such pages, so MyST renders
# them as their plain text. Its warning is silenced for those files only (MyST names
# them by absolute path, without the suffix): a link to a file that does not exist
# still fails the build.
nitpick_ignore = [
    ("myst", str(path.with_suffix("")))
    for path in [*REPOSITORY.glob("*.md"), *REPOSITORY.glob("*/*.md")]
    if path.parent.name != "docs"
]

# -- the API reference -------------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"  # the docstrings give the types, numpydoc style
# The class template (_templates/autosummary/class.rst) documents the methods;
# numpydoc's own list would repeat them, with scikit-learn's inherited ones.
numpydoc_show_class_members = False

# -- the example gallery -----------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # run every plot_*.py: each draws its figures
    "within_subsection_order": "gallery_order.LectureOrder",
    "minigallery_sort_order": "gallery_order.lecture_key",
    # which examples use each fastnn name, for the "Gallery examples" of its API page
    "doc_module": ("fastnn",),
    "backreferences_dir": "api/generated/backreferences",
    "download_all_examples": False,
    "write_computation_times": False,  # no sg_execution_times.rst pages
}

# -- the site ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"fastnn {release}"
html_theme_options = {
    # The navigation is the sidebar's, every page's table of contents with its
    # captions (_templates/sidebar-nav-full.html): the guides are one flat level,
    # and a navbar of their fourteen titles would not fit.
    "navbar_center": [],
    "show_toc_level": 2,
    # an example's code and figures take the page's width (pages named one by one:
    # two wildcard patterns matching a page are an error)
    "secondary_sidebar_items": {
        "**": ["page-toc"],
        **{f"auto_examples/{path.stem}": []
           for path in (REPOSITORY / "examples").glob("plot_*.py")},
    },
    "footer_start": ["copyright"],
    "footer_center": ["sphinx-version"],
    "footer_end": ["theme-version"],
}
html_sidebars = {"**": ["sidebar-nav-full"]}
html_show_sourcelink = False


def skip_metadata_routing(app, what, name, obj, skip, options):
    """Leave out the set_{fit,score,...}_request methods that scikit-learn gives every
    estimator class (its metadata routing, whose docstrings point into scikit-learn's
    own glossary)."""
    if re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", skip_metadata_routing)
