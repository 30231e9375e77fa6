"""Forward pass and effective receptive fields against independent references: the loop-based
ops, dense Jacobians built from basis images, and finite differences."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rfdocs.compute import SpecError, analyze, parse_spec
from rfdocs.compute import conv as engine
from rfdocs.compute.erf import cap_channels, erf_random, erf_uniform, input_gradient
from rfdocs.compute.forward import forward, init_weights
from rfdocs.compute.receptive import clipped_box, resolve_pads
from rfdocs.compute.spec import Network, network_from_data
from tests import reference as ref

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

Arr = np.ndarray[Any, Any]

EVERY_OP = """
input 9x8x2
c1: conv 3x3 /1 x4 pad 1,0,2,1 groups 2
r1: relu
p1: maxpool 2 /2 ceil pad 1
d1: conv 3x3 /1 x4 pad same dil 2 groups 4
a1: add p1 d1
c2: conv 1x1 /1 x3
cat: concat a1 c2
up: deconv 3x3 /2 x2 pad 1 outpad 1
ap: avgpool 3 /2 pad 1 ceil
"""


# --------------------------------------------------------------------------- random small nets


def empty_max_window(node: Any, shapes: dict[str, tuple[int, int, int]]) -> bool:
    """A max pool with a window wholly in the padding: refused by the engine (no input value
    to take the maximum of), so left out of the random networks."""
    layer = node.layer
    if layer is None or layer.op != "maxpool":
        return False
    return any(engine.empty_window(n, layer.kernel[a], layer.stride[a], layer.dilation[a],
                                   node.pads[2 * a], node.shape[a]) is not None
               for a, n in enumerate(shapes[layer.inputs[0]][:2]))


@st.composite
def small_networks(draw: st.DrawFn, ops: tuple[str, ...] = (
        "conv", "conv", "deconv", "maxpool", "avgpool", "relu", "add", "concat"),
        max_layers: int = 5) -> Network:
    """A tiny valid network (at most 8x8 input, 3 channels) over the given ops."""
    spec: dict[str, Any] = {"input": [draw(st.integers(3, 8)), draw(st.integers(3, 8)),
                                      draw(st.integers(1, 2))], "layers": []}
    current = "input"
    channels = {"input": spec["input"][2]}
    for i in range(draw(st.integers(1, max_layers))):
        op = draw(st.sampled_from(ops))
        new: list[dict[str, Any]] = []
        name = f"l{i}"
        if op in ("conv", "deconv", "maxpool", "avgpool"):
            layer: dict[str, Any] = {
                "name": name, "op": op, "inputs": [current],
                "kernel": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
                "stride": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
                "dilation": [draw(st.integers(1, 2)), draw(st.integers(1, 2))],
                "padding": draw(st.one_of(st.just("same"),
                                          st.lists(st.integers(0, 2), min_size=4, max_size=4))),
            }
            if op in ("conv", "deconv"):
                layer["filters"] = draw(st.integers(1, 3))
            if op == "conv":
                layer["groups"] = draw(st.sampled_from([1, 1, 2]))
                layer["filters"] *= layer["groups"]
            if op == "deconv":
                layer["output_padding"] = [
                    draw(st.integers(0, max(layer["stride"][a], layer["dilation"][a]) - 1))
                    for a in range(2)]
            if op in ("maxpool", "avgpool"):
                layer["ceil_mode"] = draw(st.booleans())
            new = [layer]
        elif op == "relu":
            new = [{"name": name, "op": draw(st.sampled_from(["relu", "identity"])),
                    "inputs": [current]}]
        else:  # a "same" branch merged back by add or concat
            filters = channels[current] if op == "add" else draw(st.integers(1, 2))
            new = [{"name": f"{name}b", "op": "conv", "inputs": [current], "padding": "same",
                    "kernel": draw(st.integers(1, 3)), "dilation": draw(st.integers(1, 2)),
                    "filters": filters},
                   {"name": name, "op": op, "inputs": [current, f"{name}b"]}]
        trial = {**spec, "layers": spec["layers"] + new}
        try:
            analysis = analyze(network_from_data(trial))
        except SpecError:
            continue
        if max(max(n.shape[:2]) for n in analysis) > 12 or max(
                n.shape[2] for n in analysis) > 6 or any(
                empty_max_window(n, {m.name: m.shape for m in analysis}) for n in analysis):
            continue
        spec = trial
        channels = {n.name: n.shape[2] for n in analysis}
        current = new[-1]["name"]
    assume(spec["layers"])
    return network_from_data(spec)


# --------------------------------------------------------------------------- forward


def reference_forward(net: Network, x: Arr, weights: dict[str, Arr], *,
                      linear: bool = False) -> dict[str, Arr]:
    """Layer by layer with the loop-based reference ops; ``linear`` makes ReLU the identity and
    max pools the mean of the taps inside the input (the linearisation erf_uniform uses)."""
    acts: dict[str, Arr] = {"input": x}
    for layer in net.layers:
        ins = [acts[name] for name in layer.inputs]
        a = ins[0]
        op = layer.op
        if op == "relu":
            out = a if linear else np.maximum(a, 0)
        elif op == "identity":
            out = a
        elif op == "add":
            out = sum(ins[1:], ins[0])
        elif op == "concat":
            out = np.concatenate(ins, axis=2)
        else:
            pads = resolve_pads(layer, (a.shape[0], a.shape[1]))
            if op == "conv":
                out = ref.conv2d(a, weights[layer.name], None, layer.stride, pads,
                                 layer.dilation, layer.groups)
            elif op == "deconv":
                out = ref.conv_transpose2d(a, weights[layer.name], None, layer.stride, pads,
                                           layer.dilation, layer.output_padding, 1)
            elif op == "maxpool" and not linear:
                out = ref.max_pool2d(a, layer.kernel, layer.stride, pads, layer.dilation,
                                     layer.ceil_mode)
            else:
                out = ref.avg_pool2d(a, layer.kernel, layer.stride, pads, layer.dilation,
                                     layer.ceil_mode, op == "avgpool")
        acts[layer.name] = out
    return acts


def test_forward_matches_the_reference_on_every_op() -> None:
    net = parse_spec(EVERY_OP)
    weights = init_weights(net, seed=3)
    x = np.random.default_rng(4).standard_normal(net.input)
    got = forward(net, x, weights)
    want = reference_forward(net, x, weights)
    analysis = analyze(net)
    assert set(got) == {node.name for node in analysis}
    for node in analysis:
        assert got[node.name].shape == node.shape
        np.testing.assert_allclose(got[node.name], want[node.name], rtol=1e-5, atol=1e-9)


@SETTINGS
@given(small_networks(), st.integers(0, 100))
def test_forward_matches_the_reference_on_random_nets(net: Network, seed: int) -> None:
    weights = init_weights(net, seed=seed)
    x = np.random.default_rng(seed).standard_normal((2, *net.input))
    got = forward(net, x, weights)
    for k in range(2):
        want = reference_forward(net, x[k], weights)
        for name, value in want.items():
            finite = np.isfinite(value)
            np.testing.assert_array_equal(np.isfinite(got[name][k]), finite)
            np.testing.assert_allclose(got[name][k][finite], value[finite], rtol=1e-5, atol=1e-9)


def test_init_weights_kinds_and_determinism() -> None:
    net = parse_spec(EVERY_OP)
    a, b = init_weights(net, seed=1), init_weights(net, seed=1)
    assert set(a) == {"c1", "d1", "c2", "up"}
    assert a["c1"].shape == (3, 3, 1, 4) and a["d1"].shape == (3, 3, 1, 4)
    assert a["up"].shape == (3, 3, 7, 2)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["c1"], init_weights(net, seed=2)["c1"])
    # He-normal: variance 2 / fan_in, fan_in = kh kw Cin / groups
    big = init_weights(parse_spec("input 4x4x50\nconv 3x3 x400"), seed=0)["conv1"]
    assert abs(big.var() - 2 / (9 * 50)) < 0.05 * 2 / (9 * 50)
    ones = init_weights(net, kind="ones")
    assert all(np.all(w == 1) for w in ones.values())
    uniform = init_weights(net, kind="uniform")
    np.testing.assert_allclose(uniform["c1"], 1 / 9)
    with pytest.raises(ValueError, match="kind"):
        init_weights(net, kind="gaussian")  # type: ignore[arg-type]


def test_uniform_weights_keep_a_constant_image_constant() -> None:
    net = parse_spec("input 12x12x3\nconv 3x3 /2 x8\nconv 3x3 x4 groups 2 dil 2\nconv 1x1 x5")
    acts = forward(net, np.full(net.input, 2.5), init_weights(net, kind="uniform"))
    np.testing.assert_allclose(acts[net.layers[-1].name], 2.5)


def test_forward_refuses_huge_work_and_wrong_inputs() -> None:
    net = parse_spec("input 64x64x3\nconv 3x3 x64 pad 1\nconv 3x3 x64 pad 1")
    weights = init_weights(net)
    with pytest.raises(ValueError, match="max_bytes"):
        forward(net, np.zeros(net.input), weights, max_bytes=3_000_000)
    with pytest.raises(ValueError, match="channels"):
        forward(net, np.zeros((64, 64, 2)), weights)
    # no weights given: He-normal ones from init_weights(seed=0)
    x = np.random.default_rng(1).standard_normal(net.input)
    np.testing.assert_array_equal(forward(net, x, {})["conv2"], forward(net, x, weights)["conv2"])
    with pytest.raises(ValueError, match="shape"):
        forward(net, x, {"conv1": np.zeros((3, 3, 3, 5))})


def test_max_pools_with_a_window_wholly_in_the_padding_are_refused() -> None:
    """ONNX Runtime gives the lowest float there and PyTorch refuses pads over half the kernel;
    rfdocs refuses, naming the window."""
    for spec in ("input 3x3x1\nmaxpool 1x1 /1 pad 0,1,0,0",
                 "input 1x1x1\nmaxpool 2x2 /1 pad 1 dil 2",  # taps skip over the input
                 "input 4x4x1\nmaxpool 2 /2 pad 0,3,0,0"):
        net = parse_spec(spec)
        with pytest.raises(ValueError, match="wholly in the padding"):
            forward(net, np.ones(net.input))
        with pytest.raises(ValueError, match="wholly in the padding"):
            input_gradient(net, np.ones(net.input))
    # a window with one tap inside is fine, as is an average pool over padding alone
    net = parse_spec("input 3x3x1\nmaxpool 2x2 /1 pad 1")
    assert np.all(np.isfinite(forward(net, np.ones(net.input))["maxpool1"]))
    net = parse_spec("input 3x3x1\navgpool 1x1 /1 pad 0,1,0,0")
    np.testing.assert_array_equal(forward(net, np.ones(net.input))["avgpool1"][3], 0)


# --------------------------------------------------------------------------- erf_uniform


def dense_erf(net: Network, layer: str, unit: tuple[int, int], *, linear: bool,
              weights: dict[str, Arr], x: Arr | None = None) -> Arr:
    """d(sum_c y[unit, c]) / dx summed over input channels, from basis images (linear nets)
    or central finite differences (nonlinear ones), through the engine's batched ops."""
    h, w, c = net.input
    basis = np.eye(h * w * c).reshape(h * w * c, h, w, c)
    if linear:
        acts = linear_forward(net, basis, weights)
        row = acts[layer][:, unit[0], unit[1], :].sum(axis=-1)
    else:
        assert x is not None
        eps = 1e-6
        plus = forward(net, x + eps * basis, weights)[layer][:, unit[0], unit[1], :]
        minus = forward(net, x - eps * basis, weights)[layer][:, unit[0], unit[1], :]
        row = (plus.sum(axis=-1) - minus.sum(axis=-1)) / (2 * eps)
    return np.asarray(row.reshape(h, w, c))


