"""Receptive fields and shapes against brute force (impulse responses) and worked examples."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

from rfdocs.compute import Network, analyze, parse_spec
from rfdocs.compute.receptive import MAX_LINES, clipped_box
from rfdocs.compute.spec import network_from_data
from tests.bruteforce import (
    dependencies,
    dependency_box,
    diamond_network,
    every_path,
    path_field,
    path_numbers,
    primes,
)
from tests.counts import count
from tests.strategies import network_specs

EXAMPLES = int(os.environ.get("RFDOCS_RF_EXAMPLES", "1000"))


def _check_against_brute_force(spec: dict | Network, max_lines: int = MAX_LINES) -> None:  # type: ignore[type-arg]
    net = spec if isinstance(spec, Network) else network_from_data(spec)
    analysis = analyze(net, max_lines=max_lines)
    deps = dependencies(net)
    h, w, _ = net.input
    # Reading fractions of a unit (a transposed convolution, or an upsampling of an input whose
    # units are several pixels apart) rounds inwards only at the end: the field may hold a
    # pixel or so more than the dependencies there, so it is checked for containment alone.
    scaled, loose = {"input": False}, {"input": False}
    for layer in net.layers:
        before = any(scaled[i] for i in layer.inputs)
        up = layer.op == "upsample" and layer.factor != (1, 1)
        scaled[layer.name] = before or up or layer.op == "deconv" or (
            layer.op in ("conv", "maxpool", "avgpool") and layer.stride != (1, 1))
        loose[layer.name] = (layer.op == "deconv" or (up and before)
                             or any(loose[i] for i in layer.inputs))
    for node in analysis.layers:
        dep = deps[node.name]
        assert dep.shape[:2] == node.shape[:2], f"{node.name}: shape"
        for y in range(node.shape[0]):
            for x in range(node.shape[1]):
                got = dependency_box(dep, y, x, w)
                clipped = clipped_box(node, y, x, (h, w))
                if got is None:
                    continue
                # Every dependency lies inside the analytic field (clipped to the image) ...
                assert clipped is not None, f"{node.name} ({y},{x}) depends on {got}, field empty"
                assert clipped[0][0] <= got[0][0] and got[0][1] <= clipped[0][1], (node.name, y, x)
                assert clipped[1][0] <= got[1][0] and got[1][1] <= clipped[1][1], (node.name, y, x)
                # ... and away from borders the field is exactly the dependency box (its whole
                # pixels: upsampling reads fractions of its input's coordinates).
                (r0, r1), (c0, c1) = ((math.ceil(a), math.floor(b)) for a, b in node.box(y, x))
                inside = r0 >= 0 and c0 >= 0 and r1 <= h - 1 and c1 <= w - 1
                if inside and not loose[node.name]:
                    assert got == ((r0, r1), (c0, c1)), (node.name, y, x, got, node.box(y, x))


def _has_merge(spec: dict) -> bool:  # type: ignore[type-arg]
    return any(layer.get("op") in ("add", "concat") for layer in spec["layers"])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs())
def test_multipath_receptive_field_equals_brute_force(spec: dict) -> None:  # type: ignore[type-arg]
    """Shortcuts, branches, concat and paths of different jumps: the union over paths."""
    assume(_has_merge(spec))
    _check_against_brute_force(spec)
    count("random multi-path networks checked against brute force")


@settings(max_examples=max(EXAMPLES // 3, 50), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(network_specs(multipath=False))
def test_sequential_receptive_field_equals_brute_force(spec: dict) -> None:  # type: ignore[type-arg]
    _check_against_brute_force(spec)
    count("random sequential networks checked against brute force")


@settings(max_examples=max(EXAMPLES // 4, 50), deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs(multipath=False, deconv=False, max_layers=5))
def test_sequential_closed_form(spec: dict) -> None:  # type: ignore[type-arg]
    """Sequential conv/pool stacks: r = 1 + sum (k_l - 1) d_l prod s, j = prod s (Araujo eq. 2, 3)."""
    net = network_from_data(spec)
    analysis = analyze(net)
    for axis in range(2):
        r, j = 1, 1
        for layer, node in zip(net.layers, analysis.layers, strict=True):
            if layer.op in ("conv", "maxpool", "avgpool"):
                r += (layer.kernel[axis] - 1) * layer.dilation[axis] * j
                j *= layer.stride[axis]
            assert node.rf[axis] == r
            assert node.jump[axis] == j


def test_worked_example_tutorial_block() -> None:
    node = analyze(parse_spec("input 50x50x3\nconv 5x5 /1 x100\n")).output
    assert node.shape == (46, 46, 100)
    assert node.rf == (5, 5) and node.jump == (1, 1) and node.start == (0, 0)
    assert node.box(12, 30) == ((12, 16), (30, 34))


def test_multipath_alignment_flag() -> None:
    # Two paths of equal jump whose centres differ: 'same' padding puts the extra pixel at the
    # bottom/right for even kernels, so a 2x2 and a 1x1 branch disagree on the centre.
    net = parse_spec("""
