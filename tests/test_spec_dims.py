"""Specs in one, two and three dimensions: the input's length gives the dimension, per-axis
fields take one entry per spatial axis, causal padding is for sequences; every form round-trips
and every mismatch is named with layer, field and line."""

from __future__ import annotations

import json

import pytest
import yaml

from rfdocs.compute.spec import SpecError, format_compact, parse_compact, parse_spec

WAVENET_LIKE = """input 16000x1
causal: conv 2 x16 causal
d1: conv 2 x16 dil 2 causal
d2: conv 2 x16 dil 4 causal
s: conv 3 /2 x16 pad 1,2
p: maxpool 2
u: upsample 2
pd: pad 0,3
g: globalavgpool
f: flatten
o: dense x4
"""

C3D_LIKE = """input 16x112x112x3
conv1a: conv 3x3x3 x64 pad 1
pool1: maxpool 1x2x2 /1x2x2
conv2a: conv 3 x128 pad 1,2,2 dil 1x2x2
up: deconv 2x2x2 /2 x8 outpad 1x0x1
pd: pad 1,2,0,0,3,4
avg: avgpool 2 /2 ceil
"""


@pytest.mark.parametrize("text", [WAVENET_LIKE, C3D_LIKE])
def test_sequences_and_volumes_round_trip(text: str) -> None:
    net = parse_spec(text)
    assert parse_compact(format_compact(net)) == net
    assert parse_spec(yaml.safe_dump(net.to_dict())) == net
    assert parse_spec(json.dumps(net.to_dict())) == net
    ndim = net.ndim
    for layer in net.layers:  # every layer carries one entry per spatial axis
        for field in ("kernel", "stride", "dilation", "output_padding", "factor"):
            assert len(getattr(layer, field)) == ndim, (layer.name, field)
        assert isinstance(layer.padding, str) or len(layer.padding) == 2 * ndim


def test_one_d_fields() -> None:
    net = parse_spec(WAVENET_LIKE)
    assert (net.ndim, net.input) == (1, (16000, 1))
    layer = net.layer
    assert layer("d2").padding == "causal" and layer("d2").dilation == (4,)
    assert layer("s").padding == (1, 2) and layer("s").stride == (2,)
    assert layer("p").stride == (2,) and layer("pd").padding == (0, 3)


def test_three_d_fields() -> None:
    net = parse_spec(C3D_LIKE)
    assert (net.ndim, net.input) == (3, (16, 112, 112, 3))
    layer = net.layer
    assert layer("pool1").kernel == (1, 2, 2) and layer("pool1").stride == (1, 2, 2)
    assert layer("conv2a").padding == (1, 1, 2, 2, 2, 2)
    assert layer("conv2a").dilation == (1, 2, 2)
    assert layer("up").output_padding == (1, 0, 1)
    assert layer("pd").padding == (1, 2, 0, 0, 3, 4)


def test_the_long_form_in_three_dimensions() -> None:
    net = parse_spec("""
input: [8, 32, 32, 2]
layers:
  - {op: conv, kernel: [3, 5, 5], stride: 2, padding: [1, 2, 2], filters: 4}
  - {op: maxpool, kernel: 2, padding: [0, 1, 0, 1, 0, 1]}
""")
    conv, pool = net.layers
    assert conv.kernel == (3, 5, 5) and conv.stride == (2, 2, 2)
    assert conv.padding == (1, 1, 2, 2, 2, 2) and pool.padding == (0, 1, 0, 1, 0, 1)


def test_two_d_specs_keep_their_meaning() -> None:
    net = parse_spec("input 50x50x3\nconv 5x5 x100\nmaxpool 2\n")
    assert net.ndim == 2 and net.layers[0].kernel == (5, 5) and net.layers[1].stride == (2, 2)
    assert net.layers[0].padding == (0, 0, 0, 0)


BAD = [
    ("input 10x2\nconv 3x3 x4\n", "conv1", "kernel", 2, "a 2-D kernel on a 1-D network"),
    ("input 4x10x10x2\nconv 3x3 x4\n", "conv1", "kernel", 2, "a 2-D kernel on a 3-D network"),
    ("input 10x10x2\nconv 3 /1x2x2 x4\n", "conv1", "stride", 2, "a 3-D stride on a 2-D network"),
    ("input 10x10x2\nconv 3 x4 causal\n", "conv1", "padding", 2, "causal padding is for 1-D"),
    ("input 10x2\ndeconv 2 /2 x4 causal\n", "deconv1", "padding", 2, "for deconv layers"),
    ("input 10x2\nconv 3 x4 pad 1,2,3\n", "conv1", "padding", 2, "[before, after]"),
    ("input 4x10x10x2\nconv 3 x4 pad 1,2,3,4\n", "conv1", "padding", 2,
     "[front, back, top, bottom, left, right]"),
    ("input 10x2\nconv 3 x2 weights box\n", "conv1", "weights", 2, "named kernels are 2-D"),
    ("input: [10, 2]\nlayers:\n  - {op: upsample, factor: [2, 2]}\n", "upsample1", "factor", 3,
     "a list [t]"),
]


@pytest.mark.parametrize(("text", "layer", "field", "line", "words"), BAD)
def test_mismatched_dimensions_are_named(text: str, layer: str, field: str, line: int,
                                         words: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    err = info.value
    assert (err.layer, err.field, err.line) == (layer, field, line), str(err)
    assert words in str(err)


@pytest.mark.parametrize("value", ["[1]", "[1, 2, 3, 4, 5]", "7"])
def test_inputs_of_other_lengths_are_refused(value: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(f"input: {value}\nlayers:\n  - {{op: relu}}\n")
    assert info.value.field == "input" and "[length, channels] (1-D)" in str(info.value)


def test_with_input_keeps_the_dimension() -> None:
    net = parse_spec(WAVENET_LIKE)
    assert net.with_input((400, 1)).input == (400, 1)
    with pytest.raises(SpecError, match="the network is 1-D"):
        net.with_input((40, 40, 1))
