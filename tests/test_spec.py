"""The spec format: long and compact forms agree; bad specs say which layer, field and what is allowed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from rfdocs.compute import (
    SpecError,
    analyze,
    format_compact,
    load_spec,
    parse_compact,
    parse_long,
    parse_spec,
)
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
         "padding", 3, '"same_lower" or "valid"'),
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


# --------------------------------------------------------------------------- hostile input
# Each of these raised something other than SpecError (ValueError, RecursionError) or passed
# silently before; each must now be one SpecError naming its line, quickly.

SUPERSCRIPT_TWO, ARABIC_THREE = "\u00b2", "\u0663"  # '²' (str.isdigit), '٣' (int() reads it)


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        (f"input 8x8x1\nconv 3 x{SUPERSCRIPT_TWO}\n", 2, None),
        (f"input 8x8x1\nconv 3 x2 groups {SUPERSCRIPT_TWO}\n", 2, "groups"),
        (f"input 8x8x1\nconv {ARABIC_THREE} x1\n", 2, None),
        (f"input 8x8x1\nconv 3 /{ARABIC_THREE} x1\n", 2, "stride"),
        (f"input 8x8x1\nconv 3 x1 pad {SUPERSCRIPT_TWO}\n", 2, "padding"),
        (f"input {ARABIC_THREE}x8x1\nconv 1 x1\n", 1, "input"),
    ],
    ids=["superscript-filters", "superscript-groups", "arabic-kernel", "arabic-stride",
         "superscript-padding", "arabic-input"],
)
def test_digits_other_than_ascii_are_refused_at_their_line(text: str, line: int,
                                                           field: str | None) -> None:
    """YAML and JSON only read 0-9 as numbers; the compact form now agrees (before: '²' crashed
    in int(), '٣' was silently read as 3)."""
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    assert (info.value.line, info.value.field) == (line, field), str(info.value)
    assert "digits 0 to 9" in str(info.value)


HUGE = "9" * 5000  # more digits than Python converts to an int (4,300)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"input 8x8x1\nconv {HUGE} x1\n", 2),
        (f"input 8x8x1\nconv 3 x{HUGE}\n", 2),
        (f"input 8x8x1\nconv 3 x1 groups {HUGE}\n", 2),
        (f"input 8x8x1\nconv 3 x1 pad 1,{HUGE}\n", 2),
        (f"input {HUGE}x8x1\nconv 3 x1\n", 1),
        (f"input: [8, 8, 1]\nlayers:\n  - {{op: conv, kernel: {HUGE}, filters: 1}}\n", 3),
        (f"input: [8, 8, 1]\nlayers:\n  - {{op: conv, kernel: 0x{HUGE}, filters: 1}}\n", 3),
        (f'{{"input": [8, 8, 1],\n "layers": [\n  {{"op": "conv", "kernel": {HUGE}, '
         '"filters": 1}]}\n', 3),
        (f'{{"input": [8, 8, 1], "layers": [{{"op": "conv", "kernel": -{HUGE}.5, '
         '"filters": 1}]}', 1),
    ],
    ids=["compact-kernel", "compact-filters", "compact-groups", "compact-padding", "compact-input",
         "yaml", "yaml-hex", "json", "json-float"],
)
def test_integers_of_any_length_are_refused_at_their_line(text: str, line: int) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    message = str(info.value)
    assert info.value.line == line, message
    assert len(message) < 300 and HUGE[:100] not in message


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
@pytest.mark.parametrize("form", ["json", "yaml-flow", "yaml-block"])
def test_deep_nesting_is_refused_quickly(form: str, depth: int) -> None:
    if form == "json":
        text = '{"input": [8, 8, 1], "layers": ' + "[" * depth + "]" * depth + "}"
    elif form == "yaml-flow":
        text = "input: [8, 8, 1]\nlayers: " + "[" * depth + "]" * depth + "\n"
    else:
        text = "input: [8, 8, 1]\nlayers:\n" + "- " * depth + "x\n"
    started = time.perf_counter()
    with pytest.raises(SpecError, match="nest"):
        parse_spec(text)
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize(
    ("text", "key", "line", "first"),
    [
        ("input: [8, 8, 1]\ninput: [9, 9, 1]\nlayers: [{op: relu}]\n", "input", 2, 1),
        ("input: [8, 8, 1]\nlayers:\n  - op: conv\n    kernel: 3\n    filters: 1\n    kernel: 5\n",
         "kernel", 6, 4),
        ('{"input": [8, 8, 1],\n "layers": [\n  {"op": "relu"},\n  {"op": "conv", "kernel": 3,\n'
         '   "filters": 1, "kernel": 5}]}', "kernel", 5, 4),
        ('{"input": [8, 8, 1], "layers": [{"op": "relu"}],\n"input": [9, 9, 1]}', "input", 2, 1),
    ],
    ids=["yaml-top", "yaml-layer", "json-layer", "json-top"],
)
def test_duplicate_keys_are_an_error_naming_key_and_line(text: str, key: str, line: int,
                                                         first: int) -> None:
    """PyYAML and json keep the last value of a repeated key silently."""
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    assert info.value.line == line, str(info.value)
    assert f"duplicate key {key!r}" in str(info.value)
    assert f"first on line {first}" in str(info.value)


def test_yaml_merge_keys_are_not_duplicates() -> None:
    text = ("input: [8, 8, 1]\nbase: &b {op: conv, kernel: 3, filters: 1}\n"
            "layers:\n  - {<<: *b, kernel: 5}\n")
    with pytest.raises(SpecError, match="unknown top-level key"):  # 'base', not a duplicate
        parse_spec(text)
    net = parse_spec("input: [8, 8, 1]\nlayers:\n  - {<<: {op: conv, kernel: 3, filters: 1}, "
                     "kernel: 5}\n")
    assert net.layers[0].kernel == (5, 5)


def test_json_errors_have_the_line_of_their_layer() -> None:
    text = ('{\n  "input": [8, 8, 1],\n  "layers": [\n    {"op": "conv", "kernel": 3, "filters": 1},'
            '\n    {"op": "conv", "kernel": 0, "filters": 1}\n  ]\n}\n')
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    assert (info.value.layer, info.value.field, info.value.line) == ("conv2", "kernel", 5)


@pytest.mark.parametrize("text", [COMPACT, LONG, json.dumps(yaml.safe_load(LONG))],
                         ids=["compact", "yaml", "json"])
def test_a_byte_order_mark_is_ignored(text: str, tmp_path: Path) -> None:
    """Some Windows editors start UTF-8 files with U+FEFF; it used to become part of the first
    layer's op ('\\ufeffinput1')."""
    marked = tmp_path / "spec.txt"
    marked.write_bytes(b"\xef\xbb\xbf" + text.encode())
    try:
        expected = parse_spec(text)
    except SpecError as err:  # COMPACT and LONG are valid but their concat is refused
        with pytest.raises(SpecError) as info:
            load_spec(marked)
        assert str(info.value) == str(err)
        return
    assert load_spec(marked) == expected == parse_spec("\ufeff" + text)


