"""Convolution, transposed convolution and pooling on channels-last float arrays in 1, 2 or 3
spatial dimensions ((N, T, C), (N, H, W, C), (N, D, H, W, C); the batch axis optional), numpy
only.

Every op is vectorised over positions, channels and the batch; the only Python loops run over
the kernel taps (``conv2d`` uses one im2col matrix product instead while it fits in memory).
1-D convolutions run as 2-D ones with a unit height (exact); 3-D ones add one 2-D convolution
of the depth slices per depth tap.  Geometry follows the deep-learning frameworks (PyTorch
semantics, with separate before/after pads on each axis): along one axis, with input size
``n``, kernel ``k``, stride ``s``, dilation ``d`` and pads ``p0``/``p1``, output unit ``o``
reads the padded input at ``o s + i d`` for taps ``i = 0 .. k-1``.

Weights use the channels-last layouts ``(*kernel, Cin // groups, Cout)`` for convolutions and
``(*kernel, Cin, Cout // groups)`` for transposed convolutions, so ``conv_transpose2d`` with
``w.transpose(0, 1, 3, 2)`` is the exact adjoint of ``conv2d`` with ``w``.
"""

from __future__ import annotations

import itertools
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

#: The name of each spatial axis in messages, by number of spatial axes.
AXIS_NAMES = {1: ("position",), 2: ("row", "column"), 3: ("slice", "row", "column")}
#: The layout of an input in messages, by number of spatial axes.
LAYOUTS = {1: "(T, C) or (N, T, C)", 2: "(H, W, C) or (N, H, W, C)",
           3: "(D, H, W, C) or (N, D, H, W, C)"}


def _ints(value: Any, name: str, minimum: int, ndim: int) -> tuple[int, ...]:
    """An integer for every axis, or one per axis (``ndim`` of them), each at least ``minimum``."""
    if isinstance(value, int | np.integer):
        value = (value,) * ndim
    what = "a pair of integers" if ndim == 2 else f"{ndim} integers"
    try:
        values = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer or {what}, got {value!r}") from None
    if len(values) != ndim:
        raise ValueError(f"{name} must be an integer or {what}, got {value!r}")
    if min(values) < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    return values


def _pair(value: Any, name: str, minimum: int) -> Pair:
    a, b = _ints(value, name, minimum, 2)
    return (a, b)


def _pads_n(value: Any, ndim: int) -> tuple[int, ...]:
    """``2 ndim`` pads (before, after) per axis; None or 0: none."""
    if value is None:
        return (0,) * (2 * ndim)
    order = ("(top, bottom, left, right)" if ndim == 2 else
             f"{2 * ndim} (before, after per axis)")
    try:
        pads = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"pads must be {order} integers, got {value!r}") from None
    if len(pads) != 2 * ndim:
        raise ValueError(f"pads must be {order} integers, got {value!r}")
    if min(pads) < 0:
        raise ValueError(f"pads must not be negative, got {value!r}")
    return pads


def _pads(value: Any) -> Pads:
    t, b, left, r = _pads_n(value, 2)
    return (t, b, left, r)


