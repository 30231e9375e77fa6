"""Output shapes and receptive fields of every node of a network graph, per axis.

Notation follows Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural
Networks", Distill 2019: receptive field size ``r``, jump (effective stride) ``j``, start ``u``
(input coordinate of the first pixel seen by output unit 0), effective padding ``p = -u`` and
centre ``c = u + (r - 1) / 2``.  Unit ``x`` of a layer sees input pixels ``[u + x j, u + x j + r - 1]``.

In a multi-path graph each path P from the input gives unit x the box
``[lo_P + x j_P, hi_P + x j_P]``; the receptive field is their union, from ``min_P(lo_P + x j_P)``
to ``max_P(hi_P + x j_P)``.  Paths with equal jump merge into their envelope (a ``PathBox``);
paths are *aligned* when they agree on jump and centre.  Transposed convolutions divide the jump
by their stride, so the numbers may be fractions there.

How it stays polynomial.  Distinct jumps can double with every branch (a chain of n diamonds
with distinct strides has 2^n of them), so a node does not keep every jump's box.  The first
coordinate seen by unit x is a minimum of lines ``lo_P + x j_P``, the last a maximum of lines
``hi_P + x j_P``; a merge keeps only the boxes on that lower or that upper envelope over the
coordinates the node is ever read at (its *domain*: its own units and, through every later
layer, the positions those read, padding included) -- a box off both envelopes decides no unit
of this node or of any later one.  A window layer keeps its input's boxes and only composes the
affine map from its units to their coordinates (``Step``), so a box is copied at merges alone
and a unit's field is a binary search on the envelope.  Where a merge would keep more than
``max_lines`` boxes the node keeps none: the field of one of its units is found by a backward
sweep that keeps, per node, only the route reading it at the smallest (largest) coordinate --
exact, because every field bound grows with the coordinate it is read at.  Time and memory are
O(E m) for E edges and m = ``max_lines`` (plus O(V + E) for each swept unit, two per such node),
polynomial in layers and edges whatever the number of paths.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any, NamedTuple, overload

from rfdocs.compute.spec import (
    GLOBAL_OPS,
    INPUT_NAME,
    MERGE_OPS,
    POINTWISE_OPS,
    WINDOW_OPS,
    Layer,
    Network,
    SpecError,
)

Number = int | Fraction

#: Boxes a merge keeps per axis before its fields (and those after it) are swept instead.
MAX_LINES = 256


def _frac(a: Number, b: int) -> Number:
    """a / b, exact: an int where it divides, else a Fraction."""
    if isinstance(a, int) and a % b == 0:
        return a // b
    return Fraction(a) / b


def _norm(value: Number) -> Number:
    """A whole Fraction back to int, so sequential conv stacks stay in fast int arithmetic."""
    if type(value) is not int and value.denominator == 1:
        return int(value)
    return value


def as_plain(value: Number) -> int | float:
    """An int where the value is whole, else a float (for JSON and display)."""
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    return value


class PathBox(NamedTuple):
    """Boxes of all paths with jump ``j``: unit x sees ``[lo + x j, hi + x j]``; centres in
    ``[cmin + x j, cmax + x j]``."""

    j: Number
    lo: Number
    hi: Number
    cmin: Number
    cmax: Number


class Step(NamedTuple):
    """Where a node's units read: unit x reads coordinates ``alpha x + lo`` to ``alpha x + hi``
    of its input (or of the node its boxes belong to), centred on ``alpha x + mid``."""

    alpha: Number
    lo: Number
    hi: Number
    mid: Number


class Hull(NamedTuple):
    """The boxes a merge keeps (sorted by jump), and the two envelopes they form over its
    domain, left to right: ``firsts`` give the smallest ``lo + y j`` (jumps decreasing),
    ``lasts`` the largest ``hi + y j`` (jumps increasing)."""

    boxes: tuple[PathBox, ...]
    firsts: tuple[PathBox, ...]
    lasts: tuple[PathBox, ...]


ORIGIN = PathBox(1, 0, 0, 0, 0)  # the input: unit x sees pixel x
IDENTITY = Step(1, 0, 0, 0)
#: A merge reading an input of one unit along an axis where the merge has more (broadcasting,
#: e.g. the channel weights of a squeeze-excitation block): every unit reads its unit 0.
SPREAD = Step(0, 0, 0, 0)
SOURCE = Hull((ORIGIN,), (ORIGIN,), (ORIGIN,))


def _through(box: PathBox, step: Step) -> PathBox:
    """The boxes of paths ``box`` continued through ``step``."""
    j = box.j
    return PathBox(_norm(j * step.alpha), _norm(box.lo + j * step.lo), _norm(box.hi + j * step.hi),
                   _norm(box.cmin + j * step.mid), _norm(box.cmax + j * step.mid))


def _compose(outer: Step, inner: Step) -> Step:
    """Reading through ``inner`` (this node's units into its input) then ``outer``."""
    a = outer.alpha
    if a == 1 and outer.lo == 0 and outer.hi == 0:
        return inner
    return Step(_norm(a * inner.alpha), _norm(outer.lo + a * inner.lo),
                _norm(outer.hi + a * inner.hi), _norm(outer.mid + a * inner.mid))


def _first(firsts: Sequence[PathBox], y: Number) -> PathBox:
    """The box of ``firsts`` giving the smallest ``lo + y j`` (binary search on the envelope)."""
    a, b = 0, len(firsts) - 1
    while a < b:  # the values fall, then rise, along the envelope
        m = (a + b) // 2
        p, q = firsts[m], firsts[m + 1]
        if p.lo + y * p.j <= q.lo + y * q.j:
            b = m
        else:
            a = m + 1
    return firsts[a]


def _last(lasts: Sequence[PathBox], y: Number) -> PathBox:
    """The box of ``lasts`` giving the largest ``hi + y j``."""
    a, b = 0, len(lasts) - 1
    while a < b:
        m = (a + b) // 2
        p, q = lasts[m], lasts[m + 1]
        if p.hi + y * p.j >= q.hi + y * q.j:
            b = m
        else:
            a = m + 1
    return lasts[a]


@dataclass(frozen=True)
class AxisRF:
    """Receptive field of one node along one axis (the union over every path to the input).

    ``hull`` holds the boxes that give its units their first and last coordinates, in the
    coordinates of the node where they were last merged (unit x of this node reads those
    through ``step``).  Where a merge would have kept more than ``MAX_LINES`` boxes, ``hull``
    is None and ``sweep(xs)`` gives, for each unit x, the boxes of the paths that decide it."""

    hull: Hull | None
    units: int  # number of units of the node along this axis
    jumps: tuple[Number, Number] = (1, 1)  # the smallest and the largest jump of any path
    step: Step = IDENTITY
    sweep: Callable[[Sequence[int]], list[tuple[PathBox, PathBox]]] | None = field(
        default=None, compare=False, repr=False)

    @cached_property
    def paths(self) -> tuple[PathBox, ...]:
        """Boxes in this node's coordinates such that unit x sees [min(lo + x j), max(hi + x j)]
        (for every unit; for units 0 and ``units - 1`` where the node is swept)."""
        if self.hull is None:
            assert self.sweep is not None
            ends = sorted({0, max(self.units - 1, 0)})
            return tuple(dict.fromkeys(b for pair in self.sweep(ends) for b in pair))
        if self.step == IDENTITY:
            return self.hull.boxes
        return tuple(_through(b, self.step) for b in self.hull.boxes)

    @cached_property
    def ends(self) -> tuple[tuple[Number, Number], tuple[Number, Number]]:
        """The fields of unit 0 and of the last unit."""
        if self.hull is None and self.units > 1:  # one sweep for both
            assert self.sweep is not None
            (p, q), (r, t) = self.sweep([0, self.units - 1])
            x = self.units - 1
            return (p.lo, q.hi), (_norm(r.lo + x * r.j), _norm(t.hi + x * t.j))
        first = self.box(0)
        return first, (first if self.units <= 1 else self.box(self.units - 1))

    @property
    def aligned(self) -> bool:
        """All paths share one jump and one centre."""
        if self.hull is None or self.jumps[0] != self.jumps[1]:
            return False
        boxes = self.hull.boxes
        return len(boxes) == 1 and boxes[0].cmin == boxes[0].cmax

    @property
    def jump(self) -> Number:
        """j: input pixels between neighbouring units (the largest where paths disagree)."""
        return self.jumps[1]

    @property
    def start(self) -> Number:
        """u: first input coordinate seen by unit 0 (negative where it lies in the padding)."""
        return self.ends[0][0]

    @property
    def rf(self) -> Number:
        """r: size of the receptive field (the largest over units where paths disagree on jump)."""
        return max(hi - lo + 1 for lo, hi in self.ends)

    @property
    def padding(self) -> Number:
        """p = -u, the effective padding."""
        return -self.start

    @property
    def center(self) -> Number:
        """c = u + (r - 1) / 2 for unit 0 (the middle of the union box)."""
        lo, hi = self.ends[0]
        return _norm(Fraction(lo + hi) / 2)

    def box(self, x: int) -> tuple[Number, Number]:
        """Input coordinates [first, last] seen by unit x, 0 <= x < units (last inclusive; may
        exceed the input)."""
        hull = self.hull
        if hull is None:
            assert self.sweep is not None
            [(p, q)] = self.sweep([x])
            return _norm(p.lo + x * p.j), _norm(q.hi + x * q.j)
        step = self.step
        y = step.alpha * x + step.lo
        p = _first(hull.firsts, y)
        z = step.alpha * x + step.hi
        q = _last(hull.lasts, z)
        return _norm(p.lo + y * p.j), _norm(q.hi + z * q.j)


@dataclass(frozen=True)
class LayerInfo:
    """Everything computed for one node: its output shape (spatial sizes, then channels), its
    padding (before and after, per spatial axis) and its receptive field (one ``AxisRF`` per
    spatial axis: 1 for sequences, 2 for images, 3 for volumes)."""

    name: str
    op: str
    shape: tuple[int, ...]
    pads: tuple[int, ...]
    axes: tuple[AxisRF, ...]
    layer: Layer | None = None

    @property
    def ndim(self) -> int:
        """Spatial axes: 1 (T), 2 (H, W) or 3 (D, H, W)."""
        return len(self.axes)

    @property
    def spatial(self) -> tuple[int, ...]:
        """The output's spatial sizes (the shape without its channels)."""
        return self.shape[:-1]

    @property
    def channels(self) -> int:
        return self.shape[-1]

    @property
    def rf(self) -> tuple[Number, ...]:
        return tuple(a.rf for a in self.axes)

    @property
    def jump(self) -> tuple[Number, ...]:
        return tuple(a.jump for a in self.axes)

    @property
    def start(self) -> tuple[Number, ...]:
        return tuple(a.start for a in self.axes)

    @property
    def padding(self) -> tuple[Number, ...]:
        return tuple(a.padding for a in self.axes)

    @property
    def center(self) -> tuple[Number, ...]:
        return tuple(a.center for a in self.axes)

    @property
    def aligned(self) -> bool:
        return all(a.aligned for a in self.axes)

    def box(self, *units: int) -> tuple[tuple[Number, Number], ...]:
        """(first, last) input coordinate per axis seen by the unit at ``units`` (one index per
        spatial axis: ``box(y, x)`` in 2-D gives ((row first, row last), (col first, col last)))."""
        if len(units) != len(self.axes):
            raise ValueError(f"a unit of a {len(self.axes)}-D layer has {len(self.axes)} "
                             f"coordinates, got {len(units)}")
        return tuple(a.box(u) for a, u in zip(self.axes, units, strict=True))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "op": self.op,
            "shape": list(self.shape),
            "rf": [as_plain(v) for v in self.rf],
            "jump": [as_plain(v) for v in self.jump],
            "start": [as_plain(v) for v in self.start],
            "padding": [as_plain(v) for v in self.padding],
            "aligned": self.aligned,
        }


