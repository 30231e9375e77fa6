"""The dilated stack of a 1-D network (WaveNet's picture): a row of units per layer, the input
at the bottom, and the connections that feed one output unit drawn through every layer.

What is drawn is computed, not sketched: starting from the chosen unit, every layer's reads are
followed back exactly (a convolution or pool's output ``o`` reads positions ``o s - p + i d``,
a transposed convolution's ``q`` with ``q s + i d - p = o``, nearest and linear upsampling the
source units with a non-zero weight, a pad layer its shifted unit, a global pool or flatten
every unit, a merge the same position or a broadcast unit 0), so the highlighted units of each
row are exactly the ones the unit depends on and a dilated layer's connections skip the units
it skips.  Positions a layer reads outside its input are its padding, drawn as squares beside
the row (causal padding: all before the first step).  Pointwise layers (same units as their
input) are not drawn; a connection that skips rows (a residual add) is drawn as a dashed curve.

Each row is aligned in time: unit ``i`` of a layer whose units stand ``j`` input steps apart is
drawn over the input steps it stands for (``i j`` ... ``(i + 1) j - 1``), so a causal stack's
output sits above the newest step it sees.  A sequence longer than ``max_units`` steps is not
squeezed: a window of ``max_units`` steps around the unit (holding as much of its field as
fits) is drawn, rows cut by it end in a break mark, and the figure and its alt text say which
steps are shown and how much of the field lies beyond.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib import ft2font
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.patches import PathPatch
from matplotlib.path import Path
from matplotlib.textpath import TextPath

from rfdocs.compute import Analysis, LayerInfo, Network, analyze, parse_spec
from rfdocs.compute.budget import Cost, alloc
from rfdocs.compute.spec import GLOBAL_OPS, POINTWISE_OPS, WINDOW_OPS
from rfdocs.figures.base import FigureKind, Rendered, require_dimensions
from rfdocs.figures.cost import BUDGET_OPTIONS, budget_of, diagram_cost, require
from rfdocs.figures.geometry import (
    LABEL_PT,
    LINE_PT,
    THIN_PT,
    TITLE_PT,
    Sheet,
    ancestors,
    edge_color,
    mix,
    target_layer,
)
from rfdocs.figures.options import Option, int_range, word
from rfdocs.figures.style import Theme
from rfdocs.figures.text import fmt_count, fmt_num

#: WaveNet's picture (van den Oord et al. 2016, figure 3): kernel 2, dilations 1, 2, 4, 8.
DEFAULT_SPEC = """input 24x1
hidden1: conv 2 x16 dil 1 causal
hidden2: conv 2 x16 dil 2 causal
hidden3: conv 2 x16 dil 4 causal
output: conv 2 x16 dil 8 causal
"""
AXIS = 0  # the one spatial axis
DRAWS = "a row of units per layer of a sequence"
WIDTH_IN = 6.2  # the units' area at most this wide
STEP_MAX_IN = 0.2  # one input step at most this wide
ROW_MAX_IN, ROW_MIN_IN = 0.42, 0.2  # between rows
ROWS_SPACE_IN = 6.0  # rows share this height once ROW_MAX_IN would be taller
UNIT_MAX_IN = 0.075  # a unit's diameter at most
MARGIN_STEPS = 2  # steps shown beyond the field where the window has room
MAX_ROWS = 200  # rows drawn at most (the budget usually says so first)
EDGE_WORK, EDGE_BYTES = 60, 48  # one connection followed back (numpy, a few arrays)
UNIT_WORK, UNIT_BYTES = 4_000, 200  # one drawn unit (a marker)

OPTIONS = (
    Option("layer", word, None, "a layer name",
           "The layer whose unit is traced (default: the last layer)."),
    Option("unit", int_range(0, 10**9), None, "a position inside the layer",
           "The unit traced, as a position of its layer (default: the last, the newest step "
           "of a causal network)."),
    Option("max_units", int_range(8, 512), 64, "an integer from 8 to 512",
           "Input steps drawn at most; a longer sequence is shown as a window of this many "
           "steps around the unit, with break marks where rows go on."),
    *BUDGET_OPTIONS,
)


# --------------------------------------------------------------------------- dependencies


Edges = tuple[np.ndarray, np.ndarray]  # (o, q): unit o reads position q of a source


def _reads(info: LayerInfo, source: LayerInfo, units: np.ndarray) -> Edges:
    """Every (o, q) with output unit ``o`` (of ``units``) of ``info`` reading position ``q`` of
    ``source``; a ``q`` outside 0 .. n - 1 is padding the layer reads."""
    layer = info.layer
    assert layer is not None
    n = source.shape[AXIS]
    o = units.astype(np.int64)
    op = layer.op
    if op in GLOBAL_OPS:
        return np.repeat(o, n), np.tile(np.arange(n, dtype=np.int64), o.size)
    if op == "pad":
        q = o - info.pads[2 * AXIS]
        keep = (q >= 0) & (q < n)  # the rest is the pad value: it reads nothing
        return o[keep], q[keep]
    if op == "upsample":
        f = layer.factor[AXIS]
        if layer.mode == "nearest":
            return o, o // f
        # half-pixel centres: x = (2o + 1 - f) / 2f clamped to [0, n - 1]; exact integers
        num = np.clip(2 * o + 1 - f, 0, 2 * f * (n - 1))
        q0 = num // (2 * f)
        frac = num % (2 * f)
        second = frac != 0
        return (np.concatenate([o, o[second]]),
                np.concatenate([q0, np.minimum(q0[second] + 1, n - 1)]))
    if op in WINDOW_OPS:
        k, s, d = layer.kernel[AXIS], layer.stride[AXIS], layer.dilation[AXIS]
        p = info.pads[2 * AXIS]
        taps = np.arange(k, dtype=np.int64) * d
        if op == "deconv":  # q s + i d = o + p for some tap i
            top = (o[:, None] + p - taps[None, :])
            hit = (top % s == 0)
            q = top // s
            hit &= (q >= 0) & (q < n)
            rows = np.broadcast_to(o[:, None], top.shape)
            return rows[hit], q[hit]
        q = o[:, None] * s - p + taps[None, :]
        return np.broadcast_to(o[:, None], q.shape).ravel(), q.ravel()
    if n == 1 and info.shape[AXIS] > 1:  # a broadcast input: unit 0 for every position
        return o, np.zeros_like(o)
    return o, o  # pointwise, merges, dense: the same position


@dataclass(frozen=True)
class Trace:
    """What one unit depends on: per node, the units (sorted) and the padding positions it
    reads, and per edge (reader, source) of the graph the connections (o, q)."""

    units: dict[str, np.ndarray]
    padding: dict[str, np.ndarray]
    edges: dict[tuple[str, str], Edges]


def trace(analysis: Analysis, name: str, unit: int) -> Trace:
    """Follow unit ``unit`` of node ``name`` back to the input through every path."""
    units: dict[str, np.ndarray] = {name: np.array([unit], dtype=np.int64)}
    padding: dict[str, np.ndarray] = {}
    edges: dict[tuple[str, str], Edges] = {}
    for info in reversed(ancestors(analysis, name)):
        if info.layer is None or info.name not in units:
            continue
        for src in dict.fromkeys(info.layer.inputs):
            source = analysis[src]
            o, q = _reads(info, source, units[info.name])
            edges[(info.name, src)] = (o, q)
            n = source.shape[AXIS]
            inside = (q >= 0) & (q < n)
            got = np.unique(q[inside])
            if got.size:
                units[src] = np.union1d(units[src], got) if src in units else got
            outside = np.unique(q[~inside])
            if outside.size:
                padding[src] = np.union1d(padding[src], outside) if src in padding else outside
    return Trace(units, padding, edges)


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Row:
    """One drawn layer: where its units go (``a + i j`` input steps) and what it shows."""

    info: LayerInfo
    y: float  # inches
    a: float
    j: float
    first: int  # first and last position drawn for it, padding included
    last: int

    def x(self, i: np.ndarray | float) -> Any:
        return self.a + np.asarray(i, dtype=np.float64) * self.j


def _drawn(analysis: Analysis, target: LayerInfo) -> list[LayerInfo]:
    return [n for n in ancestors(analysis, target.name)
            if n.layer is None or n is target or n.op not in POINTWISE_OPS]


def _shown_source(analysis: Analysis, name: str, drawn: set[str]) -> str:
    """The drawn node a connection into ``name`` lands on (through pointwise layers)."""
    while name not in drawn:
        layer = analysis[name].layer
        assert layer is not None
        name = layer.inputs[0]
    return name


def _placement(analysis: Analysis, nodes: Sequence[LayerInfo]) -> dict[str, tuple[float, float]]:
    """(a, j) of every node: unit i stands at input step a + i j (the middle of the steps it
    stands for)."""
    place: dict[str, tuple[float, float]] = {}
    for info in analysis.nodes:
        layer = info.layer
        if layer is None:
            place[info.name] = (0.0, 1.0)
            continue
        srcs = [s for s in layer.inputs if analysis[s].shape[AXIS] > 1] or list(layer.inputs)
        src = analysis[srcs[0]]
        a, j = place[src.name]
        op = layer.op
        if op in GLOBAL_OPS:
            place[info.name] = (a + j * (src.shape[AXIS] - 1) / 2, j * src.shape[AXIS])
        elif op == "pad":
            place[info.name] = (a - j * info.pads[2 * AXIS], j)
        elif op == "upsample" or op == "deconv":
            f = layer.factor[AXIS] if op == "upsample" else layer.stride[AXIS]
            jj = j / f
            shift = 0.0 if op == "upsample" else info.pads[2 * AXIS] * jj
            place[info.name] = (a - jj * (f - 1) / 2 - shift, jj)
        elif op in WINDOW_OPS:
            s = layer.stride[AXIS]
            place[info.name] = (a + j * (s - 1) / 2, j * s)
        else:
            place[info.name] = (a, j)
    return {n.name: place[n.name] for n in nodes}


def _padding_drawn(analysis: Analysis, drawn: Sequence[LayerInfo]) -> dict[str, tuple[int, int]]:
    """Padding units (before, after) shown beside each drawn row: the most any layer reading
    it pads (a layer reading through pointwise layers counts too)."""
    names = {n.name for n in drawn}
    out = {n.name: (0, 0) for n in drawn}
    for info in analysis.layers:
        layer = info.layer
        assert layer is not None
        if layer.op not in WINDOW_OPS or layer.op == "deconv":
            continue
        for src in layer.inputs:
            shown = _shown_source(analysis, src, names) if src in names or _reaches(
                analysis, src, names) else None
            if shown is None:
                continue
            b, a = out[shown]
            out[shown] = (max(b, info.pads[2 * AXIS]), max(a, info.pads[2 * AXIS + 1]))
    return out


def _reaches(analysis: Analysis, name: str, drawn: set[str]) -> bool:
    while name not in drawn:
        info = analysis[name]
        if info.layer is None or info.op not in POINTWISE_OPS:
            return False
        name = info.layer.inputs[0]
    return True


@dataclass(frozen=True)
class Window:
    """Input steps first .. last drawn (all of them when ``cut`` is False)."""

    first: int
    last: int
    cut: bool


def _window(rows: Sequence[Row], feet: Mapping[str, np.ndarray], target_x: float,
            field: tuple[float, float], max_units: int) -> Window:
    lo_all = min(float(r.x(r.first)) for r in rows)
    hi_all = max(float(r.x(r.last)) for r in rows)
    first, last = math.floor(lo_all + 0.5), math.ceil(hi_all - 0.5)
    if last - first + 1 <= max_units:
        return Window(first, last, False)
    seq_lo = min(float(r.x(0)) for r in rows)
    seq_hi = max(float(r.x(r.info.shape[AXIS] - 1)) for r in rows)
    if seq_hi - seq_lo + 1 <= max_units:  # every unit fits, only padding is cut: keep the
        start = min(max(math.ceil(seq_hi - 0.5) - max_units + 1, first), last - max_units + 1)
        return Window(start, start + max_units - 1, True)  # padding before (causal) in view
    lo, hi = field
    half = (max_units - 1) / 2
    centre = (lo + hi) / 2
    if hi - lo + 1 + 2 * MARGIN_STEPS > max_units:  # the field does not fit: keep the unit in
        centre = min(max(centre, target_x - half + MARGIN_STEPS), target_x + half - MARGIN_STEPS)
    start = math.floor(centre - half + 0.5)
    start = min(max(start, first), last - max_units + 1)
    return Window(start, start + max_units - 1, True)


# --------------------------------------------------------------------------- drawing


def _describe(info: LayerInfo) -> list[str]:
    """A row's layer in the phrases of the compact spec: ['conv', '2', 'dil 4', 'causal']
    (a window's dilation always given, so rows differing only in it line up)."""
    layer = info.layer
    if layer is None:
        return [f"{fmt_count(info.shape[AXIS])} steps"]
    if layer.op in WINDOW_OPS:
        parts = [layer.op, str(layer.kernel[AXIS])]
        if layer.stride[AXIS] != 1:
            parts.append(f"/{layer.stride[AXIS]}")
        parts.append(f"dil {layer.dilation[AXIS]}")
        padding = layer.padding
        if isinstance(padding, str):
            if padding != "valid" or layer.op != "deconv":
                parts.append(padding)
        elif any(padding):
            parts.append(f"pad {padding[0]},{padding[1]}")
        return parts
    if layer.op == "upsample":
        return ["upsample", f"×{layer.factor[AXIS]}", layer.mode]
    if layer.op == "pad":
        return [f"pad {info.pads[0]},{info.pads[1]}"]
    return [layer.op]


def _descriptions(rows: Sequence[Row]) -> tuple[str, list[str]]:
    """A heading of the phrases every layer row shares (when there are three rows or more) and
    each row's own phrases: WaveNet's rows read 'dil 1', 'dil 2', ... under 'conv 2 causal'."""
    phrases = [_describe(r.info) for r in rows]
    layers = phrases[1:]
    common = ([p for p in layers[0] if all(p in other for other in layers[1:])]
              if len(layers) >= 3 else [])
    own = [" ".join(p for p in words if p not in common) if i else " ".join(words)
           for i, words in enumerate(phrases)]
    if common and not all(own[1:]):
        common = []  # a row would be left blank: every row says everything
        own = [" ".join(words) for words in phrases]
    return " ".join(common), own


def _ranges(values: np.ndarray) -> str:
    """[0, 1, 2, 5] -> '0–2, 5' (at most three runs, then '…')."""
    if values.size == 0:
        return "none"
    breaks = np.flatnonzero(np.diff(values) != 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [values.size - 1]])
    runs = [f"{fmt_count(int(values[s]))}" if s == e else
            f"{fmt_count(int(values[s]))}\u2013{fmt_count(int(values[e]))}"
            for s, e in zip(starts, ends, strict=True)]
    return ", ".join(runs[:3]) + (", \u2026" if len(runs) > 3 else "")


