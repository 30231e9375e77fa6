"""The classic "receptive field vs feature map" figure: 3-D blocks with one neuron's field.

The input is drawn as an H×W×C block in an oblique (cabinet) projection, the chosen neuron's
receptive field as a k×k×C prism at its true place in it (``LayerInfo.box``, clipped to the
input, the part in the padding hatched), and every later layer as a block of feature maps with
the neuron's footprint in it (the units it depends on, see ``geometry.footprints``); lines run
from each footprint to the next, ending at the neuron.

Every length (height, width, channels) is drawn as ``n`` up to 16 and as ``16 (1 + ln(n / 16))``
above, one scale for all edges, and the figure says so when it applies; positions inside a
block's front face are linear, so the field sits exactly where it is.  The depth never outgrows
the face: it is drawn at most ``DEPTH_MAX`` of the face's longer side, and the figure says so
where that shortens a block.  More than 16 channels are drawn as a stack of a few thin sheets,
labelled with the count.  A footprint's prism is as deep as its block but at most
``FOOTPRINT_DEPTH`` of its front side, so a 4×4×16 footprint reads as a box, a patch of its
layer, not a rod; its caption gives the channels it spans.  Features too small to see (a 1×1
field in a 1,000-pixel input) are drawn at their true size and ringed; a note says so unless
the only ring is the neuron's.

The default neuron is (H//4, 2W//3) of the chosen layer: off centre, so the field's position
shows.  At most six blocks are drawn (fewer where long layer names would leave them too small),
evenly picked from the layers the neuron depends on; pointwise layers (relu, batchnorm, sigmoid,
...: same shape and field as their input) are left out unless named in ``layers``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from matplotlib.transforms import Affine2D

from rfdocs.compute import Analysis, LayerInfo, Network, analyze, clipped_box, parse_spec
from rfdocs.compute.budget import Cost
from rfdocs.compute.receptive import clipped_box_nd
from rfdocs.figures.base import FigureKind, Rendered
from rfdocs.figures.cost import BUDGET_OPTIONS, budget_of, diagram_cost, require
from rfdocs.figures.geometry import (
    LINE_PT,
    MIN_FEATURE_IN,
    PASSTHROUGH_OPS,
    THIN_PT,
    TITLE_PT,
    VOLUME_ANGLE,
    Sheet,
    Volume,
    ancestors,
    box_size,
    draw_volume,
    edge_color,
    evenly,
    face_colors,
    footprints,
    int_tuple,
    is_empty,
    mix,
    split_name,
    target_layer,
    target_neuron,
    unit_transform,
    wrap_words,
)
from rfdocs.figures.options import Option, OptionError, name_list, word
from rfdocs.figures.style import Theme
from rfdocs.figures.text import fmt_count, fmt_dims

DEFAULT_SPEC = "input 50x50x3\nconv 5x5 /1 x100\n"
MAX_BLOCKS = 6
LOG_ABOVE = 16  # edges longer than this are drawn on a log scale
SOLID_MAX = 16  # more channels than this are drawn as a stack of sheets
FACE_MAX_IN = 1.7  # the largest front face side, inches
MIN_LARGEST_IN = 0.9  # fewer blocks are drawn rather than the largest face (or padding
# band) below this
TITLE_MAX_IN = 1.15  # longer layer names break onto two lines
WIDTH_MAX_IN = 9.0  # the widest the figure may grow before blocks shrink
SLOT_GAP_IN = 0.42  # between neighbouring blocks (with their labels)
DEPTH_ANGLE = math.radians(40)
DEPTH_SCALE = 0.5  # cabinet projection: depth drawn at half length
DEPTH_MAX = 0.7  # the drawn depth is at most this fraction of the face's longer side
FOOTPRINT_DEPTH = 0.6  # a footprint's prism is at most this fraction of its front side deep
MIN_FACE_IN = 0.07
MIN_DEPTH_IN = 0.035
PAD_IN = 0.05  # label to edge
SLAB_IN = 0.04  # thickness of one sheet of a stack of feature maps
MAX_SLABS = 8
SWATCH_IN = 0.09

Number = int | float | Fraction


def drawn_length(n: Number) -> float:
    """The drawn length of an edge of ``n`` units: linear to 16, logarithmic above."""
    return float(n) if n <= LOG_ABOVE else LOG_ABOVE * (1 + math.log(n / LOG_ABOVE))


def drawn_depth(shape: Sequence[int]) -> tuple[float, bool]:
    """The drawn depth of an H×W×C block in ``drawn_length`` units, ``DEPTH_SCALE`` of
    ``drawn_length(C)`` but at most ``DEPTH_MAX`` of the face's longer side, and whether that
    cap shortened it."""
    rows, cols, chans = shape[:3]
    full = drawn_length(chans) * DEPTH_SCALE
    cap = DEPTH_MAX * max(drawn_length(rows), drawn_length(cols))
    return min(full, cap), full > cap


def slab_count(channels: int, depth: float, face: float) -> int:
    """1 (a solid block) up to 16 channels; more are 3 to 8 sheets, close enough to read as
    one stack (``depth`` and the smaller ``face`` side in inches)."""
    if channels <= SOLID_MAX:
        return 1
    return max(3, min(MAX_SLABS, round(depth / (0.6 * face)) + 1))


# --------------------------------------------------------------------------- options


OPTIONS = (
    Option("layer", word, None, "a layer name",
           "The layer whose neuron is shown (default: the last layer)."),
    Option("neuron", int_tuple(0, 10**6), None,
           "row,col inside the layer (d,row,col for a volume)",
           "The neuron, as row,col of its layer (d,row,col of a volume; default: (H//4, 2*W//3), "
           "off centre so the field's position is visible, at the middle depth D//2)."),
    Option("layers", name_list(64), None, "a list of layer names",
           "The layers to draw as blocks between the input and the neuron's layer (default: "
           "every layer it depends on except pointwise ones (relu, batchnorm, ...); at most "
           f"{MAX_BLOCKS} blocks are drawn, evenly spaced, and the figure says which were "
           "skipped)."),
    *BUDGET_OPTIONS,
)


def _candidates(analysis: Analysis, target: LayerInfo, names: Sequence[str] | None
                ) -> list[LayerInfo]:
    """The nodes that may be drawn, input first, target last (at most ``MAX_BLOCKS`` are)."""
    feeding = ancestors(analysis, target.name)
    if names is None:
        return [n for n in feeding if n.op not in PASSTHROUGH_OPS or n is target
                or n.layer is None]
    by_name = {n.name: n for n in feeding}
    for name in names:
        if name not in by_name:
            try:
                analysis[name]
            except KeyError:
                raise OptionError("layers", f"no layer called {name!r}") from None
            raise OptionError("layers", f"{name!r} does not feed {target.name!r}, so it "
                              "holds no part of the neuron's field")
    wanted = set(names) | {feeding[0].name, target.name}
    return [n for n in feeding if n.name in wanted]


# --------------------------------------------------------------------------- layout

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in inches
RING_IN = 0.075  # radius of the ring around features too small to see


@dataclass(frozen=True)
class Part:
    """What one block shows: its node, the units of its footprint (rows r0..r1, cols c0..c1,
    inclusive, maybe past the map's edges) and its labels."""

    info: LayerInfo
    box: tuple[Number, Number, Number, Number]
    neuron: bool
    caption: str
    title: tuple[str, ...]  # the layer's name, on two lines where it is long

    @property
    def hangs(self) -> bool:
        """The footprint reaches into the padding around the map."""
        r0, r1, c0, c1 = self.box
        return r0 < 0 or c0 < 0 or r1 > self.info.shape[0] - 1 or c1 > self.info.shape[1] - 1

    def shown(self) -> tuple[int, int, int, int] | None:
        """The whole units of the footprint inside the map (r0, r1, c0, c1), or None."""
        r0, r1, c0, c1 = self.box
        rows, cols = self.info.shape[:2]
        a, b = max(math.ceil(r0), 0), min(math.floor(r1), rows - 1)
        c, d = max(math.ceil(c0), 0), min(math.floor(c1), cols - 1)
        return (a, b, c, d) if a <= b and c <= d else None


@dataclass(frozen=True)
class Block:
    """A part placed on the sheet, in inches; the front face's bottom-left corner is (x0, 0)."""

    part: Part
    x0: float
    fw: float
    fh: float
    dx: float
    dy: float
    band: Rect | None  # the padding around the face that the footprint reaches into
    ring: tuple[float, float] | None  # centre of the ring around a tiny footprint
    label_h: tuple[float, float]  # right end of the height label, and its y
    label_w: tuple[float, float]  # centre-top of the width label
    label_d: tuple[float, float]  # left-top of the depth label
    left: float  # the slot: everything drawn for the block, captions included
    right: float

    def units(self) -> Affine2D:
        """Unit (col, row) coordinates of the front face -> inches."""
        rows, cols = self.part.info.shape[:2]
        return unit_transform(self.x0, 0.0, self.fw, self.fh, rows, cols)

    def rect_of(self, c0: Number, r0: Number, c1: Number, r1: Number) -> Rect:
        """Units [c0, c1) × [r0, r1) of the front face in inches (x0, y0, x1, y1)."""
        rows, cols = self.part.info.shape[:2]
        uw, uh = self.fw / cols, self.fh / rows
        return (self.x0 + float(c0) * uw, self.fh - float(r1) * uh,
                self.x0 + float(c1) * uw, self.fh - float(r0) * uh)


def _geometry(sheet: Sheet, part: Part, scale: float, x0: float) -> Block:
    rows, cols = part.info.shape[:2]
    fw = max(drawn_length(cols) * scale, MIN_FACE_IN)
    fh = max(drawn_length(rows) * scale, MIN_FACE_IN)
    depth = max(drawn_depth(part.info.shape)[0] * scale, MIN_DEPTH_IN)
    dx, dy = depth * math.cos(DEPTH_ANGLE), depth * math.sin(DEPTH_ANGLE)
    r0, r1, c0, c1 = part.box
    uw, uh = fw / cols, fh / rows
    feature = (x0 + float(c0) * uw, fh - float(r1 + 1) * uh,
               x0 + float(c1 + 1) * uw, fh - float(r0) * uh)
    band = None
    if part.hangs and not part.neuron:
        band = (min(feature[0], x0), min(feature[1], 0.0), max(feature[2], x0 + fw),
                max(feature[3], fh))
    shown = part.shown()
    ring = None
    if shown is None:
        ring = ((feature[0] + feature[2]) / 2, (feature[1] + feature[3]) / 2)
    elif min((shown[3] - shown[2] + 1) * uw, (shown[1] - shown[0] + 1) * uh) < MIN_FEATURE_IN:
        ring = (x0 + (shown[2] + shown[3] + 1) * uw / 2, fh - (shown[0] + shown[1] + 1) * uh / 2)
    lo_x, lo_y, hi_x = x0, 0.0, x0 + fw + dx / 2
    if band is not None:
        lo_x, lo_y, hi_x = min(lo_x, band[0]), min(lo_y, band[1]), max(hi_x, band[2])
    if ring is not None:
        lo_x, lo_y = min(lo_x, ring[0] - RING_IN), min(lo_y, ring[1] - RING_IN)
        hi_x = max(hi_x, ring[0] + RING_IN)
    label_h = (lo_x - PAD_IN, fh / 2)
    label_w = (x0 + fw / 2, lo_y - PAD_IN)
    label_d = (hi_x + PAD_IN, dy / 2 - 0.02)
    h, w, c = (fmt_count(v) for v in part.info.shape)
    under = max([sheet.measure(line, TITLE_PT, True)[0] for line in part.title]
                + [sheet.measure(part.caption)[0] + SWATCH_IN + 0.06, sheet.measure(w)[0]])
    left = min(label_h[0] - sheet.measure(h)[0], x0 + fw / 2 - under / 2)
    right = max(x0 + fw + dx, label_d[0] + sheet.measure(c)[0], x0 + fw / 2 + under / 2)
    if band is not None:
        right = max(right, band[2])
    return Block(part, x0, fw, fh, dx, dy, band, ring, label_h, label_w, label_d, left, right)


def _place(sheet: Sheet, parts: Sequence[Part], scale: float) -> list[Block]:
    blocks = []
    cursor = 0.0
    for part in parts:
        probe = _geometry(sheet, part, scale, 0.0)
        block = _geometry(sheet, part, scale, cursor - probe.left)
        blocks.append(block)
        cursor = block.right + SLOT_GAP_IN
    return blocks


def _layout(sheet: Sheet, parts: Sequence[Part]) -> tuple[list[Block], bool]:
    """Blocks left to right, bottoms aligned, all drawn to one scale that fits the width;
    False where that leaves the largest face smaller than ``MIN_LARGEST_IN``."""
    longest = 1.0
    for part in parts:
        rows, cols, _ = part.info.shape
        r0, r1, c0, c1 = part.box
        spread = max(1.0, float(r1 - r0 + 1) / rows, float(c1 - c0 + 1) / cols)  # padding band
        longest = max(longest, drawn_length(max(rows, cols)) * spread)  # the depth is shorter
    scale = FACE_MAX_IN / longest
    blocks = _place(sheet, parts, scale)
    for _ in range(8):  # shrink until the row fits (label widths do not scale)
        width = blocks[-1].right - blocks[0].left
        if width <= WIDTH_MAX_IN:
            break
        scale *= max(0.5, WIDTH_MAX_IN / width * 0.98)
        blocks = _place(sheet, parts, scale)
    width = blocks[-1].right - blocks[0].left
    largest = max(max(b.fw, b.fh) if b.band is None else
                  max(b.band[2] - b.band[0], b.band[3] - b.band[1]) for b in blocks)
    return blocks, width <= WIDTH_MAX_IN + 0.01 and largest >= MIN_LARGEST_IN


# --------------------------------------------------------------------------- drawing


def _draw_block(sheet: Sheet, block: Block, color: str, theme: Theme) -> None:
    """The block's faces; many channels as a stack of thin sheets spread over the depth."""
    front, top, side = face_colors(color, theme)
    edge = edge_color(color, theme)
    x0, fw, fh = block.x0, block.fw, block.fh
    depth = math.hypot(block.dx, block.dy)
    n = slab_count(block.part.info.shape[2], depth, min(fw, fh))
    if n == 1:
        spans = [(0.0, 1.0)]
    else:
        t = min(SLAB_IN / depth, 0.5 / n)
        spans = [(i * (1 - t) / (n - 1), i * (1 - t) / (n - 1) + t) for i in range(n)]
    faces: list[list[tuple[float, float]]] = []
    colors: list[str] = []
    for a, b in reversed(spans):  # back to front, so nearer sheets hide farther ones
        ax_, ay_, bx_, by_ = block.dx * a, block.dy * a, block.dx * b, block.dy * b
        faces += [[(x0 + fw + ax_, ay_), (x0 + fw + bx_, by_), (x0 + fw + bx_, fh + by_),
                   (x0 + fw + ax_, fh + ay_)],
                  [(x0 + ax_, fh + ay_), (x0 + fw + ax_, fh + ay_), (x0 + fw + bx_, fh + by_),
                   (x0 + bx_, fh + by_)],
                  [(x0 + ax_, ay_), (x0 + fw + ax_, ay_), (x0 + fw + ax_, fh + ay_),
                   (x0 + ax_, fh + ay_)]]
        colors += [side, top, front]
    sheet.polygons(faces[:-1], facecolors=colors[:-1], edgecolor=edge, zorder=2,
                   gid=f"faces-{block.part.info.name}")
    sheet.polygon(faces[-1], facecolor=front, edgecolor=edge, zorder=2,
                  gid=f"block-{block.part.info.name}")


def _strips(outer: Rect, inner: Rect) -> list[Rect]:
    """``outer`` minus ``inner`` as up to four rectangles."""
    x0, y0, x1, y1 = outer
    i0, j0, i1, j1 = max(inner[0], x0), max(inner[1], y0), min(inner[2], x1), min(inner[3], y1)
    out = [(x0, y0, x1, j0), (x0, j1, x1, y1), (x0, j0, i0, j1), (i1, j0, x1, j1)]
    return [s for s in out if s[2] - s[0] > 1e-9 and s[3] - s[1] > 1e-9]


def _draw_feature(sheet: Sheet, block: Block, theme: Theme, notes: set[str]) -> Rect:
    """The footprint: a prism on the front face, as deep as the block but at most
    ``FOOTPRINT_DEPTH`` of its front side (the neuron: one flat unit), the part in the padding
    hatched; returns its front face for the projection lines."""
    part = block.part
    r0, r1, c0, c1 = part.box
    tf = block.units()
    color = theme.neuron if part.neuron else theme.field
    edge = edge_color(color, theme)
    face = (block.x0, 0.0, block.x0 + block.fw, block.fh)
    feature = block.rect_of(c0, r0, c1 + 1, r1 + 1)
    if block.band is not None:
        hatch: dict[str, Any] = {"hatch": "////", "linewidth": 0.0, "zorder": 3}
        for x0, y0, x1, y1 in _strips(block.band, face):
            sheet.polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], facecolor="none",
                          hatchcolor=theme.muted, gid="padding", **hatch)
        for x0, y0, x1, y1 in _strips(feature, face):
            sheet.polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)],
                          facecolor=mix(color, theme.bg, 0.3), hatchcolor=edge,
                          gid="field-padding", **hatch)
        sheet.rect(float(c0), float(r0), float(c1 - c0 + 1), float(r1 - r0 + 1), transform=tf,
                   facecolor="none", edgecolor=edge, linestyle=(0, (3, 2)), zorder=4.6,
                   gid="field-box")
        notes.add("padding")
    shown = part.shown()
    gid = "neuron" if part.neuron else "field"
    if block.ring is not None:
        _ring(sheet, block.ring, edge if not part.neuron else theme.neuron, f"{gid}-marker")
        if not part.neuron:  # the neuron's ring explains itself
            notes.add("ringed")
    if shown is None:
        return feature
    a, b, c, d = shown
    x_a, y_a, x_b, y_b = block.rect_of(c, a, d + 1, b + 1)
    if not part.neuron:
        style: dict[str, Any] = {"edgecolor": edge, "linewidth": LINE_PT, "zorder": 4, "alpha": 0.95}
        side = max(x_b - x_a, y_b - y_a)
        cut = min(1.0, FOOTPRINT_DEPTH * side / max(math.hypot(block.dx, block.dy), 1e-9))
        dx, dy = block.dx * cut, block.dy * cut
        sheet.polygon([(x_b, y_a), (x_b + dx, y_a + dy), (x_b + dx, y_b + dy), (x_b, y_b)],
                      facecolor=mix(color, theme.bg, 0.7), gid="field-side", **style)
        sheet.polygon([(x_a, y_b), (x_b, y_b), (x_b + dx, y_b + dy), (x_a + dx, y_b + dy)],
                      facecolor=mix(color, theme.bg, 0.5), gid="field-top", **style)
    sheet.rect(c, a, d - c + 1, b - a + 1, transform=tf,
               facecolor=color if part.neuron else mix(color, theme.bg, 0.88),
               edgecolor=edge, zorder=4.5 if not part.neuron else 5, gid=gid)
    return (x_a, y_a, x_b, y_b)


