"""Sphinx configuration for the treatplan documentation.

Build: ``python -m pip install -e '.[docs]'`` then
``sphinx-build -W --keep-going -b html docs docs/_build/html``.
Pages are Markdown (MyST); the lifecycle diagram (a static SVG, no JavaScript), the
transition table and the API reference are generated from the installed package at
build time. Nothing is fetched from the network, at build time or when reading:
the intersphinx inventories of Python and attrs ship in ``docs/_inventories``
(see ``docs/_inventories/README.md``), so cross-references to them resolve offline.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

from treatplan_docs import type_aliases

import treatplan

project = "treatplan"
author = "treatplan developers"
copyright = "2026, treatplan developers"
release = treatplan.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "treatplan_docs",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "_inventories", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# The JSON-value alias by its name, not its recursive expansion.
autodoc_type_aliases = {"JsonValue": "treatplan.document.JsonValue"}
add_module_names = False
# Signatures name a type alias (``Rule``) instead of spelling out its union.
autodoc_type_aliases = type_aliases()

# Links go to the published documentation; the inventories are read from the
# copies shipped beside this file, never downloaded, so the build works offline.
_INVENTORIES = Path(__file__).resolve().parent / "_inventories"
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", str(_INVENTORIES / "python.inv")),
    "attrs": ("https://www.attrs.org/en/stable", str(_INVENTORIES / "attrs.inv")),
}

# Every cross-reference must resolve: a name that does not exist fails the build (-W)
# instead of showing as unlinked code. Some names have no page to link to:
# hypothesis, pandas and polars (optional extras) publish no inventory that ships
# here (the build is offline), and type variables are not documented on their own.
nitpicky = True
nitpick_ignore = [
    ("py:class", "hypothesis.strategies.SearchStrategy"),
    ("py:class", "st.SearchStrategy"),
    ("py:class", "pandas.DataFrame"),
    ("py:class", "polars.DataFrame"),
    ("py:class", "treatplan._json.T"),
    # attrs documents its instance protocol under another name than the one the
    # signatures resolve to (attr.AttrsInstance).
    ("py:class", "attr.AttrsInstance"),
    ("py:class", "treatplan._json.Part"),
]

html_theme = "furo"
html_title = f"treatplan {release}"
html_static_path: list[str] = []
