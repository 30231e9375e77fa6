"""Receptive-field growth: one neuron traced back through every layer to the input.

One 2-D panel per layer, input first: the layer's map (a cell per unit when it has at most 36
units a side, a plain rectangle when larger) with the neuron's footprint in it, the units of
that layer the neuron depends on (``geometry.footprints``).  Footprint cells that fall outside
the map are padding and are hatched.  Each panel is drawn to its own scale (the maps shrink
through the network; their sizes are printed), and is labelled with the footprint's size in
that layer and how many input pixels one of its units sees.  Arrows join the panels; where the
panels wrap onto a second row, a hooked arrow comes down into its first panel instead of one
pointing off the end of the first row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.collections import LineCollection
from matplotlib.patches import FancyArrowPatch

from rfdocs.compute import Analysis, LayerInfo, Network, analyze, parse_spec
from rfdocs.compute.budget import Cost
from rfdocs.figures.base import FigureKind, Rendered
from rfdocs.figures.cost import BUDGET_OPTIONS, budget_of, diagram_cost, require
from rfdocs.figures.geometry import (
    LINE_PT,
    MIN_FEATURE_IN,
    PASSTHROUGH_OPS,
    THIN_PT,
    TITLE_PT,
    VOLUME_ANGLE,
    Box,
    Sheet,
    Volume,
    ancestors,
    box_size,
    clip_box,
    draw_volume,
    edge_color,
    evenly,
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
from rfdocs.figures.options import Option, int_range, word
from rfdocs.figures.stack import trace
from rfdocs.figures.style import Theme
from rfdocs.figures.text import fmt_count, fmt_dims

DEFAULT_SPEC = """input 32x32x3
conv1: conv 3x3 /1 pad 1 x16
conv2: conv 3x3 /2 pad 1 x32
conv3: conv 3x3 /2 pad 1 x64
"""
PANEL_IN = 1.15  # the longer side of every panel
MIN_SIDE_IN = 0.3
GRID_MAX = 36  # units a side up to which every unit gets a cell
GAP_IN = 0.5  # between panels (room for the arrow)
ROW_GAP_IN = 0.25
HOOK_IN = 0.34  # the gutter left of a wrapped row, for the hooked arrow into it
RING_IN = 0.075
MAX_PER_ROW = 5

OPTIONS = (
    Option("layer", word, None, "a layer name",
           "The layer whose neuron is traced (default: the last layer)."),
    Option("neuron", int_tuple(0, 10**6), None,
           "row,col inside the layer (t for a sequence, d,row,col for a volume)",
           "The neuron, as row,col of its layer (t of a sequence, d,row,col of a volume; "
           "default: the centre, (H//2, W//2))."),
    Option("max_layers", int_range(2, 16), 8, "an integer from 2 to 16",
           "At most this many panels, input and neuron's layer included; layers between are "
           "then picked evenly and the arrows say how many were skipped. Pointwise "
           "layers (same footprint as their input) are never drawn."),
    *BUDGET_OPTIONS,
)


@dataclass(frozen=True)
class Panel:
    """One layer's map with the footprint, placed on the sheet (inches)."""

    info: LayerInfo
    box: Box  # footprint, unclipped
    region: Box  # the units drawn: the map plus any padding the footprint reaches
    x0: float
    y0: float
    width: float
    height: float
    lines_above: tuple[str, ...]  # the name (one or two lines) and the shape
    lines_below: tuple[str, ...]
    text_top: float  # the row's tallest panel top, where the lines above start
    text_bottom: float  # and its lowest panel bottom

    def units(self) -> Any:
        (r0, r1), (c0, c1) = self.region
        return unit_transform(self.x0, self.y0, self.width, self.height, r1 - r0 + 1,
                              c1 - c0 + 1, row0=r0, col0=c0)


def _region(info: LayerInfo, box: Box) -> Box:
    h, w = info.shape[:2]
    (r0, r1), (c0, c1) = box
    if r0 > r1 or c0 > c1:
        return ((0, h - 1), (0, w - 1))
    return ((min(r0, 0), max(r1, h - 1)), (min(c0, 0), max(c1, w - 1)))


def _size(region: Box) -> tuple[float, float]:
    rows, cols = box_size(region)
    scale = PANEL_IN / max(rows, cols)
    return max(cols * scale, MIN_SIDE_IN), max(rows * scale, MIN_SIDE_IN)


