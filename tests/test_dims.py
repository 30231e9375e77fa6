"""Receptive fields and shapes of 1-D (sequence) and 3-D (volume) networks.

* Random multi-path 1-D and 3-D specs (tests.strategies.network_specs_nd): every input
  position a unit depends on (impulse responses, tests.bruteforce.dependencies_nd, written from
  the ops' definitions) lies in the unit's analytic field, clipped to the input; away from the
  borders and transposed convolutions the field is exactly their bounding box; every field and
  number equals the union over every path (every_path_nd), enveloped or swept.
* Output shapes against PyTorch's documented formulas for Conv1d/Conv3d, ConvTranspose1d/3d,
  MaxPool1d/3d and AvgPool1d/3d, written out again here, and against torch itself where it is
  installed.
* Worked examples: a causal dilated stack (field 2^n, nothing after the unit), 3-D C3D-like
  numbers, per-axis accessors and JSON.
"""

from __future__ import annotations

import itertools
import math
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfdocs.compute import Network, SpecError, analyze, parse_spec
from rfdocs.compute.receptive import MAX_LINES, clipped_box, clipped_box_nd
from rfdocs.compute.spec import Layer, network_from_data
from tests.bruteforce import (
    dependencies,
    dependencies_nd,
    dependency_box_nd,
    every_path,
    every_path_nd,
    path_field,
    path_numbers,
)
from tests.counts import count
from tests.strategies import network_specs, network_specs_nd

