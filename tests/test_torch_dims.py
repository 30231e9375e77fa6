"""rfdocs.from_torch on sequence (Conv1d, ...) and volume (Conv3d, ...) modules: the dimension
found from the module's classes, every named module's output against torch's (forward hooks) on
rfdocs' forward pass with the imported numbers, the field of a dilated causal stack, and wrong or
mixed dimensions as one message."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch to run "
                            "the PyTorch importer tests)")
nn = torch.nn
F = torch.nn.functional

from rfdocs.compute.forward import forward  # noqa: E402
from rfdocs.compute.receptive import analyze  # noqa: E402
from rfdocs.compute.spec import SpecError  # noqa: E402
from rfdocs.importers.torch import from_torch  # noqa: E402


class Sequence1d(nn.Module):
    """Every 1-D module: a dilated causal stack (left pads), BatchNorm1d on (N, C, T), pools,
    linear upsampling, a transposed convolution, an adaptive pool and a Linear head with
    BatchNorm1d on its features."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv1d(2, 8, 5, stride=2, padding=2)
        self.bn = nn.BatchNorm1d(8)
        self.pad1 = nn.ConstantPad1d((1, 0), 0.0)
        self.conv1 = nn.Conv1d(8, 8, 2, dilation=1)
        self.pad2 = nn.ZeroPad1d((2, 0))
        self.conv2 = nn.Conv1d(8, 8, 2, dilation=2, groups=2)
        self.pool = nn.MaxPool1d(3, 2, 1, ceil_mode=True)
        self.avg = nn.AvgPool1d(3, 1, 1, count_include_pad=False)
        self.up = nn.Upsample(scale_factor=2, mode="linear", align_corners=False)
        self.deconv = nn.ConvTranspose1d(8, 6, 4, stride=2, padding=1, output_padding=1)
        self.gap = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(6, 4)
        self.fbn = nn.BatchNorm1d(4)

    def forward(self, x: Any) -> Any:
        x = self.bn(self.stem(x))
        x = torch.relu(self.conv1(self.pad1(x)))
        x = torch.tanh(self.conv2(self.pad2(x)))
        x = self.deconv(self.up(self.avg(self.pool(x))))
        x = F.max_pool1d(F.pad(x, (1, 2)), 2)
        return self.fbn(self.fc(torch.flatten(self.gap(x), 1)))


class Volume3d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(3, 6, 3, stride=(1, 2, 2), padding=1)
        self.bn1 = nn.BatchNorm3d(6)
        self.pool1 = nn.MaxPool3d((1, 2, 2), stride=(1, 2, 2), ceil_mode=True)
        self.conv2 = nn.Conv3d(6, 6, (3, 1, 3), padding=(1, 0, 2), dilation=(1, 1, 2), groups=3)
        self.avg = nn.AvgPool3d(2, 1, 1, count_include_pad=False)
        self.pad = nn.ConstantPad3d((1, 0, 0, 1, 1, 0), 0.5)
        self.deconv = nn.ConvTranspose3d(6, 4, 2, stride=2)
        self.up = nn.Upsample(scale_factor=(1, 2, 1), mode="trilinear", align_corners=False)
        self.head = nn.Conv3d(4, 2, 1)

    def forward(self, x: Any) -> Any:
        x = self.pool1(torch.relu(self.bn1(self.conv1(x))))
        x = self.pad(self.avg(self.conv2(x)))
        x = self.up(self.deconv(x))
        return self.head(x).mean(dim=(2, 3, 4))


