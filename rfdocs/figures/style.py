"""Light and dark themes (Okabe-Ito colours, readable with colour-blindness) and figure creation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure


@dataclass(frozen=True)
class Theme:
    """Colours of one variant; backgrounds are transparent so pages show through."""

    name: str
    fg: str  # text and outlines
    muted: str  # secondary text, grid lines
    face: str  # neutral block faces
    face_side: str  # shaded sides of 3-D blocks
    input: str  # the input image / volume
    field: str  # the receptive field
    neuron: str  # the chosen neuron
    maps: str  # feature maps
    padding: str  # padding cells
    cmap: str  # sequential colour map for heat maps
    diverging: str  # diverging colour map for signed values
    bg: str  # page background assumed for contrast (not painted)


LIGHT = Theme(
    name="light", fg="#1f2328", muted="#6e7781", face="#e8ebef", face_side="#cfd5dc",
    input="#56B4E9", field="#E69F00", neuron="#D55E00", maps="#009E73", padding="#bfc5cc",
    cmap="viridis", diverging="PuOr", bg="#ffffff",
)
DARK = Theme(
    name="dark", fg="#e6e6e6", muted="#9aa4ae", face="#2b3036", face_side="#1f2328",
    input="#56B4E9", field="#E69F00", neuron="#FF7F50", maps="#2EC4A0", padding="#4a525b",
    cmap="viridis", diverging="PuOr", bg="#131416",
)
THEMES = {"light": LIGHT, "dark": DARK}

FONT_SIZE = 10.0
DPI = 100


def new_figure(width: float, height: float, theme: Theme) -> Figure:
    """A matplotlib Figure (no pyplot) of ``width`` x ``height`` inches with a transparent face."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    fig.patch.set_alpha(0.0)
    return fig


def text_kwargs(theme: Theme, size: float = FONT_SIZE, **extra: Any) -> dict[str, Any]:
    """Keyword arguments for ``Axes.text`` in the theme's foreground colour."""
    kwargs: dict[str, Any] = {"color": theme.fg, "fontsize": size}
    kwargs.update(extra)
    return kwargs
