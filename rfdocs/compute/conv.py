"""Convolution, transposed convolution and pooling on HWC (or NHWC) float arrays, numpy only.

Every op is vectorised over pixels, channels and the batch; the only Python loops run over
the kernel taps (``conv2d`` uses one im2col matrix product instead while it fits in memory).
Geometry follows the deep-learning frameworks (PyTorch semantics, with
separate top/bottom and left/right pads): along one axis, with input size ``n``, kernel
``k``, stride ``s``, dilation ``d`` and pads ``p0``/``p1``, output unit ``o`` reads the padded
input at ``o s + i d`` for taps ``i = 0 .. k-1``.

Weights use the channels-last layouts ``(kh, kw, Cin // groups, Cout)`` for convolutions and
``(kh, kw, Cin, Cout // groups)`` for transposed convolutions, so ``conv_transpose2d`` with
``w.transpose(0, 1, 3, 2)`` is the exact adjoint of ``conv2d`` with ``w``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating[Any]]
Pair = tuple[int, int]
Pads = tuple[int, int, int, int]

#: Default ceiling on the memory one call may allocate.
DEFAULT_MAX_BYTES = 1 << 30


# --------------------------------------------------------------------------- sizes


def conv_size(n: int, k: int, s: int, d: int, before: int, after: int) -> int:
    """Output units along one axis of a convolution: ``(n + p0 + p1 - d(k-1) - 1) // s + 1``."""
    extent = n + before + after - (d * (k - 1) + 1)
    return extent // s + 1 if extent >= 0 else 0


