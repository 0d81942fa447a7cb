"""Sphinx configuration of the physsamp documentation.

Build (strict: any warning, broken cross-reference or failing example fails the build)::

    uv run --group docs sphinx-build -W --keep-going -n -b html docs docs/_build/html
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "_ext"))  # physsamp_gallery, physsamp_api

# The examples run on the CPU inside the build; JAX would otherwise warn that no GPU is found.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
warnings.filterwarnings("ignore", "(?s).*ArviZ is undergoing a major refactor", FutureWarning)

import physsamp  # noqa: E402

project = "physsamp"
author = "the physsamp authors"
copyright = "the physsamp authors; Apache-2.0"
release = version = physsamp.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
    "physsamp_api",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "gallery/*.ipynb", "gallery/*.py", "gallery/*.zip"]
root_doc = "index"

html_theme = "furo"
html_title = f"physsamp {release}"

# -- MyST ------------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# -- autodoc, napoleon -----------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"show-inheritance": True}  # members are chosen page by page
autosummary_generate = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True
# names that annotations use through an import alias or a type alias
autodoc_type_aliases = {
    "pt.ParallelTemperingState": "physsamp.kernels.parallel_tempering.ParallelTemperingState",
}

# -- strictness ------------------------------------------------------------------------------
# Every cross-reference must resolve (-n). Names of other libraries cannot: their inventories
# would be fetched over the network (intersphinx), which a build here does not use. They are
# ignored by package, explicitly, and nothing of physsamp's own is.
nitpicky = True
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(jax|jaxlib|jaxtyping|numpyro|numpy|np|jnp|scipy|networkx|nx|arviz|az"
        r"|matplotlib|optax|xarray|sklearn)(\..*)?",
    ),
    (
        r"py:.*",
        r"(Array|ArrayLike|Float|Int|Int8|UInt32|Bool|Shaped|PRNGKeyArray|Figure|Axes"
        r"|InferenceData|Distribution|MCMCKernel|DataArray|Callable|Any|Iterator"
        r"|Sequence|Hashable|Mapping|Iterable|NamedTuple|PathLike|os\.PathLike)",
    ),
    # builtins and typing objects that Python's own documentation would resolve
    (r"py:.*", r"(typing|collections\.abc|os|pathlib|types)\..*"),
    (r"py:class", r"(optional|callable|array|array-like|numpy array|dict|tuple|list)"),
]

# -- the example gallery ---------------------------------------------------------------------
# The examples draw with physsamp.plots, which builds matplotlib Figure objects without pyplot,
# and they save each figure to the folder given by ``--out`` (so that they run the same from a
# shell). sphinx-gallery's own matplotlib scraper only sees figures that pyplot manages, and
# would show none of them; physsamp_gallery.saved_images instead shows, after each code block,
# the images the example has saved since the previous block, in the order they were written.
# physsamp_gallery.example_argv hands every example its own ``--out`` folder, and ``--quick``
# to the examples that have it, so that the whole build stays within a few minutes.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "gallery",
    "filename_pattern": r"\.py$",  # execute every example
    "ignore_pattern": r"[/\\]_[^/\\]*\.py$",  # a helper such as examples/_common.py is no example
    "image_scrapers": ("physsamp_gallery.saved_images",),
    "reset_argv": "physsamp_gallery.example_argv",
    "abort_on_example_error": True,  # a failing example stops the build at once
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "min_reported_time": 0,
    "show_memory": False,
    "backreferences_dir": None,
    "capture_repr": ("_repr_html_", "__repr__"),
    "matplotlib_animations": False,
    "write_computation_times": True,
}
# The two AIS modules (physsamp.kernels.ais, physsamp.infer.ais) each define the references
# they cite (Neal 2001, Salakhutdinov & Murray 2008, Grosse et al. 2015) so that help() shows
# them with the module; Sphinx keeps one target per label and would warn about the other.
suppress_warnings = ["ref.citation"]
