"""The backward pass of every op (the gradients behind rf-erf) against central finite differences
of the forward pass (itself checked against onnxruntime in test_forward_ops.py), against PyTorch's
autograd where torch is installed, and the uniform-weight ERF of the new ops against the real
backward pass of the linearised network."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from rfdocs.compute import analyze, parse_spec
from rfdocs.compute.erf import cap_channels, erf_random, erf_uniform, input_gradient
from rfdocs.compute.forward import forward, init_weights, layer_weights
from rfdocs.compute.spec import Network
from tests.forward_models import random_params
from tests.test_forward_ops import CASES

Arr = np.ndarray[Any, Any]


def float64(net: Network) -> Network:
    return replace(net, params={name: {k: np.asarray(v, np.float64) for k, v in own.items()}
                                for name, own in net.params.items()})


def finite_differences(net: Network, x: Arr, layer: str, unit: tuple[int, int]) -> Arr:
    """d(sum_c y[unit, c]) / dx by central differences, one basis image per input value."""
    h, w, c = net.input
    basis = np.eye(h * w * c).reshape(h * w * c, h, w, c)
    eps = 1e-6
    plus = forward(net, x + eps * basis, until=layer)[layer][:, unit[0], unit[1], :]
    minus = forward(net, x - eps * basis, until=layer)[layer][:, unit[0], unit[1], :]
    return np.asarray(((plus.sum(axis=-1) - minus.sum(axis=-1)) / (2 * eps)).reshape(h, w, c))


#: Cases whose last layer sums to a constant over channels (softmax): checked at the layer
#: before, and through a following conv.
SOFTMAX_READOUT = "\nconv 1x1 x2"


@pytest.mark.parametrize("case", sorted(CASES))
def test_input_gradient_of_every_op_matches_finite_differences(case: str) -> None:
    spec = CASES[case] + (SOFTMAX_READOUT if CASES[case].rstrip().endswith("softmax") else "")
    net = float64(random_params(parse_spec(spec), seed=5))
    x = np.random.default_rng(6).standard_normal(net.input)
    for node in analyze(net).layers[-3:]:
        for unit in {(0, 0), (node.shape[0] // 2, node.shape[1] // 2),
                     (node.shape[0] - 1, node.shape[1] - 1)}:
            got = input_gradient(net, x, None, node.name, unit)
            want = finite_differences(net, x, node.name, unit)
            assert got.dtype == np.float64 and got.shape == x.shape
            np.testing.assert_allclose(got, want, rtol=1e-5,
                                       atol=1e-6 * max(1.0, float(np.abs(want).max())),
                                       err_msg=f"{case}: {node.name} {unit}")


def test_softmax_over_channels_passes_no_gradient_to_its_sum() -> None:
    """sum_c softmax(x)_c = 1 for every x: the ERF of a softmax output is 0, exactly."""
    net = parse_spec("input 4x4x3\nconv 3x3 x5 pad 1\nsoftmax")
    grad = input_gradient(net, np.random.default_rng(0).standard_normal(net.input))
    assert np.abs(grad).max() < 1e-15


def test_input_gradient_uses_the_trained_numbers() -> None:
    net = parse_spec("input 6x6x2\nconv 3x3 x3 pad 1\nbatchnorm\nprelu\nglobalavgpool\ndense x2")
    trained = float64(random_params(net, seed=1))
    x = np.random.default_rng(2).standard_normal(net.input)
    got = input_gradient(trained, x, unit=(0, 0))
    np.testing.assert_allclose(got, finite_differences(trained, x, "dense5", (0, 0)),
                               rtol=1e-5, atol=1e-9)
    assert not np.allclose(got, input_gradient(net, x, unit=(0, 0)))
    # erf_random of a trained network: its own numbers, whatever the seed
    np.testing.assert_allclose(erf_random(trained, seed=0), erf_random(trained, seed=0))
    image = np.random.default_rng([3, 1]).standard_normal(net.input)
    np.testing.assert_allclose(erf_random(trained, seed=3),
                               input_gradient(trained, image).sum(axis=-1))


def test_cap_channels_cuts_the_trained_numbers_to_a_sub_network() -> None:
    """The capped network's first channels are the trained network's first channels."""
    net = parse_spec("input 6x6x3\nc1: conv 3x3 x6 pad 1\nbn: batchnorm\np: prelu\n"
                     "dw: conv 3x3 x6 pad 1 groups 6\nc2: conv 1x1 x5\nf: flatten\nfc: dense x3")
    trained = float64(random_params(net, seed=4))
    capped = cap_channels(trained, 2)
    x = np.random.default_rng(0).standard_normal(net.input)
    full, cut = forward(trained, x), forward(capped, x)
    for name in ("c1", "bn", "p", "dw"):
        np.testing.assert_allclose(cut[name], full[name][..., :2], err_msg=name)
    assert capped.layer("dw").groups == 2
    assert capped.params["fc"]["weight"].shape == (2 * 36, 3)
    with pytest.raises(ValueError, match="groups"):
        cap_channels(float64(random_params(parse_spec("input 4x4x4\nconv 3x3 x4 groups 2"))), 3)


# --------------------------------------------------------------------------- uniform ERF


LINEAR_NETS = (
    "input 9x8x2\nc: conv 3x3 x3 pad 1\npad 1,2,0,3 value 0.5\nupsample 2x3 mode linear\n"
    "avgpool 3 /2 pad 1 exclude_pad\nconv 3x3 /2 x2",
    "input 7x7x2\nc: conv 3x3 x3 pad 1\ngap: globalavgpool\nd: sub c gap\n"
    "one: conv 1x1 x1 from c\nadd d one\nupsample 2\nconv 3x3 x2",
    "input 6x5x3\nconv 3x3 x4 pad 1\nbatchnorm\nsigmoid\nflatten\ndense x3\naffine\ndense x2",
    "input 5x6x2\nconv 2x2 x3\ngelu\nglobalmaxpool\ndense x4",
)


def linearised(net: Network) -> Network:
    """The network erf_uniform describes: pointwise ops the identity, global max pools the
    mean (no params: uniform weights)."""
    from rfdocs.compute.spec import POINTWISE_OPS

    layers = []
    for layer in net.layers:
        if layer.op in POINTWISE_OPS:
            layer = replace(layer, op="identity")
        elif layer.op == "globalmaxpool":
            layer = replace(layer, op="globalavgpool")
        layers.append(layer)
    return replace(net, layers=tuple(layers), params={})


@pytest.mark.parametrize("spec", LINEAR_NETS)
def test_erf_uniform_of_the_new_ops_is_the_linearised_gradient(spec: str) -> None:
    net = parse_spec(spec)
    linear = linearised(net)
    x = np.random.default_rng(0).standard_normal(net.input)
    weights = init_weights(linear, kind="uniform")
    for node in analyze(net).layers:
        unit = (node.shape[0] // 2, node.shape[1] // 3)
        want = input_gradient(linear, x, weights, node.name, unit).sum(axis=-1)
        np.testing.assert_allclose(erf_uniform(net, node.name, unit), want, rtol=1e-9,
                                   atol=1e-12, err_msg=node.name)


def test_erf_uniform_of_products_is_linearised_at_ones() -> None:
    """d(ab) = da + db and d(a / b) = da - db where every value is 1."""
    net = parse_spec("input 5x5x1\na: conv 3x3 x1 pad 1\nb: conv 1x1 x1 from input\nmul a b")
    box = np.zeros((5, 5))
    box[1:4, 1:4] = 1 / 9
    centre = np.zeros((5, 5))
    centre[2, 2] = 1
    np.testing.assert_allclose(erf_uniform(net), box + centre)
    div = parse_spec("input 5x5x1\na: conv 3x3 x1 pad 1\nb: conv 1x1 x1 from input\ndiv a b")
    np.testing.assert_allclose(erf_uniform(div), box - centre)


# --------------------------------------------------------------------------- PyTorch


def torch_forward(net: Network, x: Arr) -> tuple[Any, dict[str, Any]]:
    """The network in torch.nn.functional (NCHW), for the ops used below."""
    torch = pytest.importorskip("torch", reason="torch is not installed: no autograd reference")
    functional = torch.nn.functional
    numbers = layer_weights(net)
    tx = torch.from_numpy(x.transpose(2, 0, 1)[None].copy()).requires_grad_(True)
    acts: dict[str, Any] = {"input": tx}

    def channel(v: Arr) -> Any:
        return torch.from_numpy(np.asarray(v, np.float64)).reshape(1, -1, 1, 1)

    for layer in net.layers:
        a = acts[layer.inputs[0]]
        own = net.params.get(layer.name, {})
        op = layer.op
        if op == "conv":
            w = torch.from_numpy(numbers[layer.name]["weight"].transpose(3, 2, 0, 1).copy())
            out = functional.conv2d(a, w, torch.from_numpy(numbers[layer.name]["bias"]),
                                    padding=layer.padding[0], groups=layer.groups)
        elif op == "batchnorm":
            out = ((a - channel(own["mean"])) / torch.sqrt(channel(own["var"]) + layer.epsilon)
                   * channel(own["scale"]) + channel(own["bias"]))
        elif op == "prelu":
            out = functional.prelu(a, torch.from_numpy(np.asarray(own["slope"], np.float64)))
        elif op == "gelu":
            out = functional.gelu(a, approximate=layer.approximate)
        elif op == "hardswish":
            out = functional.hardswish(a)
        elif op == "sigmoid":
            out = torch.sigmoid(a)
        elif op == "softmax":
            out = torch.softmax(a, dim=1)
        elif op == "upsample":
            out = functional.interpolate(a, scale_factor=layer.factor, mode=(
                "bilinear" if layer.mode == "linear" else "nearest"), align_corners=(
                False if layer.mode == "linear" else None))
        elif op == "pad":
            assert not isinstance(layer.padding, str)
            t, b, lft, r = layer.padding
            out = functional.pad(a, (lft, r, t, b), value=layer.value)
        elif op == "globalavgpool":
            out = a.mean(dim=(2, 3), keepdim=True)
        elif op == "mul":
            out = a * acts[layer.inputs[1]]
        elif op == "div":
            out = a / acts[layer.inputs[1]]
        elif op == "flatten":
            out = a.flatten(1)[:, :, None, None]
        elif op == "dense":
            out = (a.flatten(1) @ torch.from_numpy(numbers[layer.name]["weight"])
                   + torch.from_numpy(numbers[layer.name]["bias"]))[:, :, None, None]
        else:
            raise AssertionError(op)
        acts[layer.name] = out
    return tx, acts


TORCH_NET = """
input 7x6x3
c1: conv 3x3 x4 pad 1
bn: batchnorm
p: prelu
g: gelu
up: upsample 2 mode linear
pd: pad 1,0,2,1 value 0.3
c2: conv 3x3 x4 groups 2
s: sigmoid
gap: globalavgpool
m: mul c2 gap
hs: hardswish
c3: conv 1x1 x4
sm: softmax
dv: div m sm
f: flatten
fc: dense x3
"""


def test_input_gradient_of_the_new_ops_against_torch_autograd() -> None:
    net = float64(random_params(parse_spec(TORCH_NET), seed=2))
    x = np.random.default_rng(3).standard_normal(net.input)
    tx, acts = torch_forward(net, x)
    mine = forward(net, x)
    for name, value in acts.items():
        want = value.detach()[0].numpy().transpose(1, 2, 0)
        np.testing.assert_allclose(mine[name], want, rtol=1e-9, atol=1e-12, err_msg=name)
    for name, unit in (("dv", (5, 4)), ("fc", (0, 0)), ("hs", (0, 9))):
        if tx.grad is not None:
            tx.grad.zero_()
        acts[name][0, :, unit[0], unit[1]].sum().backward(retain_graph=True)
        np.testing.assert_allclose(input_gradient(net, x, None, name, unit),
                                   tx.grad[0].numpy().transpose(1, 2, 0), rtol=1e-7,
                                   atol=1e-12, err_msg=name)