@dataclass(frozen=True)
class Analysis:
    """Shapes and receptive fields of the input and every layer, in topological order."""

    network: Network
    nodes: tuple[LayerInfo, ...]  # nodes[0] is the input

    @property
    def input(self) -> LayerInfo:
        return self.nodes[0]

    @property
    def layers(self) -> tuple[LayerInfo, ...]:
        return self.nodes[1:]

    @property
    def output(self) -> LayerInfo:
        return self.nodes[-1]

    @cached_property
    def index(self) -> dict[str, int]:
        """Position of every node in ``nodes``, by name."""
        return {node.name: i for i, node in enumerate(self.nodes)}

    @cached_property
    def graph(self) -> Graph:
        """How every node reads its inputs (for fields seen from a node other than the input)."""
        return graph_of(self.nodes)

    def __getitem__(self, name: str) -> LayerInfo:
        return self.nodes[self.index[name]]

    def __iter__(self) -> Iterator[LayerInfo]:
        return iter(self.nodes)

    def to_json(self) -> dict[str, Any]:
        return {"layers": [node.to_json() for node in self.layers]}


# --------------------------------------------------------------------------- shapes

#: Names of the spatial axes in messages, by number of spatial axes.
AXIS_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
#: What one index along each axis is called in messages.
UNIT_NAMES = {1: ("position",), 2: ("row", "column"), 3: ("slice", "row", "column")}


