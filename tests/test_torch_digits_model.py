"""The tutorial's trained digit classifier (docs/tutorial/models, written by
scripts/train_digits.py): its files agree with their provenance record, rfdocs imports it and
predicts what torch predicted when it was written, onnxruntime agrees layer by layer, and the
direct PyTorch route builds the same architecture."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

MODELS = Path(__file__).resolve().parent.parent / "docs" / "tutorial" / "models"
INFO = json.loads((MODELS / "digits.json").read_text())

pytest.importorskip("onnx", reason="onnx is not installed (pip install 'rfdocs[onnx]')")


def _net() -> Any:
    from rfdocs import load_network

    return load_network(MODELS / "digits.onnx")


def test_files_match_their_provenance() -> None:
    from PIL import Image

    data = (MODELS / "digits.onnx").read_bytes()
    assert hashlib.sha256(data).hexdigest() == INFO["onnx_sha256"]
    assert len(data) == INFO["onnx_bytes"] < 3 * 2**20
    readme = (MODELS / "README.txt").read_text()
    assert INFO["onnx_sha256"] in readme
    assert f"{INFO['test_accuracy'] * 100:.2f}%" in readme
    assert INFO["test_accuracy"] >= 0.97 and INFO["correct_test_images"] == round(
        INFO["test_accuracy"] * INFO["test_images"])
    png = np.asarray(Image.open(MODELS / "digit.png"), dtype=np.float32) / 255
    array = np.load(MODELS / "digit.npy")
    assert array.shape == (32, 32, 1) and array.dtype == np.float32
    np.testing.assert_array_equal(array[:, :, 0], png)


def test_rfdocs_predicts_what_torch_did() -> None:
    from rfdocs.compute.forward import forward

    net = _net()
    assert net.input == (32, 32, 1)
    convs = [layer for layer in net.layers if layer.op == "conv"]
    assert [c.name for c in convs] == ["conv1", "conv2", "block.conv1", "block.conv2"]
    assert net.params["conv1"]["weight"].shape == (5, 5, 1, 12)
    acts = forward(net, np.load(MODELS / "digit.npy"))
    logits = np.asarray(acts[net.layers[-1].name]).reshape(-1)
    np.testing.assert_allclose(logits, INFO["sample"]["logits"], rtol=1e-4, atol=1e-4)
    assert int(logits.argmax()) == INFO["sample"]["predicted"] == INFO["sample"]["label"]


def test_onnxruntime_agrees_on_every_layer() -> None:
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    import onnx

    from rfdocs.compute.forward import forward

    model = onnx.load(str(MODELS / "digits.onnx"))
    # every node's output becomes a graph output, so onnxruntime reports each activation
    names = [node.output[0] for node in model.graph.node]
    known = {o.name for o in model.graph.output}
    model.graph.output.extend(onnx.helper.make_empty_tensor_value_info(n) for n in names
                              if n not in known)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    x = np.load(MODELS / "digit.npy")
    theirs = dict(zip([o.name for o in session.get_outputs()],
                      session.run(None, {"image": x.transpose(2, 0, 1)[None]}), strict=True))
    net = _net()
    ours = forward(net, x)
    layer_of_node = dict(zip([n.name for n in model.graph.node],
                             [layer.name for layer in net.layers], strict=False))
    compared = 0
    for node in model.graph.node:
        layer = layer_of_node.get(node.name)
        if layer is None or layer not in ours:
            continue
        want = theirs[node.output[0]]
        want = want[0].transpose(1, 2, 0) if want.ndim == 4 else want[0][None, None, :]
        scale = max(float(np.abs(want).max()), 1e-6)
        np.testing.assert_allclose(np.asarray(ours[layer]), want, rtol=1e-4, atol=1e-4 * scale,
                                   err_msg=layer)
        compared += 1
    assert compared == len(net.layers)


def test_the_direct_pytorch_route_builds_the_same_network() -> None:
    pytest.importorskip("torch", reason="torch is not installed")
    from rfdocs import from_torch
    from rfdocs.compute.receptive import analyze

    spec = importlib.util.spec_from_file_location(
        "train_digits", MODELS.parent.parent.parent / "scripts" / "train_digits.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    direct = analyze(from_torch(script.build_model(), (1, 32, 32)))
    via = analyze(_net())
    assert direct.output.shape == via.output.shape == (1, 1, 10)
    for info in via.layers:  # the exporter folded the batch norms: every other layer is there
        mine = direct[info.name]
        assert (mine.op, mine.shape, mine.rf, mine.jump, mine.start) == (
            info.op, info.shape, info.rf, info.jump, info.start), info.name
