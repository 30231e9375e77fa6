"""Drawing pieces shared by figure kinds: text measurement and a colour bar drawn without an
Axes (cheaper, and placed exactly in inches)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.image import BboxImage
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.textpath import text_to_path
from matplotlib.transforms import (
    Bbox,
    BboxBase,
    BboxTransformFrom,
    BboxTransformTo,
    Transform,
    TransformedBbox,
)

from rfdocs.figures.style import Theme, text_kwargs

BAR_TICK = 2.5 / 72  # tick mark length, inches


#: What measuring a text depends on besides the text, its size and weight: the fonts found
#: for the default family and how FreeType is asked to shape and hint them.
_FONT_SETTINGS = tuple(sorted(k for k in matplotlib.rcParams
                              if k.startswith("font.") or k in ("text.hinting", "text.hinting_factor",
                                                                "text.kerning_factor",
                                                                "text.language")))
MEASURED_MAX = 50_000  # remembered measurements (a few MB); the oldest go first


def font_settings() -> tuple[str, ...]:
    """The font settings in force (part of the key of every remembered measurement)."""
    params = matplotlib.rcParams
    return tuple(repr(params[k]) for k in _FONT_SETTINGS)


def prop_key(prop: FontProperties) -> tuple[Any, ...]:
    """What finding a font for ``prop`` depends on (as ``FontProperties.__hash__`` reads it)."""
    return (tuple(prop.get_family()), prop.get_slant(), prop.get_variant(), prop.get_weight(),
            prop.get_stretch(), prop.get_size(), prop.get_file(), prop.get_math_fontfamily())


class Measured:
    """Text measurements remembered across figures (a site labels figure after figure, and each
    in a light and a dark variant, with the same strings): a bounded dict, oldest out first."""

    def __init__(self, size: int = MEASURED_MAX) -> None:
        self.size = size
        self.items: dict[Hashable, Any] = {}

    def get(self, key: Hashable, measure: Callable[[], Any]) -> Any:
        value = self.items.get(key)
        if value is None:
            value = measure()
            if len(self.items) >= self.size:
                del self.items[next(iter(self.items))]
            self.items[key] = value
        return value


MEASURED = Measured()


def text_width_in(text: str, size: float) -> float:
    """Width in inches of one line of ``text`` in the default font at ``size`` points
    (FreeType metrics, plus 6 % for the hinting Agg adds; about 0.3 ms, then remembered)."""
    if not text:
        return 0.0

    def measure() -> float:
        width, _, _ = text_to_path.get_text_width_height_descent(
            text, FontProperties(size=size), ismath=False)
        return float(width) * 1.06 / 72.0

    return float(MEASURED.get(("width", font_settings(), text, size), measure))


def axes_box(fig: Figure, x: float, y: float, width: float, height: float) -> TransformedBbox:
    """Where an Axes at (x, y, width, height) inches of ``fig`` stands, in display units (as
    ``add_axes`` of the same position in figure fractions computes it)."""
    w, h = (float(v) for v in fig.get_size_inches())
    return TransformedBbox(Bbox.from_bounds(x / w, y / h, width / w, height / h),
                           fig.transFigure)


def pixel_transform(box: BboxBase, shape: Sequence[int]) -> Transform:
    """Image pixels (row, column centres at whole numbers, top row first) to display units, for
    an image of ``shape`` filling ``box``: the data transform of an Axes ``imshow`` fills."""
    rows, cols = int(shape[0]), int(shape[1])
    return BboxTransformFrom(Bbox([[-0.5, rows - 0.5], [cols - 0.5, -0.5]])) + BboxTransformTo(box)


def image_in_box(fig: Figure, box: BboxBase, data: Any, *, cmap: Any = None,
                 norm: Normalize | None = None, interpolation: str, gid: str) -> BboxImage:
    """``data`` (top row first; values through ``cmap`` and ``norm``, or RGB) drawn into
    ``box`` on the figure itself, resampled as ``imshow`` resamples it into an Axes there and
    clipped as the Axes clips it: the same pixels, without the cost of an Axes. A figure with
    more than one should set ``suppressComposite`` (or an SVG merges them into one raster)."""
    image = BboxImage(box, cmap=cmap, norm=norm, interpolation=interpolation, origin="upper")
    image.set_data(data)
    image.set_gid(gid)
    image.set_clip_box(box)
    fig.add_artist(image)
    return image


def colour_bar(fig: Figure, box: tuple[float, float, float, float], cmap: Any, norm: Normalize,
               ticks: Sequence[float], labels: Sequence[str], theme: Theme, *, size: float,
               label_pad: float, tick_colour: str, title: str | None = None) -> None:
    """A vertical colour bar at ``box`` (x, y, width, height in inches): a gradient image
    (gid colour-bar), its outline, tick marks and labels on the right (gids
    colour-bar-tick-i) and, optionally, a rotated title beyond the labels."""
    x, y, w, h = box
    inches = fig.dpi_scale_trans
    bar = BboxImage(TransformedBbox(Bbox.from_bounds(x, y, w, h), inches), cmap=cmap, norm=norm,
                    interpolation="nearest", origin="lower")
    bar.set_data(norm.inverse(np.linspace(0.0, 1.0, 256))[:, None])
    bar.set_gid("colour-bar")
    fig.add_artist(bar)
    fig.add_artist(Rectangle((x, y), w, h, transform=inches, facecolor="none",
                             edgecolor=theme.muted, linewidth=0.6))
    for i, (value, label) in enumerate(zip(ticks, labels, strict=True)):
        at = y + h * float(norm(value))
        fig.add_artist(Line2D([x + w, x + w + BAR_TICK], [at, at], transform=inches,
                              color=tick_colour, linewidth=0.6, solid_capstyle="butt"))
        fig.text(x + w + BAR_TICK + label_pad, at, label, transform=inches, ha="left",
                 va="center_baseline", gid=f"colour-bar-tick-{i}", **text_kwargs(theme, size))
    if title is not None:
        widest = max(text_width_in(label, size) for label in labels)
        fig.text(x + w + BAR_TICK + label_pad + widest + 3.0 / 72, y + h / 2, title,
                 transform=inches, rotation=90, ha="left", va="center", **text_kwargs(theme, size))