EXAMPLES = int(os.environ.get("RFDOCS_RF_EXAMPLES", "1000"))
EXAMPLES_1D = max(EXAMPLES // 4, 40)
EXAMPLES_3D = max(EXAMPLES // 12, 25)


def check_against_brute_force(net: Network, max_lines: int = MAX_LINES) -> None:
    """Every dependency inside the clipped field; equal to it away from borders (as the 2-D
    test_receptive._check_against_brute_force, along any number of axes)."""
    analysis = analyze(net, max_lines=max_lines)
    deps = dependencies_nd(net)
    size = net.input[:-1]
    nd = len(size)
    loose = {"input": False}
    for layer in net.layers:
        up = layer.op == "upsample" and any(f != 1 for f in layer.factor)
        scaled = any(loose.get(f"scaled:{i}", False) for i in layer.inputs)
        loose[f"scaled:{layer.name}"] = scaled or up or layer.op == "deconv" or (
            layer.op in ("conv", "maxpool", "avgpool") and any(s != 1 for s in layer.stride))
        loose[layer.name] = (layer.op == "deconv" or (up and scaled)
                             or any(loose[i] for i in layer.inputs))
    for node in analysis.layers:
        dep = deps[node.name]
        assert dep.shape[:nd] == node.shape[:nd], f"{node.name}: shape"
        for unit in itertools.product(*(range(n) for n in node.shape[:nd])):
            got = dependency_box_nd(dep, unit, size)
            if got is None:
                continue
            clipped = clipped_box_nd(node, unit, size)
            assert clipped is not None, f"{node.name} {unit} depends on {got}, field empty"
            for (a, b), (lo, hi) in zip(clipped, got, strict=True):
                assert a <= lo and hi <= b, (node.name, unit, got, clipped)
            whole = tuple((math.ceil(a), math.floor(b)) for a, b in node.box(*unit))
            inside = all(a >= 0 and b <= n - 1 for (a, b), n in zip(whole, size, strict=True))
            if inside and not loose[node.name]:
                assert got == whole, (node.name, unit, got, node.box(*unit))


def check_against_every_path(net: Network, max_lines: int = MAX_LINES) -> None:
    analysis = analyze(net, max_lines=max_lines)
    paths = every_path_nd(net)
    for node in analysis:
        assert len(node.axes) == len(net.input) - 1
        for axis, rf in enumerate(node.axes):
            boxes = paths[node.name][axis]
            for x in range(rf.units):
                assert rf.box(x) == path_field(boxes, x), (node.name, axis, x)
            got = {"jump": rf.jump, "start": rf.start, "center": rf.center, "rf": rf.rf,
                   "aligned": rf.aligned}
            assert got == path_numbers(boxes, rf.units), (node.name, axis)


def _merges(spec: dict[str, Any]) -> bool:
    return any(layer["op"] in ("add", "concat", "mul", "sub", "div") for layer in spec["layers"])


@settings(max_examples=EXAMPLES_1D, deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs_nd(1))
def test_1d_fields_equal_brute_force(spec: dict[str, Any]) -> None:
    net = network_from_data(spec)
    assert net.ndim == 1
    check_against_brute_force(net)
    check_against_brute_force(net, max_lines=1)  # merges swept, not enveloped
    check_against_every_path(net)
    check_against_every_path(net, max_lines=1)
    count("random 1-D networks checked against brute force and every path")
    count("random 1-D networks with causal padding",
          any(layer.get("padding") == "causal" for layer in spec["layers"]))
    count("random 1-D multi-path networks", _merges(spec))


@settings(max_examples=EXAMPLES_3D, deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs_nd(3, max_layers=6))
def test_3d_fields_equal_brute_force(spec: dict[str, Any]) -> None:
    net = network_from_data(spec)
    assert net.ndim == 3
    check_against_brute_force(net)
    check_against_brute_force(net, max_lines=1)
    check_against_every_path(net)
    count("random 3-D networks checked against brute force and every path")
    count("random 3-D multi-path networks", _merges(spec))


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs(new_ops=True, max_layers=5))
def test_nd_brute_force_agrees_with_the_2d_one(spec: dict[str, Any]) -> None:
    """The N-D brute force is the 2-D one in 2-D (so it inherits that one's checks)."""
    net = network_from_data(spec)
    old, new = dependencies(net), dependencies_nd(net)
    assert old.keys() == new.keys()
    for name in old:
        assert (old[name] == new[name]).all(), name
    paths, paths_nd = every_path(net), every_path_nd(net)
    for name in paths:
        assert tuple(paths[name]) == paths_nd[name], name


# --------------------------------------------------------------------------- shapes vs PyTorch

def conv_out(n: int, k: int, s: int, p: int, d: int) -> int:
    """Conv1d/Conv3d, per axis: floor((L + 2p - d (k - 1) - 1) / s + 1)."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def deconv_out(n: int, k: int, s: int, p: int, d: int, op: int) -> int:
    """ConvTranspose1d/3d: (L - 1) s - 2p + d (k - 1) + output_padding + 1."""
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


def pool_out(n: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
    """MaxPool (d) / AvgPool (d = 1): floor or ceil of (L + 2p - d (k - 1) - 1) / s + 1; with
    ceil_mode the last window must start inside the input or the left padding."""
    top = n + 2 * p - d * (k - 1) - 1
    out = (-(-top // s) if ceil else top // s) + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1
    return out


def wider(size: list[int], f: dict[str, Any]) -> bool:
    """A window wider than the padded input along some axis: PyTorch and ONNX give a ceil_mode
    pool one output there (a window starting in the input, running off its end); rfdocs refuses
    it, as it did in 2-D (the figures need a window inside the padded input)."""
    d = f.get("dilation", [1] * len(size))
    return bool(f.get("ceil_mode")) and any(
        n + 2 * f["padding"][a] < d[a] * (f["kernel"][a] - 1) + 1 for a, n in enumerate(size))


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch


@st.composite
def window_cases(draw: st.DrawFn, ndim: int) -> tuple[str, list[int], dict[str, Any]]:
    op = draw(st.sampled_from(["conv", "deconv", "maxpool", "avgpool"]))
    size = [draw(st.integers(1, 24 if ndim == 1 else 9)) for _ in range(ndim)]
    k = [draw(st.integers(1, 5)) for _ in range(ndim)]
    s = [draw(st.integers(1, 3)) for _ in range(ndim)]
    d = [1 if op == "avgpool" else draw(st.integers(1, 3)) for _ in range(ndim)]
    # PyTorch: a pool's padding is at most half its kernel
    limit = [k[a] // 2 if op in ("maxpool", "avgpool") else 3 for a in range(ndim)]
    p = [draw(st.integers(0, limit[a])) for a in range(ndim)]
    fields: dict[str, Any] = {"kernel": k, "stride": s, "dilation": d, "padding": p}
    if op == "deconv":
        fields["output_padding"] = [draw(st.integers(0, max(s[a], d[a]) - 1))
                                    for a in range(ndim)]
    if op in ("maxpool", "avgpool"):
        fields["ceil_mode"] = draw(st.booleans())
    if op == "avgpool":
        del fields["dilation"]
    return op, size, fields


def _formula(op: str, size: list[int], f: dict[str, Any]) -> list[int]:
    out = []
    for a, n in enumerate(size):
        k, s, p = f["kernel"][a], f["stride"][a], f["padding"][a]
        d = f.get("dilation", [1] * len(size))[a]
        if op == "conv":
            out.append(conv_out(n, k, s, p, d))
        elif op == "deconv":
            out.append(deconv_out(n, k, s, p, d, f["output_padding"][a]))
        else:
            out.append(pool_out(n, k, s, p, d, f["ceil_mode"]))
    return out


def _torch_shape(torch: Any, op: str, size: list[int], f: dict[str, Any]) -> list[int] | None:
    nd = len(size)
    nn = torch.nn
    kw = {"kernel_size": f["kernel"], "stride": f["stride"], "padding": f["padding"]}
    if op == "conv":
        module = getattr(nn, f"Conv{nd}d")(2, 3, dilation=f["dilation"], **kw)
    elif op == "deconv":
        module = getattr(nn, f"ConvTranspose{nd}d")(2, 3, dilation=f["dilation"],
                                                    output_padding=f["output_padding"], **kw)
    elif op == "maxpool":
        module = getattr(nn, f"MaxPool{nd}d")(dilation=f["dilation"], ceil_mode=f["ceil_mode"],
                                              **kw)
    else:
        module = getattr(nn, f"AvgPool{nd}d")(ceil_mode=f["ceil_mode"], **kw)
    try:
        with torch.no_grad():
            y = module(torch.zeros(1, 2, *size))
    except RuntimeError:  # torch refuses it (an output of size 0, say)
        return None
    return list(y.shape[2:])


def _window_in_padding(size: list[int], fields: dict[str, Any], out: list[int]) -> bool:
    """Whether some max-pool window along some axis reads only padding (written from the
    definition: taps ``o s + i d`` of the padded axis, the input at ``p0 .. p0 + n - 1``)."""
    def axis(values: Any, i: int) -> int:
        return int(values[i] if isinstance(values, list) else values)

    for i, n in enumerate(size):
        k, s, d = (axis(fields[name], i) for name in ("kernel", "stride", "dilation"))
        pad = fields["padding"]
        p0 = axis(pad, i) if not isinstance(pad, list) or len(pad) == len(size) else pad[2 * i]
        for o in range(out[i]):
            if not any(p0 <= o * s + t * d < p0 + n for t in range(k)):
                return True
    return False


@pytest.mark.parametrize("ndim", [1, 3])
def test_window_shapes_follow_pytorch(ndim: int) -> None:
    """Analysis shapes equal the formulas of PyTorch's documentation (and torch, if present)."""
    torch = _torch()
    seen = {"torch": 0, "cases": 0}

    @settings(max_examples=150 if ndim == 1 else 80, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(window_cases(ndim))
    def check(case: tuple[str, list[int], dict[str, Any]]) -> None:
        op, size, fields = case
        expected = _formula(op, size, fields)
        layer = {"name": "w", "op": op, **fields}
        if op in ("conv", "deconv"):
            layer["filters"] = 3
        spec = {"input": [*size, 2], "layers": [layer]}
        try:
            got: list[int] | None = list(analyze(network_from_data(spec)).output.shape)
        except SpecError:
            got = None
        if min(expected) < 1 or wider(size, fields):
            assert got is None, (case, got)
            return
        if got is None and op == "maxpool" and _window_in_padding(size, fields, expected):
            return  # rfdocs' stricter rule: a max-pool window with no input value is refused
        if torch is not None:
            shape = _torch_shape(torch, op, size, fields)
            if got is None:  # refused: torch refuses it too, or one of rfdocs' stricter rules
                assert shape is None or op == "maxpool" or wider(size, fields), (case, shape)
                return
            if shape is not None:  # torch's 3-D pools refuse inputs smaller than the kernel
                assert shape == expected, (case, shape, expected)
                seen["torch"] += 1
        assert got is not None and got == [*expected, 2 if op in ("maxpool", "avgpool") else 3]
        seen["cases"] += 1

    check()
    count(f"{ndim}-D window shapes checked against PyTorch's formulas", seen["cases"])
    count(f"{ndim}-D window shapes checked against torch", seen["torch"])
    if torch is None:
        pytest.skip("torch is not installed: shapes checked against the formulas only")


# --------------------------------------------------------------------------- worked examples

def test_causal_dilated_stack_doubles_and_never_looks_ahead() -> None:
    """Kernel 2, dilations 1, 2, ..., 2^(n-1), causal: field 2^n, unit t sees [t - 2^n + 1, t]."""
    text = "input 100x1\n" + "\n".join(f"c{i}: conv 2 x4 dil {2 ** i} causal" for i in range(6))
    analysis = analyze(parse_spec(text))
    for i in range(6):
        node = analysis[f"c{i}"]
        r = 2 ** (i + 1)
        assert node.shape == (100, 4)
        assert node.rf == (r,) and node.jump == (1,) and node.start == (1 - r,)
        assert node.padding == (r - 1,) and node.pads == (2 ** i, 0)
        for t in (0, 37, 99):
            assert node.box(t) == ((t - r + 1, t),)
        assert clipped_box_nd(node, (3,), (100,)) == ((max(0, 4 - r), 3),)


def test_3d_numbers_per_axis() -> None:
    net = parse_spec("input 16x112x112x3\nconv 3 pad 1 x64\nmaxpool 1x2x2 /1x2x2\n"
                     "conv 3 pad 1 x128\nmaxpool 2 /2\n")
    out = analyze(net).output
    assert out.ndim == 3 and out.shape == (8, 28, 28, 128)
    assert out.spatial == (8, 28, 28) and out.channels == 128
    # depth: 3, 3 (pool 1), 5, 6; height/width: 3, 4, 8, 10
    assert out.rf == (6, 10, 10) and out.jump == (2, 4, 4) and out.start == (-2, -3, -3)
    assert out.center == (Fraction_(1, 2), Fraction_(3, 2), Fraction_(3, 2))
    assert out.box(1, 2, 3) == ((0, 5), (5, 14), (9, 18))
    assert out.to_json() == {"name": "maxpool4", "op": "maxpool", "shape": [8, 28, 28, 128],
                             "rf": [6, 10, 10], "jump": [2, 4, 4], "start": [-2, -3, -3],
                             "padding": [2, 3, 3], "aligned": True}
    with pytest.raises(ValueError, match="3 coordinates"):
        out.box(1, 2)


def test_1d_json_and_accessors() -> None:
    out = analyze(parse_spec("input 16000x1\nconv 10 /5 x512\nconv 3 /2 x512\n")).output
    assert out.to_json()["shape"] == [out.shape[0], 512] and out.ndim == 1
    assert out.rf == (20,) and out.jump == (10,) and len(out.to_json()["rf"]) == 1


def test_2d_clipped_box_unchanged() -> None:
    node = analyze(parse_spec("input 8x8x1\nconv 3 x1\n")).output
    assert clipped_box(node, 0, 5, (8, 8)) == ((0, 2), (5, 7))
    assert clipped_box_nd(node, (0, 5), (8, 8)) == ((0, 2), (5, 7))


def test_sequential_closed_form_1d_and_3d() -> None:
    """r = 1 + sum (k - 1) d prod s, j = prod s, per axis (Araujo et al. eq. 2, 3)."""
    layers = [Layer("a", "conv", kernel=(3, 1, 5), stride=(1, 2, 1), dilation=(2, 1, 1),
                    padding=(0,) * 6, output_padding=(0,) * 3, factor=(1,) * 3, filters=2,
                    inputs=("input",)),
              Layer("b", "maxpool", kernel=(2, 3, 1), stride=(2, 2, 1), dilation=(1, 1, 3),
                    padding=(0,) * 6, output_padding=(0,) * 3, factor=(1,) * 3, inputs=("a",)),
              Layer("c", "conv", kernel=(1, 3, 3), stride=(1, 1, 2), dilation=(1, 2, 1),
                    padding=(1,) * 6, output_padding=(0,) * 3, factor=(1,) * 3, filters=2,
                    inputs=("b",))]
    out = analyze(Network((20, 30, 40, 1), tuple(layers))).output
    rf, j = [1, 1, 1], [1, 1, 1]
    for layer in layers:
        for a in range(3):
            rf[a] += (layer.kernel[a] - 1) * layer.dilation[a] * j[a]
            j[a] *= layer.stride[a]
    assert out.rf == tuple(rf) and out.jump == tuple(j)


@pytest.mark.parametrize(("text", "words"), [
    ("input 8x1\nconv 9 x1\n", "8-pixel length"),
    ("input 4x8x8x1\nconv 5x3x3 x1\n", "4-pixel depth"),
    ("input 4x8x8x1\nconv 3 x2\ndense x4\n", "1x1x1 input"),
])
def test_errors_name_the_axis(text: str, words: str) -> None:
    with pytest.raises(SpecError, match=words):
        analyze(parse_spec(text))


def Fraction_(a: int, b: int) -> Any:  # noqa: N802 - reads like the constructor
    from fractions import Fraction

    return Fraction(a, b)


# --------------------------------------------------------------------------- explorer footprints

@pytest.mark.parametrize("text", [
    "input 40x2\nc1: conv 3 x2 dil 2 causal\np: maxpool 2 /2\nc2: conv 3 /2 x2 pad same\n"
    "u: upsample 2 mode linear\nc3: conv 2 x2 dil 3 causal\n",
    "input 6x10x10x1\nc1: conv 3 pad 1 x2\np: maxpool 1x2x2 /1x2x2\nc2: conv 2x3x3 /2 x2\n"
    "u: upsample 2x1x1\nc3: conv 3 x1 pad 1\n",
])
def test_footprints_in_1d_and_3d_equal_the_field_of_the_rest_of_the_chain(text: str) -> None:
    """Where unit x of a later layer looks in an earlier one K is the receptive field of the
    chain after K, analysed on its own with K's output as the input."""
    from rfdocs.compute.footprints import explorer_data, footprint_maps

    net = parse_spec(text)
    analysis = analyze(net)
    names = ["input", *(layer.name for layer in net.layers)]
    maps = footprint_maps(analysis, names)
    for i, earlier in enumerate(names[:-1]):
        rest = Network(analysis[earlier].shape, net.layers[i:])
        rest = Network(rest.input, tuple(
            layer if layer.inputs != (earlier,) else _replace_input(layer)
            for layer in rest.layers))
        sub = analyze(rest)
        for later in names[i + 1:]:
            per_axis = maps[(later, earlier)]
            assert len(per_axis) == net.ndim
            node = sub[later]
            for unit in itertools.product(*(range(n) for n in node.shape[:-1])):
                spans = tuple(m.span(u) for m, u in zip(per_axis, unit, strict=True))
                assert spans == node.box(*unit), (earlier, later, unit)
    select = (names[-1], *(0,) * net.ndim)
    data = explorer_data(analysis, names, 32, select)
    assert data["select"] == [len(names) - 1, *(0,) * net.ndim]
    assert all(len(layer["rf"]) == net.ndim for layer in data["layers"])


def _replace_input(layer: Layer) -> Layer:
    from dataclasses import replace

    return replace(layer, inputs=("input",))


# --------------------------------------------------------------------------- role and command line

def test_role_fields_in_every_dimension() -> None:
    from rfdocs.compute import zoo_network
    from rfdocs.sphinxext.roles import AXES, format_field

    cases = {
        "wavenet": {"rf": "3071", "shape": "16000×256", "size": "16000", "length": "16000",
                    "jump": "1", "start": "-3070", "channels": "256"},
        "c3d": {"rf": "76×150×150", "shape": "1×4×4×512", "size": "1×4×4", "depth": "1",
                "height": "4", "width": "4", "jump": "16×32×32", "start": "-30×-59×-59"},
        "vgg16": {"rf": "212×212", "shape": "7×7×512", "size": "7×7", "jump": "32",
                  "height": "7"},
    }
    layers = {"wavenet": "softmax", "c3d": "pool5", "vgg16": "pool5"}
    for model, fields in cases.items():
        net = zoo_network(model)
        node = analyze(net)[layers[model]]
        for field, text in fields.items():
            assert format_field(net, node, field, None) == text, (model, field)
    c3d = analyze(zoo_network("c3d"))["pool5"]
    assert [format_field(zoo_network("c3d"), c3d, "rf", AXES[3][a]) for a in "dhw"] == [
        "76", "150", "150"]
    assert AXES[1] == {"t": 0}
    with pytest.raises(ValueError, match="length"):
        format_field(zoo_network("wavenet"), analyze(zoo_network("wavenet")).output, "height",
                     None)
    # weights of 3x3x3 kernels: 27 taps per input channel and filter
    assert format_field(zoo_network("c3d"), c3d, "params", None).replace(",", "").isdigit()


def test_cli_rf_json_has_one_entry_per_spatial_axis(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from rfdocs.cli import main
    from rfdocs.compute import zoo_network

    for model, ndim in (("wavenet", 1), ("c3d", 3), ("vgg16", 2)):
        assert main(["rf", model, "--json"]) == 0
        layers = json.loads(capsys.readouterr().out)["layers"]
        out = analyze(zoo_network(model))
        assert [layer["name"] for layer in layers] == [n.name for n in out.layers]
        for layer, node in zip(layers, out.layers, strict=True):
            assert len(layer["shape"]) == ndim + 1
            assert all(len(layer[k]) == ndim for k in ("rf", "jump", "start", "padding"))
            assert layer["rf"] == [int(v) for v in node.rf]
        assert main(["rf", model]) == 0
        table = capsys.readouterr().out.splitlines()
        assert table[0].split()[:2] == ["layer", "op"] and len(table) == len(layers) + 3
