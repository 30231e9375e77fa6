"""The element-wise and resampling operators of the network language, forward and backward,
on channels-last (N, *spatial, C) arrays, 1 to 3 spatial axes (numpy only, vectorised; no
Python loop over positions).

Semantics are those of ONNX (and PyTorch) on the channel-first tensor (NCHW in 2-D) the spec's
shape stands for:
see ``docs`` of each function.  The backward functions give the gradient with respect to the
input from the gradient ``g`` of the output (for an ERF: ``d(sum of a unit) / d input``), with
PyTorch's choices at the kinks (ReLU and leaky ReLU slopes at 0 are those of ``x < 0``' side
except ReLU's 0, clip passes the gradient on its closed interval)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating[Any]]

_SQRT_PI = math.sqrt(math.pi)
_SQRT2 = math.sqrt(2.0)
#: Below this |x| erf uses its power series, above it erfc its continued fraction.
_SERIES_LIMIT = 2.5
#: Terms of the continued fraction for erfc at x >= _SERIES_LIMIT (relative error below
#: 1e-13; the exponential's own rounding dominates).
_CF_TERMS = 32
#: Coefficients 2^n / (1 3 5 ... (2n+1)) of the series in powers of x^2.
_SERIES = [1.0]
while _SERIES[-1] > 1e-300:
    _SERIES.append(_SERIES[-1] * 2.0 / (2 * len(_SERIES) + 1))


# --------------------------------------------------------------------------- erf


def _erf_series(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1 3 5 ... (2n+1))`` (Abramowitz
    and Stegun 7.1.6): every term positive, so no cancellation; summed by Horner's rule to
    the last term above 1e-17 of the sum (which is at least 1) at the largest x^2."""
    if x.size == 0:
        return x.copy()
    x2 = x * x
    top = float(x2.max())
    terms = 1
    power = 1.0
    while terms < len(_SERIES) and _SERIES[terms] * power * top > 1e-17:
        power *= top
        terms += 1
    total = np.full_like(x, _SERIES[terms - 1])
    for n in range(terms - 2, -1, -1):
        total *= x2
        total += _SERIES[n]
    total *= x
    out: npt.NDArray[np.float64] = 2.0 / _SQRT_PI * np.exp(-x2) * total
    return out


def _erfc_fraction(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))``
    for x >= _SERIES_LIMIT (Abramowitz and Stegun 7.1.14), evaluated from the tail up."""
    tail = np.zeros_like(x)
    for k in range(_CF_TERMS, 0, -1):
        tail += x
        np.divide(k / 2.0, tail, out=tail)
    with np.errstate(over="ignore", under="ignore"):
        out: npt.NDArray[np.float64] = np.exp(-x * x) / _SQRT_PI / (x + tail)
    return out


def erf(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The error function, vectorised, in float64 (relative error below 1e-14 everywhere)."""
    a = np.asarray(x, np.float64)
    out = np.empty_like(a)
    mag = np.abs(a)
    small = mag < _SERIES_LIMIT
    out[small] = _erf_series(a[small])
    big = ~small & np.isfinite(a)
    out[big] = np.copysign(1.0 - _erfc_fraction(mag[big]), a[big])
    out[np.isinf(a)] = np.sign(a[np.isinf(a)])
    out[np.isnan(a)] = np.nan
    return out