def _dims(values: Sequence[int]) -> str:
    return "x".join(map(str, values))


@overload
def resolve_pads(layer: Layer, size: tuple[int, int]) -> tuple[int, int, int, int]: ...
@overload
def resolve_pads(layer: Layer, size: Sequence[int]) -> tuple[int, ...]: ...
def resolve_pads(layer: Layer, size: Sequence[int]) -> tuple[int, ...]:
    """Padding (before, after) per spatial axis, flattened -- (top, bottom, left, right) in
    2-D -- of a layer on an input of spatial ``size`` (one entry per axis).  "same": TensorFlow's
    (output = ceil(input / stride), the extra pixel after; a transposed conv's output = input *
    stride); "same_lower" (ONNX SAME_LOWER): the extra pixel before; "causal": all of a conv or
    pool's d (k - 1) before and none after (a transposed conv crops nothing before, so unit o
    reads no input after o / s)."""
    ndim = len(size)
    if not isinstance(layer.padding, str):
        return layer.padding
    if layer.padding == "valid" or layer.op not in WINDOW_OPS:
        return (0,) * (2 * ndim)
    pads: list[int] = []
    for axis in range(ndim):
        k, s, d = layer.kernel[axis], layer.stride[axis], layer.dilation[axis]
        span = d * (k - 1) + 1
        if layer.op == "deconv":  # output = input * stride
            total = span + layer.output_padding[axis] - s
            if total < 0:
                raise SpecError(f"{layer.padding!r} needs a dilated kernel ({span}) of at least "
                                f"the stride ({s}) minus output_padding", layer=layer.name,
                                field="padding", line=layer.line)
            if layer.padding == "causal":
                pads += [0, total]
                continue
        elif layer.padding == "causal":
            pads += [span - 1, 0]
            continue
        else:  # TensorFlow: output = ceil(input / stride), the extra pixel at bottom/right
            out = -(-size[axis] // s)
            total = max((out - 1) * s + span - size[axis], 0)
        if layer.padding == "same_lower":  # ONNX SAME_LOWER: the extra pixel at top/left
            pads += [total - total // 2, total // 2]
        else:
            pads += [total // 2, total - total // 2]
    return tuple(pads)


def window_size(layer: Layer, n: int, axis: int, before: int, after: int) -> int:
    """Output units along one axis of a conv, pool or transposed conv layer."""
    k, s, d = layer.kernel[axis], layer.stride[axis], layer.dilation[axis]
    span = d * (k - 1) + 1
    if layer.op == "deconv":
        return (n - 1) * s - before - after + span + layer.output_padding[axis]
    extent = n + before + after - span
    if extent < 0:
        return 0
    if layer.op in ("maxpool", "avgpool") and layer.ceil_mode:
        out = -(-extent // s) + 1
        if (out - 1) * s >= n + before:  # the last window must start inside input or left pad
            out -= 1
        return out
    return extent // s + 1


def _empty_window(n: int, k: int, s: int, d: int, before: int, out: int) -> int | None:
    """``conv.empty_window`` (the first output unit whose max-pool window lies wholly in the
    padding), in closed form for undilated windows ``[o s - before, o s - before + k - 1]``:
    unit 0 when the left padding covers a whole window, else the first unit starting past the
    input's end. Dilated windows, rare in pooling, take the vectorised general case."""
    if d != 1:
        from rfdocs.compute.conv import empty_window

        return empty_window(n, k, s, d, before, out)
    if out > 0 and before >= k:
        return 0
    past_end = -(-(before + n) // s)  # the first o with o s - before >= n
    return past_end if past_end < out else None


@overload
def _shape(layer: Layer, ins: Sequence[tuple[int, int, int]]
           ) -> tuple[tuple[int, int, int], tuple[int, int, int, int]]: ...
@overload
def _shape(layer: Layer, ins: Sequence[tuple[int, ...]]
           ) -> tuple[tuple[int, ...], tuple[int, ...]]: ...
def _shape(layer: Layer, ins: Sequence[tuple[int, ...]]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(output shape, pads) of a layer reading inputs of shapes ``ins`` (spatial sizes, then
    channels; any number of spatial axes)."""
    first = ins[0]
    size, c = first[:-1], first[-1]
    ndim = len(size)
    zero = (0,) * (2 * ndim)
    if layer.op in POINTWISE_OPS:
        return first, zero
    if layer.op in MERGE_OPS and layer.op != "concat":
        return broadcast_shape(layer, ins), zero
    if layer.op in GLOBAL_OPS:
        return (*(1,) * ndim, math.prod(first) if layer.op == "flatten" else c), zero
    if layer.op == "dense":
        if any(n != 1 for n in size):
            raise SpecError(f"a dense layer needs a {_dims((1,) * ndim)} input (put flatten or a "
                            f"global pool before it), but {layer.inputs[0]!r} is {_dims(first)}",
                            layer=layer.name, field="inputs", line=layer.line)
        assert layer.filters is not None
        return (*(1,) * ndim, layer.filters), zero
    if layer.op == "pad":
        pads = resolve_pads(layer, size)
        return (*(n + pads[2 * a] + pads[2 * a + 1] for a, n in enumerate(size)), c), pads
    if layer.op == "upsample":
        return (*(n * layer.factor[a] for a, n in enumerate(size)), c), upsample_pads(layer, ndim)
    if layer.op == "concat":
        for other, src in zip(ins[1:], layer.inputs[1:], strict=True):
            if other[:-1] != size:
                names = AXIS_NAMES.get(ndim, ("size",))
                what = " and ".join((", ".join(names[:-1]), names[-1])) if ndim > 1 else names[0]
                raise SpecError(f"concat needs inputs of one {what}, but "
                                f"{layer.inputs[0]!r} is {_dims(size)} and {src!r} is "
                                f"{_dims(other[:-1])}", layer=layer.name,
                                field="inputs", line=layer.line)
        return (*size, sum(s[-1] for s in ins)), zero
    pads = resolve_pads(layer, size)
    out = [window_size(layer, n, axis, pads[2 * axis], pads[2 * axis + 1])
           for axis, n in enumerate(size)]
    for axis, n in enumerate(out):
        if n < 1:
            names = AXIS_NAMES.get(ndim, tuple(f"axis {a}" for a in range(ndim)))
            span = layer.dilation[axis] * (layer.kernel[axis] - 1) + 1
            raise SpecError(
                f"impossible shape: a {span}-pixel (dilated) window does not fit the "
                f"{size[axis]}-pixel {names[axis]} of its input "
                f"with padding {pads[2 * axis]}+{pads[2 * axis + 1]}",
                layer=layer.name, field="kernel", line=layer.line)
    if layer.op == "maxpool":
        units = UNIT_NAMES.get(ndim, tuple(f"index on axis {a}" for a in range(ndim)))
        for axis, n in enumerate(size):
            k, s, d = layer.kernel[axis], layer.stride[axis], layer.dilation[axis]
            o = _empty_window(n, k, s, d, pads[2 * axis], out[axis])
            if o is not None:
                raise SpecError(
                    f"the window of output {units[axis]} {o} lies wholly in the "
                    "padding: it has no input value to take the maximum of (ONNX Runtime gives "
                    "the lowest float there, PyTorch refuses such padding); use less padding",
                    layer=layer.name, field="padding", line=layer.line)
    if layer.op in ("conv", "deconv"):
        assert layer.filters is not None
        if c % layer.groups:
            raise SpecError(f"the input's {c} channels are not divisible by groups "
                            f"({layer.groups})", layer=layer.name, field="groups",
                            line=layer.line)
        channels = layer.filters
    else:
        channels = c
    return (*out, channels), pads


def broadcast_shape(layer: Layer, ins: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    """The shape of an elementwise merge (add, sub, mul, div): its inputs share their spatial
    sizes and channels, except that an input of one unit along every spatial axis spreads over
    every position and one of one channel over every channel (ONNX and numpy broadcasting)."""
    out = tuple(max(s[i] for s in ins) for i in range(len(ins[0])))
    ones = (1,) * (len(out) - 1)
    for other, src in zip(ins, layer.inputs, strict=True):
        spatial_ok = other[:-1] == out[:-1] or other[:-1] == ones
        if len(other) != len(out) or not spatial_ok or other[-1] not in (1, out[-1]):
            what = {1: "of length 1", 2: "of height and width 1"}.get(
                len(ones), f"of size {_dims(ones)}")
            raise SpecError(f"{layer.op} needs inputs of one shape (or {what}, "
                            f"or one channel, which spread), but {layer.inputs[0]!r} is "
                            f"{_dims(ins[0])} and {src!r} is "
                            f"{_dims(other)}", layer=layer.name,
                            field="inputs", line=layer.line)
    return out


def upsample_pads(layer: Layer, ndim: int = 2) -> tuple[int, ...]:
    """An upsample layer as the transposed convolution reading the same input units: its
    (before, after) pads per axis (see ``upsample_kernel``)."""
    pads: list[int] = []
    for axis in range(ndim):
        p = upsample_kernel(layer, axis)[1]
        pads += [p, p]
    return tuple(pads)


def upsample_kernel(layer: Layer, axis: int) -> tuple[int, int]:
    """(kernel, pad) of the transposed convolution with stride ``f`` (the factor) whose output
    unit o reads the same input units as the upsample: ``nearest`` reads ``floor(o / f)``
    (kernel f, pad 0); ``linear`` (half-pixel centres) reads the units i with
    ``|(o + 1/2) / f - 1/2 - i| < 1``, that is ``o - i f`` strictly between ``-f/2 - 1/2`` and
    ``3f/2 - 1/2``."""
    f = layer.factor[axis]
    if layer.mode == "nearest":
        return f, 0
    lo = math.floor(Fraction(-f - 1, 2)) + 1
    hi = math.ceil(Fraction(3 * f - 1, 2)) - 1
    return hi - lo + 1, -lo


# --------------------------------------------------------------------------- receptive fields


def layer_step(layer: Layer, axis: int, before: int) -> Step:
    """A conv/pool's unit x reads units [s x - p, s x - p + d(k-1)] of its input (u' = u - j p,
    r' = r + j d (k-1), j' = j s); a transposed conv's [(x + p - d(k-1)) / s, (x + p) / s]
    (j' = j / s)."""
    k, s, d = layer.kernel[axis], layer.stride[axis], layer.dilation[axis]
    if layer.op == "upsample":
        k, before = upsample_kernel(layer, axis)
        s, d = layer.factor[axis], 1
    span = d * (k - 1)
    if layer.op in ("deconv", "upsample"):
        first = Fraction(before - span, s)  # in units of the layer's input
        last = Fraction(before, s)
        return Step(_norm(Fraction(1, s)), _norm(first), _norm(last), _norm((first + last) / 2))
    return Step(s, -before, span - before, _frac(span - 2 * before, 2))


def _denominator(values: Iterable[Number]) -> int:
    """The least common denominator of ``values``."""
    dens = [v.denominator for v in values if type(v) is not int]
    return math.lcm(*dens) if dens else 1


def _scaled(value: Number, d: int) -> int:
    """value * d, an int (d a multiple of its denominator)."""
    if type(value) is int:
        return value * d
    return value.numerator * (d // value.denominator)


def _merge(boxes: Sequence[PathBox], d: int) -> list[PathBox]:
    """Union of path boxes: equal jumps merge into their envelope; sorted by jump (``d``: a
    common denominator of the jumps)."""
    by_jump: dict[Number, PathBox] = {}
    for b in boxes:
        key = b.j if d == 1 else _scaled(b.j, d)
        old = by_jump.get(key)
        by_jump[key] = b if old is None else PathBox(
            old.j, min(old.lo, b.lo), max(old.hi, b.hi), min(old.cmin, b.cmin),
            max(old.cmax, b.cmax))
    return [by_jump[key] for key in sorted(by_jump)]


def _lower_envelope(lines: Sequence[tuple[Number, Number]], a: Number, b: Number) -> list[int]:
    """Indices, left to right, of the lines ``c + m x`` (given as (m, c), slopes strictly
    decreasing; integers are fastest) that are the lowest on a stretch of [a, b] of positive
    length (a < b), or the lowest at a (a == b)."""
    an, ad = (a, 1) if type(a) is int else (a.numerator, a.denominator)
    bn, bd = (b, 1) if type(b) is int else (b.numerator, b.denominator)
    if a == b:
        values = [c * ad + m * an for m, c in lines]
        return [values.index(min(values))]
    hull: list[int] = []  # the lower envelope over all x, left to right
    for i, (m3, c3) in enumerate(lines):
        while len(hull) >= 2:
            m1, c1 = lines[hull[-2]]
            m2, c2 = lines[hull[-1]]
            # the middle line is never alone lowest if line 1 meets line 3 no later than line 2
            if (c2 - c1) * (m1 - m3) >= (c3 - c1) * (m1 - m2):
                hull.pop()
            else:
                break
        hull.append(i)
    keep = []
    for n, i in enumerate(hull):
        m, c = lines[i]
        if n > 0:  # lowest from x = (c - c0) / (m0 - m), where the line before meets it ...
            m0, c0 = lines[hull[n - 1]]
            if (c - c0) * bd >= bn * (m0 - m):
                continue
        if n + 1 < len(hull):  # ... to where the next line takes over
            m2, c2 = lines[hull[n + 1]]
            if (c2 - c) * ad <= an * (m - m2):
                continue
        keep.append(i)
    return keep


def _hull(boxes: list[PathBox], lo_domain: Sequence[Number], hi_domain: Sequence[Number],
          d: int) -> Hull:
    """The boxes (distinct jumps, sorted) on the lower envelope of ``lo + y j`` over
    ``lo_domain`` or on the upper envelope of ``hi + y j`` over ``hi_domain`` (``d``: a common
    denominator of their jumps, starts and ends, for exact integer arithmetic)."""
    if len(boxes) == 1:
        one = (boxes[0],)
        return Hull(one, one, one)
    n = len(boxes)
    if d == 1:
        lows = [(b.j, b.lo) for b in reversed(boxes)]
        highs = [(-b.j, -b.hi) for b in boxes]
    else:
        lows = [(_scaled(b.j, d), _scaled(b.lo, d)) for b in reversed(boxes)]
        highs = [(-_scaled(b.j, d), -_scaled(b.hi, d)) for b in boxes]
    firsts = [n - 1 - i for i in _lower_envelope(lows, lo_domain[0], lo_domain[1])]
    lasts = _lower_envelope(highs, hi_domain[0], hi_domain[1])
    if len(firsts) + len(lasts) == 2 and firsts[0] == lasts[0]:
        one = (boxes[firsts[0]],)
        return Hull(one, one, one)
    return Hull(tuple(boxes[i] for i in sorted({*firsts, *lasts})),
                tuple(boxes[i] for i in firsts), tuple(boxes[i] for i in lasts))


@dataclass(frozen=True)
class Graph:
    """How each node reads its inputs: ``preds[v]`` (indices into the analysis' nodes),
    ``steps[v]`` per axis (None for merges and pass-through layers: they read the very
    coordinates of their inputs, except an input of one unit along an axis where the node has
    more, which every unit reads at unit 0: see ``edge``) and ``units[v]`` per axis."""

    preds: tuple[tuple[int, ...], ...]
    steps: tuple[tuple[Step, ...] | None, ...]
    units: tuple[tuple[int, ...], ...]
    square: bool = False  # every axis alike at every node: one axis computes them all

    @property
    def ndim(self) -> int:
        """Spatial axes of every node."""
        return len(self.units[0]) if self.units else 2

    def edge(self, v: int, u: int, axis: int) -> Step:
        """How the units of a node without steps (a merge or pass-through layer) read its input
        ``u``: at the same coordinates, or all at unit 0 where ``u`` broadcasts (``SPREAD``)."""
        units = self.units
        return SPREAD if units[u][axis] == 1 and units[v][axis] > 1 else IDENTITY


def graph_of(nodes: Sequence[LayerInfo]) -> Graph:
    index = {node.name: i for i, node in enumerate(nodes)}
    return _graph([() if n.layer is None else tuple(index[i] for i in n.layer.inputs)
                   for n in nodes], [n.layer for n in nodes], [n.pads for n in nodes],
                  [n.shape for n in nodes])


def _graph(preds: Sequence[tuple[int, ...]], layers: Sequence[Layer | None],
           pads: Sequence[tuple[int, ...]], shapes: Sequence[tuple[int, ...]]) -> Graph:
    ndim = len(shapes[0]) - 1
    axes = range(ndim)
    windows = (*WINDOW_OPS, "pad", "upsample")
    steps: list[tuple[Step, ...] | None] = []
    for layer, pad, srcs in zip(layers, pads, preds, strict=True):
        if layer is None:
            steps.append(None)
        elif layer.op in windows:
            if ndim == 2:
                steps.append((layer_step(layer, 0, pad[0]), layer_step(layer, 1, pad[2])))
            else:
                steps.append(tuple([layer_step(layer, a, pad[2 * a]) for a in axes]))
        elif layer.op in GLOBAL_OPS:  # one window over the whole input
            size = shapes[srcs[0]]
            steps.append(tuple([Step(1, 0, size[a] - 1, _frac(size[a] - 1, 2)) for a in axes]))
        else:
            steps.append(None)
    if ndim == 2:
        square = (all(s is None or s[0] == s[1] for s in steps)
                  and all(shape[0] == shape[1] for shape in shapes))
        units: tuple[tuple[int, ...], ...] = tuple([(shape[0], shape[1]) for shape in shapes])
    else:
        square = (all(s is None or s.count(s[0]) == ndim for s in steps)
                  and all(shape[:ndim].count(shape[0]) == ndim for shape in shapes))
        units = tuple([shape[:ndim] for shape in shapes])
    return Graph(tuple(preds), tuple(steps), units, square)


State = tuple[Hull, Step] | None  # a node's hull and how its units read it; None: swept
Route = tuple[Number, Number, Number]  # unit x of the swept node reads a x + b_lo .. a x + b_hi


class Fields:
    """Receptive fields, in the coordinates of node ``source``, of the ``targets`` it feeds
    (and of the nodes between): per axis and node, a hull and the step from the node's units
    into it, or None where a merge needed more than ``max_lines`` boxes (``sweep`` finds those
    fields).  ``work`` counts the boxes copied and the route steps swept."""

    def __init__(self, graph: Graph, source: int, targets: Collection[int],
                 max_lines: int = MAX_LINES, max_work: int | None = None) -> None:
        if max_lines < 1:
            raise ValueError("max_lines must be at least 1")
        self.graph = graph
        self.source = source
        self.max_work = max_work
        self.work = 0
        count = len(graph.preds)
        if source == 0 and len(targets) == count:  # the whole graph
            self.order = list(range(count))
            self.preds = dict(enumerate(graph.preds))
        else:
            fed = [False] * count
            fed[source] = True
            for v in range(source + 1, count):
                fed[v] = any(fed[u] for u in graph.preds[v])
            need = [False] * count
            for t in targets:
                need[t] = fed[t]
            for v in range(count - 1, source, -1):
                if need[v]:
                    for u in graph.preds[v]:
                        if fed[u]:
                            need[u] = True
            self.order = [v for v in range(source, count) if need[v]]
            self.preds = {v: tuple(u for u in graph.preds[v] if need[u]) for v in self.order}
        self.position = {v: i for i, v in enumerate(self.order)}
        self.targets = [t for t in targets if t in self.position]
        ndim = graph.ndim
        states: dict[int, State] = {}
        jumps: dict[int, tuple[Number, Number]] = {}
        self.states: tuple[dict[int, State], ...]
        self.jumps: tuple[dict[int, tuple[Number, Number]], ...]
        if graph.square:  # the same numbers along every axis
            self.states = (states,) * ndim
            self.jumps = (jumps,) * ndim
        else:
            self.states = (states, *({} for _ in range(ndim - 1)))
            self.jumps = (jumps, *({} for _ in range(ndim - 1)))
        self._domains: list[dict[int, list[Number]]] | None = None
        for axis in range(1 if graph.square else ndim):
            self._forward(axis, max_lines)

    def _count(self, work: int) -> None:
        self.work += work
        if self.max_work is not None and self.work > self.max_work:
            raise WorkLimit(f"receptive fields seen from one node need more than "
                            f"{self.max_work:,} steps")

    def domain(self, node: int, axis: int) -> list[Number]:
        """[first, last] coordinate at which ``node``'s first-coordinate lines are read, then
        the same for its last-coordinate lines: its own units (for a target) and whatever
        later nodes read of it.  Computed once, when a merge first needs it."""
        if self._domains is None:
            first = self._domain_pass(0)
            self._domains = [first if self.graph.square or a == 0 else self._domain_pass(a)
                             for a in range(self.graph.ndim)]
        return self._domains[axis][node]

    def _domain_pass(self, axis: int) -> dict[int, list[Number]]:
        dom: dict[int, list[Number]] = {}
        for t in self.targets:
            last = self.graph.units[t][axis] - 1
            dom[t] = [0, last, 0, last]
        for v in reversed(self.order[1:]):
            a, b, c, d = dom[v]
            steps = self.graph.steps[v]
            if steps is not None:
                st = steps[axis]
                al = st.alpha
                a, b, c, d = al * a + st.lo, al * b + st.lo, al * c + st.hi, al * d + st.hi
            for u in self.preds[v]:
                ua: Number
                ub: Number
                uc: Number
                ud: Number
                if steps is None and self.graph.edge(v, u, axis) is SPREAD:
                    ua = ub = uc = ud = 0  # every unit reads unit 0
                else:
                    ua, ub, uc, ud = a, b, c, d
                old = dom.get(u)
                if old is None:
                    dom[u] = [ua, ub, uc, ud]
                    continue
                if ua < old[0]:
                    old[0] = ua
                if ub > old[1]:
                    old[1] = ub
                if uc < old[2]:
                    old[2] = uc
                if ud > old[3]:
                    old[3] = ud
        return dom

    def _forward(self, axis: int, max_lines: int) -> None:
        states, jumps, graph = self.states[axis], self.jumps[axis], self.graph
        states[self.source] = (SOURCE, IDENTITY)
        jumps[self.source] = (1, 1)
        for v in self.order[1:]:
            preds = self.preds[v]
            steps = graph.steps[v]
            if steps is not None:  # a window: the same boxes, read through one more step
                st = steps[axis]
                state = states[preds[0]]
                states[v] = None if state is None else (state[0], _compose(state[1], st))
                jmin, jmax = jumps[preds[0]]
                jumps[v] = (_norm(jmin * st.alpha), _norm(jmax * st.alpha))
                continue
            edges = [graph.edge(v, u, axis) for u in preds]
            if len(preds) == 1:  # pass-through (or a merge with one input fed by the source)
                u = preds[0]
                if edges[0] is SPREAD:  # one window: unit 0 of its input, for every unit
                    state = states[u]
                    states[v] = None if state is None else (state[0], _compose(state[1], SPREAD))
                    jumps[v] = (0, 0)
                else:
                    states[v] = states[u]
                    jumps[v] = jumps[u]
                continue
            spans = [(0, 0) if e is SPREAD else jumps[u] for u, e in zip(preds, edges, strict=True)]
            jumps[v] = (min(j[0] for j in spans), max(j[1] for j in spans))
            gathered: list[PathBox] = []
            for u, edge in zip(preds, edges, strict=True):
                state = states[u]
                if state is None:
                    gathered = []
                    break
                hull, step = state
                boxes = hull.boxes
                if edge is SPREAD:
                    step = _compose(step, SPREAD)
                gathered += boxes if step == IDENTITY else [_through(b, step) for b in boxes]
            if not gathered:
                states[v] = None
                continue
            self._count(len(gathered))
            d = _denominator(v for b in gathered for v in (b.j, b.lo, b.hi))
            merged = _merge(gathered, d)
            if len(merged) > 1:
                dom = self.domain(v, axis)
                hull = _hull(merged, dom[:2], dom[2:], d)
            else:
                hull = Hull((merged[0],), (merged[0],), (merged[0],))
            states[v] = (hull, IDENTITY) if len(hull.boxes) <= max_lines else None

    def sweep(self, node: int, axis: int, xs: Sequence[Number]) -> list[tuple[PathBox, PathBox]]:
        """For each unit x of ``node``: the box of a path giving it its first coordinate and
        that of a path giving its last (both in ``node``'s coordinates).

        Walks back from ``node`` keeping, per node and unit, only the route that reads it at
        the smallest (largest) coordinate: a node's first (last) coordinate grows with the
        coordinate it is read at, so no other route can do better.  Stops at nodes that kept a
        hull; O(len(xs) (V + E)) steps."""
        graph, states, order, position = self.graph, self.states[axis], self.order, self.position
        start: Route = (1, 0, 0)
        firsts: dict[int, list[Route]] = {node: [start] * len(xs)}
        lasts: dict[int, list[Route]] = {node: [start] * len(xs)}
        best: list[list[tuple[Number, PathBox] | None]] = [[None, None] for _ in xs]
        for v in reversed(order[:position[node] + 1]):
            if v not in firsts:
                continue
            lo_routes, hi_routes = firsts.pop(v), lasts.pop(v)
            self._count(len(xs))
            state = states[v]
            if state is not None:  # this node's hull decides the coordinates it is read at
                hull, step = state
                for i, x in enumerate(xs):
                    for side, (a, b_lo, b_hi) in ((0, lo_routes[i]), (1, hi_routes[i])):
                        y = a * x + (b_lo if side == 0 else b_hi)  # read at y of node v
                        z = step.alpha * y + (step.lo if side == 0 else step.hi)  # of its hull
                        box = _first(hull.firsts, z) if side == 0 else _last(hull.lasts, z)
                        value = box.lo + z * box.j if side == 0 else box.hi + z * box.j
                        old = best[i][side]
                        if old is None or (value < old[0] if side == 0 else value > old[0]):
                            route = Step(a, b_lo, b_hi, _frac(b_lo + b_hi, 2))
                            best[i][side] = (value, _through(_through(box, step), route))
                continue
            steps = graph.steps[v]
            if steps is not None:
                st = steps[axis]
                al = st.alpha
                lo_routes = [(al * a, al * bl + st.lo, al * bh + st.hi) for a, bl, bh in lo_routes]
                hi_routes = [(al * a, al * bl + st.lo, al * bh + st.hi) for a, bl, bh in hi_routes]
            for u in self.preds[v]:
                ins_lo, ins_hi = lo_routes, hi_routes
                if steps is None and graph.edge(v, u, axis) is SPREAD:  # all read at unit 0
                    ins_lo = ins_hi = [(0, 0, 0)] * len(xs)
                old_lo, old_hi = firsts.get(u), lasts.get(u)
                if old_lo is None or old_hi is None:
                    firsts[u], lasts[u] = list(ins_lo), list(ins_hi)
                    continue
                for i, x in enumerate(xs):
                    a, bl, _ = ins_lo[i]
                    oa, obl, _ = old_lo[i]
                    if a * x + bl < oa * x + obl:
                        old_lo[i] = ins_lo[i]
                    a, _, bh = ins_hi[i]
                    oa, _, obh = old_hi[i]
                    if a * x + bh > oa * x + obh:
                        old_hi[i] = ins_hi[i]
        out = []
        for first, last in best:
            assert first is not None and last is not None
            out.append((first[1], last[1]))
        return out

    def axis_rf(self, node: int, axis: int) -> AxisRF:
        """The field of ``node`` along ``axis`` (a swept node sweeps when asked)."""
        units = self.graph.units[node][axis]
        jumps = self.jumps[axis][node]
        state = self.states[axis][node]
        if state is not None:
            return AxisRF(state[0], units, jumps, state[1])

        def sweep(xs: Sequence[int]) -> list[tuple[PathBox, PathBox]]:
            return self.sweep(node, axis, xs)

        return AxisRF(None, units, jumps, IDENTITY, sweep)


class WorkLimit(ValueError):
    """The fields would take more steps than the caller allowed."""


def analyze(net: Network, *, max_lines: int = MAX_LINES) -> Analysis:
    """Shapes and receptive fields of every node (raises SpecError for impossible shapes), along
    each of the input's spatial axes.  ``max_lines``: boxes a merge keeps per axis before its
    units are swept instead."""
    index = {INPUT_NAME: 0}
    shapes: list[tuple[int, ...]] = [tuple(net.input)]
    ndim = len(net.input) - 1
    pads: list[tuple[int, ...]] = [(0,) * (2 * ndim)]
    preds: list[tuple[int, ...]] = [()]
    for layer in net.layers:
        srcs = tuple(index[name] for name in layer.inputs)
        shape, pad = _shape(layer, [shapes[i] for i in srcs])
        if math.prod(shape) > 10**12:
            raise SpecError(f"output of {_dims(shape)} is unreasonably large",
                            layer=layer.name, line=layer.line)
        index[layer.name] = len(shapes)
        shapes.append(shape)
        pads.append(pad)
        preds.append(srcs)
    layers: list[Layer | None] = [None, *net.layers]
    graph = _graph(preds, layers, pads, shapes)
    fields = Fields(graph, 0, range(len(shapes)), max_lines)
    nodes = []
    shared: dict[tuple[int, int], AxisRF] = {}  # pass-through layers share their input's
    for i, node in enumerate(layers):
        axes = []
        for axis in range(ndim):
            state = fields.states[axis][i]
            key = (id(state), graph.units[i][axis])
            rf = shared.get(key) if state is not None else None
            if rf is None:
                rf = fields.axis_rf(i, axis)
                if state is not None:
                    shared[key] = rf
            axes.append(rf)
        if node is None:
            nodes.append(LayerInfo(INPUT_NAME, "input", shapes[0], pads[0], tuple(axes)))
        else:
            nodes.append(LayerInfo(node.name, node.op, shapes[i], pads[i], tuple(axes), node))
    analysis = Analysis(net, tuple(nodes))
    analysis.__dict__["graph"] = graph  # the cached properties, already known
    analysis.__dict__["index"] = index
    return analysis


def clipped_box_nd(info: LayerInfo, units: Sequence[int], size: Sequence[int]
                   ) -> tuple[tuple[int, int], ...] | None:
    """Whole input positions (first, last) per axis seen by the unit at ``units``, clipped to
    an input of spatial ``size``; None if it sees none."""
    out = []
    for (lo, hi), n in zip(info.box(*units), size, strict=True):
        a, b = max(math.ceil(lo), 0), min(math.floor(hi), n - 1)
        if a > b:
            return None
        out.append((a, b))
    return tuple(out)


def clipped_box(info: LayerInfo, y: int, x: int, size: Sequence[int]) -> tuple[
        tuple[int, int], tuple[int, int]] | None:
    """Whole input pixels seen by unit (y, x) of a 2-D layer, clipped to an input of ``size``;
    None if none (``clipped_box_nd`` for any number of axes)."""
    box = clipped_box_nd(info, (y, x), size)
    return None if box is None else (box[0], box[1])
