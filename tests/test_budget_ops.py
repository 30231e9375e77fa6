"""Budgets of the ops real models use: each estimate against what the code really allocates
(tracemalloc), as tests/test_budget.py does for convolutions and pools."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rfdocs.compute import ops
from rfdocs.compute.budget import (
    erf_random_cost,
    erf_uniform_cost,
    pointwise_cost,
    upsample_backward_cost,
    upsample_cost,
)
from rfdocs.compute.erf import cap_channels, erf_random, erf_uniform
from rfdocs.compute.forward import apply_layer
from rfdocs.compute.spec import Layer, parse_spec
from tests.test_budget import traced_peak

RNG = np.random.default_rng(1)
X = RNG.standard_normal((1, 90, 70, 8))
G = RNG.standard_normal((1, 270, 140, 8))  # the gradient of X upsampled by (3, 2)


def _pointwise(op: str) -> Any:
    layer = Layer("p", op, alpha=0.2 if op == "hardsigmoid" else 0.1)
    return lambda: apply_layer(layer, [X])


CASES = [
    pytest.param(lambda: upsample_cost(X.shape, (3, 2), "nearest")[0],
                 lambda: ops.upsample(X, (3, 2), "nearest"), id="upsample-nearest"),
    pytest.param(lambda: upsample_cost(X.shape, (3, 2), "linear")[0],
                 lambda: ops.upsample(X, (3, 2), "linear"), id="upsample-linear"),
    pytest.param(lambda: upsample_backward_cost(G.shape, (3, 2), "nearest"),
                 lambda: ops.upsample_backward(G, (3, 2), "nearest"), id="upsample-back-nearest"),
    pytest.param(lambda: upsample_backward_cost(G.shape, (3, 2), "linear"),
                 lambda: ops.upsample_backward(G, (3, 2), "linear"), id="upsample-back-linear"),
    *[pytest.param(lambda op=op: pointwise_cost(op, X.shape), _pointwise(op), id=f"pw-{op}")
      for op in ("sigmoid", "leakyrelu", "hardswish", "hardsigmoid", "gelu", "softmax",
                 "batchnorm", "tanh")],
]

NETS = {
    # a squeeze-excitation block, upsampling, a pad and a classifier head
    "se-up-head": "input 48x40x4\nc: conv 3 /2 pad 1 x8\nb: batchnorm\nh: hardswish\n"
                  "g: globalavgpool\nd: dense x8\ns: sigmoid\nm: mul h s\n"
                  "u: upsample 2 mode linear\np: pad 1,1,0,2\nk: conv 3 x8\n"
                  "f: flatten\no: dense x10\n",
    "decoder": "input 40x40x1\nc: conv 3 /2 pad 1 x8\nr: leakyrelu\n"
               "u: upsample 2\nq: sub u input\nz: gelu\nap: avgpool 3 pad 1 exclude_pad\n",
}
for _name, _spec in NETS.items():
    _net = parse_spec(_spec)
    _target = _net.layers[-1].name
    CASES.append(pytest.param(
        lambda net=_net, t=_target: erf_random_cost(cap_channels(net, 8), t, 2),
        lambda net=_net, t=_target: [erf_random(net, t, (0, 0), seed=i, channels=8)
                                     for i in range(2)], id=f"erf-random-{_name}"))
    CASES.append(pytest.param(
        lambda net=_net, t=_target: erf_uniform_cost(net, t),
        lambda net=_net, t=_target: erf_uniform(net, t, (0, 0)), id=f"erf-uniform-{_name}"))


@pytest.mark.parametrize(("estimate", "run"), CASES)
def test_new_op_estimates_follow_the_code(estimate: Any, run: Any) -> None:
    """Not below what the code allocates (less a little noise), nor far above it."""
    cost, measured = estimate(), traced_peak(run)
    assert cost.peak >= 0.9 * measured - 200_000, (cost, measured)
    assert cost.peak <= 1.8 * measured + 1_000_000, (cost, measured)