def pool_size(n: int, k: int, s: int, d: int, before: int, after: int, ceil_mode: bool) -> int:
    """Output units along one axis of a pooling layer; with ``ceil_mode`` the last window may hang
    over the end, but must start inside the input or the leading pad (as in PyTorch)."""
    extent = n + before + after - (d * (k - 1) + 1)
    if extent < 0:
        return 0
    if not ceil_mode:
        return extent // s + 1
    out = -(-extent // s) + 1
    if (out - 1) * s >= n + before:
        out -= 1
    return out


def empty_window(n: int, k: int, s: int, d: int, before: int, out: int) -> int | None:
    """The first output unit (along one axis) whose taps ``o s + i d`` all fall in the padding,
    or None: such a max-pool window has no input value to take the maximum of (ONNX Runtime
    gives the lowest float there, PyTorch refuses pads over half the kernel)."""
    o = np.arange(out, dtype=np.int64)
    first = np.maximum(-(-(before - o * s) // d), 0)  # first tap at or after the input start
    empty = (first >= k) | (o * s + first * d >= before + n)
    hits = np.flatnonzero(empty)
    return int(hits[0]) if hits.size else None


def conv_transpose_size(n: int, k: int, s: int, d: int, before: int, after: int,
                        output_padding: int) -> int:
    """Output units along one axis of a transposed convolution:
    ``(n - 1) s - p0 - p1 + d (k - 1) + 1 + output_padding``."""
    return (n - 1) * s - before - after + d * (k - 1) + 1 + output_padding


# --------------------------------------------------------------------------- helpers


def _pair(value: Any, name: str, minimum: int) -> Pair:
    if isinstance(value, int | np.integer):
        value = (value, value)
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer or a pair of integers, got {value!r}") from None
    if a < minimum or b < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    return (a, b)


def _pads(value: Any) -> Pads:
    try:
        t, b, left, r = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"pads must be (top, bottom, left, right) integers, got {value!r}") from None
    if min(t, b, left, r) < 0:
        raise ValueError(f"pads must not be negative, got {value!r}")
    return (t, b, left, r)


def _batched(x: npt.ArrayLike, what: str) -> tuple[Array, bool]:
    """x as (N, H, W, C) floats, and whether it came without the batch axis."""
    arr = np.asarray(x)
    if arr.ndim not in (3, 4):
        raise ValueError(f"{what} expects an (H, W, C) or (N, H, W, C) array, "
                         f"got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return (arr[None] if arr.ndim == 3 else arr), arr.ndim == 3


def _unbatch(x: Array, squeeze: bool) -> Array:
    return x[0] if squeeze else x


def _check_bytes(what: str, nbytes: int, max_bytes: int) -> None:
    if nbytes > max_bytes:
        raise ValueError(f"{what} would allocate about {nbytes / 2**20:.1f} MiB, more than "
                         f"the limit of {max_bytes / 2**20:.1f} MiB (max_bytes); use a smaller "
                         "input or fewer channels")


def _tap(i: int, d: int, out: int, s: int) -> slice:
    """Positions ``o s + i d`` for ``o = 0 .. out-1`` in padded coordinates."""
    return slice(i * d, i * d + (out - 1) * s + 1, s)


def _grouped_matmul(x: Array, w: Array, groups: int) -> Array:
    """(..., G*ci) times (ci, G*co) block by block: output block g is ``x[g] @ w[:, g]``."""
    ci = w.shape[0]
    co = w.shape[1] // groups
    lead = x.shape[:-1]
    if ci == 1:  # depthwise or single channel: a broadcast product
        prod = x.reshape(*lead, groups, 1) * w.reshape(groups, co)
        return prod.reshape(*lead, groups * co)
    if groups == 1:
        return (x.reshape(-1, ci) @ w).reshape(*lead, co)
    xg = x.reshape(-1, groups, ci).transpose(1, 0, 2)
    wg = w.reshape(ci, groups, co).transpose(1, 0, 2)
    return (xg @ wg).transpose(1, 0, 2).reshape(*lead, groups * co)


def _float_dtype(*arrays: npt.NDArray[Any]) -> np.dtype[Any]:
    return np.result_type(*(a.dtype for a in arrays), np.float32)


#: Largest column matrix (plus its product) that ``conv2d`` builds for one matrix product;
#: above it (or above ``max_bytes``) it falls back to one small product per kernel tap.
IM2COL_MAX_BYTES = 1 << 28

#: (H', W', sh, sw, dh, dw): output size, stride and dilation of one correlation.
Geometry = tuple[int, int, int, int, int, int]


def _windows(xp: Array, kh: int, kw: int, geometry: Geometry) -> Array:
    """Read-only view (N, H', W', C, kh, kw) of the padded input: ``x_pad[o s + i d, c]``."""
    ho, wo, sh, sw, dh, dw = geometry
    view = np.lib.stride_tricks.sliding_window_view(
        xp, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(1, 2))
    return view[:, :(ho - 1) * sh + 1:sh, :(wo - 1) * sw + 1:sw, :, ::dh, ::dw]


def _correlate_im2col(xp: Array, w: Array, geometry: Geometry, groups: int) -> Array:
    """All windows of a group as rows of one (N H' W', kh kw Cin/G) matrix, times the
    (kh kw Cin/G, Cout/G) weight: one matrix product per group."""
    kh, kw, ci, cout = w.shape
    n = xp.shape[0]
    ho, wo = geometry[:2]
    co = cout // groups
    win = _windows(xp, kh, kw, geometry).reshape(n, ho, wo, groups, ci, kh, kw)
    cols = np.ascontiguousarray(win.transpose(3, 0, 1, 2, 5, 6, 4))  # (G, N, H', W', kh, kw, ci)
    cols = cols.reshape(groups, n * ho * wo, kh * kw * ci)
    wg = w.reshape(kh, kw, ci, groups, co).transpose(3, 0, 1, 2, 4).reshape(groups, -1, co)
    if groups == 1:
        flat: Array = cols[0] @ wg[0]
        return flat.reshape(n, ho, wo, cout)
    prod = np.matmul(cols, wg)  # (G, N H' W', Cout/G)
    return np.ascontiguousarray(prod.transpose(1, 0, 2)).reshape(n, ho, wo, cout)


def _correlate_depthwise(xp: Array, w: Array, geometry: Geometry, groups: int) -> Array:
    """One input channel per group: a broadcast multiply-add per tap, in place."""
    kh, kw, _, cout = w.shape
    ho, wo, sh, sw, dh, dw = geometry
    co = cout // groups
    shape = (xp.shape[0], ho, wo, groups, co)
    out = np.zeros(shape, w.dtype)
    tmp = np.empty(shape, w.dtype)
    wg = w.reshape(kh, kw, groups, co)
    for i in range(kh):
        rows = _tap(i, dh, ho, sh)
        for j in range(kw):
            np.multiply(xp[:, rows, _tap(j, dw, wo, sw), :, None], wg[i, j], out=tmp)
            out += tmp
    return out.reshape(*shape[:3], cout)


def _correlate_taps(xp: Array, w: Array, geometry: Geometry, groups: int) -> Array:
    """One (grouped) matrix product per kernel tap: little memory, slower for few channels."""
    kh, kw, _, cout = w.shape
    ho, wo, sh, sw, dh, dw = geometry
    out = np.zeros((xp.shape[0], ho, wo, cout), w.dtype)
    for i in range(kh):
        rows = _tap(i, dh, ho, sh)
        for j in range(kw):
            out += _grouped_matmul(xp[:, rows, _tap(j, dw, wo, sw)], w[i, j], groups)
    return out


# --------------------------------------------------------------------------- convolutions


def conv2d(
    x: npt.ArrayLike,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    *,
    stride: Pair = (1, 1),
    pads: Pads = (0, 0, 0, 0),
    dilation: Pair = (1, 1),
    groups: int = 1,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Array:
    """Cross-correlation ``y[o] = sum_{i, c} x_pad[o s + i d, c] w[i, c, o] + b[o]``.

    ``x`` is (H, W, Cin) or (N, H, W, Cin), ``weight`` is (kh, kw, Cin // groups, Cout); the
    result is (H', W', Cout), with the batch axis when ``x`` has one.
    """
    xb, squeeze = _batched(x, "conv2d")
    w = np.asarray(weight)
    sh, sw = _pair(stride, "stride", 1)
    dh, dw = _pair(dilation, "dilation", 1)
    pt, pb, pl, pr = _pads(pads)
    if w.ndim != 4:
        raise ValueError(f"conv2d weight must be (kh, kw, Cin // groups, Cout), got {w.shape}")
    kh, kw, ci, cout = w.shape
    n, h, wid, cin = xb.shape
    if groups < 1 or cin % groups or cout % groups or cin // groups != ci:
        raise ValueError(f"conv2d: input has {cin} channels and weight {w.shape} with groups="
                         f"{groups}; need Cin == groups * weight.shape[2] and Cout divisible "
                         "by groups")
    ho = conv_size(h, kh, sh, dh, pt, pb)
    wo = conv_size(wid, kw, sw, dw, pl, pr)
    if ho < 1 or wo < 1:
        raise ValueError(f"conv2d: a {kh}x{kw} kernel with dilation {(dh, dw)} does not fit the "
                         f"{h}x{wid} input with pads {(pt, pb, pl, pr)}")
    dtype = _float_dtype(xb, w)
    item = dtype.itemsize
    nbytes = item * (n * (h + pt + pb) * (wid + pl + pr) * cin + n * ho * wo * (2 * cout + 2 * cin))
    _check_bytes("conv2d", nbytes, max_bytes)
    xp = xb.astype(dtype, copy=False)
    if pt or pb or pl or pr:
        xp = np.pad(xp, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    w = w.astype(dtype, copy=False)
    geometry = (ho, wo, sh, sw, dh, dw)
    column_bytes = item * n * ho * wo * (kh * kw * cin + cout)
    if kh == kw == 1 and (ci > 1 or groups == 1):  # a pointwise conv: no columns to build
        out = _grouped_matmul(xp[:, :(ho - 1) * sh + 1:sh, :(wo - 1) * sw + 1:sw], w[0, 0],
                              groups)
    elif ci == 1 and groups > 1:
        out = _correlate_depthwise(xp, w, geometry, groups)
    elif column_bytes <= IM2COL_MAX_BYTES and nbytes + column_bytes <= max_bytes:
        out = _correlate_im2col(xp, w, geometry, groups)
    else:
        out = _correlate_taps(xp, w, geometry, groups)
    if bias is not None:
        out += np.asarray(bias, dtype).reshape(cout)
    return _unbatch(out, squeeze)


def conv_transpose2d(
    x: npt.ArrayLike,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    *,
    stride: Pair = (1, 1),
    pads: Pads = (0, 0, 0, 0),
    dilation: Pair = (1, 1),
    output_padding: Pair = (0, 0),
    groups: int = 1,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Array:
    """Transposed convolution: input unit ``u`` adds ``x[u, c] w[i, c, o]`` to output
    ``u s + i d - p0``; output size ``(n-1) s - p0 - p1 + d (k-1) + 1 + output_padding``.

    ``x`` is (H, W, Cin) or (N, H, W, Cin), ``weight`` is (kh, kw, Cin, Cout // groups).  The
    extra ``output_padding`` rows and columns go at the bottom and right (PyTorch semantics);
    any ``output_padding >= 0`` is accepted, so this is also the adjoint of every ``conv2d``.
    """
    xb, squeeze = _batched(x, "conv_transpose2d")
    w = np.asarray(weight)
    sh, sw = _pair(stride, "stride", 1)
    dh, dw = _pair(dilation, "dilation", 1)
    oph, opw = _pair(output_padding, "output_padding", 0)
    pt, pb, pl, pr = _pads(pads)
    if w.ndim != 4:
        raise ValueError("conv_transpose2d weight must be (kh, kw, Cin, Cout // groups), "
                         f"got {w.shape}")
    kh, kw, cin_w, co = w.shape
    n, h, wid, cin = xb.shape
    if groups < 1 or cin % groups or cin != cin_w:
        raise ValueError(f"conv_transpose2d: input has {cin} channels and weight {w.shape} with "
                         f"groups={groups}; need Cin == weight.shape[2], divisible by groups")
    ho = conv_transpose_size(h, kh, sh, dh, pt, pb, oph)
    wo = conv_transpose_size(wid, kw, sw, dw, pl, pr, opw)
    if ho < 1 or wo < 1:
        raise ValueError(f"conv_transpose2d: pads {(pt, pb, pl, pr)} crop away the whole "
                         f"output of a {h}x{wid} input")
    full_h = ho + pt + pb
    full_w = wo + pl + pr
    cout = co * groups
    dtype = _float_dtype(xb, w)
    _check_bytes("conv_transpose2d", dtype.itemsize * n * (full_h * full_w * cout
                                                          + 2 * h * wid * (cin + cout)),
                 max_bytes)
    xs = xb.astype(dtype, copy=False)
    # (Cin, Cout/G) blocks -> the (Cin/G, G*Cout/G) layout of _grouped_matmul
    wc = w.astype(dtype, copy=False).reshape(kh, kw, groups, cin // groups, co)
    wc = wc.transpose(0, 1, 3, 2, 4).reshape(kh, kw, cin // groups, cout)
    full = np.zeros((n, full_h, full_w, cout), dtype)
    for i in range(kh):
        rows = _tap(i, dh, h, sh)
        for j in range(kw):
            full[:, rows, _tap(j, dw, wid, sw)] += _grouped_matmul(xs, wc[i, j], groups)
    out = full[:, pt:pt + ho, pl:pl + wo]
    if bias is not None:
        out = out + np.asarray(bias, dtype).reshape(cout)
    return _unbatch(np.ascontiguousarray(out), squeeze)


# --------------------------------------------------------------------------- pooling


class _PoolGeometry:
    """Sizes of one pooling call: output size and the padded extent the windows read."""

    def __init__(self, xb: Array, kernel: Any, stride: Any, pads: Any, dilation: Any,
                 ceil_mode: bool, what: str) -> None:
        self.kernel = _pair(kernel, "kernel", 1)
        self.stride = _pair(stride, "stride", 1)
        self.dilation = _pair(dilation, "dilation", 1)
        self.pads = _pads(pads)
        _, h, w, _ = xb.shape
        self.size = (h, w)
        out = [pool_size(n, self.kernel[a], self.stride[a], self.dilation[a],
                         self.pads[2 * a], self.pads[2 * a + 1], ceil_mode)
               for a, n in enumerate((h, w))]
        if out[0] < 1 or out[1] < 1:
            raise ValueError(f"{what}: a {self.kernel[0]}x{self.kernel[1]} window with dilation "
                             f"{self.dilation} does not fit the {h}x{w} input with pads "
                             f"{self.pads}")
        self.out = (out[0], out[1])
        # padded length: the input with its pads, or further where ceil_mode windows hang over
        self.padded = tuple(
            max(n + self.pads[2 * a] + self.pads[2 * a + 1],
                (self.out[a] - 1) * self.stride[a] + self.dilation[a] * (self.kernel[a] - 1) + 1)
            for a, n in enumerate((h, w)))

    def pad(self, xb: Array, value: float) -> Array:
        pt, _, pl, _ = self.pads
        h, w = self.size
        widths = ((0, 0), (pt, self.padded[0] - h - pt), (pl, self.padded[1] - w - pl), (0, 0))
        return np.pad(xb, widths, constant_values=value)

    def crop(self, xp: Array) -> Array:
        pt, _, pl, _ = self.pads
        return xp[:, pt:pt + self.size[0], pl:pl + self.size[1]]

    def refuse_empty(self, what: str) -> None:
        """Refuse a max pool with a window lying wholly in the padding (see ``empty_window``)."""
        for a, axis in enumerate(("row", "column")):
            o = empty_window(self.size[a], self.kernel[a], self.stride[a], self.dilation[a],
                             self.pads[2 * a], self.out[a])
            if o is not None:
                raise ValueError(
                    f"{what}: the window of output {axis} {o} lies wholly in the padding, so it "
                    f"has no input value to take the maximum of (pads {self.pads}, kernel "
                    f"{self.kernel}, stride {self.stride}, dilation {self.dilation}, on a "
                    f"{self.size[0]}x{self.size[1]} input); use less padding (ONNX and PyTorch "
                    "refuse such pools too)")

    def taps(self) -> list[tuple[slice, slice]]:
        return [(_tap(i, self.dilation[0], self.out[0], self.stride[0]),
                 _tap(j, self.dilation[1], self.out[1], self.stride[1]))
                for i in range(self.kernel[0]) for j in range(self.kernel[1])]

    def counts(self, count_include_pad: bool) -> npt.NDArray[np.int64]:
        """(H', W') number of taps of each window that the average divides by."""
        per_axis = []
        for a in range(2):
            before, after, n = self.pads[2 * a], self.pads[2 * a + 1], self.size[a]
            lo, hi = (0, n + before + after) if count_include_pad else (before, before + n)
            pos = (np.arange(self.out[a])[:, None] * self.stride[a]
                   + np.arange(self.kernel[a])[None, :] * self.dilation[a])
            per_axis.append(((pos >= lo) & (pos < hi)).sum(axis=1))
        return np.asarray(per_axis[0][:, None] * per_axis[1][None, :], np.int64)

    def nbytes(self, xb: Array) -> int:
        n, _, _, c = xb.shape
        return int(xb.dtype.itemsize * n * c * (self.padded[0] * self.padded[1]
                                                + 3 * self.out[0] * self.out[1]))


def max_pool2d(
    x: npt.ArrayLike,
    kernel: Pair,
    *,
    stride: Pair,
    pads: Pads,
    dilation: Pair = (1, 1),
    ceil_mode: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Array:
    """Max over each window ``x_pad[o s + i d]``; padding never wins (it is -inf); NaN
    propagates (as in PyTorch).  A window lying wholly in the padding is refused
    (``ValueError``): there is no input value to take the maximum of."""
    xb, squeeze = _batched(x, "max_pool2d")
    geo = _PoolGeometry(xb, kernel, stride, pads, dilation, ceil_mode, "max_pool2d")
    geo.refuse_empty("max_pool2d")
    _check_bytes("max_pool2d", geo.nbytes(xb), max_bytes)
    xp = geo.pad(xb, -np.inf)
    out = np.full((xb.shape[0], *geo.out, xb.shape[3]), -np.inf, xb.dtype)
    for rows, cols in geo.taps():
        np.maximum(out, xp[:, rows, cols], out=out)
    return _unbatch(out, squeeze)


def avg_pool2d(
    x: npt.ArrayLike,
    kernel: Pair,
    *,
    stride: Pair,
    pads: Pads,
    dilation: Pair = (1, 1),
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Array:
    """Mean over each window.  With ``count_include_pad`` the divisor counts the taps inside the
    input and its pads, not those hanging past them because of ``ceil_mode`` (PyTorch);
    without it, only taps inside the input.  A window with nothing to count gives 0."""
    xb, squeeze = _batched(x, "avg_pool2d")
    geo = _PoolGeometry(xb, kernel, stride, pads, dilation, ceil_mode, "avg_pool2d")
    _check_bytes("avg_pool2d", geo.nbytes(xb), max_bytes)
    xp = geo.pad(xb, 0.0)
    out = np.zeros((xb.shape[0], *geo.out, xb.shape[3]), xb.dtype)
    for rows, cols in geo.taps():
        out += xp[:, rows, cols]
    counts = geo.counts(count_include_pad)
    out *= (1.0 / np.maximum(counts, 1))[None, :, :, None]
    return _unbatch(out, squeeze)


def avg_pool2d_backward(
    grad_out: npt.ArrayLike,
    size: Pair,
    kernel: Pair,
    *,
    stride: Pair,
    pads: Pads,
    dilation: Pair = (1, 1),
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Array:
    """Gradient of ``avg_pool2d`` with respect to its (H, W) = ``size`` input: each window
    hands ``grad / divisor`` to every tap (the adjoint of the linear map)."""
    gb, squeeze = _batched(grad_out, "avg_pool2d_backward")
    n, _, _, c = gb.shape
    shell = np.empty((n, size[0], size[1], c), gb.dtype)
    geo = _PoolGeometry(shell, kernel, stride, pads, dilation, ceil_mode, "avg_pool2d_backward")
    if gb.shape[1:3] != geo.out:
        raise ValueError(f"avg_pool2d_backward: gradient is {gb.shape[1:3]}, but the pool gives "
                         f"{geo.out} on a {size} input")
    _check_bytes("avg_pool2d_backward", geo.nbytes(shell), max_bytes)
    counts = geo.counts(count_include_pad)
    share = gb * (1.0 / np.maximum(counts, 1))[None, :, :, None]
    gp = np.zeros((n, *geo.padded, c), gb.dtype)
    for rows, cols in geo.taps():
        gp[:, rows, cols] += share
    return _unbatch(np.ascontiguousarray(geo.crop(gp)), squeeze)


def max_pool2d_backward(
    x: npt.ArrayLike,
    grad_out: npt.ArrayLike,
    kernel: Pair,
    *,
    stride: Pair,
    pads: Pads,
    dilation: Pair = (1, 1),
    ceil_mode: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Array:
    """Gradient of ``max_pool2d`` at ``x``: each window's gradient goes to its first maximal tap
    in row-major tap order (as PyTorch picks it)."""
    xb, squeeze = _batched(x, "max_pool2d_backward")
    gb, _ = _batched(grad_out, "max_pool2d_backward")
    geo = _PoolGeometry(xb, kernel, stride, pads, dilation, ceil_mode, "max_pool2d_backward")
    geo.refuse_empty("max_pool2d_backward")
    if gb.shape != (xb.shape[0], *geo.out, xb.shape[3]):
        raise ValueError(f"max_pool2d_backward: gradient is {gb.shape}, but the pool gives "
                         f"{(xb.shape[0], *geo.out, xb.shape[3])}")
    _check_bytes("max_pool2d_backward", 3 * geo.nbytes(xb), max_bytes)
    xp = geo.pad(xb, -np.inf)
    taps = geo.taps()
    best = np.full(gb.shape, -np.inf, xb.dtype)
    arg = np.zeros(gb.shape, np.int32)
    for t, (rows, cols) in enumerate(taps):
        values = xp[:, rows, cols]
        better = values > best
        best = np.where(better, values, best)
        arg[better] = t
    gp = np.zeros(xp.shape, np.result_type(gb.dtype, xb.dtype))
    for t, (rows, cols) in enumerate(taps):
        gp[:, rows, cols] += np.where(arg == t, gb, 0.0)
    return _unbatch(np.ascontiguousarray(geo.crop(gp)), squeeze)
