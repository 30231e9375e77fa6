"""Budgets of 1-D and 3-D networks: estimated without error, and counted the way the engine
runs them -- a sequence as an image of one row (the same numbers as that 2-D network), a
volume's convolution as one 2-D convolution per depth tap (work times the depth taps)."""

from __future__ import annotations

from rfdocs.compute import analyze, parse_spec
from rfdocs.compute.budget import (
    backward_cost,
    conv2d_cost,
    erf_random_cost,
    erf_uniform_cost,
    forward_cost,
    pool_cost,
    weights_bytes,
)

SEQUENCE = """input 200x3
a: conv 3 x8 dil 2 causal
b: maxpool 2 /2
c: conv 5 /2 x8 pad same
u: upsample 2 mode linear
g: globalavgpool from c
d: dense x8
m: mul c d
f: flatten
o: dense x4
"""

AS_IMAGE = """input 1x200x3
a: conv 1x3 x8 dil 1x2 pad 0,0,4,0
b: maxpool 1x2 /1x2
c: conv 1x5 /1x2 x8 pad 0,0,1,2
u: upsample 1x2 mode linear
g: globalavgpool from c
d: dense x8
m: mul c d
f: flatten
o: dense x4
"""


def test_a_sequence_costs_what_the_same_image_of_one_row_costs() -> None:
    seq, img = parse_spec(SEQUENCE), parse_spec(AS_IMAGE)
    a, b = analyze(seq), analyze(img)
    assert [n.shape[-1] for n in a] == [n.shape[-1] for n in b]
    assert forward_cost(a) == forward_cost(b)
    assert backward_cost(a, "o") == backward_cost(b, "o")
    assert weights_bytes(a) == weights_bytes(b)
    assert erf_random_cost(seq, "m", 3) == erf_random_cost(img, "m", 3)
    assert erf_uniform_cost(seq, "c") == erf_uniform_cost(img, "c")


def test_volume_costs_are_estimated() -> None:
    net = parse_spec("input 8x16x16x2\nconv 3 pad 1 x4\nmaxpool 1x2x2 /1x2x2\n"
                     "deconv 2 /2 x2\nupsample 1x2x2\nglobalmaxpool\nflatten\ndense x3\n")
    analysis = analyze(net)
    total = forward_cost(analysis)
    assert total.work > 0 and total.peak > 0
    assert backward_cost(analysis, analysis.output.name).work > 0
    assert erf_uniform_cost(net, "deconv3").work > 0
    # a 3x3x3 convolution's products: 27 taps over 8x16x16 positions (9 taps a depth slice)
    cost, shape = conv2d_cost((1, 8, 16, 16, 2), (3, 3, 3), 4, pads=(1,) * 6,
                              stride=(1, 1, 1), dilation=(1, 1, 1))
    flat, flat_shape = conv2d_cost((1, 8 * 16, 16, 2), (9, 3), 4, pads=(0, 8, 1, 1))
    assert shape == (1, 8, 16, 16, 4)
    assert cost.kept == flat.kept == 8 * 8 * 16 * 16 * 4  # float64 bytes of the output
    pooled, pshape = pool_cost((1, 8, 16, 16, 2), (1, 2, 2), stride=(1, 2, 2), pads=(0,) * 6)
    assert pshape == (1, 8, 8, 8, 2) and pooled.kept == 8 * 8 * 8 * 8 * 2
