"""Output shapes and receptive fields of every node of a network graph, per axis.

Notation follows Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural
Networks", Distill 2019: receptive field size ``r``, jump (effective stride) ``j``, start ``u``
(input coordinate of the first pixel seen by output unit 0), effective padding ``p = -u`` and
centre ``c = u + (r - 1) / 2``.  Unit ``x`` of a layer sees input pixels ``[u + x j, u + x j + r - 1]``.

Multi-path graphs keep one box per distinct jump (paths with equal jump merge into their
envelope); paths are *aligned* when they agree on jump and centre.  Transposed convolutions
divide the jump by their stride, so the numbers may be fractions there.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from rfdocs.compute.spec import INPUT_NAME, Layer, Network, SpecError

Number = int | Fraction


def _frac(a: Number, b: int) -> Number:
    """a / b, exact: an int where it divides, else a Fraction."""
    if isinstance(a, int) and a % b == 0:
        return a // b
    return Fraction(a) / b


def _norm(value: Number) -> Number:
    """A whole Fraction back to int, so sequential conv stacks stay in fast int arithmetic."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    return value


def as_plain(value: Number) -> int | float:
    """An int where the value is whole, else a float (for JSON and display)."""
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    return value


@dataclass(frozen=True)
class PathBox:
    """Boxes of all paths with jump ``j``: unit x sees ``[lo + x j, hi + x j]``; centres in
    ``[cmin + x j, cmax + x j]``."""

    j: Number
    lo: Number
    hi: Number
    cmin: Number
    cmax: Number


@dataclass(frozen=True)
class AxisRF:
    """Receptive field of one node along one axis (the union over every path to the input)."""

    paths: tuple[PathBox, ...]
    units: int  # number of units of the node along this axis

    @property
    def aligned(self) -> bool:
        """All paths share one jump and one centre."""
        return len(self.paths) == 1 and self.paths[0].cmin == self.paths[0].cmax

    @property
    def jump(self) -> Number:
        """j: input pixels between neighbouring units (the largest where paths disagree)."""
        return max(p.j for p in self.paths)

    @property
    def start(self) -> Number:
        """u: first input coordinate seen by unit 0 (negative where it lies in the padding)."""
        return min(p.lo for p in self.paths)

    @property
    def rf(self) -> Number:
        """r: size of the receptive field (the largest over units where paths disagree on jump)."""
        last = max(self.units - 1, 0)
        return max(hi - lo + 1 for lo, hi in (self.box(0), self.box(last)))

    @property
    def padding(self) -> Number:
        """p = -u, the effective padding."""
        return -self.start

    @property
    def center(self) -> Number:
        """c = u + (r - 1) / 2 for unit 0 (the middle of the union box)."""
        lo, hi = self.box(0)
        return _norm(Fraction(lo + hi) / 2)

    def box(self, x: int) -> tuple[Number, Number]:
        """Input coordinates [first, last] seen by unit x (last inclusive; may exceed the input)."""
        lo = min(p.lo + x * p.j for p in self.paths)
        hi = max(p.hi + x * p.j for p in self.paths)
        return lo, hi


@dataclass(frozen=True)
class LayerInfo:
    """Everything computed for one node: its output shape, padding and receptive field."""

    name: str
    op: str
    shape: tuple[int, int, int]
    pads: tuple[int, int, int, int]
    axes: tuple[AxisRF, AxisRF]
    layer: Layer | None = None

    @property
    def rf(self) -> tuple[Number, Number]:
        return (self.axes[0].rf, self.axes[1].rf)

    @property
    def jump(self) -> tuple[Number, Number]:
        return (self.axes[0].jump, self.axes[1].jump)

    @property
    def start(self) -> tuple[Number, Number]:
        return (self.axes[0].start, self.axes[1].start)

    @property
    def padding(self) -> tuple[Number, Number]:
        return (self.axes[0].padding, self.axes[1].padding)

    @property
    def center(self) -> tuple[Number, Number]:
        return (self.axes[0].center, self.axes[1].center)

    @property
    def aligned(self) -> bool:
        return self.axes[0].aligned and self.axes[1].aligned

    def box(self, y: int, x: int) -> tuple[tuple[Number, Number], tuple[Number, Number]]:
        """((row first, row last), (col first, col last)) of the input seen by unit (y, x)."""
        return self.axes[0].box(y), self.axes[1].box(x)

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

    def __getitem__(self, name: str) -> LayerInfo:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def __iter__(self) -> Iterator[LayerInfo]:
        return iter(self.nodes)

    def to_json(self) -> dict[str, Any]:
        return {"layers": [node.to_json() for node in self.layers]}


