"""Real models (issue 13): importing an ONNX file of 200 nodes, and rfdocs' forward pass of a
ResNet-18-sized network at 224x224 against onnxruntime on one thread, on the same ONNX model.

The models are built here with onnx.helper (tests/onnx_build.py), never from torch: random
float32 weights from a fixed seed. ResNet-18 is written as ``torch.onnx.export`` writes it in
eval mode: batch norms folded into the convolutions (Conv with bias, Relu, Add), a max pool, a
global average pool, Flatten and Gemm (1000 classes)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.timing import log, measure, measure_interleaved

RESNET18_STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))


def resnet18_compact(size: int = 224) -> str:
    """ResNet-18 (He et al. 2016, torchvision's layout and module names) in the compact form,
    batch norms folded into the convolutions."""
    lines = [f"input {size}x{size}x3", "conv1: conv 7x7 /2 pad 3 x64", "relu: relu",
             "maxpool: maxpool 3x3 /2 pad 1"]
    previous, cin = "maxpool", 64
    for stage, (width, stride) in enumerate(RESNET18_STAGES, start=1):
        for block in range(2):
            p = f"layer{stage}.{block}"
            s = stride if block == 0 else 1
            lines += [f"{p}.conv1: conv 3x3 /{s} pad 1 x{width} from {previous}",
                      f"{p}.relu: relu",
                      f"{p}.conv2: conv 3x3 /1 pad 1 x{width}"]
            skip = previous
            if s != 1 or cin != width:
                lines.append(f"{p}.downsample.0: conv 1x1 /{s} x{width} from {previous}")
                skip = f"{p}.downsample.0"
            lines += [f"{p}.add: add {p}.conv2 {skip}", f"{p}.relu_1: relu"]
            previous, cin = f"{p}.relu_1", width
    lines += ["avgpool: globalavgpool", "flatten: flatten", "fc: dense x1000"]
    return "\n".join(lines) + "\n"


def _write(model: Any, folder: Path, name: str) -> Path:
    import onnx

    path = folder / name
    onnx.save(model, str(path))
    return path


def import_timings(repeat: int) -> dict[str, Any]:
    """``load_onnx`` of the 200-node chain (tests/onnx_build.chain_model), and of ResNet-18."""
    from rfdocs.compute.spec import parse_compact
    from rfdocs.importers.onnx import load_onnx
    from tests.onnx_build import chain_model, network_to_onnx

    with tempfile.TemporaryDirectory(prefix="rfdocs-bench-onnx-") as tmp:
        folder = Path(tmp)
        chain = chain_model(200)
        chain_path = _write(chain, folder, "chain200.onnx")
        resnet_path = _write(network_to_onnx(parse_compact(resnet18_compact()), opset=17), folder,
                             "resnet18.onnx")
        chain_net = load_onnx(chain_path)
        samples = measure(lambda: load_onnx(chain_path), repeat=max(repeat, 5))
        resnet = measure(lambda: load_onnx(resnet_path), repeat=max(repeat, 3))
        result = {
            "chain": {"nodes": len(chain.graph.node), "layers": len(chain_net.layers),
                      "bytes": chain_path.stat().st_size, "samples": samples},
            "resnet18": {"nodes": len(load_onnx_nodes(resnet_path)),
                         "bytes": resnet_path.stat().st_size, "samples": resnet},
        }
    log(f"models: import of {result['chain']['nodes']} nodes {samples.median * 1000:.1f} ms, "
        f"ResNet-18 ({result['resnet18']['bytes'] / 2**20:.0f} MiB) {resnet.median * 1000:.0f} ms")
    return result


def load_onnx_nodes(path: Path) -> list[Any]:
    import onnx

    return list(onnx.load(str(path)).graph.node)


def forward_timings(repeat: int) -> dict[str, Any]:
    """rfdocs ``forward`` of the imported ResNet-18 (224x224x3, float32) against an onnxruntime
    session with one intra-op and one inter-op thread on the same file, interleaved; the
    outputs compared."""
    import onnxruntime as ort

    from rfdocs.compute.forward import forward
    from rfdocs.compute.spec import parse_compact
    from rfdocs.importers.onnx import load_onnx
    from tests.onnx_build import network_to_onnx

    with tempfile.TemporaryDirectory(prefix="rfdocs-bench-onnx-") as tmp:
        path = _write(network_to_onnx(parse_compact(resnet18_compact()), opset=17), Path(tmp),
                      "resnet18.onnx")
        net = load_onnx(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((224, 224, 3)).astype(np.float32)
    feed = {session.get_inputs()[0].name: x.transpose(2, 0, 1)[None]}
    last = net.layers[-1].name

    def ours() -> Any:
        return forward(net, x)[last]

    def theirs() -> Any:
        return session.run(None, feed)[0]

    a, b = np.asarray(ours()).reshape(-1), np.asarray(theirs()).reshape(-1)
    max_rel = float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))
    samples = measure_interleaved({"rfdocs": ours, "onnxruntime_1_thread": theirs},
                                  repeat=max(repeat, 3), min_sample_s=0.0, pause_s=0.2)
    ratio = samples["rfdocs"].median / samples["onnxruntime_1_thread"].median
    log(f"models: ResNet-18 forward rfdocs {samples['rfdocs'].median * 1000:.0f} ms, onnxruntime "
        f"(1 thread) {samples['onnxruntime_1_thread'].median * 1000:.0f} ms: {ratio:.2f}x")
    return {"layers": len(net.layers), "samples": samples, "ratio": ratio,
            "max_relative_difference": max_rel, "onnxruntime": ort.__version__}


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.models forward OUT.json``: the forward timings in a process of
    their own (the bench runs it with one BLAS thread, beside its own default-thread run)."""
    import argparse
    import json
    import sys

    p = argparse.ArgumentParser(prog="python -m benchmarks.models")
    p.add_argument("what", choices=["forward"])
    p.add_argument("out")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--rfdocs-path", default=None, help="import rfdocs from here (the snapshot)")
    a = p.parse_args(argv)
    if a.rfdocs_path:
        sys.path.insert(0, a.rfdocs_path)
    r = forward_timings(a.repeat)
    r["samples"] = {k: v.to_json() for k, v in r["samples"].items()}
    Path(a.out).write_text(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