#: FreeType's "no hinting" load flag: ``LoadFlags.NO_HINTING`` from matplotlib 3.10, the plain
#: ``LOAD_NO_HINTING`` constant before.
_NO_HINTING: Any = (ft2font.LoadFlags.NO_HINTING if hasattr(ft2font, "LoadFlags")
                    else getattr(ft2font, "LOAD_NO_HINTING"))  # noqa: B009 (gone from the stubs)


@functools.lru_cache(maxsize=2048)
def _glyph(char: str, size: float, bold: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """Outline (points, origin at the pen) and advance of one character."""
    prop = FontProperties(size=size, weight="bold" if bold else "normal")
    font = get_font(findfont(prop))
    font.set_size(size, 72)
    advance = font.load_char(ord(char), flags=_NO_HINTING).linearHoriAdvance / 65536
    if char.isspace():
        return np.zeros((0, 2)), np.zeros(0, dtype=Path.code_type), float(advance)
    path = TextPath((0, 0), char, prop=prop)
    return path.vertices.copy(), np.asarray(path.codes, dtype=Path.code_type), float(advance)


def _width(text: str, size: float = LABEL_PT) -> float:
    """Inches ``text`` takes at ``size`` points (glyph advances; within a few per cent of a
    drawn text's box, without laying it out)."""
    return sum(_glyph(char, size, False)[2] for char in text) / 72 * 1.03


def _wrap(text: str, width: float) -> list[str]:
    """Greedy word wrap into lines no wider than ``width`` inches."""
    lines: list[str] = []
    for token in text.split():
        if lines and _width(lines[-1] + " " + token) <= width:
            lines[-1] += " " + token
        else:
            lines.append(token)
    return lines


class Labels:
    """One column of row labels drawn as a single path of glyph outlines (a text artist each
    would cost more than the rest of a 30-row figure), vertically centred on each row."""

    def __init__(self, size: float, bold: bool = False) -> None:
        self.size, self.bold = size, bold
        self.items: list[tuple[str, float, float, str]] = []
        lp = TextPath((0, 0), "lp", prop=FontProperties(size=size,
                                                         weight="bold" if bold else "normal"))
        self.half = (float(lp.vertices[:, 1].max()) + float(lp.vertices[:, 1].min())) / 2 / 72

    def add(self, text: str, x: float, y: float, ha: str) -> None:
        self.items.append((text, x, y, ha))

    def draw(self, sheet: Sheet, colour: str, gid: str) -> None:
        verts: list[np.ndarray] = []
        codes: list[np.ndarray] = []
        for text, x, y, ha in self.items:
            pen, parts = 0.0, []
            for char in text:
                v, c, advance = _glyph(char, self.size, self.bold)
                if len(v):
                    parts.append((v + (pen, 0.0), c))
                pen += advance
            if not parts:
                continue
            left = x - pen / 72 if ha == "right" else x
            v = np.concatenate([p[0] for p in parts]) / 72 + (left, y - self.half)
            sheet.include((left, left + pen / 72), (float(v[:, 1].min()), float(v[:, 1].max())))
            verts.append(v)
            codes.extend(p[1] for p in parts)
        if verts:
            sheet.add(PathPatch(Path(np.concatenate(verts), np.concatenate(codes)),
                                          facecolor=colour, edgecolor="none", linewidth=0,
                                          zorder=10, gid=gid))


def _dots(sheet: Sheet, items: Sequence[tuple[np.ndarray, float, bool]], size: float,
          face: str, edge: str, square: bool, gid: str) -> None:
    """Units of ``size`` inches at (x, y) for every x of every item, as one path of zero-length
    strokes with round (or, for ``square``, projecting) caps, twice: the outline colour, then
    the face a little smaller; a few bytes a unit in every format."""
    xs = np.concatenate([it[0] for it in items])
    ys = np.concatenate([np.full(it[0].size, it[1]) for it in items])
    sheet.include((float(xs.min()) - size / 2, float(xs.max()) + size / 2),
                  (float(ys.min()) - size / 2, float(ys.max()) + size / 2))
    if face == "none":  # hollow: outlines only
        half = size / 2
        corners = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)]) * half
        outline = (np.column_stack([xs, ys])[:, None, :] + corners[None]).reshape(-1, 2)
        codes = np.tile([Path.MOVETO] + [Path.LINETO] * 3 + [Path.CLOSEPOLY], xs.size)
        sheet.add(PathPatch(Path(outline, codes.astype(Path.code_type)),
                                      facecolor="none", edgecolor=edge, linewidth=THIN_PT,
                                      zorder=3, gid=gid))
        return
    verts = np.empty((2 * xs.size, 2))
    verts[0::2, 0], verts[1::2, 0] = xs, xs + 1e-4
    verts[0::2, 1] = verts[1::2, 1] = ys
    path = Path(verts, np.tile([Path.MOVETO, Path.LINETO], xs.size).astype(Path.code_type))
    path.should_simplify = False  # simplification would drop the zero-length strokes
    cap = "projecting" if square else "round"
    ring = 2 * THIN_PT / 72
    for colour, width, z, suffix in ((edge, size, 3.0, "-edge"), (face, size - ring, 3.1, "")):
        sheet.add(PathPatch(path, facecolor="none", edgecolor=colour,
                                      linewidth=width * 72, capstyle=cap, zorder=z, snap=False,
                                      gid=gid + suffix))