def linear_forward(net: Network, x: Arr, weights: dict[str, Arr]) -> dict[str, Arr]:
    """The linearised network on a batch, through the engine ops (ReLU = identity, max pool =
    mean over the taps inside the input)."""
    acts: dict[str, Arr] = {"input": x}
    for layer in net.layers:
        ins = [acts[name] for name in layer.inputs]
        a = ins[0]
        if layer.op in ("relu", "identity"):
            out = a
        elif layer.op == "add":
            out = sum(ins[1:], ins[0])
        elif layer.op == "concat":
            out = np.concatenate(ins, axis=3)
        else:
            pads = resolve_pads(layer, (a.shape[1], a.shape[2]))
            geo: dict[str, Any] = {"stride": layer.stride, "pads": pads,
                                   "dilation": layer.dilation}
            if layer.op == "conv":
                out = engine.conv2d(a, weights[layer.name], groups=layer.groups, **geo)
            elif layer.op == "deconv":
                out = engine.conv_transpose2d(a, weights[layer.name],
                                              output_padding=layer.output_padding, **geo)
            else:
                out = engine.avg_pool2d(a, layer.kernel, ceil_mode=layer.ceil_mode,
                                        count_include_pad=layer.op == "avgpool", **geo)
        acts[layer.name] = out
    return acts


