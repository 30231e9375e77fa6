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
    """A drawn figure with the alt text and the numbers it was drawn from; a kind that animates
    gives its frames, or ``frame_source`` to draw them only when asked (``animation_frames``)."""

    figure: Figure
    alt: str
    numbers: Mapping[str, Any] = field(default_factory=dict)
    frames: tuple[Figure, ...] = ()  # animation frames, where the kind animates
    frame_source: Callable[[], tuple[Figure, ...]] | None = field(
        default=None, compare=False, repr=False)

    def animation_frames(self) -> tuple[Figure, ...]:
        """The animation frames: ``frames``, else freshly drawn by ``frame_source``, else none."""
        if self.frames or self.frame_source is None:
            return self.frames
        return self.frame_source()


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
