"""Budgets: every kind's estimate is honest (not below the memory a figure really takes, nor far
above it), refusals name what to lower, and nothing large is allocated before the check."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rfdocs.compute.budget import (
    Budget,
    BudgetError,
    Cost,
    bytes_text,
    conv2d_cost,
    conv_transpose2d_cost,
    erf_random_cost,
    erf_uniform_cost,
    pool_backward_cost,
    pool_cost,
    resize_cost,
    work_text,
)
from rfdocs.compute.conv import (
    avg_pool2d_backward,
    conv2d,
    conv_transpose2d,
    max_pool2d,
    max_pool2d_backward,
)
from rfdocs.compute.erf import cap_channels, erf_random, erf_uniform
from rfdocs.compute.images import resize_area
from rfdocs.compute.spec import parse_spec
from rfdocs.figures import THEMES, OptionError, get_kind
from rfdocs.figures.output import figure_bytes

ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------- compute estimators
# tracemalloc sees every numpy allocation, so the compute layer's estimates can be held to
# within a few percent of what the code really allocates.


def traced_peak(run: Any) -> int:
    """The most bytes numpy and Python had allocated at once while ``run()`` ran."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        run()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


RNG = np.random.default_rng(0)
X = RNG.random((1, 120, 100, 8))

W0 = RNG.random((3, 3, 8, 32))
W1 = RNG.random((5, 5, 1, 8))
W2 = RNG.random((31, 31, 8, 16))
W3 = RNG.random((3, 3, 4, 16))
W4 = RNG.random((4, 4, 8, 16))
GRAD = RNG.random((1, 60, 50, 8))  # a max or avg pool's output gradient
PHOTO = RNG.random((600, 512, 3))

OP_CASES = [
    pytest.param(lambda: conv2d_cost(X.shape, (3, 3), 32, pads=(1, 1, 1, 1))[0],
                 lambda: conv2d(X, W0, pads=(1, 1, 1, 1)), id="conv-im2col"),
    pytest.param(lambda: conv2d_cost(X.shape, (5, 5), 8, pads=(2, 2, 2, 2), groups=8)[0],
                 lambda: conv2d(X, W1, pads=(2, 2, 2, 2), groups=8),
                 id="conv-depthwise"),
    pytest.param(lambda: conv2d_cost(X.shape, (31, 31), 16)[0],
                 lambda: conv2d(X, W2), id="conv-taps"),
    pytest.param(lambda: conv2d_cost(X.shape, (3, 3), 16, groups=2)[0],
                 lambda: conv2d(X, W3, groups=2), id="conv-grouped"),
    pytest.param(lambda: conv_transpose2d_cost(X.shape, (4, 4), 16, stride=(2, 2),
                                               pads=(1, 1, 1, 1))[0],
                 lambda: conv_transpose2d(X, W4, stride=(2, 2),
                                          pads=(1, 1, 1, 1)), id="deconv"),
    pytest.param(lambda: pool_cost(X.shape, (3, 3), stride=(2, 2), pads=(1, 1, 1, 1))[0],
                 lambda: max_pool2d(X, (3, 3), stride=(2, 2), pads=(1, 1, 1, 1)), id="maxpool"),
    pytest.param(lambda: pool_backward_cost("maxpool", X.shape, (3, 3), stride=(2, 2),
                                            pads=(1, 1, 1, 1)),
                 lambda: max_pool2d_backward(X, GRAD, (3, 3), stride=(2, 2),
                                             pads=(1, 1, 1, 1)), id="maxpool-backward"),
    pytest.param(lambda: pool_backward_cost("avgpool", X.shape, (3, 3), stride=(2, 2),
                                            pads=(1, 1, 1, 1)),
                 lambda: avg_pool2d_backward(GRAD, (120, 100), (3, 3),
                                             stride=(2, 2), pads=(1, 1, 1, 1)),
                 id="avgpool-backward"),
    pytest.param(lambda: resize_cost((600, 512, 3), (300, 256)),
                 lambda: resize_area(PHOTO, 300, 256), id="resize"),
]

NETS = {
    "chain": "input 96x96x3\nc1: conv 3x3 pad 1 x16\nr1: relu\nc2: conv 3x3 /2 pad 1 x16\n"
             "r2: relu\np: maxpool 2x2 /2\nc3: conv 3x3 pad 1 x16\n",
    "residual": "input 64x64x8\nc1: conv 3x3 pad 1 x8\nr1: relu\nc2: conv 3x3 pad 1 x8\n"
                "a: add c2 input\nr2: relu\nd: deconv 4x4 /2 pad 1 x8\nap: avgpool 2x2 /2\n",
    "relus": "input 128x128x4\n" + "".join(f"r{i}: relu\n" for i in range(6)),
}
for _name, _spec in NETS.items():
    _net = parse_spec(_spec)
    OP_CASES.append(pytest.param(
        lambda net=_net: erf_random_cost(cap_channels(net, 8), net.layers[-1].name, 2),
        lambda net=_net: [erf_random(net, seed=i, channels=8) for i in range(2)],
        id=f"erf-random-{_name}"))
    OP_CASES.append(pytest.param(
        lambda net=_net: erf_uniform_cost(net, net.layers[-1].name),
        lambda net=_net: erf_uniform(net), id=f"erf-uniform-{_name}"))