def _ring(sheet: Sheet, centre: tuple[float, float], color: str, gid: str) -> None:
    sheet.circle(centre[0], centre[1], RING_IN, facecolor="none", edgecolor=color,
                 linewidth=1.0, zorder=5.5, gid=gid)


def _project(sheet: Sheet, src: Rect, dst: Rect, theme: Theme) -> None:
    """Lines from the corners of one footprint to the matching corners of the next."""
    color = edge_color(theme.field, theme)
    for i, j in ((0, 1), (2, 1), (0, 3), (2, 3)):
        sheet.line([src[i], dst[i]], [src[j], dst[j]], color=color, linewidth=THIN_PT,
                   alpha=0.9, zorder=6)


def _draw_labels(sheet: Sheet, block: Block, theme: Theme, caption_y: float,
                 title_lines: int) -> None:
    h, w, c = (fmt_count(v) for v in block.part.info.shape)
    sheet.text(*block.label_h, h, ha="right", gid="dim-height")
    sheet.text(*block.label_w, w, va="top", gid="dim-width")
    sheet.text(*block.label_d, c, ha="left", va="top", gid="dim-depth")
    cx = block.x0 + block.fw / 2
    title_h = sheet.measure("Ag", TITLE_PT, True)[1] + 0.02
    for i, line in enumerate(block.part.title):
        sheet.text(cx, caption_y - i * title_h, line, size=TITLE_PT, va="top", bold=True,
                   gid="title")
    _, line_h = sheet.measure(block.part.caption)
    mid = caption_y - title_lines * title_h - 0.03 - line_h / 2
    cap_w = sheet.measure(block.part.caption)[0]
    left = cx - (cap_w + SWATCH_IN + 0.06) / 2
    swatch = theme.neuron if block.part.neuron else theme.field
    sheet.rect(left, mid - SWATCH_IN / 2, SWATCH_IN, SWATCH_IN, facecolor=swatch,
               edgecolor=edge_color(swatch, theme), linewidth=THIN_PT, zorder=9)
    sheet.text(left + SWATCH_IN + 0.06, mid, block.part.caption, ha="left", gid="caption")