def randomise(module: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm3d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return module.eval()


def hooked_outputs(module: nn.Module, x: Any) -> dict[str, Any]:
    """Every named leaf module's output (its last call), channels last."""
    outs: dict[str, Any] = {}
    handles = []
    for name, m in module.named_modules():
        if name and not list(m.children()):
            def hook(_m: Any, _i: Any, out: Any, name: str = name) -> None:
                arr = out.detach().numpy()[0]
                outs[name] = np.moveaxis(arr, 0, -1) if arr.ndim > 1 else arr
            handles.append(m.register_forward_hook(hook))
    with torch.no_grad():
        final = module(x)
    for h in handles:
        h.remove()
    outs["(output)"] = final.detach().numpy()[0]
    return outs


def compare(module: nn.Module, shape: tuple[int, ...], **kw: Any) -> Any:
    net = from_torch(module, shape, **kw)
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    want = hooked_outputs(module, torch.from_numpy(x[None]))
    got = forward(net, np.moveaxis(x, 0, -1))
    names = {layer.name for layer in net.layers}
    compared = 0
    for name, value in want.items():
        key = name if name != "(output)" else net.layers[-1].name
        if key not in names:
            continue
        mine = got[key]
        value = np.asarray(value).reshape(mine.shape)
        scale = max(float(np.abs(value).max()), 1e-6)
        assert float(np.abs(mine - value).max()) / scale <= 1e-4, name
        compared += 1
    return net, compared


def test_a_sequence_module_imports_as_a_one_dimensional_network() -> None:
    net, compared = compare(randomise(Sequence1d()), (2, 40))
    assert net.ndim == 1 and net.input == (40, 2)
    assert compared >= 12
    assert net.layer("pad2").padding == (2, 0) and net.layer("conv2").dilation == (2,)
    assert net.layer("bn").op == "batchnorm" and net.layer("fbn").op == "batchnorm"
    assert net.layer("up").mode == "linear" and net.layer("gap").op == "globalavgpool"
    shapes = {node.name: node.shape for node in analyze(net)}
    assert shapes["conv2"] == (20, 8) and shapes["deconv"] == (45, 6) and shapes["fbn"] == (1, 4)


def test_a_volume_module_imports_as_a_three_dimensional_network() -> None:
    module = randomise(Volume3d())
    net, compared = compare(module, (3, 4, 10, 9))  # (C, D, H, W)
    assert net.ndim == 3 and net.input == (4, 10, 9, 3)
    assert from_torch(module, (1, 3, 4, 10, 9)) == net  # (N, C, D, H, W) alike
    assert compared >= 9
    assert net.layer("conv2").padding == (1, 1, 0, 0, 2, 2)
    assert net.layer("pad").padding == (1, 0, 0, 1, 1, 0)
    assert net.layer("up").factor == (1, 2, 1) and net.layer("up").mode == "linear"
    assert net.layers[-1].op == "globalavgpool"


def test_a_dilated_causal_stack_has_the_field_wavenet_gives() -> None:
    class Stack(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList(nn.Conv1d(1, 1, 2, dilation=2 ** i) for i in range(10))

        def forward(self, x: Any) -> Any:
            for i, conv in enumerate(self.layers):
                x = conv(F.pad(x, (2 ** i, 0)))
            return x

    net = from_torch(Stack(), (1, 2048))
    out = analyze(net).output
    assert out.shape == (2048, 1) and out.rf == (1024,)  # 2^10: van den Oord et al. 2016
    assert out.box(2047) == ((1024, 2047),) and out.box(0) == ((-1023, 0),)


def test_the_dimension_comes_from_the_module_or_is_given() -> None:
    seq = nn.Sequential(nn.Conv1d(2, 3, 3), nn.ReLU())
    assert from_torch(seq, (2, 10)).input == (10, 2)
    assert from_torch(seq, (1, 2, 10)).input == (10, 2)  # (N, C, T), not (C, H, W)
    vol = nn.Sequential(nn.Conv3d(2, 3, 3))
    assert from_torch(vol, (2, 4, 5, 6)).input == (4, 5, 6, 2)  # (C, D, H, W)

    class Functional(nn.Module):
        def forward(self, x: Any) -> Any:
            return F.max_pool1d(x, 2)

    assert from_torch(Functional(), (3, 8)).input == (8, 3)  # two numbers: (C, T)
    assert from_torch(Functional(), (1, 3, 8), ndim=1).input == (8, 3)
    with pytest.raises(SpecError, match="mixes layers of different dimensions: Conv1d"):
        from_torch(nn.Sequential(nn.Conv1d(1, 1, 1), nn.Conv2d(1, 1, 1)), (1, 4, 4))
    with pytest.raises(SpecError, match=r"input_shape must be \(C, T\) or \(N, C, T\)"):
        from_torch(seq, (1, 1, 2, 10))
    with pytest.raises(SpecError, match="a 2-D layer in a 1-D network"):
        from_torch(nn.Sequential(nn.Conv2d(1, 1, 1)), (1, 8), ndim=1)