def render(network: Network | None, options: Mapping[str, Any], theme: Theme) -> Rendered:
    """Draw the rows, the traced unit's connections and its field on the input."""
    net = network if network is not None else parse_spec(DEFAULT_SPEC)
    require_dimensions("stack", net, (1,), DRAWS)
    require(options, estimate(net, options), "the stack figure",
            ["max_units", "the network's number of layers"])
    analysis = analyze(net)
    target = target_layer(analysis, options.get("layer"))
    n_target = target.shape[AXIS]
    unit = options.get("unit")
    unit = n_target - 1 if unit is None else int(unit)
    if not 0 <= unit < n_target:
        from rfdocs.figures.options import OptionError

        raise OptionError("unit", f"{unit} is outside {target.name} ({n_target} positions): "
                          f"use 0 to {n_target - 1}")
    nodes = _drawn(analysis, target)
    if len(nodes) > MAX_ROWS:
        from rfdocs.figures.options import OptionError

        raise OptionError("layer", f"{len(nodes)} layers feed {target.name}, more than the "
                          f"{MAX_ROWS} rows the figure draws; choose a layer nearer the input")
    found = trace(analysis, target.name, unit)
    place = _placement(analysis, nodes)
    pads = _padding_drawn(analysis, nodes)
    names = {n.name for n in nodes}
    max_units = int(options.get("max_units", 64))

    gap = ROW_MAX_IN if len(nodes) * ROW_MAX_IN <= ROWS_SPACE_IN else max(
        ROW_MIN_IN, ROWS_SPACE_IN / len(nodes))
    lo_f, hi_f = target.axes[AXIS].box(unit)  # the analysis' field, padding included
    field = (float(lo_f), float(hi_f))
    n_in = analysis.input.shape[AXIS]
    rows = [Row(info, i * gap, *place[info.name], -pads[info.name][0],
                info.shape[AXIS] - 1 + pads[info.name][1]) for i, info in enumerate(nodes)]
    rows[0] = Row(rows[0].info, 0.0, 0.0, 1.0, min(rows[0].first, math.floor(field[0])),
                  max(rows[0].last, math.ceil(field[1])))  # the field's padding is drawn too
    by_name = {r.info.name: r for r in rows}
    src_row = rows[0]
    field_steps = np.arange(math.ceil(field[0]), math.floor(field[1]) + 1, dtype=np.int64)
    target_x = float(by_name[target.name].x(unit))
    window = _window(rows, found.units, target_x, field, max_units)
    steps = window.last - window.first + 1
    step_in = min(STEP_MAX_IN, WIDTH_IN / steps)
    x0 = -window.first * step_in  # inches of input step 0

    def xin(steps_x: Any) -> Any:
        return x0 + np.asarray(steps_x, dtype=np.float64) * step_in

    lo_edge, hi_edge = xin(window.first - 0.5), xin(window.last + 0.5)
    sheet = Sheet(theme)
    diameter = min(UNIT_MAX_IN, 0.62 * step_in * min(r.j for r in rows))
    notes: set[str] = set()

    # connections, under the units: straight between neighbouring rows, curved when skipping
    # rows; one whose other end lies outside the window is a short dotted stub toward it
    full: list[np.ndarray] = []
    skips: list[np.ndarray] = []
    stubs: list[np.ndarray] = []
    stub_in = min(0.4 * gap, 0.14)
    for (reader, src), (o, q) in sorted(found.edges.items()):
        if reader not in names:
            continue
        shown = _shown_source(analysis, src, names)
        top, bottom = by_name[reader], by_name[shown]
        xa, xb = xin(top.x(o)), xin(bottom.x(q))
        near = ~(((xa < lo_edge) & (xb < lo_edge)) | ((xa > hi_edge) & (xb > hi_edge)))
        if not near.any():
            continue
        pairs = np.unique(np.stack([xa[near], xb[near]], axis=1), axis=0)
        xa, xb = pairs[:, 0], pairs[:, 1]
        in_a = (xa >= lo_edge - 1e-9) & (xa <= hi_edge + 1e-9)
        in_b = (xb >= lo_edge - 1e-9) & (xb <= hi_edge + 1e-9)
        ya, yb = top.y, bottom.y
        both = in_a & in_b
        segs = np.column_stack([xa[both], xb[both], np.full(int(both.sum()), ya),
                                np.full(int(both.sum()), yb)])
        (skips if rows.index(top) - rows.index(bottom) > 1 else full).append(segs)
        for inside, x_in, x_out, y_in, y_out in ((in_a & ~in_b, xa, xb, ya, yb),
                                                 (in_b & ~in_a, xb, xa, yb, ya)):
            if not inside.any():
                continue
            x1, x2 = x_in[inside], x_out[inside]
            dx = np.clip(x2 - x1, -stub_in, stub_in)
            ends_y = y_in + (y_out - y_in) * 0.4
            stubs.append(np.column_stack([x1, x1 + dx, np.full(x1.size, y_in),
                                          np.full(x1.size, ends_y)]))
    link = mix(theme.field, theme.bg, 0.8)
    for segs_list, gid, style in ((full, "connections", "solid"),
                                  (stubs, "connection-stubs", (0, (1, 1.5)))):
        if not segs_list or not sum(len(x) for x in segs_list):
            continue
        segs = np.concatenate(segs_list)
        thin = 0.7 if len(segs) < 400 else 0.45
        verts = np.empty((2 * len(segs), 2))
        verts[0::2] = segs[:, [0, 2]]
        verts[1::2] = segs[:, [1, 3]]
        codes = np.tile([Path.MOVETO, Path.LINETO], len(segs)).astype(Path.code_type)
        sheet.add(PathPatch(Path(verts, codes), facecolor="none", edgecolor=link,
                                      linewidth=thin, linestyle=style, zorder=2, gid=gid))
        if gid == "connection-stubs":
            notes.add("stubs")
    if skips and sum(len(x) for x in skips):
        segs = np.concatenate(skips)
        bow = 0.45 * gap
        verts = np.empty((3 * len(segs), 2))
        verts[0::3] = segs[:, [0, 2]]
        verts[1::3] = np.column_stack([(segs[:, 0] + segs[:, 1]) / 2 + bow,
                                       (segs[:, 2] + segs[:, 3]) / 2])
        verts[2::3] = segs[:, [1, 3]]
        codes = np.tile([Path.MOVETO, Path.CURVE3, Path.CURVE3], len(segs)).astype(Path.code_type)
        sheet.add(PathPatch(Path(verts, codes), facecolor="none", edgecolor=link,
                                      linewidth=0.7, linestyle=(0, (3, 2)), zorder=2,
                                      gid="skip-connections"))
        notes.add("skips")

    # the units of every row, one compound path per look
    radius = diameter / 2
    looks: dict[str, list[tuple[np.ndarray, float, bool]]] = {
        "units-input": [], "units": [], "field": [], "padding": [], "padding-read": []}
    breaks: list[tuple[float, float]] = []
    names_col, layers_col = Labels(TITLE_PT, bold=True), Labels(LABEL_PT)
    heading, described = _descriptions(rows)
    if heading:
        layers_col.add(f"every layer: {heading}", hi_edge + 0.2, rows[-1].y + min(gap, 0.3),
                       "left")
    drawn_units: dict[str, tuple[int, ...]] = {}
    for row in rows:
        info = row.info
        name = info.name
        every = np.arange(row.first, row.last + 1, dtype=np.int64)
        xs = xin(row.x(every))
        shown_units = every[(xs >= lo_edge - 1e-9) & (xs <= hi_edge + 1e-9)]
        n = info.shape[AXIS]
        real = shown_units[(shown_units >= 0) & (shown_units < n)]
        pad = shown_units[(shown_units < 0) | (shown_units >= n)]
        on = np.isin(real, found.units.get(name, np.zeros(0, np.int64)))
        if name == target.name:
            on &= real != unit
        drawn_units[name] = tuple(int(v) for v in real[on])
        read = np.isin(pad, found.padding.get(name, np.zeros(0, np.int64)))
        plain = "units-input" if info.layer is None else "units"
        for look, values in ((plain, real[~on]), ("field", real[on]), ("padding", pad[~read]),
                             ("padding-read", pad[read])):
            if values.size:
                looks[look].append((xin(row.x(values)), row.y, look.startswith("padding")))
        if pad.size:
            notes.add("padding")
        sheet.include([lo_edge, hi_edge], [row.y - radius, row.y + radius])
        if window.cut:
            if float(xin(row.x(row.first))) < lo_edge - 1e-9:
                breaks.append((lo_edge - 0.08, row.y))
            if float(xin(row.x(row.last))) > hi_edge + 1e-9:
                breaks.append((hi_edge + 0.08, row.y))
        names_col.add(name, lo_edge - 0.2, row.y, "right")
        layers_col.add(described[rows.index(row)], hi_edge + 0.2, row.y, "left")
    styles = {
        "units-input": (mix(theme.input, theme.bg, 0.25), edge_color(theme.input, theme)),
        "units": (mix(theme.maps, theme.bg, 0.25), edge_color(theme.maps, theme)),
        "field": (theme.field, edge_color(theme.field, theme)),
        "padding": ("none", theme.muted),
        "padding-read": (mix(theme.padding, theme.bg, 0.6), edge_color(theme.field, theme)),
    }
    for look, items in looks.items():
        if not items:
            continue
        face, edge = styles[look]
        square = look.startswith("padding")
        _dots(sheet, items, diameter * (0.8 if square else 1.0), face, edge, square, look)
    xt, yt = float(xin(by_name[target.name].x(unit))), by_name[target.name].y
    _dots(sheet, [(np.array([xt]), yt, False)], diameter * 1.4, theme.neuron,
          edge_color(theme.neuron, theme), False, "unit")
    names_col.draw(sheet, theme.fg, "row-names")
    layers_col.draw(sheet, theme.muted, "row-layers")
    if breaks:  # two short slanted strokes across each cut row: it goes on beyond
        h = min(0.09, gap * 0.3)
        verts = np.array([(x + dx + sx * 0.03, y + sx * h) for x, y in breaks
                          for dx in (-0.025, 0.025) for sx in (-1, 1)])
        codes = np.tile([Path.MOVETO, Path.LINETO], 2 * len(breaks)).astype(Path.code_type)
        sheet.include((verts[:, 0].min(), verts[:, 0].max()), (verts[:, 1].min(), verts[:, 1].max()))
        sheet.add(PathPatch(Path(verts, codes), facecolor="none", edgecolor=theme.fg,
                                      linewidth=LINE_PT, zorder=3, gid="breaks"))
        notes.add("break")

    # the field on the input: a bracket under the input row
    y = src_row.y - max(diameter, 0.05) - 0.08
    fx0, fx1 = float(xin(field[0] - 0.45)), float(xin(field[1] + 0.45))
    bx0, bx1 = max(fx0, lo_edge), min(fx1, hi_edge)
    edge = edge_color(theme.field, theme)
    sheet.line([bx0, bx1], [y, y], color=edge, linewidth=1.4, solid_capstyle="butt",
               gid="field-bracket")
    for x, inside in ((fx0, fx0 >= lo_edge), (fx1, fx1 <= hi_edge)):
        if inside:
            sheet.line([x, x], [y, y + 0.06], color=edge, linewidth=1.4, gid="field-end")
    size = target.rf[AXIS]
    outside = int(np.sum((field_steps < 0) | (field_steps >= n_in)))
    label = (f"receptive field of unit {fmt_count(unit)}: {_steps(size)} steps "
             f"({_span(field)})")
    if outside:
        label += f", {fmt_count(outside)} of them padding"
    dependent = found.units.get(src_row.info.name, np.zeros(0, np.int64))
    if dependent.size < field_steps.size - outside:
        label += f"; it depends on {fmt_count(int(dependent.size))} of them"
    sheet.text((bx0 + bx1) / 2, y - 0.05, label, va="top", color=theme.fg, gid="field-label")

    lines = [f"Unit {fmt_count(unit)} of {target.name} (large dot), the units it depends on "
             "(filled) and their connections; each row is aligned in time."]
    if "padding" in notes:
        lines.append("Squares: padding (zeros) a layer reads beside its input, outlined in "
                     "orange where the traced unit reads it.")
    if "skips" in notes:
        lines.append("Dashed curves: connections that skip rows.")
    if "stubs" in notes:
        lines.append("Dotted stubs: connections to units outside the window.")
    whole = window.cut and window.first <= 0 and window.last >= n_in - 1
    if whole:
        lines.append("Padding beyond the break marks is not drawn.")
    elif window.cut:
        beyond = int(np.sum((field_steps < window.first) | (field_steps > window.last)))
        lines.append(f"Only input steps {_span((window.first, window.last))} of "
                     f"{fmt_count(n_in)} are drawn; break marks show where rows go on.")
        if beyond:
            lines.append(f"{fmt_count(beyond)} steps of the field lie beyond the window.")
    x, y = sheet.bounds[0], sheet.bounds[1] - 0.1
    line_h = sheet.measure("Ag")[1] + 0.02
    for line in _wrap(" ".join(lines), max(sheet.bounds[2] - x, 3.0)):
        sheet.text(x, y, line, ha="left", va="top", color=theme.muted, gid="note")
        y -= line_h
    fig = sheet.finish()

    counts = {r.info.name: int(found.units.get(r.info.name, np.zeros(0)).size) for r in rows}
    numbers = {
        "layer": target.name,
        "unit": unit,
        "rows": tuple(r.info.name for r in rows),
        "field": (lo_f, hi_f),
        "field_size": size,
        "depends_on": int(dependent.size),
        "counts": counts,
        "padding_read": {name: int(v.size) for name, v in found.padding.items() if name in names},
        "window": (window.first, window.last),
        "axis": (x0 - sheet.bounds[0] + 0.06, step_in),  # inches of step 0 from the left, a step
        "cut": window.cut,
        "drawn": drawn_units,
    }
    return Rendered(fig, _alt(rows, found, target, unit, field, window, n_in, counts),
                    numbers, budget=budget_of(options))


