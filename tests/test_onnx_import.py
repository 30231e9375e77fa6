"""ONNX import: models built from specs come back as the same network, every operator and
attribute imports to a network whose activations equal onnxruntime's (1e-4 relative), receptive
fields of imported models equal a brute force run in onnxruntime, hostile files give one message,
and a real PyTorch export imports with readable names."""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

onnx = pytest.importorskip("onnx", reason="the onnx package is not installed (rfdocs[onnx])")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (the test extra)")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from rfdocs.compute import analyze  # noqa: E402
from rfdocs.compute.forward import forward  # noqa: E402
from rfdocs.compute.receptive import clipped_box, resolve_pads  # noqa: E402
from rfdocs.compute.spec import SpecError, network_from_data, parse_spec  # noqa: E402
from rfdocs.importers import ModelError, load_network  # noqa: E402
from rfdocs.importers.onnx import LAYER_OPS, clean_name, layer_names, load_onnx  # noqa: E402
from tests.bruteforce import dependencies, dependency_box  # noqa: E402
from tests.onnx_build import (  # noqa: E402
    chain_model,
    full_params,
    network_to_onnx,
    with_resolved_pads,
    without_identities,
)
from tests.strategies import network_specs  # noqa: E402

RTOL = 1e-4
RNG = np.random.default_rng(7)


def session(model: Any) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def run_ort(model: Any, x_hwc: np.ndarray) -> np.ndarray:
    """onnxruntime's output for one H x W x C image, as H x W x C (1 x 1 x K for (N, K))."""
    name = next(i.name for i in model.graph.input
                if i.name not in {t.name for t in model.graph.initializer})
    out = session(model).run(None, {name: x_hwc.transpose(2, 0, 1)[None]})[0]
    return out[0].transpose(1, 2, 0) if out.ndim == 4 else out.reshape(1, 1, -1)


def close(ours: np.ndarray, ref: np.ndarray) -> None:
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    scale = max(float(np.abs(ref).max()), 1e-6)
    err = float(np.abs(ours.astype(np.float64) - ref).max()) / scale
    assert err <= RTOL, f"relative error {err:.2e}"


def write(model: Any, tmp_path: Path, name: str = "m.onnx") -> Path:
    model.ir_version = min(model.ir_version, 10)
    path = tmp_path / name
    onnx.save(model, str(path))  # not checked: hostile and hand-built models are the point
    return path


def imported_matches_ort(model: Any, tmp_path: Path, shape: tuple[int, int, int],
                         **kwargs: Any) -> Any:
    """Import ``model``, run it on a random image in rfdocs and onnxruntime, compare."""
    net = load_onnx(write(model, tmp_path), **kwargs)
    x = RNG.normal(size=shape).astype(np.float32)
    ours = forward(net, x)[net.layers[-1].name]
    close(ours, run_ort(model, x))
    assert analyze(net).output.shape == ours.shape
    return net


# --------------------------------------------------------------------------- spec round trips