@SETTINGS
@given(small_networks(), st.data())
def test_erf_uniform_equals_the_dense_jacobian(net: Network, data: st.DataObject) -> None:
    analysis = analyze(net)
    node = data.draw(st.sampled_from(analysis.layers))
    unit = (data.draw(st.integers(0, node.shape[0] - 1)),
            data.draw(st.integers(0, node.shape[1] - 1)))
    got = erf_uniform(net, node.name, unit)
    jac = dense_erf(net, node.name, unit, linear=True, weights=init_weights(net, kind="uniform"))
    assert got.shape == net.input[:2]
    np.testing.assert_allclose(got, jac.sum(axis=-1), rtol=1e-9, atol=1e-12)


def test_erf_uniform_on_every_op_against_the_reference_jacobian() -> None:
    """The same check through the loop-based reference ops, one basis image at a time."""
    net = parse_spec(EVERY_OP)
    weights = init_weights(net, kind="uniform")
    h, w, c = net.input
    for layer, unit in (("ap", (2, 3)), ("cat", (1, 2)), ("a1", (4, 0))):
        want = np.zeros((h, w))
        for idx in np.ndindex(h, w, c):
            e = np.zeros(net.input)
            e[idx] = 1.0
            want[idx[:2]] += reference_forward(net, e, weights, linear=True)[layer][unit].sum()
        np.testing.assert_allclose(erf_uniform(net, layer, unit), want, rtol=1e-9, atol=1e-12)


