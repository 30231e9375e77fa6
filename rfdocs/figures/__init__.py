"""The figure layer: matplotlib drawings fed by compute results (no Sphinx here).

Importing this package is cheap (matplotlib loads with the first figure kind), so Sphinx
start-up does not pay for it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    "filters": "rfdocs.figures.filters",
    "stack": "rfdocs.figures.stack",
    "architecture": "rfdocs.figures.architecture",
}

_LAZY = {
    "FigureKind": "rfdocs.figures.base", "Rendered": "rfdocs.figures.base",
    "OptionError": "rfdocs.figures.options", "Theme": "rfdocs.figures.style",
    "LIGHT": "rfdocs.figures.style", "DARK": "rfdocs.figures.style", "THEMES": "rfdocs.figures.style",
}


def get_kind(name: str) -> FigureKind:
    """The figure kind called ``name`` (imports its module on first use)."""
    from rfdocs.figures.base import FigureKind
    from rfdocs.figures.options import OptionError

    if name not in KIND_MODULES:
        raise OptionError("kind", f"unknown figure kind {name!r}; allowed: " + ", ".join(KIND_MODULES))
    kind = import_module(KIND_MODULES[name]).KIND
    assert isinstance(kind, FigureKind)
    return kind


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = ["DARK", "KIND_MODULES", "LIGHT", "THEMES", "FigureKind", "OptionError", "Rendered",
           "Theme", "get_kind"]
