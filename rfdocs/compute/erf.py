"""Effective receptive fields (Luo et al. 2016): the gradient of one output unit with respect to
the input image, ``ERF[p] = sum_c' d(sum_c y[u, c]) / d x[p, c']``."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from typing import TypedDict

import numpy as np
import numpy.typing as npt

from rfdocs.compute.conv import (
    DEFAULT_MAX_BYTES,
    Array,
    avg_pool2d_backward,
    conv2d,
    conv_transpose2d,
    max_pool2d_backward,
)
from rfdocs.compute.forward import fan_in, forward, init_weights
from rfdocs.compute.receptive import LayerInfo, analyze, resolve_pads
from rfdocs.compute.spec import INPUT_NAME, Layer, Network

FloatMap = npt.NDArray[np.float64]


class _Window(TypedDict):
    """The geometry keywords shared by the window ops."""

    stride: tuple[int, int]
    pads: tuple[int, int, int, int]
    dilation: tuple[int, int]
    max_bytes: int


# --------------------------------------------------------------------------- helpers


def _target(net: Network, layer: str | None) -> tuple[str, tuple[Layer, ...]]:
    """The named node (the output by default) and the layers up to it, in topological order."""
    if layer is None:
        return net.layers[-1].name, net.layers
    if layer == INPUT_NAME:
        return layer, ()
    for i, candidate in enumerate(net.layers):
        if candidate.name == layer:
            return layer, net.layers[:i + 1]
    raise ValueError(f"no layer named {layer!r}; choose 'input' or one of "
                     f"{', '.join(repr(lay.name) for lay in net.layers)}")


def _unit(shape: tuple[int, ...], unit: tuple[int, int] | None, name: str) -> tuple[int, int]:
    """The requested unit (y, x), by default the central one ``(H // 2, W // 2)``."""
    h, w = shape[0], shape[1]
    if unit is None:
        return (h // 2, w // 2)
    y, x = (int(v) for v in unit)
    if not (0 <= y < h and 0 <= x < w):
        raise ValueError(f"unit {(y, x)} is outside the {h}x{w} output of {name!r}")
    return (y, x)


def _rest(layer: Layer, pads: tuple[int, int, int, int], n_in: tuple[int, int],
          n_out: tuple[int, int]) -> tuple[int, int]:
    """Input rows and columns past the last window of a conv: the output_padding of its
    adjoint, ``n + p0 + p1 - d (k-1) - 1 - (n' - 1) s``."""
    rest = [n_in[a] + pads[2 * a] + pads[2 * a + 1] - layer.dilation[a] * (layer.kernel[a] - 1)
            - 1 - (n_out[a] - 1) * layer.stride[a] for a in range(2)]
    return (rest[0], rest[1])


def _accumulate(grads: dict[str, Array], name: str, g: Array) -> None:
    grads[name] = grads[name] + g if name in grads else g


# --------------------------------------------------------------------------- uniform weights


def _uniform_backward(layer: Layer, g: Array, info: LayerInfo,
                      src: LayerInfo, max_bytes: int) -> Array:
    """Backward of one window layer on a single-channel map that every channel shares."""
    h, w, cin = src.shape
    pads = info.pads
    ones = np.ones((*layer.kernel, 1, 1))
    window = _Window(stride=layer.stride, pads=pads, dilation=layer.dilation,
                     max_bytes=max_bytes)
    if layer.op == "conv":
        assert layer.filters is not None
        # each input channel feeds filters / groups outputs, each through weight 1 / fan_in
        factor = layer.filters / layer.groups / fan_in(layer, cin)
        rest = _rest(layer, pads, (h, w), (info.shape[0], info.shape[1]))
        return conv_transpose2d(g, ones, output_padding=rest, **window) * factor
    if layer.op == "deconv":
        assert layer.filters is not None
        factor = layer.filters / fan_in(layer, cin)
        return conv2d(g, ones, **window)[:, :h, :w] * factor
    return avg_pool2d_backward(g, (h, w), layer.kernel, ceil_mode=layer.ceil_mode,
                               count_include_pad=layer.op == "avgpool", **window)


def erf_uniform(
    net: Network,
    layer: str | None = None,
    unit: tuple[int, int] | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> FloatMap:
    """Exact ERF of the linearised network with uniform weights, as an (H, W) map.

    Every conv and deconv weight is ``1 / fan_in`` (``init_weights(kind="uniform")``), ReLU is
    the identity, average pools are themselves and max pools become the mean of the window's
    taps inside the input, so every element a max could pick gets an equal share.  The network
    is then linear and every channel carries the same gradient, so one single-channel map is
    propagated back from an impulse at ``unit`` of ``layer`` (the central unit of the output by
    default): convolutions by their transposes with an all-ones kernel, adds by copying to each
    input, concats by handing each input its (identical) channels.
    """
    target, layers = _target(net, layer)
    analysis = {node.name: node for node in analyze(net)}
    y, x = _unit(analysis[target].shape, unit, target)
    seed = np.zeros((1, *analysis[target].shape[:2], 1))
    seed[0, y, x, 0] = 1.0
    grads: dict[str, Array] = {target: seed}
    for lay in reversed(layers):
        g = grads.pop(lay.name, None)
        if g is None:
            continue
        if lay.op in ("relu", "identity", "add", "concat"):
            for name in lay.inputs:
                _accumulate(grads, name, g)
        else:
            src = analysis[lay.inputs[0]]
            _accumulate(grads, lay.inputs[0],
                        _uniform_backward(lay, g, analysis[lay.name], src, max_bytes))
    h, w, c = net.input
    g_in = grads.get(INPUT_NAME)
    if g_in is None:
        return np.zeros((h, w))
    return np.asarray(g_in[0, :, :, 0] * c, np.float64)


# --------------------------------------------------------------------------- real backward


def _backward(layer: Layer, g: Array, acts: dict[str, Array], weights: dict[str, Array],
              max_bytes: int) -> Iterator[tuple[str, Array]]:
    """(input name, gradient) pairs of one layer, given the gradient of its output."""
    op = layer.op
    x = acts[layer.inputs[0]]
    if op == "identity" or op == "add":
        for name in layer.inputs:
            yield name, g
        return
    if op == "relu":
        yield layer.inputs[0], g * (x > 0)
        return
    if op == "concat":
        start = 0
        for name in layer.inputs:
            stop = start + acts[name].shape[3]
            yield name, g[..., start:stop]
            start = stop
        return
    h, w = x.shape[1], x.shape[2]
    pads = resolve_pads(layer, (h, w))
    window = _Window(stride=layer.stride, pads=pads, dilation=layer.dilation,
                     max_bytes=max_bytes)
    if op == "conv":
        wt = weights[layer.name].transpose(0, 1, 3, 2)
        rest = _rest(layer, pads, (h, w), (g.shape[1], g.shape[2]))
        yield layer.inputs[0], conv_transpose2d(g, wt, output_padding=rest,
                                                groups=layer.groups, **window)
    elif op == "deconv":
        wt = weights[layer.name].transpose(0, 1, 3, 2)
        yield layer.inputs[0], conv2d(g, wt, **window)[:, :h, :w]
    elif op == "maxpool":
        yield layer.inputs[0], max_pool2d_backward(x, g, layer.kernel,
                                                   ceil_mode=layer.ceil_mode, **window)
    else:
        yield layer.inputs[0], avg_pool2d_backward(g, (h, w), layer.kernel,
                                                   ceil_mode=layer.ceil_mode, **window)


def input_gradient(
    net: Network,
    x: npt.ArrayLike,
    weights: dict[str, Array],
    layer: str | None = None,
    unit: tuple[int, int] | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Array:
    """``d(sum_c y[unit, c]) / dx`` by a real forward and backward pass (ReLU and max pooling
    as they are), for an (H, W, C) or batched (N, H, W, C) input; same shape as ``x``."""
    arr = np.asarray(x)
    squeeze = arr.ndim == 3
    acts = forward(net, arr[None] if squeeze else arr, weights, max_bytes=max_bytes)
    target, layers = _target(net, layer)
    y, u = _unit(acts[target].shape[1:], unit, target)
    seed = np.zeros_like(acts[target])
    seed[:, y, u, :] = 1.0
    grads: dict[str, Array] = {target: seed}
    for lay in reversed(layers):
        g = grads.pop(lay.name, None)
        if g is not None:
            for name, g_in in _backward(lay, g, acts, weights, max_bytes):
                _accumulate(grads, name, g_in)
    g_x = grads.get(INPUT_NAME, np.zeros_like(acts[INPUT_NAME]))
    return g_x[0] if squeeze else g_x


def cap_channels(net: Network, channels: int) -> Network:
    """The network with every conv and deconv limited to ``channels`` filters (groups reduced to
    a common divisor, so depthwise layers stay depthwise)."""
    if channels < 1:
        raise ValueError(f"channels must be at least 1, got {channels}")
    width = {INPUT_NAME: net.input[2]}
    layers = []
    for layer in net.layers:
        cin = width[layer.inputs[0]]
        if layer.op in ("conv", "deconv"):
            assert layer.filters is not None
            filters = min(layer.filters, channels)
            layer = replace(layer, filters=filters,
                            groups=math.gcd(layer.groups, filters, cin))
            width[layer.name] = filters
        elif layer.op == "concat":
            width[layer.name] = sum(width[name] for name in layer.inputs)
        else:
            if layer.op == "add" and len({width[name] for name in layer.inputs}) > 1:
                raise ValueError(f"capping at {channels} channels gives the inputs of add layer "
                                 f"{layer.name!r} different widths "
                                 f"{[width[name] for name in layer.inputs]}; "
                                 "try a larger cap")
            width[layer.name] = cin
        layers.append(layer)
    return replace(net, layers=tuple(layers))


def erf_random(
    net: Network,
    layer: str | None = None,
    unit: tuple[int, int] | None = None,
    *,
    seed: int = 0,
    channels: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> FloatMap:
    """ERF with random weights, as an (H, W) map: He-normal weights from
    ``init_weights(seed=seed)``, an N(0, 1) input image from ``default_rng([seed, 1])``, real
    ReLU and max pooling, and the gradient of ``unit`` of ``layer`` (the central unit of the
    output by default) by a real backward pass, summed over input channels.  ``channels`` caps
    every layer's filter count (see ``cap_channels``) to keep big networks cheap."""
    if channels is not None:
        net = cap_channels(net, channels)
    weights = init_weights(net, seed=seed, kind="random")
    image = np.random.default_rng([seed, 1]).standard_normal(net.input)
    grad = input_gradient(net, image, weights, layer, unit, max_bytes=max_bytes)
    return np.asarray(grad.sum(axis=-1), np.float64)