def _steps(value: Any) -> str:
    """A number of steps: 3071 -> '3,071', a fraction as a decimal."""
    return fmt_count(int(value)) if float(value).is_integer() else fmt_num(value)


def _span(pair: tuple[float, float]) -> str:
    """(−9, 3) -> '−9 to 3' (a dash between signed numbers reads badly)."""
    a, b = (fmt_count(int(v)) if float(v).is_integer() else fmt_num(v) for v in pair)
    text = a if a == b else f"{a}\u2013{b}" if pair[0] >= 0 else f"{a} to {b}"
    return text.replace("-", "\u2212")


def _alt(rows: Sequence[Row], found: Trace, target: LayerInfo, unit: int,
         field: tuple[float, float], window: Window, n_in: int, counts: Mapping[str, int]) -> str:
    layers = [r.info for r in rows[1:]]
    dil = [info.layer.dilation[AXIS] for info in layers
           if info.layer is not None and info.layer.op in WINDOW_OPS]
    text = (f"Stack of {len(layers)} layer{'s' if len(layers) != 1 else ''} over a "
            f"{fmt_count(n_in)}-step input")
    if dil and any(d != 1 for d in dil):
        shown = ", ".join(str(d) for d in dil[:12]) + (", …" if len(dil) > 12 else "")
        text += f" (dilations {shown})"
    text += (f": unit {fmt_count(unit)} of {target.name} has a receptive field of "
             f"{_steps(target.rf[AXIS])} input steps, {_span(field)}")
    inputs = found.units.get(rows[0].info.name)
    text += f", and depends on {fmt_count(0 if inputs is None else int(inputs.size))} of them"
    parts = [f"{fmt_count(counts[r.info.name])} in {r.info.name}" for r in reversed(rows[1:-1])]
    if parts:
        if len(parts) > 8:
            parts = parts[:4] + ["…"] + parts[-3:]
        text += "; units it depends on: " + ", ".join(parts)
    if window.cut and (window.first > 0 or window.last < n_in - 1):
        text += (f". Drawn: input steps {_span((window.first, window.last))} only, a window "
                 "of the sequence with break marks where it goes on")
    elif window.cut:
        text += ". Padding beyond the drawing's break marks is not drawn"
    return text + "."


