"""ONNX models of sequences (N, C, T) and volumes (N, C, D, H, W) import as 1-D and 3-D networks:
spec networks written as ONNX (tests/onnx_build.py) come back as the same network with the same
numbers and run like onnxruntime; real PyTorch exports (Conv1d/Conv3d, ConvTranspose, pools,
BatchNorm, Upsample, adaptive pools) import and predict what torch predicts; wrong dimensions
are one message."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install rfdocs[onnx])")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed: no reference")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from rfdocs.compute import analyze  # noqa: E402
from rfdocs.compute.forward import forward  # noqa: E402
from rfdocs.compute.spec import parse_spec  # noqa: E402
from rfdocs.importers import ModelError  # noqa: E402
from rfdocs.importers.onnx import load_onnx  # noqa: E402
from tests.onnx_build import (  # noqa: E402
    full_params,
    network_to_onnx,
    with_resolved_pads,
    without_identities,
)
from tests.test_forward_dims import CASES_1D, CASES_3D  # noqa: E402

RTOL = 1e-4


def run_ort(model: Any, x: np.ndarray) -> np.ndarray:
    """onnxruntime's first output for one channels-last input, channels-last again ((1.., K)
    for an (N, K) output)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    out = session.run(None, {name: np.moveaxis(x, -1, 0)[None].astype(np.float32)})[0][0]
    return out.reshape(*(1,) * (x.ndim - 1), -1) if out.ndim == 1 else np.moveaxis(out, 0, -1)


def close(ours: np.ndarray, ref: np.ndarray) -> None:
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    scale = max(float(np.abs(ref).max()), 1e-6)
    err = float(np.abs(ours.astype(np.float64) - ref).max()) / scale
    assert err <= RTOL, f"relative error {err:.2e}"


def save(model: Any, folder: Path, name: str = "m.onnx") -> Path:
    model.ir_version = min(model.ir_version, 10)
    path = folder / name
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("case", [f"1d:{k}" for k in CASES_1D] + [f"3d:{k}" for k in CASES_3D])
def test_spec_networks_round_trip_through_onnx_in_one_and_three_dimensions(case: str) -> None:
    dims, name = case.split(":")
    net = parse_spec((CASES_1D if dims == "1d" else CASES_3D)[name])
    params = full_params(net, seed=3)
    model = network_to_onnx(net, params)
    onnx.checker.check_model(model)
    with tempfile.TemporaryDirectory() as folder:
        got = load_onnx(save(model, Path(folder)))
    assert got.ndim == net.ndim
    want = without_identities(net)
    assert with_resolved_pads(got) == with_resolved_pads(want)
    assert analyze(got).to_json() == analyze(want).to_json()
    for layer, arrays in got.params.items():
        for key, array in arrays.items():
            assert array.dtype == np.float32
            np.testing.assert_array_equal(array, params[layer][key])
    x = np.random.default_rng(1).normal(size=net.input).astype(np.float32)
    close(forward(got, x)[got.layers[-1].name], run_ort(model, x))


def conv_model(x_dims: list[Any], w_shape: tuple[int, ...], **attrs: Any) -> Any:
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.normal(size=w_shape).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", **attrs)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_dims)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_symbolic_lengths_need_an_input_shape_and_dimensions_must_agree(tmp_path: Path) -> None:
    path = save(conv_model([1, 2, "T"], (3, 2, 5), pads=[4, 0], dilations=[2]), tmp_path)
    with pytest.raises(ModelError, match=r"length are not all fixed.*input_shape=\(16000,\)"):
        load_onnx(path)
    net = load_onnx(path, input_shape=(20,))
    assert net.input == (20, 2)
    layer = net.layers[0]
    assert (layer.kernel, layer.dilation, layer.padding) == ((5,), (2,), (4, 0))
    x = np.random.default_rng(2).normal(size=(20, 2)).astype(np.float32)
    model = conv_model([1, 2, 20], (3, 2, 5), pads=[4, 0], dilations=[2])
    close(forward(net, x)["conv"], run_ort(model, x))
    bad = save(conv_model([1, 2, 20], (3, 2, 5, 5)), tmp_path, "bad.onnx")
    with pytest.raises(ModelError, match=r"node 'conv' \(Conv\).*input is 1-D, so rfdocs reads "
                                         r"1-D convolutions \(a 3-D weight\)"):
        load_onnx(bad)
    with pytest.raises(ModelError, match=r"strides \[1, 1\] has 2 axes, but the model's input "
                                         r"is a 1-D sequence \(N, C, T\)"):
        load_onnx(save(conv_model([1, 2, 20], (3, 2, 5), strides=[1, 1]), tmp_path, "s.onnx"))
    volume = save(conv_model([1, 2, 4, 6, 6], (3, 2, 3, 3, 3), pads=[1, 0, 1, 1, 2, 1]),
                  tmp_path, "v.onnx")
    net = load_onnx(volume)
    assert net.input == (4, 6, 6, 2) and net.layers[0].padding == (1, 1, 0, 2, 1, 1)
    with pytest.raises(ModelError, match=r"input_shape must be \(depth, height, width\)"):
        load_onnx(volume, input_shape=(6, 6))


