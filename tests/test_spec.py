"""The spec format: long and compact forms agree; bad specs say which layer, field and what is allowed."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from rfdocs.compute import SpecError, format_compact, parse_compact, parse_long, parse_spec
from rfdocs.compute.spec import network_from_data
from tests.strategies import network_specs

LONG = """
input: [224, 224, 3]        # height, width, channels
layers:
  - name: conv1
    op: conv
    kernel: 7
    stride: 2
    padding: 3
    dilation: 1
    filters: 64
    groups: 1
  - name: pool1
    op: maxpool
    kernel: 3
    stride: 2
    padding: 1
    ceil_mode: false
  - {name: up, op: deconv, kernel: [4, 4], stride: 2, padding: [1, 1, 1, 1], filters: 8,
     output_padding: 0}
  - {name: side, op: conv, kernel: 1, filters: 8, inputs: [pool1], padding: valid}
  - {name: cat, op: concat, inputs: [up, side]}
"""

COMPACT = """
input 224x224x3
conv1: conv 7x7 /2 pad 3 x64   # the stem
pool1: maxpool 3 /2 pad 1
up: deconv 4x4 /2 pad 1 x8
side: conv 1 x8 pad valid from pool1
cat: concat up side
"""


def test_compact_equals_long() -> None:
    # The long form's 'up' upsamples 56 -> 112 but 'side' stays 56: concat must refuse ...
    with pytest.raises(SpecError):
        from rfdocs.compute import analyze
        analyze(parse_long(LONG))
    # ... and both forms describe the same network object all the same.
    assert parse_long(LONG) == parse_compact(COMPACT)
    assert parse_spec(LONG) == parse_spec(COMPACT)


def test_json_is_accepted() -> None:
    net = parse_long(LONG)
    assert parse_spec(json.dumps(net.to_dict())) == net


def test_defaults() -> None:
    net = parse_spec("input 50x50x3\nconv 5x5 x100\nrelu\nmaxpool 2\n")
    conv, relu, pool = net.layers
    assert conv.name == "conv1" and conv.stride == (1, 1) and conv.padding == (0, 0, 0, 0)
    assert relu.inputs == ("conv1",) and pool.inputs == ("relu2",)
    assert pool.stride == (2, 2)  # pools stride by their size in the compact form


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs())
def test_round_trips(spec: dict) -> None:  # type: ignore[type-arg]
    net = network_from_data(spec)
    assert parse_compact(format_compact(net)) == net
    assert parse_long(yaml.safe_dump(net.to_dict())) == net
    assert parse_spec(json.dumps(net.to_dict())) == net


@pytest.mark.parametrize(
    ("text", "layer", "field", "line", "words"),
    [
        ("input: [8, 8, 1]\nlayers:\n  - {op: conv, kernel: 3}\n", "conv1", "filters", 3, "required"),
        ("input: [8, 8, 1]\nlayers:\n  - {op: conv, kernel: 0, filters: 1}\n", "conv1", "kernel", 3,
         "between 1"),
        ("input: [8, 8, 1]\nlayers:\n  - {op: conv2d, kernel: 3, filters: 1}\n", "#1", "op", 3,
         "conv, deconv, maxpool"),
        ("input: [8, 8, 1]\nlayers:\n  - {op: relu}\n  - {op: maxpool, kernel: 2, filters: 3}\n",
         "maxpool2", "filters", 4, "only allowed for conv, deconv"),
        ("input: [8, 8, 1]\nlayers:\n  - {op: conv, kernel: 3, filters: 1, padding: full}\n", "conv1",
         "padding", 3, '"same" or "valid"'),
        ("input: [8, 8, 1]\nlayers:\n  - {op: add, inputs: [input, nowhere]}\n", "add1", "inputs", 3,
         "earlier layer"),
        ("input: [8, 8, 1]\nlayers:\n  - {op: conv, kernel: 3, filters: 4, groups: 3}\n", "conv1",
         "groups", 3, "divisible"),
        ("input: [8, 8, 1]\nlayers:\n  - {op: conv, kernel: 3, filters: 1, colour: red}\n", "conv1",
         "colour", 3, "allowed: name, op"),
        ("input 8x8x1\nconv 3 x1\nconv 3 x1 dil\n", "conv2", "dilation", 3, "needs a value"),
        ("input 8x8x1\nc: conv 3 x1\nc: relu\n", "c", "name", 3, "unique"),
        ("input 8x8x1\nconv 3 x1 frob\n", "conv1", None, 2, "does not understand 'frob'"),
        ("conv 3 x1\n", None, "input", None, "input HxWxC"),
    ],
)
def test_errors_name_layer_field_and_line(text: str, layer: str | None, field: str | None,
                                          line: int | None, words: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    err = info.value
    assert (err.layer, err.field, err.line) == (layer, field, line), str(err)
    assert words in str(err)


def test_yaml_alias_bomb_is_refused_quickly() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(9))
    with pytest.raises(SpecError, match="expands to more than"):
        parse_long(bomb)


def test_yaml_syntax_error_has_line() -> None:
    with pytest.raises(SpecError) as info:
        parse_long("input: [8, 8, 1]\nlayers:\n  - {op: conv, kernel: [3, 3}\n")
    assert info.value.line == 3