def _batched(x: npt.ArrayLike, what: str, ndim: int = 2) -> tuple[Array, bool]:
    """x as (N, *spatial, C) floats, and whether it came without the batch axis."""
    arr = np.asarray(x)
    if arr.ndim not in (ndim + 1, ndim + 2):
        raise ValueError(f"{what} expects an {LAYOUTS[ndim]} array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return (arr[None] if arr.ndim == ndim + 1 else arr), arr.ndim == ndim + 1


def _unbatch(x: Array, squeeze: bool) -> Array:
    return x[0] if squeeze else x


def _check_bytes(what: str, nbytes: int, max_bytes: int) -> None:
    if nbytes > max_bytes:
        raise ValueError(f"{what} would allocate about {nbytes / 2**20:.1f} MiB, more than "
                         f"the limit of {max_bytes / 2**20:.1f} MiB (max_bytes); use a smaller "
                         "input or fewer channels")


def _sizes(values: tuple[int, ...]) -> str:
    return "x".join(map(str, values))


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


def _conv2d_core(xb: Array, w: Array, stride: Pair, pads: Pads, dilation: Pair, groups: int,
                 max_bytes: int, what: str) -> Array:
    """``conv2d`` of a batched (N, H, W, Cin) input, checked, without bias: (N, H', W', Cout)."""
    sh, sw = stride
    dh, dw = dilation
    pt, pb, pl, pr = pads
    kh, kw, ci, cout = w.shape
    n, h, wid, cin = xb.shape
    ho = conv_size(h, kh, sh, dh, pt, pb)
    wo = conv_size(wid, kw, sw, dw, pl, pr)
    dtype = _float_dtype(xb, w)
    item = dtype.itemsize
    nbytes = item * (n * (h + pt + pb) * (wid + pl + pr) * cin + n * ho * wo * (2 * cout + 2 * cin))
    _check_bytes(what, nbytes, max_bytes)
    xp = xb.astype(dtype, copy=False)
    if pt or pb or pl or pr:
        xp = np.pad(xp, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    w = w.astype(dtype, copy=False)
    geometry = (ho, wo, sh, sw, dh, dw)
    column_bytes = item * n * ho * wo * (kh * kw * cin + cout)
    if kh == kw == 1 and (ci > 1 or groups == 1):  # a pointwise conv: no columns to build
        return _grouped_matmul(xp[:, :(ho - 1) * sh + 1:sh, :(wo - 1) * sw + 1:sw], w[0, 0],
                               groups)
    if ci == 1 and groups > 1:
        return _correlate_depthwise(xp, w, geometry, groups)
    if column_bytes <= IM2COL_MAX_BYTES and nbytes + column_bytes <= max_bytes:
        return _correlate_im2col(xp, w, geometry, groups)
    return _correlate_taps(xp, w, geometry, groups)


def conv(
    x: npt.ArrayLike,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    *,
    stride: Any = 1,
    pads: Any = None,
    dilation: Any = 1,
    groups: int = 1,
    max_bytes: int = DEFAULT_MAX_BYTES,
    what: str = "conv",
) -> Array:
    """Cross-correlation in 1, 2 or 3 spatial dimensions (as many as the weight's kernel axes):
    ``y[o] = sum_{i, c} x_pad[o s + i d, c] w[i, c, o] + b[o]``.

    ``x`` is (*spatial, Cin) or (N, *spatial, Cin), ``weight`` is (*kernel, Cin // groups,
    Cout), ``pads`` (before, after) per axis (None: none).  1-D runs as 2-D with a unit height
    (exact); 3-D sums one 2-D convolution of the input's depth slices per depth tap.
    """
    w = np.asarray(weight)
    ndim = w.ndim - 2
    if ndim not in (1, 2, 3):
        raise ValueError(f"{what} weight must be (*kernel, Cin // groups, Cout) with 1 to 3 "
                         f"kernel axes, got {w.shape}")
    xb, squeeze = _batched(x, what, ndim)
    s = _ints(stride, "stride", 1, ndim)
    d = _ints(dilation, "dilation", 1, ndim)
    p = _pads_n(pads, ndim)
    kernel, ci, cout = w.shape[:ndim], w.shape[ndim], w.shape[ndim + 1]
    n, spatial, cin = xb.shape[0], xb.shape[1:-1], xb.shape[-1]
    if groups < 1 or cin % groups or cout % groups or cin // groups != ci:
        raise ValueError(f"{what}: input has {cin} channels and weight {w.shape} with groups="
                         f"{groups}; need Cin == groups * weight.shape[{ndim}] and Cout "
                         "divisible by groups")
    out = tuple(conv_size(spatial[a], kernel[a], s[a], d[a], p[2 * a], p[2 * a + 1])
                for a in range(ndim))
    if min(out) < 1:
        raise ValueError(f"{what}: a {_sizes(kernel)} kernel with dilation {d} does not fit "
                         f"the {_sizes(spatial)} input with pads {p}")
    if ndim == 2:
        y = _conv2d_core(xb, w, (s[0], s[1]), (p[0], p[1], p[2], p[3]), (d[0], d[1]), groups,
                         max_bytes, what)
    elif ndim == 1:
        y = _conv2d_core(xb[:, None], w[None], (1, s[0]), (0, 0, p[0], p[1]), (1, d[0]), groups,
                         max_bytes, what)[:, 0]
    else:
        dtype = _float_dtype(xb, w)
        padded = tuple(spatial[a] + p[2 * a] + p[2 * a + 1] for a in range(3))
        _check_bytes(what, dtype.itemsize * n * (2 * int(np.prod(padded)) * cin
                                                 + int(np.prod(out)) * (cout + 2 * cin)),
                     max_bytes)
        xp = xb.astype(dtype, copy=False)
        if any(p):
            xp = np.pad(xp, ((0, 0), (p[0], p[1]), (p[2], p[3]), (p[4], p[5]), (0, 0)))
        w = w.astype(dtype, copy=False)
        y = np.zeros((n, *out, cout), dtype)
        for i in range(kernel[0]):
            planes = xp[:, _tap(i, d[0], out[0], s[0])].reshape(n * out[0], *padded[1:], cin)
            y += _conv2d_core(planes, w[i], (s[1], s[2]), (0, 0, 0, 0), (d[1], d[2]), groups,
                              max_bytes, what).reshape(y.shape)
    if bias is not None:
        y += np.asarray(bias, y.dtype).reshape(cout)
    return _unbatch(y, squeeze)


def conv1d(x: npt.ArrayLike, weight: npt.ArrayLike, bias: npt.ArrayLike | None = None,
           **kw: Any) -> Array:
    """``conv`` of a (T, Cin) or (N, T, Cin) input with a (k, Cin // groups, Cout) weight."""
    if np.ndim(weight) != 3:
        raise ValueError(f"conv1d weight must be (k, Cin // groups, Cout), got "
                         f"{np.shape(weight)}")
    return conv(x, weight, bias, what="conv1d", **kw)


def conv3d(x: npt.ArrayLike, weight: npt.ArrayLike, bias: npt.ArrayLike | None = None,
           **kw: Any) -> Array:
    """``conv`` of a (D, H, W, Cin) or (N, D, H, W, Cin) input with a (kd, kh, kw, Cin //
    groups, Cout) weight."""
    if np.ndim(weight) != 5:
        raise ValueError(f"conv3d weight must be (kd, kh, kw, Cin // groups, Cout), got "
                         f"{np.shape(weight)}")
    return conv(x, weight, bias, what="conv3d", **kw)


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
    if np.ndim(weight) != 4:
        raise ValueError(f"conv2d weight must be (kh, kw, Cin // groups, Cout), got "
                         f"{np.shape(weight)}")
    return conv(x, weight, bias, stride=stride, pads=pads, dilation=dilation, groups=groups,
                max_bytes=max_bytes, what="conv2d")


def _conv_transpose2d_core(xb: Array, w: Array, stride: Pair, pads: Pads, dilation: Pair,
                           output_padding: Pair, groups: int, max_bytes: int,
                           what: str) -> Array:
    """``conv_transpose2d`` of a batched input, checked, without bias."""
    sh, sw = stride
    dh, dw = dilation
    pt, pb, pl, pr = pads
    kh, kw, cin, co = w.shape
    n, h, wid, _ = xb.shape
    ho = conv_transpose_size(h, kh, sh, dh, pt, pb, output_padding[0])
    wo = conv_transpose_size(wid, kw, sw, dw, pl, pr, output_padding[1])
    full_h = ho + pt + pb
    full_w = wo + pl + pr
    cout = co * groups
    dtype = _float_dtype(xb, w)
    _check_bytes(what, dtype.itemsize * n * (full_h * full_w * cout + 2 * h * wid * (cin + cout)),
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
    return full[:, pt:pt + ho, pl:pl + wo]


def conv_transpose(
    x: npt.ArrayLike,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    *,
    stride: Any = 1,
    pads: Any = None,
    dilation: Any = 1,
    output_padding: Any = 0,
    groups: int = 1,
    max_bytes: int = DEFAULT_MAX_BYTES,
    what: str = "conv_transpose",
) -> Array:
    """Transposed convolution in 1, 2 or 3 spatial dimensions (as many as the weight's kernel
    axes): input unit ``u`` adds ``x[u, c] w[i, c, o]`` to output ``u s + i d - p0``; output
    size ``(n-1) s - p0 - p1 + d (k-1) + 1 + output_padding`` along each axis.

    ``x`` is (*spatial, Cin) or (N, *spatial, Cin), ``weight`` is (*kernel, Cin, Cout //
    groups).  The extra ``output_padding`` units go at the end of each axis (PyTorch); any
    ``output_padding >= 0`` is accepted, so this is the adjoint of every ``conv``.
    """
    w = np.asarray(weight)
    ndim = w.ndim - 2
    if ndim not in (1, 2, 3):
        raise ValueError(f"{what} weight must be (*kernel, Cin, Cout // groups) with 1 to 3 "
                         f"kernel axes, got {w.shape}")
    xb, squeeze = _batched(x, what, ndim)
    s = _ints(stride, "stride", 1, ndim)
    d = _ints(dilation, "dilation", 1, ndim)
    op = _ints(output_padding, "output_padding", 0, ndim)
    p = _pads_n(pads, ndim)
    kernel, cin_w, co = w.shape[:ndim], w.shape[ndim], w.shape[ndim + 1]
    n, spatial, cin = xb.shape[0], xb.shape[1:-1], xb.shape[-1]
    if groups < 1 or cin % groups or cin != cin_w:
        raise ValueError(f"{what}: input has {cin} channels and weight {w.shape} with "
                         f"groups={groups}; need Cin == weight.shape[{ndim}], divisible by "
                         "groups")
    out = tuple(conv_transpose_size(spatial[a], kernel[a], s[a], d[a], p[2 * a], p[2 * a + 1],
                                    op[a]) for a in range(ndim))
    if min(out) < 1:
        raise ValueError(f"{what}: pads {p} crop away the whole output of a "
                         f"{_sizes(spatial)} input")
    if ndim == 2:
        y = _conv_transpose2d_core(xb, w, (s[0], s[1]), (p[0], p[1], p[2], p[3]), (d[0], d[1]),
                                   (op[0], op[1]), groups, max_bytes, what)
    elif ndim == 1:
        y = _conv_transpose2d_core(xb[:, None], w[None], (1, s[0]), (0, 0, p[0], p[1]),
                                   (1, d[0]), (0, op[0]), groups, max_bytes, what)[:, 0]
    else:
        cout = co * groups
        full_d = out[0] + p[0] + p[1]
        dtype = _float_dtype(xb, w)
        _check_bytes(what, dtype.itemsize * n * full_d * out[1] * out[2] * cout * 2, max_bytes)
        planes = xb.reshape(n * spatial[0], *spatial[1:], cin)
        full = np.zeros((n, full_d, *out[1:], cout), dtype)
        for i in range(kernel[0]):
            part = _conv_transpose2d_core(planes, w[i], (s[1], s[2]), (p[2], p[3], p[4], p[5]),
                                          (d[1], d[2]), (op[1], op[2]), groups, max_bytes, what)
            full[:, _tap(i, d[0], spatial[0], s[0])] += part.reshape(n, spatial[0], *out[1:],
                                                                      cout)
        y = full[:, p[0]:p[0] + out[0]]
    if bias is not None:
        y = y + np.asarray(bias, y.dtype).reshape(-1)
    return _unbatch(np.ascontiguousarray(y), squeeze)


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
    if np.ndim(weight) != 4:
        raise ValueError("conv_transpose2d weight must be (kh, kw, Cin, Cout // groups), "
                         f"got {np.shape(weight)}")
    return conv_transpose(x, weight, bias, stride=stride, pads=pads, dilation=dilation,
                          output_padding=output_padding, groups=groups, max_bytes=max_bytes,
                          what="conv_transpose2d")


# --------------------------------------------------------------------------- pooling


class _PoolGeometry:
    """Sizes of one pooling call over the spatial axes of (N, *spatial, C): output size and
    the padded extent the windows read."""

    def __init__(self, xb: Array, kernel: Any, stride: Any, pads: Any, dilation: Any,
                 ceil_mode: bool, what: str) -> None:
        ndim = xb.ndim - 2
        self.ndim = ndim
        self.kernel = _ints(kernel, "kernel", 1, ndim)
        self.stride = _ints(stride, "stride", 1, ndim)
        self.dilation = _ints(dilation, "dilation", 1, ndim)
        self.pads = _pads_n(pads, ndim)
        self.size = tuple(xb.shape[1:-1])
        self.out = tuple(pool_size(n, self.kernel[a], self.stride[a], self.dilation[a],
                                   self.pads[2 * a], self.pads[2 * a + 1], ceil_mode)
                         for a, n in enumerate(self.size))
        if min(self.out) < 1:
            raise ValueError(f"{what}: a {_sizes(self.kernel)} window with dilation "
                             f"{self.dilation} does not fit the {_sizes(self.size)} input with "
                             f"pads {self.pads}")
        # padded length: the input with its pads, or further where ceil_mode windows hang over
        self.padded = tuple(
            max(n + self.pads[2 * a] + self.pads[2 * a + 1],
                (self.out[a] - 1) * self.stride[a] + self.dilation[a] * (self.kernel[a] - 1) + 1)
            for a, n in enumerate(self.size))

    def pad(self, xb: Array, value: float) -> Array:
        widths = [(0, 0)]
        for a, n in enumerate(self.size):
            before = self.pads[2 * a]
            widths.append((before, self.padded[a] - n - before))
        widths.append((0, 0))
        return np.pad(xb, widths, constant_values=value)

    def crop(self, xp: Array) -> Array:
        index = tuple(slice(self.pads[2 * a], self.pads[2 * a] + n)
                      for a, n in enumerate(self.size))
        return xp[(slice(None), *index)]

    def refuse_empty(self, what: str) -> None:
        """Refuse a max pool with a window lying wholly in the padding (see ``empty_window``)."""
        for a, axis in enumerate(AXIS_NAMES[self.ndim]):
            o = empty_window(self.size[a], self.kernel[a], self.stride[a], self.dilation[a],
                             self.pads[2 * a], self.out[a])
            if o is not None:
                raise ValueError(
                    f"{what}: the window of output {axis} {o} lies wholly in the padding, so it "
                    f"has no input value to take the maximum of (pads {self.pads}, kernel "
                    f"{self.kernel}, stride {self.stride}, dilation {self.dilation}, on a "
                    f"{_sizes(self.size)} input); use less padding (ONNX and PyTorch "
                    "refuse such pools too)")

    def taps(self) -> list[tuple[slice, ...]]:
        """The index of every kernel tap (row-major), batch axis first."""
        per_axis = [[_tap(i, self.dilation[a], self.out[a], self.stride[a])
                     for i in range(self.kernel[a])] for a in range(self.ndim)]
        return [(slice(None), *tap) for tap in itertools.product(*per_axis)]

    def counts(self, count_include_pad: bool) -> npt.NDArray[np.int64]:
        """(*out) number of taps of each window that the average divides by."""
        total = np.ones((), np.int64)
        for a in range(self.ndim):
            before, after, n = self.pads[2 * a], self.pads[2 * a + 1], self.size[a]
            lo, hi = (0, n + before + after) if count_include_pad else (before, before + n)
            pos = (np.arange(self.out[a])[:, None] * self.stride[a]
                   + np.arange(self.kernel[a])[None, :] * self.dilation[a])
            total = np.multiply.outer(total, ((pos >= lo) & (pos < hi)).sum(axis=1))
        return np.asarray(total, np.int64)

    def share(self, count_include_pad: bool, dtype: Any) -> Array:
        """1 / divisor of every window, shaped to broadcast over (N, *out, C)."""
        counts = self.counts(count_include_pad)
        return np.asarray((1.0 / np.maximum(counts, 1))[None, ..., None], dtype)

    def nbytes(self, xb: Array) -> int:
        n, c = xb.shape[0], xb.shape[-1]
        return int(xb.dtype.itemsize * n * c * (int(np.prod(self.padded))
                                                + 3 * int(np.prod(self.out))))


def _pool_input(x: npt.ArrayLike, kernel: Any, what: str) -> tuple[Array, bool, Any]:
    """The batched input and kernel of a pool whose dimension is that of ``kernel`` (a
    sequence; an int means the 2-D ``(k, k)``)."""
    if isinstance(kernel, int | np.integer):
        kernel = (int(kernel), int(kernel))
    ndim = len(kernel)
    if ndim not in (1, 2, 3):
        raise ValueError(f"{what}: kernel must have 1 to 3 axes, got {kernel!r}")
    xb, squeeze = _batched(x, what, ndim)
    return xb, squeeze, kernel


def max_pool(
    x: npt.ArrayLike,
    kernel: Any,
    *,
    stride: Any,
    pads: Any,
    dilation: Any = 1,
    ceil_mode: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    what: str = "max_pool",
) -> Array:
    """Max over each window ``x_pad[o s + i d]``, in as many spatial dimensions as ``kernel``
    has entries (x is (*spatial, C) or (N, *spatial, C)); padding never wins (it is -inf); NaN
    propagates (as in PyTorch).  A window lying wholly in the padding is refused
    (``ValueError``): there is no input value to take the maximum of."""
    xb, squeeze, kernel = _pool_input(x, kernel, what)
    geo = _PoolGeometry(xb, kernel, stride, pads, dilation, ceil_mode, what)
    geo.refuse_empty(what)
    _check_bytes(what, geo.nbytes(xb), max_bytes)
    xp = geo.pad(xb, -np.inf)
    out = np.full((xb.shape[0], *geo.out, xb.shape[-1]), -np.inf, xb.dtype)
    for tap in geo.taps():
        np.maximum(out, xp[tap], out=out)
    return _unbatch(out, squeeze)


def avg_pool(
    x: npt.ArrayLike,
    kernel: Any,
    *,
    stride: Any,
    pads: Any,
    dilation: Any = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
    what: str = "avg_pool",
) -> Array:
    """Mean over each window, in as many spatial dimensions as ``kernel`` has entries.  With
    ``count_include_pad`` the divisor counts the taps inside the input and its pads, not those
    hanging past them because of ``ceil_mode`` (PyTorch); without it, only taps inside the
    input.  A window with nothing to count gives 0."""
    xb, squeeze, kernel = _pool_input(x, kernel, what)
    geo = _PoolGeometry(xb, kernel, stride, pads, dilation, ceil_mode, what)
    _check_bytes(what, geo.nbytes(xb), max_bytes)
    xp = geo.pad(xb, 0.0)
    out = np.zeros((xb.shape[0], *geo.out, xb.shape[-1]), xb.dtype)
    for tap in geo.taps():
        out += xp[tap]
    out *= geo.share(count_include_pad, out.dtype)
    return _unbatch(out, squeeze)


def avg_pool_backward(
    grad_out: npt.ArrayLike,
    size: Any,
    kernel: Any,
    *,
    stride: Any,
    pads: Any,
    dilation: Any = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
    what: str = "avg_pool_backward",
) -> Array:
    """Gradient of ``avg_pool`` with respect to its input of spatial ``size``: each window
    hands ``grad / divisor`` to every tap (the adjoint of the linear map)."""
    gb, squeeze, kernel = _pool_input(grad_out, kernel, what)
    size = tuple(int(v) for v in size)
    n, c = gb.shape[0], gb.shape[-1]
    shell = np.lib.stride_tricks.as_strided(np.empty(1, gb.dtype), (n, *size, c),
                                            (0,) * (len(size) + 2))
    geo = _PoolGeometry(shell, kernel, stride, pads, dilation, ceil_mode, what)
    if tuple(gb.shape[1:-1]) != geo.out:
        raise ValueError(f"{what}: gradient is {gb.shape[1:-1]}, but the pool gives "
                         f"{geo.out} on a {size} input")
    _check_bytes(what, geo.nbytes(shell), max_bytes)
    share = gb * geo.share(count_include_pad, gb.dtype)
    gp = np.zeros((n, *geo.padded, c), gb.dtype)
    for tap in geo.taps():
        gp[tap] += share
    return _unbatch(np.ascontiguousarray(geo.crop(gp)), squeeze)


def max_pool_backward(
    x: npt.ArrayLike,
    grad_out: npt.ArrayLike,
    kernel: Any,
    *,
    stride: Any,
    pads: Any,
    dilation: Any = 1,
    ceil_mode: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    what: str = "max_pool_backward",
) -> Array:
    """Gradient of ``max_pool`` at ``x``: each window's gradient goes to its first maximal tap
    in row-major tap order (as PyTorch picks it)."""
    xb, squeeze, kernel = _pool_input(x, kernel, what)
    gb, _ = _batched(grad_out, what, xb.ndim - 2)
    geo = _PoolGeometry(xb, kernel, stride, pads, dilation, ceil_mode, what)
    geo.refuse_empty(what)
    if gb.shape != (xb.shape[0], *geo.out, xb.shape[-1]):
        raise ValueError(f"{what}: gradient is {gb.shape}, but the pool gives "
                         f"{(xb.shape[0], *geo.out, xb.shape[-1])}")
    _check_bytes(what, 3 * geo.nbytes(xb), max_bytes)
    xp = geo.pad(xb, -np.inf)
    taps = geo.taps()
    best = np.full(gb.shape, -np.inf, xb.dtype)
    arg = np.zeros(gb.shape, np.int32)
    for t, tap in enumerate(taps):
        values = xp[tap]
        better = values > best
        best = np.where(better, values, best)
        arg[better] = t
    gp = np.zeros(xp.shape, np.result_type(gb.dtype, xb.dtype))
    for t, tap in enumerate(taps):
        gp[tap] += np.where(arg == t, gb, 0.0)
    return _unbatch(np.ascontiguousarray(geo.crop(gp)), squeeze)


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
    """``max_pool`` of an (H, W, C) or (N, H, W, C) input."""
    return max_pool(x, _pair(kernel, "kernel", 1), stride=stride, pads=pads, dilation=dilation,
                    ceil_mode=ceil_mode, max_bytes=max_bytes, what="max_pool2d")


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
    """``avg_pool`` of an (H, W, C) or (N, H, W, C) input."""
    return avg_pool(x, _pair(kernel, "kernel", 1), stride=stride, pads=pads, dilation=dilation,
                    ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                    max_bytes=max_bytes, what="avg_pool2d")


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
    """Gradient of ``avg_pool2d`` with respect to its (H, W) = ``size`` input."""
    return avg_pool_backward(grad_out, size, _pair(kernel, "kernel", 1), stride=stride,
                             pads=pads, dilation=dilation, ceil_mode=ceil_mode,
                             count_include_pad=count_include_pad, max_bytes=max_bytes,
                             what="avg_pool2d_backward")


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
    """Gradient of ``max_pool2d`` at ``x`` (see ``max_pool_backward``)."""
    return max_pool_backward(x, grad_out, _pair(kernel, "kernel", 1), stride=stride, pads=pads,
                             dilation=dilation, ceil_mode=ceil_mode, max_bytes=max_bytes,
                             what="max_pool2d_backward")