input 16x16x1
a: conv 2 pad same x1 from input
b: conv 1 x1 from input
m: add a b
""")
    m = analyze(net)["m"]
    assert not m.aligned
    assert m.rf == (2, 2)
    net = parse_spec("""
input 16x16x1
a: conv 3 pad 1 x1 from input
b: conv 1 x1 from input
m: add a b
""")
    m = analyze(net)["m"]
    assert m.aligned and m.rf == (3, 3) and m.start == (-1, -1)


def test_transposed_convolution_numbers() -> None:
    node = analyze(parse_spec("input 8x8x1\nd: deconv 4 /2 pad 1 x1\n"))["d"]
    assert node.shape == (16, 16, 1)
    # unit x sees layer inputs [(x + 1 - 3) / 2, (x + 1) / 2]
    assert node.jump == (0.5, 0.5)
    assert node.rf == (2.5, 2.5)
    assert node.box(4, 4) == ((1, 2.5), (1, 2.5))
    deps = dependencies(parse_spec("input 8x8x1\nd: deconv 4 /2 pad 1 x1\n"))["d"]
    assert dependency_box(deps, 4, 4, 8) == ((1, 2), (1, 2))


def test_ceil_mode_and_same_shapes_match_torch_rules() -> None:
    net = parse_spec("""
