"""rfdocs: computed convolution and receptive-field figures for Sphinx documentation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from sphinx.application import Sphinx


def setup(app: Sphinx) -> dict[str, Any]:
    """Sphinx entry point (``extensions = ["rfdocs"]``); imports the extension lazily."""
    from rfdocs.sphinxext import setup as setup_extension

    return setup_extension(app)
