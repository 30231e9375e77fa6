"""Effective receptive fields (Luo et al. 2016): the gradient of one output unit with respect to
the input image, ``ERF[p] = sum_c' d(sum_c y[u, c]) / d x[p, c']``, in 1, 2 or 3 spatial
dimensions (the map has the input's spatial shape: (T,), (H, W) or (D, H, W))."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TypedDict

import numpy as np
import numpy.typing as npt

from rfdocs.compute import ops
from rfdocs.compute.conv import (
    DEFAULT_MAX_BYTES,
    LAYOUTS,
    Array,
    avg_pool_backward,
    conv,
    conv_transpose,
    max_pool_backward,
)
from rfdocs.compute.forward import (
    WEIGHTED_OPS,
    WeightsArg,
    _numbers,
    _target_layers,
    compute_dtype,
    fan_in,
    init_weights,
    run_layers,
)
from rfdocs.compute.receptive import LayerInfo, analyze, resolve_pads
from rfdocs.compute.spec import (
    INPUT_NAME,
    MERGE_OPS,
    POINTWISE_OPS,
    Layer,
    Network,
)

__all__ = ["cap_channels", "erf_random", "erf_uniform", "init_weights", "input_gradient"]

FloatMap = npt.NDArray[np.float64]


class _Window(TypedDict):
    """The geometry keywords shared by the window ops."""

    stride: tuple[int, ...]
    pads: tuple[int, ...]
    dilation: tuple[int, ...]
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


def _unit(spatial: Sequence[int], unit: Sequence[int] | None, name: str) -> tuple[int, ...]:
    """The requested unit (one index per spatial axis: (y, x) in 2-D), by default the central
    one ``(H // 2, W // 2)``."""
    if unit is None:
        return tuple(n // 2 for n in spatial)
    if isinstance(unit, int | np.integer):
        unit = (int(unit),)
    where = tuple(int(v) for v in unit)
    if len(where) != len(spatial) or not all(0 <= u < n for u, n in zip(where, spatial,
                                                                        strict=True)):
        raise ValueError(f"unit {where} is outside the {'x'.join(map(str, spatial))} output "
                         f"of {name!r}")
    return where


def _rest(layer: Layer, pads: Sequence[int], n_in: Sequence[int],
          n_out: Sequence[int]) -> tuple[int, ...]:
    """Input units past the last window of a conv along each axis: the output_padding of its
    adjoint, ``n + p0 + p1 - d (k-1) - 1 - (n' - 1) s``."""
    return tuple(n_in[a] + pads[2 * a] + pads[2 * a + 1]
                 - layer.dilation[a] * (layer.kernel[a] - 1) - 1
                 - (n_out[a] - 1) * layer.stride[a] for a in range(len(n_in)))


def _crop(g: Array, pads: Sequence[int], spatial: Sequence[int]) -> Array:
    """``g`` (N, *padded, C) without its ``before`` pads and whatever lies past ``spatial``."""
    index = tuple(slice(pads[2 * a], pads[2 * a] + n) for a, n in enumerate(spatial))
    return g[(slice(None), *index)]


def _accumulate(grads: dict[str, Array], name: str, g: Array) -> None:
    grads[name] = grads[name] + g if name in grads else g


# --------------------------------------------------------------------------- uniform weights


def _spread(g: Array, shape: tuple[int, ...], channels_out: int) -> Array:
    """A merge's single-channel gradient map handed to an input of ``shape`` (*spatial, C):
    summed over the positions an input of spatial size 1 spreads over, and times the output's
    channel count for a one-channel input that spreads over them all."""
    ones = (1,) * (len(shape) - 1)
    if shape[:-1] == ones and g.shape[1:-1] != ones:
        g = g.sum(axis=tuple(range(1, g.ndim - 1)), keepdims=True)
    if shape[-1] == 1 and channels_out > 1:
        g = g * channels_out
    return g


def _uniform_backward(layer: Layer, g: Array, info: LayerInfo, srcs: list[LayerInfo],
                      max_bytes: int) -> list[Array]:
    """Backward of one layer of the linearised uniform network on a single-channel map that
    every channel shares: one map per input."""
    src = srcs[0]
    spatial, cin = src.shape[:-1], src.shape[-1]
    op = layer.op
    if op in POINTWISE_OPS:
        return [g]
    if op == "concat":
        return [g] * len(srcs)
    if op in MERGE_OPS:  # add, mul as a sum; sub, div: the second input with the minus sign
        maps = [_spread(g, s.shape, info.shape[-1]) for s in srcs]
        if op in ("sub", "div"):
            maps[1] = -maps[1]
        return maps
    if op == "pad":
        return [_crop(g, info.pads, spatial)]
    if op == "upsample":
        return [ops.upsample_backward(g, layer.factor, layer.mode)]
    if op in ("globalavgpool", "globalmaxpool"):
        return [np.broadcast_to(g / math.prod(spatial), (g.shape[0], *spatial, 1)).copy()]
    if op == "flatten":  # each input value is one output channel, all with gradient g
        return [np.broadcast_to(g, (g.shape[0], *spatial, 1)).copy()]
    if op == "dense":
        assert layer.filters is not None
        return [g * (layer.filters / cin)]
    pads = info.pads
    ones = np.ones((*layer.kernel, 1, 1))
    window = _Window(stride=layer.stride, pads=pads, dilation=layer.dilation,
                     max_bytes=max_bytes)
    if op == "conv":
        assert layer.filters is not None
        # each input channel feeds filters / groups outputs, each through weight 1 / fan_in
        factor = layer.filters / layer.groups / fan_in(layer, cin)
        rest = _rest(layer, pads, spatial, info.shape[:-1])
        return [conv_transpose(g, ones, output_padding=rest, **window) * factor]
    if op == "deconv":
        assert layer.filters is not None
        factor = layer.filters / fan_in(layer, cin)
        return [_crop(conv(g, ones, **window), (0,) * 2 * len(spatial), spatial) * factor]
    include = op == "avgpool" and layer.count_include_pad
    return [avg_pool_backward(g, spatial, layer.kernel, ceil_mode=layer.ceil_mode,
                              count_include_pad=include, **window)]


def erf_uniform(
    net: Network,
    layer: str | None = None,
    unit: Sequence[int] | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> FloatMap:
    """Exact ERF of the linearised network with uniform weights, as a map of the input's
    spatial shape ((H, W) in 2-D, (T,) in 1-D, (D, H, W) in 3-D).

    Every conv, deconv and dense weight is ``1 / fan_in`` (``init_weights(kind="uniform")``),
    every pointwise op (ReLU, sigmoid, batchnorm, softmax, ...) is the identity, average pools
    are themselves, max pools (global ones too) become the mean of the window's taps inside
    the input, so every element a max could pick gets an equal share, and products and
    quotients are linearised where a constant image keeps every value 1 (``d(ab) = da + db``,
    ``d(a/b) = da - db``).  The network is then linear and every channel carries the same
    gradient, so one single-channel map is propagated back from an impulse at ``unit`` of
    ``layer`` (the central unit of the output by default): convolutions by their transposes
    with an all-ones kernel, merges by copying to each input (summed where an input spreads),
    concats by handing each input its (identical) channels, pads by cropping, upsampling by
    its adjoint, flatten and global pools by spreading over their input.  The network's params
    are not used (this is the uniform-weight map).
    """
    target, layers = _target(net, layer)
    analysis = {node.name: node for node in analyze(net)}
    where = _unit(analysis[target].shape[:-1], unit, target)
    seed = np.zeros((1, *analysis[target].shape[:-1], 1))
    seed[(0, *where, 0)] = 1.0
    grads: dict[str, Array] = {target: seed}
    for lay in reversed(layers):
        g = grads.pop(lay.name, None)
        if g is None:
            continue
        srcs = [analysis[name] for name in lay.inputs]
        for name, g_in in zip(lay.inputs,
                              _uniform_backward(lay, g, analysis[lay.name], srcs, max_bytes),
                              strict=True):
            _accumulate(grads, name, g_in)
    spatial, c = net.input[:-1], net.input[-1]
    g_map = grads.get(INPUT_NAME)
    if g_map is None:
        return np.zeros(spatial)
    return np.asarray(np.broadcast_to(g_map[0, ..., 0] * c, spatial), np.float64)


# --------------------------------------------------------------------------- real backward


def _pointwise_backward(layer: Layer, g: Array, x: Array, y: Array,
                        own: Mapping[str, Array]) -> Array:
    """The gradient through a pointwise op at input ``x`` (output ``y``); at the kinks the
    slopes PyTorch's autograd uses."""
    op = layer.op
    c = x.shape[-1]
    dtype = g.dtype
    if op == "identity":
        return g
    if op == "relu":
        return g * (x > 0)
    if op == "leakyrelu":
        return g * np.where(x > 0, 1.0, layer.alpha).astype(dtype)
    if op == "prelu":
        slope = ops.channel_values(own.get("slope"), layer.alpha, c, dtype, "prelu slope")
        return g * np.where(x > 0, np.ones((), dtype), slope)
    if op == "sigmoid":
        return g * y * (1 - y)
    if op == "tanh":
        return g * (1 - y * y)
    if op == "clip":
        keep = np.ones(x.shape, bool)
        if layer.min is not None:
            keep &= x >= layer.min
        if layer.max is not None:
            keep &= x <= layer.max
        return g * keep
    if op == "hardsigmoid":
        inner = layer.alpha * x + layer.beta
        return g * (((inner > 0) & (inner < 1)) * layer.alpha).astype(dtype)
    if op == "hardswish":
        return g * np.where(x < -3, 0.0, np.where(x <= 3, x / 3 + 0.5, 1.0)).astype(dtype)
    if op == "gelu":
        return g * ops.gelu_grad(x, layer.approximate)
    if op == "softmax":
        return np.asarray(y * (g - (g * y).sum(axis=-1, keepdims=True)))
    if op == "batchnorm":
        a, _ = ops.batchnorm_coefficients(own, layer.epsilon, c, dtype)
        return g * a
    if op == "affine":
        return g * ops.channel_values(own.get("scale"), layer.scale, c, dtype, "affine scale")
    raise AssertionError(op)


def _merge_backward(layer: Layer, g: Array, ins: list[Array]) -> list[Array]:
    """Gradients of add, sub, mul, div to each input, summed over the axes it spread over."""
    op = layer.op
    if op == "add":
        grads = [g] * len(ins)
    elif op == "sub":
        grads = [g, -g]
    elif op == "mul":
        grads = []
        for i in range(len(ins)):
            prod = g
            for j, other in enumerate(ins):
                if j != i:
                    prod = prod * other
            grads.append(prod)
    else:
        a, b = ins
        with np.errstate(divide="ignore", invalid="ignore"):
            grads = [g / b, -g * a / (b * b)]
    return [np.broadcast_to(ops.sum_to(gi, x.shape), x.shape) for gi, x in zip(grads, ins,
                                                                                 strict=True)]


def _backward(layer: Layer, g: Array, acts: dict[str, Array],
              numbers: Mapping[str, Mapping[str, Array]],
              max_bytes: int) -> Iterator[tuple[str, Array]]:
    """(input name, gradient) pairs of one layer, given the gradient of its output."""
    op = layer.op
    x = acts[layer.inputs[0]]
    own = numbers.get(layer.name, {})
    if op == "concat":
        start = 0
        for name in layer.inputs:
            stop = start + acts[name].shape[-1]
            yield name, g[..., start:stop]
            start = stop
        return
    if op in MERGE_OPS:
        yield from zip(layer.inputs, _merge_backward(layer, g, [acts[n] for n in layer.inputs]),
                       strict=True)
        return
    if op in POINTWISE_OPS:
        yield layer.inputs[0], _pointwise_backward(layer, g, x, acts[layer.name], own)
        return
    n, spatial, c = x.shape[0], x.shape[1:-1], x.shape[-1]
    positions = math.prod(spatial)
    if op == "pad":
        yield layer.inputs[0], _crop(g, resolve_pads(layer, spatial), spatial)
    elif op == "upsample":
        yield layer.inputs[0], ops.upsample_backward(g, layer.factor, layer.mode)
    elif op == "globalavgpool":
        yield layer.inputs[0], np.broadcast_to(g / positions, x.shape)
    elif op == "globalmaxpool":  # to the first maximum in row-major order
        first = x.reshape(n, positions, c).argmax(axis=1)
        out = np.zeros((n, positions, c), g.dtype)
        np.put_along_axis(out, first[:, None, :], g.reshape(n, 1, c), axis=1)
        yield layer.inputs[0], out.reshape(x.shape)
    elif op == "flatten":
        yield layer.inputs[0], ops.flatten_backward(g, x.shape)
    elif op == "dense":
        yield layer.inputs[0], (g.reshape(n, -1) @ own["weight"].T).reshape(x.shape)
    else:
        yield layer.inputs[0], _window_backward(layer, g, x, own["weight"] if op in (
            "conv", "deconv") else None, max_bytes)


def _window_backward(layer: Layer, g: Array, x: Array, weight: Array | None,
                     max_bytes: int) -> Array:
    op = layer.op
    spatial = x.shape[1:-1]
    pads = resolve_pads(layer, spatial)
    window = _Window(stride=layer.stride, pads=pads, dilation=layer.dilation,
                     max_bytes=max_bytes)
    if op == "conv":
        assert weight is not None
        rest = _rest(layer, pads, spatial, g.shape[1:-1])
        return conv_transpose(g, np.swapaxes(weight, -1, -2), output_padding=rest,
                              groups=layer.groups, **window)
    if op == "deconv":
        assert weight is not None
        return _crop(conv(g, np.swapaxes(weight, -1, -2), **window),
                     (0,) * 2 * len(spatial), spatial)
    if op == "maxpool":
        return max_pool_backward(x, g, layer.kernel, ceil_mode=layer.ceil_mode, **window)
    return avg_pool_backward(g, spatial, layer.kernel, ceil_mode=layer.ceil_mode,
                             count_include_pad=layer.count_include_pad, **window)


def input_gradient(
    net: Network,
    x: npt.ArrayLike,
    weights: WeightsArg | None = None,
    layer: str | None = None,
    unit: Sequence[int] | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    dtype: npt.DTypeLike | None = None,
) -> Array:
    """``d(sum_c y[unit, c]) / dx`` by a real forward and backward pass (every op as it is:
    ReLU, max pooling, sigmoid, softmax, products), for an input shaped as the network's
    (``(*spatial, C)``), with or without a batch axis first; same shape as ``x``.  The numbers
    are those ``forward`` uses (``net.params`` first, then ``weights``, named kernels,
    ``init_weights``)."""
    arr = np.asarray(x)
    rank = len(net.input)
    squeeze = arr.ndim == rank
    xb = arr[None] if squeeze else arr
    if xb.ndim != rank + 1 or xb.shape[-1] != net.input[-1]:
        c = net.input[-1]
        raise ValueError(f"input_gradient expects an {LAYOUTS[rank - 1].replace('C)', f'{c})')} "
                         f"input, got {arr.shape}")
    kind = compute_dtype(net, xb) if dtype is None else np.dtype(dtype)
    xb = xb.astype(kind, copy=False)
    target, _ = _target(net, layer)
    layers = _target_layers(net, target)
    numbers = _numbers(net, weights, kind)
    acts = run_layers(layers, xb, numbers, max_bytes=max_bytes)
    where = _unit(acts[target].shape[1:-1], unit, target)
    seed = np.zeros_like(acts[target])
    index: tuple[slice | int, ...] = (slice(None), *where, slice(None))
    seed[index] = 1.0
    grads: dict[str, Array] = {target: seed}
    for lay in reversed(layers):
        g = grads.pop(lay.name, None)
        if g is not None:
            for name, g_in in _backward(lay, g, acts, numbers, max_bytes):
                _accumulate(grads, name, g_in)
    g_x = grads.get(INPUT_NAME, np.zeros_like(acts[INPUT_NAME]))
    g_x = np.ascontiguousarray(g_x)
    return g_x[0] if squeeze else g_x


def _cap_params(layer: Layer, own: Mapping[str, Array], cin: int,
                cout: int) -> dict[str, Array]:
    """A layer's learned numbers for its first ``cin`` input and ``cout`` output channels (a
    flatten's first channels are its input's first channels: index c H W + h W + w)."""
    out: dict[str, Array] = {}
    for key, value in own.items():
        v = np.asarray(value)
        if layer.op in ("conv", "deconv") and key == "weight":
            v = v[..., :cin if layer.op == "deconv" else cin // layer.groups, :cout]
        elif layer.op == "dense" and key == "weight":
            v = v[:cin]
        elif layer.op != "dense" and v.ndim == 1 and v.size > 1:
            v = v[:cout]
        out[key] = v
    return out


def cap_channels(net: Network, channels: int) -> Network:
    """The network with every conv and deconv limited to ``channels`` filters (groups reduced to
    a common divisor, so depthwise layers stay depthwise).  Learned numbers (``net.params``)
    are cut to the channels kept: the capped network is the first ``channels`` filters of every
    layer of the trained one (a grouped conv whose groups would change is refused)."""
    if channels < 1:
        raise ValueError(f"channels must be at least 1, got {channels}")
    shapes = {node.name: node.shape for node in analyze(net)}
    width = {INPUT_NAME: net.input[-1]}
    layers = []
    params: dict[str, dict[str, Array]] = {}
    for layer in net.layers:
        cin = width[layer.inputs[0]]
        if layer.op in ("conv", "deconv"):
            assert layer.filters is not None
            filters = min(layer.filters, channels)
            groups = math.gcd(layer.groups, filters, cin)
            if layer.name in net.params and groups != layer.groups and not (
                    layer.groups == layer.filters == shapes[layer.inputs[0]][-1]):
                raise ValueError(f"capping at {channels} channels changes the groups of the "
                                 f"trained layer {layer.name!r} ({layer.groups} to {groups}); "
                                 "try a larger cap")
            layer = replace(layer, filters=filters, groups=groups)
            width[layer.name] = filters
        elif layer.op == "concat":
            width[layer.name] = sum(width[name] for name in layer.inputs)
        elif layer.op in MERGE_OPS:
            widths = {width[name] for name in layer.inputs}
            if len(widths - {1}) > 1:
                raise ValueError(f"capping at {channels} channels gives the inputs of "
                                 f"{layer.op} layer {layer.name!r} different widths "
                                 f"{[width[name] for name in layer.inputs]}; try a larger cap")
            width[layer.name] = max(widths)
        elif layer.op == "flatten":
            width[layer.name] = cin * math.prod(shapes[layer.inputs[0]][:-1])
        elif layer.op == "dense":
            assert layer.filters is not None
            width[layer.name] = layer.filters
        else:
            width[layer.name] = cin
        if layer.name in net.params:
            params[layer.name] = _cap_params(layer, net.params[layer.name], cin,
                                             width[layer.name])
        layers.append(layer)
    return replace(net, layers=tuple(layers), params=params)


def erf_random(
    net: Network,
    layer: str | None = None,
    unit: Sequence[int] | None = None,
    *,
    seed: int = 0,
    channels: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> FloatMap:
    """ERF with the network's own numbers where it has them (``net.params``: the ERF of the
    trained network) and random ones elsewhere (He-normal, from ``init_weights(seed=seed)``),
    as a map of the input's spatial shape ((H, W) in 2-D): an N(0, 1) input image from
    ``default_rng([seed, 1])``, every op as it is (real ReLU and max pooling), and the
    gradient of ``unit`` of ``layer`` (the central unit of the output by default) by a real
    backward pass, summed over input channels.  ``channels`` caps every layer's filter count
    (see ``cap_channels``) to keep big networks cheap."""
    if channels is not None:
        net = cap_channels(net, channels)
    trained = all(layer.name in net.params for layer in net.layers if layer.op in WEIGHTED_OPS)
    weights = None if trained else init_weights(net, seed=seed, kind="random")
    image = np.random.default_rng([seed, 1]).standard_normal(net.input)
    grad = input_gradient(net, image, weights, layer, unit, max_bytes=max_bytes)
    return np.asarray(grad.sum(axis=-1), np.float64)
