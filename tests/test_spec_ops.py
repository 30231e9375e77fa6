"""The spec language's operators beyond windows and merges: long, compact and JSON forms agree,
every field is validated with the layer, field and line named."""

from __future__ import annotations

import json

import pytest
import yaml

from rfdocs.compute.spec import (
    OP_FIELDS,
    OPS,
    SpecError,
    format_compact,
    parse_compact,
    parse_spec,
)

EVERY_OP = """input 32x32x3
c1: conv 5x5 x8 pad same_lower weights sobel-x,sobel-y,box,laplacian,identity,sharpen,emboss,gaussian(3,1)
bn: batchnorm eps 0.001
lr: leakyrelu alpha 0.1
pr: prelu
sg: sigmoid
th: tanh
cl: clip min 0 max 6
cl2: clip max 1.5
hs: hardsigmoid alpha 0.1666 beta 0.5
hw: hardswish
ge: gelu approximate tanh
af: affine scale 0.5 shift -1
pd: pad 1,2,0,1 value 0.5
up: upsample 2x3 mode linear
ap: avgpool 3 /2 exclude_pad
ga: globalavgpool
gm: globalmaxpool from ap
m: mul ap ga
s: sub m ap
d: div s ap
a3: add m s d
cat: concat m s
fl: flatten
de: dense x10
sm: softmax
"""


def test_every_op_round_trips_through_compact_long_and_json() -> None:
    net = parse_spec(EVERY_OP)
    assert {layer.op for layer in net.layers} | {"relu", "identity", "conv", "deconv", "maxpool"} \
        >= set(OPS) - {"deconv"}
    assert parse_compact(format_compact(net)) == net
    assert parse_spec(yaml.safe_dump(net.to_dict())) == net
    assert parse_spec(json.dumps(net.to_dict())) == net
    layer = net.layer
    assert layer("c1").weights[7] == "gaussian(3,1)" and layer("c1").padding == "same_lower"
    assert (layer("bn").epsilon, layer("lr").alpha, layer("pr").alpha) == (0.001, 0.1, 0.25)
    assert (layer("cl").min, layer("cl").max, layer("cl2").min, layer("cl2").max) == (0, 6, None, 1.5)
    assert (layer("hs").alpha, layer("hs").beta, layer("ge").approximate) == (0.1666, 0.5, "tanh")
    assert (layer("af").scale, layer("af").shift) == (0.5, -1)
    assert (layer("pd").padding, layer("pd").value) == ((1, 2, 0, 1), 0.5)
    assert (layer("up").factor, layer("up").mode) == ((2, 3), "linear")
    assert layer("ap").count_include_pad is False and layer("ap").stride == (2, 2)
    assert layer("de").filters == 10 and layer("de").to_dict()["units"] == 10
    assert layer("gm").inputs == ("ap",)


def test_long_form_defaults_are_onnx_defaults() -> None:
    net = parse_spec("""
input: [8, 8, 2]
layers:
  - {op: leakyrelu}
  - {op: prelu}
  - {op: hardsigmoid}
  - {op: gelu}
  - {op: batchnorm}
  - {op: affine}
  - {op: upsample, factor: 2}
  - {op: pad, padding: 1}
  - {op: avgpool, kernel: 2}
""")
    lr, pr, hs, ge, bn, af, up, pd, ap = net.layers
    assert (lr.alpha, pr.alpha, hs.alpha, hs.beta) == (0.01, 0.25, 0.2, 0.5)
    assert (ge.approximate, bn.epsilon, af.scale, af.shift) == ("none", 1e-5, 1.0, 0.0)
    assert (up.mode, up.factor, pd.padding, pd.value) == ("nearest", (2, 2), (1, 1, 1, 1), 0.0)
    assert ap.count_include_pad is True
    assert [layer.name for layer in net.layers][:2] == ["leakyrelu1", "prelu2"]


