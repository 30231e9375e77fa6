"""Shared drawing helpers for the block and growth figures: an inch-unit sheet, colour mixing,
the footprint of one neuron in every earlier layer, and target (layer, neuron) options.

A *footprint* is the set of units of an earlier layer K that one neuron of layer L depends on,
as ``((row first, row last), (col first, col last))`` in K's unit coordinates.  It is composed
back through the graph one layer at a time (a window layer maps output units ``[a, b]`` to
input units ``[a s - p, b s - p + d (k - 1)]``; a transposed convolution to
``[ceil((a + p - d (k - 1)) / s), floor((b + p) / s)]``, an upsampling likewise as the
transposed convolution ``receptive.upsample_kernel`` gives; a pad layer to ``[a - p, b - p]``;
a global pool or flatten to its whole input; a merge reads an input of one unit along an axis
where the merge has more at unit 0, broadcasting) and is *not* clipped: indices below 0
or past the map's end lie in the padding around K.  Like ``LayerInfo.box`` (the Distill
convention) the arithmetic runs on through padding, so a footprint is always as large as the
field it stands for and the input footprint of a conv/pool chain equals ``LayerInfo.box``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Polygon, Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Affine2D, Transform

from rfdocs.compute import Analysis, LayerInfo
from rfdocs.compute.receptive import upsample_kernel
from rfdocs.compute.spec import GLOBAL_OPS, POINTWISE_OPS, WINDOW_OPS
from rfdocs.figures.options import OptionError
from rfdocs.figures.style import Theme, new_figure

Range = tuple[int, int]  # first, last (inclusive); first > last means empty
Box = tuple[Range, Range]  # rows, cols
EMPTY: Box = ((0, -1), (0, -1))

LABEL_PT = 8.0
TITLE_PT = 9.0
LINE_PT = 0.8  # outlines of blocks, maps and fields
THIN_PT = 0.5  # grid lines and projection lines
MIN_FEATURE_IN = 0.045  # anything smaller (inches) is drawn enlarged, and the figure says so
PASSTHROUGH_OPS = POINTWISE_OPS  # same shape and field as their input: not drawn


# --------------------------------------------------------------------------- colours


def mix(color: str, other: str, amount: float) -> str:
    """``amount`` of ``color`` over ``other`` as an opaque hex colour (0 gives ``other``)."""
    (r, g, b), (r2, g2, b2) = to_rgb(color), to_rgb(other)
    return to_hex((amount * r + (1 - amount) * r2, amount * g + (1 - amount) * g2,
                   amount * b + (1 - amount) * b2))


def face_colors(color: str, theme: Theme) -> tuple[str, str, str]:
    """(front, top, side) fills of a 3-D block in ``color``, shaded for the theme's page."""
    if theme.name == "dark":
        return mix(color, theme.bg, 0.42), mix(color, theme.bg, 0.56), mix(color, theme.bg, 0.30)
    return mix(color, theme.bg, 0.30), mix(color, theme.bg, 0.46), mix(color, theme.bg, 0.60)


def edge_color(color: str, theme: Theme) -> str:
    """Outline colour of a filled shape in ``color``: darker on light pages, lighter on dark."""
    return mix(color, theme.fg, 0.45)


# --------------------------------------------------------------------------- the sheet


