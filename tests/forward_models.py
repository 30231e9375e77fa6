"""Independent references for the forward engine: a Network with its numbers written out as an
ONNX graph (NCHW, built node by node with onnx.helper from the Layer fields and params, sharing
no code with the engine or the importer) and run by onnxruntime; a ResNet-18 with random learned
numbers; and the side-by-side timing of the two engines (``compare_speed``, for ``make bench``).

onnx and onnxruntime are imported lazily: callers skip when they are missing."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from rfdocs.compute.forward import layer_weights
from rfdocs.compute.receptive import analyze, resolve_pads
from rfdocs.compute.spec import INPUT_NAME, Network, parse_spec

Arr = np.ndarray[Any, Any]
OPSET = 21  # Gelu needs 20


def onnx_model(net: Network, *, seed: int = 0, every_node: bool = True) -> Any:
    """``net`` with its numbers (``net.params``, else named kernels or ``init_weights(seed)``,
    as the engine resolves them: the weights are fixed here so both engines get the same ones)
    as an ONNX model whose outputs are every node (channel first: NCT, NCHW or NCDHW, or (N, K)
    after flatten and dense), or only the last one (``every_node=False``: onnxruntime may then
    fuse nodes)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = layer_weights(net, seed=seed, dtype=np.float32)
    shapes = {node.name: node.shape for node in analyze(net)}
    nodes: list[Any] = []
    inits: list[Any] = []
    ndim = net.ndim
    full_rank = ndim + 2
    rank = {INPUT_NAME: full_rank}

    def const(name: str, value: Any, dtype: Any = np.float32) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def channel_const(name: str, value: Any, r: int) -> str:
        """A per-channel (C,) or scalar value shaped to broadcast over NCHW (or (N, C))."""
        arr = np.asarray(value, np.float32)
        if arr.size > 1:
            arr = arr.reshape((-1, *(1,) * ndim) if r == full_rank else (-1,))
        return const(name, arr)

    def as_2d(src: str, r: int, name: str) -> str:
        if r == 2:
            return src
        nodes.append(helper.make_node("Flatten", [src], [name + "/flat"], axis=1))
        return name + "/flat"

    for layer in net.layers:
        op, name = layer.op, layer.name
        ins = list(layer.inputs)
        r = rank[ins[0]]
        own = net.params.get(name, {})
        pads = resolve_pads(layer, shapes[ins[0]][:-1])
        onnx_pads = [*pads[0::2], *pads[1::2]]  # every axis' start, then every axis' end
        geo: dict[str, Any] = {"kernel_shape": list(layer.kernel), "strides": list(layer.stride),
               "pads": onnx_pads, "dilations": list(layer.dilation)}
        out_rank = r
        if op == "conv":
            wt = weights[name]
            nodes.append(helper.make_node(
                "Conv", [ins[0], const(name + "/W", wt["weight"].transpose(
                    ndim + 1, ndim, *range(ndim))),
                         const(name + "/B", wt["bias"])], [name], group=layer.groups, **geo))
        elif op == "deconv":
            wt = weights[name]
            nodes.append(helper.make_node(
                "ConvTranspose", [ins[0], const(name + "/W", wt["weight"].transpose(
                    ndim, ndim + 1, *range(ndim))),
                                  const(name + "/B", wt["bias"])], [name],
                output_padding=list(layer.output_padding), **geo))
        elif op == "maxpool":
            nodes.append(helper.make_node("MaxPool", ins, [name], ceil_mode=int(layer.ceil_mode),
                                          **geo))
        elif op == "avgpool":
            nodes.append(helper.make_node("AveragePool", ins, [name],
                                          ceil_mode=int(layer.ceil_mode),
                                          count_include_pad=int(layer.count_include_pad), **geo))
        elif op == "dense":
            wt = weights[name]
            src = as_2d(ins[0], r, name)
            nodes.append(helper.make_node("Gemm", [src, const(name + "/W", wt["weight"]),
                                                   const(name + "/B", wt["bias"])], [name]))
            out_rank = 2
        elif op == "flatten":
            nodes.append(helper.make_node("Flatten", ins, [name], axis=1))
            out_rank = 2
        elif op in ("globalavgpool", "globalmaxpool"):
            kind = "GlobalAveragePool" if op == "globalavgpool" else "GlobalMaxPool"
            nodes.append(helper.make_node(kind, ins, [name]))
        elif op == "pad":
            nodes.append(helper.make_node(
                "Pad", [ins[0], const(name + "/pads", [0, 0, *pads[0::2], 0, 0, *pads[1::2]],
                                      np.int64),
                        const(name + "/value", layer.value)], [name], mode="constant"))
        elif op == "upsample":
            scales = const(name + "/scales", [1, 1, *layer.factor])
            if layer.mode == "nearest":
                attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                         "nearest_mode": "floor"}
            else:
                attrs = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
            nodes.append(helper.make_node("Resize", [ins[0], "", scales], [name], **attrs))
        elif op in ("add", "mul"):
            kind = "Add" if op == "add" else "Mul"
            current = ins[0]
            for i, other in enumerate(ins[1:]):
                target = name if i == len(ins) - 2 else f"{name}/{i}"
                nodes.append(helper.make_node(kind, [current, other], [target]))
                current = target
        elif op in ("sub", "div"):
            nodes.append(helper.make_node(op.capitalize(), ins, [name]))
        elif op == "concat":
            nodes.append(helper.make_node("Concat", ins, [name], axis=1))
        elif op in ("relu", "sigmoid", "tanh", "identity"):
            kind = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh",
                    "identity": "Identity"}[op]
            nodes.append(helper.make_node(kind, ins, [name]))
        elif op == "leakyrelu":
            nodes.append(helper.make_node("LeakyRelu", ins, [name], alpha=layer.alpha))
        elif op == "prelu":
            slope = own.get("slope", [layer.alpha])
            nodes.append(helper.make_node("PRelu", [ins[0], channel_const(name + "/slope",
                                                                            slope, r)], [name]))
        elif op == "clip":
            bounds = [const(f"{name}/{k}", v) if v is not None else ""
                      for k, v in (("min", layer.min), ("max", layer.max))]
            while bounds and bounds[-1] == "":
                bounds.pop()
            nodes.append(helper.make_node("Clip", [ins[0], *bounds], [name]))
        elif op == "hardsigmoid":
            nodes.append(helper.make_node("HardSigmoid", ins, [name], alpha=layer.alpha,
                                          beta=layer.beta))
        elif op == "hardswish":
            nodes.append(helper.make_node("HardSwish", ins, [name]))
        elif op == "gelu":
            nodes.append(helper.make_node("Gelu", ins, [name], approximate=layer.approximate))
        elif op == "softmax":
            nodes.append(helper.make_node("Softmax", ins, [name], axis=1))
        elif op == "batchnorm":
            c = shapes[name][-1]
            stats = [const(f"{name}/{k}", own.get(k, np.full(c, d, np.float32)))
                     for k, d in (("scale", 1.0), ("bias", 0.0), ("mean", 0.0), ("var", 1.0))]
            nodes.append(helper.make_node("BatchNormalization", [ins[0], *stats], [name],
                                          epsilon=layer.epsilon))
        elif op == "affine":
            scale = channel_const(name + "/scale", own.get("scale", layer.scale), r)
            shift = channel_const(name + "/shift", own.get("shift", layer.shift), r)
            nodes.append(helper.make_node("Mul", [ins[0], scale], [name + "/scaled"]))
            nodes.append(helper.make_node("Add", [name + "/scaled", shift], [name]))
        else:
            raise AssertionError(f"no ONNX node for {op}")
        rank[name] = out_rank

    def nchw(name: str) -> list[Any]:
        *spatial, c = shapes[name]
        return [None, c * int(np.prod(spatial))] if rank[name] == 2 else [None, c, *spatial]

    *spatial, c = net.input
    graph = helper.make_graph(
        nodes, "net", [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT,
                                                     [None, c, *spatial])],
        [helper.make_tensor_value_info(layer.name, TensorProto.FLOAT, nchw(layer.name))
         for layer in (net.layers if every_node else net.layers[-1:])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    return model


def ort_session(model: Any, *, threads: int = 1) -> Any:
    """An onnxruntime CPU session (``threads`` intra-op threads, graph optimisations on)."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def channels_first(x: Arr) -> Arr:
    """(N, *spatial, C) -> (N, C, *spatial)."""
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def channels_last(x: Arr) -> Arr:
    """(N, C, *spatial) -> (N, *spatial, C)."""
    return np.ascontiguousarray(np.moveaxis(x, 1, -1))


def ort_forward(net: Network, x: Arr, *, seed: int = 0) -> dict[str, Arr]:
    """Every node's output by onnxruntime, as (N, *spatial, C) float32 arrays, for an
    (N, *spatial, C) input (an (N, K) output becomes (N, 1, .., 1, K))."""
    session = ort_session(onnx_model(net, seed=seed))
    names = [layer.name for layer in net.layers]
    outs = session.run(names, {INPUT_NAME: channels_first(x.astype(np.float32))})
    result = {}
    for name, value in zip(names, outs, strict=True):
        arr = np.asarray(value)
        result[name] = (arr.reshape(arr.shape[0], *(1,) * net.ndim, -1) if arr.ndim == 2
                        else channels_last(arr))
    return result


# --------------------------------------------------------------------------- ResNet-18

RESNET18_STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))


def resnet18_spec(size: int = 224, classes: int = 1000) -> str:
    """ResNet-18 (He et al. 2016, torchvision's layout) in the compact form, with batchnorm."""
    lines = [f"input {size}x{size}x3", "conv1: conv 7x7 /2 x64 pad 3", "bn1: batchnorm",
             "relu: relu", "maxpool: maxpool 3 /2 pad 1"]
    prev = "maxpool"
    for stage, (width, stride) in enumerate(RESNET18_STAGES, start=1):
        for block in range(2):
            p = f"layer{stage}.{block}"
            s = stride if block == 0 else 1
            lines += [f"{p}.conv1: conv 3x3 /{s} x{width} pad 1 from {prev}",
                      f"{p}.bn1: batchnorm", f"{p}.relu1: relu",
                      f"{p}.conv2: conv 3x3 /1 x{width} pad 1", f"{p}.bn2: batchnorm"]
            shortcut = prev
            if block == 0 and (s != 1 or stage != 1):
                lines += [f"{p}.downsample.0: conv 1x1 /{s} x{width} from {prev}",
                          f"{p}.downsample.1: batchnorm"]
                shortcut = f"{p}.downsample.1"
            lines += [f"{p}.add: add {p}.bn2 {shortcut}", f"{p}.relu2: relu"]
            prev = f"{p}.relu2"
    lines += [f"avgpool: globalavgpool from {prev}", "flatten: flatten",
              f"fc: dense x{classes}"]
    return "\n".join(lines) + "\n"


def random_params(net: Network, seed: int = 0) -> Network:
    """``net`` with float32 learned numbers drawn at random: He-normal weights, small biases,
    batchnorm statistics, prelu slopes and affine scales, so every path matters."""
    from dataclasses import replace

    rng = np.random.default_rng(seed)
    shapes = {node.name: node.shape for node in analyze(net)}
    weights = layer_weights(net, seed=seed, dtype=np.float32)
    params: dict[str, dict[str, Arr]] = {}
    for layer in net.layers:
        c = shapes[layer.name][-1]
        if layer.name in weights:
            params[layer.name] = {
                "weight": weights[layer.name]["weight"],
                "bias": (0.1 * rng.standard_normal(c)).astype(np.float32)}
        elif layer.op == "batchnorm":
            params[layer.name] = {
                "mean": (0.1 * rng.standard_normal(c)).astype(np.float32),
                "var": rng.uniform(0.5, 1.5, c).astype(np.float32),
                "scale": rng.uniform(0.5, 1.5, c).astype(np.float32),
                "bias": (0.1 * rng.standard_normal(c)).astype(np.float32)}
        elif layer.op == "prelu":
            params[layer.name] = {"slope": rng.uniform(0.0, 0.5, c).astype(np.float32)}
        elif layer.op == "affine":
            params[layer.name] = {"scale": rng.uniform(0.5, 1.5, c).astype(np.float32),
                                  "shift": (0.1 * rng.standard_normal(c)).astype(np.float32)}
    return replace(net, params=params)


def resnet18(size: int = 224, seed: int = 0) -> Network:
    """ResNet-18 at ``size`` x ``size`` x 3 with random float32 learned numbers."""
    return random_params(parse_spec(resnet18_spec(size)), seed)


# --------------------------------------------------------------------------- timing


def _median_times(run: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median wall and process CPU times (s) of ``run`` after one warm-up call."""
    run()  # warm up (BLAS threads, first-call allocations)
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def compare_speed(net: Network | None = None, *, repeats: int = 7, threads: int = 1,
                  ) -> dict[str, float]:
    """Median wall and CPU times (s) of ``forward(net, x)`` and of onnxruntime on the same
    float32 input and numbers, run alternately in one process, and the ratios.  Default
    network: ResNet-18 at 224x224x3.  ``threads``: onnxruntime's intra-op threads and, where
    threadpoolctl is installed, the BLAS threads numpy may use (else numpy's own setting:
    OPENBLAS_NUM_THREADS)."""
    from rfdocs.compute.forward import forward

    net = resnet18() if net is None else net
    x = np.random.default_rng(1).standard_normal((1, *net.input)).astype(np.float32)
    session = ort_session(onnx_model(net, every_node=False), threads=threads)
    feed = {INPUT_NAME: np.ascontiguousarray(x.transpose(0, 3, 1, 2))}
    output = net.layers[-1].name
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    except ImportError:  # numpy's BLAS keeps its own thread count
        limit: Any = None
    else:
        limit = threadpool_limits(limits=threads, user_api="blas")
    try:
        ours_wall, ours_cpu = _median_times(lambda: forward(net, x), repeats)
        theirs_wall, theirs_cpu = _median_times(lambda: session.run([output], feed), repeats)
    finally:
        if limit is not None:
            limit.restore_original_limits()
    return {"rfdocs_s": ours_wall, "onnxruntime_s": theirs_wall,
            "ratio": ours_wall / theirs_wall, "rfdocs_cpu_s": ours_cpu,
            "onnxruntime_cpu_s": theirs_cpu, "cpu_ratio": ours_cpu / theirs_cpu}