# --------------------------------------------------------------------------- render


def render(network: Network | None, options: Mapping[str, Any], theme: Theme) -> Rendered:
    """Draw the input, the chosen neuron's layer and the layers between as 3-D blocks."""
    net = network if network is not None else parse_spec(DEFAULT_SPEC)
    require(options, estimate(net), "the block figure", ["the network's number of layers"])
    analysis = analyze(net)
    target = target_layer(analysis, options.get("layer"))
    *_, h_t, w_t = target.spatial
    default = (*(n // 2 for n in target.spatial[:-2]), h_t // 4, 2 * w_t // 3)
    unit = target_neuron(target, options.get("neuron"), default)
    candidates = _candidates(analysis, target, options.get("layers"))
    if target.ndim == 3:
        drawn = _render_volumes(analysis, target, unit, candidates, theme)
        return Rendered(drawn.figure, drawn.alt, drawn.numbers, budget=budget_of(options))
    neuron = (unit[0], unit[1])
    feet = footprints(analysis, target.name, neuron)
    src = analysis.input
    (br0, br1), (bc0, bc1) = target.box(*neuron)
    field_dims = (br1 - br0 + 1, bc1 - bc0 + 1, src.shape[2])

    sheet = Sheet(theme)

    def part(info: LayerInfo) -> Part:
        title = split_name(sheet, info.name, TITLE_MAX_IN)
        if info is target:
            return Part(info, (neuron[0], neuron[0], neuron[1], neuron[1]), True,
                        f"neuron ({neuron[0]}, {neuron[1]})", title)
        if info is src:
            return Part(info, (br0, br1, bc0, bc1), False, f"{fmt_dims(field_dims)} field", title)
        (r0, r1), (c0, c1) = feet[info.name]
        dims = (*box_size(feet[info.name]), info.shape[2])
        return Part(info, (r0, r1, c0, c1), False, fmt_dims(dims), title)

    count = min(len(candidates), MAX_BLOCKS)
    while True:  # fewer blocks where long names would leave the blocks too small to read
        nodes = evenly(candidates, count)
        parts = [part(info) for info in nodes]
        blocks, fits = _layout(sheet, parts)
        if fits or count <= 3:
            break
        count -= 1
    notes: set[str] = set()
    for block in blocks:
        _draw_block(sheet, block, theme.input if block.part.info is src else theme.maps, theme)
    fronts = [_draw_feature(sheet, block, theme, notes) for block in blocks]
    for a, b in zip(fronts, fronts[1:], strict=False):
        _project(sheet, a, b, theme)
    label_h = sheet.measure("0")[1]
    caption_y = min(b.label_w[1] for b in blocks) - label_h - 0.1
    title_lines = max(len(p.title) for p in parts)
    for block in blocks:
        _draw_labels(sheet, block, theme, caption_y, title_lines)
    lines = _notes(nodes, len(candidates), notes)
    if lines:
        x, y = sheet.bounds[0], sheet.bounds[1] - 0.1
        for line in wrap_words(sheet, " ".join(lines), max(sheet.bounds[2] - x, 3.0)):
            sheet.text(x, y, line, ha="left", va="top", color=theme.muted, gid="note")
            y -= sheet.measure(line)[1] + 0.02
    fig = sheet.finish()

    inside = clipped_box(target, neuron[0], neuron[1], src.shape[:2])
    numbers = {
        "input_shape": src.shape,
        "field": field_dims,
        "field_box": ((br0, br1), (bc0, bc1)),
        "field_in_input": inside,
        "layer": target.name,
        "neuron": neuron,
        "output_shape": target.shape,
        "blocks": tuple(n.name for n in nodes),
        "footprints": {n.name: feet[n.name] for n in nodes},
        "log_scale": _log_scaled(nodes),
        "depth_shortened": tuple(n.name for n in nodes if drawn_depth(n.shape)[1]),
    }
    return Rendered(fig, _alt(target, neuron, parts, field_dims, inside), numbers,
                    budget=budget_of(options))



# --------------------------------------------------------------------------- volumes

VOLUME_DEPTH = 0.5  # a volume's depth axis drawn at half length (cabinet projection)


def _render_volumes(analysis: Analysis, target: LayerInfo, neuron: tuple[int, ...],
                    candidates: Sequence[LayerInfo], theme: Theme) -> Rendered:
    """A 3-D network: the input volume, the layers between and the neuron's layer drawn as
    D×H×W volumes to one scale (log above 16 units, linear inside each), the field as a box at
    its true place in the input (the part in the padding hatched), each later layer with the
    box of units the neuron depends on, and the neuron."""
    feet = footprints(analysis, target.name, neuron)
    src = analysis.input
    field_box = target.box(*neuron)
    field_dims = (*(hi - lo + 1 for lo, hi in field_box), src.channels)
    nodes = evenly(candidates, MAX_BLOCKS)
    sheet = Sheet(theme)
    cos, sin = math.cos(VOLUME_ANGLE), math.sin(VOLUME_ANGLE)

    def caption(info: LayerInfo) -> str:
        if info is target:
            return f"neuron ({', '.join(str(u) for u in neuron)})"
        if info is src:
            return f"{fmt_dims(field_dims)} field"
        return fmt_dims((*box_size(feet[info.name]), info.channels))

    longest = max(max(drawn_length(info.shape[1]), drawn_length(info.shape[2]))
                  + VOLUME_DEPTH * drawn_length(info.shape[0]) * max(cos, sin) for info in nodes)
    scale = FACE_MAX_IN / longest
    titles = [split_name(sheet, n.name, TITLE_MAX_IN) for n in nodes]
    for _ in range(8):
        placed = []
        cursor = 0.0
        for info, title in zip(nodes, titles, strict=True):
            d, h, w = info.spatial
            probe = Volume.at((d, h, w), 0.0, 0.0, drawn_length(w) * scale,
                              drawn_length(h) * scale, VOLUME_DEPTH * drawn_length(d) * scale)
            region = [(0, n - 1) for n in info.spatial]
            box = feet[info.name]
            if not is_empty(box):
                region = [(min(a, 0), max(b, n - 1)) for (a, b), n in zip(box, info.spatial,
                                                                         strict=True)]
            pts = [probe.point(z, r, c) for z in (region[0][0], region[0][1] + 1)
                   for r in (region[1][0], region[1][1] + 1) for c in (region[2][0], region[2][1] + 1)]
            x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
            y0 = min(p[1] for p in pts)
            texts = [sheet.measure(t, TITLE_PT, True)[0] for t in title]
            texts += [sheet.measure(fmt_dims(info.shape))[0],
                      sheet.measure(caption(info))[0] + SWATCH_IN + 0.06]
            slot = max(x1 - x0, *texts)
            shift = cursor + (slot - (x1 - x0)) / 2 - x0
            placed.append((info, title, Volume(probe.sizes, probe.x0 + shift, probe.y0 - y0,
                                               probe.fw, probe.fh, probe.dx, probe.dy),
                           cursor + slot / 2))
            cursor += slot + SLOT_GAP_IN
        width = cursor - SLOT_GAP_IN
        if width <= WIDTH_MAX_IN:
            break
        scale *= max(0.5, WIDTH_MAX_IN / width * 0.98)
    notes: set[str] = set()
    fronts = []
    for info, _, vol, _ in placed:
        color = theme.input if info is src else theme.maps
        fronts.append(draw_volume(sheet, vol, feet[info.name], theme, color=color,
                                  neuron=info is target, name=info.name, notes=notes))
    line = edge_color(theme.field, theme)
    for a, b in zip(fronts, fronts[1:], strict=False):
        if a and b:
            for p, q in zip(a, b, strict=True):
                sheet.line([p[0], q[0]], [p[1], q[1]], color=line, linewidth=THIN_PT,
                           alpha=0.9, zorder=6)
    label_h = sheet.measure("Ag")[1]
    title_h = sheet.measure("Ag", TITLE_PT, True)[1] + 0.02
    y_top = sheet.bounds[1] - 0.1
    for info, title, _, cx in placed:
        y = y_top
        for t in title:
            sheet.text(cx, y, t, size=TITLE_PT, va="top", bold=True, gid="title")
            y -= title_h
        y = y_top - max(len(t) for t in titles) * title_h
        sheet.text(cx, y, fmt_dims(info.shape), va="top", color=theme.muted, gid="shape")
        mid = y - label_h - 0.05 - label_h / 2
        text = caption(info)
        left = cx - (sheet.measure(text)[0] + SWATCH_IN + 0.06) / 2
        swatch = theme.neuron if info is target else theme.field
        sheet.rect(left, mid - SWATCH_IN / 2, SWATCH_IN, SWATCH_IN, facecolor=swatch,
                   edgecolor=edge_color(swatch, theme), linewidth=THIN_PT, zorder=9)
        sheet.text(left + SWATCH_IN + 0.06, mid, text, ha="left", gid="caption")
    lines = []
    if any(max(n.spatial) > LOG_ABOVE for n in nodes):
        lines.append(f"Edges longer than {LOG_ABOVE} are drawn on a log scale.")
    lines.append(f"Depth drawn at {VOLUME_DEPTH:g} scale; the channels are in the labels.")
    if "padding" in notes:
        lines.append("Hatched: zero padding.")
    if "ringed" in notes:
        lines.append("Rings mark features too small to see.")
    if len(candidates) > len(nodes):
        lines.append(f"{len(nodes)} of {len(candidates)} layers drawn; "
                     "the field is traced through all of them.")
    x, y = sheet.bounds[0], sheet.bounds[1] - 0.1
    for text in wrap_words(sheet, " ".join(lines), max(sheet.bounds[2] - x, 3.0)):
        sheet.text(x, y, text, ha="left", va="top", color=theme.muted, gid="note")
        y -= sheet.measure(text)[1] + 0.02
    fig = sheet.finish()
    inside = clipped_box_nd(target, neuron, src.spatial)
    numbers = {
        "input_shape": src.shape,
        "field": field_dims,
        "field_box": field_box,
        "field_in_input": inside,
        "layer": target.name,
        "neuron": neuron,
        "output_shape": target.shape,
        "blocks": tuple(n.name for n in nodes),
        "footprints": {n.name: feet[n.name] for n in nodes},
        "log_scale": any(max(n.spatial) > LOG_ABOVE for n in nodes),
    }
    where = f"in a {fmt_dims(src.shape)} input"
    if inside is None:
        where += " (none of it on an input voxel)"
    else:
        got = tuple(b - a + 1 for a, b in inside)
        if got != tuple(field_dims[:-1]):
            where += f" ({fmt_dims(got)} of it inside the input, the rest padding)"
    alt = (f"A {fmt_dims(field_dims)} receptive field {where} feeds neuron "
           f"({', '.join(str(u) for u in neuron)}) of a {fmt_dims(target.shape)} block of "
           f"feature maps ({target.name})")
    between = nodes[1:-1]
    if between:
        alt += ", through " + ", ".join(f"{caption(n)} units of {n.name}" for n in between)
    return Rendered(fig, alt + ".", numbers)


def estimate(net: Network) -> Cost:
    """What the figure costs: the network's nodes, at most ``MAX_BLOCKS`` blocks of a few
    labels and up to ``MAX_SLABS`` sheets each, on a canvas at most ``WIDTH_MAX_IN`` wide."""
    return diagram_cost(len(net.layers) + 1, 8 * MAX_BLOCKS + 8,
                        (3 * MAX_SLABS + 16) * MAX_BLOCKS, WIDTH_MAX_IN + 1.0, 4.0)


def _log_scaled(nodes: Sequence[LayerInfo]) -> bool:
    """Some drawn edge is on the log scale (a depth shortened to fit the face is not drawn to
    any scale, so it does not count)."""
    return any(max(n.shape[:2]) > LOG_ABOVE
               or (n.shape[2] > LOG_ABOVE and not drawn_depth(n.shape)[1]) for n in nodes)


def _notes(nodes: Sequence[LayerInfo], candidates: int, flags: set[str]) -> list[str]:
    out = []
    if _log_scaled(nodes):
        out.append(f"Edges longer than {LOG_ABOVE} are drawn on a log scale.")
    if any(drawn_depth(n.shape)[1] for n in nodes):
        out.append("Deep blocks are drawn shortened.")
    if "padding" in flags:
        out.append("Hatched: zero padding.")
    if "ringed" in flags:
        out.append("Rings mark features too small to see.")
    if candidates > len(nodes):
        out.append(f"{len(nodes)} of {candidates} layers drawn; "
                   "the field is traced through all of them.")
    return out


def _alt(target: LayerInfo, neuron: tuple[int, int], parts: Sequence[Part],
         field_dims: tuple[Number, Number, int],
         inside: tuple[tuple[int, int], tuple[int, int]] | None) -> str:
    src = parts[0].info
    where = f"in a {fmt_dims(src.shape)} input"
    if inside is None:
        where += " (none of it on an input pixel)"
    else:
        got = (inside[0][1] - inside[0][0] + 1, inside[1][1] - inside[1][0] + 1)
        whole = all(not isinstance(v, Fraction) or v.denominator == 1 for v in field_dims)
        if got != tuple(field_dims[:2]):
            where += (f" ({fmt_dims(got)} of it inside the input, the rest padding)" if whole
                      else f" ({fmt_dims(got)} of it on whole input pixels)")
    text = (f"A {fmt_dims(field_dims)} receptive field {where} feeds neuron "
            f"({neuron[0]}, {neuron[1]}) of a {fmt_dims(target.shape)} block of feature maps")
    between = parts[1:-1]
    if between:
        text += f" ({target.name}), through " + ", ".join(
            f"{p.caption} units of {p.info.name}" for p in between)
    return text + "."


KIND = FigureKind(
    name="block",
    summary="The input and feature maps as 3-D blocks, with one neuron's receptive field.",
    options=OPTIONS,
    render_function=render,
    estimate_function=lambda network, options: estimate(network or parse_spec(DEFAULT_SPEC)),
    dimensions=(2, 3),
    draws="images and volumes",
)