def estimate(net: Network, options: Mapping[str, Any]) -> Cost:
    """What the figure costs, counted from the layer sizes before anything is traced: every
    connection of every unit of every layer at worst, the drawn units (``max_units`` steps a
    row, more for up-sampled rows) and two labels a row."""
    from rfdocs.compute.spec import INPUT_NAME

    length = {INPUT_NAME: net.input[0]}
    edges = 0
    units = 0
    for layer in net.layers:
        n_in = max(length[s] for s in layer.inputs)
        if layer.op in WINDOW_OPS:
            k, s = layer.kernel[0], layer.stride[0]
            n_out = n_in * s if layer.op == "deconv" else n_in
            taps = k
        elif layer.op == "upsample":
            n_out, taps = n_in * layer.factor[0], 2
        elif layer.op in GLOBAL_OPS:
            n_out, taps = 1, n_in
        elif layer.op == "pad":
            n_out, taps = n_in + 2 * max(layer.padding) if not isinstance(
                layer.padding, str) else n_in, 1
        else:
            n_out, taps = n_in, len(layer.inputs)
        length[layer.name] = max(n_out, 1)
        edges += length[layer.name] * taps
        units += min(length[layer.name], 4 * int(options.get("max_units", 64)))
    rows = len(net.layers) + 1
    cost = diagram_cost(rows, 2 * rows + 6, rows * 8, WIDTH_IN + 3.0,
                        min(rows * ROW_MAX_IN, ROWS_SPACE_IN + 1.0) + 1.0)
    return cost.then(alloc(EDGE_BYTES * edges + UNIT_BYTES * units,
                           EDGE_WORK * edges + UNIT_WORK * units))


KIND = FigureKind(
    name="stack",
    summary="A 1-D network as rows of units, the connections feeding one unit traced through "
            "every layer to its receptive field on the input (WaveNet's dilated stack).",
    options=OPTIONS,
    render_function=render,
    estimate_function=lambda network, options: estimate(network or parse_spec(DEFAULT_SPEC),
                                                        options),
    dimensions=(1,),
    draws=DRAWS,
)
