"""rfdocs.from_torch against torch itself: every named module's output shape (forward hooks), the
receptive field of units against the input gradient autograd computes, and the activations of
rfdocs' forward pass with the imported weights against torch's; the route through
torch.onnx.export and rfdocs' ONNX importer gives the same analysis."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch to run "
                            "the PyTorch importer tests)")
nn = torch.nn
F = torch.nn.functional

import rfdocs  # noqa: E402
from rfdocs.compute.forward import forward  # noqa: E402
from rfdocs.compute.receptive import analyze, clipped_box  # noqa: E402
from rfdocs.compute.spec import SpecError, format_compact, parse_compact  # noqa: E402
from rfdocs.importers.torch import from_torch  # noqa: E402

# --------------------------------------------------------------------------- the networks


class Plain(nn.Module):
    """Chains of windows of every kind: padding forms, dilation, groups, ceil mode, pools that
    count or exclude pads, a transposed convolution with output padding, constant pads."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 5, padding=2)
        self.bn1 = nn.BatchNorm2d(8)
        self.act1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, dilation=2, padding=(2, 1), groups=4, bias=False)
        self.act2 = nn.ReLU6()
        self.pool2 = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        self.conv3 = nn.Conv2d(16, 16, 3, padding="same", dilation=2, groups=16)
        self.act3 = nn.LeakyReLU(0.1)
        self.up = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)
        self.act4 = nn.Hardswish()
        self.pad = nn.ZeroPad2d((1, 0, 2, 1))
        self.conv4 = nn.Conv2d(8, 4, (3, 5), padding="valid")
        self.pool3 = nn.AvgPool2d(2)
        self.act5 = nn.PReLU(4, init=0.2)

    def forward(self, x: Any) -> Any:
        x = self.pool1(self.act1(self.bn1(self.conv1(x))))
        x = self.pool2(self.act2(self.conv2(x)))
        x = self.act4(self.up(self.act3(self.conv3(x))))
        x = F.max_pool2d(self.conv4(self.pad(x)), 2, stride=1, dilation=2, padding=1)
        return self.act5(self.pool3(F.pad(x, (0, 1, 1, 0), value=0.5)))


class BasicBlock(nn.Module):
    """torchvision's ResNet basic block: one ReLU module called twice, ``out += identity``."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                         nn.BatchNorm2d(cout))
                           if stride != 1 or cin != cout else None)

    def forward(self, x: Any) -> Any:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNetish(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(BasicBlock(8, 8, 1), BasicBlock(8, 8, 1))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, 2), BasicBlock(16, 16, 1))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, 10)

    def forward(self, x: Any) -> Any:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class SEBlock(nn.Module):
    """Squeeze-and-excitation twice: with Linear layers and views (the original), and with 1x1
    convolutions on a keepdim mean (MobileNetV3), gated by a broadcast multiplication."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.act = nn.SiLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(16, 4)
        self.fc2 = nn.Linear(4, 16)
        self.conv2 = nn.Conv2d(16, 16, 3, stride=2, padding=1)
        self.reduce = nn.Conv2d(16, 4, 1)
        self.expand = nn.Conv2d(4, 16, 1)
        self.gate = nn.Hardsigmoid()
        self.scale = nn.Parameter(torch.linspace(0.5, 1.5, 16).reshape(1, 16, 1, 1))

    def forward(self, x: Any) -> Any:
        x = self.act(self.conv(x))
        b, c = x.shape[0], x.shape[1]
        y = self.pool(x).view(b, c)
        y = torch.sigmoid(self.fc2(F.relu(self.fc1(y)))).view(b, c, 1, 1)
        x = self.conv2(x * y)
        s = x.mean((2, 3), keepdim=True)
        s = self.gate(self.expand(F.gelu(self.reduce(s))))
        x = x * s
        return torch.tanh(x * self.scale + 1.0) - x / 4


