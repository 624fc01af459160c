"""Sphinx configuration for the treatplan documentation.

Build: ``python -m pip install -e '.[docs]'`` then
``sphinx-build -W --keep-going -b html docs docs/_build/html``.
Pages are Markdown (MyST); the lifecycle diagram (a static SVG, no JavaScript), the
transition table and the API reference are generated from the installed package at
build time. Nothing is fetched from the network, at build time or when reading.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

import treatplan

project = "treatplan"
author = "treatplan developers"
copyright = "2026, treatplan developers"
release = treatplan.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "treatplan_docs",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
add_module_names = False

html_theme = "alabaster"
# Wide enough for code lines of up to 99 characters (the project's line length).
html_theme_options = {"page_width": "1320px", "body_max_width": "none", "fixed_sidebar": True}
html_title = f"treatplan {release}"
html_static_path: list[str] = []
