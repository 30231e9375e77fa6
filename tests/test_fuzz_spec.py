"""Fuzzing the spec parser and the analysis: any text either parses or raises SpecError naming
what is wrong; never another exception, never a hang. RFDOCS_FUZZ=long runs the long profile."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfdocs.compute import SpecError, analyze, parse_spec
from rfdocs.compute.spec import LAYER_FIELDS, OPS
from tests.counts import count

LONG = os.environ.get("RFDOCS_FUZZ") == "long"
N = 20_000 if LONG else 3_000

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


def _must_be_clean(text: str) -> None:
    count("fuzz: spec texts parsed")
    started = time.perf_counter()
    try:
        net = parse_spec(text)
        analyze(net)
    except SpecError as err:
        message = str(err)
        assert message and "Traceback" not in message
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