BAD = [
    ("input: [8, 8, 1]\nlayers:\n  - {op: relu, alpha: 0.1}\n", "relu1", "alpha", 3,
     "only allowed for leakyrelu, prelu, hardsigmoid layers"),
    ("input: [8, 8, 1]\nlayers:\n  - {op: conv, kernel: 3, filters: 2, weights: [box, box, box]}\n",
     "conv1", "weights", 3, "one for every filter or exactly 2"),
    ("input: [8, 8, 1]\nlayers:\n  - {op: conv, kernel: 3, filters: 1, weights: 'gaussian(5, 1)'}\n",
     "conv1", "weights", 3, "larger than the layer's 3x3 kernel"),
    ("input: [8, 8, 1]\nlayers:\n  - {op: conv, kernel: 3, filters: 1, weights: bogus}\n",
     "conv1", "weights", 3, "bogus"),
    ("input: [8, 8, 1]\nlayers:\n  - {op: clip, min: 2, max: 1}\n", "clip1", "min", 3,
     "must not exceed max"),
    ("input: [8, 8, 1]\nlayers:\n  - {op: upsample, factor: 2, mode: cubic}\n", "upsample1",
     "mode", 3, "nearest or linear"),
    ("input: [8, 8, 1]\nlayers:\n  - {op: upsample}\n", "upsample1", "factor", 3, "required"),
    ("input: [8, 8, 1]\nlayers:\n  - {op: dense}\n", "dense1", "units", 3, "required"),
    ("input: [8, 8, 1]\nlayers:\n  - {op: pad, padding: same}\n", "pad1", "padding", 3,
     "numbers for pad layers"),
    ("input: [8, 8, 1]\nlayers:\n  - {op: leakyrelu, alpha: 1.0e+400}\n", "leakyrelu1", "alpha", 3,
     "finite number"),
    ("input: [8, 8, 1]\nlayers:\n  - {op: leakyrelu, alpha: yes}\n", "leakyrelu1", "alpha", 3,
     "must be a number"),
    ("input: [8, 8, 1]\nlayers:\n  - {op: batchnorm, epsilon: 0}\n", "batchnorm1", "epsilon", 3,
     "positive"),
    ("input: [8, 8, 1]\nlayers:\n  - {op: avgpool, kernel: 2, count_include_pad: 1}\n",
     "avgpool1", "count_include_pad", 3, "true or false"),
    ("input: [8, 8, 1]\nlayers:\n  - {name: a, op: relu}\n  - {op: sub, inputs: [a, a, a]}\n",
     "sub2", "inputs", 4, "exactly two inputs"),
    ("input: [8, 8, 1]\nlayers:\n  - {op: deconv, kernel: 2, stride: 2, filters: 1, "
     "padding: same_lower}\n", "deconv1", "padding", 3, "same_lower"),
    ("input 8x8x1\nleakyrelu alpha ten\n", "leakyrelu1", "alpha", 2, "expected a number"),
    ("input 8x8x1\nconv 3x3 x2 weights sobel-x,(\n", "conv1", "weights", 2, "unclosed"),
    ("input 8x8x1\ndense units x\n", "dense1", "units", 2, "expected an integer"),
]


@pytest.mark.parametrize(("text", "layer", "field", "line", "words"), BAD)
def test_bad_fields_name_layer_field_and_line(text: str, layer: str, field: str, line: int,
                                              words: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    err = info.value
    assert (err.layer, err.field, err.line) == (layer, field, line), str(err)
    assert words in str(err)


def test_every_op_field_is_documented_in_the_manual() -> None:
    from pathlib import Path

    manual = (Path(__file__).parent.parent / "docs" / "manual" / "spec-format.md").read_text()
    for op in OPS:
        assert f"`{op}`" in manual, op
    for fields in OP_FIELDS.values():
        for name in fields:
            assert f"`{name}`" in manual, name


@pytest.mark.parametrize(("text", "words"), [
    ("input 3x3x1\nmaxpool 1x1 /1 pad 0,0,0,1\n", "output column 3 lies wholly in the padding"),
    ("input 4x4x1\nmaxpool 2x2 /1 pad 2\n", "output row 0 lies wholly in the padding"),
    ("input 1x5x1\nmaxpool 2x1 /1 dil 2x1 pad 1,1,0,0\n",
     "output row 0 lies wholly in the padding"),
])
def test_a_max_pool_window_wholly_in_the_padding_is_refused(text: str, words: str) -> None:
    """Such a window has no value to take the maximum of; the engine refuses it too."""
    from rfdocs.compute.receptive import analyze

    net = parse_spec(text)
    with pytest.raises(SpecError) as info:
        analyze(net)
    assert words in str(info.value) and info.value.field == "padding"


def test_a_max_pool_whose_windows_all_touch_the_input_is_accepted() -> None:
    from rfdocs.compute.receptive import analyze

    assert analyze(parse_spec("input 4x4x1\nmaxpool 3x3 /2 pad 1 ceil\n")).output.shape == (3, 3, 1)