def _texts(sheet: Sheet, info: LayerInfo, box: Box, src: LayerInfo, target: LayerInfo,
           neuron: tuple[int, int]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    above = (*split_name(sheet, info.name, PANEL_IN), fmt_dims(info.shape))
    rows, cols = box_size(box)
    inside = clip_box(box, info.shape)
    in_rows, in_cols = box_size(inside) if inside is not None else (0, 0)
    rf = fmt_dims(info.rf)
    if info is target:
        below = [f"neuron ({neuron[0]}, {neuron[1]})", f"sees {rf} px"]
    elif info is src:
        below = [_count(rows, cols, "pixel")]
    else:
        below = [_count(rows, cols, "unit"), f"each sees {rf} px"]
    if info is not target and (in_rows, in_cols) != (rows, cols):
        below.append(f"{in_rows}×{in_cols} inside the {'image' if info is src else 'map'}")
    return above, tuple(below)


def _count(rows: int, cols: int, what: str) -> str:
    """'7×7 units', '1×1 pixel' or 'no units'."""
    if rows * cols == 0:
        return f"no {what}s"
    return f"{rows}×{cols} {what}{'' if rows * cols == 1 else 's'}"


def _layout(sheet: Sheet, nodes: Sequence[LayerInfo], feet: Mapping[str, Box],
            src: LayerInfo, target: LayerInfo, neuron: tuple[int, int]) -> list[Panel]:
    """Panels in rows of at most five (two even rows beyond), columns aligned across rows."""
    per_row = len(nodes) if len(nodes) <= MAX_PER_ROW else math.ceil(len(nodes) / 2)
    title_h = sheet.measure("Ag", TITLE_PT, True)[1] + 0.02
    line_h = sheet.measure("Ag")[1]
    specs = []
    for info in nodes:
        box = feet[info.name]
        region = _region(info, box)
        above, below = _texts(sheet, info, box, src, target, neuron)
        width, height = _size(region)
        slot = max([width] + [sheet.measure(t, TITLE_PT, True)[0] for t in above[:-1]]
                   + [sheet.measure(t)[0] for t in (above[-1], *below)])
        specs.append((info, box, region, above, below, width, height, slot))
    columns = [max(s[7] for s in specs[i::per_row]) for i in range(per_row)]
    panels: list[Panel] = []
    top = 0.0
    for start in range(0, len(specs), per_row):
        row = specs[start:start + per_row]
        tallest = max(s[6] for s in row)
        panel_top = top - max(len(s[3]) - 1 for s in row) * title_h - line_h - 0.1
        centre = panel_top - tallest / 2
        x = 0.0
        for column, (info, box, region, above, below, width, height, _) in zip(
                columns, row, strict=False):
            cx = x + column / 2
            panels.append(Panel(info, box, region, cx - width / 2, centre - height / 2,
                                width, height, above, below, panel_top,
                                panel_top - tallest))
            x += column + GAP_IN
        below_lines = max(len(s[4]) for s in row)
        top = panel_top - tallest - 0.08 - below_lines * (line_h + 0.02) - ROW_GAP_IN
    return panels


# --------------------------------------------------------------------------- drawing


def _rect_units(sheet: Sheet, panel: Panel, c0: float, r0: float, c1: float, r1: float,
                **kw: Any) -> Any:
    """Units [c0, c1] × [r0, r1] (inclusive) of the panel's layer."""
    return sheet.rect(c0, r0, c1 - c0 + 1, r1 - r0 + 1, transform=panel.units(), **kw)


def _draw_panel(sheet: Sheet, panel: Panel, theme: Theme, is_input: bool,
                neuron: tuple[int, int] | None, notes: set[str]) -> None:
    info = panel.info
    h, w = info.shape[:2]
    (g0, g1), (k0, k1) = panel.region
    tf = panel.units()
    color = theme.input if is_input else theme.maps
    name = info.name
    # padding around the map, where the footprint reaches into it
    if (g0, g1, k0, k1) != (0, h - 1, 0, w - 1):
        _rect_units(sheet, panel, k0, g0, k1, g1, facecolor="none", edgecolor=theme.muted,
                    hatch="////", hatchcolor=theme.padding, linewidth=THIN_PT,
                    linestyle=(0, (2, 2)), zorder=1, gid=f"padding-{name}")
        notes.add("padding")
    _rect_units(sheet, panel, 0, 0, w - 1, h - 1, facecolor=mix(color, theme.bg, 0.28),
                edgecolor=edge_color(color, theme), zorder=2, gid=f"map-{name}")
    rows, cols = g1 - g0 + 1, k1 - k0 + 1
    cell = min(panel.width / cols, panel.height / rows)
    box = panel.box
    empty = box[0][0] > box[0][1] or box[1][0] > box[1][1]
    fill = theme.neuron if neuron is not None else theme.field
    edge = edge_color(fill, theme)
    if not empty:
        (r0, r1), (c0, c1) = box
        inside = clip_box(box, info.shape)
        if inside is not None:
            (a, b), (c, d) = inside
            _rect_units(sheet, panel, c, a, d, b, zorder=3, gid=f"footprint-{name}",
                        facecolor=fill if neuron is not None else mix(fill, theme.bg, 0.85),
                        edgecolor="none", linewidth=0)
        if inside != box:
            _rect_units(sheet, panel, c0, r0, c1, r1, facecolor=mix(fill, theme.bg, 0.3),
                        hatch="////", hatchcolor=edge, edgecolor="none", linewidth=0,
                        zorder=2.5, gid=f"footprint-padding-{name}")
        if neuron is not None:
            _rect_units(sheet, panel, neuron[1], neuron[0], neuron[1], neuron[0],
                        facecolor=fill, edgecolor=edge, zorder=4.5, gid="neuron")
    if max(rows, cols) <= GRID_MAX and cell >= 0.025:
        segs = [[tf.transform((k0, r)), tf.transform((k1 + 1, r))] for r in range(g0, g1 + 2)]
        segs += [[tf.transform((c, g0)), tf.transform((c, g1 + 1))] for c in range(k0, k1 + 2)]
        grid = LineCollection(segs, colors=mix(theme.muted, theme.bg, 0.55),
                              linewidths=0.3, zorder=3.2)
        sheet.add(grid)
    _rect_units(sheet, panel, 0, 0, w - 1, h - 1, facecolor="none",
                edgecolor=edge_color(color, theme), zorder=4.2)
    if not empty:
        (r0, r1), (c0, c1) = box
        _rect_units(sheet, panel, c0, r0, c1, r1, facecolor="none", edgecolor=edge,
                    zorder=4, gid=f"footprint-box-{name}")
        small = min(r1 - r0 + 1, c1 - c0 + 1) * cell < MIN_FEATURE_IN
        if small:
            x, y = tf.transform(((c0 + c1 + 1) / 2, (r0 + r1 + 1) / 2))
            sheet.circle(float(x), float(y), RING_IN, facecolor="none",
                         edgecolor=fill if neuron is not None else edge,
                         linewidth=1.0, zorder=5, gid=f"marker-{name}")
            notes.add("ringed")


def _draw_texts(sheet: Sheet, panel: Panel, theme: Theme) -> None:
    cx = panel.x0 + panel.width / 2
    y = panel.text_top + 0.06
    sheet.text(cx, y, panel.lines_above[-1], color=theme.muted, va="bottom", gid="shape")
    y += sheet.measure(panel.lines_above[-1])[1] + 0.01
    for line in reversed(panel.lines_above[:-1]):
        sheet.text(cx, y, line, size=TITLE_PT, bold=True, va="bottom", gid="title")
        y += sheet.measure("Ag", TITLE_PT, True)[1] + 0.02
    y = panel.text_bottom - 0.08
    for i, line in enumerate(panel.lines_below):
        sheet.text(cx, y, line, va="top", color=theme.fg if i == 0 else theme.muted,
                   gid="size" if i == 0 else "detail")
        y -= sheet.measure(line)[1] + 0.02


def _arrow(sheet: Sheet, a: Panel, b: Panel, skipped: int, theme: Theme) -> None:
    """An arrow from panel ``a`` to panel ``b`` on its right, marked +n where n layers are not
    drawn."""
    y = a.y0 + a.height / 2
    x0 = a.x0 + a.width + 0.08
    x1 = b.x0 - 0.08
    if x1 - x0 < 0.12:
        return
    sheet.include((x0, x1), (y - 0.05, y + 0.05))
    arrow = FancyArrowPatch((x0, y), (x1, y), arrowstyle="-|>", mutation_scale=9,
                            color=theme.muted, linewidth=LINE_PT, zorder=6)
    arrow.set_gid("arrow")
    sheet.add(arrow)
    if skipped:
        sheet.text((x0 + x1) / 2, y + 0.06, f"+{skipped}", va="bottom", color=theme.muted,
                   gid="skipped")


def _hook(sheet: Sheet, b: Panel, skipped: int, theme: Theme) -> None:
    """The trace going on in a new row: an arrow down the gutter left of the row, from the
    gap above it, that turns into panel ``b`` (its first), marked +n like the others."""
    y = b.y0 + b.height / 2
    x = b.x0 - HOOK_IN + 0.06
    x1 = b.x0 - 0.08
    top = (b.text_top + 0.07 + sheet.measure(b.lines_above[-1])[1]  # level with the title
           + (len(b.lines_above) - 1) * (sheet.measure("Ag", TITLE_PT, True)[1] + 0.02))
    sheet.include((x - 0.02, x1), (y - 0.05, top))
    arrow = FancyArrowPatch((x, top), (x1, y), arrowstyle="-|>", mutation_scale=9,
                            connectionstyle="angle,angleA=-90,angleB=180,rad=4",
                            color=theme.muted, linewidth=LINE_PT, zorder=6)
    arrow.set_gid("arrow-wrap")
    sheet.add(arrow)
    if skipped:
        sheet.text(x + 0.06, (top + y) / 2 + 0.06, f"+{skipped}", ha="left", va="bottom",
                   color=theme.muted, gid="skipped")


# --------------------------------------------------------------------------- render


def _chain(analysis: Analysis, target: LayerInfo, cap: int) -> tuple[list[LayerInfo], int]:
    feeding = ancestors(analysis, target.name)
    chain = [n for n in feeding if n.op not in PASSTHROUGH_OPS or n is target or n.layer is None]
    return evenly(chain, cap), len(chain)


def render(network: Network | None, options: Mapping[str, Any], theme: Theme) -> Rendered:
    """Draw one panel per layer, input first, each with the neuron's footprint in it."""
    net = network if network is not None else parse_spec(DEFAULT_SPEC)
    require(options, estimate(net, int(options.get("max_layers", 8))), "the growth figure",
            ["max_layers", "the network's number of layers"])
    analysis = analyze(net)
    target = target_layer(analysis, options.get("layer"))
    unit = target_neuron(target, options.get("neuron"), tuple(n // 2 for n in target.shape[:-1]))
    nodes, total = _chain(analysis, target, int(options.get("max_layers", 8)))
    feet = footprints(analysis, target.name, unit)
    if target.ndim != 2:
        draw = _render_strips if target.ndim == 1 else _render_volumes
        fig, alt = draw(analysis, nodes, total, feet, target, unit, theme)
        return Rendered(fig, alt, _numbers(nodes, feet, target, unit, analysis.input),
                        budget=budget_of(options))
    neuron = (unit[0], unit[1])
    src = analysis.input

    sheet = Sheet(theme)
    panels = _layout(sheet, nodes, feet, src, target, neuron)
    notes: set[str] = set()
    chain_names = [n.name for n in _chain(analysis, target, 10**6)[0]]
    for i, panel in enumerate(panels):
        _draw_panel(sheet, panel, theme, panel.info is src,
                    neuron if panel.info is target else None, notes)
        _draw_texts(sheet, panel, theme)
        if i + 1 < len(panels):
            nxt = panels[i + 1]
            skipped = chain_names.index(nxt.info.name) - chain_names.index(panel.info.name) - 1
            if nxt.text_top == panel.text_top:
                _arrow(sheet, panel, nxt, skipped, theme)
            else:  # nothing dangles off the row's end: the arrow hooks into the next row
                _hook(sheet, nxt, skipped, theme)
    lines = []
    lines.append("Each map is drawn to its own scale.")
    if "padding" in notes:
        lines.append("Hatched: padding.")
    if "ringed" in notes:
        lines.append("Rings mark footprints too small to see.")
    if total > len(nodes):
        lines.append(f"{len(nodes)} of {total} layers drawn; +n on an arrow: n layers "
                     "between, not drawn.")
    x, y = sheet.bounds[0], sheet.bounds[1] - 0.08
    for line in wrap_words(sheet, " ".join(lines), max(sheet.bounds[2] - x, 3.0)):
        sheet.text(x, y, line, ha="left", va="top", color=theme.muted, gid="note")
        y -= sheet.measure(line)[1] + 0.02
    fig = sheet.finish()

    numbers = _numbers(nodes, feet, target, neuron, src)
    return Rendered(fig, _alt(nodes, numbers["sizes"], src, target, neuron, total), numbers,
                    budget=budget_of(options))


def _numbers(nodes: Sequence[LayerInfo], feet: Mapping[str, Box], target: LayerInfo,
             unit: tuple[int, ...], src: LayerInfo) -> dict[str, Any]:
    return {
        "layer": target.name,
        "neuron": unit,
        "input_shape": src.shape,
        "panels": tuple(n.name for n in nodes),
        "footprints": {n.name: feet[n.name] for n in nodes},
        "sizes": {n.name: box_size(feet[n.name]) for n in nodes},
        "unit_rf": {n.name: n.rf for n in nodes},
        "field_box": target.box(*unit),
    }



# --------------------------------------------------------------------------- sequences

STRIP_IN = 4.2  # the drawn length of every strip (each to its own scale)
STRIP_H_IN = 0.16
STRIP_GAP_IN = 0.5  # between strips (the lines joining footprints run through it)
STRIP_GRID = 64  # units a strip may hold before its cells are no longer outlined


def _words(n: int, one: str, many: str) -> str:
    return f"{fmt_count(n)} {one if n == 1 else many}"


def _strip_texts(info: LayerInfo, box: Box, deps: int, src: LayerInfo, target: LayerInfo,
                 unit: tuple[int, ...]) -> tuple[str, ...]:
    """The numbers beside one strip: the units of it the chosen one depends on, the span
    they make (padding included) where that is more, and what one of its units sees."""
    (n,) = box_size(box)
    rf = fmt_dims(info.rf)
    if info is target:
        return (f"unit {fmt_count(unit[0])}", f"sees {rf} input steps")
    what = ("input step", "input steps") if info is src else ("unit", "units")
    lines = [_words(deps, *what)]
    if n != deps:
        lines.append(f"spanning {fmt_count(n)}" + (", padding included" if _hangs(info, box)
                                                      else ""))
    if info is not src:
        lines.append(f"each sees {rf} steps")
    return tuple(lines)


def _hangs(info: LayerInfo, box: Box) -> bool:
    return not is_empty(box) and clip_box(box, info.shape) != box


def _runs(units: Any) -> list[tuple[int, int]]:
    """Sorted unit indices as runs (first, last) of consecutive ones."""
    out: list[tuple[int, int]] = []
    for u in (int(v) for v in units):
        if out and out[-1][1] == u - 1:
            out[-1] = (out[-1][0], u)
        else:
            out.append((u, u))
    return out


def _render_strips(analysis: Analysis, nodes: Sequence[LayerInfo], total: int,
                   feet: Mapping[str, Box], target: LayerInfo, unit: tuple[int, ...],
                   theme: Theme) -> tuple[Any, str]:
    """A sequence: one strip per layer, the input at the bottom, each to its own scale, the
    units the chosen one depends on filled (padding hatched), lines joining their ends."""
    src = analysis.input
    found = trace(analysis, target.name, unit[0]).units
    deps = {n.name: found.get(n.name, ()) for n in nodes}
    sheet = Sheet(theme)
    chain_names = [n.name for n in _chain(analysis, target, 10**6)[0]]
    notes: set[str] = set()
    spans: list[tuple[float, float, float] | None] = []  # footprint ends and the strip's y
    name_w = max(sheet.measure(n.name, TITLE_PT, True)[0] for n in nodes)
    for i, info in enumerate(nodes):
        y = i * (STRIP_H_IN + STRIP_GAP_IN)
        length = info.shape[0]
        box = feet[info.name]
        (f0, f1), = box if not is_empty(box) else ((0, -1),)
        lo, hi = (min(f0, 0), max(f1, length - 1)) if not is_empty(box) else (0, length - 1)
        unit_w = STRIP_IN / (hi - lo + 1)

        def x_of(u: float, lo: int = lo, unit_w: float = unit_w) -> float:
            return (u - lo) * unit_w

        color = theme.input if info is src else theme.maps
        name = info.name
        if (lo, hi) != (0, length - 1):
            sheet.rect(x_of(lo), y, x_of(hi + 1) - x_of(lo), STRIP_H_IN, facecolor="none",
                       edgecolor=theme.muted, hatch="////", hatchcolor=theme.padding,
                       linewidth=THIN_PT, linestyle=(0, (2, 2)), zorder=1, gid=f"padding-{name}")
            notes.add("padding")
        sheet.rect(x_of(0), y, x_of(length) - x_of(0), STRIP_H_IN,
                   facecolor=mix(color, theme.bg, 0.28), edgecolor=edge_color(color, theme),
                   zorder=2, gid=f"map-{name}")
        is_target = info is target
        fill = theme.neuron if is_target else theme.field
        edge = edge_color(fill, theme)
        if is_empty(box):
            spans.append(None)
        else:
            inside = clip_box(box, info.shape)
            if inside is not None:  # the span, padding aside, in a pale tint
                (a, b), = inside
                sheet.rect(x_of(a), y, x_of(b + 1) - x_of(a), STRIP_H_IN, zorder=2.4,
                           facecolor=mix(fill, theme.bg, 0.3), edgecolor="none", linewidth=0,
                           gid=f"span-{name}")
            for a, b in _runs(deps[name]):  # the units it depends on
                sheet.rect(x_of(a), y, x_of(b + 1) - x_of(a), STRIP_H_IN, zorder=3,
                           facecolor=fill if is_target else mix(fill, theme.bg, 0.85),
                           edgecolor="none", linewidth=0, gid="neuron" if is_target
                           else f"footprint-{name}")
            if inside != box:
                for a, b in ((f0, -1), (length, f1)):
                    if a <= b:
                        sheet.rect(x_of(a), y, x_of(b + 1) - x_of(a), STRIP_H_IN,
                                   facecolor=mix(fill, theme.bg, 0.3), hatch="////",
                                   hatchcolor=edge, edgecolor="none", linewidth=0, zorder=2.5,
                                   gid=f"footprint-padding-{name}")
            sheet.rect(x_of(f0), y, x_of(f1 + 1) - x_of(f0), STRIP_H_IN, facecolor="none",
                       edgecolor=edge, zorder=4, gid=f"footprint-box-{name}")
            spans.append((x_of(f0), x_of(f1 + 1), y))
            if (f1 - f0 + 1) * unit_w < MIN_FEATURE_IN:
                sheet.circle((x_of(f0) + x_of(f1 + 1)) / 2, y + STRIP_H_IN / 2, RING_IN,
                             facecolor="none", edgecolor=fill if is_target else edge,
                             linewidth=1.0, zorder=5, gid=f"marker-{name}")
                if not is_target:
                    notes.add("ringed")
        if hi - lo + 1 <= STRIP_GRID and unit_w >= 0.025:
            segs = [[(x_of(u), y), (x_of(u), y + STRIP_H_IN)] for u in range(lo + 1, hi + 1)]
            sheet.add(LineCollection(segs, colors=mix(theme.muted, theme.bg, 0.55),
                                               linewidths=0.3, zorder=3.2))
        sheet.rect(x_of(0), y, x_of(length) - x_of(0), STRIP_H_IN, facecolor="none",
                   edgecolor=edge_color(color, theme), zorder=4.2)
        mid = y + STRIP_H_IN / 2
        sheet.text(-0.12, mid + 0.01, name, size=TITLE_PT, bold=True, ha="right",
                   va="bottom", gid="title")
        sheet.text(-0.12, mid - 0.01, _words(length, "step", "steps"), ha="right", va="top",
                   color=theme.muted, gid="shape")
        texts = _strip_texts(info, box, len(deps[name]), src, target, unit)
        line_h = sheet.measure("Ag")[1] + 0.02
        top = mid + line_h * len(texts) / 2
        for k, line in enumerate(texts):
            sheet.text(STRIP_IN + 0.12, top - k * line_h, line, ha="left", va="top",
                       color=theme.fg if k == 0 else theme.muted,
                       gid="size" if k == 0 else "detail")
        if i > 0:
            skipped = chain_names.index(name) - chain_names.index(nodes[i - 1].name) - 1
            if skipped:
                sheet.text(-0.12 - name_w / 2, y - STRIP_GAP_IN / 2, f"+{skipped}",
                           color=theme.muted, gid="skipped")
    line_color = edge_color(theme.field, theme)
    for below, above in zip(spans, spans[1:], strict=False):
        if below is None or above is None:
            continue
        for xa, xb in ((above[0], below[0]), (above[1], below[1])):
            sheet.line([xa, xb], [above[2], below[2] + STRIP_H_IN], color=line_color,
                       linewidth=THIN_PT, alpha=0.9, zorder=6)
    _notes_below(sheet, theme, notes, total, len(nodes), "strip")
    return sheet.finish(), _alt_strips(nodes, feet, deps, src, target, unit, total)


def _notes_below(sheet: Sheet, theme: Theme, notes: set[str], total: int, drawn: int,
                 what: str) -> None:
    lines = [f"Each {what} is drawn to its own scale."]
    if "padding" in notes:
        lines.append("Hatched: padding.")
    if "ringed" in notes:
        lines.append("Rings mark footprints too small to see.")
    if total > drawn:
        lines.append(f"{drawn} of {total} layers drawn; +n: n layers between, not drawn.")
    x, y = sheet.bounds[0], sheet.bounds[1] - 0.08
    for line in wrap_words(sheet, " ".join(lines), max(sheet.bounds[2] - x, 3.0)):
        sheet.text(x, y, line, ha="left", va="top", color=theme.muted, gid="note")
        y -= sheet.measure(line)[1] + 0.02


def _alt_strips(nodes: Sequence[LayerInfo], feet: Mapping[str, Box], deps: Mapping[str, Any],
                src: LayerInfo, target: LayerInfo, unit: tuple[int, ...], total: int) -> str:
    """'Unit 20 of c3 (a receptive field of 15 input steps) depends on 3 units of c2
    (spanning 9), ... and 7 of the 40 input steps (spanning 15, padding included).'"""
    parts = []
    for info in reversed(nodes[:-1]):
        n, (span,) = len(deps[info.name]), box_size(feet[info.name])
        text = (f"{fmt_count(n)} of the {fmt_count(src.shape[0])} input steps" if info is src
                else f"{_words(n, 'unit', 'units')} of {info.name}")
        if span != n:
            text += f" (spanning {fmt_count(span)}"
            text += ", padding included)" if _hangs(info, feet[info.name]) else ")"
        parts.append(text)
    text = (f"Unit {fmt_count(unit[0])} of {target.name} (a receptive field of "
            f"{fmt_dims(target.rf)} input steps) depends on ")
    text += ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    if total > len(nodes):
        text += f" ({total - len(nodes)} layers between not listed)"
    return text + "."


def _alt_nd(nodes: Sequence[LayerInfo], feet: Mapping[str, Box], src: LayerInfo,
            target: LayerInfo, unit: tuple[int, ...], total: int) -> str:
    """'Receptive field of unit 12 of c3: 3 units in c2, 5 units in c1, 7 steps of the
    64-step input.' (volumes: '... 3×3×3 in conv2, 5×5×5 voxels in the 16×16×16 input')."""
    seq = len(unit) == 1
    parts = []
    for info in reversed(nodes[:-1]):
        size = box_size(feet[info.name])
        n = math.prod(size)
        inside = clip_box(feet[info.name], info.shape)
        got = box_size(inside) if inside is not None else (0,) * len(size)
        if seq:
            text = (_words(size[0], "step", "steps") + f" of the {fmt_count(src.shape[0])}-step "
                    "input" if info is src else
                    ("none" if n == 0 else _words(size[0], "unit", "units")) + f" in {info.name}")
        elif info is src:
            text = (f"{fmt_dims(size)} voxel{'' if n == 1 else 's'} in the "
                    f"{fmt_dims(src.shape[:-1])} input")
        else:
            text = ("none" if n == 0 else fmt_dims(size)) + f" in {info.name}"
        if n and got != size:
            text += f" ({fmt_dims(got) if not seq else fmt_count(got[0])} inside)"
        parts.append(text)
    which = f"unit {fmt_count(unit[0])}" if seq else f"neuron ({', '.join(map(str, unit))})"
    text = f"Receptive field of {which} of {target.name}: " + ", ".join(parts)
    if total > len(nodes):
        text += f" ({total - len(nodes)} layers between not listed)"
    return text + "."


# --------------------------------------------------------------------------- volumes

VOLUME_IN = 1.2  # the longest drawn extent of each volume (each to its own scale)
VOLUME_DEPTH = 0.5  # depth drawn at half length (cabinet projection)


def _volume_texts(info: LayerInfo, box: Box, src: LayerInfo, target: LayerInfo,
                  unit: tuple[int, ...]) -> tuple[str, ...]:
    size = box_size(box)
    inside = clip_box(box, info.shape)
    got = box_size(inside) if inside is not None else (0, 0, 0)
    rf = fmt_dims(info.rf)
    n = math.prod(size)
    if info is target:
        lines = [f"neuron ({', '.join(map(str, unit))})", f"sees {rf} voxels"]
    elif info is src:
        lines = [f"{fmt_dims(size)} voxel{'' if n == 1 else 's'}"]
    else:
        lines = ["no units" if n == 0 else f"{fmt_dims(size)} unit{'' if n == 1 else 's'}",
                 f"each sees {rf} voxels"]
    if info is not target and n and got != size:
        lines.append(f"{fmt_dims(got)} inside the {'volume' if info is src else 'map'}")
    return tuple(lines)


def _render_volumes(analysis: Analysis, nodes: Sequence[LayerInfo], total: int,
                    feet: Mapping[str, Box], target: LayerInfo, unit: tuple[int, ...],
                    theme: Theme) -> tuple[Any, str]:
    """A volume: one small volume per layer, input first, each to its own scale, with the
    box of units the neuron depends on at its place (padding hatched), arrows between."""
    src = analysis.input
    sheet = Sheet(theme)
    chain_names = [n.name for n in _chain(analysis, target, 10**6)[0]]
    notes: set[str] = set()
    per_row = len(nodes) if len(nodes) <= MAX_PER_ROW else math.ceil(len(nodes) / 2)
    title_h = sheet.measure("Ag", TITLE_PT, True)[1] + 0.02
    line_h = sheet.measure("Ag")[1] + 0.02
    cos, sin = math.cos(VOLUME_ANGLE), math.sin(VOLUME_ANGLE)
    laid = []
    for info in nodes:
        box = feet[info.name]
        region: Box = tuple((0, n - 1) for n in info.shape[:3])
        if not is_empty(box):
            region = tuple((min(a, 0), max(b, n - 1))
                           for (a, b), n in zip(box, info.shape, strict=False))
        depth_n, rows_n, cols_n = box_size(region)
        scale = VOLUME_IN / max(cols_n + VOLUME_DEPTH * depth_n * cos,
                                rows_n + VOLUME_DEPTH * depth_n * sin)
        d, h, w = info.shape[:3]
        probe = Volume.at((d, h, w), 0.0, 0.0, w * scale, h * scale, VOLUME_DEPTH * d * scale)
        corners = [probe.point(z, r, c) for z in (region[0][0], region[0][1] + 1)
                   for r in (region[1][0], region[1][1] + 1)
                   for c in (region[2][0], region[2][1] + 1)]
        extent = (min(p[0] for p in corners), min(p[1] for p in corners),
                  max(p[0] for p in corners), max(p[1] for p in corners))
        title = split_name(sheet, info.name, VOLUME_IN)
        texts = _volume_texts(info, box, src, target, unit)
        slot = max([extent[2] - extent[0]] + [sheet.measure(t, TITLE_PT, True)[0] for t in title]
                   + [sheet.measure(t)[0] for t in (fmt_dims(info.shape), *texts)])
        laid.append((info, box, probe, extent, title, texts, slot))
    columns = [max(s[6] for s in laid[i::per_row]) for i in range(per_row)]
    top = 0.0
    prev: tuple[float, float, str] | None = None  # right end of the last volume, row, name
    for start in range(0, len(laid), per_row):
        row = laid[start:start + per_row]
        panel_top = top - max(len(s[4]) for s in row) * title_h - line_h - 0.1
        tallest = max(s[3][3] - s[3][1] for s in row)
        mid = panel_top - tallest / 2
        x = 0.0
        for column, (info, box, probe, extent, title, texts, _) in zip(columns, row, strict=False):
            cx = x + column / 2
            shift_x = cx - (extent[0] + extent[2]) / 2
            shift_y = mid - (extent[1] + extent[3]) / 2
            vol = Volume(probe.sizes, probe.x0 + shift_x, probe.y0 + shift_y, probe.fw,
                         probe.fh, probe.dx, probe.dy)
            color = theme.input if info is src else theme.maps
            draw_volume(sheet, vol, box, theme, color=color, neuron=info is target,
                        name=info.name, notes=notes)
            y = panel_top + 0.06
            sheet.text(cx, y, fmt_dims(info.shape), color=theme.muted, va="bottom", gid="shape")
            y += line_h - 0.01
            for t in reversed(title):
                sheet.text(cx, y, t, size=TITLE_PT, bold=True, va="bottom", gid="title")
                y += title_h
            bottom = panel_top - tallest - 0.08
            for k, t in enumerate(texts):
                sheet.text(cx, bottom - k * line_h, t, va="top",
                           color=theme.fg if k == 0 else theme.muted,
                           gid="size" if k == 0 else "detail")
            left = extent[0] + shift_x
            if prev is not None and prev[1] == panel_top:
                skipped = chain_names.index(info.name) - chain_names.index(prev[2]) - 1
                x_a, x_b = prev[0] + 0.08, left - 0.08
                if x_b - x_a >= 0.12:
                    arrow = FancyArrowPatch((x_a, mid), (x_b, mid), arrowstyle="-|>",
                                            mutation_scale=9, color=theme.muted,
                                            linewidth=LINE_PT, zorder=6)
                    arrow.set_gid("arrow")
                    sheet.include((x_a, x_b), (mid - 0.05, mid + 0.05))
                    sheet.add(arrow)
                    if skipped:
                        sheet.text((x_a + x_b) / 2, mid + 0.06, f"+{skipped}", va="bottom",
                                   color=theme.muted, gid="skipped")
            prev = (extent[2] + shift_x, panel_top, info.name)
            x += column + GAP_IN
        below = max(len(s[5]) for s in row)
        top = panel_top - tallest - 0.08 - below * line_h - ROW_GAP_IN
    _notes_below(sheet, theme, notes, total, len(nodes), "volume")
    return sheet.finish(), _alt_nd(nodes, feet, src, target, unit, total)


def estimate(net: Network, max_layers: int) -> Cost:
    """What the figure costs: the network's nodes, at most ``max_layers`` panels of a few
    labels, each map's grid lines (up to ``GRID_MAX`` a side) and marks, in at most two rows."""
    per_row = min(max_layers, max(MAX_PER_ROW, math.ceil(max_layers / 2)))
    return diagram_cost(len(net.layers) + 1, 8 * max_layers + 6, (2 * GRID_MAX + 20) * max_layers,
                        per_row * (PANEL_IN + GAP_IN) + HOOK_IN + 0.5, 6.0)


def _alt(nodes: Sequence[LayerInfo], sizes: Mapping[str, tuple[int, int]], src: LayerInfo,
         target: LayerInfo, neuron: tuple[int, int], total: int) -> str:
    parts = []
    for info in reversed(nodes[:-1]):
        rows, cols = sizes[info.name]
        if info is src:
            parts.append(f"{_count(rows, cols, 'pixel')} in the {fmt_dims(src.shape[:2])} input")
        else:
            parts.append(f"{'none' if rows * cols == 0 else f'{rows}×{cols}'} in {info.name}")
    text = f"Receptive field of neuron ({neuron[0]}, {neuron[1]}) of {target.name}: "
    text += ", ".join(parts)
    if total > len(nodes):
        text += f" ({total - len(nodes)} layers between not listed)"
    return text + "."


KIND = FigureKind(
    name="growth",
    summary="One neuron's receptive field traced back through every layer to the input.",
    options=OPTIONS,
    render_function=render,
    estimate_function=lambda network, options: estimate(network or parse_spec(DEFAULT_SPEC),
                                                        options["max_layers"]),
    dimensions=(1, 2, 3),
)
