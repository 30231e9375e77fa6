"""Brute-force receptive fields: the impulse response of every input pixel, positive weights.

Each input pixel gets its own channel holding a unit impulse; every layer is applied with
all-ones weights (max pooling as a positive-weight average, ReLU as identity, concat as a
sum), so output unit (y, x) is non-zero in channel p exactly when input pixel p can change it.
The other ops propagate these dependency sets the way they read their inputs, from their
definitions: pointwise ops and dense layers keep them (channels are not tracked, only which
input pixels), elementwise merges take their union, broadcasting an input of height or width 1
over every position, global pools and flatten take the union over all positions, pad shifts
them (the pad value depends on no pixel), nearest upsampling copies unit ``floor(o / f)``, and
linear upsampling (half-pixel centres, clamped) gives unit o the source units whose weight,
computed in exact rational arithmetic, is not zero -- with an odd factor, every f-th unit lands
exactly on a source unit and reads that one alone.

``every_path`` enumerates the paths from the input instead (exponentially many: small graphs
only), giving the exact, unclipped field of every unit as the union over paths, and the numbers
a table reports.  Deliberately written from the definitions, sharing no code with
rfdocs.compute.receptive.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Sequence
from fractions import Fraction

import numpy as np

from rfdocs.compute.spec import Layer, Network


def _pads(layer, size):  # type: ignore[no-untyped-def]
    if not isinstance(layer.padding, str):
        return layer.padding
    if layer.padding == "valid" or layer.op not in ("conv", "deconv", "maxpool", "avgpool"):
        return (0, 0, 0, 0)
    out = []
    for axis in range(2):
        k, s, d, n = layer.kernel[axis], layer.stride[axis], layer.dilation[axis], size[axis]
        span = d * (k - 1) + 1
        if layer.op == "deconv":
            total = span + layer.output_padding[axis] - s
        else:
            total = max((-(-n // s) - 1) * s + span - n, 0)
        if layer.padding == "same_lower":  # ONNX SAME_LOWER: the odd pixel before
            out += [total - total // 2, total // 2]
        else:
            out += [total // 2, total - total // 2]
    return tuple(out)


def _window(x: np.ndarray, layer, pads, ceil_mode: bool) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Sum over the (dilated) window of every output unit, zero padding."""
    h, w = x.shape[:2]
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel, layer.stride, layer.dilation
    t, b, left, r = pads
    sizes = []
    for n, k, s, d, lo, hi in ((h, kh, sh, dh, t, b), (w, kw, sw, dw, left, r)):
        extent = n + lo + hi - d * (k - 1) - 1
        out = extent // s + 1
        if ceil_mode:
            out = -(-extent // s) + 1
            if (out - 1) * s >= n + lo:
                out -= 1
        sizes.append(out)
    oh, ow = sizes
    big = np.zeros((h + t + b + 2 * sh * dh * kh, w + left + r + 2 * sw * dw * kw, x.shape[2]))
    big[t:t + h, left:left + w] = x
    out = np.zeros((oh, ow, x.shape[2]))
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)
            out += big[rows, cols]
    return out


def _transposed(x: np.ndarray, layer, pads) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Scatter every input unit times an all-ones kernel (transposed convolution)."""
    h, w = x.shape[:2]
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel, layer.stride, layer.dilation
    t, b, left, r = pads
    oh = (h - 1) * sh - t - b + dh * (kh - 1) + 1 + layer.output_padding[0]
    ow = (w - 1) * sw - left - r + dw * (kw - 1) + 1 + layer.output_padding[1]
    full = np.zeros(((h - 1) * sh + dh * (kh - 1) + 1 + oh + t + b,
                     (w - 1) * sw + dw * (kw - 1) + 1 + ow + left + r, x.shape[2]))
    for i in range(kh):
        for j in range(kw):
            full[i * dh:i * dh + (h - 1) * sh + 1:sh, j * dw:j * dw + (w - 1) * sw + 1:sw] += x
    return full[t:t + oh, left:left + ow]


def linear_reads(n: int, f: int) -> np.ndarray:
    """Bool (n f, n): does output unit o of a half-pixel linear upsampling by ``f`` give source
    unit i a non-zero weight?  Source coordinate ``(o + 1/2) / f - 1/2`` clamped to [0, n - 1],
    weights ``1 - t`` and ``t`` on its floor and the next unit (clamped), exact fractions."""
    reads = np.zeros((n * f, n), dtype=bool)
    for o in range(n * f):
        x = min(max(Fraction(2 * o + 1, 2 * f) - Fraction(1, 2), Fraction(0)), Fraction(n - 1))
        i0 = math.floor(x)
        i1 = min(i0 + 1, n - 1)
        t = x - i0
        if t != 1:
            reads[o, i0] = True
        if t != 0:
            reads[o, i1] = True
    return reads


def _upsample(x: np.ndarray, layer) -> np.ndarray:  # type: ignore[no-untyped-def]
    fh, fw = layer.factor
    h, w = x.shape[:2]
    if layer.mode == "nearest":  # out[o] = in[floor(o / f)]
        return np.repeat(np.repeat(x, fh, axis=0), fw, axis=1)
    rows, cols = linear_reads(h, fh).astype(np.float64), linear_reads(w, fw).astype(np.float64)
    return np.einsum("oi,ijp,qj->oqp", rows, x, cols)


def _merge(ins: list[np.ndarray]) -> np.ndarray:
    """Union of the inputs' dependencies, an input of height or width 1 spread over that axis."""
    h = max(a.shape[0] for a in ins)
    w = max(a.shape[1] for a in ins)
    return sum((np.broadcast_to(a, (h, w, a.shape[2])) for a in ins), np.zeros((h, w, ins[0].shape[2])))


