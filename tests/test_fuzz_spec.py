"""Fuzzing the spec parser and the analysis: any text either parses or raises SpecError naming
what is wrong, in a message of reasonable length; never another exception, never a hang, never a
numpy warning. Random specs and texts, then hostile ones (issue 12): digits and letters of every
script, integers of any length, NaN, infinities and overflow, deep nesting, duplicate keys, byte
order marks, huge values. RFDOCS_FUZZ=long runs the long profile."""

from __future__ import annotations

import json
import os
import time
import warnings
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfdocs.compute import SpecError, analyze, parse_spec
from rfdocs.compute.spec import LAYER_FIELDS, OPS
from tests.counts import count
from tests.strategies import (
    huge_texts,
    long_digits,
    nested,
    nesting_depths,
    number_texts,
    unicode_digits,
    unicode_words,
)

LONG = os.environ.get("RFDOCS_FUZZ") == "long"
N = 20_000 if LONG else 3_000
HOSTILE = 12_000 if LONG else 700  # cases of each hostile test
MAX_MESSAGE = 600  # characters: values a message quotes are shortened

values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 300) | st.floats(allow_nan=True) |
    st.text(max_size=6) | st.sampled_from(["same", "valid", "conv", "input", "x", ""]),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
layer_dicts = st.dictionaries(
    st.sampled_from([*LAYER_FIELDS, "bogus"]),
    st.one_of(values, st.sampled_from(OPS), st.integers(0, 9), st.lists(st.integers(0, 9), max_size=4)),
    max_size=8,
)
long_specs = st.fixed_dictionaries(
    {"input": st.one_of(values, st.lists(st.integers(-1, 64), min_size=2, max_size=4)),
     "layers": st.one_of(values, st.lists(layer_dicts, max_size=6))},
    optional={"extra": values},
)
compact_tokens = st.sampled_from([
    "conv", "deconv", "maxpool", "avgpool", "add", "concat", "relu", "identity", "input",
    "3", "3x3", "5x1", "0", "/2", "/1x2", "/0", "x8", "x0", "pad", "same", "valid", "1,2", "1,2,3,4",
    "dil", "2", "groups", "g", "outpad", "ceil", "from", "a:", "b:", "a", "b", "input:", "8x8x3",
    "#", "-", ":", "x", "/", "99999999",
])
compact_texts = st.lists(st.lists(compact_tokens, min_size=1, max_size=8).map(" ".join),
                         min_size=1, max_size=8).map(lambda lines: "input 16x16x3\n" + "\n".join(lines))


def _must_be_clean(text: str, what: str = "fuzz: spec texts parsed") -> None:
    count(what)
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a numpy RuntimeWarning would fail here
            net = parse_spec(text)
            analyze(net)
    except SpecError as err:
        message = str(err)
        assert message and "Traceback" not in message
        assert len(message) < MAX_MESSAGE, message[:MAX_MESSAGE]
    assert time.perf_counter() - started < 2.0, "parsing took too long"


@settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
@given(long_specs)
def test_fuzz_long_form(spec: dict[str, Any]) -> None:
    _must_be_clean(yaml.safe_dump(spec))
    _must_be_clean(json.dumps(spec, default=str))


@settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
@given(compact_texts)
def test_fuzz_compact_form(text: str) -> None:
    _must_be_clean(text)


