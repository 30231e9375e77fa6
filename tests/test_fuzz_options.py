"""Fuzzing figure options and kernel specs with hostile values (issue 12): every option of every
kind, given text as a page writes it or values as a YAML figure file holds them (integers of any
length, NaN, infinities, overflow, digits of other scripts, nesting, 300 KB text), either gives
a value or one OptionError naming the option, in a message of reasonable length; never another
exception and never a numpy warning. RFDOCS_FUZZ=long runs the long profile."""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfdocs.compute.kernels import parse_kernel, split_specs
from rfdocs.figures import KIND_MODULES, OptionError, get_kind
from tests.counts import count
from tests.strategies import huge_texts, nested, nesting_depths, number_texts, unicode_words

LONG = os.environ.get("RFDOCS_FUZZ") == "long"
N = 15_000 if LONG else 1_500
MAX_MESSAGE = 600

OPTIONS = [(kind, option) for kind in KIND_MODULES for option in get_kind(kind).options]

#: Option text as a page or the command line gives it.
option_texts = st.one_of(
    number_texts,
    st.tuples(number_texts, st.sampled_from([",", "x", " ", ", "]), number_texts).map("".join),
    unicode_words,
    huge_texts,
    nesting_depths.map(nested),
    st.sampled_from(["", " ", "yes", "no", "[[1,0],[0,-1]]", "gaussian(5, 1e308)",
                     "gaussian(4, 1e-300)", "[[1e308, 1e308], [1e308, 1e308]]", "random(31, nan)",
                     "box(1e400)", "sobel-x, " * 100, "[[5e-324]]", "[[-0.0]]"]),
)
#: Values as a YAML figure file gives them.
yaml_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.integers(300, 6000).map(lambda n: 10**n),
              st.floats(allow_nan=True, allow_infinity=True), unicode_words, option_texts),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(unicode_words, inner, max_size=2),
    max_leaves=6,
)


def _check(kind: str, name: str, value: Any) -> None:
    count("fuzz: hostile option values")
    option = next(o for o in get_kind(kind).options if o.name == name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            parsed = option.parse(value)
        except OptionError as err:
            assert err.option == name
            assert len(str(err)) < MAX_MESSAGE, str(err)[:MAX_MESSAGE]
            return
    if isinstance(parsed, float):
        assert math.isfinite(parsed)
    if isinstance(parsed, int) and not isinstance(parsed, bool):
        assert abs(parsed) < 2**63  # every integer option is bounded (numpy int64 holds it)


@settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(OPTIONS), option_texts)
def test_fuzz_option_text(kind_option: tuple[str, Any], text: str) -> None:
    kind, option = kind_option
    _check(kind, option.name, text)


@settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(OPTIONS), yaml_values)
def test_fuzz_option_values_from_figure_files(kind_option: tuple[str, Any], value: Any) -> None:
    kind, option = kind_option
    _check(kind, option.name, value)


matrix_entries = st.one_of(number_texts, st.floats().map(repr),
                           st.tuples(number_texts, number_texts).map("/".join))
matrices = st.lists(st.lists(matrix_entries, min_size=1, max_size=4), min_size=1, max_size=4).map(
    lambda rows: "[" + ", ".join("[" + ", ".join(r) + "]" for r in rows) + "]")
named = st.tuples(st.sampled_from(["gaussian", "box", "identity", "random", "sobel-x"]),
                  st.lists(number_texts, max_size=3)).map(
    lambda t: f"{t[0]}({', '.join(t[1])})")


@settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(matrices, named), min_size=1, max_size=3).map(", ".join))
def test_fuzz_kernel_specs(text: str) -> None:
    """Kernels parse to finite weights, or a ValueError says why; no overflow, no warning."""
    count("fuzz: hostile kernel specs")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            kernels = [parse_kernel(spec) for spec in split_specs(text)]
        except ValueError as err:
            assert len(str(err)) < MAX_MESSAGE, str(err)[:MAX_MESSAGE]
            return
    for kernel in kernels:
        assert np.all(np.isfinite(kernel.weights)) and np.abs(kernel.weights).max() <= 1e6
        assert len(kernel.name) < 100
