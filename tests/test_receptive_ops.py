"""Receptive fields of the ops real models use (pad, upsample, global pools, the classifier head,
pointwise ops, broadcasting merges, same_lower, avgpool without the pads) against brute force.

The brute force (tests.bruteforce) runs every op on one impulse per input pixel, from the op's
definition, sharing no code with rfdocs.compute.receptive.  The claims checked, for every unit
of every node of random networks:

* every input pixel the unit depends on lies inside its analytic field (clipped to the image);
* where that field lies wholly inside the image and no transposed convolution precedes the
  node, the field is exactly the bounding box of the dependencies.  Linear upsampling counts
  only the taps of non-zero weight: with an odd factor every f-th output unit sits exactly on a
  source unit, reads it alone, and its field is that one unit (the analysis agrees exactly);
* every field and every reported number (jump, start, centre, size, aligned) is the union over
  every path, counted one by one, whether merges keep envelopes or sweep.
"""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from rfdocs.compute import analyze, parse_spec
from rfdocs.compute.receptive import clipped_box
from rfdocs.compute.spec import POINTWISE_OPS, network_from_data
from tests.bruteforce import dependencies, dependency_box, every_path, linear_reads
from tests.counts import count
from tests.strategies import network_specs
from tests.test_receptive import _check_against_brute_force, _check_against_every_path

