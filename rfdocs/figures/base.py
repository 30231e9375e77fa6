"""What every figure kind provides: its options, a render function and computed alt text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from matplotlib.figure import Figure

from rfdocs.compute import Network
from rfdocs.figures.options import Option, resolve_options
from rfdocs.figures.style import Theme


@dataclass(frozen=True)
class Rendered:
    """A drawn figure with the alt text and the numbers it was drawn from."""

    figure: Figure
    alt: str
    numbers: Mapping[str, Any] = field(default_factory=dict)
    frames: tuple[Figure, ...] = ()  # animation frames, where the kind animates


RenderFunction = Callable[[Network | None, Mapping[str, Any], Theme], Rendered]


@dataclass(frozen=True)
class FigureKind:
    """A kind of figure: ``render(network, options, theme)``; network may be None (the default)."""

    name: str
    summary: str
    options: tuple[Option, ...]
    render_function: RenderFunction
    uses_network: bool = True

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        return resolve_options(self.options, given)

    def render(self, network: Network | None, given: Mapping[str, Any], theme: Theme) -> Rendered:
        return self.render_function(network, self.resolve(given), theme)
