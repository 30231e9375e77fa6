"""Footprints for rf-explorer: where each unit of a layer looks in every earlier layer, as
exact integer maps a browser can evaluate, and the data an explorer embeds in its page.

The footprint of unit x of a layer L in an earlier layer K is ``[min(lo + x j), max(hi + x j)]``
over the boxes of the paths from K to L: the receptive fields of L with K as the source
(``receptive.Fields``, so only the boxes that decide some unit).  A map scales them by a common
denominator so the script does exact integer arithmetic.  Where L's fields from K are swept
(a merge needed more than ``MAX_LINES`` boxes), the map holds the boxes that decide the units
the page can show (the drawn ones and the one selected first), so it is exact there.

Bounded work and size: one ``Fields`` per earlier layer drawn (at most ``MAX_GRIDS`` - 1), each
O(E m) for E edges and m = ``MAX_LINES``, swept units counted against ``MAX_WORK``; a map has
at most m boxes, or two per unit the page can show (``2 (MAX_CELLS + 1)``), so the data holds
O(MAX_GRIDS^2 m) numbers; the directive refuses data past ``MAX_DATA_BYTES``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from rfdocs.compute.spec import INPUT_NAME

if TYPE_CHECKING:  # the receptive-field code loads when a map is computed, not with the module
    from rfdocs.compute.receptive import Analysis, AxisRF, Fields, PathBox

#: Bump when the embedded data changes shape (the script checks it).
DATA_VERSION = 1
DEFAULT_MAX_CELLS = 32  # units drawn per axis before a layer is sampled
MAX_CELLS = 128  # the most :max-cells: allows
MAX_GRIDS = 40  # layers one explorer may draw (more: pick them with :layers:)
#: Boxes copied at merges and route steps swept, in all, for one explorer's footprints.
MAX_WORK = 1_000_000
#: Bytes of JSON one explorer may embed in its page.
MAX_DATA_BYTES = 4_000_000

Scaled = tuple[int, int, int]  # (j, lo, hi) times the axis map's denominator
Units = Mapping[str, Sequence[Sequence[int]]]  # layer -> rows, cols (one list per axis) to be exact at


@dataclass(frozen=True)
class AxisMap:
    """Unit x of a later layer sees units ``[min(lo + x j), max(hi + x j)] / d`` of an earlier one."""

    d: int
    paths: tuple[Scaled, ...]

    @classmethod
    def from_boxes(cls, boxes: Sequence[PathBox]) -> AxisMap:
        values = [Fraction(v) for p in boxes for v in (p.j, p.lo, p.hi)]
        d = math.lcm(*(v.denominator for v in values))
        scaled = [int(v * d) for v in values]
        return cls(d, tuple((scaled[i], scaled[i + 1], scaled[i + 2])
                            for i in range(0, len(scaled), 3)))

    @classmethod
    def from_axis(cls, axis: AxisRF) -> AxisMap:
        return cls.from_boxes(axis.paths)

    def span(self, x: int) -> tuple[Fraction, Fraction]:
        """Exact [first, last] coordinate seen by unit x (may lie outside the layer: padding)."""
        lo = min(a + x * j for j, a, _ in self.paths)
        hi = max(b + x * j for j, _, b in self.paths)
        return Fraction(lo, self.d), Fraction(hi, self.d)

    def cells(self, x: int, n: int) -> tuple[int, int] | None:
        """Whole units [first, last] seen by unit x, clipped to a layer of n units; None if none."""
        lo, hi = self.span(x)
        first, last = max(math.ceil(lo), 0), min(math.floor(hi), n - 1)
        return (first, last) if first <= last else None

    def to_json(self) -> list[Any]:
        return [self.d, [list(p) for p in self.paths]]


def _swept(fields: Fields, node: int, axis: int, xs: Sequence[int]) -> tuple[PathBox, ...]:
    """The boxes deciding units ``xs`` of a swept node."""
    return tuple(dict.fromkeys(b for pair in fields.sweep(node, axis, xs) for b in pair))


def footprint_maps(analysis: Analysis, shown: Sequence[str], units: Units | None = None, *,
                   max_lines: int | None = None, max_work: int | None = None,
                   ) -> dict[tuple[str, str], tuple[AxisMap, ...]]:
    """(later, earlier) -> one map per spatial axis (rows and columns in 2-D), for every pair of
    ``shown`` nodes joined by a path.  Exact for every unit; where fields are swept, for
    ``units[later]`` (one list of units per axis; every unit when not given).  Raises
    ``receptive.WorkLimit`` past ``max_work`` steps; ``max_lines``: ``receptive.MAX_LINES``
    by default."""
    from rfdocs.compute.receptive import MAX_LINES, Fields

    lines = MAX_LINES if max_lines is None else max_lines
    index, graph = analysis.index, analysis.graph
    ndim = graph.ndim
    budget = [max_work]

    def wanted(name: str, axis: int) -> Sequence[int]:
        if units is not None and name in units:
            return units[name][axis]
        return range(graph.units[index[name]][axis])

    def run(source: int, later: Sequence[str]) -> Fields:
        return Fields(graph, source, [index[n] for n in later], lines, budget[0])

    def spend(fields: Fields) -> None:
        if budget[0] is not None:
            budget[0] = max(budget[0] - fields.work, 0)

    maps: dict[tuple[str, str], tuple[AxisMap, ...]] = {}
    for i, earlier in enumerate(shown[:-1]):
        later = shown[i + 1:]
        if earlier == INPUT_NAME:  # the analysis' own fields
            swept = [n for n in later if any(rf.hull is None for rf in analysis[n].axes)]
            fields = run(index[INPUT_NAME], swept) if swept else None
            for name in later:
                axes = analysis[name].axes
                boxes = []
                for axis, rf in enumerate(axes):
                    if rf.hull is not None:
                        boxes.append(rf.paths)
                    else:
                        assert fields is not None
                        boxes.append(_swept(fields, index[name], axis, wanted(name, axis)))
                maps[(name, earlier)] = tuple(AxisMap.from_boxes(b) for b in boxes)
            if fields is not None:
                spend(fields)
            continue
        fields = run(index[earlier], later)
        for name in later:
            node = index[name]
            if node not in fields.position:
                continue
            boxes = []
            for axis in range(ndim):
                rf = fields.axis_rf(node, axis)
                boxes.append(rf.paths if rf.hull is not None
                             else _swept(fields, node, axis, wanted(name, axis)))
            maps[(name, earlier)] = tuple(AxisMap.from_boxes(b) for b in boxes)
        spend(fields)
    return maps


def grid_step(shape: Sequence[int], max_cells: int, ndim: int = 2) -> int:
    """Draw every ``step``-th unit so no side shows more than ``max_cells`` cells (``shape``: the
    spatial sizes first, ``ndim`` of them)."""
    return max(1, -(-max(shape[:ndim]) // max_cells))


def explorer_data(analysis: Analysis, shown: Sequence[str], max_cells: int,
                  select: tuple[Any, ...], *, max_work: int | None = None,
                  ) -> dict[str, Any]:
    """Everything the page's script needs, as plain JSON data (raises
    ``receptive.WorkLimit`` when the footprints would take more than ``max_work`` steps,
    ``MAX_WORK`` by default).  ``select``: (layer, y, x) in 2-D, (layer, t) in 1-D, (layer,
    z, y, x) in 3-D; every list per unit holds one entry per spatial axis."""
    from rfdocs.compute.receptive import as_plain

    if max_work is None:
        max_work = MAX_WORK
    layer, coords = select[0], tuple(select[1:])
    ndim = analysis.input.ndim
    if len(coords) != ndim:
        raise ValueError(f"select a unit of a {ndim}-D layer with {ndim} coordinates, got "
                         f"{len(coords)}")
    units: dict[str, list[list[int]]] = {}
    for name in shown:  # the units the page can show: the drawn ones and the one selected
        size = analysis[name].shape[:ndim]
        step = grid_step(size, max_cells, ndim)
        axes = [list(range(0, n, step)) for n in size]
        if name == layer:
            axes = [sorted({*a, c}) for a, c in zip(axes, coords, strict=True)]
        units[name] = axes
    maps = footprint_maps(analysis, shown, units, max_work=max_work)
    layers = []
    for i, name in enumerate(shown):
        node = analysis[name]
        layers.append({
            "name": name, "op": node.op, "shape": list(node.shape),
            "rf": [as_plain(v) for v in node.rf], "jump": [as_plain(v) for v in node.jump],
            "start": [as_plain(v) for v in node.start], "aligned": node.aligned,
            "step": grid_step(node.shape, max_cells, ndim),
            "from": [None if (name, earlier) not in maps
                     else [m.to_json() for m in maps[(name, earlier)]] for earlier in shown[:i]],
        })
    return {"version": DATA_VERSION, "layers": layers, "select": [shown.index(layer), *coords]}