def _ort_runs(net: Any) -> bool:
    """What onnxruntime refuses although ONNX and PyTorch allow it: pool pads as large as the
    kernel, transposed-convolution output padding as large as the stride, and ceil-mode pools
    whose last window would start past the input and its leading pad (PyTorch and onnxruntime's
    kernel drop it, ONNX's shape inference does not, so a later merge fails its check)."""
    shapes = {node.name: node.shape for node in analyze(net)}
    for layer in net.layers:
        if layer.op in ("maxpool", "avgpool") and layer.ceil_mode:
            pads = resolve_pads(layer, shapes[layer.inputs[0]][:-1])
            for a, n in enumerate(shapes[layer.inputs[0]][:-1]):
                extent = n + pads[2 * a] + pads[2 * a + 1] - layer.dilation[a] * (
                    layer.kernel[a] - 1) - 1
                if extent >= 0 and (-(-extent // layer.stride[a])) * layer.stride[a] >= (
                        n + pads[2 * a]):
                    return False
        if layer.op in ("maxpool", "avgpool") and not isinstance(layer.padding, str):
            t, b, left, r = layer.padding
            if max(t, b) >= layer.kernel[0] or max(left, r) >= layer.kernel[1]:
                return False
        if layer.op == "deconv" and any(layer.output_padding[a] >= layer.stride[a]
                                        for a in range(2)):
            return False
    return True


@settings(max_examples=int(os.environ.get("RFDOCS_ONNX_EXAMPLES", "60")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(network_specs())
def test_random_spec_networks_round_trip_through_onnx(spec: dict[str, Any]) -> None:
    import tempfile

    net = network_from_data(spec)
    if all(layer.op == "identity" for layer in net.layers):
        return
    params = full_params(net, seed=3)
    model = network_to_onnx(net, params)
    with tempfile.TemporaryDirectory() as folder:
        got = load_onnx(write(model, Path(folder)))
    want = without_identities(net)
    assert with_resolved_pads(got) == with_resolved_pads(want)
    assert analyze(got).to_json() == analyze(want).to_json()
    for name, arrays in got.params.items():
        for key, array in arrays.items():
            assert array.dtype == np.float32
            np.testing.assert_array_equal(array, params[name][key])
    if _ort_runs(net):
        x = np.random.default_rng(1).normal(size=net.input).astype(np.float32)
        close(forward(got, x)[got.layers[-1].name], run_ort(model, x))


def ort_dependencies(model: Any, shape: tuple[int, int, int]) -> np.ndarray:
    """Which input pixels each output unit depends on, found by onnxruntime alone: every weight
    made positive, a positive image, one pixel raised at a time (all pixels in one batch)."""
    for tensor in model.graph.initializer:
        array = numpy_helper.to_array(tensor)
        if array.dtype == np.float32 and array.ndim >= 1 and tensor.name.endswith(
                (".weight", ".bias")):
            tensor.CopyFrom(numpy_helper.from_array(np.abs(array) + 0.05, tensor.name))
    for value in [*model.graph.input, *model.graph.output]:  # any batch size
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    h, w, c = shape
    base = np.ones((h * w, c, h, w), np.float32)
    base[np.arange(h * w), :, np.arange(h * w) // w, np.arange(h * w) % w] = 1000.0
    sess = session(model)
    outs = sess.run(None, {"input": base})[0]
    plain = sess.run(None, {"input": np.ones((1, c, h, w), np.float32)})[0]
    changed = np.abs(outs - plain) > 1e-3 * (np.abs(plain) + 1)
    deps = changed.any(axis=1)  # (pixels, H', W')
    return deps.transpose(1, 2, 0)  # (H', W', pixels)


@settings(max_examples=int(os.environ.get("RFDOCS_ONNX_EXAMPLES", "40")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(network_specs(max_layers=5))
def test_receptive_fields_of_imported_models_equal_onnxruntime_and_brute_force(
        spec: dict[str, Any]) -> None:
    import tempfile

    net = network_from_data(spec)
    if all(layer.op == "identity" for layer in net.layers) or not _ort_runs(net):
        return
    model = network_to_onnx(net, full_params(net, seed=5), auto_pad=False)
    with tempfile.TemporaryDirectory() as folder:
        got = load_onnx(write(model, Path(folder)))
    node = analyze(got).output
    h, w, _ = got.input
    ours = dependencies(got)[node.name]
    theirs = ort_dependencies(model, got.input)
    assert theirs.shape == ours.shape
    # onnxruntime's dependencies are the brute force's (all-ones weights, from the definitions)
    np.testing.assert_array_equal(theirs, ours)
    loose = any(layer.op == "deconv" for layer in got.layers)
    for y in range(node.shape[0]):
        for x in range(node.shape[1]):
            box = dependency_box(theirs, y, x, w)
            if box is None:
                continue
            field = clipped_box(node, y, x, (h, w))
            assert field is not None
            assert field[0][0] <= box[0][0] and box[0][1] <= field[0][1]
            assert field[1][0] <= box[1][0] and box[1][1] <= field[1][1]
            (r0, r1), (c0, c1) = ((math.ceil(a), math.floor(b)) for a, b in node.box(y, x))
            if not loose and r0 >= 0 and c0 >= 0 and r1 < h and c1 < w:
                assert box == ((r0, r1), (c0, c1))


def test_every_op_of_the_spec_language_round_trips(tmp_path: Path) -> None:
    net = parse_spec("""
input 12x10x3
c: conv 3x3 /1 pad 1,0,2,1 x6 dil 1x2
bn: batchnorm
lr: leakyrelu alpha 0.2
pr: prelu
s: sigmoid
t: tanh from pr
cl: clip min -0.5 max 0.7 from pr
hs: hardsigmoid alpha 0.3 beta 0.4 from pr
hw: hardswish from pr
ge: gelu from pr
gh: gelu approximate tanh from pr
sm: softmax from pr
a: add s t cl
sb: sub hs hw
m: mul ge gh
dv: div sm s
cat: concat a sb m dv
p: pad 1,0,2,1 value 0.5
u: upsample 2 mode linear
un: upsample 2x3 from p
mp: maxpool 2 /2 from un
ap: avgpool 3 /2 pad 1 exclude_pad from u
d: deconv 3x3 /2 pad 1 outpad 1 x4 from ap
gp: globalavgpool from d
gm: globalmaxpool from d
both: add gp gm
f: flatten
fc: dense x5
sm2: softmax
""")
    model = network_to_onnx(net)
    got = load_onnx(write(model, tmp_path))
    assert with_resolved_pads(got) == with_resolved_pads(net)
    x = RNG.normal(size=net.input).astype(np.float32)
    close(forward(got, x)["sm2"], run_ort(model, x))
    for name in ("cat", "ap", "d"):
        sub = load_onnx(tmp_path / "m.onnx", until=name)
        assert sub.layers[-1].name == name


# --------------------------------------------------------------------------- hand-built graphs


def w(*shape: int, scale: float = 0.3) -> np.ndarray:
    return (RNG.normal(size=shape) * scale).astype(np.float32)


def build(nodes: list[Any], inits: dict[str, Any], opset: int = 17,
          shape: tuple[int, ...] = (1, 3, 9, 8), output: str = "y") -> Any:
    graph = helper.make_graph(
        nodes, "case", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


N = helper.make_node
W3 = {"W": w(4, 3, 3, 3), "B": w(4)}
CASES: dict[str, tuple[list[Any], dict[str, Any], int]] = {
    "conv-asymmetric-pads": ([N("Conv", ["x", "W", "B"], ["y"], pads=[0, 1, 2, 0], strides=[2, 1],
                                dilations=[1, 2])], W3, 17),
    "conv-same-upper": ([N("Conv", ["x", "W", "B"], ["y"], auto_pad="SAME_UPPER", strides=[2, 2])],
                        W3, 17),
    "conv-same-lower": ([N("Conv", ["x", "W"], ["y"], auto_pad="SAME_LOWER")],
                        {"W": w(4, 3, 2, 4)}, 11),
    "conv-valid": ([N("Conv", ["x", "W", "B"], ["y"], auto_pad="VALID", strides=[1, 2])], W3, 21),
    "conv-depthwise": ([N("Conv", ["x", "W"], ["y"], group=3, pads=[1, 1, 1, 1])],
                       {"W": w(6, 1, 3, 3)}, 13),
    "convtranspose-pads": ([N("ConvTranspose", ["x", "W", "B"], ["y"], strides=[2, 2],
                              pads=[1, 0, 0, 1], output_padding=[1, 0])],
                           {"W": w(3, 4, 3, 3), "B": w(4)}, 17),
    "convtranspose-output-shape": ([N("ConvTranspose", ["x", "W"], ["y"], strides=[2, 2],
                                      output_shape=[17, 14])], {"W": w(3, 2, 3, 3)}, 17),
    "convtranspose-same-upper": ([N("ConvTranspose", ["x", "W"], ["y"], strides=[2, 2],
                                    auto_pad="SAME_UPPER")], {"W": w(3, 2, 3, 3)}, 17),
    "convtranspose-dilated": ([N("ConvTranspose", ["x", "W"], ["y"], strides=[3, 2],
                                 dilations=[2, 1], pads=[2, 1, 0, 1])], {"W": w(3, 2, 3, 2)}, 11),
    "maxpool-ceil-pads-dilations": ([N("MaxPool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 2],
                                       pads=[1, 0, 1, 1], ceil_mode=1, dilations=[1, 2])], {}, 17),
    "maxpool-same-lower": ([N("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[1, 1],
                              auto_pad="SAME_LOWER")], {}, 12),
    "avgpool-exclude-pad": ([N("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                               pads=[1, 1, 1, 1])], {}, 17),
    "avgpool-include-pad": ([N("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                               pads=[1, 1, 1, 1], count_include_pad=1)], {}, 17),
    "avgpool-ceil": ([N("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2],
                        ceil_mode=1)], {}, 17),
    "avgpool-same-upper": ([N("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                              auto_pad="SAME_UPPER")], {}, 17),
    "globalaveragepool": ([N("GlobalAveragePool", ["x"], ["y"])], {}, 17),
    "globalmaxpool": ([N("GlobalMaxPool", ["x"], ["y"])], {}, 17),
    "reducemean-13": ([N("ReduceMean", ["x"], ["y"], axes=[2, 3])], {}, 13),
    "reducemean-18": ([N("ReduceMean", ["x", "axes"], ["y"])],
                      {"axes": np.array([-1, -2], np.int64)}, 18),
    "reducemax-flat": ([N("ReduceMax", ["x"], ["r"], axes=[2, 3], keepdims=0),
                        N("Gemm", ["r", "G"], ["y"])], {"G": w(3, 5)}, 17),
    "batchnorm": ([N("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)],
                  {"s": w(3) + 1, "b": w(3), "m": w(3), "v": np.abs(w(3)) + 0.5}, 15),
    "relu": ([N("Relu", ["x"], ["y"])], {}, 14),
    "leakyrelu": ([N("LeakyRelu", ["x"], ["y"], alpha=0.2)], {}, 16),
    "prelu-channels": ([N("PRelu", ["x", "a"], ["y"])], {"a": np.abs(w(3, 1, 1))}, 16),
    "prelu-scalar": ([N("PRelu", ["x", "a"], ["y"])], {"a": np.array([0.3], np.float32)}, 9),
    "sigmoid": ([N("Sigmoid", ["x"], ["y"])], {}, 13),
    "tanh": ([N("Tanh", ["x"], ["y"])], {}, 13),
    "clip-inputs": ([N("Clip", ["x", "lo", "hi"], ["y"])],
                    {"lo": np.array(-0.2, np.float32), "hi": np.array(0.4, np.float32)}, 13),
    "clip-max-only": ([N("Clip", ["x", "", "hi"], ["y"])], {"hi": np.array(0.4, np.float32)}, 12),
    "clip-attributes": ([N("Clip", ["x"], ["y"], min=-0.1, max=6.0)], {}, 10),
    "relu6": ([N("Clip", ["x", "lo", "hi"], ["y"])],
              {"lo": np.array(0, np.float32), "hi": np.array(6, np.float32)}, 11),
    "hardsigmoid": ([N("HardSigmoid", ["x"], ["y"], alpha=0.3, beta=0.4)], {}, 6 + 7),
    "hardswish": ([N("HardSwish", ["x"], ["y"])], {}, 14),
    "gelu": ([N("Gelu", ["x"], ["y"])], {}, 20),
    "gelu-tanh": ([N("Gelu", ["x"], ["y"], approximate="tanh")], {}, 20),
    "gelu-erf-pattern": ([N("Div", ["x", "sq"], ["d"]), N("Erf", ["d"], ["e"]),
                          N("Add", ["e", "one"], ["a"]), N("Mul", ["x", "a"], ["m"]),
                          N("Mul", ["m", "half"], ["y"])],
                         {"sq": np.array(1.4142135, np.float32), "one": np.array(1, np.float32),
                          "half": np.array(0.5, np.float32)}, 17),
    "gelu-erf-pattern-halved-first": (
        [N("Mul", ["x", "r"], ["d"], name="/act/Mul"), N("Erf", ["d"], ["e"], name="/act/Erf"),
         N("Add", ["one", "e"], ["a"]), N("Mul", ["half", "x"], ["h"]), N("Mul", ["h", "a"], ["y"])],
        {"r": np.array(0.70710677, np.float32), "one": np.array(1, np.float32),
         "half": np.array(0.5, np.float32)}, 13),
    "softmax-channels": ([N("Softmax", ["x"], ["y"], axis=1)], {}, 13),
    "softmax-after-flatten-11": ([N("Flatten", ["x"], ["f"]), N("Softmax", ["f"], ["y"])], {}, 11),
    "add-channel-constant": ([N("Add", ["x", "c"], ["y"])], {"c": w(1, 3, 1, 1)}, 14),
    "add-scalar-first": ([N("Add", ["c", "x"], ["y"])], {"c": np.array(0.5, np.float32)}, 14),
    "sub-constant": ([N("Sub", ["x", "c"], ["y"])], {"c": w(3, 1, 1)}, 14),
    "constant-minus-x": ([N("Sub", ["c", "x"], ["y"])], {"c": w(3, 1, 1)}, 14),
    "mul-channel-constant": ([N("Mul", ["x", "c"], ["y"])], {"c": w(1, 3, 1, 1)}, 14),
    "div-constant": ([N("Div", ["x", "c"], ["y"])], {"c": np.array([2.0, -4.0, 0.5],
                                                                    np.float32).reshape(3, 1, 1)}, 14),
    "constant-node": ([N("Constant", [], ["c"], value=numpy_helper.from_array(w(3, 1, 1))),
                       N("Mul", ["x", "c"], ["y"])], {}, 13),
    "squeeze-excite": ([N("GlobalAveragePool", ["x"], ["g"]), N("Conv", ["g", "A"], ["h"]),
                        N("Relu", ["h"], ["r"]), N("Conv", ["r", "B"], ["s"]),
                        N("Sigmoid", ["s"], ["t"]), N("Mul", ["x", "t"], ["y"])],
                       {"A": w(2, 3, 1, 1), "B": w(3, 2, 1, 1)}, 13),
    "sub-broadcast-channel": ([N("Conv", ["x", "A"], ["m"]), N("Sub", ["x", "m"], ["y"])],
                              {"A": w(1, 3, 1, 1)}, 13),
    "sum-of-three": ([N("Relu", ["x"], ["r"]), N("Sigmoid", ["x"], ["s"]),
                      N("Sum", ["x", "r", "s"], ["y"])], {}, 13),
    "concat": ([N("Relu", ["x"], ["r"]), N("Concat", ["r", "x"], ["y"], axis=-3)], {}, 13),
    "pad-inputs": ([N("Pad", ["x", "p", "v"], ["y"])],
                   {"p": np.array([0, 0, 1, 0, 0, 0, 2, 3], np.int64),
                    "v": np.array(0.5, np.float32)}, 13),
    "pad-attributes": ([N("Pad", ["x"], ["y"], pads=[0, 0, 2, 1, 0, 0, 0, 1], value=-1.0)], {}, 10),
    "pad-axes": ([N("Pad", ["x", "p", "", "ax"], ["y"])],
                 {"p": np.array([1, 2, 3, 0], np.int64), "ax": np.array([2, 3], np.int64)}, 18),
    "resize-nearest-asymmetric": ([N("Resize", ["x", "", "sc"], ["y"], mode="nearest",
                                     coordinate_transformation_mode="asymmetric",
                                     nearest_mode="floor")],
                                  {"sc": np.array([1, 1, 2, 3], np.float32)}, 13),
    "resize-nearest-half-pixel": ([N("Resize", ["x", "", "sc"], ["y"], mode="nearest")],
                                  {"sc": np.array([1, 1, 3, 2], np.float32)}, 19),
    "resize-linear-half-pixel": ([N("Resize", ["x", "", "sc"], ["y"], mode="linear")],
                                 {"sc": np.array([1, 1, 2, 2], np.float32)}, 13),
    "resize-linear-pytorch": ([N("Resize", ["x", "roi", "sc"], ["y"], mode="linear",
                                 coordinate_transformation_mode="pytorch_half_pixel")],
                              {"sc": np.array([1, 1, 3, 2], np.float32),
                               "roi": np.array([], np.float32)}, 11),
    "resize-sizes": ([N("Resize", ["x", "", "", "sz"], ["y"], mode="nearest",
                        coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
                     {"sz": np.array([1, 3, 18, 24], np.int64)}, 13),
    "resize-10": ([N("Resize", ["x", "sc"], ["y"], mode="nearest")],
                  {"sc": np.array([1, 1, 2, 2], np.float32)}, 10),
    "upsample-9": ([N("Upsample", ["x", "sc"], ["y"], mode="nearest")],
                   {"sc": np.array([1, 1, 2, 3], np.float32)}, 9),
    "identity-dropout": ([N("Identity", ["x"], ["i"]), N("Relu", ["i"], ["r"]),
                          N("Dropout", ["r"], ["y"])], {}, 13),
    "flatten-gemm": ([N("Flatten", ["x"], ["f"]), N("Gemm", ["f", "G", "c"], ["y"], transB=1,
                                                   alpha=0.5, beta=2.0)],
                     {"G": w(5, 216), "c": w(5)}, 13),
    "flatten-gemm-plain": ([N("Flatten", ["x"], ["f"]), N("Gemm", ["f", "G", "c"], ["y"])],
                           {"G": w(216, 5), "c": w(1, 5)}, 9),
    "matmul-add-bias": ([N("GlobalAveragePool", ["x"], ["g"]), N("Flatten", ["g"], ["f"]),
                         N("MatMul", ["f", "M"], ["m"]), N("Add", ["m", "b"], ["y"])],
                        {"M": w(3, 4), "b": w(4)}, 13),
    "dynamic-reshape": ([N("GlobalAveragePool", ["x"], ["g"]), N("Shape", ["g"], ["s"]),
                         N("Gather", ["s", "zero"], ["n"], axis=0),
                         N("Unsqueeze", ["n", "ax"], ["nu"]),
                         N("Concat", ["nu", "minus"], ["shape"], axis=0),
                         N("Reshape", ["g", "shape"], ["r"]), N("Gemm", ["r", "G"], ["y"],
                                                               transB=1)],
                        {"zero": np.array(0, np.int64), "ax": np.array([0], np.int64),
                         "minus": np.array([-1], np.int64), "G": w(4, 3)}, 13),
    "reshape-flatten": ([N("Reshape", ["x", "sh"], ["y"])], {"sh": np.array([1, -1], np.int64)}, 13),
    "squeeze": ([N("GlobalMaxPool", ["x"], ["g"]), N("Squeeze", ["g"], ["s"], axes=[2, 3]),
                 N("Unsqueeze", ["s"], ["u"], axes=[2, 3]), N("Mul", ["x", "u"], ["y"])], {}, 11),
    "softmax-head": ([N("GlobalAveragePool", ["x"], ["g"]), N("Flatten", ["g"], ["f"]),
                      N("Gemm", ["f", "G"], ["h"], transB=1), N("Softmax", ["h"], ["y"], axis=-1)],
                     {"G": w(6, 3)}, 13),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_operator_imports_and_runs_like_onnxruntime(case: str, tmp_path: Path) -> None:
    nodes, inits, opset = CASES[case]
    model = build(nodes, inits, opset)
    net = imported_matches_ort(model, tmp_path, (9, 8, 3))
    assert net.params is not None


def test_attributes_become_the_spec_fields(tmp_path: Path) -> None:
    def one(case: str) -> Any:
        nodes, inits, opset = CASES[case]
        return load_onnx(write(build(nodes, inits, opset), tmp_path)).layers

    conv = one("conv-asymmetric-pads")[0]
    assert (conv.op, conv.padding, conv.stride, conv.dilation, conv.filters) == (
        "conv", (0, 2, 1, 0), (2, 1), (1, 2), 4)
    assert one("conv-same-upper")[0].padding == "same"
    assert one("conv-same-lower")[0].padding == "same_lower"
    assert one("conv-depthwise")[0].groups == 3
    deconv = one("convtranspose-pads")[0]
    assert (deconv.op, deconv.padding, deconv.output_padding) == ("deconv", (1, 0, 0, 1), (1, 0))
    assert one("avgpool-exclude-pad")[0].count_include_pad is False  # ONNX's default
    assert one("avgpool-include-pad")[0].count_include_pad is True
    assert one("maxpool-ceil-pads-dilations")[0].ceil_mode is True
    assert [layer.op for layer in one("gelu-erf-pattern")] == ["gelu"]
    assert [layer.op for layer in one("gelu-erf-pattern-halved-first")] == ["gelu"]
    assert [(layer.op, layer.min, layer.max) for layer in one("relu6")] == [("clip", 0.0, 6.0)]
    assert [layer.op for layer in one("matmul-add-bias")] == ["globalavgpool", "flatten", "dense"]
    assert [layer.op for layer in one("dynamic-reshape")] == ["globalavgpool", "flatten", "dense"]
    assert [layer.op for layer in one("identity-dropout")] == ["relu"]
    up = one("resize-linear-pytorch")[0]
    assert (up.op, up.factor, up.mode) == ("upsample", (3, 2), "linear")
    cminus = one("constant-minus-x")[0]
    assert (cminus.op, cminus.scale) == ("affine", -1.0)


@pytest.mark.parametrize(("node", "inits", "opset", "words"), [
    (N("Resize", ["x", "", "sc"], ["y"], mode="linear", coordinate_transformation_mode="align_corners"),
     {"sc": np.array([1, 1, 2, 2], np.float32)}, 13, ("align_corners", "half_pixel")),
    (N("Resize", ["x", "", "sc"], ["y"], mode="nearest", nearest_mode="floor"),
     {"sc": np.array([1, 1, 2, 2], np.float32)}, 13, ("does not repeat", "asymmetric")),
    (N("Resize", ["x", "", "sc"], ["y"], mode="cubic"), {"sc": np.array([1, 1, 2, 2], np.float32)},
     13, ("cubic",)),
    (N("Resize", ["x", "", "sc"], ["y"]), {"sc": np.array([1, 1, 1.5, 2], np.float32)}, 13,
     ("whole factors",)),
    (N("Pad", ["x", "p"], ["y"], mode="reflect"), {"p": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)},
     13, ("constant padding",)),
    (N("Softmax", ["x"], ["y"]), {}, 13, ("axis 3", "channels")),
    (N("Reshape", ["x", "s"], ["y"]), {"s": np.array([1, 3, 72], np.int64)}, 13, ("flatten",)),
    (N("ConvTranspose", ["x", "W"], ["y"], group=3), {"W": w(3, 1, 3, 3)}, 13, ("group 1",)),
    (N("Add", ["x", "c"], ["y"]), {"c": w(1, 1, 9, 8)}, 13, ("one per channel",)),
    (N("Div", ["c", "x"], ["y"]), {"c": np.array(1, np.float32)}, 13, ("c / x",)),
])
def test_unsupported_attributes_give_one_message(node: Any, inits: dict[str, Any], opset: int,
                                                 words: tuple[str, ...], tmp_path: Path) -> None:
    path = write(build([node], inits, opset), tmp_path)
    with pytest.raises(ModelError) as info:
        load_onnx(path)
    message = str(info.value)
    assert node.op_type in message and "\n" not in message
    for word in words:
        assert word in message


def test_an_unsupported_operator_names_the_node_and_the_way_around_it(tmp_path: Path) -> None:
    nodes = [N("Conv", ["x", "W"], ["c"], name="/features/features.0/Conv"),
             N("Relu", ["c"], ["r"], name="/features/features.1/Relu"),
             N("LRN", ["r"], ["l"], name="/features/features.2/LRN", size=3),
             N("Conv", ["l", "W2"], ["y"], name="/features/features.3/Conv")]
    path = write(build(nodes, {"W": w(4, 3, 3, 3), "W2": w(2, 4, 1, 1)}, 13), tmp_path)
    with pytest.raises(ModelError) as info:
        load_onnx(path)
    message = str(info.value)
    assert "'/features/features.2/LRN' (LRN): operator not supported" in message
    assert "until='features.1'" in message
    for op in ("Conv", "ConvTranspose", "Resize", "Gemm"):
        assert op in message
    assert message.endswith(LAYER_OPS[-1])  # the whole supported list survives tidying
    for until in ("features.1", "/features/features.1/Relu", "r"):
        net = load_onnx(path, until=until)
        assert [layer.name for layer in net.layers] == ["features.0", "features.1"]
    with pytest.raises(ModelError, match="did you mean .*'features.1'"):
        load_onnx(path, until="features.l")


def test_symbolic_height_and_width_need_an_input_shape(tmp_path: Path) -> None:
    net = parse_spec("input 10x12x2\nc: conv 3 /2 x3 pad same\nr: relu\n")
    path = write(network_to_onnx(net, dynamic=True), tmp_path)
    with pytest.raises(ModelError, match=r"not fixed \('H', 'W'\).*input_shape"):
        load_onnx(path)
    got = load_onnx(path, input_shape=(10, 12))
    assert got == net
    assert load_onnx(path, input_shape=(20, 24, 2)).input == (20, 24, 2)
    with pytest.raises(ModelError, match="3 channels but"):
        load_onnx(path, input_shape=(20, 24, 3))


def test_names_are_readable_and_unique() -> None:
    assert clean_name("/layer1/layer1.0/conv1/Conv", "Conv") == "layer1.0.conv1"
    assert clean_name("/layer1/layer1.0/Add", "Add") == "layer1.0.add"
    assert clean_name("/layer1/layer1.0/relu_1/Relu", "Relu") == "layer1.0.relu_1"
    assert clean_name("/features/features.0/Conv", "Conv") == "features.0"
    assert clean_name("/Flatten", "Flatten") == "flatten"
    assert clean_name("/fc/Gemm", "Gemm") == "fc"
    assert clean_name("/layer1/Add_1", "Add") == "layer1.add_1"
    assert clean_name("Conv_12", "Conv") == "conv_12"  # PyTorch before 1.13
    assert clean_name("StatefulPartitionedCall/sequential/conv2d/Conv2D", "Conv") == \
        "sequential.conv2d"
    assert clean_name("sequential/dense/MatMul", "MatMul") == "sequential.dense"
    assert clean_name("", "Conv") is None
    nodes = [helper.make_node("Relu", ["a"], ["b"], name=n) for n in
             ("/act/Relu", "/act/Relu", "", "/0/Relu", "input", "weird name!")]
    assert layer_names(nodes) == ["act", "act.relu", "relu_2", "relu_0", "input_2", "weird_name_"]


# --------------------------------------------------------------------------- hostile files


def _simple_model() -> Any:
    return build([N("Conv", ["x", "W"], ["y"])], {"W": w(2, 3, 3, 3)}, 13)


def test_truncated_and_foreign_files_give_one_message(tmp_path: Path) -> None:
    data = _simple_model().SerializeToString()
    for name, content in (("cut.onnx", data[: len(data) // 2]), ("png.onnx", b"\x89PNG\r\n" * 9),
                          ("empty.onnx", b""), ("text.onnx", b"input 8x8x1\nconv 3 x1\n")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ModelError) as info:
            load_onnx(tmp_path / name)
        assert "\n" not in str(info.value) and "onnx" in str(info.value).lower()


def test_a_tensor_whose_dims_exceed_its_data_is_refused_before_allocating(tmp_path: Path) -> None:
    model = _simple_model()
    tensor = model.graph.initializer[0]
    del tensor.dims[:]
    tensor.dims.extend([2, 3, 3, 10**12])  # 7e13 floats claimed, 54 given
    path = tmp_path / "huge.onnx"
    path.write_bytes(model.SerializeToString())
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(ModelError, match="should hold"):
        load_onnx(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20


def test_a_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    path = write(_simple_model(), tmp_path)
    with pytest.raises(ModelError, match="more than the limit of 100 bytes"):
        load_onnx(path, max_bytes=100)
    assert load_onnx(path, max_bytes=path.stat().st_size).layers[0].op == "conv"


def _external(tmp_path: Path, location: str) -> Path:
    model = _simple_model()
    tensor = model.graph.initializer[0]
    raw = tensor.raw_data or numpy_helper.to_array(tensor).tobytes()
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(len(raw)))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    folder = tmp_path / "site"
    folder.mkdir(exist_ok=True)
    (tmp_path / "secret.bin").write_bytes(raw)
    (folder / "weights.bin").write_bytes(raw)
    path = folder / "m.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def test_external_data_inside_the_folder_is_read(tmp_path: Path) -> None:
    net = load_onnx(_external(tmp_path, "weights.bin"))
    assert net.params["conv_0"]["weight"].shape == (3, 3, 3, 2)


@pytest.mark.parametrize("location", ["../secret.bin", "/etc/passwd", "link.bin"])
def test_external_data_outside_the_folder_is_refused(tmp_path: Path, location: str) -> None:
    path = _external(tmp_path, location)
    (path.parent / "link.bin").symlink_to(tmp_path / "secret.bin")
    with pytest.raises(ModelError, match="outside the folder"):
        load_onnx(path)


def test_custom_domains_and_local_functions_are_refused(tmp_path: Path) -> None:
    model = build([N("Conv", ["x", "W"], ["c"]), N("Gelu", ["c"], ["y"], domain="com.microsoft")],
                  {"W": w(2, 3, 3, 3)}, 13)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    with pytest.raises(ModelError, match="domain 'com.microsoft'.*not run"):
        load_onnx(write(model, tmp_path))
    function = helper.make_function("local", "Twice", ["a"], ["b"], [N("Add", ["a", "a"], ["b"])],
                                    [helper.make_opsetid("", 13)])
    model = build([N("Conv", ["x", "W"], ["c"]), N("Twice", ["c"], ["y"], domain="local")],
                  {"W": w(2, 3, 3, 3)}, 13)
    model.opset_import.append(helper.make_opsetid("local", 1))
    model.functions.append(function)
    with pytest.raises(ModelError, match="local function"):
        load_onnx(write(model, tmp_path, "f.onnx"))


def test_too_many_nodes_are_refused(tmp_path: Path) -> None:
    nodes = [N("Relu", ["x" if i == 0 else f"r{i}"], [f"r{i + 1}" if i < 5100 else "y"])
             for i in range(5101)]
    with pytest.raises(ModelError, match="5,101 nodes"):
        load_onnx(write(build(nodes, {}, 13), tmp_path))


def test_without_onnx_the_message_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    path = write(_simple_model(), tmp_path)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(SpecError, match=r'pip install "rfdocs\[onnx\]"'):
        load_network(path)


def test_load_network_reads_specs_zoo_models_and_onnx(tmp_path: Path) -> None:
    spec = tmp_path / "net.txt"
    spec.write_text("input 16x16x3\na: conv 3 x4\nb: relu\nc: conv 3 x2\n")
    assert [layer.name for layer in load_network(spec, until="b").layers] == ["a", "b"]
    assert load_network(spec, input_shape=(20, 20)).input == (20, 20, 3)
    assert load_network("alexnet").input == (224, 224, 3)
    net = parse_spec(spec.read_text())
    assert load_network(write(network_to_onnx(net), tmp_path, "net.ONNX")) == net


# --------------------------------------------------------------------------- PyTorch, speed


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's legacy exporter says it is
def test_a_real_pytorch_export_imports_with_readable_names(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed (never a dependency)")
    from torch import nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.act = nn.GELU()
            self.branch = nn.Conv2d(8, 4, 1)
            self.pool = nn.MaxPool2d(3, 1, 1)

        def forward(self, x: Any) -> Any:
            y = self.act(self.bn1(self.conv1(x)))
            y = torch.cat([self.branch(y), self.branch(self.pool(y))], 1)
            return torch.relu(y + x)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU6())
            self.layer1 = nn.Sequential(Block(), Block())
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
            self.down = nn.AvgPool2d(2)
            self.head = nn.Linear(8, 5)

        def forward(self, x: Any) -> Any:
            x = self.down(self.up(self.layer1(self.stem(x))))
            return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))

    torch.manual_seed(0)
    module = Net().eval()
    for bn in (m for m in module.modules() if isinstance(m, nn.BatchNorm2d)):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2)
    path = tmp_path / "net.onnx"
    example = torch.randn(1, 3, 20, 18)
    torch.onnx.export(module, (example,), str(path), dynamo=False, opset_version=17,
                      input_names=["image"], dynamic_axes={"image": {0: "N", 2: "H", 3: "W"}})
    net = load_onnx(path, input_shape=(20, 18))
    names = [layer.name for layer in net.layers]
    for name in ("stem.0", "stem.1", "layer1.0.conv1", "layer1.0.act", "layer1.0.branch",
                 "layer1.1.pool", "up", "down", "head"):
        assert name in names, names
    assert all("/" not in n for n in names)
    assert net.layer("layer1.0.act").op == "gelu"
    assert net.layer("up").op == "upsample" and net.layer("up").mode == "linear"
    x = RNG.normal(size=(20, 18, 3)).astype(np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x.transpose(2, 0, 1)[None].copy())).numpy()
    close(forward(net, x)[net.layers[-1].name], want.reshape(1, 1, -1))


def test_a_200_node_model_imports_quickly(tmp_path: Path) -> None:
    model = chain_model(200)
    assert len(model.graph.node) >= 199
    path = write(model, tmp_path)
    load_onnx(path)
    best = min(_timed(lambda: load_onnx(path)) for _ in range(5))
    # the goal is 100 ms (make bench measures it); a busy test machine gets headroom
    assert best < 0.5, f"{best * 1000:.0f} ms"


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def test_a_tf2onnx_style_nhwc_model(tmp_path: Path) -> None:
    nodes = [N("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2], name="model/conv2d/Conv2D__6"),
             N("Conv", ["t", "W", "B"], ["c"], auto_pad="SAME_UPPER",
               name="StatefulPartitionedCall/model/conv2d/Conv2D"),
             N("Relu", ["c"], ["r"], name="StatefulPartitionedCall/model/conv2d/Relu"),
             N("Transpose", ["r"], ["y"], perm=[0, 2, 3, 1], name="model/conv2d/Relu__8")]
    model = build(nodes, {"W": w(4, 3, 3, 3), "B": w(4)}, 13, shape=(1, 9, 8, 3))
    net = load_onnx(write(model, tmp_path))
    assert net.input == (9, 8, 3)
    assert [(layer.name, layer.op) for layer in net.layers] == [("model.conv2d", "conv"),
                                                                ("model.conv2d.relu", "relu")]
    x = RNG.normal(size=(9, 8, 3)).astype(np.float32)
    want = session(model).run(None, {"x": x[None]})[0][0]  # NHWC in, NHWC out
    close(forward(net, x)["model.conv2d.relu"], want)
