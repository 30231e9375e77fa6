"""Test helper: an rfdocs Network (with params) written as an ONNX model with onnx.helper, so that
tests can go spec -> ONNX -> import and compare, and run the model in onnxruntime.

Written from the ONNX operator documentation, sharing no code with rfdocs.importers.onnx. Layer
names become node names and output tensor names (the input tensor is ``input``). Params a layer
lacks are drawn at random (seeded) and returned, so the caller knows every number.

Mapping (the inverse of the importer where one exists): conv -> Conv (``same`` -> auto_pad
SAME_UPPER, ``same_lower`` -> SAME_LOWER, ``valid`` -> VALID when ``auto_pad``, else explicit
pads), deconv -> ConvTranspose, pools -> MaxPool / AveragePool (count_include_pad written out),
identity -> Identity (the importer passes it through: no layer), affine -> Mul and/or Add (two
layers when it has both a scale and a shift), add of 3+ -> Sum, upsample -> Resize (nearest:
asymmetric + floor; linear: ``linear_mode``), flatten -> Flatten, dense -> Gemm (transB 1).
Networks in any dimension: a 1-D network's input is (1, C, T), a 3-D one's (1, C, D, H, W);
``causal`` padding is written as explicit pads.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from rfdocs.compute import analyze
from rfdocs.compute.receptive import resolve_pads
from rfdocs.compute.spec import INPUT_NAME, Layer, Network

Params = dict[str, dict[str, np.ndarray]]


def full_params(net: Network, seed: int = 0) -> Params:
    """Every learned number the ONNX model needs: ``net.params``, the rest drawn at random."""
    rng = np.random.default_rng(seed)
    channels = {node.name: node.shape[-1] for node in analyze(net)}
    out: Params = {}
    for layer in net.layers:
        have = {k: np.asarray(v, dtype=np.float32) for k, v in net.params.get(layer.name, {}).items()}
        cin = channels[layer.inputs[0]]
        kernel = tuple(layer.kernel)
        taps = math.prod(kernel)

        def draw(key: str, shape: tuple[int, ...], scale: float = 1.0, low: float | None = None,
                 have: dict[str, np.ndarray] = have) -> None:
            if key not in have:
                values = (rng.uniform(low, low + scale, shape) if low is not None
                          else rng.normal(0, scale, shape))
                have[key] = values.astype(np.float32)

        if layer.op == "conv":
            assert layer.filters is not None
            draw("weight", (*kernel, cin // layer.groups, layer.filters), (2 / (taps * cin)) ** 0.5)
            draw("bias", (layer.filters,), 0.1)
        elif layer.op == "deconv":
            assert layer.filters is not None
            draw("weight", (*kernel, cin, layer.filters), (2 / (taps * cin)) ** 0.5)
            draw("bias", (layer.filters,), 0.1)
        elif layer.op == "dense":
            assert layer.filters is not None
            draw("weight", (cin, layer.filters), (1 / cin) ** 0.5)
            draw("bias", (layer.filters,), 0.1)
        elif layer.op == "batchnorm":
            draw("mean", (cin,), 0.5)
            draw("var", (cin,), 1.5, low=0.5)
            draw("scale", (cin,), 1.0, low=0.5)
            draw("bias", (cin,), 0.2)
        elif layer.op == "prelu":
            draw("slope", (cin,), 0.5, low=0.0)
        if have:
            out[layer.name] = have
    return out


def network_to_onnx(net: Network, params: Params | None = None, *, opset: int = 20,
                    auto_pad: bool = True, linear_mode: str = "half_pixel",
                    dynamic: bool = False) -> onnx.ModelProto:
    """``net`` as an ONNX model (float32, input ``input`` of shape (1, C, H, W), or (N, C, H, W)
    with symbolic N, H, W when ``dynamic``; (1, C, T) and (1, C, D, H, W) for 1-D and 3-D
    networks); ``params`` as ``full_params`` gives them."""
    params = full_params(net) if params is None else params
    sizes = {node.name: node.shape for node in analyze(net)}
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []

    def const(name: str, array: Any, dtype: Any = np.float32) -> str:
        inits.append(numpy_helper.from_array(np.asarray(array, dtype=dtype), name))
        return name

    for layer in net.layers:
        nodes += _layer_nodes(layer, params.get(layer.name, {}), sizes, const, auto_pad,
                              linear_mode, _is_flat(net, layer.inputs[0]))
    *spatial, c = net.input
    axis_names = {1: ["T"], 2: ["H", "W"], 3: ["D", "H", "W"]}[len(spatial)]
    dims: list[Any] = ["N", c, *axis_names] if dynamic else [1, c, *spatial]
    used = {name for layer in net.layers for name in layer.inputs}
    sinks = [net.layers[-1].name] + [layer.name for layer in net.layers[:-1]
                                     if layer.name not in used]
    outputs = []
    for index, out in enumerate(sinks):  # every layer nothing reads, the last layer first
        *out_spatial, oc = sizes[out]
        flat = _is_flat(net, out)
        out_dims: list[Any] = ([f"N{index}", oc] if flat else [
            f"N{index}", oc, *(f"{a}{index}" for a in axis_names)]) if dynamic else (
            [1, oc] if flat else [1, oc, *out_spatial])
        outputs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, out_dims))
    graph = helper.make_graph(
        nodes, "rfdocs_test",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, dims)], outputs,
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="rfdocs-tests")
    model.ir_version = min(model.ir_version, 10)  # what the installed onnxruntime reads
    return model


def _is_flat(net: Network, name: str) -> bool:
    """Whether the ONNX tensor of layer ``name`` is (N, K): after flatten or dense, through
    pointwise layers."""
    by_name = {layer.name: layer for layer in net.layers}
    while name in by_name:
        layer = by_name[name]
        if layer.op in ("flatten", "dense"):
            return True
        if layer.op in ("conv", "deconv", "maxpool", "avgpool", "pad", "upsample",
                        "globalavgpool", "globalmaxpool"):
            return False
        name = layer.inputs[0]
    return False


def _pads_attr(layer: Layer, size: tuple[int, ...], auto_pad: bool) -> dict[str, Any]:
    """auto_pad where onnxruntime runs it (it refuses dilated SAME convolutions and computes
    negative SAME pads where the window is shorter than the stride), else explicit pads (ONNX
    order: every axis' begin, then every axis' end)."""
    nd = len(size)
    spans = [layer.dilation[a] * (layer.kernel[a] - 1) + 1 for a in range(nd)]
    runs = all(d == 1 for d in layer.dilation) and all(
        (-(-size[a] // layer.stride[a]) - 1) * layer.stride[a] + spans[a] >= size[a]
        for a in range(nd))
    if layer.padding in ("same", "same_lower", "valid") and auto_pad and layer.op != "deconv" \
            and (runs or layer.padding == "valid"):
        return {"auto_pad": {"same": "SAME_UPPER", "same_lower": "SAME_LOWER",
                             "valid": "VALID"}[str(layer.padding)]}
    pads = resolve_pads(layer, size)
    return {"pads": [*pads[0::2], *pads[1::2]]}


def _layer_nodes(layer: Layer, p: dict[str, np.ndarray], sizes: dict[str, tuple[int, ...]],
                 const: Any, auto_pad: bool, linear_mode: str,
                 flat: bool) -> list[onnx.NodeProto]:
    name, op, ins = layer.name, layer.op, list(layer.inputs)
    size = sizes[ins[0]][:-1]
    nd = len(size)
    ones = (1,) * nd
    make = helper.make_node
    if op in ("conv", "deconv"):
        weight = (p["weight"].transpose(nd + 1, nd, *range(nd)) if op == "conv"
                  else p["weight"].transpose(nd, nd + 1, *range(nd)))
        args = [ins[0], const(f"{name}.weight", weight), const(f"{name}.bias", p["bias"])]
        attrs: dict[str, Any] = {"kernel_shape": list(layer.kernel), "strides": list(layer.stride),
                                 "dilations": list(layer.dilation),
                                 **_pads_attr(layer, size, auto_pad)}
        if op == "conv":
            attrs["group"] = layer.groups
            return [make("Conv", args, [name], name=name, **attrs)]
        attrs["output_padding"] = list(layer.output_padding)
        return [make("ConvTranspose", args, [name], name=name, **attrs)]
    if op in ("maxpool", "avgpool"):
        attrs = {"kernel_shape": list(layer.kernel), "strides": list(layer.stride),
                 "ceil_mode": int(layer.ceil_mode), **_pads_attr(layer, size, auto_pad)}
        if any(d != 1 for d in layer.dilation) or op == "maxpool":
            attrs["dilations"] = list(layer.dilation)
        if op == "avgpool":
            attrs["count_include_pad"] = int(layer.count_include_pad)
            return [make("AveragePool", ins, [name], name=name, **attrs)]
        return [make("MaxPool", ins, [name], name=name, **attrs)]
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "hardswish": "HardSwish",
              "identity": "Identity", "globalavgpool": "GlobalAveragePool",
              "globalmaxpool": "GlobalMaxPool", "concat": "Concat", "sub": "Sub", "div": "Div"}
    if op in simple:
        attrs = {"axis": 1} if op == "concat" else {}
        return [make(simple[op], ins, [name], name=name, **attrs)]
    if op in ("add", "mul"):
        if len(ins) == 2:
            return [make(op.capitalize(), ins, [name], name=name)]
        if op == "add":
            return [make("Sum", ins, [name], name=name)]
        out, chain = ins[0], []
        for i, other in enumerate(ins[1:]):
            target = name if i == len(ins) - 2 else f"{name}_part{i}"
            chain.append(make("Mul", [out, other], [target], name=target))
            out = target
        return chain
    if op == "leakyrelu":
        return [make("LeakyRelu", ins, [name], name=name, alpha=layer.alpha)]
    if op == "hardsigmoid":
        return [make("HardSigmoid", ins, [name], name=name, alpha=layer.alpha, beta=layer.beta)]
    if op == "prelu":
        slope = p.get("slope", np.full(1, layer.alpha, np.float32))
        slope = slope.reshape(-1) if flat else slope.reshape(-1, *ones)
        return [make("PRelu", [ins[0], const(f"{name}.slope", slope)], [name], name=name)]
    if op == "clip":
        args = [ins[0], const(f"{name}.min", layer.min) if layer.min is not None else "",
                const(f"{name}.max", layer.max) if layer.max is not None else ""]
        while args[-1] == "":
            args.pop()
        return [make("Clip", args, [name], name=name)]
    if op == "gelu":
        return [make("Gelu", ins, [name], name=name, approximate=layer.approximate)]
    if op == "softmax":
        return [make("Softmax", ins, [name], name=name, axis=1)]
    if op == "batchnorm":
        args = [ins[0]] + [const(f"{name}.{k}", p[k]) for k in ("scale", "bias", "mean", "var")]
        return [make("BatchNormalization", args, [name], name=name, epsilon=layer.epsilon)]
    if op == "affine":
        shape = (1, -1) if flat else (-1, *ones)
        scale = p.get("scale", np.array([layer.scale], np.float32))
        shift = p.get("shift", np.array([layer.shift], np.float32))
        out = []
        source = ins[0]
        has_shift = "shift" in p or layer.shift != 0
        if "scale" in p or layer.scale != 1 or not has_shift:
            target = f"{name}_scale" if has_shift else name
            out.append(make("Mul", [source, const(f"{name}.scale", scale.reshape(shape))],
                            [target], name=target))
            source = target
        if has_shift:
            out.append(make("Add", [source, const(f"{name}.shift", shift.reshape(shape))],
                            [name], name=name))
        return out
    if op == "pad":
        pads = resolve_pads(layer, size)
        args = [ins[0], const(f"{name}.pads", [0, 0, *pads[0::2], 0, 0, *pads[1::2]], np.int64),
                const(f"{name}.value", layer.value)]
        return [make("Pad", args, [name], name=name, mode="constant")]
    if op == "upsample":
        scales = const(f"{name}.scales", [1, 1, *layer.factor])
        if layer.mode == "nearest":
            attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                     "nearest_mode": "floor"}
        else:
            attrs = {"mode": "linear", "coordinate_transformation_mode": linear_mode}
        return [make("Resize", [ins[0], "", scales], [name], name=name, **attrs)]
    if op == "flatten":
        return [make("Flatten", ins, [name], name=name, axis=1)]
    if op == "dense":
        args = [ins[0], const(f"{name}.weight", p["weight"].T), const(f"{name}.bias", p["bias"])]
        return [make("Gemm", args, [name], name=name, transB=1)]
    raise ValueError(f"no ONNX form for op {op!r}")


def without_identities(net: Network) -> Network:
    """``net`` with its identity layers dropped (their users read the identity's input), as the
    importer gives an ONNX Identity back."""
    source: dict[str, str] = {}
    layers = []
    for layer in net.layers:
        inputs = tuple(source.get(i, i) for i in layer.inputs)
        if layer.op == "identity":
            source[layer.name] = inputs[0]
            continue
        layers.append(replace(layer, inputs=inputs))
    return replace(net, layers=tuple(layers))


def save(model: onnx.ModelProto, path: Any) -> None:
    """Write ``model`` (checked by onnx's checker first)."""
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def with_resolved_pads(net: Network) -> Network:
    """``net`` with every window layer's ``same``/``valid`` padding written as numbers (for
    comparing networks that differ only in how their padding is given)."""
    sizes = {node.name: node.shape for node in analyze(net)}
    layers = []
    for layer in net.layers:
        if isinstance(layer.padding, str) and layer.op in ("conv", "deconv", "maxpool", "avgpool"):
            layer = replace(layer, padding=resolve_pads(layer, sizes[layer.inputs[0]][:-1]))
        layers.append(layer)
    return replace(net, layers=tuple(layers))


def chain_model(nodes: int = 200, seed: int = 0) -> onnx.ModelProto:
    """A model of about ``nodes`` nodes shaped like a real PyTorch export (the import benchmark's
    model): blocks of Conv 3x3, Relu and a residual Add named by module scopes
    (``/layer0/layer0.1/conv/Conv``), ending in a global average pool; input 1x8x32x32."""
    rng = np.random.default_rng(seed)
    make = helper.make_node
    graph_nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    current, index = INPUT_NAME, 0
    while len(graph_nodes) < nodes - 1:
        block = f"/layer{index // 4}/layer{index // 4}.{index % 4}"
        inits += [numpy_helper.from_array((rng.normal(size=(8, 8, 3, 3)) * 0.1).astype(np.float32),
                                          f"W{index}"),
                  numpy_helper.from_array(rng.normal(size=8).astype(np.float32), f"B{index}")]
        graph_nodes += [
            make("Conv", [current, f"W{index}", f"B{index}"], [f"c{index}"], pads=[1, 1, 1, 1],
                 name=f"{block}/conv/Conv"),
            make("Relu", [f"c{index}"], [f"r{index}"], name=f"{block}/relu/Relu"),
            make("Add", [f"r{index}", current], [f"a{index}"], name=f"{block}/Add")]
        current, index = f"a{index}", index + 1
    graph_nodes.append(make("GlobalAveragePool", [current], ["y"], name="/pool/GlobalAveragePool"))
    graph = helper.make_graph(
        graph_nodes, "chain", [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT,
                                                             [1, 8, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 1, 1])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 10)
    return model
