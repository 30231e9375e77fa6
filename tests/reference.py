"""Plain loop-based reference ops, written straight from the definitions (no vectorisation tricks).

Deliberately slow and obvious: one output (or input) pixel at a time, one kernel tap at a time,
bounds checked by hand.  Shares no code with ``rfdocs.compute.conv``.  Arrays are (H, W, C).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

Arr = np.ndarray[Any, Any]


def out_size(n: int, k: int, s: int, d: int, before: int, after: int, ceil_mode: bool) -> int:
    """PyTorch's output-size rule, written out as its docs give it."""
    span = d * (k - 1) + 1
    q = (n + before + after - span) / s
    out = (math.ceil(q) if ceil_mode else math.floor(q)) + 1
    if ceil_mode and (out - 1) * s >= n + before:
        out -= 1
    return out


def conv2d(x: Arr, w: Arr, bias: Arr | None, stride: tuple[int, int],
           pads: tuple[int, int, int, int], dilation: tuple[int, int], groups: int) -> Arr:
    """y[oy, ox, o] = b[o] + sum over taps (i, j) and the group's channels of x * w."""
    h, wd, cin = x.shape
    kh, kw, cg, cout = w.shape
    og = cout // groups
    ho = out_size(h, kh, stride[0], dilation[0], pads[0], pads[1], False)
    wo = out_size(wd, kw, stride[1], dilation[1], pads[2], pads[3], False)
    y = np.zeros((ho, wo, cout))
    for oy in range(ho):
        for ox in range(wo):
            for o in range(cout):
                g = o // og
                total = 0.0 if bias is None else float(bias[o])
                for i in range(kh):
                    iy = oy * stride[0] - pads[0] + i * dilation[0]
                    if iy < 0 or iy >= h:
                        continue
                    for j in range(kw):
                        ix = ox * stride[1] - pads[2] + j * dilation[1]
                        if ix < 0 or ix >= wd:
                            continue
                        for c in range(cg):
                            total += x[iy, ix, g * cg + c] * w[i, j, c, o]
                y[oy, ox, o] = total
    return y


def conv_transpose2d(x: Arr, w: Arr, bias: Arr | None, stride: tuple[int, int],
                     pads: tuple[int, int, int, int], dilation: tuple[int, int],
                     output_padding: tuple[int, int], groups: int) -> Arr:
    """Scatter form: input pixel (iy, ix) adds x * w[i, j] to output (iy s + i d - pt, ...)."""
    h, wd, cin = x.shape
    kh, kw, _, og = w.shape
    cg = cin // groups
    cout = og * groups
    ho = (h - 1) * stride[0] - pads[0] - pads[1] + dilation[0] * (kh - 1) + 1 + output_padding[0]
    wo = (wd - 1) * stride[1] - pads[2] - pads[3] + dilation[1] * (kw - 1) + 1 + output_padding[1]
    y = np.zeros((ho, wo, cout))
    for iy in range(h):
        for ix in range(wd):
            for c in range(cin):
                g = c // cg
                for i in range(kh):
                    oy = iy * stride[0] - pads[0] + i * dilation[0]
                    if oy < 0 or oy >= ho:
                        continue
                    for j in range(kw):
                        ox = ix * stride[1] - pads[2] + j * dilation[1]
                        if ox < 0 or ox >= wo:
                            continue
                        for o in range(og):
                            y[oy, ox, g * og + o] += x[iy, ix, c] * w[i, j, c, o]
    if bias is not None:
        for o in range(cout):
            y[:, :, o] += bias[o]
    return y


def _windows(x: Arr, kernel: tuple[int, int], stride: tuple[int, int],
             pads: tuple[int, int, int, int], dilation: tuple[int, int],
             ceil_mode: bool) -> tuple[int, int, list[list[list[tuple[int, int, bool]]]]]:
    """For every output pixel, its taps as (padded row, padded col, inside the input)."""
    h, wd, _ = x.shape
    ho = out_size(h, kernel[0], stride[0], dilation[0], pads[0], pads[1], ceil_mode)
    wo = out_size(wd, kernel[1], stride[1], dilation[1], pads[2], pads[3], ceil_mode)
    table = []
    for oy in range(ho):
        row = []
        for ox in range(wo):
            taps = []
            for i in range(kernel[0]):
                for j in range(kernel[1]):
                    py = oy * stride[0] + i * dilation[0]
                    px = ox * stride[1] + j * dilation[1]
                    inside = pads[0] <= py < pads[0] + h and pads[2] <= px < pads[2] + wd
                    taps.append((py, px, inside))
            row.append(taps)
        table.append(row)
    return ho, wo, table


def max_pool2d(x: Arr, kernel: tuple[int, int], stride: tuple[int, int],
               pads: tuple[int, int, int, int], dilation: tuple[int, int],
               ceil_mode: bool) -> Arr:
    """Max over the window's taps that fall inside the input (-inf if none); a NaN wins."""
    ho, wo, table = _windows(x, kernel, stride, pads, dilation, ceil_mode)
    c = x.shape[2]
    y = np.full((ho, wo, c), -np.inf)
    for oy in range(ho):
        for ox in range(wo):
            for ch in range(c):
                for py, px, inside in table[oy][ox]:
                    value = x[py - pads[0], px - pads[2], ch] if inside else -math.inf
                    if math.isnan(value) or value > y[oy, ox, ch]:
                        y[oy, ox, ch] = value
    return y