@dataclass
class Sheet:
    """A figure with one axes whose data unit is one inch; lay out, then ``finish`` crops it."""

    theme: Theme
    fig: Figure = field(init=False)
    bounds: list[float] = field(init=False)  # xmin, ymin, xmax, ymax of everything drawn

    def __post_init__(self) -> None:
        self.fig = new_figure(4.0, 3.0, self.theme)
        self.ax = self.fig.add_axes((0.0, 0.0, 1.0, 1.0))
        self.ax.set_axis_off()
        self._renderer = FigureCanvasAgg(self.fig).get_renderer()  # type: ignore[no-untyped-call]
        self.bounds = [math.inf, math.inf, -math.inf, -math.inf]
        self._sizes: dict[tuple[str, float, bool], tuple[float, float]] = {}
        self._lines: dict[tuple[float, bool], float] = {}

    # ---- bookkeeping

    def include(self, xs: Iterable[float], ys: Iterable[float]) -> None:
        for x in xs:
            self.bounds[0], self.bounds[2] = min(self.bounds[0], x), max(self.bounds[2], x)
        for y in ys:
            self.bounds[1], self.bounds[3] = min(self.bounds[1], y), max(self.bounds[3], y)

    def measure(self, text: str, size: float = LABEL_PT, bold: bool = False) -> tuple[float, float]:
        """(width, height) of one line of text in inches, as drawn."""
        key = (text, size, bold)
        if key not in self._sizes:
            prop = FontProperties(size=size, weight="bold" if bold else "normal")
            w, h, _ = self._renderer.get_text_width_height_descent(text, prop, ismath=False)
            if (size, bold) not in self._lines:
                line = self._renderer.get_text_width_height_descent("lp", prop, ismath=False)
                self._lines[(size, bold)] = line[1]
            self._sizes[key] = (w / self.fig.dpi, max(h, self._lines[(size, bold)]) / self.fig.dpi)
        return self._sizes[key]

    # ---- drawing (all coordinates in inches)

    def text(self, x: float, y: float, text: str, *, size: float = LABEL_PT, ha: str = "center",
             va: str = "center", color: str | None = None, bold: bool = False,
             gid: str | None = None, zorder: float = 10) -> Text:
        w, h = self.measure(text, size, bold)
        x0 = {"left": x, "center": x - w / 2, "right": x - w}[ha]
        y0 = {"bottom": y, "baseline": y - 0.2 * h, "center": y - h / 2, "top": y - h}[va]
        self.include((x0, x0 + w), (y0, y0 + h))
        artist = self.ax.text(x, y, text, fontsize=size, ha=ha, va=va,
                              color=color or self.theme.fg,
                              fontweight="bold" if bold else "normal", zorder=zorder)
        if gid:
            artist.set_gid(gid)
        return artist

    def polygon(self, points: Sequence[tuple[float, float]], *, gid: str | None = None,
                **kw: Any) -> Polygon:
        self.include((p[0] for p in points), (p[1] for p in points))
        kw.setdefault("linewidth", LINE_PT)
        kw.setdefault("joinstyle", "round")
        patch = Polygon(list(points), closed=True, **kw)
        if gid:
            patch.set_gid(gid)
        self.ax.add_artist(patch)  # not add_patch: the limits are set once, in finish()
        return patch

    def polygons(self, polys: Sequence[Sequence[tuple[float, float]]], *, facecolors: Sequence[str],
                 gid: str | None = None, **kw: Any) -> PolyCollection:
        """Many filled polygons as one artist (drawn in order, the last on top)."""
        for points in polys:
            self.include((p[0] for p in points), (p[1] for p in points))
        kw.setdefault("linewidth", LINE_PT)
        kw.setdefault("joinstyle", "round")
        collection = PolyCollection([list(p) for p in polys], facecolors=list(facecolors), **kw)
        if gid:
            collection.set_gid(gid)
        self.ax.add_artist(collection)
        return collection

    def rect(self, x: float, y: float, w: float, h: float, *, transform: Affine2D | None = None,
             gid: str | None = None, **kw: Any) -> Rectangle:
        """A rectangle; with ``transform`` its coordinates are in that system (e.g. map units)."""
        corners = [(x, y), (x + w, y), (x, y + h), (x + w, y + h)]
        if transform is not None:
            corners = [tuple(transform.transform(c)) for c in corners]
        self.include((c[0] for c in corners), (c[1] for c in corners))
        kw.setdefault("linewidth", LINE_PT)
        patch = Rectangle((x, y), w, h, **kw)
        if transform is not None:
            patch.set_transform(transform + self.ax.transData)
        if gid:
            patch.set_gid(gid)
        self.ax.add_artist(patch)  # not add_patch: the limits are set once, in finish()
        return patch

    def circle(self, x: float, y: float, radius: float, *, gid: str | None = None,
               **kw: Any) -> Circle:
        self.include((x - radius, x + radius), (y - radius, y + radius))
        patch = Circle((x, y), radius, **kw)
        if gid:
            patch.set_gid(gid)
        self.ax.add_artist(patch)
        return patch

    def line(self, xs: Sequence[float], ys: Sequence[float], **kw: Any) -> None:
        self.include(xs, ys)
        kw.setdefault("linewidth", THIN_PT)
        kw.setdefault("solid_capstyle", "round")
        self.ax.add_artist(Line2D(xs, ys, **kw))

    def data_transform(self, transform: Transform) -> Transform:
        return transform + self.ax.transData

    def finish(self, margin: float = 0.06) -> Figure:
        """Crop the canvas to everything drawn plus ``margin`` inches; 1 data unit stays 1 inch."""
        x0, y0, x1, y1 = self.bounds
        x0, y0, x1, y1 = x0 - margin, y0 - margin, x1 + margin, y1 + margin
        self.fig.set_size_inches(x1 - x0, y1 - y0)
        self.ax.set_xlim(x0, x1)
        self.ax.set_ylim(y0, y1)
        return self.fig


