"""In-process measurements: figure renders per kind, receptive fields, the exact ERF, and the
convolution engine against plain references (and torch, where it is installed)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.timing import Samples, log, measure, measure_interleaved

Array = np.ndarray[Any, Any]


# --------------------------------------------------------------------------- figure renders


@dataclass
class KindTiming:
    name: str
    first_s: float  # first render in this process, imports of the kind's module included
    samples: Samples | None
    error: str | None = None


def render_kinds(names: tuple[str, ...], repeat: int) -> list[KindTiming]:
    """``get_kind(name).render(None, {}, LIGHT)`` plus ``figure_bytes(fig, "svg")``."""
    from rfdocs.figures import LIGHT, get_kind
    from rfdocs.figures.output import figure_bytes

    results = []
    for name in names:
        started = time.perf_counter()
        try:
            kind = get_kind(name)

            def once(kind: Any = kind) -> bytes:
                return figure_bytes(kind.render(None, {}, LIGHT).figure, "svg")

            once()
        except Exception as err:  # a kind still being written: report, go on
            results.append(KindTiming(name, 0.0, None, f"{type(err).__name__}: {err}"))
            log(f"render {name}: unavailable ({type(err).__name__}: {err})")
            continue
        first = time.perf_counter() - started
        samples = measure(once, repeat=repeat, warmup=0)
        results.append(KindTiming(name, first, samples))
        log(f"render {name}: median {samples.median * 1000:.0f} ms (first {first * 1000:.0f} ms)")
    return results


def wavenet_compact(stacks: int = 3, length: int = 16000) -> str:
    """WaveNet's dilated stack (van den Oord et al. 2016): a causal convolution, then ``stacks``
    stacks of kernel-2 causal convolutions dilated 1, 2, ..., 512 (30 layers for three)."""
    lines = [f"input {length}x1", "causal: conv 2 x32 causal"]
    for s in range(stacks):
        lines += [f"s{s}d{2 ** i}: conv 2 x32 dil {2 ** i} causal" for i in range(10)]
    return "\n".join(lines) + "\n"


def stack_wavenet(repeat: int) -> Samples:
    """The rf-stack figure of a 30-layer WaveNet over 16,000 steps: render plus SVG bytes."""
    from rfdocs.compute import parse_spec
    from rfdocs.figures import LIGHT, get_kind
    from rfdocs.figures.output import figure_bytes

    kind = get_kind("stack")
    net = parse_spec(wavenet_compact())

    def once() -> bytes:
        return figure_bytes(kind.render(net, {}, LIGHT).figure, "svg")

    samples = measure(once, repeat=max(repeat, 5), warmup=1)
    log(f"render stack (30-layer WaveNet): median {samples.median * 1000:.0f} ms")
    return samples


def architecture_inception(repeat: int) -> Samples:
    """The rf-architecture figure of Inception-v3 (122 layers), stages expanded where it
    fits: structure, layout, render plus SVG bytes."""
    from rfdocs.compute import zoo_network
    from rfdocs.figures import LIGHT, get_kind
    from rfdocs.figures.output import figure_bytes

    kind = get_kind("architecture")
    net = zoo_network("inceptionv3")

    def once() -> bytes:
        return figure_bytes(kind.render(net, {"expand": "all"}, LIGHT).figure, "svg")

    samples = measure(once, repeat=max(repeat, 5), warmup=1)
    log(f"render architecture (Inception-v3, all expanded): median {samples.median * 1000:.0f} ms")
    return samples


# --------------------------------------------------------------------------- receptive fields


def multipath_spec(layers: int = 1000, size: int = 512) -> dict[str, Any]:
    """A long-form spec of ``layers`` layers: residual blocks (conv, relu, conv, add, relu) and
    inception blocks (1x1; 3x3 twice; maxpool then 1x1; concat), some dilated, downsampling now
    and then while the maps are large."""
    out: list[dict[str, Any]] = []
    prev = "input"
    side = size
    n = 0

    def add(op: str, inputs: list[str], **fields: Any) -> str:
        nonlocal n
        n += 1
        name = f"{op}{n}"
        out.append({"name": name, "op": op, "inputs": inputs, **fields})
        return name

    def conv(src: str, k: int, stride: int = 1, dil: int = 1, filters: int = 32) -> str:
        pad = dil * (k - 1) // 2
        return add("conv", [src], kernel=[k, k], stride=[stride, stride], dilation=[dil, dil],
                   padding=pad, filters=filters)

    prev = conv(prev, 3)  # 32 channels from here on, so residual adds match
    block = 0
    while len(out) < layers - 8:
        block += 1
        if block % 6 == 0 and side > 16:
            prev = conv(prev, 3, stride=2)
            side = (side - 1) // 2 + 1
        elif block % 2:
            a = conv(prev, 3)
            a = add("relu", [a])
            a = conv(a, 3, dil=2 if block % 5 == 0 else 1)
            s = add("add", [prev, a])
            prev = add("relu", [s])
        else:
            a = conv(prev, 1, filters=16)
            b = conv(conv(prev, 3, filters=16), 3, filters=16)
            c = add("maxpool", [prev], kernel=[3, 3], stride=[1, 1], padding=1)
            c = conv(c, 1, filters=16)
            prev = add("concat", [a, b, c])
            prev = conv(prev, 1)  # back to 32 channels for the next residual add
    while len(out) < layers:
        prev = add("relu", [prev])
    return {"input": [size, size, 3], "layers": out}


def volume_spec(layers: int = 100) -> dict[str, Any]:
    """A 3-D network of ``layers`` layers on a 16x112x112x3 clip (C3D's input): a 3x3x3 stem,
    a 1x2x2 pool (time kept, as C3D's pool1), then residual blocks (conv 3x3x3, relu, conv,
    add, relu) with a strided 3x3x3 conv every fourth block while the volume is large; time
    and space differ, so every axis is computed (no all-axes-alike shortcut)."""
    out: list[dict[str, Any]] = []
    n = 0

    def add(op: str, inputs: list[str], **fields: Any) -> str:
        nonlocal n
        n += 1
        out.append({"name": f"{op}{n}", "op": op, "inputs": inputs, **fields})
        return f"{op}{n}"

    prev = add("conv", ["input"], kernel=3, padding=1, filters=32)
    prev = add("maxpool", [prev], kernel=[1, 2, 2], stride=[1, 2, 2])
    size = [16, 56, 56]
    block = 0
    while len(out) < layers - 5:
        block += 1
        if block % 4 == 0 and min(size) > 2:
            prev = add("conv", [prev], kernel=3, stride=2, padding=1, filters=32)
            size = [(m - 1) // 2 + 1 for m in size]
            continue
        a = add("conv", [prev], kernel=3, padding=1, filters=32)
        a = add("relu", [a])
        a = add("conv", [a], kernel=[3, 3, 3], padding=1, dilation=1, filters=32)
        prev = add("relu", [add("add", [prev, a])])
    while len(out) < layers:
        prev = add("relu", [prev])
    return {"input": [16, 112, 112, 3], "layers": out}


def compute_timings(repeat: int) -> dict[str, Any]:
    from rfdocs.compute import analyze, format_compact, parse_spec, zoo_network
    from rfdocs.compute.erf import erf_uniform
    from rfdocs.compute.spec import network_from_data

    results: dict[str, Any] = {}
    net = network_from_data(multipath_spec())
    analysis = analyze(net)
    results["multipath_layers"] = len(net.layers)
    results["multipath_output_rf"] = [float(v) for v in analysis.output.rf]
    results["analyze_1000"] = measure(lambda: analyze(net), repeat=max(repeat, 7))
    volume = network_from_data(volume_spec())
    results["volume_layers"] = len(volume.layers)
    results["volume_output_rf"] = [float(v) for v in analyze(volume).output.rf]
    results["analyze_3d_100"] = measure(lambda: analyze(volume), repeat=max(repeat, 7))
    log(f"analyze: {len(volume.layers)}-layer 3-D network: median "
        f"{results['analyze_3d_100'].median * 1000:.1f} ms")
    log(f"analyze 1000-layer graph: {results['analyze_1000'].median * 1000:.1f} ms")
    compact = format_compact(net)
    results["parse_1000_compact"] = measure(lambda: parse_spec(compact), repeat=repeat)
    log(f"parse 1000-layer compact spec: {results['parse_1000_compact'].median * 1000:.1f} ms")
    results["zoo_resnet50_parse"] = measure(lambda: zoo_network("resnet50"), repeat=repeat)
    resnet = zoo_network("resnet50")
    results["analyze_resnet50"] = measure(lambda: analyze(resnet), repeat=repeat)
    log(f"zoo_network('resnet50'): {results['zoo_resnet50_parse'].median * 1000:.1f} ms, "
        f"analyze: {results['analyze_resnet50'].median * 1000:.1f} ms")
    results["erf_uniform_resnet50"] = measure(lambda: erf_uniform(resnet), repeat=repeat,
                                              min_sample_s=0.0)
    log(f"erf_uniform(resnet50): {results['erf_uniform_resnet50'].median:.3f} s")
    return results


# --------------------------------------------------------------------------- convolution


def im2col_conv2d(x: Array, w: Array, stride: int, pad: int, groups: int = 1) -> Array:
    """A straightforward second reference: all windows as columns, then one matrix product
    (an einsum per group for grouped convolutions)."""
    from numpy.lib.stride_tricks import sliding_window_view

    kh, kw, cg, cout = w.shape
    xp = np.pad(x, ((pad, pad), (pad, pad), (0, 0)))
    win = sliding_window_view(xp, (kh, kw), axis=(0, 1))[::stride, ::stride]  # (Ho, Wo, C, kh, kw)
    ho, wo = win.shape[:2]
    if groups == 1:
        cols = win.reshape(ho * wo, cg * kh * kw)
        out: Array = cols @ w.transpose(2, 0, 1, 3).reshape(cg * kh * kw, cout)
        return out.reshape(ho, wo, cout)
    og = cout // groups
    win = win.reshape(ho, wo, groups, cg, kh, kw)
    wg = w.reshape(kh, kw, cg, groups, og)
    grouped: Array = np.einsum("hwgcij,ijcgo->hwgo", win, wg, optimize=True)
    return grouped.reshape(ho, wo, cout)


@dataclass(frozen=True)
class ConvCase:
    label: str
    x: tuple[int, int, int]
    w: tuple[int, int, int, int]
    stride: int = 1
    pad: int = 0
    groups: int = 1


#: The tutorial's layers: the feature block, the feature-map mosaic (greyscale 128-pixel photo,
#: a bank of 3x3 kernels, then a depthwise layer) and ResNet-50's first layer.
CONV_CASES = (
    ConvCase("50×50×3 → 5×5×3×100", (50, 50, 3), (5, 5, 3, 100)),
    ConvCase("128×128×1 → 3×3×1×8", (128, 128, 1), (3, 3, 1, 8)),
    ConvCase("126×126×8 → 3×3 depthwise", (126, 126, 8), (3, 3, 1, 8), groups=8),
    ConvCase("224×224×3 → 7×7/2×64 pad 3", (224, 224, 3), (7, 7, 3, 64), stride=2, pad=3),
)


def _torch() -> Any:
    try:
        import torch  # type: ignore[import-not-found]
    except ImportError:
        return None
    return torch


def plain(value: Any) -> Any:
    """Samples as their JSON form, recursively."""
    if isinstance(value, Samples):
        return value.to_json()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def conv_timings(repeat: int) -> dict[str, Any]:
    """conv2d against the loop reference, im2col and torch (where importable), as plain JSON
    (times under ``median_s``)."""
    from rfdocs.compute.conv import conv2d
    from tests import reference

    rng = np.random.default_rng(0)
    results: dict[str, Any] = {}

    # The loop reference, on a size it can do in reasonable time.
    x = rng.standard_normal((12, 12, 3))
    w = rng.standard_normal((3, 3, 3, 4))
    ours = conv2d(x, w, pads=(1, 1, 1, 1))
    ref = reference.conv2d(x, w, None, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    results["loop_small"] = {
        "label": "12×12×3 → 3×3×3×4 pad 1",
        "max_abs_diff": float(np.max(np.abs(ours - ref))),
        "rfdocs": measure(lambda: conv2d(x, w, pads=(1, 1, 1, 1)), repeat=repeat),
        "loop": measure(lambda: reference.conv2d(x, w, None, (1, 1), (1, 1, 1, 1), (1, 1), 1),
                        repeat=3, warmup=0),
    }
    log(f"conv vs loop reference: {results['loop_small']['rfdocs'].median * 1e3:.3f} ms vs "
        f"{results['loop_small']['loop'].median * 1e3:.1f} ms")

    torch = _torch()
    results["torch"] = None if torch is None else {"version": torch.__version__,
                                                     "threads": torch.get_num_threads()}
    cases = []
    for case in CONV_CASES:
        entry: dict[str, Any] = {"label": case.label}
        for dtype in (np.float64, np.float32):
            tag = np.dtype(dtype).name
            x = rng.standard_normal(case.x).astype(dtype)
            w = rng.standard_normal(case.w).astype(dtype)
            def ours_conv(x: Array = x, w: Array = w, case: ConvCase = case) -> Array:
                return conv2d(x, w, stride=(case.stride, case.stride),
                              pads=(case.pad, case.pad, case.pad, case.pad),
                              groups=case.groups)

            def im2col(x: Array = x, w: Array = w, case: ConvCase = case) -> Array:
                return im2col_conv2d(x, w, case.stride, case.pad, case.groups)

            ours = ours_conv()
            second = im2col()
            tol = 1e-9 if dtype == np.float64 else 1e-3
            entry[f"{tag}_agrees_with_im2col"] = bool(np.allclose(ours, second, rtol=tol, atol=tol))
            timings: dict[str, Callable[[], object]] = {"rfdocs": ours_conv, "im2col": im2col}
            if torch is not None:
                xt = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))
                wt = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))

                def torch_conv(xt: Any = xt, wt: Any = wt, case: ConvCase = case) -> Any:
                    with torch.no_grad():
                        return torch.nn.functional.conv2d(xt, wt, stride=case.stride,
                                                          padding=case.pad, groups=case.groups)

                got = torch_conv().numpy()[0].transpose(1, 2, 0)
                entry[f"{tag}_agrees_with_torch"] = bool(np.allclose(ours, got, rtol=tol, atol=tol))
                timings["torch"] = torch_conv
            samples = measure_interleaved(timings, repeat=repeat, pause_s=0.05)
            for name, sample in samples.items():
                entry[f"{tag}_{name}"] = sample
            line = ", ".join(f"{name} {entry[f'{tag}_{name}'].median * 1e3:.2f} ms" for name in timings)
            log(f"conv {case.label} ({tag}): {line}")
        cases.append(entry)
    results["cases"] = cases
    out: dict[str, Any] = plain(results)
    return out


def blas_info() -> dict[str, Any]:
    """Which BLAS numpy calls, from threadpoolctl where it is installed."""
    import os

    info: dict[str, Any] = {"OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    try:
        from threadpoolctl import threadpool_info  # type: ignore[import-not-found]
    except ImportError:
        info["threadpoolctl"] = "not installed: the kernel chosen at run time is not reported"
        try:  # what numpy was built with, at least
            blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            config = str(blas.get("openblas configuration", ""))
            info["build"] = " ".join(x for x in (str(blas.get("name")), str(blas.get("version")),
                                                 "DYNAMIC_ARCH" if "DYNAMIC_ARCH" in config else "")
                                     if x)
        except Exception:
            pass
        return info
    info["pools"] = [{k: v for k, v in pool.items() if k in (
        "user_api", "internal_api", "version", "architecture", "num_threads", "threading_layer",
        "prefix")} for pool in threadpool_info()]
    return info


SINGLE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.micro conv OUT.json``: the convolution timings in a process of
    their own (the bench runs it with one BLAS/OpenMP thread, beside its own default run)."""
    import argparse
    import json
    import sys
    from pathlib import Path

    p = argparse.ArgumentParser(prog="python -m benchmarks.micro")
    p.add_argument("what", choices=["conv"])
    p.add_argument("out")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--torch-path", default=None)
    p.add_argument("--rfdocs-path", default=None, help="import rfdocs from here (the snapshot)")
    a = p.parse_args(argv)
    if a.rfdocs_path:
        sys.path.insert(0, a.rfdocs_path)
    if a.torch_path:
        sys.path.append(a.torch_path)
    result = conv_timings(a.repeat)
    result["blas"] = blas_info()
    Path(a.out).write_text(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