@SETTINGS
@given(small_networks(ops=("conv", "conv", "deconv", "avgpool", "relu", "add", "concat")),
       st.integers(0, 10))
def test_erf_uniform_equals_the_real_backward_of_the_linear_net(net: Network, seed: int) -> None:
    """With uniform weights and no ReLU (max pools left out), the real backward pass agrees."""
    linear = replace(net, layers=tuple(replace(lay, op="identity") if lay.op == "relu" else lay
                                       for lay in net.layers))
    x = np.random.default_rng(seed).standard_normal(net.input)
    grad = input_gradient(linear, x, init_weights(linear, kind="uniform"))
    np.testing.assert_allclose(erf_uniform(net), grad.sum(axis=-1), rtol=1e-9, atol=1e-12)


def test_erf_uniform_support_is_the_receptive_field() -> None:
    net = parse_spec("input 31x29x3\nconv 5x5 /2 x8 pad 2\nmaxpool 3 /2 pad 1\n"
                     "conv 3x3 x8 pad 1\nconv 3x3 /2 x4")
    analysis = analyze(net)
    for unit in ((0, 0), (1, 2), (2, 1)):
        erf = erf_uniform(net, unit=unit)
        box = clipped_box(analysis.output, *unit, (31, 29))
        assert box is not None
        (r0, r1), (c0, c1) = box
        inside = np.zeros(erf.shape, bool)
        inside[r0:r1 + 1, c0:c1 + 1] = True
        assert np.all(erf[inside] > 0) and np.all(erf[~inside] == 0)
    # a constant image stays constant, so away from borders the map sums to the channel count
    assert erf_uniform(net).sum() == pytest.approx(4)