def erfc(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``1 - erf(x)``, accurate in relative terms where it is tiny (large positive x)."""
    a = np.asarray(x, np.float64)
    out = np.empty_like(a)
    far = a >= _SERIES_LIMIT
    with np.errstate(under="ignore"):
        out[far] = _erfc_fraction(a[far])
        near = ~far & np.isfinite(a) & (a > -_SERIES_LIMIT)
        out[near] = 1.0 - _erf_series(a[near])
        low = ~far & ~near & ~np.isnan(a)
        out[low] = 2.0 - _erfc_fraction(np.minimum(-a[low], 1e300))
    out[np.isnan(a)] = np.nan
    return out


# --------------------------------------------------------------------------- pointwise


def sigmoid(x: Array) -> Array:
    """``1 / (1 + exp(-x))`` without overflow: ``exp(-|x|)`` only."""
    e = np.exp(-np.abs(x))
    out: Array = np.where(x >= 0, 1.0, e) / (1.0 + e)
    return out.astype(x.dtype, copy=False)


def gelu(x: Array, approximate: str) -> Array:
    """``x Phi(x)`` with ``Phi(x) = erfc(-x / sqrt 2) / 2`` (exact), or the tanh form
    ``x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
        return np.asarray(0.5 * x * (1.0 + np.tanh(inner)), x.dtype)
    return np.asarray(0.5 * x * erfc(-np.asarray(x, np.float64) / _SQRT2), x.dtype)


def gelu_grad(x: Array, approximate: str) -> Array:
    """d gelu / dx at x."""
    if approximate == "tanh":
        c = math.sqrt(2.0 / math.pi)
        inner = c * (x + 0.044715 * x ** 3)
        t = np.tanh(inner)
        return np.asarray(0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c
                          * (1.0 + 3 * 0.044715 * x * x), x.dtype)
    x64 = np.asarray(x, np.float64)
    cdf = 0.5 * erfc(-x64 / _SQRT2)
    pdf = np.exp(-0.5 * x64 * x64) / math.sqrt(2.0 * math.pi)
    return np.asarray(cdf + x64 * pdf, x.dtype)


def channel_values(value: Any, fallback: float, channels: int, dtype: Any,
                   what: str) -> Array:
    """A per-channel parameter (C,) or (1,) (a scalar field when ``value`` is None), shaped
    to broadcast over (N, *spatial, C)."""
    if value is None:
        return np.asarray(fallback, dtype)
    arr = np.asarray(value, dtype).reshape(-1)
    if arr.size not in (1, channels):
        raise ValueError(f"{what} has {arr.size} values for {channels} channels")
    return arr if arr.size == channels else arr.reshape(())


def batchnorm_coefficients(params: Any, epsilon: float, channels: int,
                           dtype: Any) -> tuple[Array, Array]:
    """(a, b) with ``y = x a + b`` = ``(x - mean) / sqrt(var + eps) scale + bias`` (absent
    parameters: mean 0, var 1, scale 1, bias 0), computed in float64."""
    def get(name: str, fallback: float) -> npt.NDArray[np.float64]:
        return np.asarray(channel_values(params.get(name), fallback, channels, np.float64,
                                         f"batchnorm {name}"), np.float64)
    a = get("scale", 1.0) / np.sqrt(get("var", 1.0) + epsilon)
    b = get("bias", 0.0) - get("mean", 0.0) * a
    return np.asarray(a, dtype), np.asarray(b, dtype)


def softmax(x: Array) -> Array:
    """Softmax over channels (the last axis), shifted by the maximum (no overflow)."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    out: Array = e / e.sum(axis=-1, keepdims=True)
    return out


# --------------------------------------------------------------------------- broadcasting


def sum_to(g: Array, shape: Sequence[int]) -> Array:
    """``g`` summed over the axes that broadcasting spread from ``shape`` (size 1 there)."""
    axes = tuple(a for a, (n, m) in enumerate(zip(shape, g.shape, strict=True)) if n == 1 and m != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


# --------------------------------------------------------------------------- resampling


def _upsample_taps(n: int, f: int, mode: str) -> list[tuple[int, float]]:
    """For each residue r = o mod f: (k, t) so that output ``o = i f + r`` is
    ``(1 - t) x[clamp(i + k)] + t x[clamp(i + k + 1)]``.  Linear: half-pixel source
    ``(o + 1/2) / f - 1/2 = i + (r + 1/2) / f - 1/2``, clamped to [0, n - 1] (which the
    clamped indices do by themselves); nearest: ``floor(o / f) = i``."""
    taps = []
    for r in range(f):
        if mode == "nearest":
            taps.append((0, 0.0))
            continue
        delta = (r + 0.5) / f - 0.5
        k = math.floor(delta)
        taps.append((k, delta - k))
    return taps


def upsample_axis(x: Array, axis: int, f: int, mode: str) -> Array:
    """Upsample one axis by the integer ``f`` (see ``_upsample_taps``)."""
    if f == 1:
        return x
    n = x.shape[axis]
    if mode == "nearest":
        return np.repeat(x, f, axis=axis)
    edge = [(0, 0)] * x.ndim
    edge[axis] = (1, 2)
    xe = np.pad(x, edge, mode="edge")  # xe[j + 1] = x[clamp(j)] for j in -1 .. n + 1
    shape = list(x.shape)
    shape[axis] = n * f
    out = np.empty(shape, x.dtype)

    def take(start: int, stop: int | None, step: int, arr: Array) -> Array:
        index: list[slice] = [slice(None)] * arr.ndim
        index[axis] = slice(start, stop, step)
        return arr[tuple(index)]

    for r, (k, t) in enumerate(_upsample_taps(n, f, mode)):
        target = take(r, None, f, out)  # a view of out
        lo = take(1 + k, 1 + k + n, 1, xe)
        if t == 0.0:
            target[...] = lo
        else:
            hi = take(2 + k, 2 + k + n, 1, xe)
            np.multiply(lo, 1.0 - t, out=target)
            target += t * hi
    return out


def upsample_axis_backward(g: Array, axis: int, f: int, mode: str) -> Array:
    """The adjoint of ``upsample_axis``: each output's gradient back to its (clamped) sources."""
    if f == 1:
        return g
    n = g.shape[axis] // f
    shape = list(g.shape)
    shape[axis] = n
    if mode == "nearest":
        shape.insert(axis + 1, f)
        return np.asarray(g.reshape(shape).sum(axis=axis + 1))
    shape[axis] = n + 3
    ge = np.zeros(shape, g.dtype)

    def take(start: int, stop: int | None, step: int, arr: Array) -> Array:
        index: list[slice] = [slice(None)] * arr.ndim
        index[axis] = slice(start, stop, step)
        return arr[tuple(index)]

    for r, (k, t) in enumerate(_upsample_taps(n, f, mode)):
        part = take(r, None, f, g)
        take(1 + k, 1 + k + n, 1, ge)[...] += part * (1.0 - t)
        if t != 0.0:
            take(2 + k, 2 + k + n, 1, ge)[...] += part * t
    out = np.array(take(1, n + 1, 1, ge))
    take(0, 1, 1, out)[...] += take(0, 1, 1, ge)
    take(n - 1, n, 1, out)[...] += take(n + 1, n + 3, 1, ge).sum(axis=axis, keepdims=True)
    return out


def upsample(x: Array, factor: Sequence[int], mode: str) -> Array:
    """(N, *spatial, C) upsampled by an integer factor per spatial axis (ONNX Resize,
    ``nearest`` floor of o / f or half-pixel ``linear``)."""
    for axis, f in enumerate(factor, start=1):
        x = upsample_axis(x, axis, f, mode)
    return x


def upsample_backward(g: Array, factor: Sequence[int], mode: str) -> Array:
    for axis in range(len(factor), 0, -1):
        g = upsample_axis_backward(g, axis, factor[axis - 1], mode)
    return g


def flatten(x: Array) -> Array:
    """(N, *spatial, C) -> (N, 1, .., 1, C * prod(spatial)) with channel index ``c H W + h W + w``
    in 2-D (the flatten of the channel-first tensor, so imported Gemm weights apply
    unchanged; ``c T + t`` in 1-D, ``c D H W + d H W + h W + w`` in 3-D)."""
    n, ndim = x.shape[0], x.ndim - 2
    order = (0, x.ndim - 1, *range(1, x.ndim - 1))
    return np.ascontiguousarray(x.transpose(order)).reshape(n, *(1,) * ndim, -1)


def flatten_backward(g: Array, shape: Sequence[int]) -> Array:
    """The gradient of ``flatten`` handed back to its (N, *spatial, C) input of ``shape``."""
    n, spatial, c = shape[0], tuple(shape[1:-1]), shape[-1]
    order = (0, *range(2, len(shape)), 1)
    return np.ascontiguousarray(g.reshape(n, c, *spatial).transpose(order))