def avg_pool2d(x: Arr, kernel: tuple[int, int], stride: tuple[int, int],
               pads: tuple[int, int, int, int], dilation: tuple[int, int],
               ceil_mode: bool, count_include_pad: bool) -> Arr:
    """Sum of the taps inside the input over the number of taps inside the input plus pads
    (``count_include_pad``) or inside the input only; 0 where nothing counts."""
    h, wd, c = x.shape
    ho, wo, table = _windows(x, kernel, stride, pads, dilation, ceil_mode)
    y = np.zeros((ho, wo, c))
    for oy in range(ho):
        for ox in range(wo):
            count = 0
            for py, px, inside in table[oy][ox]:
                in_padded = py < h + pads[0] + pads[1] and px < wd + pads[2] + pads[3]
                if inside or (count_include_pad and in_padded):
                    count += 1
            for ch in range(c):
                total = 0.0
                for py, px, inside in table[oy][ox]:
                    if inside:
                        total += x[py - pads[0], px - pads[2], ch]
                y[oy, ox, ch] = total / count if count else 0.0
    return y


# --------------------------------------------------------------------------- any dimension


def conv_nd(x: Arr, w: Arr, stride: tuple[int, ...], pads: tuple[int, ...],
            dilation: tuple[int, ...], groups: int) -> Arr:
    """``conv2d`` in any number of spatial axes: x (*spatial, Cin), w (*kernel, Cin/G, Cout),
    pads (before, after) per axis; one output position and one tap at a time."""
    ndim = x.ndim - 1
    spatial, kernel = x.shape[:-1], w.shape[:ndim]
    cg, cout = w.shape[ndim], w.shape[ndim + 1]
    og = cout // groups
    out = tuple(out_size(spatial[a], kernel[a], stride[a], dilation[a], pads[2 * a],
                         pads[2 * a + 1], False) for a in range(ndim))
    y = np.zeros((*out, cout))
    for o_pos in itertools.product(*(range(n) for n in out)):
        for tap in itertools.product(*(range(k) for k in kernel)):
            src = tuple(o_pos[a] * stride[a] - pads[2 * a] + tap[a] * dilation[a]
                        for a in range(ndim))
            if not all(0 <= src[a] < spatial[a] for a in range(ndim)):
                continue
            for o in range(cout):
                g = o // og
                for c in range(cg):
                    y[(*o_pos, o)] += x[(*src, g * cg + c)] * w[(*tap, c, o)]
    return y


def conv_transpose_nd(x: Arr, w: Arr, stride: tuple[int, ...], pads: tuple[int, ...],
                      dilation: tuple[int, ...], output_padding: tuple[int, ...],
                      groups: int) -> Arr:
    """``conv_transpose2d``'s scatter form in any number of spatial axes: w (*kernel, Cin,
    Cout/G)."""
    ndim = x.ndim - 1
    spatial, kernel = x.shape[:-1], w.shape[:ndim]
    cin, og = x.shape[-1], w.shape[-1]
    cg = cin // groups
    out = tuple((spatial[a] - 1) * stride[a] - pads[2 * a] - pads[2 * a + 1]
                + dilation[a] * (kernel[a] - 1) + 1 + output_padding[a] for a in range(ndim))
    y = np.zeros((*out, og * groups))
    for i_pos in itertools.product(*(range(n) for n in spatial)):
        for tap in itertools.product(*(range(k) for k in kernel)):
            dst = tuple(i_pos[a] * stride[a] - pads[2 * a] + tap[a] * dilation[a]
                        for a in range(ndim))
            if not all(0 <= dst[a] < out[a] for a in range(ndim)):
                continue
            for c in range(cin):
                g = c // cg
                for o in range(og):
                    y[(*dst, g * og + o)] += x[(*i_pos, c)] * w[(*tap, c, o)]
    return y


def pool_nd(x: Arr, kernel: tuple[int, ...], stride: tuple[int, ...], pads: tuple[int, ...],
            dilation: tuple[int, ...], ceil_mode: bool, kind: str,
            count_include_pad: bool = True) -> Arr:
    """Max (``kind`` "max": over taps inside the input) or average pooling in any number of
    spatial axes, the divisor as ``avg_pool2d``'s."""
    ndim = x.ndim - 1
    spatial = x.shape[:-1]
    out = tuple(out_size(spatial[a], kernel[a], stride[a], dilation[a], pads[2 * a],
                         pads[2 * a + 1], ceil_mode) for a in range(ndim))
    y = np.zeros((*out, x.shape[-1]))
    for o_pos in itertools.product(*(range(n) for n in out)):
        values = []
        count = 0
        for tap in itertools.product(*(range(k) for k in kernel)):
            padded = tuple(o_pos[a] * stride[a] + tap[a] * dilation[a] for a in range(ndim))
            src = tuple(padded[a] - pads[2 * a] for a in range(ndim))
            inside = all(0 <= src[a] < spatial[a] for a in range(ndim))
            in_pads = all(padded[a] < spatial[a] + pads[2 * a] + pads[2 * a + 1]
                          for a in range(ndim))
            if inside:
                values.append(x[src])
            if inside or (count_include_pad and in_pads):
                count += 1
        if kind == "max":
            y[o_pos] = np.max(values, axis=0) if values else -np.inf
        else:
            y[o_pos] = np.sum(values, axis=0) / count if count else 0.0
    return y