def test_erf_uniform_defaults_and_errors() -> None:
    net = parse_spec("input 7x6x1\nconv 3x3 x2 pad 1")
    # the central unit (3, 3) of a 3x3 box filter with weights 1/9, times 2 output channels
    want = np.zeros((7, 6))
    want[2:5, 2:5] = 2 / 9
    np.testing.assert_allclose(erf_uniform(net), want)
    impulse = erf_uniform(net, "input", (1, 4))
    assert impulse[1, 4] == 1 and impulse.sum() == 1
    with pytest.raises(ValueError, match="no layer named"):
        erf_uniform(net, "nope")
    with pytest.raises(ValueError, match="outside"):
        erf_uniform(net, unit=(7, 0))


def resnet50() -> Network:
    try:
        from rfdocs.compute import zoo_network

        return zoo_network("resnet50")
    except Exception:  # the zoo file may be missing in a partial checkout
        pytest.skip("no resnet50 in the zoo")


def test_erf_uniform_is_fast_on_resnet50() -> None:
    net = resnet50()
    erf_uniform(net)
    start = time.perf_counter()
    erf = erf_uniform(net)
    assert time.perf_counter() - start < 0.5
    assert erf.shape == (224, 224) and np.all(erf >= 0)
    # symmetric pads would make the centre unit's ERF symmetric about the unit's centre
    row = np.unravel_index(np.argmax(erf), erf.shape)[0]
    assert 96 <= row <= 128


# --------------------------------------------------------------------------- real backward


@SETTINGS
@given(small_networks(), st.integers(0, 100), st.data())
def test_input_gradient_matches_finite_differences(net: Network, seed: int,
                                                   data: st.DataObject) -> None:
    analysis = analyze(net)
    node = data.draw(st.sampled_from(analysis.layers))
    unit = (data.draw(st.integers(0, node.shape[0] - 1)),
            data.draw(st.integers(0, node.shape[1] - 1)))
    weights = init_weights(net, seed=seed)
    x = np.random.default_rng(seed + 1).standard_normal(net.input)
    out = forward(net, x, weights)[node.name][unit]
    assume(np.all(np.isfinite(out)))
    got = input_gradient(net, x, weights, node.name, unit)
    want = dense_erf(net, node.name, unit, linear=False, weights=weights, x=x)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(want).max()))


def test_relu_passes_no_gradient_at_zero() -> None:
    """As in PyTorch, d relu(x) / dx is 0 at x = 0 (and 1 above)."""
    net = parse_spec("input 1x3x1\nrelu")
    grad = input_gradient(net, np.array([[[0.0], [2.0], [-1.0]]]), {}, unit=(0, 0))
    np.testing.assert_array_equal(grad[..., 0], [[0, 0, 0]])
    grad = input_gradient(net, np.array([[[0.0], [2.0], [-1.0]]]), {}, unit=(0, 1))
    np.testing.assert_array_equal(grad[..., 0], [[0, 1, 0]])


def test_input_gradient_handles_a_batch() -> None:
    net = parse_spec(EVERY_OP)
    weights = init_weights(net, seed=5)
    x = np.random.default_rng(6).standard_normal((3, *net.input))
    both = input_gradient(net, x, weights, "cat", (2, 1))
    for k in range(3):
        np.testing.assert_allclose(both[k], input_gradient(net, x[k], weights, "cat", (2, 1)))


def test_erf_random_is_the_documented_gradient() -> None:
    net = parse_spec(EVERY_OP)
    erf = erf_random(net, "cat", seed=7)
    image = np.random.default_rng([7, 1]).standard_normal(net.input)
    grad = input_gradient(net, image, init_weights(net, seed=7), "cat")
    np.testing.assert_allclose(erf, grad.sum(axis=-1))
    np.testing.assert_array_equal(erf, erf_random(net, "cat", seed=7))
    assert not np.array_equal(erf, erf_random(net, "cat", seed=8))


