"""Shared drawing helpers for the block and growth figures: an inch-unit sheet, colour mixing,
the footprint of one neuron in every earlier layer, and target (layer, neuron) options.

A *footprint* is the set of units of an earlier layer K that one neuron of layer L depends on,
as one (first, last) range per spatial axis in K's unit coordinates: ``((row first, row
last), (col first, col last))`` in 2-D, ``((t first, t last),)`` for a sequence and
``((d first, d last), (row first, row last), (col first, col last))`` for a volume.  It is composed
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
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Polygon, Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Affine2D, Bbox, BboxTransformFrom, Transform

from rfdocs.compute import Analysis, LayerInfo
from rfdocs.compute.receptive import upsample_kernel
from rfdocs.compute.spec import GLOBAL_OPS, POINTWISE_OPS, WINDOW_OPS
from rfdocs.figures.marks import MEASURED, font_settings
from rfdocs.figures.options import OptionError, int_range
from rfdocs.figures.style import Theme, new_figure

Range = tuple[int, int]  # first, last (inclusive); first > last means empty
Box = tuple[Range, ...]  # one range per spatial axis: rows, cols in 2-D
EMPTY: Box = ((0, -1), (0, -1))  # the empty 2-D box (``empty_box`` for any number of axes)


def empty_box(ndim: int) -> Box:
    """The box holding no unit, with ``ndim`` axes."""
    return ((0, -1),) * ndim


def is_empty(box: Box) -> bool:
    """True where some axis of ``box`` holds no unit."""
    return any(a > b for a, b in box)

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
        # inches -> display, drawn straight on the figure (an Axes costs ~5 ms to make and as
        # much to write, with a clip path on every shape); ``finish`` sets the view to the
        # cropped extent, the same mapping (and arithmetic) as an Axes spanning the figure
        self._view = Bbox.unit()
        self.data = BboxTransformFrom(self._view) + self.fig.transFigure
        self._renderer = FigureCanvasAgg(self.fig).get_renderer()  # type: ignore[no-untyped-call]
        self.bounds = [math.inf, math.inf, -math.inf, -math.inf]
        self._fonts = font_settings()  # fixed while one figure is drawn

    # ---- bookkeeping

    def include(self, xs: Iterable[float], ys: Iterable[float]) -> None:
        for x in xs:
            self.bounds[0], self.bounds[2] = min(self.bounds[0], x), max(self.bounds[2], x)
        for y in ys:
            self.bounds[1], self.bounds[3] = min(self.bounds[1], y), max(self.bounds[3], y)

    def measure(self, text: str, size: float = LABEL_PT, bold: bool = False) -> tuple[float, float]:
        """(width, height) of one line of text in inches, as drawn (remembered across sheets)."""
        prop = FontProperties(size=size, weight="bold" if bold else "normal")
        dpi = self.fig.dpi

        def line() -> float:
            return float(self._renderer.get_text_width_height_descent("lp", prop, ismath=False)[1])

        def size_of() -> tuple[float, float]:
            w, h, _ = self._renderer.get_text_width_height_descent(text, prop, ismath=False)
            lp = MEASURED.get(("agg-line", self._fonts, dpi, size, bold), line)
            return (w / dpi, max(h, lp) / dpi)

        return MEASURED.get(("agg", self._fonts, dpi, text, size, bold), size_of)  # type: ignore[no-any-return]

    # ---- drawing (all coordinates in inches)

    def text(self, x: float, y: float, text: str, *, size: float = LABEL_PT, ha: str = "center",
             va: str = "center", color: str | None = None, bold: bool = False,
             gid: str | None = None, zorder: float = 10) -> Text:
        w, h = self.measure(text, size, bold)
        x0 = {"left": x, "center": x - w / 2, "right": x - w}[ha]
        y0 = {"bottom": y, "baseline": y - 0.2 * h, "center": y - h / 2, "top": y - h}[va]
        self.include((x0, x0 + w), (y0, y0 + h))
        artist = Text(x, y, text, fontsize=size, ha=ha, va=va, color=color or self.theme.fg,
                      fontweight="bold" if bold else "normal", zorder=zorder)
        self.add(artist)
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
        self.add(patch)
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
        self.add(collection)
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
            patch.set_transform(transform + self.data)
        if gid:
            patch.set_gid(gid)
        self.add(patch)
        return patch

    def circle(self, x: float, y: float, radius: float, *, gid: str | None = None,
               **kw: Any) -> Circle:
        self.include((x - radius, x + radius), (y - radius, y + radius))
        patch = Circle((x, y), radius, **kw)
        if gid:
            patch.set_gid(gid)
        self.add(patch)
        return patch

    def line(self, xs: Sequence[float], ys: Sequence[float], **kw: Any) -> None:
        self.include(xs, ys)
        kw.setdefault("linewidth", THIN_PT)
        kw.setdefault("solid_capstyle", "round")
        self.add(Line2D(xs, ys, **kw))

    def add(self, artist: Artist) -> None:
        """Put ``artist`` on the sheet, in inches unless it has a transform of its own (then
        build it from ``data_transform``)."""
        if not artist.is_transform_set():
            artist.set_transform(self.data)
        self.fig.add_artist(artist)

    def data_transform(self, transform: Transform) -> Transform:
        return transform + self.data

    def finish(self, margin: float = 0.06) -> Figure:
        """Crop the canvas to everything drawn plus ``margin`` inches; 1 data unit stays 1 inch."""
        x0, y0, x1, y1 = self.bounds
        x0, y0, x1, y1 = x0 - margin, y0 - margin, x1 + margin, y1 + margin
        self.fig.set_size_inches(x1 - x0, y1 - y0)
        self._view.set_points(np.array([[x0, y0], [x1, y1]]))
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


def footprints(analysis: Analysis, name: str, neuron: Sequence[int]) -> dict[str, Box]:
    """Footprint of unit ``neuron`` (one index per spatial axis) of layer ``name`` in it and
    every node it depends on (an empty box, first > last, where it depends on none of that
    node's units)."""
    ndim = len(neuron)
    none = empty_box(ndim)
    out: dict[str, Box] = {name: tuple((u, u) for u in neuron)}
    for node in reversed(ancestors(analysis, name)):
        if node.layer is None:
            continue
        box = out.get(node.name, none)
        for src in node.layer.inputs:
            source = analysis[src]
            back = none
            if not is_empty(box):
                back = tuple(_back(node, axis, rng, source) for axis, rng in enumerate(box))
            if is_empty(back):
                back = none  # a transposed convolution's gap: no units at all
            old = out.get(src, none)
            if old == none:
                out[src] = back
            elif back != none:
                out[src] = tuple((min(a[0], b[0]), max(a[1], b[1]))
                                 for a, b in zip(old, back, strict=True))
    return out


def _clip(rng: Range, n: int) -> Range:
    return (max(rng[0], 0), min(rng[1], n - 1))


def clip_box(box: Box, shape: Sequence[int]) -> Box | None:
    """``box`` clipped to a map of ``shape`` (its spatial sizes first); None if nothing is
    left."""
    out = tuple(_clip(rng, n) for rng, n in zip(box, shape, strict=False))
    if is_empty(out):
        return None
    return out


def box_size(box: Box) -> tuple[int, ...]:
    """Units per axis of ``box`` (0 where it is empty)."""
    return tuple(max(b - a + 1, 0) for a, b in box)


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


AXIS_WORDS = {1: ("t",), 2: ("row", "column"), 3: ("depth", "row", "column")}
UNIT_WORDS = {1: "t", 2: "row,col", 3: "d,row,col"}


def int_tuple(lo: int, hi: int) -> Callable[[Any], tuple[int, ...]]:
    """'12,30', '12x30', '4 12 30', [4, 12, 30] or a single 12: one to three integers (a
    single one stands for every axis; ``target_neuron`` checks the count)."""
    one = int_range(lo, hi)

    def convert(value: Any) -> tuple[int, ...]:
        if isinstance(value, list | tuple):
            parts = list(value)
        else:
            parts = [p for p in re.split(r"[,x\s]+", str(value).strip("()[] ")) if p]
        if not 1 <= len(parts) <= 3:
            raise ValueError(value)
        return tuple(one(p) for p in parts)
    return convert


def target_neuron(info: LayerInfo, value: Sequence[int] | None,
                  default: Sequence[int]) -> tuple[int, ...]:
    """A neuron of ``info``, one index per spatial axis (``default`` when None; a single value
    stands for every axis); out of range or the wrong count is an OptionError."""
    if value is None:
        return tuple(default)
    sizes = info.shape[:-1]
    ndim = len(sizes)
    unit = tuple(value) * ndim if len(value) == 1 else tuple(value)
    if len(unit) != ndim:
        raise OptionError("neuron", f"{info.name} is {ndim}-D: give {ndim} "
                          f"{'index' if ndim == 1 else 'indices'} ({UNIT_WORDS[ndim]}), "
                          f"got {len(unit)}")
    if ndim == 2:
        h, w = sizes
        row, col = unit
        if not (0 <= row < h and 0 <= col < w):
            raise OptionError("neuron", f"({row}, {col}) is outside {info.name} ({h}×{w}): "
                              f"row must be 0 to {h - 1} and column 0 to {w - 1}")
        return unit
    if not all(0 <= u < n for u, n in zip(unit, sizes, strict=True)):
        where = " and ".join(f"{word} 0 to {n - 1}"
                             for word, n in zip(AXIS_WORDS[ndim], sizes, strict=True))
        shown = "×".join(str(n) for n in sizes)
        raise OptionError("neuron", f"({', '.join(str(u) for u in unit)}) is outside "
                          f"{info.name} ({shown}): {where}")
    return unit


# --------------------------------------------------------------------------- volumes

VOLUME_ANGLE = math.radians(40)  # the depth axis, up and to the right (cabinet projection)


@dataclass(frozen=True)
class Volume:
    """A D×H×W volume drawn in an oblique projection: the front face (depth 0) ``fw`` by
    ``fh`` inches with its bottom-left corner at (x0, y0), rows growing downwards, columns to
    the right and depth going back along (dx, dy).  Positions are linear along every axis, so
    a box drawn in it sits exactly where it is."""

    sizes: tuple[int, int, int]  # D, H, W
    x0: float
    y0: float
    fw: float
    fh: float
    dx: float
    dy: float

    @classmethod
    def at(cls, sizes: Sequence[int], x0: float, y0: float, fw: float, fh: float,
           depth: float) -> Volume:
        d, h, w = sizes
        return cls((d, h, w), x0, y0, fw, fh, depth * math.cos(VOLUME_ANGLE),
                   depth * math.sin(VOLUME_ANGLE))

    def point(self, d: float, r: float, c: float) -> tuple[float, float]:
        """Inches of the point at depth ``d``, row ``r``, column ``c`` (unit edges: the unit
        (d, r, c) spans [d, d + 1) × [r, r + 1) × [c, c + 1))."""
        depth, rows, cols = self.sizes
        return (self.x0 + c * self.fw / cols + d * self.dx / depth,
                self.y0 + self.fh - r * self.fh / rows + d * self.dy / depth)

    def faces(self, box: Box) -> tuple[list[tuple[float, float]], ...]:
        """The front, top and right faces of the units ``box`` ((d0, d1), (r0, r1), (c0, c1),
        inclusive) as polygons in inches."""
        (d0, d1), (r0, r1), (c0, c1) = box
        e, s, k = d1 + 1, r1 + 1, c1 + 1
        p = self.point
        front = [p(d0, r0, c0), p(d0, r0, k), p(d0, s, k), p(d0, s, c0)]
        top = [p(d0, r0, c0), p(d0, r0, k), p(e, r0, k), p(e, r0, c0)]
        right = [p(d0, r0, k), p(e, r0, k), p(e, s, k), p(d0, s, k)]
        return front, top, right

    def hidden_edges(self, box: Box) -> list[tuple[tuple[float, float], tuple[float, float]]]:
        """The three edges of ``box`` that meet at its hidden (back, bottom, left) corner."""
        (d0, d1), (r0, r1), (c0, c1) = box
        corner = self.point(d1 + 1, r1 + 1, c0)
        return [(corner, self.point(d0, r1 + 1, c0)), (corner, self.point(d1 + 1, r0, c0)),
                (corner, self.point(d1 + 1, r1 + 1, c1 + 1))]

    @property
    def whole(self) -> Box:
        return tuple((0, n - 1) for n in self.sizes)

    @property
    def right(self) -> float:
        return self.x0 + self.fw + self.dx

    @property
    def top(self) -> float:
        return self.y0 + self.fh + self.dy


def draw_cuboid(sheet: Sheet, volume: Volume, box: Box, color: str, theme: Theme, *,
                gid: str, fill: Sequence[float] = (0.30, 0.46, 0.60), alpha: float = 1.0,
                hidden: bool = False, zorder: float = 2, **kw: Any) -> None:
    """The visible faces of units ``box`` of ``volume`` filled in shades of ``color`` (front,
    top, right: ``fill`` of the colour over the page), the hidden edges dashed if asked."""
    edge = edge_color(color, theme)
    shades = [mix(color, theme.bg, a) for a in fill]
    faces = volume.faces(box)
    if hidden:
        for a, b in volume.hidden_edges(box):
            sheet.line([a[0], b[0]], [a[1], b[1]], color=edge, linewidth=THIN_PT,
                       linestyle=(0, (2, 2)), zorder=zorder + 0.1)
    sheet.polygons(list(faces), facecolors=shades, edgecolor=edge, alpha=alpha, zorder=zorder,
                   gid=gid, **kw)


def draw_volume(sheet: Sheet, volume: Volume, box: Box, theme: Theme, *, color: str,
                neuron: bool, name: str, notes: set[str]) -> list[tuple[float, float]]:
    """A layer as a volume with the units ``box`` of it (not clipped: beyond the volume is
    padding) as a box at its place: the body with its hidden edges dashed, the box's outline
    projected on the front and top faces (so its depth reads), the part in the padding hatched,
    the neuron in its own colour; a box too small to see is ringed.  Returns the front face
    of the drawn box (four corners) for lines joining it to the next one."""
    draw_cuboid(sheet, volume, volume.whole, color, theme, gid=f"volume-{name}", zorder=2)
    edge = edge_color(color, theme)
    for a, b in volume.hidden_edges(volume.whole):
        sheet.line([a[0], b[0]], [a[1], b[1]], color=edge, linewidth=THIN_PT,
                   linestyle=(0, (2, 2)), zorder=2.2)
    fill = theme.neuron if neuron else theme.field
    if is_empty(box):
        return []
    inside = clip_box(box, volume.sizes)
    if inside != box:
        hatch: dict[str, Any] = {"hatch": "////", "hatchcolor": edge_color(fill, theme)}
        draw_cuboid(sheet, volume, box, fill, theme, gid=f"footprint-padding-{name}",
                    fill=(0.25, 0.25, 0.25), alpha=0.55, hidden=True, zorder=3,
                    linestyle=(0, (3, 2)), **hatch)
        notes.add("padding")
    corners = volume.faces(box)[0]
    if inside is not None:
        (d0, d1), (r0, r1), (c0, c1) = inside
        p = volume.point
        shadow = edge_color(fill, theme)
        for ring in ([p(0, r0, c0), p(0, r0, c1 + 1), p(0, r1 + 1, c1 + 1), p(0, r1 + 1, c0)],
                     [p(d0, 0, c0), p(d0, 0, c1 + 1), p(d1 + 1, 0, c1 + 1), p(d1 + 1, 0, c0)]):
            sheet.polygon(ring, facecolor=mix(fill, theme.bg, 0.35), edgecolor=shadow,
                          linewidth=THIN_PT, linestyle=(0, (1, 1.5)), zorder=2.5,
                          gid=f"shadow-{name}")
        shades = (1.0, 0.8, 0.6) if neuron else (0.55, 0.75, 0.4)
        draw_cuboid(sheet, volume, inside, fill, theme, gid="neuron" if neuron else
                    f"footprint-{name}", fill=shades, hidden=not neuron, zorder=4)
        corners = volume.faces(inside)[0]
    xs = [c[0] for c in corners]
    ys = [c[1] for c in corners]
    if min(max(xs) - min(xs), max(ys) - min(ys)) < MIN_FEATURE_IN:
        sheet.circle((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2, 0.075,
                     facecolor="none", edgecolor=fill if neuron else edge_color(fill, theme),
                     linewidth=1.0, zorder=5.5, gid=f"marker-{name}")
        if not neuron:
            notes.add("ringed")
    return corners
