"""Brute-force receptive fields: the impulse response of every input pixel, positive weights.

Each input pixel gets its own channel holding a unit impulse; every layer is applied with
all-ones weights (max pooling as a positive-weight average, ReLU as identity, concat as a
sum), so output unit (y, x) is non-zero in channel p exactly when input pixel p can change it.
Deliberately written from the definitions, sharing no code with rfdocs.compute.receptive.
"""

from __future__ import annotations

import numpy as np

from rfdocs.compute.spec import Network


def _pads(layer, size):  # type: ignore[no-untyped-def]
    if not isinstance(layer.padding, str):
        return layer.padding
    if layer.padding == "valid":
        return (0, 0, 0, 0)
    out = []
    for axis in range(2):
        k, s, d, n = layer.kernel[axis], layer.stride[axis], layer.dilation[axis], size[axis]
        span = d * (k - 1) + 1
        if layer.op == "deconv":
            total = span + layer.output_padding[axis] - s
        else:
            total = max((-(-n // s) - 1) * s + span - n, 0)
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
        elif layer.op in ("add", "concat"):
            out = sum(ins[1:], ins[0])
        else:
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
