"""Run a whole network on an input: its numbers (learned, named or initialised) and the forward
pass of every operator of the network language (numpy only).

Semantics are those of ONNX Runtime on the NCHW tensor that the spec's (H, W, C) stands for;
arrays here are (N, H, W, C).  Where a layer's numbers come from, first match wins:

1. ``net.params[layer]`` (an importer's learned numbers, see ``Network``);
2. the ``weights`` argument of ``forward`` (a weight array, or a mapping with ``weight`` and
   ``bias``, by layer name);
3. the layer's named kernels (``Layer.weights``): kernel ``k`` of filter ``o`` is centred in
   the layer's kernel (zeros around; an odd leftover row or column goes below / right) and
   repeated over the input channels divided by their number, as rf-featuremaps does;
4. ``init_weights`` (He-normal, seeded), bias 0.

Batch normalisation without params is the identity statistics (mean 0, var 1, scale 1, bias 0),
prelu's slope is its ``alpha`` field, affine's scale and shift its fields.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from rfdocs.compute import ops
from rfdocs.compute.conv import (
    DEFAULT_MAX_BYTES,
    IM2COL_MAX_BYTES,
    LAYOUTS,
    Array,
    avg_pool,
    conv,
    conv_transpose,
    max_pool,
)
from rfdocs.compute.receptive import analyze, resolve_pads
from rfdocs.compute.spec import INPUT_NAME, MERGE_OPS, Layer, Network

WeightKind = Literal["random", "uniform", "ones"]
WEIGHT_KINDS: tuple[WeightKind, ...] = ("random", "uniform", "ones")
#: Ops with a weight and a bias.
WEIGHTED_OPS = ("conv", "deconv", "dense")
#: Layer numbers by parameter name (``weight``, ``bias``, ``mean``, ...).
LayerParams = Mapping[str, Array]
WeightsArg = Mapping[str, "Array | LayerParams"]


def weight_shape(layer: Layer, in_channels: int) -> tuple[int, ...]:
    """(*kernel, Cin // groups, Cout) for conv ((kh, kw, Cin // groups, Cout) in 2-D),
    (*kernel, Cin, Cout) for deconv and (Cin, units) for dense layers."""
    if layer.filters is None or layer.op not in WEIGHTED_OPS:
        raise ValueError(f"layer {layer.name!r} ({layer.op}) has no weights")
    if layer.op == "dense":
        return (in_channels, layer.filters)
    if layer.op == "deconv":
        return (*layer.kernel, in_channels, layer.filters)
    return (*layer.kernel, in_channels // layer.groups, layer.filters)


def fan_in(layer: Layer, in_channels: int) -> float:
    """Inputs summed into one output unit: ``kh kw Cin / groups`` for a convolution (the
    product of the kernel's sizes in any dimension), ``kh kw Cin / (sh sw)`` on average for a
    transposed one, ``Cin`` for a dense layer."""
    shape = weight_shape(layer, in_channels)
    if layer.op == "dense":
        return float(shape[0])
    taps = math.prod(shape[:-1])
    if layer.op == "deconv":
        return taps / math.prod(layer.stride)
    return float(taps)


def _channels(net: Network) -> dict[str, int]:
    return {node.name: node.shape[-1] for node in analyze(net)}


def _init_one(layer: Layer, cin: int, kind: WeightKind, rng: np.random.Generator,
              dtype: npt.DTypeLike) -> Array:
    shape = weight_shape(layer, cin)
    if kind == "random":
        std = np.sqrt(2.0 / fan_in(layer, cin))
        drawn: Array = (rng.standard_normal(shape) * std).astype(dtype)
        return drawn
    if kind == "uniform":
        return np.full(shape, 1.0 / fan_in(layer, cin), dtype)
    return np.ones(shape, dtype)


def _check_kind(kind: str) -> None:
    if kind not in WEIGHT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(WEIGHT_KINDS)}, got {kind!r}")


def init_weights(
    net: Network,
    *,
    seed: int = 0,
    kind: WeightKind = "random",
    dtype: npt.DTypeLike = np.float64,
) -> dict[str, Array]:
    """Weights of every conv, deconv and dense layer, by name, with input channels from the
    analysis (params and named kernels are not looked at: see ``layer_weights``).

    ``random``: He-normal, ``N(0, 2 / fan_in)``, drawn in layer order from
    ``numpy.random.default_rng(seed)``; ``uniform``: every weight ``1 / fan_in``, so a constant
    image stays (roughly, for deconvs) constant; ``ones``: every weight 1.
    """
    _check_kind(kind)
    channels = _channels(net)
    rng = np.random.default_rng(seed)
    return {layer.name: _init_one(layer, channels[layer.inputs[0]], kind, rng, dtype)
            for layer in net.layers if layer.op in WEIGHTED_OPS}


def named_weight(layer: Layer, in_channels: int, dtype: npt.DTypeLike = np.float64) -> Array:
    """The weight a conv or deconv layer's named kernels (``Layer.weights``) give: kernel ``k``
    of filter ``o`` centred in the layer's kernel and spread evenly over the input channels
    it sees (``k / Cin`` on each, ``Cin`` per group for a grouped conv)."""
    from rfdocs.compute.kernels import parse_kernel

    if layer.op not in ("conv", "deconv") or not layer.weights:
        raise ValueError(f"layer {layer.name!r} has no named kernels")
    if len(layer.kernel) != 2:
        raise ValueError(f"layer {layer.name!r}: named kernels are 2-D, the layer's kernel is "
                         f"{len(layer.kernel)}-D")
    shape = weight_shape(layer, in_channels)
    kh, kw, ci, cout = shape
    specs = layer.weights if len(layer.weights) == cout else layer.weights * cout
    weight = np.zeros(shape, np.float64)
    for o, spec in enumerate(specs[:cout]):
        k = parse_kernel(spec).weights
        if k.shape[0] > kh or k.shape[1] > kw:
            raise ValueError(f"layer {layer.name!r}: kernel {spec!r} is {k.shape[0]}x"
                             f"{k.shape[1]}, larger than the layer's {kh}x{kw} kernel")
        top, left = (kh - k.shape[0]) // 2, (kw - k.shape[1]) // 2
        weight[top:top + k.shape[0], left:left + k.shape[1], :, o] = k[:, :, None] / ci
    return weight.astype(dtype)


def _given(value: Any) -> tuple[Any, Any]:
    """(weight, bias) from a ``weights`` entry: an array, or a mapping with those keys."""
    if isinstance(value, Mapping):
        return value.get("weight"), value.get("bias")
    return value, None


def _check_shape(layer: Layer, name: str, array: Any, shape: tuple[int, ...],
                 where: str) -> Array:
    arr = np.asarray(array)
    if arr.shape != shape:
        raise ValueError(f"layer {layer.name!r}: the {name} from {where} has shape {arr.shape}, "
                         f"the layer needs {shape}")
    return arr


def layer_weights(
    net: Network,
    weights: WeightsArg | None = None,
    *,
    seed: int = 0,
    kind: WeightKind = "random",
    dtype: npt.DTypeLike | None = None,
) -> dict[str, dict[str, Array]]:
    """``{"weight": ..., "bias": ...}`` of every conv, deconv and dense layer: from
    ``net.params``, else ``weights``, else the named kernels, else ``init_weights(seed, kind)``
    (drawn in layer order for the layers that need them, so a network without params or
    named kernels gets exactly ``init_weights``), bias 0 where none is given.  ``dtype``: that
    of the arrays (None: float32 where the params are float32, else float64)."""
    _check_kind(kind)
    dtype = compute_dtype(net, None) if dtype is None else np.dtype(dtype)
    channels = _channels(net)
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, Array]] = {}
    for layer in net.layers:
        if layer.op not in WEIGHTED_OPS:
            continue
        cin = channels[layer.inputs[0]]
        shape = weight_shape(layer, cin)
        assert layer.filters is not None
        own = net.params.get(layer.name, {})
        weight, bias = own.get("weight"), own.get("bias")
        where = "params"
        if weight is None and weights is not None and layer.name in weights:
            weight, given_bias = _given(weights[layer.name])
            bias = given_bias if bias is None else bias
            where = "weights"
        if weight is None and layer.weights:
            weight = named_weight(layer, cin)
        if weight is None:
            weight = _init_one(layer, cin, kind, rng, np.float64)
        w = _check_shape(layer, "weight", weight, shape, where).astype(dtype, copy=False)
        b = (np.zeros(layer.filters, dtype) if bias is None else
             _check_shape(layer, "bias", bias, (layer.filters,), where).astype(dtype, copy=False))
        out[layer.name] = {"weight": w, "bias": b}
    return out


def compute_dtype(net: Network, x: npt.NDArray[Any] | None) -> np.dtype[Any]:
    """float32 when the input is float32 (or narrower) or the network's params are float32
    arrays; float64 otherwise."""
    if x is not None and np.issubdtype(x.dtype, np.floating) and x.dtype.itemsize <= 4:
        return np.dtype(np.float32)
    arrays = [np.asarray(v) for p in net.params.values() for v in p.values()]
    if arrays and all(a.dtype == np.float32 for a in arrays):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _numbers(net: Network, weights: WeightsArg | None,
             dtype: np.dtype[Any]) -> dict[str, dict[str, Array]]:
    """Every layer's numbers: weights and biases (``layer_weights``) and the other params."""
    numbers = layer_weights(net, weights, dtype=dtype)
    for name, own in net.params.items():
        if name not in numbers:
            numbers[name] = {key: np.asarray(v, dtype) for key, v in own.items()}
    return numbers


# --------------------------------------------------------------------------- one layer


def _merge(layer: Layer, inputs: list[Array]) -> Array:
    op = layer.op
    shapes = [a.shape for a in inputs]
    if op == "concat":
        if any(a.shape[:-1] != inputs[0].shape[:-1] for a in inputs[1:]):
            raise ValueError(f"layer {layer.name!r}: concat needs inputs of one spatial size, "
                             f"got {[s[1:-1] for s in shapes]}")
        return np.concatenate(inputs, axis=-1)
    rank = inputs[0].ndim
    out = [max(s[i] for s in shapes) for i in range(rank)]
    ones = (1,) * (rank - 2)
    for s in shapes:
        if (len(s) != rank or s[0] != out[0] or s[1:-1] not in (tuple(out[1:-1]), ones)
                or s[-1] not in (1, out[-1])):
            raise ValueError(f"layer {layer.name!r}: {op} needs inputs of one shape (or of "
                             "spatial size 1, or one channel, which spread), got "
                             f"{[s[1:] for s in shapes]}")
    if op == "sub":
        return np.subtract(inputs[0], inputs[1])
    if op == "div":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.divide(inputs[0], inputs[1])
    total = inputs[0]
    for other in inputs[1:]:
        total = total + other if op == "add" else total * other
    return total


def _pointwise(layer: Layer, x: Array, params: LayerParams) -> Array:
    op = layer.op
    c = x.shape[-1]
    if op == "relu":
        return np.maximum(x, 0)
    if op == "leakyrelu":
        return np.where(x < 0, x * x.dtype.type(layer.alpha), x)
    if op == "prelu":
        slope = ops.channel_values(params.get("slope"), layer.alpha, c, x.dtype, "prelu slope")
        return np.where(x < 0, x * slope, x)
    if op == "sigmoid":
        return ops.sigmoid(x)
    if op == "tanh":
        return np.tanh(x)
    if op == "clip":
        if layer.min is None and layer.max is None:
            return x
        return np.clip(x, layer.min, layer.max).astype(x.dtype, copy=False)
    if op == "hardsigmoid":
        return np.clip(x * x.dtype.type(layer.alpha) + x.dtype.type(layer.beta), 0, 1)
    if op == "hardswish":
        return x * np.clip(x / x.dtype.type(6) + x.dtype.type(0.5), 0, 1)
    if op == "gelu":
        return ops.gelu(x, layer.approximate)
    if op == "softmax":
        return ops.softmax(x)
    if op == "batchnorm":
        a, b = ops.batchnorm_coefficients(params, layer.epsilon, c, x.dtype)
        return x * a + b
    if op == "affine":
        scale = ops.channel_values(params.get("scale"), layer.scale, c, x.dtype, "affine scale")
        shift = ops.channel_values(params.get("shift"), layer.shift, c, x.dtype, "affine shift")
        return x * scale + shift
    raise AssertionError(op)


def apply_layer(
    layer: Layer,
    inputs: list[Array],
    params: LayerParams | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Array:
    """One layer on its input activations, each (N, *spatial, C) (1 to 3 spatial axes, as the
    layer's per-axis fields); ``params`` are the layer's own numbers (``weight`` and ``bias`` of
    conv, deconv, dense; batchnorm's statistics; prelu's ``slope``; affine's ``scale`` and
    ``shift``)."""
    own: LayerParams = params if params is not None else {}
    x = inputs[0]
    op = layer.op
    spatial = x.shape[1:-1]
    nd = len(spatial)
    if op == "identity":
        return x
    if op in MERGE_OPS:
        return _merge(layer, inputs)
    if op in ("conv", "deconv", "dense"):
        if "weight" not in own:
            raise ValueError(f"no weights for layer {layer.name!r}")
        w, b = own["weight"], own.get("bias")
        if op == "dense":
            if any(n != 1 for n in spatial):
                raise ValueError(f"layer {layer.name!r}: dense needs an input of spatial size "
                                 f"1, got {'x'.join(map(str, spatial))}")
            out = x.reshape(x.shape[0], -1) @ w
            if b is not None:
                out += b
            return out.reshape(x.shape[0], *(1,) * len(spatial), -1)
        pads = resolve_pads(layer, spatial)
        if op == "conv":
            return conv(x, w, b, stride=layer.stride, pads=pads, dilation=layer.dilation,
                        groups=layer.groups, max_bytes=max_bytes, what=f"conv{nd}d")
        return conv_transpose(x, w, b, stride=layer.stride, pads=pads,
                              dilation=layer.dilation, output_padding=layer.output_padding,
                              max_bytes=max_bytes, what=f"conv_transpose{nd}d")
    if op in ("maxpool", "avgpool"):
        pads = resolve_pads(layer, spatial)
        if op == "maxpool":
            return max_pool(x, layer.kernel, stride=layer.stride, pads=pads,
                            dilation=layer.dilation, ceil_mode=layer.ceil_mode,
                            max_bytes=max_bytes, what=f"max_pool{nd}d")
        return avg_pool(x, layer.kernel, stride=layer.stride, pads=pads,
                        dilation=layer.dilation, ceil_mode=layer.ceil_mode,
                        count_include_pad=layer.count_include_pad, max_bytes=max_bytes,
                        what=f"avg_pool{nd}d")
    axes = tuple(range(1, x.ndim - 1))
    if op == "pad":
        pads = resolve_pads(layer, spatial)
        widths = [(0, 0), *((pads[2 * a], pads[2 * a + 1]) for a in range(len(spatial))),
                  (0, 0)]
        return np.pad(x, widths, constant_values=layer.value)
    if op == "upsample":
        return ops.upsample(x, layer.factor, layer.mode)
    if op == "globalavgpool":
        return np.asarray(x.mean(axis=axes, keepdims=True, dtype=np.float64), x.dtype)
    if op == "globalmaxpool":
        return np.asarray(x.max(axis=axes, keepdims=True))
    if op == "flatten":
        return ops.flatten(x)
    return _pointwise(layer, x, own)


# --------------------------------------------------------------------------- whole networks


def _target_layers(net: Network, until: str | None) -> tuple[Layer, ...]:
    """The layers ``until`` (a layer name; None: the output) depends on, in order."""
    if until is None:
        return net.layers
    if until == INPUT_NAME:
        return ()
    names = [layer.name for layer in net.layers]
    if until not in names:
        raise ValueError(f"no layer named {until!r}; choose 'input' or one of "
                         f"{', '.join(repr(n) for n in names[:20])}"
                         f"{' ...' if len(names) > 20 else ''}")
    needed = {until}
    for layer in reversed(net.layers[:names.index(until) + 1]):
        if layer.name in needed:
            needed.update(layer.inputs)
    return tuple(layer for layer in net.layers if layer.name in needed)


def forward(
    net: Network,
    x: npt.ArrayLike,
    weights: WeightsArg | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    until: str | None = None,
    dtype: npt.DTypeLike | None = None,
) -> dict[str, Array]:
    """Every node's activation (``"input"`` for the input) for an input shaped as the network's
    (``(*spatial, C)``: (T, C), (H, W, C) or (D, H, W, C)), with or without a batch axis first,
    up to the layer ``until`` (the layers it depends on; None: all).  Numbers: see the module
    docstring.  ``dtype``: the arithmetic (None: ``compute_dtype``: float32 for a float32 input
    or float32 params).  ``max_bytes`` bounds each op and all activations together."""
    arr = np.asarray(x)
    rank = len(net.input)
    if arr.ndim not in (rank, rank + 1):
        raise ValueError(f"forward expects an {LAYOUTS[rank - 1]} input for this "
                         f"{rank - 1}-D network, got {arr.shape}")
    squeeze = arr.ndim == rank
    xb = arr[None] if squeeze else arr
    kind = compute_dtype(net, xb) if dtype is None else np.dtype(dtype)
    xb = xb.astype(kind, copy=False)
    if xb.shape[-1] != net.input[-1]:
        raise ValueError(f"the network takes {net.input[-1]} input channels, got "
                         f"{xb.shape[-1]}")
    numbers = _numbers(net, weights, kind)
    acts = run_layers(_target_layers(net, until), xb, numbers, max_bytes=max_bytes)
    return {name: a[0] for name, a in acts.items()} if squeeze else acts


def run_layers(layers: tuple[Layer, ...], xb: Array, numbers: Mapping[str, LayerParams], *,
               max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Array]:
    """``layers`` (in order) on the batched input with resolved numbers: every activation."""
    acts: dict[str, Array] = {INPUT_NAME: xb}
    total = xb.nbytes
    for layer in layers:
        out = apply_layer(layer, [acts[name] for name in layer.inputs],
                          numbers.get(layer.name), max_bytes=max_bytes)
        if out.dtype != xb.dtype:
            out = out.astype(xb.dtype)
        total += out.nbytes
        if total > max_bytes:
            raise ValueError(f"the activations up to layer {layer.name!r} take "
                             f"{total / 2**20:.1f} MiB, more than the limit of "
                             f"{max_bytes / 2**20:.1f} MiB (max_bytes)")
        acts[layer.name] = out
    return acts


#: Element operations per value of the pointwise ops (a rough count for budgets).
_POINTWISE_WORK = {"gelu": 90, "softmax": 6, "sigmoid": 5, "tanh": 5, "hardswish": 4,
                   "hardsigmoid": 3, "batchnorm": 2, "affine": 2, "prelu": 3, "leakyrelu": 3}


def forward_cost(net: Network, batch: int = 1, *, until: str | None = None,
                 itemsize: int | None = None) -> tuple[int, int]:
    """(multiply-adds, peak bytes) of ``forward(net, x)`` on ``batch`` inputs, counted from the
    shapes before anything is computed.  Multiply-adds: convolutions, dense layers and pools
    exactly (one per tap and output), element-wise ops by a small per-value count.  Peak bytes:
    the input and every activation kept, the numbers, and the largest transient of one layer
    (padded copy, im2col columns); ``itemsize`` 4 or 8 (None: that ``compute_dtype`` picks for
    a float64 input)."""
    item = itemsize if itemsize is not None else compute_dtype(net, None).itemsize
    nodes = {node.name: node for node in analyze(net)}
    layers = _target_layers(net, until)

    def size(name: str) -> int:
        return batch * math.prod(nodes[name].shape)

    kept = size(INPUT_NAME)
    params = 0
    transient = 0
    work = 0
    for layer in layers:
        node = nodes[layer.name]
        src = nodes[layer.inputs[0]]
        spatial, c = src.shape[:-1], src.shape[-1]
        positions = batch * math.prod(spatial)  # input positions (times the batch)
        out_positions = batch * math.prod(node.shape[:-1])
        out = size(layer.name)
        op = layer.op
        pads = node.pads
        padded = batch * math.prod(n + pads[2 * a] + pads[2 * a + 1]
                                   for a, n in enumerate(spatial))
        if op in WEIGHTED_OPS:
            shape = weight_shape(layer, c)
            count = int(np.prod(shape)) + shape[-1]
            params += count
            taps = math.prod(shape[:-2])
            if op == "dense":
                work += batch * (count - shape[-1])
            elif op == "conv":
                work += out * taps * shape[-2]
                columns = out_positions * taps * c
                if columns * item > IM2COL_MAX_BYTES:
                    columns = out_positions * c
                transient = max(transient, padded * c + columns + out)
            else:
                ci, co = shape[-2:]
                work += positions * taps * ci * co
                full = batch * math.prod(n + sum(pads) for n in node.shape[:-1])
                transient = max(transient, full * co + 2 * positions * (ci + co))
        elif op in ("maxpool", "avgpool"):
            work += out * math.prod(layer.kernel)
            transient = max(transient, batch * math.prod(
                n + pads[2 * a] + pads[2 * a + 1] + layer.stride[a]
                for a, n in enumerate(spatial)) * c + out)
        elif op in ("globalavgpool", "globalmaxpool", "flatten", "pad", "upsample", "concat"):
            work += max(out, positions * c)
            transient = max(transient, 2 * batch * math.prod(n + 3 for n in spatial) * c)
        else:
            per = _POINTWISE_WORK.get(op, 1)
            work += per * out * max(1, len(layer.inputs) - 1)
            transient = max(transient, (4 if op == "gelu" else 2) * out * 2)
        kept += out
    return work, item * (kept + params + transient)