@pytest.mark.parametrize(
    ("data", "words", "line"),
    [
        (b"input 8x8x1\nconv 3 x1\n\x00\x01\x02", "binary", 3),
        ("input 8x8x1\nconv 3 x1  # café\n".encode("latin-1"), "not UTF-8", 2),
        (b"\xff\xfei\x00n\x00", "binary", 1),  # UTF-16
    ],
    ids=["binary", "latin-1", "utf-16"],
)
def test_files_that_are_not_utf8_text(tmp_path: Path, data: bytes, words: str, line: int) -> None:
    path = tmp_path / "spec.txt"
    path.write_bytes(data)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert words in str(info.value) and info.value.line == line


def test_stride_products_are_bounded_at_the_layer_that_crosses() -> None:
    """720 layers of stride 1,000,000 made 4,320-digit jumps (the table could not print them);
    the 17th layer crosses 10^100 and is named."""
    text = "input 8x8x1\n" + "conv 1 /1000000 x1\n" * 720
    started = time.perf_counter()
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    assert time.perf_counter() - started < 1
    assert (info.value.layer, info.value.field, info.value.line) == ("conv17", "stride", 18)
    assert "10^100" in str(info.value)
    assert parse_spec("input 8x8x1\n" + "conv 1 /1000000 x1\n" * 16).layers[-1].name == "conv16"
    up = "input 8x8x1\n" + "deconv 2 /1000 x1\n" * 40
    with pytest.raises(SpecError) as info:
        parse_spec(up)
    assert (info.value.layer, info.value.line) == ("deconv34", 35)
    assert "transposed" in str(info.value)


def test_stride_products_count_the_worst_path() -> None:
    """A branch with the larger product decides, whichever input of the merge it is."""
    branch = "".join(f"b{i}: conv 1 /1000000 x1\n" for i in range(16))
    text = ("input 64x64x1\na: conv 1 x1\n" + branch + "c: conv 1 x1 from input\n"
            "m: concat c b15\nd: conv 1 /100000 x1\nn: concat b15 c\ne: conv 1 /100000 x1\n")
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    assert info.value.layer == "d"
    assert len(parse_spec(text.replace("d: conv 1 /100000 x1", "d: conv 1 x1")
                          .replace("e: conv 1 /100000 x1", "e: conv 1 /10000 x1")).layers) == 22


def test_issue_12_diamond_chain_parses() -> None:
    """The 45-line spec of issue 12 (22 diamonds of distinct prime strides, a product of 3e30)
    stays within the bound; its analysis is the receptive-field module's business."""
    primes = [p for p in range(2, 80) if all(p % d for d in range(2, p))]
    lines = ["input 1x1x1", "a0: conv 1 x1"]
    for i, p in enumerate(primes[:22], 1):
        lines += [f"b{i}: conv 1 /{p} x1 from a{i - 1}", f"a{i}: add b{i} a{i - 1}"]
    assert len(parse_spec("\n".join(lines)).layers) == 45


def test_stacked_hourglasses_stay_allowed() -> None:
    """Eight hourglasses of four 2-strided downs and ups: products 2^32 each way, jump 1."""
    lines = ["input 64x64x1"]
    for _ in range(8):
        lines += ["conv 3 /2 pad 1 x1"] * 4 + ["deconv 2 /2 x1"] * 4
    net = parse_spec("\n".join(lines))
    assert analyze(net).output.shape == (64, 64, 1)


@pytest.mark.parametrize(
    "text",
    [
        "input 8x8x1\nconv 3 x1 " + "q" * 300_000 + "\n",
        "input 8x8x1\n" + "n" * 300_000 + ": conv 3 x1\n",
        "input 8x8x1\n" + "c" * 300_000 + "\n",
        "input: [8, 8, 1]\nlayers:\n  - {op: conv, kernel: '" + "k" * 300_000 + "', filters: 1}\n",
        "input: [8, 8, 1]\nlayers:\n  - {op: conv, kernel: 3, filters: 1, inputs: [" +
        ", ".join(["zz"] * 50_000) + "]}\n",
        '{"input": [8, 8, 1], "layers": [{"op": "conv", "kernel": 3, "filters": 1, "' +
        "f" * 300_000 + '": 1}]}',
    ],
    ids=["token", "name", "op", "value", "list", "key"],
)
def test_long_values_are_quoted_shortened(text: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    assert len(str(info.value)) < 500, str(info.value)[:600]