def wrap_words(sheet: Sheet, text: str, width: float, size: float = LABEL_PT) -> list[str]:
    """Greedy word wrap of ``text`` into lines no wider than ``width`` inches."""
    space = sheet.measure("a a", size)[0] - sheet.measure("aa", size)[0]
    lines: list[str] = []
    used = 0.0
    for word in text.split():
        w = sheet.measure(word, size)[0]
        if lines and used + space + w <= width:
            lines[-1] += " " + word
            used += space + w
        else:
            lines.append(word)
            used = w
    return lines


def split_name(sheet: Sheet, name: str, width: float, size: float = TITLE_PT,
               bold: bool = True) -> tuple[str, ...]:
    """A layer name on one line, or on two broken after a '.', '_', '/' or '-' near its middle
    when wider than ``width`` inches ("Mixed_6b." / "branch7x7dbl_5")."""
    if sheet.measure(name, size, bold)[0] <= width:
        return (name,)
    cuts = [i + 1 for i, ch in enumerate(name[:-1]) if ch in "._/-"]
    if not cuts:
        return (name,)
    cut = min(cuts, key=lambda i: max(sheet.measure(name[:i], size, bold)[0],
                                      sheet.measure(name[i:], size, bold)[0]))
    return (name[:cut], name[cut:])


def unit_transform(x0: float, y0: float, width: float, height: float, rows: int | float,
                   cols: int | float, row0: float = 0, col0: float = 0) -> Affine2D:
    """Map (col, row) unit coordinates onto the inch rectangle with top-left (x0, y0 + height),
    rows growing downwards; unit (row0, col0) is the top-left corner."""
    return (Affine2D().translate(-col0, -row0).scale(width / cols, -height / rows)
            .translate(x0, y0 + height))


# --------------------------------------------------------------------------- footprints


def ancestors(analysis: Analysis, name: str) -> list[LayerInfo]:
    """The nodes ``name`` depends on (itself included), in topological order, input first."""
    needed = {name}
    for node in reversed(analysis.nodes):
        if node.name in needed and node.layer is not None:
            needed.update(node.layer.inputs)
    return [node for node in analysis.nodes if node.name in needed]


