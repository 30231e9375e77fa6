"""Sphinx configuration for the rfdocs tutorial and manual (built with rfdocs itself)."""

from __future__ import annotations

import os

project = "rfdocs"
author = "the rfdocs developers"
copyright = "2026, the rfdocs developers"

extensions = ["myst_parser", "rfdocs"]
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = "rfdocs"
numfig = True
exclude_patterns = ["_build", ".rfdocs-cache"]

latex_documents = [("index", "rfdocs.tex", "rfdocs: receptive fields and feature maps, computed",
                    author, "manual")]
latex_elements = {"papersize": "a4paper", "preamble": r"\usepackage{newunicodechar}\newunicodechar{×}{\ensuremath{\times}}"}
epub_show_urls = "no"

# Reproducible output: honour SOURCE_DATE_EPOCH where builders stamp dates.
if "SOURCE_DATE_EPOCH" in os.environ:
    today_fmt = "%Y-%m-%d"