@pytest.mark.parametrize(("estimate", "run"), OP_CASES)
def test_compute_estimates_follow_the_code(estimate: Any, run: Any) -> None:
    """Each compute estimator's peak is within a few percent of what the code allocates (and
    above the small ones' noise): the figure budgets build on these."""
    cost, measured = estimate(), traced_peak(run)
    assert cost.peak >= 0.9 * measured - 200_000, (cost, measured)
    assert cost.peak <= 1.6 * measured + 1_000_000, (cost, measured)


def test_cost_chains_like_code() -> None:
    """``then`` runs the second step while the first's results are kept; ``freeing`` drops what
    an earlier step kept; ``times`` repeats a step that frees its own arrays."""
    a, b = Cost(10, 100, 40), Cost(5, 70, 70)
    assert a.then(b) == Cost(15, 110, 110)
    assert a.then(b).freeing(40) == Cost(15, 110, 70)
    assert Cost(3, 50, 0).times(4) == Cost(12, 50, 0)


def test_budget_messages_name_the_limit_and_what_to_lower() -> None:
    budget = Budget(max_work=2_000_000_000, max_memory=1 << 30)
    budget.check(Cost(2_000_000_000, 1 << 30), "a figure", [":size:"])  # at the limit: allowed
    with pytest.raises(BudgetError) as err:
        budget.check(Cost(10, int(5.2 * (1 << 30))), "the feature maps", [":size:", ":count:"])
    assert err.value.option == "max_memory"
    assert str(err.value) == (
        "the feature maps would need about 5.2 GiB of memory, more than the limit of 1 GiB: "
        "lower :size: or :count:, or raise rfdocs_max_memory in conf.py (or :max_memory: of "
        "this figure)")
    with pytest.raises(BudgetError) as err:
        budget.check(Cost(31_000_000_000, 10), "the gradients", [":samples:", ":channels:", "x"])
    assert err.value.option == "max_work"
    assert "about 31 billion operations, more than the limit of 2 billion: lower :samples:, " \
           ":channels: or x, or raise rfdocs_max_work" in str(err.value)
    assert (bytes_text(1 << 30), bytes_text(340 << 20), work_text(450e6)) == \
           ("1 GiB", "340 MiB", "450 million")


# --------------------------------------------------------------------------- whole figures

SPECS = {
    "conv": "input 256x256x3\nc1: conv 3x3 pad 1 x16\nr1: relu\nc2: conv 3x3 pad 1 x16\n"
            "r2: relu\np: maxpool 2x2 /2\nc3: conv 3x3 pad 1 x16\n",
    "relus": "input 512x512x4\n" + "".join(f"r{i}: relu\n" for i in range(6)),
    "uniform": "input 1024x1024x1\nc1: conv 5x5 pad 2 x4\nc2: conv 5x5 pad 2 x4\nr: relu\n"
               "c3: conv 5x5 /2 pad 2 x4\n",
}

#: Mid-sized figures of every kind (tens to hundreds of megabytes), each measured in a fresh
#: process: (kind, options, format, network: a SPECS key or a zoo model).
FIGURES = [
    ("featuremaps", {"kernels": "random", "count": 16, "size": 512, "colour": True}, "png", None),
    ("featuremaps", {"size": 1024}, "png", None),
    ("featuremaps", {"kernels": "random(5)", "count": 64, "size": 384, "layers": 2,
                     "activation": "relu", "pool": "max"}, "svg", None),
    ("featuremaps", {"image": "RGBA-1500x1000.png", "size": 256, "colour": True}, "png", None),
    ("featuremaps", {"image": "RGB-2400x1600.png", "size": 512}, "svg", None),
    ("erf", {"mode": "random", "channels": 12, "samples": 2}, "png", "conv"),
    ("erf", {"mode": "both", "samples": 2}, "png", "relus"),
    ("erf", {"mode": "uniform"}, "svg", "uniform"),
    ("steps", {"transposed": True, "input": 10, "stride": 2, "kernel": "box(5)"}, "png", None),
    ("steps", {"transposed": True, "input": 6, "stride": 2, "kernel": "box(3)"}, "gif", None),
    ("steps", {"input": 10, "padding": 1}, "gif", None),
    ("block", {}, "png", "resnet50"),
    ("growth", {"max_layers": 16}, "png", "resnet50"),
]


