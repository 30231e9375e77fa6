"""Sphinx configuration for the rfdocs tutorial and manual (built with rfdocs itself)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# docs/_ext holds this site's own small extension: reference tables read from rfdocs' code.
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

import rfdocs  # noqa: E402

project = "rfdocs"
version = release = rfdocs.__version__
author = "the rfdocs developers"
copyright = "2026, the rfdocs developers"

extensions = ["myst_parser", "rfdocs", "rfdocs_reference"]
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = "rfdocs"
html_static_path = ["_static"]
html_css_files = ["site.css"]
numfig = True
exclude_patterns = ["_build", ".rfdocs-cache"]

latex_documents = [("index", "rfdocs.tex", "rfdocs: receptive fields and feature maps, computed",
                    author, "manual")]
latex_elements = {"papersize": "a4paper"}
epub_show_urls = "no"
# Without -d (as in `make docs-check`) the doctrees sit inside the EPUB output folder: keep them
# out of the book, and out of its warnings.
_DOCS = Path(__file__).resolve().parent
epub_exclude_files = [".doctrees/environment.pickle"] + sorted(
    ".doctrees/" + path.relative_to(_DOCS).with_suffix(".doctree").as_posix()
    for path in _DOCS.rglob("*")
    if path.suffix in (".md", ".rst") and "_build" not in path.parts)

# Reproducible output: honour SOURCE_DATE_EPOCH where builders stamp dates.
if "SOURCE_DATE_EPOCH" in os.environ:
    today_fmt = "%Y-%m-%d"