@settings(max_examples=N // 2, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=300))
def test_fuzz_arbitrary_text(text: str) -> None:
    _must_be_clean(text)


# --------------------------------------------------------------------------- hostile input

#: A number as a page might write it, in a compact token.
hostile_numbers = st.one_of(number_texts, st.sampled_from(["3", "2", "1", "0"]))
hostile_tokens = st.one_of(
    compact_tokens,
    hostile_numbers,
    hostile_numbers.map(lambda n: "x" + n),
    hostile_numbers.map(lambda n: "/" + n),
    st.tuples(hostile_numbers, hostile_numbers).map("x".join),
    st.tuples(hostile_numbers, hostile_numbers, hostile_numbers).map(",".join),
    unicode_words,
    unicode_words.map(lambda w: w + ":"),
    unicode_digits,
)
hostile_compact = st.tuples(
    st.one_of(st.just("input 16x16x3"),
              st.tuples(hostile_numbers, hostile_numbers, hostile_numbers)
              .map(lambda t: "input " + "x".join(t))),
    st.lists(st.lists(hostile_tokens, min_size=1, max_size=8).map(" ".join), min_size=1,
             max_size=8),
    st.booleans(),
).map(lambda t: ("\ufeff" if t[2] else "") + t[0] + "\n" + "\n".join(t[1]))


@settings(max_examples=HOSTILE, deadline=None, suppress_health_check=list(HealthCheck))
@given(hostile_compact)
def test_fuzz_hostile_compact_form(text: str) -> None:
    _must_be_clean(text, "fuzz: hostile spec texts parsed")


#: A YAML or JSON scalar written raw into the text (so integers of any length reach the parser).
raw_values = st.one_of(
    hostile_numbers,
    st.lists(hostile_numbers, min_size=1, max_size=4).map(lambda v: "[" + ", ".join(v) + "]"),
    st.sampled_from(['"same"', '"valid"', "true", "null", '"x"', "[]", "{}"]),
    unicode_words.map(json.dumps),
    nesting_depths.map(nested),
    huge_texts.map(json.dumps),
)
raw_layers = st.lists(
    st.lists(st.tuples(st.sampled_from([*LAYER_FIELDS, "op", "op", "kernel", "kernel", "filters"]),
                       st.one_of(st.sampled_from([json.dumps(o) for o in OPS]), raw_values)),
             min_size=1, max_size=7),
    min_size=1, max_size=5,
)


@settings(max_examples=HOSTILE, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw_layers, raw_values, st.booleans(), st.booleans())
def test_fuzz_hostile_long_form(layers: list[list[tuple[str, str]]], shape: str, repeat: bool,
                                bom: bool) -> None:
    """YAML and JSON texts whose keys may repeat (within a layer, or 'input' at the top) and
    whose values are raw hostile numbers, nested lists, words of any script or 300 KB strings."""
    top = [("input", shape)] + ([("input", "[8, 8, 1]")] if repeat else [])
    mark = "\ufeff" if bom else ""
    as_json = ", ".join(f"{{{', '.join(f'{json.dumps(k)}: {v}' for k, v in fields)}}}"
                        for fields in layers)
    tops = ", ".join(f"{json.dumps(k)}: {v}" for k, v in top)
    _must_be_clean(f"{mark}{{{tops}, \"layers\": [{as_json}]}}", "fuzz: hostile spec texts parsed")
    as_yaml = "".join(f"{k}: {v}\n" for k, v in top) + "layers:\n" + "".join(
        "  - {" + ", ".join(f"{k}: {v}" for k, v in fields) + "}\n" for fields in layers)
    _must_be_clean(mark + as_yaml, "fuzz: hostile spec texts parsed")


@settings(max_examples=max(HOSTILE // 4, 100), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(nesting_depths, st.sampled_from(["json", "json-object", "yaml-flow", "yaml-block"]),
       st.sampled_from(["input", "layers", "kernel"]))
def test_fuzz_deep_nesting(depth: int, form: str, where: str) -> None:
    value = {"json": nested(depth), "json-object": '{"a": ' * depth + "1" + "}" * depth,
             "yaml-flow": nested(depth), "yaml-block": "\n" + "- " * depth + "x"}[form]
    if form.startswith("json"):
        fields = {"input": "[8, 8, 1]", "layers": '[{"op": "conv", "kernel": 3, "filters": 1}]'}
        if where == "kernel":
            fields["layers"] = f'[{{"op": "conv", "kernel": {value}, "filters": 1}}]'
        else:
            fields[where] = value
        text = "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"
    else:
        fields = {"input": "[8, 8, 1]", "layers": "\n  - {op: conv, kernel: 3, filters: 1}"}
        if where == "kernel":
            fields["layers"] = f"\n  - op: conv\n    filters: 1\n    kernel: {value}"
        else:
            fields[where] = value
        text = "".join(f"{k}: {v}\n" for k, v in fields.items())
    _must_be_clean(text, "fuzz: hostile spec texts parsed")


@settings(max_examples=max(HOSTILE // 4, 100), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(long_digits, st.sampled_from(["compact", "yaml", "json"]),
       st.sampled_from(["kernel", "stride", "filters", "padding", "input"]))
def test_fuzz_integers_of_any_length(digits: str, form: str, field: str) -> None:
    if form == "compact":
        layer = {"kernel": f"conv {digits} x1", "stride": f"conv 3 /{digits} x1",
                 "filters": f"conv 3 x{digits}", "padding": f"conv 3 x1 pad {digits}",
                 "input": "conv 1 x1"}[field]
        shape = f"{digits}x8x1" if field == "input" else "8x8x1"
        text = f"input {shape}\n{layer}\n"
    else:
        values = {"kernel": "3", "stride": "1", "filters": "1", "padding": "0"}
        shape = f"[{digits}, 8, 1]" if field == "input" else "[8, 8, 1]"
        if field != "input":
            values[field] = digits
        fields = ", ".join(f'"{k}": {v}' for k, v in values.items())
        text = (f'{{"input": {shape}, "layers": [{{"op": "conv", {fields}}}]}}' if form == "json"
                else f"input: {shape}\nlayers:\n  - {{op: conv, {fields.replace(chr(34), '')}}}\n")
    _must_be_clean(text, "fuzz: hostile spec texts parsed")