# --------------------------------------------------------------------------- shapes


def resolve_pads(layer: Layer, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding of a window layer on an input of ``size`` (H, W)."""
    if not isinstance(layer.padding, str):
        return layer.padding
    if layer.padding == "valid":
        return (0, 0, 0, 0)
    pads: list[int] = []
    for axis in range(2):
        k, s, d = layer.kernel[axis], layer.stride[axis], layer.dilation[axis]
        span = d * (k - 1) + 1
        if layer.op == "deconv":  # output = input * stride
            total = span + layer.output_padding[axis] - s
            if total < 0:
                raise SpecError(f"'same' needs a dilated kernel ({span}) of at least the stride "
                                f"({s}) minus output_padding", layer=layer.name,
                                field="padding", line=layer.line)
        else:  # TensorFlow: output = ceil(input / stride), the extra pixel at bottom/right
            out = -(-size[axis] // s)
            total = max((out - 1) * s + span - size[axis], 0)
        pads += [total // 2, total - total // 2]
    return (pads[0], pads[1], pads[2], pads[3])


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


def _shape(layer: Layer, ins: list[tuple[int, int, int]]) -> tuple[tuple[int, int, int],
                                                                   tuple[int, int, int, int]]:
    h, w, c = ins[0]
    if layer.op in ("relu", "identity"):
        return (h, w, c), (0, 0, 0, 0)
    if layer.op == "add":
        for other, src in zip(ins[1:], layer.inputs[1:], strict=True):
            if other != ins[0]:
                raise SpecError(f"add needs inputs of one shape, but {layer.inputs[0]!r} is "
                                f"{'x'.join(map(str, ins[0]))} and {src!r} is "
                                f"{'x'.join(map(str, other))}", layer=layer.name,
                                field="inputs", line=layer.line)
        return (h, w, c), (0, 0, 0, 0)
    if layer.op == "concat":
        for other, src in zip(ins[1:], layer.inputs[1:], strict=True):
            if other[:2] != ins[0][:2]:
                raise SpecError(f"concat needs inputs of one height and width, but "
                                f"{layer.inputs[0]!r} is {h}x{w} and {src!r} is "
                                f"{other[0]}x{other[1]}", layer=layer.name,
                                field="inputs", line=layer.line)
        return (h, w, sum(s[2] for s in ins)), (0, 0, 0, 0)
    pads = resolve_pads(layer, (h, w))
    out = [window_size(layer, n, axis, pads[2 * axis], pads[2 * axis + 1])
           for axis, n in enumerate((h, w))]
    for axis, n in enumerate(out):
        if n < 1:
            span = layer.dilation[axis] * (layer.kernel[axis] - 1) + 1
            raise SpecError(
                f"impossible shape: a {span}-pixel (dilated) window does not fit the "
                f"{(h, w)[axis]}-pixel {'height' if axis == 0 else 'width'} of its input "
                f"with padding {pads[2 * axis]}+{pads[2 * axis + 1]}",
                layer=layer.name, field="kernel", line=layer.line)
    if layer.op in ("conv", "deconv"):
        assert layer.filters is not None
        if c % layer.groups:
            raise SpecError(f"the input's {c} channels are not divisible by groups "
                            f"({layer.groups})", layer=layer.name, field="groups",
                            line=layer.line)
        channels = layer.filters
    else:
        channels = c
    return (out[0], out[1], channels), pads


# --------------------------------------------------------------------------- receptive fields


def _through_window(box: PathBox, layer: Layer, axis: int, before: int) -> PathBox:
    """Compose one path box with a conv/pool (u' = u - j p, r' = r + j d (k-1), j' = j s) or a
    transposed conv (j' = j / s, unit x sees layer inputs [(x + p - d(k-1)) / s, (x + p) / s])."""
    k, s, d = layer.kernel[axis], layer.stride[axis], layer.dilation[axis]
    span = d * (k - 1)
    j = box.j
    if layer.op == "deconv":
        first = Fraction(before - span, s)  # in units of the layer's input
        last = Fraction(before, s)
        mid = (first + last) / 2
        return PathBox(_norm(Fraction(j) / s), _norm(box.lo + j * first),
                       _norm(box.hi + j * last), _norm(box.cmin + j * mid),
                       _norm(box.cmax + j * mid))
    shift = _frac(span - 2 * before, 2)  # centre of the window, relative to unit 0
    return PathBox(j * s, box.lo - j * before, box.hi + j * (span - before),
                   _norm(box.cmin + j * shift), _norm(box.cmax + j * shift))


def _merge(boxes: list[PathBox]) -> tuple[PathBox, ...]:
    """Union of path boxes: equal jumps merge into their envelope."""
    by_jump: dict[Number, PathBox] = {}
    for b in boxes:
        old = by_jump.get(b.j)
        by_jump[b.j] = b if old is None else PathBox(
            b.j, min(old.lo, b.lo), max(old.hi, b.hi), min(old.cmin, b.cmin),
            max(old.cmax, b.cmax))
    return tuple(by_jump[j] for j in sorted(by_jump))


def analyze(net: Network) -> Analysis:
    """Shapes and receptive fields of every node (raises SpecError for impossible shapes)."""
    origin = PathBox(1, 0, 0, 0, 0)
    h, w, c = net.input
    first = LayerInfo(INPUT_NAME, "input", net.input, (0, 0, 0, 0),
                      (AxisRF((origin,), h), AxisRF((origin,), w)))
    nodes: dict[str, LayerInfo] = {INPUT_NAME: first}
    order = [first]
    for layer in net.layers:
        srcs = [nodes[name] for name in layer.inputs]
        shape, pads = _shape(layer, [s.shape for s in srcs])
        if shape[0] * shape[1] * shape[2] > 10**12:
            raise SpecError(f"output of {shape[0]}x{shape[1]}x{shape[2]} is unreasonably large",
                            layer=layer.name, line=layer.line)
        axes = []
        for axis in range(2):
            if layer.op in ("conv", "deconv", "maxpool", "avgpool"):
                src = srcs[0].axes[axis]
                paths = _merge([_through_window(p, layer, axis, pads[2 * axis])
                                for p in src.paths])
            else:
                paths = _merge([p for s in srcs for p in s.axes[axis].paths])
            axes.append(AxisRF(paths, shape[axis]))
        info = LayerInfo(layer.name, layer.op, shape, pads, (axes[0], axes[1]), layer)
        nodes[layer.name] = info
        order.append(info)
    return Analysis(net, tuple(order))


def clipped_box(info: LayerInfo, y: int, x: int, size: tuple[int, int]) -> tuple[
        tuple[int, int], tuple[int, int]] | None:
    """Whole input pixels seen by unit (y, x), clipped to an input of ``size``; None if none."""
    out = []
    for (lo, hi), n in zip(info.box(y, x), size, strict=True):
        a, b = max(math.ceil(lo), 0), min(math.floor(hi), n - 1)
        if a > b:
            return None
        out.append((a, b))
    return (out[0], out[1])
