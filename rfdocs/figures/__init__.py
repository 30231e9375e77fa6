"""The figure layer: matplotlib drawings fed by compute results (no Sphinx here)."""

from __future__ import annotations

from importlib import import_module

from rfdocs.figures.base import FigureKind, Rendered
from rfdocs.figures.options import OptionError
from rfdocs.figures.style import DARK, LIGHT, THEMES, Theme

#: kind name -> module defining ``KIND``; directive ``rf-<name>`` draws it.
KIND_MODULES = {
    "block": "rfdocs.figures.block",
    "growth": "rfdocs.figures.growth",
    "featuremaps": "rfdocs.figures.featuremaps",
    "steps": "rfdocs.figures.steps",
    "erf": "rfdocs.figures.erf",
}


def get_kind(name: str) -> FigureKind:
    """The figure kind called ``name`` (imports its module on first use)."""
    if name not in KIND_MODULES:
        raise OptionError("kind", f"unknown figure kind {name!r}; allowed: "
                          + ", ".join(KIND_MODULES))
    kind = import_module(KIND_MODULES[name]).KIND
    assert isinstance(kind, FigureKind)
    return kind


__all__ = ["DARK", "KIND_MODULES", "LIGHT", "THEMES", "FigureKind", "OptionError", "Rendered",
           "Theme", "get_kind"]