class UNetish(nn.Module):
    """An encoder-decoder: skip connections concatenated after bilinear and nearest
    up-sampling (module and function forms), a sum of branches of different depth."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU())
        self.down1 = nn.MaxPool2d(2)
        self.enc2 = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
        self.down2 = nn.MaxPool2d(2)
        self.mid = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.Sigmoid())
        self.up2 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec2 = nn.Sequential(nn.Conv2d(32, 8, 3, padding=1), nn.Tanh())
        self.dec1 = nn.Sequential(nn.Conv2d(16, 4, 3, padding=1), nn.Hardtanh(-0.5, 4.0))
        self.head = nn.Conv2d(4, 2, 1)
        self.squash = nn.Conv2d(16, 1, 1)

    def forward(self, x: Any) -> Any:
        e1 = self.enc1(x)
        e2 = self.enc2(self.down1(e1))
        m = self.mid(self.down2(e2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], dim=1))
        d1 = self.dec1(torch.cat((F.interpolate(d2, scale_factor=2, mode="nearest"), e1), 1))
        deep = F.interpolate(self.squash(m), scale_factor=4, mode="bilinear")  # one channel
        return torch.add(self.head(d1) * 2 - 1, deep)


class Classifier(nn.Module):
    """A classifier head on spatial features: x.view(x.size(0), -1) of a 4x4 map (the flatten
    order matters), dropout, BatchNorm1d, a softmax over the classes."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 8, 5), nn.ReLU(), nn.AvgPool2d(2))
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Linear(8 * 4 * 4, 32), nn.BatchNorm1d(32), nn.ReLU(),
            nn.Linear(32, 10), nn.Softmax(dim=1))

    def forward(self, x: Any) -> Any:
        x = self.features(x)
        x = x.view(x.size(0), -1)
        return self.classifier(x)


NETS: dict[str, tuple[Callable[[], Any], tuple[int, ...]]] = {
    "plain": (Plain, (3, 40, 36)),
    "resnet": (ResNetish, (2, 3, 48, 48)),
    "se": (SEBlock, (3, 20, 20)),
    "unet": (UNetish, (1, 32, 32)),
    "classifier": (Classifier, (1, 28, 28)),
}