def test_cap_channels_keeps_depthwise_and_shapes() -> None:
    net = parse_spec("input 10x10x3\nconv 3x3 x32 pad 1\ndw: conv 3x3 x32 groups 32 pad 1\n"
                     "pw: conv 1x1 x64\nconcat pw dw")
    capped = cap_channels(net, 4)
    dw = capped.layer("dw")
    assert (dw.filters, dw.groups) == (4, 4)
    assert capped.layer("pw").filters == 4
    assert [n.shape[:2] for n in analyze(capped)] == [n.shape[:2] for n in analyze(net)]
    assert analyze(capped).output.shape[2] == 8
    erf = erf_random(net, channels=4)
    assert erf.shape == (10, 10) and np.any(erf != 0)
    with pytest.raises(ValueError, match="add"):
        cap_channels(parse_spec("input 6x6x2\na: conv 1x1 x3\nb: conv 1x1 x3\n"
                                "c: concat a b\nd: conv 1x1 x6 from input\nadd c d"), 2)


def test_erf_random_on_resnet50_with_few_channels() -> None:
    net = resnet50()
    erf = erf_random(net, channels=4)
    assert erf.shape == (224, 224)
    box = clipped_box(analyze(net).output, 3, 3, (224, 224))
    assert box is not None
    (r0, r1), (c0, c1) = box
    outside = np.ones(erf.shape, bool)
    outside[r0:r1 + 1, c0:c1 + 1] = False
    assert np.all(erf[outside] == 0) and np.any(erf != 0)


def test_input_gradient_against_torch_autograd() -> None:
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    net = parse_spec(EVERY_OP)
    weights = init_weights(net, seed=11)
    x = np.random.default_rng(12).standard_normal(net.input)
    tx = torch.from_numpy(x.transpose(2, 0, 1)[None].copy()).requires_grad_(True)
    acts = {"input": tx}
    for layer in net.layers:
        a = acts[layer.inputs[0]]
        pads = resolve_pads(layer, (a.shape[2], a.shape[3]))
        if layer.op == "conv":
            w = torch.from_numpy(weights[layer.name].transpose(3, 2, 0, 1).copy())
            padded = functional.pad(a, (pads[2], pads[3], pads[0], pads[1]))
            out = functional.conv2d(padded, w, stride=layer.stride, dilation=layer.dilation,
                                    groups=layer.groups)
        elif layer.op == "deconv":
            assert pads[0] == pads[1] and pads[2] == pads[3]
            w = torch.from_numpy(weights[layer.name].transpose(2, 3, 0, 1).copy())
            out = functional.conv_transpose2d(a, w, stride=layer.stride,
                                              padding=(pads[0], pads[2]),
                                              output_padding=layer.output_padding,
                                              dilation=layer.dilation)
        elif layer.op == "maxpool":
            out = functional.max_pool2d(a, layer.kernel, layer.stride, (pads[0], pads[2]),
                                        layer.dilation, ceil_mode=layer.ceil_mode)
        elif layer.op == "avgpool":
            out = functional.avg_pool2d(a, layer.kernel, layer.stride, (pads[0], pads[2]),
                                        ceil_mode=layer.ceil_mode)
        elif layer.op == "relu":
            out = functional.relu(a)
        elif layer.op == "add":
            out = sum(acts[name] for name in layer.inputs)
        else:
            out = torch.cat([acts[name] for name in layer.inputs], dim=1)
        acts[layer.name] = out
    mine = forward(net, x, weights)
    for name, value in acts.items():
        np.testing.assert_allclose(mine[name], value.detach()[0].numpy().transpose(1, 2, 0),
                                   rtol=1e-5, atol=1e-9)
    acts["ap"][0, :, 2, 1].sum().backward()
    assert np.count_nonzero(tx.grad.numpy()) > 20
    np.testing.assert_allclose(input_gradient(net, x, weights, "ap", (2, 1)),
                               tx.grad[0].numpy().transpose(1, 2, 0), rtol=1e-5, atol=1e-12)