input 15x17x3
p: maxpool 3 /2 ceil
q: maxpool 2 /2 pad same
c: conv 3x3 /2 pad 1 dil 2 x4
""")
    a = analyze(net)
    # torch: ceil((15 - 3) / 2) + 1 = 7; ceil((17 - 3) / 2) + 1 = 8
    assert a["p"].shape == (7, 8, 3)
    assert a["q"].shape == (4, 4, 3)
    # floor((4 + 2 - 5) / 2) + 1 = 1
    assert a["c"].shape == (1, 1, 4)


def test_deep_graph_is_fast_enough_to_run() -> None:
    layers = "\n".join(f"c{i}: conv 3 pad 1 x1" for i in range(1000))
    node = analyze(parse_spec("input 64x64x1\n" + layers)).output
    assert node.rf == (2001, 2001)
    assert math.isclose(float(node.center[0]), 0.0)
    assert np.all(np.array(node.padding) == 1000)


@pytest.mark.parametrize("text", ["input 8x8x1\nconv 9 x1\n", "input 8x8x1\nmaxpool 3 /2\nconv 4 x1\n"])
def test_impossible_shapes_name_the_layer(text: str) -> None:
    from rfdocs.compute import SpecError
    with pytest.raises(SpecError) as err:
        analyze(parse_spec(text))
    assert err.value.layer is not None and "impossible shape" in str(err.value)


# --------------------------------------------------------------------------- every path


def _check_against_every_path(net: Network, max_lines: int = MAX_LINES) -> None:
    """Each unit's field and every reported number equal the union over all paths, counted
    one by one (tests.bruteforce.every_path), whether the analysis keeps envelopes or sweeps."""
    analysis = analyze(net, max_lines=max_lines)
    paths = every_path(net)
    for node in analysis:
        for axis, rf in enumerate(node.axes):
            boxes = paths[node.name][axis]
            fields = [path_field(boxes, x) for x in range(rf.units)]
            for x, field in enumerate(fields):
                assert rf.box(x) == field, (node.name, axis, x)
            got = {"jump": rf.jump, "start": rf.start, "center": rf.center, "rf": rf.rf,
                   "aligned": rf.aligned}
            assert got == path_numbers(boxes, rf.units), (node.name, axis)
            for box in rf.paths:  # each kept box is a real path's: never past the field
                for x, (lo, hi) in enumerate(fields):
                    assert lo <= box.lo + x * box.j <= box.hi + x * box.j <= hi


@settings(max_examples=max(EXAMPLES // 4, 50), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(network_specs())
def test_fields_equal_the_union_over_every_path(spec: dict) -> None:  # type: ignore[type-arg]
    """Random multi-path networks: envelopes (and, with one box a merge, sweeps) are exact."""
    net = network_from_data(spec)
    for max_lines in (MAX_LINES, 1):
        _check_against_every_path(net, max_lines)
    count("random networks checked against every path")


#: Chains of diamonds whose branches have distinct strides (2^N distinct jumps): on a single
#: pixel as in issue 12, on larger inputs with the padding that keeps the shape, with
#: transposed convolutions (fractional jumps), even kernels (half centres) and larger kernels.
DIAMONDS = {
    "issue-12 (1x1, kernel 1)": diamond_network(primes(10)),
    "1x1, kernel 3": diamond_network(primes(10), kernel=3),
    "5x5, kernel 3": diamond_network(primes(8), size=5, kernel=3),
    "6x6, kernel 2, up and down": diamond_network(primes(8), size=6, kernel=2, up={1, 4, 6}),
    "4x4, kernel 4, up and down": diamond_network(primes(7), size=4, kernel=4, up={0, 3}),
    "7x7, kernel 3, up, relus": diamond_network(primes(8), size=7, kernel=3, up={2, 5},
                                                layers=24),
}


@pytest.mark.parametrize("name", DIAMONDS)
@pytest.mark.parametrize("max_lines", [MAX_LINES, 4, 1])
def test_diamond_chains_equal_every_path_and_brute_force(name: str, max_lines: int) -> None:
    net = DIAMONDS[name]
    _check_against_every_path(net, max_lines)
    _check_against_brute_force(net, max_lines)
    count("diamond chains checked against every path and brute force")


def _issue_12_spec() -> str:
    """The spec of issue 12: 22 diamonds with distinct prime strides on one pixel."""
    lines = ["input 1x1x1", "a0: conv 1 x1"]
    for i, p in enumerate(primes(22), 1):
        lines += [f"b{i}: conv 1 /{p} x1 from a{i - 1}", f"a{i}: add b{i} a{i - 1}"]
    return "\n".join(lines) + "\n"


def _state(analysis: object) -> int:
    """Boxes the analysis holds: every hull once, wherever nodes share it."""
    hulls = {id(rf.hull): rf.hull for node in analysis for rf in node.axes  # type: ignore[attr-defined]
             if rf.hull is not None}
    return sum(len(h.boxes) + len(h.firsts) + len(h.lasts) for h in hulls.values())


def test_diamond_chains_keep_bounded_state() -> None:
    """Issue 12: 22 diamonds of distinct strides took 40 s and 2 GB (4 million boxes a node).
    The analysis now holds a few boxes a merge, and the numbers are those of every path."""
    text = _issue_12_spec()
    try:
        net = parse_spec(text)
    except Exception:  # the parser may refuse strides multiplying past its limit: build it
        net = diamond_network(primes(22))
    analysis = analyze(net)
    assert len(analysis.nodes) == 46
    assert _state(analysis) <= 6 * len(analysis.nodes)
    out = analysis.output
    assert out.jump == (math.prod(primes(22)),) * 2
    assert out.rf == (1, 1) and out.start == (0, 0) and not out.aligned
    # 300 diamonds in a 1,000-layer graph on one pixel: 2^300 paths, two boxes a merge
    net = diamond_network(primes(300), layers=1000)
    analysis = analyze(net)
    assert _state(analysis) <= 6 * len(analysis.nodes)
    assert analysis.output.jump == (math.prod(primes(300)),) * 2
    # 40 diamonds on 7x7 with kernel 3 and the padding that keeps the shape, 13 of them
    # transposed: the envelopes grow, but by about one box a diamond, not by doubling
    up = set(range(1, 40, 3))
    net = diamond_network(primes(40), size=7, kernel=3, up=up, layers=1000)
    analysis = analyze(net)
    assert max(len(rf.hull.boxes) for node in analysis for rf in node.axes
               if rf.hull is not None) <= 2 * 40
    assert _state(analysis) <= 6 * 2 * 40 * 40
    # the largest jump: every branch that strides down and none that strides up
    down = [p for i, p in enumerate(primes(40)) if i not in up]
    assert analysis.output.jump == (math.prod(down),) * 2