def _randomize(model: Any, seed: int, positive: bool = False) -> Any:
    """Random weights, biases and batch-norm statistics (seeded); ``positive``: small positive
    ones, so that every path through the network passes a gradient."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in list(model.named_parameters()) + list(model.named_buffers()):
            if not p.is_floating_point():
                continue
            if positive:  # activations stay near the input's scale: no saturated sigmoids
                fan = p[0].numel() if p.dim() > 1 else 20
                values = (0.5 + torch.rand(p.shape, generator=g)) / fan
                if name.endswith("running_var") or name.endswith("running_mean"):
                    values = torch.ones(p.shape) if "var" in name else torch.zeros(p.shape)
                p.copy_(values)
            elif name.endswith("running_var"):
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model.eval()


def _model(key: str, *, positive: bool = False, dtype: Any = None) -> tuple[Any, tuple[int, ...]]:
    factory, shape = NETS[key]
    torch.manual_seed(0)
    model = _randomize(factory(), 1, positive)
    if dtype is not None:
        model = model.to(dtype)
    return model, shape


def _module_outputs(model: Any, x: Any) -> dict[str, Any]:
    """The output of every named module (each call; a second call of one module is ``_1``)."""
    outputs: dict[str, Any] = {}
    hooks = []
    for name, module in model.named_modules():
        if not name or isinstance(module, nn.Sequential) or len(list(module.children())):
            continue

        def hook(mod: Any, args: Any, out: Any, name: str = name) -> None:
            key = name
            n = 0
            while key in outputs:
                n += 1
                key = f"{name}_{n}"
            outputs[key] = out.clone() if isinstance(out, torch.Tensor) else out

        hooks.append(module.register_forward_hook(hook))
    try:
        outputs["<output>"] = model(x)
    finally:
        for h in hooks:
            h.remove()
    return outputs


def _hwc(shape: tuple[int, ...]) -> tuple[int, int, int]:
    return (shape[2], shape[3], shape[1]) if len(shape) == 4 else (1, 1, shape[1])


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("key", sorted(NETS))
def test_shapes_equal_torch_for_every_module(key: str) -> None:
    model, shape = _model(key)
    net = from_torch(model, shape)
    analysis = analyze(net)
    x = torch.randn((1, *shape) if len(shape) == 3 else shape)
    outputs = _module_outputs(model, x)
    skipped = {name for name, m in model.named_modules() if isinstance(m, nn.Dropout | nn.Identity)}
    checked = 0
    for name, out in outputs.items():
        if name == "<output>" or name in skipped:
            continue
        layer = name
        assert layer in analysis.index, f"{layer} missing from {[n.name for n in net.layers]}"
        assert analysis[layer].shape == _hwc(tuple(out.shape)), layer
        checked += 1
    assert checked >= 6
    assert analysis.output.shape == _hwc(tuple(outputs["<output>"].shape))
    assert net.layers[-1].name == analysis.output.name


def test_names_are_module_paths_and_params_are_channels_last() -> None:
    model, shape = _model("resnet")
    net = from_torch(model, shape)
    names = [layer.name for layer in net.layers]
    assert names[:4] == ["conv1", "bn1", "relu", "maxpool"]
    assert "layer2.0.downsample.0" in names and "layer1.0.relu_1" in names
    assert "layer1.0.add" in names and net.layer("layer1.0.add").op == "add"
    assert net.layer("layer2.0.add").inputs == ("layer2.0.bn2", "layer2.0.downsample.1")
    w = net.params["layer2.0.conv1"]["weight"]
    assert w.dtype == np.float32 and w.shape == (3, 3, 8, 16)
    torch_w = model.layer2[0].conv1.weight.detach().numpy()
    np.testing.assert_array_equal(w[:, :, 5, 11], torch_w[11, 5])
    fc = net.params["fc"]
    np.testing.assert_array_equal(fc["weight"], model.fc.weight.detach().numpy().T)
    bn = net.params["bn1"]
    np.testing.assert_array_equal(bn["var"], model.bn1.running_var.numpy())
    assert net.layer("bn1").epsilon == pytest.approx(1e-5)
    assert net.layer("fc").filters == 10
    # the spec text of the imported network parses back to the same network
    assert parse_compact(format_compact(net)) == net


def test_sequential_children_get_valid_names_and_model_state_is_kept() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3), nn.ReLU())
    model.train()
    net = from_torch(model, (1, 9, 9))
    assert [layer.name for layer in net.layers] == ["conv_0", "relu_1", "conv_2", "relu_3"]
    assert model.training and all(m.training for m in model.modules())


def test_public_api_is_lazy_and_reexported() -> None:
    import subprocess
    import sys

    code = ("import sys, rfdocs; assert callable(rfdocs.from_torch); "
            "assert 'torch' not in sys.modules, 'importing rfdocs imported torch'")
    subprocess.run([sys.executable, "-c", code], check=True)
    model = nn.Sequential(nn.Conv2d(1, 2, 3))
    assert rfdocs.from_torch(model, (1, 1, 5, 5)).layers[0].name == "conv_0"


# --------------------------------------------------------------------------- refusals


class Unsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.norm = nn.GroupNorm(1, 2)
        self.out = nn.Conv2d(2, 2, 1)

    def forward(self, x: Any) -> Any:
        return self.out(self.norm(self.conv(x)))


def test_unsupported_module_is_one_message_naming_it() -> None:
    with pytest.raises(SpecError) as info:
        from_torch(Unsupported(), (1, 8, 8))
    text = str(info.value)
    assert "'norm'" in text and "torch.nn.normalization.GroupNorm" in text
    assert "Conv2d" in text and "until=" in text
    net = from_torch(Unsupported(), (1, 8, 8), until="conv")
    assert [layer.name for layer in net.layers] == ["conv"]


@pytest.mark.parametrize("forward, needle", [
    (lambda x: torch.roll(x, 1, 2), "torch.roll"),
    (lambda x: x[:, :1], "operator.getitem"),
    (lambda x: F.interpolate(x, scale_factor=1.5), "integer"),
    (lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True),
     "align_corners"),
    (lambda x: F.pad(x, (1, 1, 1, 1), mode="reflect"), "reflect"),
    (lambda x: 1 / x, "reciprocal"),
    (lambda x: x.mean(1), "dims [1]"),
    (lambda x: torch.cat([x, x], 2), "dim 2"),
    (lambda x: x.reshape(1, 2, -1), "not a flatten"),
    (lambda x: F.softmax(x, dim=2), "dim 2"),
    (lambda x: x + torch.ones(1, 2, 6, 6), "one number per channel"),
])
def test_unsupported_functions_are_named(forward: Callable[[Any], Any], needle: str) -> None:
    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x: Any) -> Any:
            return forward(self.conv(x))

    with pytest.raises(SpecError, match=None) as info:
        from_torch(M(), (1, 8, 8))
    assert needle in str(info.value), str(info.value)


def test_reflect_padding_conv_and_bad_input_shape_refused() -> None:
    with pytest.raises(SpecError, match="padding_mode 'reflect'"):
        from_torch(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect")), (1, 8, 8))
    with pytest.raises(SpecError, match="input_shape"):
        from_torch(nn.Sequential(nn.Conv2d(1, 1, 3)), (8, 8))
    with pytest.raises(SpecError, match="fails on an input"):
        from_torch(nn.Sequential(nn.Conv2d(1, 1, 3)), (2, 8, 8))


def test_control_flow_on_values_is_reported() -> None:
    class Branchy(nn.Module):
        def forward(self, x: Any) -> Any:
            return x if x.sum() > 0 else -x

    with pytest.raises(SpecError, match="torch.fx cannot trace Branchy"):
        from_torch(Branchy(), (1, 4, 4))


# --------------------------------------------------------------------------- receptive fields


def _input_gradient(model: Any, x: Any, layer_out: Callable[[Any], Any], y: int, z: int) -> Any:
    """|d out[0, 0, y, z] / d x| summed over input channels, as a numpy (H, W) array."""
    x = x.clone().requires_grad_(True)
    out = layer_out(x)
    unit = out[0, 0, y, z] if out.dim() == 4 else out[0, 0]
    grad, = torch.autograd.grad(unit, x)
    return grad[0].abs().sum(0).numpy()


@pytest.mark.parametrize("key", ["plain", "resnet", "se", "unet", "classifier"])
def test_receptive_fields_equal_autograd(key: str) -> None:
    """For units of every named module (corners, centre, edges): the input pixels with a
    nonzero gradient lie inside the field rfdocs computes (clipped to the input), and, with
    positive weights, span it exactly (bounding box) unless a max pool routes the gradient to
    its maxima (then only the inclusion holds)."""
    model, shape = _model(key, positive=True, dtype=torch.float64)
    net = from_torch(model, shape)
    analysis = analyze(net)
    c, h, w = shape[-3:]
    x = 0.1 + torch.rand((1, c, h, w), generator=torch.Generator().manual_seed(2),
                         dtype=torch.float64)
    has_maxpool = any(layer.op in ("maxpool", "globalmaxpool") for layer in net.layers)
    compared = 0
    for name, module in model.named_modules():
        layer = name
        if not name or layer not in analysis.index or len(list(module.children())):
            continue
        info = analysis[layer]
        if info.op == "pad":  # the pads' units see nothing (their value is the constant)
            continue
        captured: dict[str, Any] = {}

        def out_of(inp: Any, module: Any = module, captured: dict[str, Any] = captured) -> Any:
            handle = module.register_forward_hook(lambda m, a, o: captured.setdefault("o", o))
            try:
                model(inp)
            finally:
                handle.remove()
            return captured.pop("o")

        oh, ow = info.shape[:2]
        units = {(0, 0), (oh - 1, ow - 1), (oh // 2, ow // 2), (0, ow // 2), (oh // 2, 0)}
        for yy, zz in sorted(units):
            grad = _input_gradient(model, x, out_of, yy, zz)
            seen = np.argwhere(grad > 0)
            box = clipped_box(info, yy, zz, (h, w))
            assert box is not None and len(seen), (layer, yy, zz)
            (r0, r1), (c0, c1) = box
            assert seen[:, 0].min() >= r0 and seen[:, 0].max() <= r1, (layer, yy, zz, box)
            assert seen[:, 1].min() >= c0 and seen[:, 1].max() <= c1, (layer, yy, zz, box)
            if not has_maxpool:
                assert (seen[:, 0].min(), seen[:, 0].max(), seen[:, 1].min(),
                        seen[:, 1].max()) == (r0, r1, c0, c1), (layer, yy, zz)
            compared += 1
    assert compared >= 10


# --------------------------------------------------------------------------- forward pass


@pytest.mark.parametrize("key", sorted(NETS))
def test_forward_equals_torch(key: str) -> None:
    """rfdocs' forward pass with the imported params gives torch's activations (NCHW moved to
    NHWC) for every named module and the output, to 1e-4 of the activation's scale."""
    model, shape = _model(key)
    net = from_torch(model, shape)
    full = (1, *shape) if len(shape) == 3 else shape
    x = torch.randn(full, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        outputs = _module_outputs(model, x)
    ours = forward(net, x.numpy().transpose(0, 2, 3, 1))
    outputs[net.layers[-1].name] = outputs.pop("<output>")
    compared = 0
    for name, out in outputs.items():
        layer = name
        if layer not in ours:
            continue
        theirs = out.numpy()
        theirs = theirs.transpose(0, 2, 3, 1) if theirs.ndim == 4 else theirs[:, None, None, :]
        got = np.asarray(ours[layer])
        scale = max(float(np.abs(theirs).max()), 1e-6)
        np.testing.assert_allclose(got, theirs, rtol=1e-4, atol=1e-4 * scale, err_msg=layer)
        compared += 1
    assert compared >= 5


# --------------------------------------------------------------------------- via ONNX


@pytest.mark.parametrize("key", [
    *sorted(NETS),
])
def test_onnx_route_gives_the_same_analysis(key: str, tmp_path: Any) -> None:
    pytest.importorskip("onnx", reason="onnx is not installed")
    onnx_importer = pytest.importorskip("rfdocs.importers.onnx",
                                        reason="rfdocs' ONNX importer is not there yet")
    model, shape = _model(key)
    direct = analyze(from_torch(model, shape))
    full = (1, *shape) if len(shape) == 3 else shape
    path = tmp_path / f"{key}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(full),), str(path), opset_version=17, dynamo=False)
    via = analyze(onnx_importer.load_onnx(path))
    assert via.input.shape == direct.input.shape
    assert via.output.shape == direct.output.shape
    assert (via.output.rf, via.output.jump, via.output.start) == (
        direct.output.rf, direct.output.jump, direct.output.start)
    common = [info.name for info in direct.layers if info.name in via.index]
    assert len(common) >= len([i for i in direct.layers if i.op in ("conv", "deconv")])
    for name in common:
        a, b = direct[name], via[name]
        assert (a.shape, a.rf, a.jump, a.start) == (b.shape, b.rf, b.jump, b.start), name



def test_onnx_route_names_the_layers_alike(tmp_path: Any) -> None:
    """A top-level Sequential (children ``0``, ``1``, ...) and nested modules: the direct import
    and torch.onnx.export + the ONNX importer give the same layer names."""
    pytest.importorskip("onnx", reason="onnx is not installed")
    onnx_importer = pytest.importorskip("rfdocs.importers.onnx",
                                        reason="rfdocs' ONNX importer is not there yet")
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(),
                          nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.MaxPool2d(2))).eval()
    path = tmp_path / "seq.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 1, 9, 9),), str(path), opset_version=17,
                          dynamo=False)
    direct = [layer.name for layer in from_torch(model, (1, 9, 9)).layers]
    assert direct == ["conv_0", "relu_1", "conv_2.0", "maxpool_2.1"]
    assert [layer.name for layer in onnx_importer.load_onnx(path).layers] == direct