def probe(kind: str, options: dict[str, Any], fmt: str, network: str | None,
          tmp: Path, traced: bool = True) -> dict[str, Any]:
    """``tests.budget_probe`` in a fresh process: the estimate and what the figure took."""
    image = re.fullmatch(r"(RGBA?|L)-(\d+)x(\d+)\.png", str(options.get("image", "")))
    if image:  # a generated image file of that mode and size: noise, so decoding has work
        from PIL import Image

        width, height = int(image.group(2)), int(image.group(3))
        bands = len(image.group(1))
        pixels = np.random.default_rng(1).integers(0, 256, (height, width, bands), np.uint8)
        path = tmp / str(options["image"])
        Image.fromarray(pixels[:, :, 0] if bands == 1 else pixels, image.group(1)).save(path)
        options = {**options, "image": str(path)}
    args = [sys.executable, "-m", "tests.budget_probe", kind, json.dumps(options), fmt]
    if network is not None:
        spec = network
        if network in SPECS:
            path = tmp / f"{network}.txt"
            path.write_text(SPECS[network], encoding="utf-8")
            spec = str(path)
        args.append(spec)
    if traced:
        args.append("--traced")
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(("kind", "options", "fmt", "network"), FIGURES,
                         ids=[f"{f[0]}-{i}" for i, f in enumerate(FIGURES)])
def test_figure_estimates_are_honest(kind: str, options: dict[str, Any], fmt: str,
                                     network: str | None, tmp_path: Path) -> None:
    """The estimate a kind checks against the budget is at least the memory the figure really
    took (the growth of the process's peak virtual size; for the small diagrams, whose memory
    the heap may already hold, also what tracemalloc saw), and at most four times it: budgets
    neither leak nor refuse what would fit."""
    got = probe(kind, options, fmt, network, tmp_path, traced=kind in ("block", "growth"))
    estimate, measured = got["estimate_bytes"], got["measured_bytes"]
    assert estimate >= measured, got
    assert estimate <= 4 * measured, got


# --------------------------------------------------------------------------- refusals


ISSUE = [  # the issue's requests that ran for minutes: (kind, options, network spec, budget)
    pytest.param("featuremaps", {"kernels": "random(31)", "count": 64, "size": 1024,
                                 "colour": True}, None, "max_memory", id="featuremaps"),
    pytest.param("erf", {"mode": "random", "samples": 64},
                 "input 2048x2048x4\n" + "".join(f"r{i}: relu\n" for i in range(6)),
                 "max_memory", id="erf"),
    pytest.param("steps", {"transposed": True, "input": 10, "kernel": "box(7)", "stride": 6,
                           "dilation": 4, "output_padding": 5, "padding": 3}, None, "max_work",
                 id="steps"),
]


@pytest.mark.parametrize(("kind", "given", "spec", "budget"), ISSUE)
def test_refusal_comes_before_allocating(kind: str, given: dict[str, Any], spec: str | None,
                                         budget: str) -> None:
    """The issue's requests (5 GB, 1.6 GB, 16 s) are refused by the estimate, before an array
    is made: tracemalloc sees almost nothing allocated, and no time passes."""
    network = parse_spec(spec) if spec else None

    def attempt() -> None:
        with pytest.raises(OptionError) as err:
            get_kind(kind).render(network, given, THEMES["light"])
        assert err.value.option == budget
        assert "more than the limit of" in err.value.message
        assert f"rfdocs_{budget} in conf.py" in err.value.message

    started = time.perf_counter()
    assert traced_peak(attempt) < 20 << 20
    assert time.perf_counter() - started < 5


def test_raising_the_budget_lets_a_refused_figure_through() -> None:
    kind = get_kind("steps")
    given = {"transposed": True, "input": 6, "stride": 2, "kernel": "box(3)"}
    with pytest.raises(OptionError, match="max_work"):
        kind.render(None, {**given, "max_work": 10_000_000}, THEMES["light"])
    assert kind.render(None, given, THEMES["light"]).numbers["transposed"] is True


def test_every_kind_declares_the_budget_options() -> None:
    """Each kind takes max_work and max_memory (so the CLI, figure files and Sphinx pass one
    budget), with the configuration values' defaults."""
    from rfdocs.figures import KIND_MODULES

    for name in KIND_MODULES:
        options = {o.name: o for o in get_kind(name).options}
        assert options["max_work"].default == 2_000_000_000, name
        assert options["max_memory"].default == 1 << 30, name


def test_png_at_a_huge_dpi_is_refused_before_drawing() -> None:
    """figure_bytes costs the canvas first: 100,000 dpi is a refusal naming rfdocs_png_dpi, not
    std::bad_alloc."""
    rendered = get_kind("block").render(None, {}, THEMES["light"])
    with pytest.raises(BudgetError) as err:
        figure_bytes(rendered.figure, "png", dpi=100_000, budget=rendered.budget)
    assert "lower rfdocs_png_dpi" in str(err.value)
    assert figure_bytes(rendered.figure, "png", dpi=150)[:4] == b"\x89PNG"
