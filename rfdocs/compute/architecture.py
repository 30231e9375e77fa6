"""The structure of a whole network for an architecture figure: which layers are drawn, how the
graph splits into a chain of layers and multi-path blocks (residual blocks, Inception modules,
encoder-decoder skips), which blocks repeat, and which blocks form named stages.

The graph is read as a nest of series and parallel parts. Between a source ``a`` and a sink
``b`` (every node of the part lies on a path from ``a`` to ``b``), a node is a *cut* when every
path passes through it; in a topological order that is exactly a node no edge jumps over, so
the cuts come from one sweep. Consecutive cuts ``u``, ``v`` with nodes between them form a
*parallel* part: the weakly connected groups of those nodes are its branches (each again a
series from its one entry to its one exit), an edge ``u -> v`` is an identity shortcut.  A
branch with several entries or exits is split again from ``u`` to ``v``; where it has no cut
either, it is kept as a small general graph (``Graph``), laid out by layers.  Merges with
three or more inputs collected from along a chain (WaveNet's skip connections into one sum)
are *taps*: the deepest input stays the chain's exit and the others hang off the chain as
pendant layers with a tap into the merge.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from rfdocs.compute.receptive import Analysis, LayerInfo
from rfdocs.compute.spec import INPUT_NAME, MERGE_OPS, POINTWISE_OPS


class StructureError(ValueError):
    """A request the network cannot answer (an unknown layer, an empty range); names it."""


# --------------------------------------------------------------------------- the parts


@dataclass(frozen=True)
class Node:
    """One drawn layer (or the input), with the pendant layers that hang off it (taps)."""

    name: str
    pendants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Graph:
    """A group of layers that is neither a chain nor parallel chains: drawn by layers, its
    nodes in ``columns`` (each a tuple of names) and its own edges."""

    columns: tuple[tuple[str, ...], ...]
    edges: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Parallel:
    """The branches between a fork ``source`` and a join ``sink`` (neither included), and
    whether an identity shortcut joins them directly."""

    source: str
    sink: str
    branches: tuple[tuple[Item, ...], ...]
    identity: bool
    taps: tuple[str, ...] = ()  # pendant layers that feed ``sink`` by a tap


Part = Node | Parallel | Graph


@dataclass(frozen=True)
class Unit:
    """A top-level piece: one layer, or a block (a parallel part and the layer joining it)."""

    parts: tuple[Part, ...]  # (Node,), (Graph,), (Parallel, Node) or an open (Parallel,)
    output: str  # the layer whose output the unit gives (an open block's: its join's)

    @property
    def is_block(self) -> bool:
        return len(self.parts) > 1


@dataclass(frozen=True)
class Repeat:
    """``count`` consecutive copies of the same ``period`` units (drawn once, marked ×count)."""

    units: tuple[Unit, ...]  # every copy, in order (len = period * count)
    period: int
    count: int

    @property
    def first(self) -> tuple[Unit, ...]:
        return self.units[: self.period]

    @property
    def output(self) -> str:
        return self.units[-1].output


@dataclass(frozen=True)
class Stage:
    """A run of blocks at one resolution (ResNet's conv3_x, Inception's Mixed_6), named."""

    name: str
    items: tuple[Unit | Repeat, ...]

    @property
    def blocks(self) -> int:
        return sum(_units_of(i) for i in self.items)

    @property
    def output(self) -> str:
        return self.items[-1].output

    @property
    def first(self) -> str:
        item = self.items[0]
        return (item.units[0] if isinstance(item, Repeat) else item).output


Item = Unit | Repeat | Stage


def _units_of(item: Unit | Repeat) -> int:
    return len(item.units) if isinstance(item, Repeat) else 1


@dataclass(frozen=True)
class Structure:
    """The drawn network: its items from ``source`` to ``sink``, the analysis of every layer,
    what was hidden and what could not be reached."""

    analysis: Analysis
    source: str
    sink: str
    items: tuple[Item, ...]
    drawn: frozenset[str]
    hidden: tuple[str, ...]  # elementwise layers folded into their input
    left_out: tuple[str, ...]  # layers not on a path from source to sink
    preds: Mapping[str, tuple[str, ...]] = field(repr=False)

    def info(self, name: str) -> LayerInfo:
        return self.analysis[name]


# --------------------------------------------------------------------------- the graph


def drawn_graph(analysis: Analysis, hide_elementwise: bool) -> tuple[dict[str, tuple[str, ...]],
                                                                        list[str]]:
    """Each drawn node's distinct drawn inputs (elementwise layers folded into their input),
    and the hidden layers."""
    rep: dict[str, str] = {INPUT_NAME: INPUT_NAME}
    preds: dict[str, tuple[str, ...]] = {INPUT_NAME: ()}
    hidden: list[str] = []
    for info in analysis.layers:
        layer = info.layer
        assert layer is not None
        inputs = tuple(dict.fromkeys(rep[i] for i in layer.inputs))
        if hide_elementwise and layer.op in POINTWISE_OPS and len(inputs) == 1:
            rep[info.name] = inputs[0]
            hidden.append(info.name)
            continue
        rep[info.name] = info.name
        preds[info.name] = inputs
    return preds, hidden


def _between(preds: Mapping[str, tuple[str, ...]], order: Mapping[str, int], source: str,
             sink: str) -> set[str]:
    """The nodes on some path from ``source`` to ``sink``."""
    succ: dict[str, list[str]] = {n: [] for n in preds}
    for n, ps in preds.items():
        for p in ps:
            succ[p].append(n)
    down = {source}
    for n in sorted(preds, key=order.__getitem__):
        if n != source and any(p in down for p in preds[n]):
            down.add(n)
    up = {sink}
    for n in sorted(preds, key=order.__getitem__, reverse=True):
        if n != sink and any(s in up for s in succ[n]):
            up.add(n)
    return down & up


class _Decomposer:
    """Series-parallel decomposition of the drawn graph (see the module docstring)."""

    def __init__(self, preds: Mapping[str, tuple[str, ...]], order: Mapping[str, int],
                 analysis: Analysis) -> None:
        self.order = order
        self.analysis = analysis
        self.preds = {n: tuple(p for p in ps) for n, ps in preds.items()}
        self.succ: dict[str, list[str]] = {n: [] for n in preds}
        for n, ps in preds.items():
            for p in ps:
                self.succ[p].append(n)
        self.pendants: dict[str, list[str]] = {}
        self.depth = 0

    # ---- helpers on a node set S

    def _sorted(self, nodes: Iterable[str]) -> list[str]:
        return sorted(nodes, key=self.order.__getitem__)

    def cuts(self, a: str, b: str, nodes: set[str], skip: tuple[str, str] | None) -> list[str]:
        """The nodes of ``nodes`` every path from ``a`` to ``b`` passes, in order (a and b
        included); ``skip`` is an edge left out."""
        seq = self._sorted(nodes)
        pos = {n: i for i, n in enumerate(seq)}
        reach = 0
        out = []
        for i, n in enumerate(seq):
            if reach <= i:
                out.append(n)
            for s in self.succ[n]:
                if s in pos and (n, s) != skip:
                    reach = max(reach, pos[s])
        return out

    def chain(self, a: str, b: str, nodes: set[str], skip: tuple[str, str] | None = None
              ) -> list[Part]:
        """The parts strictly between ``a`` and ``b`` (cuts as Nodes, parallel parts between)."""
        self.depth += 1
        if self.depth > 200:
            raise StructureError("the network nests blocks more than 200 deep")
        cuts = self.cuts(a, b, nodes, skip)
        pos = {n: self.order[n] for n in nodes}
        parts: list[Part] = []
        for u, v in zip(cuts, cuts[1:], strict=False):
            interior = {n for n in nodes if pos[u] < pos[n] < pos[v]}
            if interior:
                parts.append(self.parallel(u, v, interior, skip))
            if v != b:
                parts.append(self.node(v))
        self.depth -= 1
        return parts

    def node(self, name: str) -> Node:
        return Node(name, tuple(self.pendants.get(name, ())))

    def parallel(self, u: str, v: str, interior: set[str], skip: tuple[str, str] | None
                 ) -> Parallel:
        identity = v in self.succ[u] and (u, v) != skip
        branches: list[tuple[Item, ...]] = []
        taps: list[str] = []
        for comp in self._components(interior):
            entries = [n for n in self._sorted(comp) if u in self.preds[n]]
            exits = [n for n in self._sorted(comp) if v in self.succ[n]]
            if len(exits) > 1 and self._is_tap_merge(v, exits):
                keep = exits[-1]
                pendant = self._take_taps(comp, keep)
                taps.extend(n for n in pendant if v in self.succ[n])
                comp = comp - set(pendant)
                exits = [keep]
                entries = [n for n in entries if n in comp]
            if len(entries) == 1 and len(exits) == 1:
                e, x = entries[0], exits[0]
                if e == x:
                    parts: list[Part] = [self.node(e)]
                else:
                    inner = self.chain(e, x, comp)
                    parts = [self.node(e), *inner, self.node(x)]
            elif len(self.cuts(u, v, comp | {u, v}, (u, v))) > 2:
                parts = self.chain(u, v, comp | {u, v}, (u, v))
            else:
                parts = [self._graph(comp)]
            branches.append(tuple(group(parts, self.analysis)))
        return Parallel(u, v, tuple(branches), identity, tuple(taps))

    def _is_tap_merge(self, v: str, exits: Sequence[str]) -> bool:
        """A merge collecting three or more inputs from along one chain (not parallel
        branches of one fork): its extra inputs are taps."""
        info = self.analysis[v]
        if info.layer is None or info.layer.op not in MERGE_OPS or len(self.preds[v]) < 3:
            return False
        return len(exits) >= 2  # from one connected group: along a chain, not parallel branches

    def _take_taps(self, comp: set[str], keep: str) -> list[str]:
        """Hang the layers of ``comp`` that do not reach ``keep`` off the nodes that do;
        returns these pendant layers (each records its attachment in ``self.pendants``)."""
        reach = {keep}
        for n in self._sorted(comp)[::-1]:
            if any(s in reach for s in self.succ[n] if s in comp):
                reach.add(n)
        pend = [n for n in self._sorted(comp) if n not in reach]
        for n in pend:
            anchors = [p for p in self.preds[n] if p in reach]
            anchor = anchors[-1] if anchors else self._anchor_of(n, reach)
            self.pendants.setdefault(anchor, []).append(n)
        return pend

    def _anchor_of(self, n: str, reach: set[str]) -> str:
        for p in self.preds[n]:
            for q in self._walk_up(p):
                if q in reach:
                    return q
        return self.preds[n][0]

    def _walk_up(self, n: str) -> Iterable[str]:
        seen = {n}
        todo = [n]
        while todo:
            m = todo.pop()
            yield m
            for p in self.preds[m]:
                if p not in seen:
                    seen.add(p)
                    todo.append(p)

    def _components(self, nodes: set[str]) -> list[set[str]]:
        parent = {n: n for n in nodes}

        def find(n: str) -> str:
            while parent[n] != n:
                parent[n] = parent[parent[n]]
                n = parent[n]
            return n

        for n in nodes:
            for p in self.preds[n]:
                if p in nodes:
                    parent[find(p)] = find(n)
        groups: dict[str, set[str]] = {}
        for n in nodes:
            groups.setdefault(find(n), set()).add(n)
        return sorted(groups.values(), key=lambda g: min(self.order[n] for n in g))

    def _graph(self, comp: set[str]) -> Graph:
        column: dict[str, int] = {}
        for n in self._sorted(comp):
            column[n] = 1 + max((column[p] for p in self.preds[n] if p in comp), default=-1)
        cols: list[list[str]] = [[] for _ in range(max(column.values()) + 1)]
        for n in self._sorted(comp):
            cols[column[n]].append(n)
        edges = tuple((p, n) for n in self._sorted(comp) for p in self.preds[n] if p in comp)
        return Graph(tuple(tuple(c) for c in cols), edges)


# --------------------------------------------------------------------------- units, repeats


def signature(part: Part, analysis: Analysis, root: str | None = None) -> tuple[object, ...]:
    """What a part looks like when drawn (ops, windows, filters, shapes; not names): equal
    signatures draw the same."""
    if isinstance(part, Node):
        info = analysis[part.name]
        layer = info.layer
        geo: tuple[object, ...] = ()
        if layer is not None:
            geo = (layer.op, layer.kernel, layer.stride, layer.dilation, layer.filters,
                   layer.groups, layer.factor, layer.mode)
        return ("node", info.op, geo, info.shape,
                tuple(signature(Node(p), analysis) for p in part.pendants))
    if isinstance(part, Graph):
        names = [n for col in part.columns for n in col]
        index = {n: i for i, n in enumerate(names)}
        return ("graph", tuple(len(c) for c in part.columns),
                tuple(signature(Node(n), analysis) for n in names),
                tuple((index[a], index[b]) for a, b in part.edges))
    return ("parallel", part.identity, len(part.taps),
            tuple(tuple(item_signature(i, analysis) for i in br) for br in part.branches))


def item_signature(item: Item, analysis: Analysis) -> tuple[object, ...]:
    """The signature of a unit, a repeat or a stage (see ``signature``)."""
    if isinstance(item, Unit):
        return ("unit", tuple(signature(p, analysis) for p in item.parts))
    if isinstance(item, Repeat):
        return ("repeat", item.count, tuple(item_signature(u, analysis) for u in item.first))
    return ("stage", tuple(item_signature(i, analysis) for i in item.items))


def units_of(parts: Sequence[Part]) -> list[Unit]:
    """Parts grouped into units: a parallel part with the node that joins it (an open one
    where its join lies outside ``parts``)."""
    units: list[Unit] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if isinstance(part, Parallel):
            join = parts[i + 1] if i + 1 < len(parts) else None
            if isinstance(join, Node):
                units.append(Unit((part, join), join.name))
                i += 2
            else:
                units.append(Unit((part,), part.sink))
                i += 1
        elif isinstance(part, Graph):
            units.append(Unit((part,), part.columns[-1][-1]))
            i += 1
        else:
            units.append(Unit((part,), part.name))
            i += 1
    return units


MAX_PERIOD = 4


def find_repeats(units: Sequence[Unit], analysis: Analysis) -> list[Unit | Repeat]:
    """Runs of ``count`` >= 2 consecutive copies of the same 1 to MAX_PERIOD units, greedily
    from the left, the longest coverage first."""
    sigs = [item_signature(u, analysis) for u in units]

    def best_at(i: int) -> tuple[int, int]:  # (period, count) covering the most units
        best = (1, 1)
        for period in range(1, MAX_PERIOD + 1):
            count = 1
            while (i + (count + 1) * period <= len(units)
                   and sigs[i + count * period: i + (count + 1) * period] == sigs[i: i + period]):
                count += 1
            if count >= 2 and period * count > best[0] * best[1]:
                best = (period, count)
        return best

    out: list[Unit | Repeat] = []
    i = 0
    while i < len(units):
        period, count = best_at(i)
        if count >= 2 and period > 1:
            # a run that covers as much one unit later starts there: the unit left out equals
            # the run's last, so the copies' true boundary is later (MobileNet's dw/pw pairs)
            later = best_at(i + 1)
            if later[0] * later[1] >= period * count:
                out.append(units[i])
                i += 1
                continue
        if count >= 2:
            out.append(Repeat(tuple(units[i: i + period * count]), period, count))
            i += period * count
        else:
            out.append(units[i])
            i += 1
    return out


# --------------------------------------------------------------------------- stages

_SEP = re.compile(r"[._\-/:]+$")


def common_name(names: Sequence[str]) -> str:
    """The shared beginning of ``names`` without trailing separators and a dangling lone
    letter ('res2a', 'res2b' -> 'res2'; 'Mixed_6a', 'Mixed_6e' -> 'Mixed_6'), or ''."""
    prefix = os.path.commonprefix(list(names))
    rests = [n[len(prefix):] for n in names]
    if prefix[-1:].isalpha() and any(r[:1].isdigit() for r in rests):
        head = prefix.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        if _SEP.search(head):  # 's1_d1', 's1_d2' -> 's1' (but 'block1', 'block2' -> 'block')
            prefix = head
    prefix = _SEP.sub("", prefix)
    return prefix if len(prefix) >= 2 else ""


def _first_token(name: str) -> str:
    return re.split(r"[._\-/:]", name, maxsplit=1)[0]


def _is_block(item: Unit | Repeat) -> bool:
    return all(u.is_block for u in (item.units if isinstance(item, Repeat) else (item,)))


def find_stages(items: Sequence[Unit | Repeat], analysis: Analysis) -> list[Item]:
    """Runs of two or more blocks with the same output resolution become stages, split where
    their names' first tokens change in runs (WaveNet's s1_…, s2_…); named by their shared
    name beginning, else 'stage N'."""
    runs: list[list[Unit | Repeat]] = []
    out: list[Item | list[Unit | Repeat]] = []
    for item in items:
        spatial = analysis[item.output].spatial
        if (_is_block(item) and out and isinstance(out[-1], list)
                and analysis[out[-1][-1].output].spatial == spatial):
            out[-1].append(item)
        elif _is_block(item):
            run: list[Unit | Repeat] = [item]
            runs.append(run)
            out.append(run)
        else:
            out.append(item)
    result: list[Item] = []
    number = 0
    for entry in out:
        if not isinstance(entry, list):
            result.append(entry)
            continue
        for group in _split_by_token(entry):
            if sum(_units_of(i) for i in group) < 2:
                result.extend(group)
                continue
            number += 1
            names = [u.output for i in group for u in (i.units if isinstance(i, Repeat) else (i,))]
            result.append(Stage(common_name(names) or f"stage {number}", tuple(group)))
    return result


def _split_by_token(run: list[Unit | Repeat]) -> list[list[Unit | Repeat]]:
    groups: list[list[Unit | Repeat]] = []
    for item in run:
        token = _first_token(item.output)
        if groups and _first_token(groups[-1][-1].output) == token:
            groups[-1].append(item)
        else:
            groups.append([item])
    if len(groups) > 1 and all(sum(_units_of(i) for i in g) >= 2 for g in groups):
        return groups
    return [run]


def group(parts: Sequence[Part], analysis: Analysis) -> list[Item]:
    """A chain of parts as drawn items: units, repeats of units, stages of blocks."""
    return find_stages(find_repeats(units_of(parts), analysis), analysis)


# --------------------------------------------------------------------------- entry point


def structure(analysis: Analysis, *, start: str | None = None, end: str | None = None,
              hide_elementwise: bool = True) -> Structure:
    """The drawn structure of ``analysis``'s network from layer ``start`` (default: the input)
    to layer ``end`` (default: the last layer)."""
    preds, hidden = drawn_graph(analysis, hide_elementwise)
    order = {info.name: i for i, info in enumerate(analysis.nodes)}
    rep = {info.name: info.name for info in analysis.nodes}
    for name in hidden:
        layer = analysis[name].layer
        assert layer is not None
        rep[name] = rep[layer.inputs[0]]
    for label, value in (("from", start), ("to", end)):
        if value is not None and value not in order:
            raise StructureError(f":{label}: names no layer: {value!r}")
    source = rep[start] if start is not None else INPUT_NAME
    sink = rep[end] if end is not None else rep[analysis.nodes[-1].name]
    if order[source] >= order[sink] and source != sink:
        raise StructureError(f":from: {start or source!r} does not come before :to: "
                             f"{end or sink!r}")
    keep = _between(preds, order, source, sink)
    if source not in keep or sink not in keep:
        raise StructureError(f"no path leads from {source!r} to {sink!r}")
    sub = {n: tuple(p for p in ps if p in keep) for n, ps in preds.items() if n in keep}
    dec = _Decomposer(sub, order, analysis)
    if source == sink:
        parts: list[Part] = [Node(source)]
    else:
        parts = [dec.node(source), *dec.chain(source, sink, set(keep)), dec.node(sink)]
    items = group(parts, analysis)
    left_out = tuple(n for n in preds if n not in keep and order[n] <= order[sink]
                     and order[n] >= order[source])
    drawn = frozenset(keep)
    return Structure(analysis, source, sink, tuple(items), drawn, tuple(hidden), left_out, sub)


def renamed_stages(items: tuple[Item, ...], names: Mapping[str, str]) -> tuple[Item, ...]:
    """``items`` with the stages called by a key of ``names`` called by its value instead."""
    def part(p: Part) -> Part:
        if isinstance(p, Parallel):
            return replace(p, branches=tuple(renamed_stages(b, names) for b in p.branches))
        return p

    def unit(u: Unit) -> Unit:
        return replace(u, parts=tuple(part(p) for p in u.parts))

    out: list[Item] = []
    for item in items:
        if isinstance(item, Stage):
            inner = renamed_stages(item.items, names)
            out.append(replace(item, name=names.get(item.name, item.name),
                               items=tuple(i for i in inner if isinstance(i, Unit | Repeat))))
        elif isinstance(item, Repeat):
            out.append(replace(item, units=tuple(unit(u) for u in item.units)))
        else:
            out.append(unit(item))
    return tuple(out)