def dependencies(net: Network, source: str = "input",
                 shapes: dict[str, tuple[int, int, int]] | None = None) -> dict[str, np.ndarray]:
    """node -> bool array (H, W, units of ``source``): does unit (y, x) depend on that unit?
    Impulses start at ``source`` (the input by default); branches it does not feed carry
    zeros, which needs their ``shapes``."""
    h, w = net.input[:2] if source == "input" else shapes[source][:2]  # type: ignore[index]
    acts: dict[str, np.ndarray] = {source: np.eye(h * w).reshape(h, w, h * w)}
    for layer in net.layers:
        if not any(name in acts for name in layer.inputs):
            continue
        ins = [acts[name] if name in acts else np.zeros((*shapes[name][:2], h * w))  # type: ignore[index]
               for name in layer.inputs]
        if layer.op in ("conv", "maxpool", "avgpool"):
            ceil = layer.op != "conv" and layer.ceil_mode
            out = _window(ins[0], layer, _pads(layer, ins[0].shape), ceil)
        elif layer.op == "deconv":
            out = _transposed(ins[0], layer, _pads(layer, ins[0].shape))
        elif layer.op in ("add", "sub", "mul", "div", "concat"):
            out = _merge(ins)
        elif layer.op == "pad":
            t, b, left, r = layer.padding
            out = np.pad(ins[0], ((t, b), (left, r), (0, 0)))
        elif layer.op == "upsample":
            out = _upsample(ins[0], layer)
        elif layer.op in ("globalavgpool", "globalmaxpool", "flatten"):
            out = ins[0].sum(axis=(0, 1), keepdims=True)
        elif layer.op == "dense":
            assert ins[0].shape[:2] == (1, 1), "dense reads a 1x1 input"
            out = ins[0]
        else:  # pointwise: relu, identity, sigmoid, batchnorm, ...
            out = ins[0]
        # Keep magnitudes bounded: only the support matters.
        acts[layer.name] = (out > 0).astype(np.float64)
    return {name: a > 0 for name, a in acts.items()}


Box = tuple[tuple[int, int], tuple[int, int]]


def dependency_box(dep: np.ndarray, y: int, x: int, width: int) -> Box | None:
    """Bounding box ((r0, r1), (c0, c1)) of the input pixels unit (y, x) depends on."""
    pixels = np.flatnonzero(dep[y, x])
    if pixels.size == 0:
        return None
    rows, cols = pixels // width, pixels % width
    return (int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max()))


# --------------------------------------------------------------------------- every path


