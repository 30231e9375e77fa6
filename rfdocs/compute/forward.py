"""Run a whole network on an input: weight initialisation and the forward pass (numpy only)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from rfdocs.compute.conv import (
    DEFAULT_MAX_BYTES,
    Array,
    avg_pool2d,
    conv2d,
    conv_transpose2d,
    max_pool2d,
)
from rfdocs.compute.receptive import analyze, resolve_pads
from rfdocs.compute.spec import INPUT_NAME, Layer, Network

WeightKind = Literal["random", "uniform", "ones"]
WEIGHT_KINDS: tuple[WeightKind, ...] = ("random", "uniform", "ones")


def weight_shape(layer: Layer, in_channels: int) -> tuple[int, int, int, int]:
    """(kh, kw, Cin // groups, Cout) for conv, (kh, kw, Cin, Cout) for deconv layers."""
    if layer.filters is None or layer.op not in ("conv", "deconv"):
        raise ValueError(f"layer {layer.name!r} ({layer.op}) has no weights")
    kh, kw = layer.kernel
    if layer.op == "deconv":
        return (kh, kw, in_channels, layer.filters)
    return (kh, kw, in_channels // layer.groups, layer.filters)


def fan_in(layer: Layer, in_channels: int) -> float:
    """Inputs summed into one output unit: ``kh kw Cin / groups`` for a convolution, and
    ``kh kw Cin / (sh sw)`` on average for a transposed one."""
    kh, kw, ci, _ = weight_shape(layer, in_channels)
    if layer.op == "deconv":
        return kh * kw * ci / (layer.stride[0] * layer.stride[1])
    return float(kh * kw * ci)


def init_weights(
    net: Network,
    *,
    seed: int = 0,
    kind: WeightKind = "random",
    dtype: npt.DTypeLike = np.float64,
) -> dict[str, Array]:
    """Weights of every conv and deconv layer, by name, with input channels from the analysis.

    ``random``: He-normal, ``N(0, 2 / fan_in)``, drawn in layer order from
    ``numpy.random.default_rng(seed)``; ``uniform``: every weight ``1 / fan_in``, so a constant
    image stays (roughly, for deconvs) constant; ``ones``: every weight 1.
    """
    if kind not in WEIGHT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(WEIGHT_KINDS)}, got {kind!r}")
    channels = {node.name: node.shape[2] for node in analyze(net)}
    rng = np.random.default_rng(seed)
    weights: dict[str, Array] = {}
    for layer in net.layers:
        if layer.op not in ("conv", "deconv"):
            continue
        cin = channels[layer.inputs[0]]
        shape = weight_shape(layer, cin)
        if kind == "random":
            std = np.sqrt(2.0 / fan_in(layer, cin))
            weights[layer.name] = (rng.standard_normal(shape) * std).astype(dtype)
        elif kind == "uniform":
            weights[layer.name] = np.full(shape, 1.0 / fan_in(layer, cin), dtype)
        else:
            weights[layer.name] = np.ones(shape, dtype)
    return weights


def apply_layer(
    layer: Layer,
    inputs: list[Array],
    weights: dict[str, Array],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Array:
    """One layer on its input activations, each (N, H, W, C)."""
    x = inputs[0]
    op = layer.op
    if op == "relu":
        return np.maximum(x, 0)
    if op == "identity":
        return x
    if op == "add":
        total = x
        for other, src in zip(inputs[1:], layer.inputs[1:], strict=True):
            if other.shape != x.shape:
                raise ValueError(f"layer {layer.name!r}: add needs inputs of one shape, got "
                                 f"{x.shape[1:]} and {other.shape[1:]} (from {src!r})")
            total = total + other
        return total
    if op == "concat":
        if any(other.shape[:3] != x.shape[:3] for other in inputs[1:]):
            raise ValueError(f"layer {layer.name!r}: concat needs inputs of one height and width,"
                             f" got {[a.shape[1:3] for a in inputs]}")
        return np.concatenate(inputs, axis=3)
    pads = resolve_pads(layer, (x.shape[1], x.shape[2]))
    if op in ("conv", "deconv"):
        if layer.name not in weights:
            raise ValueError(f"no weights for layer {layer.name!r}")
        w = weights[layer.name]
        if op == "conv":
            return conv2d(x, w, stride=layer.stride, pads=pads, dilation=layer.dilation,
                          groups=layer.groups, max_bytes=max_bytes)
        return conv_transpose2d(x, w, stride=layer.stride, pads=pads, dilation=layer.dilation,
                                output_padding=layer.output_padding, max_bytes=max_bytes)
    pool = max_pool2d if op == "maxpool" else avg_pool2d
    return pool(x, layer.kernel, stride=layer.stride, pads=pads, dilation=layer.dilation,
                ceil_mode=layer.ceil_mode, max_bytes=max_bytes)


def forward(
    net: Network,
    x: npt.ArrayLike,
    weights: dict[str, Array],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> dict[str, Array]:
    """Every node's activation (``"input"`` for the input) for an (H, W, C) or (N, H, W, C)
    input; ``max_bytes`` bounds each op and all activations together."""
    arr = np.asarray(x)
    if arr.ndim not in (3, 4):
        raise ValueError(f"forward expects an (H, W, C) or (N, H, W, C) input, got {arr.shape}")
    squeeze = arr.ndim == 3
    xb = arr[None] if squeeze else arr
    if not np.issubdtype(xb.dtype, np.floating):
        xb = xb.astype(np.float64)
    if xb.shape[3] != net.input[2]:
        raise ValueError(f"the network takes {net.input[2]} input channels, got {xb.shape[3]}")
    acts: dict[str, Array] = {INPUT_NAME: xb}
    total = xb.nbytes
    for layer in net.layers:
        out = apply_layer(layer, [acts[name] for name in layer.inputs], weights,
                          max_bytes=max_bytes)
        total += out.nbytes
        if total > max_bytes:
            raise ValueError(f"the activations up to layer {layer.name!r} take "
                             f"{total / 2**20:.1f} MiB, more than the limit of "
                             f"{max_bytes / 2**20:.1f} MiB (max_bytes)")
        acts[layer.name] = out
    return {name: a[0] for name, a in acts.items()} if squeeze else acts
