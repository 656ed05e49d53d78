"""Sphinx configuration of the sklearn-set documentation.

Build (from the repository root, warnings are errors):

    pip install ".[docs]" && sphinx-build -W -b html docs docs/_build/html
"""

import os
import sys
import warnings

sys.path.insert(0, os.path.abspath(".."))
# docs/_ext: the directive that shows the command line's --help
sys.path.insert(0, os.path.abspath("_ext"))

import sklearn_set  # noqa: E402

project = "sklearn-set"
author = "sklearn-set developers"
copyright = "2026, sklearn-set developers"
release = version = sklearn_set.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "cli_help",
]

templates_path = ["_templates"]
exclude_patterns = ["_build"]
autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# intersphinx needs the network; the docs must build offline, so references
# to scikit-learn, NumPy and SciPy objects stay plain text.
intersphinx_mapping = {}
nitpicky = False

html_theme = "alabaster"
html_static_path = []
html_title = f"sklearn-set {release}"

# Examples run during the build so the gallery shows real output.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "doc_module": ("sklearn_set",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"sklearn_set": None},
}


def _skip_metadata_request_setters(app, what, name, obj, skip, options):
    # scikit-learn generates set_*_request methods on every estimator; their
    # docstrings point into scikit-learn's own documentation.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_setters)

warnings.filterwarnings("ignore", category=UserWarning,
                        message="Matplotlib is currently using agg")