def _size(layer, n: int, before: int, after: int, axis: int) -> int:  # type: ignore[no-untyped-def]
    """Output units along one axis (PyTorch's formulas, written out again)."""
    k, s, d = layer.kernel[axis], layer.stride[axis], layer.dilation[axis]
    if layer.op == "pad":
        return n + before + after
    if layer.op == "upsample":
        return n * layer.factor[axis]
    if layer.op == "deconv":
        return (n - 1) * s - before - after + d * (k - 1) + 1 + layer.output_padding[axis]
    extent = n + before + after - d * (k - 1) - 1
    if layer.op != "conv" and layer.ceil_mode:
        out = -(-extent // s) + 1
        return out - 1 if (out - 1) * s >= n + before else out
    return extent // s + 1


PathBoxes = list[tuple[Fraction, Fraction, Fraction]]  # (jump, lo, hi) of every path


def every_path(net: Network, source: str = "input") -> dict[str, tuple[PathBoxes, PathBoxes]]:
    """node -> per axis, (j, lo, hi) of each path from ``source``, one entry per path (so
    exponentially many): along that path unit x sees coordinates [lo + x j, hi + x j] of
    ``source``.  Nodes ``source`` does not feed are left out.

    A conv or pool's unit x reads units [x s - p, x s - p + d (k - 1)] of its input; a
    transposed convolution's unit x reads the input positions u with u s + i d - p = x for
    some tap i, i.e. [(x + p - d (k - 1)) / s, (x + p) / s]; an upsampling by f likewise, with
    the taps t = x - u f whose weight is not zero (nearest: 0 <= t < f; linear:
    |(x + 1/2) / f - 1/2 - u| < 1); pad's unit x reads unit x - p; the one unit of a global
    pool or flatten reads every unit of its input; a merge reads unit x of each input, or unit 0
    of an input of one unit along an axis where the merge has more (broadcasting, jump 0);
    other layers read unit x."""
    sizes: dict[str, tuple[int, int]] = {"input": (net.input[0], net.input[1])}
    pads = {}
    for layer in net.layers:
        src = sizes[layer.inputs[0]]
        if layer.op in ("conv", "deconv", "maxpool", "avgpool", "pad", "upsample"):
            pads[layer.name] = _pads(layer, src)
            sizes[layer.name] = tuple(  # type: ignore[assignment]
                _size(layer, src[a], pads[layer.name][2 * a], pads[layer.name][2 * a + 1], a)
                for a in range(2))
        elif layer.op in ("globalavgpool", "globalmaxpool", "flatten"):
            sizes[layer.name] = (1, 1)
        elif layer.op in ("add", "sub", "mul", "div"):
            sizes[layer.name] = tuple(  # type: ignore[assignment]
                max(sizes[i][a] for i in layer.inputs) for a in range(2))
        else:
            sizes[layer.name] = src
    one = Fraction(1), Fraction(0), Fraction(0)
    paths: dict[str, tuple[PathBoxes, PathBoxes]] = {source: ([one], [one])}
    for layer in net.layers:
        fed = [name for name in layer.inputs if name in paths]
        if not fed or layer.name == source:
            continue
        if layer.op in ("conv", "deconv", "maxpool", "avgpool", "pad", "upsample",
                        "globalavgpool", "globalmaxpool", "flatten"):
            out = []
            for axis in range(2):
                if layer.op in ("globalavgpool", "globalmaxpool", "flatten"):
                    n = sizes[layer.inputs[0]][axis]
                    a, first, last = Fraction(1), Fraction(0), Fraction(n - 1)
                elif layer.op == "pad":
                    p = pads[layer.name][2 * axis]
                    a, first, last = Fraction(1), Fraction(-p), Fraction(-p)
                elif layer.op == "upsample":
                    f = layer.factor[axis]
                    taps = _upsample_taps(f, layer.mode)
                    a, first, last = Fraction(1, f), Fraction(-max(taps), f), Fraction(-min(taps), f)
                elif layer.op == "deconv":  # read input positions a x + b, a = 1/s
                    k, s, d = layer.kernel[axis], layer.stride[axis], layer.dilation[axis]
                    p, span = pads[layer.name][2 * axis], d * (k - 1)
                    a, first, last = Fraction(1, s), Fraction(p - span, s), Fraction(p, s)
                else:
                    k, s, d = layer.kernel[axis], layer.stride[axis], layer.dilation[axis]
                    p, span = pads[layer.name][2 * axis], d * (k - 1)
                    a, first, last = Fraction(s), Fraction(-p), Fraction(span - p)
                out.append([(j * a, lo + j * first, hi + j * last)
                            for j, lo, hi in paths[fed[0]][axis]])
            paths[layer.name] = (out[0], out[1])
        else:
            both = []
            for axis in range(2):
                boxes = []
                for name in fed:
                    spread = sizes[name][axis] == 1 and sizes[layer.name][axis] > 1
                    boxes += [(Fraction(0), lo, hi) if spread else (j, lo, hi)
                              for j, lo, hi in paths[name][axis]]
                both.append(boxes)
            paths[layer.name] = (both[0], both[1])
    return paths


def _upsample_taps(f: int, mode: str) -> list[int]:
    """The offsets t = x - u f at which output unit x of an upsampling by f reads source unit u
    with a non-zero weight (away from the clamped borders): nearest reads u = floor(x / f),
    0 <= t < f; half-pixel linear reads u with |(x + 1/2) / f - 1/2 - u| < 1, that is
    |2 t + 1 - f| < 2 f."""
    if mode == "nearest":
        return list(range(f))
    return [t for t in range(-2 * f, 3 * f) if abs(2 * t + 1 - f) < 2 * f]


def path_field(boxes: PathBoxes, x: int) -> tuple[Fraction, Fraction]:
    """The union over paths: [first, last] input coordinate seen by unit x."""
    return min(lo + x * j for j, lo, _ in boxes), max(hi + x * j for j, _, hi in boxes)


def path_numbers(boxes: PathBoxes, units: int) -> dict[str, object]:
    """What a table reports for one axis, from every path: the largest jump, the start and
    centre of unit 0's field, the largest field size of the first and last unit, and whether
    all paths share one jump and one centre."""
    lo, hi = path_field(boxes, 0)
    last = path_field(boxes, units - 1)
    return {"jump": max(j for j, _, _ in boxes), "start": lo, "center": (lo + hi) / 2,
            "rf": max(hi - lo + 1, last[1] - last[0] + 1),
            "aligned": len({j for j, _, _ in boxes}) == 1 and len({lo + hi for _, lo, hi in boxes}) == 1}


# --------------------------------------------------------------------------- exploding paths


def primes(count: int) -> list[int]:
    found: list[int] = []
    k = 2
    while len(found) < count:
        if all(k % p for p in found if p * p <= k):
            found.append(k)
        k += 1
    return found


def diamond_network(strides: Sequence[int], *, size: int = 1, kernel: int = 1,
                    up: Collection[int] = (), layers: int | None = None) -> Network:
    """A chain of diamonds on a size×size×1 input: ``bN`` reads ``aN-1`` with stride
    ``strides[N-1]`` (a transposed convolution where N-1 is in ``up``), padded so the shape
    stays size×size, and ``aN`` adds ``bN`` and ``aN-1``; relu layers after the adds bring the
    graph to ``layers`` layers.  Every subset of the branches is a path, so with distinct
    strides there are 2^N distinct jumps.  Built directly (no spec parser, whose limit on the
    product of strides along a path it may exceed)."""
    out = [Layer("a0", "conv", filters=1, inputs=("input",))]
    relus = 0 if layers is None else layers - 1 - 2 * len(strides)
    assert relus >= 0, "too few layers for the diamonds"
    prev = "a0"
    for i, s in enumerate(strides, 1):
        span = kernel - 1
        if i - 1 in up:  # (n - 1) s - pads + span + 1 == n
            total = (size - 1) * (s - 1) + span
            op = "deconv"
        else:  # (n + pads - span - 1) // s + 1 == n
            total = (size - 1) * (s - 1) + span
            op = "conv"
        before = total * (i % 3) // 2
        pads = (before, total - before, total - before, before)
        out.append(Layer(f"b{i}", op, kernel=(kernel, kernel), stride=(s, s), padding=pads,
                         filters=1, inputs=(prev,)))
        out.append(Layer(f"a{i}", "add", inputs=(f"b{i}", prev)))
        prev = f"a{i}"
        if relus and i * relus // len(strides) > (i - 1) * relus // len(strides):
            out.append(Layer(f"r{i}", "relu", inputs=(prev,)))
            prev = f"r{i}"
    while len(out) < (layers or 0):
        out.append(Layer(f"r{len(out)}", "relu", inputs=(prev,)))
        prev = out[-1].name
    return Network((size, size, 1), tuple(out))


# --------------------------------------------------------------------------- any number of axes
# The same definitions along 1, 2 or 3 spatial axes (arrays are (*spatial, impulses)), for
# sequences and volumes; in 2-D they agree with ``dependencies`` and ``every_path`` above.


def pads_nd(layer, size: Sequence[int]) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    """(before, after) per axis, flattened: "same" and "same_lower" as TensorFlow and ONNX
    put them, "causal" all of a window's d (k - 1) before the first step."""
    if not isinstance(layer.padding, str):
        return tuple(layer.padding)
    out: list[int] = []
    for axis, n in enumerate(size):
        if layer.padding == "valid" or layer.op not in ("conv", "deconv", "maxpool", "avgpool"):
            out += [0, 0]
            continue
        k, s, d = layer.kernel[axis], layer.stride[axis], layer.dilation[axis]
        span = d * (k - 1) + 1
        if layer.padding == "causal":
            out += [span - 1, 0]
            continue
        if layer.op == "deconv":
            total = span + layer.output_padding[axis] - s
        else:
            total = max((-(-n // s) - 1) * s + span - n, 0)
        lower = layer.padding == "same_lower"
        out += [total - total // 2, total // 2] if lower else [total // 2, total - total // 2]
    return tuple(out)


def _slices(starts: Sequence[int], count: Sequence[int], step: Sequence[int]) -> tuple[slice, ...]:
    return tuple(slice(a, a + (n - 1) * s + 1, s) for a, n, s in zip(starts, count, step, strict=True))


def _window_nd(x: np.ndarray, layer, pads: Sequence[int], ceil_mode: bool) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Sum over the (dilated) window of every output unit, zero padding, any number of axes."""
    nd = x.ndim - 1
    k, s, d = layer.kernel, layer.stride, layer.dilation
    sizes = []
    for a in range(nd):
        n, lo, hi = x.shape[a], pads[2 * a], pads[2 * a + 1]
        extent = n + lo + hi - d[a] * (k[a] - 1) - 1
        out = extent // s[a] + 1
        if ceil_mode:
            out = -(-extent // s[a]) + 1
            if (out - 1) * s[a] >= n + lo:
                out -= 1
        sizes.append(out)
    big = np.zeros((*(x.shape[a] + pads[2 * a] + pads[2 * a + 1] + 2 * s[a] * d[a] * k[a]
                      for a in range(nd)), x.shape[-1]))
    big[tuple(slice(pads[2 * a], pads[2 * a] + x.shape[a]) for a in range(nd))] = x
    result = np.zeros((*sizes, x.shape[-1]))
    for taps in itertools.product(*(range(k[a]) for a in range(nd))):
        result += big[_slices([t * d[a] for a, t in enumerate(taps)], sizes, s)]
    return result


def _transposed_nd(x: np.ndarray, layer, pads: Sequence[int]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Scatter every input unit times an all-ones kernel, then crop (transposed convolution)."""
    nd = x.ndim - 1
    k, s, d = layer.kernel, layer.stride, layer.dilation
    out = [(x.shape[a] - 1) * s[a] - pads[2 * a] - pads[2 * a + 1] + d[a] * (k[a] - 1) + 1
           + layer.output_padding[a] for a in range(nd)]
    full = np.zeros((*((x.shape[a] - 1) * s[a] + d[a] * (k[a] - 1) + 1 + out[a] + pads[2 * a]
                       + pads[2 * a + 1] for a in range(nd)), x.shape[-1]))
    for taps in itertools.product(*(range(k[a]) for a in range(nd))):
        full[_slices([t * d[a] for a, t in enumerate(taps)], x.shape[:nd], s)] += x
    return full[tuple(slice(pads[2 * a], pads[2 * a] + out[a]) for a in range(nd))]


def _upsample_nd(x: np.ndarray, layer) -> np.ndarray:  # type: ignore[no-untyped-def]
    for a in range(x.ndim - 1):
        f = layer.factor[a]
        if layer.mode == "nearest":  # out[o] = in[floor(o / f)]
            x = np.repeat(x, f, axis=a)
        else:
            reads = linear_reads(x.shape[a], f).astype(np.float64)
            x = np.moveaxis(np.tensordot(reads, x, axes=([1], [a])), 0, a)
    return x


def dependencies_nd(net: Network) -> dict[str, np.ndarray]:
    """node -> bool array (*spatial, input positions): does that unit depend on that input
    position (flattened in C order)?  Any number of spatial axes."""
    size = tuple(net.input[:-1])
    nd = len(size)
    total = math.prod(size)
    acts: dict[str, np.ndarray] = {"input": np.eye(total).reshape(*size, total)}
    for layer in net.layers:
        ins = [acts[name] for name in layer.inputs]
        x = ins[0]
        if layer.op in ("conv", "maxpool", "avgpool"):
            ceil = layer.op != "conv" and layer.ceil_mode
            out = _window_nd(x, layer, pads_nd(layer, x.shape[:nd]), ceil)
        elif layer.op == "deconv":
            out = _transposed_nd(x, layer, pads_nd(layer, x.shape[:nd]))
        elif layer.op in ("add", "sub", "mul", "div", "concat"):
            shape = tuple(max(a.shape[i] for a in ins) for i in range(nd))
            out = sum((np.broadcast_to(a, (*shape, total)) for a in ins), np.zeros((*shape, total)))
        elif layer.op == "pad":
            p = layer.padding
            out = np.pad(x, [(p[2 * a], p[2 * a + 1]) for a in range(nd)] + [(0, 0)])
        elif layer.op == "upsample":
            out = _upsample_nd(x, layer)
        elif layer.op in ("globalavgpool", "globalmaxpool", "flatten"):
            out = x.sum(axis=tuple(range(nd)), keepdims=True)
        elif layer.op == "dense":
            assert all(n == 1 for n in x.shape[:nd]), "dense reads one unit"
            out = x
        else:  # pointwise
            out = x
        acts[layer.name] = (out > 0).astype(np.float64)
    return {name: a > 0 for name, a in acts.items()}


def dependency_box_nd(dep: np.ndarray, unit: Sequence[int], size: Sequence[int]
                      ) -> tuple[tuple[int, int], ...] | None:
    """Bounding box, per axis, of the input positions the unit at ``unit`` depends on."""
    flat = np.flatnonzero(dep[tuple(unit)])
    if flat.size == 0:
        return None
    coords = np.unravel_index(flat, tuple(size))
    return tuple((int(c.min()), int(c.max())) for c in coords)


def every_path_nd(net: Network) -> dict[str, tuple[PathBoxes, ...]]:
    """``every_path`` along every spatial axis of the input: node -> per axis, (j, lo, hi) of
    each path from the input."""
    nd = len(net.input) - 1
    sizes: dict[str, tuple[int, ...]] = {"input": tuple(net.input[:-1])}
    pads: dict[str, tuple[int, ...]] = {}
    for layer in net.layers:
        src = sizes[layer.inputs[0]]
        if layer.op in ("conv", "deconv", "maxpool", "avgpool", "pad", "upsample"):
            p = pads[layer.name] = pads_nd(layer, src)
            sizes[layer.name] = tuple(_size(layer, src[a], p[2 * a], p[2 * a + 1], a)
                                      for a in range(nd))
        elif layer.op in ("globalavgpool", "globalmaxpool", "flatten"):
            sizes[layer.name] = (1,) * nd
        elif layer.op in ("add", "sub", "mul", "div"):
            sizes[layer.name] = tuple(max(sizes[i][a] for i in layer.inputs) for a in range(nd))
        else:
            sizes[layer.name] = src
    one = Fraction(1), Fraction(0), Fraction(0)
    paths: dict[str, tuple[PathBoxes, ...]] = {"input": tuple([one] for _ in range(nd))}
    for layer in net.layers:
        per_axis = []
        for axis in range(nd):
            if layer.op in ("conv", "deconv", "maxpool", "avgpool", "pad", "upsample",
                            "globalavgpool", "globalmaxpool", "flatten"):
                if layer.op in ("globalavgpool", "globalmaxpool", "flatten"):
                    n = sizes[layer.inputs[0]][axis]
                    a, first, last = Fraction(1), Fraction(0), Fraction(n - 1)
                elif layer.op == "pad":
                    p = pads[layer.name][2 * axis]
                    a, first, last = Fraction(1), Fraction(-p), Fraction(-p)
                elif layer.op == "upsample":
                    f = layer.factor[axis]
                    taps = _upsample_taps(f, layer.mode)
                    a, first, last = Fraction(1, f), Fraction(-max(taps), f), Fraction(-min(taps), f)
                else:
                    k, s, d = layer.kernel[axis], layer.stride[axis], layer.dilation[axis]
                    p, span = pads[layer.name][2 * axis], d * (k - 1)
                    if layer.op == "deconv":
                        a, first, last = Fraction(1, s), Fraction(p - span, s), Fraction(p, s)
                    else:
                        a, first, last = Fraction(s), Fraction(-p), Fraction(span - p)
                per_axis.append([(j * a, lo + j * first, hi + j * last)
                                 for j, lo, hi in paths[layer.inputs[0]][axis]])
            else:
                boxes = []
                for name in layer.inputs:
                    spread = sizes[name][axis] == 1 and sizes[layer.name][axis] > 1
                    boxes += [(Fraction(0), lo, hi) if spread else (j, lo, hi)
                              for j, lo, hi in paths[name][axis]]
                per_axis.append(boxes)
        paths[layer.name] = tuple(per_axis)
    return paths
