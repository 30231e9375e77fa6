"""The whole network as an architecture diagram (PlotNeuralNet's picture, computed): one block
per layer sized by its output, residual shortcuts as arcs, parallel branches side by side and
joined, repeated blocks drawn once and marked ×N, stages of blocks grouped, named and collapsed
until the diagram fits the page.

Sizes are honest but compressed, and the figure says so: a block's height grows with the
logarithm of its spatial size (the largest map of the network is ``HEIGHT_MAX`` tall), its
width with the logarithm of its channels; in the 3-D style the depth shows the second spatial
axis the same way.  The layout comes from the structure (rfdocs.compute.architecture): a
series is laid left to right, a parallel part stacks its branches and joins them, an identity
shortcut arcs over its branch, taps into a far merge run along a bus under the chain.  Long
top-level chains wrap into rows at a layer boundary.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rfdocs.compute import Analysis, LayerInfo, Network, analyze, parse_spec
from rfdocs.compute.architecture import (
    Graph,
    Item,
    Node,
    Parallel,
    Repeat,
    Stage,
    Structure,
    StructureError,
    Unit,
    renamed_stages,
    structure,
)
from rfdocs.compute.budget import Cost
from rfdocs.compute.spec import GLOBAL_OPS, INPUT_NAME, MERGE_OPS
from rfdocs.figures.base import FigureKind, Rendered
from rfdocs.figures.cost import BUDGET_OPTIONS, budget_of, diagram_cost, require
from rfdocs.figures.geometry import LABEL_PT, LINE_PT, THIN_PT, Sheet, edge_color, mix
from rfdocs.figures.options import Option, OptionError, choice, flag, float_range, word
from rfdocs.figures.style import Theme
from rfdocs.figures.text import TIMES, fmt_dims, fmt_num

DEFAULT_SPEC = """input 64x64x3
conv1: conv 3x3 x32 pad 1
pool1: maxpool 2x2 /2
conv2: conv 3x3 x32 pad 1
conv3: conv 3x3 x32 pad 1
sum: add conv3 pool1
"""

HEIGHT_MIN, HEIGHT_MAX = 0.12, 0.85  # a block's height (inches): 1 unit, the largest map
WIDTH_MIN, WIDTH_MAX = 0.05, 0.26  # a block's width: 1 channel, the most channels
DEPTH_SHARE = 0.42  # the 3-D style's depth: this share of the height its size would give
ANGLE = math.radians(40)
GAP = 0.16  # between consecutive items
FAN = 0.14  # a parallel part's fork and join lines
STACK_GAP = 0.12  # between stacked branches
ARC_RISE = 0.13  # an identity arc above what it spans
ROW_GAP = 0.32  # between wrapped rows
INNER_PT = 8.0
NOTE_PT = 8.0
MAX_NAME_CHARS = 18
DRAWS = "the whole network, layer by layer"

OP_WORDS = {"conv": "conv", "deconv": "deconv", "maxpool": "max", "avgpool": "avg",
            "upsample": "up", "pad": "pad", "dense": "dense", "flatten": "flatten",
            "globalavgpool": "global avg", "globalmaxpool": "global max"}
MERGE_SYMBOLS = {"add": "+", "sub": "\u2212", "mul": TIMES, "div": "/", "concat": "C"}
MERGE_WORDS = {"add": "sum", "sub": "difference", "mul": "product", "div": "quotient",
               "concat": "concatenation"}


def _expand(value: Any) -> tuple[str, ...]:
    """'auto', 'all', 'none' or stage names."""
    if isinstance(value, list | tuple):
        items = tuple(str(v) for v in value)
    else:
        items = tuple(p for p in str(value).replace(",", " ").split() if p)
    if not items or len(items) > 64:
        raise ValueError(value)
    for item in items:
        if item not in ("auto", "all", "none"):
            word(item)
    if len(items) > 1 and any(i in ("auto", "all", "none") for i in items):
        raise ValueError(value)
    return items


def _stage_names(value: Any) -> tuple[tuple[str, str], ...]:
    """Stage renamings: 'res2=conv2_x res3=conv3_x' (or a mapping in a figure file)."""
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    else:
        pairs = []
        for item in str(value).replace(",", " ").split():
            old, sep, new = item.partition("=")
            if not sep:
                raise ValueError(value)
            pairs.append((old, new))
    if not pairs or len(pairs) > 64:
        raise ValueError(value)
    out = tuple((word(a), word(b)) for a, b in pairs)
    news = [b for _, b in out]
    if len(set(news)) != len(news) or len({a for a, _ in out}) != len(out):
        raise ValueError(value)
    return out


OPTIONS = (
    Option("style", choice("3d", "flat"), "3d", "3d or flat",
           "3d draws each layer as a box in an oblique view (PlotNeuralNet's style); flat as "
           "a rectangle."),
    Option("expand", _expand, ("auto",), "auto, all, none or stage names",
           "Which stages of blocks are drawn block by block; the others are drawn collapsed "
           "as one stack. auto expands them all when the diagram then fits :width:."),
    Option("stages", _stage_names, (), "name=new pairs, e.g. res2=conv2_x res3=conv3_x",
           "Names to show for the stages found (by default a stage is named by what its "
           "layers' names share); :expand: takes either name."),
    Option("from", word, None, "a layer name", "The first layer drawn (default: the input)."),
    Option("to", word, None, "a layer name", "The last layer drawn (default: the last)."),
    Option("fields", flag, False, "a flag (yes or no)",
           "Write each top-level item's receptive field and jump above it."),
    Option("elementwise", choice("hide", "show"), "hide", "hide or show",
           "Elementwise layers (activations, normalisation) change no shape: hidden by default."),
    Option("width", float_range(3.0, 30.0), 6.3, "a width in inches from 3 to 30",
           "The width the diagram should fit: wider top-level chains wrap into rows."),
    *BUDGET_OPTIONS,
)


# --------------------------------------------------------------------------- primitives


@dataclass
class Prim:
    """One drawing instruction in frame coordinates (inches; y = 0 is the frame's centre line)."""

    kind: str  # box, circle, path, text, rect, warn
    xs: list[float]
    ys: list[float]
    style: dict[str, Any] = field(default_factory=dict)

    def moved(self, dx: float, dy: float) -> Prim:
        return Prim(self.kind, [x + dx for x in self.xs], [y + dy for y in self.ys], self.style)


@dataclass
class Frame:
    """A laid-out piece: its extent around its centre line, ports at (0, 0) and (width, 0), the
    taps it leaves for a bus below, and the boxes it drew (for the numbers)."""

    width: float
    top: float
    bottom: float
    prims: list[Prim] = field(default_factory=list)
    taps: list[tuple[float, float]] = field(default_factory=list)
    boxes: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    bus: float | None = None  # a bus at this y leaves the right edge (taps into the next item)

    def place(self, into: Frame, dx: float, dy: float) -> None:
        into.prims.extend(p.moved(dx, dy) for p in self.prims)
        into.taps.extend((x + dx, y + dy) for x, y in self.taps)
        into.boxes.update({k: (x + dx, y + dy, w, h) for k, (x, y, w, h) in self.boxes.items()})


# --------------------------------------------------------------------------- the drawing


class Drawer:
    """Lays out a Structure as frames, then paints them on a Sheet."""

    def __init__(self, st: Structure, options: Mapping[str, Any], theme: Theme,
                 sheet: Sheet) -> None:
        self.st = st
        self.a: Analysis = st.analysis
        self.theme = theme
        self.sheet = sheet
        self.three_d = options["style"] == "3d"
        self.fields = bool(options["fields"])
        drawn = [self.a[n] for n in st.drawn]
        spatial = [max(i.spatial) for i in drawn if i.spatial] or [1]
        self.log_s = max(math.log2(max(spatial)), 1.0)
        self.log_c = max(math.log2(max(max(i.channels for i in drawn), 2)), 1.0)
        self.expanded: set[str] = set()
        self.warned: list[str] = []
        self.ops_seen: set[str] = set()

    # ---- sizes

    def _height(self, n: int) -> float:
        return HEIGHT_MIN + (HEIGHT_MAX - HEIGHT_MIN) * math.log2(max(n, 1)) / self.log_s

    def box_size(self, info: LayerInfo) -> tuple[float, float, float]:
        """(width, height, depth) of a layer's box: channels, first and last spatial axes."""
        chans = WIDTH_MIN + (WIDTH_MAX - WIDTH_MIN) * math.log2(max(info.channels, 1)) / self.log_c
        spatial = info.spatial or (1,)
        if all(s == 1 for s in spatial) and info.channels > 1:  # a vector: a tall thin bar
            return (WIDTH_MIN, self._height(min(info.channels, 2 ** int(self.log_s))), 0.0)
        height = self._height(spatial[-2] if len(spatial) >= 2 else spatial[0])
        depth = self._height(spatial[-1]) * DEPTH_SHARE if self.three_d and len(spatial) >= 2 else 0
        return (chans, height, depth)

    # ---- labels

    def measure(self, text: str, size: float = LABEL_PT) -> tuple[float, float]:
        return self.sheet.measure(text, size)

    def op_text(self, info: LayerInfo, inner: bool) -> str:
        layer = info.layer
        if layer is None:
            return "input"
        op = layer.op
        word_ = OP_WORDS.get(op, op)
        if op in ("conv", "deconv", "maxpool", "avgpool"):
            text = TIMES.join(str(k) for k in layer.kernel)
            if any(s != 1 for s in layer.stride):
                stride = layer.stride[0] if len(set(layer.stride)) == 1 else fmt_dims(layer.stride)
                text += f"/{stride}"
            if any(d != 1 for d in layer.dilation):
                dil = layer.dilation[0] if len(set(layer.dilation)) == 1 else fmt_dims(layer.dilation)
                text += f" dil {dil}"
            if op in ("conv", "deconv"):
                if layer.groups > 1:
                    text += " dw" if layer.groups == info.channels else f" g{layer.groups}"
                return f"{text}, {info.channels}" if inner else f"{word_} {text}"
            return f"{word_} {text}"
        if op == "upsample":
            factor = layer.factor[0] if len(set(layer.factor)) == 1 else fmt_dims(layer.factor)
            return f"up {TIMES}{factor}"
        if op == "dense":
            return f"dense, {info.channels}" if inner else "dense"
        return word_

    def shape_text(self, info: LayerInfo) -> str:
        return fmt_dims(info.shape)

    def name_text(self, name: str) -> str:
        return name if len(name) <= MAX_NAME_CHARS else name[: MAX_NAME_CHARS - 1] + "\u2026"

    def label_block(self, lines: Sequence[tuple[str, str]], cx: float, top: float,
                    frame: Frame, size: float = LABEL_PT) -> float:
        """Centred lines (text, colour key) from ``top`` down; returns the lowest y."""
        y = top
        for text, key in lines:
            w, h = self.measure(text, size)
            frame.prims.append(Prim("text", [cx], [y], {"text": text, "color": key,
                                                       "size": size, "va": "top"}))
            y -= h + 0.015
        return y

    def lines_width(self, lines: Sequence[tuple[str, str]], size: float = LABEL_PT) -> float:
        return max((self.measure(t, size)[0] for t, _ in lines), default=0.0)

    def fields_line(self, name: str) -> str:
        info = self.a[name]
        rf = info.rf
        jump = info.jump
        r = fmt_num(rf[0]) if len(set(rf)) == 1 else fmt_dims(rf)
        j = fmt_num(jump[0]) if len(set(jump)) == 1 else fmt_dims(jump)
        return f"r {r}, j {j}"

    # ---- frames of parts

    def node_frame(self, node: Node, top_level: bool) -> Frame:
        info = self.a[node.name]
        op = info.op
        self.ops_seen.add(_op_class(op))
        if op in MERGE_OPS:
            return self.merge_frame(node, info, top_level)
        w, h, d = self.box_size(info)
        dx, dy = d * math.cos(ANGLE), d * math.sin(ANGLE)
        if top_level:
            lines = [(self.name_text(node.name), "fg"), (self.op_text(info, False), "muted"),
                     (self.shape_text(info), "muted")]
            if info.layer is None:
                lines = [("input", "fg"), (self.shape_text(info), "muted")]
            size = LABEL_PT
        else:
            lines = [(self.op_text(info, True), "muted")]
            size = INNER_PT
        lw = self.lines_width(lines, size)
        width = max(w + dx, lw)
        bx = (width - (w + dx)) / 2
        frame = Frame(width, h / 2 + dy, h / 2)
        frame.prims.append(Prim("box", [bx], [-h / 2], {"w": w, "h": h, "dx": dx, "dy": dy,
                                                         "op": op, "name": node.name}))
        frame.boxes[node.name] = (bx, -h / 2, w, h)
        low = self.label_block(lines, width / 2, -h / 2 - 0.04, frame, size)
        frame.bottom = -low
        if node.pendants:
            self.pendant_frames(node, frame, bx + w / 2)
        # the ports sit on the box: lines run to its front face
        frame.prims.append(Prim("path", [0, bx], [0, 0], {"kind": "link"}))
        frame.prims.append(Prim("path", [bx + w, width], [0, 0], {"kind": "link"}))
        return frame

    def merge_frame(self, node: Node, info: LayerInfo, top_level: bool) -> Frame:
        r = 0.075
        frame = Frame(2 * r, r, r)
        bad = not info.aligned and all(self.a[p].aligned for p in self.st.preds.get(node.name, ()))
        frame.prims.append(Prim("circle", [r], [0], {"r": r, "symbol": MERGE_SYMBOLS.get(
            info.op, "+"), "warn": bad, "name": node.name}))
        frame.boxes[node.name] = (0, -r, 2 * r, 2 * r)
        if bad:
            if node.name not in self.warned:  # a part may be laid out twice (layout tries)
                self.warned.append(node.name)
            frame.prims.append(Prim("warn", [r], [r + 0.03], {}))
            frame.top = r + 0.03 + 0.16
        if node.pendants:
            self.pendant_frames(node, frame, r)
        return frame

    def pendant_frames(self, node: Node, frame: Frame, cx: float) -> None:
        """Pendant layers hang under their anchor, each tapping into the bus below."""
        y = -frame.bottom - 0.1
        for name in node.pendants:
            info = self.a[name]
            w, h, d = self.box_size(info)
            w, h = w * 0.8, h * 0.8
            frame.prims.append(Prim("path", [cx, cx], [y + 0.1, y], {"kind": "link"}))
            frame.prims.append(Prim("box", [cx - w / 2], [y - h], {"w": w, "h": h, "dx": 0.0,
                                                                  "dy": 0.0, "op": info.op,
                                                                  "name": name}))
            frame.boxes[name] = (cx - w / 2, y - h, w, h)
            label = [(self.op_text(info, True), "muted")]
            lw = self.lines_width(label, INNER_PT)
            frame.width = max(frame.width, cx + lw / 2)
            low = self.label_block(label, cx, y - h - 0.03, frame, INNER_PT)
            frame.taps.append((cx, low))
            y = low - 0.06
            frame.bottom = -low

    def graph_frame(self, graph: Graph) -> Frame:
        cols = [[self.node_frame(Node(n), False) for n in col] for col in graph.columns]
        frame = Frame(0.0, 0.0, 0.0)
        x = FAN
        ports: dict[str, tuple[float, float, float]] = {}
        for names, frames in zip(graph.columns, cols, strict=True):
            height = sum(f.top + f.bottom for f in frames) + STACK_GAP * (len(frames) - 1)
            y = height / 2
            cw = max(f.width for f in frames)
            for name, f in zip(names, frames, strict=True):
                cy = y - f.top
                f.place(frame, x + (cw - f.width) / 2, cy)
                ports[name] = (x + (cw - f.width) / 2, x + (cw + f.width) / 2, cy)
                y -= f.top + f.bottom + STACK_GAP
            frame.top = max(frame.top, height / 2)
            frame.bottom = max(frame.bottom, height / 2)
            x += cw + GAP
        frame.width = x - GAP + FAN
        inside = {n for col in graph.columns for n in col}
        for a, b in graph.edges:
            frame.prims.append(Prim("path", [ports[a][1], ports[b][0]], [ports[a][2], ports[b][2]],
                                    {"kind": "link"}))
        for n in inside:
            preds = self.st.preds.get(n, ())
            if any(p not in inside for p in preds):
                frame.prims.append(Prim("path", [0, ports[n][0]], [0, ports[n][2]], {"kind": "link"}))
            succs = [m for m, ps in self.st.preds.items() if n in ps]
            if any(m not in inside for m in succs):
                frame.prims.append(Prim("path", [ports[n][1], frame.width], [ports[n][2], 0],
                                        {"kind": "link"}))
        return frame

    def foldable(self, par: Parallel) -> int | None:
        """Where an encoder-decoder part folds into a U: the index, in its one branch, of a
        nested unit that is itself a shortcut around one branch (None: draw it flat)."""
        if not par.identity or len(par.branches) != 1 or par.taps:
            return None
        for k, item in enumerate(par.branches[0]):
            if (isinstance(item, Unit) and item.is_block and isinstance(item.parts[0], Parallel)
                    and item.parts[0].identity and len(item.parts[0].branches) == 1):
                return k
        return None

    def fold_pieces(self, par: Parallel, at: int) -> tuple[Frame, Frame, Frame]:
        """The three pieces of a folded level: its way down (left), the nested level with its
        join (middle) and its way up (right)."""
        items = list(par.branches[0])
        unit = items[at]
        assert isinstance(unit, Unit)
        inner = unit.parts[0]
        assert isinstance(inner, Parallel)
        parts = [self.fold_frame(inner, self.foldable(inner))]
        if len(unit.parts) > 1:
            join = unit.parts[1]
            assert isinstance(join, Node)
            parts.append(self.node_frame(join, False))
        middle = self.series_frame_of(parts)
        return (self.series_frame(items[:at], False), middle,
                self.series_frame(items[at + 1:], False))

    def drop(self, frame: Frame, pieces: tuple[Frame, Frame, Frame], x0: float,
             y1: float) -> tuple[float, float]:
        """Place a level's pieces into ``frame`` from ``x0`` with its row at ``y1``: the way
        down on the left, the way up on the right, the nested level centred below them.
        Returns the level's right end and its lowest y."""
        left, middle, right = pieces
        width = max(left.width + 2 * GAP + right.width, middle.width + 2 * GAP)
        link = {"kind": "link"}
        left.place(frame, x0, y1)
        xr = x0 + width - right.width
        right.place(frame, xr, y1)
        low = y1 - max(left.bottom, right.bottom)
        y2 = low - 0.2 - middle.top
        xm = x0 + (width - middle.width) / 2
        middle.place(frame, xm, y2)
        xl = x0 + left.width
        down, up = low - 0.08, low - 0.12
        frame.prims.append(Prim("path", [xl, xl + GAP / 2, xl + GAP / 2, xm - GAP / 2,
                                         xm - GAP / 2, xm], [y1, y1, down, down, y2, y2], link))
        xe = xm + middle.width
        frame.prims.append(Prim("path", [xe, xe + GAP / 2, xe + GAP / 2, xr - GAP / 2,
                                         xr - GAP / 2, xr], [y2, y2, up, up, y1, y1], link))
        return x0 + width, y2 - middle.bottom

    def fold_frame(self, par: Parallel, at: int | None) -> Frame:
        """U-Net's picture: the shortcut runs straight along the top, the branch drops a
        level, and a nested encoder-decoder part drops below it, between its way down (left)
        and its way up (right)."""
        frame = Frame(0.0, 0.0, 0.0)
        link = {"kind": "link"}
        if at is None:
            left = self.series_frame(list(par.branches[0]), False)
            y1 = -(0.16 + left.top)
            width = left.width + 2 * FAN
            left.place(frame, FAN, y1)
            frame.prims.append(Prim("path", [FAN + left.width, width - FAN / 2, width - FAN / 2,
                                             width], [y1, y1, 0, 0], link))
            low = y1 - left.bottom
        else:
            pieces = self.fold_pieces(par, at)
            y1 = -(0.16 + max(pieces[0].top, pieces[2].top))
            end, low = self.drop(frame, pieces, FAN, y1)
            width = end + FAN
            frame.prims.append(Prim("path", [end, width - FAN / 2, width - FAN / 2, width],
                                    [y1, y1, 0, 0], link))
        frame.prims.append(Prim("path", [0, FAN / 2, FAN / 2, FAN], [0, 0, y1, y1], link))
        frame.prims.append(Prim("path", [0, width], [0, 0], {"kind": "skip"}))
        frame.width = width
        frame.top = 0.03
        frame.bottom = -low
        return frame

    def top_fold_frame(self, head: Sequence[Frame], unit: Unit, tail: Sequence[Frame]) -> Frame:
        """An encoder-decoder network drawn whole as a U: the layers before its outermost
        shortcut (``head``) and after its join (``tail``) on the top row, the shortcut running
        straight between them to the join, every level below hanging from it."""
        par, join = unit.parts
        assert isinstance(par, Parallel) and isinstance(join, Node)
        at = self.foldable(par)
        assert at is not None
        first = self.series_frame_of(head)
        jf = self.with_fields(self.join_frame(join), join.name)
        last = self.series_frame_of([jf, *tail])
        pieces = self.fold_pieces(par, at)
        frame = Frame(0.0, max(first.top, last.top), 0.0)
        row_low = -max(first.bottom, last.bottom)
        y1 = row_low - 0.24 - max(pieces[0].top, pieces[2].top)
        x1 = GAP
        end, low = self.drop(frame, pieces, x1, y1)
        hw = first.width
        width = max(hw + 3 * GAP + last.width, end + GAP)
        xj = width - last.width
        first.place(frame, 0.0, 0.0)
        last.place(frame, xj, 0.0)
        link = {"kind": "link"}
        down, up = row_low - 0.08, row_low - 0.14
        circle = jf.boxes[join.name][0]  # the shortcut runs on into the join's symbol
        frame.prims.append(Prim("path", [hw, xj + circle], [0, 0], {"kind": "skip"}))
        frame.prims.append(Prim("path", [hw, hw + GAP / 2, hw + GAP / 2, x1 - GAP / 2,
                                         x1 - GAP / 2, x1], [0, 0, down, down, y1, y1], link))
        frame.prims.append(Prim("path", [end, end + GAP / 2, end + GAP / 2, xj - GAP / 2,
                                         xj - GAP / 2, xj], [y1, y1, up, up, 0, 0], link))
        frame.width = width
        frame.bottom = -low
        return frame

    def join_frame(self, join: Node) -> Frame:
        """A top-level join on its own: the symbol with its name and shape below."""
        circle = self.node_frame(join, False)
        lines = [(self.name_text(join.name), "fg"), (self.shape_text(self.a[join.name]), "muted")]
        width = max(circle.width, self.lines_width(lines))
        frame = Frame(width, circle.top, circle.bottom)
        x0 = (width - circle.width) / 2
        circle.place(frame, x0, 0.0)
        frame.prims.append(Prim("path", [0, x0], [0, 0], {"kind": "link"}))
        frame.prims.append(Prim("path", [x0 + circle.width, width], [0, 0], {"kind": "link"}))
        frame.bottom = -self.label_block(lines, width / 2, -circle.bottom - 0.04, frame)
        return frame

    def parallel_frame(self, par: Parallel) -> Frame:
        at = self.foldable(par)
        if at is not None:
            return self.fold_frame(par, at)
        branches = [self.series_frame(list(br), False) for br in par.branches]
        frame = Frame(0.0, 0.0, 0.0)
        inner_w = max(b.width for b in branches)
        width = inner_w + 2 * FAN
        frame.width = width
        # which branch runs on the centre line: the only one (with a shortcut arc), or the
        # widest of two; three or more are stacked around the line
        if len(branches) <= 2:
            main = max(range(len(branches)), key=lambda i: (branches[i].width, -i))
            order = [main] + [i for i in range(len(branches)) if i != main]
            ys = [0.0]
            if len(order) == 2:
                other = branches[order[1]]
                ys.append(branches[main].top + STACK_GAP + other.bottom)
        else:
            order = list(range(len(branches)))
            total = sum(b.top + b.bottom for b in branches) + STACK_GAP * (len(branches) - 1)
            y = total / 2
            ys = []
            for i in order:
                ys.append(y - branches[i].top)
                y -= branches[i].top + branches[i].bottom + STACK_GAP
        for i, y in zip(order, ys, strict=True):
            b = branches[i]
            x0 = FAN + (inner_w - b.width) / 2
            b.place(frame, x0, y)
            style = {"kind": "link"}
            frame.prims.append(Prim("path", [0, FAN * 0.5, FAN * 0.5, x0], [0, 0, y, y], style))
            frame.prims.append(Prim("path", [x0 + b.width, width - FAN * 0.5, width - FAN * 0.5,
                                             width], [y, y, 0, 0], style))
            frame.top = max(frame.top, y + b.top)
            frame.bottom = max(frame.bottom, b.bottom - y)
        if par.identity:
            rise = frame.top + ARC_RISE
            frame.prims.append(Prim("path", [0, FAN * 0.3, width - FAN * 0.3, width],
                                    [0, rise, rise, 0], {"kind": "skip"}))
            frame.top = rise + 0.03
        if frame.taps:
            bus = -frame.bottom - 0.1
            for x, y in frame.taps:
                frame.prims.append(Prim("path", [x, x], [y, bus], {"kind": "tap"}))
            frame.prims.append(Prim("path", [min(x for x, _ in frame.taps), width], [bus, bus],
                                    {"kind": "tap"}))
            frame.taps = []
            frame.bus = bus
            frame.bottom = -bus + 0.03
        return frame

    # ---- frames of items

    def unit_frame(self, unit: Unit, top_level: bool) -> Frame:
        if len(unit.parts) == 1:
            part = unit.parts[0]
            if isinstance(part, Node):
                return self.node_frame(part, top_level)
            if isinstance(part, Graph):
                return self.graph_frame(part)
            return self.parallel_frame(part)
        par, join = unit.parts
        assert isinstance(par, Parallel) and isinstance(join, Node)
        frame = self.series_frame_of([self.parallel_frame(par), self.node_frame(join, False)])
        if top_level:
            frame = self.boxed(frame, [(self.name_text(join.name), "fg"),
                                       (self.shape_text(self.a[join.name]), "muted")], "block")
        return frame

    def boxed(self, inner: Frame, label: Sequence[tuple[str, str]], kind: str,
              badge: str | None = None, title: str | None = None) -> Frame:
        """``inner`` inside a rounded frame, with ``label`` below and a ×N ``badge``."""
        pad = 0.06
        lw = self.lines_width(label)
        width = max(inner.width + 2 * pad, lw)
        frame = Frame(width, 0.0, 0.0)
        x0 = (width - inner.width) / 2
        inner.place(frame, x0, 0.0)
        top, bottom = inner.top + pad, inner.bottom + pad
        # the frame goes under what it holds (painted first)
        frame.prims.insert(0, Prim("rect", [x0 - pad], [-bottom], {"w": inner.width + 2 * pad,
                                                                   "h": top + bottom,
                                                                   "kind": kind}))
        frame.prims.append(Prim("path", [0, x0], [0, 0], {"kind": "link"}))
        frame.prims.append(Prim("path", [x0 + inner.width, width], [0, 0], {"kind": "link"}))
        frame.top = top
        if badge:
            frame.prims.append(Prim("text", [x0 + inner.width + pad], [top + 0.02],
                                    {"text": badge, "color": "fg", "size": LABEL_PT,
                                     "va": "bottom", "ha": "right", "bold": True}))
            frame.top = top + 0.02 + self.measure(badge)[1]
        if title:
            frame.prims.append(Prim("text", [x0 - pad], [frame.top + 0.02],
                                    {"text": title, "color": "fg", "size": LABEL_PT,
                                     "va": "bottom", "ha": "left", "bold": True}))
            frame.top += 0.02 + self.measure(title)[1]
            frame.width = max(frame.width, x0 - pad + self.measure(title)[0])
        low = self.label_block(label, width / 2, -bottom - 0.04, frame)
        frame.bottom = -low
        frame.bus = inner.bus
        return frame

    def repeat_frame(self, rep: Repeat, top_level: bool) -> Frame:
        inner = self.series_frame(list(rep.first), False)
        first, last = rep.units[0].output, rep.units[-1].output
        what = f"{first}\u2013{last}" if rep.period == 1 else f"{rep.units[0].output}\u2026{last}"
        label = [(self.name_text(what), "fg"), (self.shape_text(self.a[last]), "muted")]
        if not top_level:
            label = [(self.shape_text(self.a[last]), "muted")]
        return self.boxed(inner, label, "repeat", badge=f"{TIMES}{rep.count}")

    def stage_frame(self, stage: Stage, top_level: bool) -> Frame:
        if stage.name in self.expanded:
            inner = self.series_frame_of([self.block_frame(i) for i in stage.items])
            return self.boxed(inner, [(self.shape_text(self.a[stage.output]), "muted")], "stage",
                              title=f"{stage.name}: {stage.blocks} blocks")
        info = self.a[stage.output]
        w, h, d = self.box_size(info)
        dx, dy = d * math.cos(ANGLE), d * math.sin(ANGLE)
        step = 0.05
        lines = [(self.name_text(stage.name), "fg"), (f"{stage.blocks} blocks", "muted"),
                 (self.shape_text(info), "muted")]
        lw = self.lines_width(lines)
        body = w + dx + 2 * step
        width = max(body, lw)
        bx = (width - body) / 2
        frame = Frame(width, h / 2 + dy + 2 * step, h / 2)
        for k in (2, 1, 0):
            frame.prims.append(Prim("box", [bx + k * step], [-h / 2 + k * step],
                                    {"w": w, "h": h, "dx": dx, "dy": dy, "op": "stage",
                                     "name": stage.name if k == 0 else ""}))
        frame.boxes[stage.name] = (bx, -h / 2, w, h)
        self.ops_seen.add("stage")
        low = self.label_block(lines, width / 2, -h / 2 - 0.04, frame)
        frame.bottom = -low
        frame.prims.append(Prim("path", [0, bx], [0, 0], {"kind": "link"}))
        frame.prims.append(Prim("path", [bx + w, width], [0, 0], {"kind": "link"}))
        if _has_taps(stage):
            frame.taps.append((bx + w / 2, low))
        return frame

    def block_frame(self, item: Item) -> Frame:
        """An item of an expanded stage, named: a block by its join, repeats by their range."""
        if isinstance(item, Repeat):
            return self.repeat_frame(item, True)
        if isinstance(item, Unit) and len(item.parts) == 2:
            par, join = item.parts
            assert isinstance(par, Parallel) and isinstance(join, Node)
            frame = self.series_frame_of([self.parallel_frame(par), self.node_frame(join, False)])
            name = [(self.name_text(join.name), "fg")]
            if self.lines_width(name) <= frame.width:  # centred under it, never widening it
                frame.bottom = -self.label_block(name, frame.width / 2, -frame.bottom - 0.04,
                                                 frame)
            return frame
        return self.item_frame(item, False)

    def item_frame(self, item: Item, top_level: bool) -> Frame:
        if isinstance(item, Stage):
            frame = self.stage_frame(item, top_level)
        elif isinstance(item, Repeat):
            frame = self.repeat_frame(item, top_level)
        else:
            frame = self.unit_frame(item, top_level)
        return self.with_fields(frame, item.output) if top_level else frame

    def with_fields(self, frame: Frame, output: str) -> Frame:
        """With :fields:, the receptive field and jump of ``output`` above ``frame``."""
        if self.fields:
            text = self.fields_line(output)
            frame.prims.append(Prim("text", [frame.width / 2], [frame.top + 0.05],
                                    {"text": text, "color": "field", "size": LABEL_PT,
                                     "va": "bottom"}))
            frame.top += 0.05 + self.measure(text)[1]
            frame.width = max(frame.width, self.measure(text)[0])
        return frame

    def series_frame(self, items: Sequence[Item], top_level: bool) -> Frame:
        return self.series_frame_of([self.item_frame(i, top_level) for i in items])

    def series_frame_of(self, frames: Sequence[Frame]) -> Frame:
        out = Frame(0.0, 0.0, 0.0)
        x = 0.0
        bus: tuple[float, float] | None = None
        for k, f in enumerate(frames):
            if k:
                out.prims.append(Prim("path", [x - GAP, x], [0, 0], {"kind": "arrow"}))
            if bus is not None:
                bx, by = bus
                target = x + f.width / 2
                out.prims.append(Prim("path", [bx, target, target], [by, by, -0.075],
                                      {"kind": "tap"}))
                out.bottom = max(out.bottom, -by + 0.03)
                bus = None
            f.place(out, x, 0.0)
            out.top = max(out.top, f.top)
            out.bottom = max(out.bottom, f.bottom)
            if f.bus is not None:
                bus = (x + f.width, f.bus)
            x += f.width + GAP
        out.width = max(x - GAP, 0.0)
        if bus is not None:
            out.bus = bus[1]
        return out

    # ---- the whole diagram

    def layout(self, items: Sequence[Item], width: float) -> tuple[Frame, int]:
        """The top level, wrapped into rows no wider than ``width`` where it can be; an
        encoder-decoder network that would wrap is drawn whole as a U when that fits."""
        at = next((k for k, i in enumerate(items) if k and _folds(i, self)), None)
        frames = [self.item_frame(i, True) for i in items]
        if at is not None and sum(f.width for f in frames) + GAP * (len(frames) - 1) > width:
            u = items[at]
            assert isinstance(u, Unit)
            whole = self.top_fold_frame(frames[:at], u, frames[at + 1:])
            if whole.width <= width:
                return whole, 1
        rows: list[list[Frame]] = [[]]
        used = 0.0
        for f in frames:
            if rows[-1] and used + GAP + f.width > width and rows[-1][-1].bus is None:
                rows.append([])
                used = 0.0
            used += (GAP if rows[-1] else 0.0) + f.width
            rows[-1].append(f)
        out = Frame(0.0, 0.0, 0.0)
        y = 0.0
        previous: tuple[float, float] | None = None
        for r, row in enumerate(rows):
            series = self.series_frame_of(row)
            if r:
                y -= series.top + ROW_GAP
            series.place(out, 0.0, y)
            if previous is not None:
                px, py = previous
                mid = y + series.top + ROW_GAP / 2
                out.prims.append(Prim("path", [px, px + GAP / 2, px + GAP / 2, -GAP / 2, -GAP / 2, 0],
                                      [py, py, mid, mid, y, y], {"kind": "arrow"}))
            out.width = max(out.width, series.width)
            out.top = max(out.top, series.top) if r == 0 else out.top
            previous = (series.width, y)
            y -= series.bottom
        out.bottom = -y
        return out, len(rows)

    def paint(self, frame: Frame, x0: float, y0: float) -> None:
        theme = self.theme
        sheet = self.sheet
        colors = {"fg": theme.fg, "muted": theme.muted, "field": edge_color(theme.field, theme)}
        link = mix(theme.fg, theme.bg, 0.55)
        for p in frame.prims:
            xs = [x + x0 for x in p.xs]
            ys = [y + y0 for y in p.ys]
            s = p.style
            if p.kind == "path":
                kind = s["kind"]
                if xs[0] == xs[-1] and ys[0] == ys[-1] and len(xs) == 2:
                    continue
                if kind == "skip":
                    sheet.line(xs, ys, color=edge_color(theme.field, theme), linewidth=1.1,
                               zorder=1, solid_joinstyle="round")
                elif kind == "tap":
                    sheet.line(xs, ys, color=link, linewidth=THIN_PT, linestyle=(0, (3, 2)),
                               zorder=1)
                else:
                    sheet.line(xs, ys, color=link, linewidth=0.8, zorder=1,
                               solid_joinstyle="round")
            elif p.kind == "box":
                self.paint_box(xs[0], ys[0], s)
            elif p.kind == "circle":
                r = s["r"]
                edge = theme.neuron if s["warn"] else theme.fg
                sheet.circle(xs[0], ys[0], r, facecolor=mix(theme.bg, theme.fg, 0.9),
                             edgecolor=edge, linewidth=LINE_PT * (1.6 if s["warn"] else 1),
                             zorder=3, gid=f"merge-{s['name']}")
                sheet.text(xs[0], ys[0], s["symbol"], size=LABEL_PT, color=theme.fg, zorder=4)
            elif p.kind == "warn":
                sheet.text(xs[0], ys[0], "!", size=LABEL_PT, va="bottom", color=theme.neuron,
                           bold=True, gid="misaligned")
            elif p.kind == "rect":
                kind = s["kind"]
                face = mix(theme.fg, theme.bg, 0.05 if kind == "stage" else 0.035)
                sheet.rect(xs[0], ys[0], s["w"], s["h"], facecolor=face,
                           edgecolor=mix(theme.fg, theme.bg, 0.35),
                           linestyle=(0, (3, 2)) if kind == "repeat" else "solid",
                           linewidth=THIN_PT, zorder=0, gid=f"{kind}-frame")
            elif p.kind == "text":
                sheet.text(xs[0], ys[0], s["text"], size=s["size"], ha=s.get("ha", "center"),
                           va=s.get("va", "top"), color=colors[s["color"]],
                           bold=s.get("bold", False))

    def paint_box(self, x: float, y: float, s: Mapping[str, Any]) -> None:
        theme = self.theme
        color = _op_color(s["op"], theme)
        w, h, dx, dy = s["w"], s["h"], s["dx"], s["dy"]
        front = mix(color, theme.bg, 0.55 if theme.name == "light" else 0.5)
        top = mix(color, theme.bg, 0.35 if theme.name == "light" else 0.7)
        side = mix(color, theme.bg, 0.8 if theme.name == "light" else 0.35)
        edge = edge_color(color, theme)
        gid = f"layer-{s['name']}" if s["name"] else None
        polys = [[(x, y), (x + w, y), (x + w, y + h), (x, y + h)]]
        faces = [front]
        if dx or dy:
            polys.append([(x, y + h), (x + w, y + h), (x + w + dx, y + h + dy), (x + dx, y + h + dy)])
            polys.append([(x + w, y), (x + w + dx, y + dy), (x + w + dx, y + h + dy), (x + w, y + h)])
            faces += [top, side]
        self.sheet.polygons(polys, facecolors=faces, edgecolors=edge, linewidths=THIN_PT,
                            zorder=2, gid=gid)


def _folds(item: Item, drawer: Drawer) -> bool:
    """Whether a top-level item is an encoder-decoder part with its join (a U to draw)."""
    if not isinstance(item, Unit) or len(item.parts) != 2:
        return False
    par = item.parts[0]
    return isinstance(par, Parallel) and drawer.foldable(par) is not None


def _has_taps(stage: Stage) -> bool:
    """Whether some layer inside ``stage`` hangs off it with a tap (so the stack gets one)."""
    return _item_pendants(stage)


def _part_pendants(part: Any) -> bool:
    if isinstance(part, Node):
        return bool(part.pendants)
    if isinstance(part, Parallel):
        return any(_item_pendants(i) for br in part.branches for i in br)
    return False


def _item_pendants(item: Item) -> bool:
    if isinstance(item, Stage):
        return any(_item_pendants(i) for i in item.items)
    units = item.units if isinstance(item, Repeat) else (item,)
    return any(_part_pendants(p) for u in units for p in u.parts)


def _op_class(op: str) -> str:
    if op in ("conv",):
        return "conv"
    if op in ("maxpool", "avgpool") or op in GLOBAL_OPS:
        return "pool"
    if op in ("deconv", "upsample"):
        return "up"
    if op in ("dense",):
        return "dense"
    if op in MERGE_OPS:
        return "merge"
    if op == "input":
        return "input"
    return "other"


CLASS_WORDS = {"conv": "convolution", "pool": "pooling", "up": "upsampling (transposed conv)",
               "dense": "dense", "stage": "collapsed stage", "other": "other"}


def _op_color(op: str, theme: Theme) -> str:
    return _class_color("stage" if op == "stage" else _op_class(op), theme)


def _class_color(cls: str, theme: Theme) -> str:
    return {"conv": theme.maps, "pool": theme.input, "up": "#CC79A7", "dense": theme.field,
            "stage": theme.maps, "input": theme.muted, "merge": theme.fg,
            "other": theme.padding}[cls]



# --------------------------------------------------------------------------- render


def _stages(items: Iterable[Item]) -> list[Stage]:
    out: list[Stage] = []
    for item in items:
        if isinstance(item, Stage):
            out.append(item)
            out.extend(_stages(item.items))
        units = item.units if isinstance(item, Repeat) else (item,) if isinstance(item, Unit) else ()
        for u in units:
            for p in u.parts:
                if isinstance(p, Parallel):
                    for br in p.branches:
                        out.extend(_stages(br))
    return out


def render(net: Network | None, options: Mapping[str, Any], theme: Theme) -> Rendered:
    net = net or parse_spec(DEFAULT_SPEC)
    require(options, estimate(net, options), "drawing the architecture", ["from", "to"])
    analysis = analyze(net)
    try:
        st = structure(analysis, start=options["from"], end=options["to"],
                       hide_elementwise=options["elementwise"] == "hide")
    except StructureError as err:
        option = "from" if ":from:" in str(err) else "to"
        raise OptionError(option, str(err).replace(f":{option}: ", "")) from None
    found = {s.name for s in _stages(st.items)}
    renames = dict(options["stages"])
    unknown = [n for n in renames if n not in found]
    if unknown:
        raise OptionError("stages", f"no stage called {unknown[0]!r}; stages: "
                          + (", ".join(sorted(found)) or "none (no repeated blocks)"))
    taken = [new for old, new in renames.items() if new in found and new not in renames]
    if taken:
        raise OptionError("stages", f"{taken[0]!r} already names another stage")
    if renames:
        st = replace(st, items=renamed_stages(st.items, renames))
    stages = _stages(st.items)
    names = {s.name for s in stages}
    expand = tuple(renames.get(n, n) for n in options["expand"])
    unknown = [n for n in expand if n not in ("auto", "all", "none") and n not in names]
    if unknown:
        raise OptionError("expand", f"no stage called {unknown[0]!r}; stages: "
                          + (", ".join(sorted(names)) or "none (no repeated blocks)"))
    width = float(options["width"])
    sheet = Sheet(theme)
    drawer = Drawer(st, options, theme, sheet)
    if expand == ("auto",):
        drawer.expanded = set(names)
        frame, rows = drawer.layout(st.items, width)
        if frame.width > width or rows > 2:
            drawer = Drawer(st, options, theme, sheet)
            drawer.expanded = set()
            frame, rows = drawer.layout(st.items, width)
    else:
        drawer.expanded = set(names) if expand == ("all",) else set() if expand == (
            "none",) else set(expand)
        frame, rows = drawer.layout(st.items, width)
    drawer.paint(frame, 0.0, 0.0)
    notes = _notes(drawer, st, analysis)
    x, y = 0.0, -frame.bottom - 0.12
    legend_y = y
    for cls in ("conv", "pool", "up", "dense", "stage"):
        if cls not in drawer.ops_seen:
            continue
        color = _class_color(cls, theme)
        sheet.rect(x, legend_y - 0.1, 0.1, 0.1, facecolor=mix(color, theme.bg, 0.55),
                   edgecolor=edge_color(color, theme), linewidth=THIN_PT, gid=f"legend-{cls}")
        tw = sheet.measure(CLASS_WORDS[cls])[0]
        sheet.text(x + 0.14, legend_y - 0.05, CLASS_WORDS[cls], ha="left", color=theme.muted)
        x += 0.14 + tw + 0.18
    y = legend_y - 0.2
    line_h = sheet.measure("Ag")[1] + 0.02
    from rfdocs.figures.geometry import wrap_words
    for line in wrap_words(sheet, " ".join(notes), max(frame.width, 3.0)):
        sheet.text(0.0, y, line, ha="left", va="top", color=theme.muted, gid="note")
        y -= line_h
    fig = sheet.finish()
    numbers = {
        "items": tuple(_item_name(i) for i in st.items),
        "stages": {s.name: s.blocks for s in stages},
        "expanded": tuple(sorted(drawer.expanded)),
        "rows": rows,
        "boxes": dict(frame.boxes),
        "hidden": st.hidden,
        "misaligned": tuple(drawer.warned),
        "width_in": round(float(fig.get_size_inches()[0]), 3),
    }
    return Rendered(fig, _alt(st, drawer), numbers, budget=budget_of(options))


def _item_name(item: Item) -> str:
    if isinstance(item, Stage):
        return item.name
    if isinstance(item, Repeat):
        return f"{item.units[0].output}..{item.output}"
    return item.output


def _notes(drawer: Drawer, st: Structure, analysis: Analysis) -> list[str]:
    ndim = max((len(analysis[n].spatial) for n in st.drawn), default=2)
    size = {1: "length", 2: "spatial size"}.get(ndim, "height")
    notes = [f"Heights grow with the logarithm of each output's {size}, widths with the "
             "logarithm of its channels" + (", depths with its width" if drawer.three_d
                                            and ndim >= 2 else "")
             + " (compressed scales); labels give the exact shapes"
             + ("; a volume's first axis (depth or time) is in its label only." if ndim >= 3
                else ".")]
    if "stage" in drawer.ops_seen:
        notes.append("A stack stands for a stage of blocks drawn collapsed, with its output "
                     "shape.")
    if st.hidden:
        notes.append(f"{len(st.hidden)} elementwise layer{'s' if len(st.hidden) != 1 else ''} "
                     "(activations, normalisation) not drawn.")
    if drawer.warned:
        notes.append("! marks a merge whose paths disagree on the grid (not aligned): "
                     + ", ".join(drawer.warned[:4]) + ".")
    if st.left_out:
        notes.append(f"{len(st.left_out)} layer{'s' if len(st.left_out) != 1 else ''} off the "
                     "path to the last layer not drawn.")
    if drawer.fields:
        notes.append("r: receptive field, j: jump, in input units.")
    return notes


def _alt(st: Structure, drawer: Drawer) -> str:
    a = st.analysis
    parts = []
    for item in st.items:
        if isinstance(item, Stage):
            parts.append(f"stage {item.name} ({item.blocks} blocks) {fmt_dims(a[item.output].shape)}")
        elif isinstance(item, Repeat):
            parts.append(f"{item.count} {'blocks' if item.units[0].is_block else 'layers'} "
                         f"{item.units[0].output} to {item.output} {fmt_dims(a[item.output].shape)}")
        elif item.is_block:
            parts.append(f"block {item.output} {fmt_dims(a[item.output].shape)}")
        else:
            name = item.output
            parts.append(f"{name} {fmt_dims(a[name].shape)}")
    layers = len([n for n in st.drawn if n != INPUT_NAME])
    text = (f"Architecture diagram of {layers} layer{'s' if layers != 1 else ''}, from "
            f"{st.source} to {st.sink}: " + "; ".join(parts))
    if drawer.warned:
        text += f". Paths disagree (not aligned) at {', '.join(drawer.warned[:4])}"
    return text + "."


def estimate(net: Network, options: Mapping[str, Any]) -> Cost:
    """A diagram of every layer: a box, three labels and two lines each, on a canvas as wide
    as :width: and as tall as the rows the layers can fill."""
    n = len(net.layers) + 1
    width = float(options.get("width", 6.3))
    height = min(2.0 + 0.06 * n, 200.0)
    return diagram_cost(n, 4 * n + 20, 8 * n, width + 2.0, height)


KIND = FigureKind(
    name="architecture",
    summary="The whole network as a diagram: a block per layer sized by its output, branches, "
            "shortcuts and repeated blocks, stages grouped and collapsed to fit the page.",
    options=OPTIONS,
    render_function=render,
    estimate_function=lambda network, options: estimate(network or parse_spec(DEFAULT_SPEC),
                                                        options),
    dimensions=(1, 2, 3),
    draws=DRAWS,
)