def _back(info: LayerInfo, axis: int, rng: Range, source: LayerInfo) -> Range:
    """Units of input ``source`` that output units ``rng`` of one layer read (padding
    included)."""
    layer = info.layer
    assert layer is not None
    a, b = rng
    op = layer.op
    if op in GLOBAL_OPS:  # one unit reading every unit of its input
        return (0, source.shape[axis] - 1)
    if op == "pad":
        p = info.pads[2 * axis]
        return (a - p, b - p)
    if op == "upsample":  # the transposed convolution reading the same units
        k, p = upsample_kernel(layer, axis)
        f = layer.factor[axis]
        return (-((-(a + p - (k - 1))) // f), (b + p) // f)
    if op not in WINDOW_OPS:  # pointwise, dense, merges: the same units, or a broadcast one
        if source.shape[axis] == 1 and info.shape[axis] > 1:
            return (0, 0)
        return rng
    k, s, d = layer.kernel[axis], layer.stride[axis], layer.dilation[axis]
    p = info.pads[2 * axis]
    span = d * (k - 1)
    if op == "deconv":
        return (-((-(a + p - span)) // s), (b + p) // s)
    return (a * s - p, b * s - p + span)


def footprints(analysis: Analysis, name: str, neuron: tuple[int, int]) -> dict[str, Box]:
    """Footprint of unit ``neuron`` of layer ``name`` in it and every node it depends on (an
    empty box, first > last, where it depends on none of that node's units)."""
    out: dict[str, Box] = {name: ((neuron[0], neuron[0]), (neuron[1], neuron[1]))}
    for node in reversed(ancestors(analysis, name)):
        if node.layer is None:
            continue
        rows, cols = out.get(node.name, EMPTY)
        for src in node.layer.inputs:
            source = analysis[src]
            back = EMPTY
            if rows[0] <= rows[1] and cols[0] <= cols[1]:
                back = (_back(node, 0, rows, source), _back(node, 1, cols, source))
            if back[0][0] > back[0][1] or back[1][0] > back[1][1]:
                back = EMPTY  # a transposed convolution's gap: no units at all
            old = out.get(src, EMPTY)
            if old == EMPTY:
                out[src] = back
            elif back != EMPTY:
                out[src] = ((min(old[0][0], back[0][0]), max(old[0][1], back[0][1])),
                            (min(old[1][0], back[1][0]), max(old[1][1], back[1][1])))
    return out


def _clip(rng: Range, n: int) -> Range:
    return (max(rng[0], 0), min(rng[1], n - 1))


def clip_box(box: Box, shape: Sequence[int]) -> Box | None:
    """``box`` clipped to a map of ``shape`` (rows, cols, ...); None if nothing is left."""
    rows, cols = _clip(box[0], shape[0]), _clip(box[1], shape[1])
    if rows[0] > rows[1] or cols[0] > cols[1]:
        return None
    return (rows, cols)


def box_size(box: Box) -> tuple[int, int]:
    return (max(box[0][1] - box[0][0] + 1, 0), max(box[1][1] - box[1][0] + 1, 0))


def evenly(items: Sequence[LayerInfo], cap: int) -> list[LayerInfo]:
    """At most ``cap`` items: always the first and last, the rest evenly spaced between."""
    if len(items) <= cap:
        return list(items)
    if cap <= 1:
        return [items[-1]]
    picks = sorted({round(i * (len(items) - 1) / (cap - 1)) for i in range(cap)})
    return [items[i] for i in picks]


# --------------------------------------------------------------------------- options


def target_layer(analysis: Analysis, name: str | None) -> LayerInfo:
    """The layer called ``name`` (the last layer by default); OptionError names what exists."""
    if name is None:
        return analysis.output
    try:
        info = analysis[name]
    except KeyError:
        names = [n.name for n in analysis.layers]
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise OptionError("layer", f"no layer called {name!r}; layers: {shown}") from None
    if info.layer is None:
        raise OptionError("layer", "choose a layer, not the input (its neurons see one pixel)")
    return info


def target_neuron(info: LayerInfo, value: tuple[int, int] | None,
                  default: tuple[int, int]) -> tuple[int, int]:
    """A neuron (row, col) of ``info`` (``default`` when None); out of range is an OptionError."""
    if value is None:
        return default
    h, w = info.shape[:2]
    row, col = value
    if not (0 <= row < h and 0 <= col < w):
        raise OptionError("neuron", f"({row}, {col}) is outside {info.name} ({h}×{w}): "
                          f"row must be 0 to {h - 1} and column 0 to {w - 1}")
    return (row, col)