# --------------------------------------------------------------------------- PyTorch exports


def export(module: Any, example: Any, path: Path) -> None:
    import torch

    torch.onnx.export(module, (example,), str(path), dynamo=False, opset_version=17,
                      input_names=["x"])


def test_a_pytorch_sequence_model_exports_and_imports(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed (never a dependency)")
    from torch import nn

    class Causal(nn.Module):
        """A dilated causal convolution as TCNs write it: pad on the left only."""

        def __init__(self, cin: int, cout: int, dilation: int) -> None:
            super().__init__()
            self.pad = nn.ConstantPad1d((dilation, 0), 0.0)
            self.conv = nn.Conv1d(cin, cout, 2, dilation=dilation)

        def forward(self, x: Any) -> Any:
            return torch.relu(self.conv(self.pad(x)))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv1d(2, 6, 5, stride=2, padding=2)
            self.bn = nn.BatchNorm1d(6)
            self.blocks = nn.Sequential(Causal(6, 6, 1), Causal(6, 6, 2), Causal(6, 6, 4))
            self.pool = nn.MaxPool1d(3, 2, 1, ceil_mode=True)
            self.avg = nn.AvgPool1d(2, count_include_pad=False)
            self.up = nn.Upsample(scale_factor=2, mode="linear", align_corners=False)
            self.deconv = nn.ConvTranspose1d(6, 4, 4, stride=2, padding=1)
            self.head = nn.Linear(4, 3)

        def forward(self, x: Any) -> Any:
            x = self.blocks(self.bn(self.stem(x)))
            x = self.deconv(self.up(self.avg(self.pool(x))))
            return self.head(torch.flatten(nn.functional.adaptive_avg_pool1d(x, 1), 1))

    torch.manual_seed(0)
    module = Net().eval()
    module.bn.running_mean.uniform_(-0.5, 0.5)
    module.bn.running_var.uniform_(0.5, 2)
    path = tmp_path / "seq.onnx"
    export(module, torch.randn(1, 2, 64), path)
    net = load_onnx(path)
    assert net.ndim == 1 and net.input == (64, 2)
    ops = {layer.name: layer.op for layer in net.layers}
    assert ops["stem"] == "conv" and ops["deconv"] == "deconv" and ops["up"] == "upsample"
    assert ops["pool"] == "maxpool" and ops["avg"] == "avgpool" and ops["head"] == "dense"
    x = np.random.default_rng(3).normal(size=(64, 2)).astype(np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x.T[None].copy())).numpy()
    close(forward(net, x)[net.layers[-1].name], want.reshape(1, -1))


def test_a_pytorch_volume_model_exports_and_imports(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed (never a dependency)")
    from torch import nn

    module = nn.Sequential(
        nn.Conv3d(3, 4, 3, stride=(1, 2, 2), padding=1), nn.BatchNorm3d(4), nn.ReLU(),
        nn.MaxPool3d((1, 2, 2), ceil_mode=True), nn.AvgPool3d(3, 1, 1),
        nn.ConvTranspose3d(4, 3, 2, stride=2), nn.Upsample(scale_factor=(1, 2, 2)),
        nn.Conv3d(3, 4, 3, padding=(0, 1, 1), groups=1, dilation=(1, 2, 1)),
        nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, 2))
    torch.manual_seed(0)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm3d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2)
    module.eval()
    path = tmp_path / "vol.onnx"
    export(module, torch.randn(1, 3, 5, 12, 10), path)
    net = load_onnx(path)
    assert net.ndim == 3 and net.input == (5, 12, 10, 3)
    assert [layer.op for layer in net.layers] == [  # the export folds the batchnorm
        "conv", "relu", "maxpool", "avgpool", "deconv", "upsample", "conv",
        "globalavgpool", "flatten", "dense"]
    x = np.random.default_rng(4).normal(size=(5, 12, 10, 3)).astype(np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(np.moveaxis(x, -1, 0)[None].copy())).numpy()
    acts = forward(net, x)
    close(acts[net.layers[-1].name], want.reshape(1, 1, 1, -1))
    with torch.no_grad():
        features = module[:8](torch.from_numpy(np.moveaxis(x, -1, 0)[None].copy())).numpy()
    close(acts[net.layers[6].name], np.moveaxis(features[0], 0, -1))