EXAMPLES = int(os.environ.get("RFDOCS_RF_EXAMPLES", "1000"))
#: The new-op networks are larger (upsampling), so fewer of them keep the run to seconds.
OPS_EXAMPLES = max(EXAMPLES // 8, 40)

NEW_OPS = {"pad", "upsample", "globalavgpool", "globalmaxpool", "flatten", "dense", "sub", "mul",
           "div", *POINTWISE_OPS} - {"relu", "identity"}


def _uses_new_ops(spec: dict) -> bool:  # type: ignore[type-arg]
    return any(layer.get("op") in NEW_OPS or layer.get("padding") == "same_lower"
               or layer.get("count_include_pad") is False for layer in spec["layers"])


@settings(max_examples=OPS_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs(new_ops=True))
def test_new_ops_fields_equal_brute_force(spec: dict) -> None:  # type: ignore[type-arg]
    """Random multi-path networks with every new op: impulse responses lie in the field, and
    fill it away from the borders."""
    _check_against_brute_force(spec)
    _check_against_brute_force(spec, max_lines=1)  # merges swept, not enveloped
    count("random networks with the new ops checked against brute force", _uses_new_ops(spec))


@settings(max_examples=OPS_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs(new_ops=True, max_layers=6))
def test_new_ops_fields_equal_every_path(spec: dict) -> None:  # type: ignore[type-arg]
    net = network_from_data(spec)
    for max_lines in (256, 1):
        _check_against_every_path(net, max_lines)
    count("random networks with the new ops checked against every path", _uses_new_ops(spec))


@settings(max_examples=OPS_EXAMPLES // 2, deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs(new_ops=True, multipath=False))
def test_new_ops_sequential_equal_brute_force(spec: dict) -> None:  # type: ignore[type-arg]
    _check_against_brute_force(spec)


# --------------------------------------------------------------------------- worked cases

SE = """
input 12x10x3
c: conv 3 /2 pad 1 x4
g: globalavgpool
d: dense x4
s: sigmoid
m: mul c s
e: conv 3 pad 1 x4 from m
"""


def test_squeeze_excitation_sees_the_whole_image() -> None:
    """x * sigmoid(dense(globalavgpool(x))): every unit of the product reads unit 0 of the gate,
    which sees every pixel c sees.  (Before broadcasting edges were read at unit 0, the gate
    was read at the unit's own coordinates, a field shifted off to the right: this failed.)"""
    net = parse_spec(SE)
    analysis = analyze(net)
    deps = dependencies(net)
    m = analysis["m"]
    assert m.shape == (6, 5, 4)
    for y in range(6):
        for x in range(5):
            assert dependency_box(deps["m"], y, x, 10) == ((0, 11), (0, 9))
            # c (stride 2, pad 1) sees rows -1..11 of the 12-row input, columns -1..9
            assert m.box(y, x) == ((-1, 11), (-1, 9))
            assert clipped_box(m, y, x, (12, 10)) == ((0, 11), (0, 9))
    # jump 0 (the gate) beside jump 2 (the direct path): reported as the largest, not aligned
    assert m.jump == (2, 2) and not m.aligned and m.rf == (13, 11)
    assert analysis["g"].rf == (13, 11)
    _check_against_brute_force(net)
    _check_against_every_path(net)
    _check_against_every_path(net, max_lines=1)


@pytest.mark.parametrize("order", ["mul c s", "div s c", "sub c s", "add s c"])
def test_broadcast_operand_order_and_sweep(order: str) -> None:
    net = parse_spec(SE.replace("mul c s", order))
    for max_lines in (256, 1):
        _check_against_brute_force(net, max_lines)
        _check_against_every_path(net, max_lines)


@pytest.mark.parametrize("factor", [1, 2, 3, 4, 5])
def test_linear_upsample_unit_fields_are_exact(factor: int) -> None:
    """Each unit of a linear upsampling sees exactly the source units of non-zero weight; with
    an odd factor, units f k + (f - 1) / 2 sit on source unit k and see it alone."""
    n = 7
    net = parse_spec(f"input {n}x{n}x1\nu: upsample {factor} mode linear\n")
    node = analyze(net)["u"]
    reads = linear_reads(n, factor)
    for o in range(n * factor):
        cols = np.flatnonzero(reads[o])
        assert clipped_box(node, 0, o, (n, n))[1] == (cols.min(), cols.max()), o
        if 0 < cols.min() and cols.max() < n - 1:  # away from the clamped borders
            lo, hi = node.axes[1].box(o)
            assert (Fraction(lo).__ceil__(), Fraction(hi).__floor__()) == (cols.min(), cols.max())
    if factor % 2:
        alone = [o for o in range(n * factor) if reads[o].sum() == 1]
        assert {factor * k + (factor - 1) // 2 for k in range(n)} <= set(alone)
        for k in range(1, n - 1):
            assert clipped_box(node, 0, factor * k + (factor - 1) // 2, (n, n))[1] == (k, k)


def test_global_and_head_fields_are_the_whole_input() -> None:
    net = parse_spec("""
input 9x7x2
c: conv 3 /2 x3
p: pad 1,0,2,1
u: upsample 2 mode linear
f: flatten
d1: dense x5
r: relu
d2: dense x2
""")
    a = analyze(net)
    assert a["f"].shape == (1, 1, 10 * 12 * 3)  # conv 4x3, padded 5x6, upsampled 10x12
    # c sees rows 0..8 (4 units, stride 2, kernel 3), columns 0..6; pad shifts; the 1x1 head
    # sees everything c's units see
    for name in ("f", "d1", "r", "d2"):
        assert a[name].shape[:2] == (1, 1)
        assert clipped_box(a[name], 0, 0, (9, 7)) == ((0, 8), (0, 6))
    _check_against_brute_force(net)
    _check_against_every_path(net)


def test_same_lower_puts_the_odd_pixel_first() -> None:
    lower = analyze(parse_spec("input 8x8x1\nc: conv 2 pad same_lower x1\n"))["c"]
    upper = analyze(parse_spec("input 8x8x1\nc: conv 2 pad same x1\n"))["c"]
    assert lower.shape == upper.shape == (8, 8, 1)
    assert lower.start == (-1, -1) and upper.start == (0, 0)
    _check_against_brute_force(parse_spec("input 8x9x1\nc: conv 4 /2 pad same_lower x1\n"))


def test_every_path_counts_broadcast_paths_at_jump_zero() -> None:
    paths = every_path(parse_spec(SE))
    jumps = sorted({j for j, _, _ in paths["m"][0]})
    assert jumps == [0, 2]


def test_undilated_empty_pooling_window_matches_the_vectorised_search() -> None:
    """The closed form the shape check uses for undilated max-pool windows agrees with
    ``conv.empty_window`` (which tests every output unit) on every small case."""
    from rfdocs.compute.conv import empty_window
    from rfdocs.compute.receptive import _empty_window

    cases = 0
    for n in range(1, 9):
        for k in range(1, 6):
            for s in range(1, 5):
                for before in range(0, 8):
                    for after in range(0, 8):
                        out = (n + before + after - k) // s + 1
                        if out < 1:
                            continue
                        for units in {out, out + 1}:  # also one unit past the usual count
                            assert _empty_window(n, k, s, 1, before, units) == \
                                empty_window(n, k, s, 1, before, units), (n, k, s, before, units)
                            cases += 1
    assert cases > 5000
