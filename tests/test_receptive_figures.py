"""The figure kinds that walk a network (rf-block, rf-growth, the rf table and the explorer's
footprints) on a network with the ops real models use: a squeeze-excitation block, linear
upsampling, a pad and a flatten/dense classifier head.  Their numbers are held to the brute
force (tests.bruteforce: impulses run through each op, no receptive.py code)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from rfdocs.cli import run
from rfdocs.compute import analyze, parse_spec
from rfdocs.compute.footprints import explorer_data, footprint_maps
from rfdocs.compute.receptive import clipped_box
from rfdocs.compute.spec import network_from_data
from rfdocs.figures import DARK, LIGHT, get_kind
from rfdocs.figures.geometry import clip_box, footprints
from rfdocs.figures.output import figure_bytes
from rfdocs.figures.table import layer_table
from tests.bruteforce import dependencies, dependency_box
from tests.strategies import network_specs

SPEC = """input 32x28x3
c1: conv 3 /2 pad 1 x8
b1: batchnorm
h1: hardswish
g: globalavgpool
d: dense x8
s: hardsigmoid
m: mul h1 s
u: upsample 2 mode linear
p: pad 1
c2: conv 3 /2 x8
f: flatten
o: dense x10
"""
NET = parse_spec(SPEC)
ANALYSIS = analyze(NET)
DEPS = dependencies(NET)
WHOLE = ((0, 31), (0, 27))


def _deps_box(name: str, y: int, x: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
    return dependency_box(DEPS[name], y, x, NET.input[1])


def test_brute_force_agrees_the_head_and_the_gate_see_everything() -> None:
    for name in ("g", "d", "s", "f", "o"):
        assert _deps_box(name, 0, 0) == WHOLE
        assert clipped_box(ANALYSIS[name], 0, 0, NET.input[:2]) == WHOLE
    for y, x in ((0, 0), (7, 3), (15, 13)):  # every unit of the product: the whole image
        assert _deps_box("m", y, x) == WHOLE
        assert clipped_box(ANALYSIS["m"], y, x, NET.input[:2]) == WHOLE


def test_table_and_cli_report_the_global_fields() -> None:
    rows = {row[0]: row for row in layer_table(ANALYSIS).rows}
    # c1 (kernel 3, stride 2, pad 1) sees rows -1..31 and columns -1..27 in all: 33x29
    for name in ("g", "d", "s", "m"):
        assert rows[name][3].startswith("33×29"), rows[name]
    # the head reads c2, whose units past the pad and the upsampling's edges reach further into
    # the padding: rows -4..33 (every path, counted one by one, says the same)
    for name in ("f", "o"):
        assert rows[name][3].startswith("38×34") and rows[name][5] == "-4", rows[name]
    assert rows["m"][7] == "no"  # the gate's jump 0 beside the direct path's 2
    assert rows["c1"][7] == "yes"


def test_cli_rf_json_on_the_network(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    spec = Path(str(tmp_path)) / "net.txt"
    spec.write_text(SPEC, encoding="utf-8")
    assert run(["rf", str(spec), "--json"]) == 0
    layers = {row["name"]: row for row in json.loads(capsys.readouterr().out)["layers"]}
    assert layers["o"]["shape"] == [1, 1, 10] and layers["o"]["rf"] == [38, 34]
    assert layers["g"]["rf"] == [33, 29]
    assert layers["m"]["jump"] == [2, 2] and layers["m"]["aligned"] is False
    assert list(layers)[-1] == "o"


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
@pytest.mark.parametrize("layer", ["c2", "m", "o", "u"])
def test_block_figure_footprints(theme: object, layer: str) -> None:
    rendered = get_kind("block").render(NET, {"layer": layer}, theme)  # type: ignore[arg-type]
    numbers = rendered.numbers
    target = ANALYSIS[layer]
    neuron = numbers["neuron"]
    assert numbers["field_in_input"] == clipped_box(target, *neuron, NET.input[:2])
    assert numbers["field_in_input"] == _deps_box(layer, *neuron)  # exact here: no fractions
    for name, box in numbers["footprints"].items():
        if name != "input":
            continue
        assert clip_box(box, NET.input) == _deps_box(layer, *neuron)
    assert figure_bytes(rendered.figure, "png")[:4] == b"\x89PNG"


@pytest.mark.parametrize("layer", ["c2", "m", "o"])
def test_growth_figure_footprints(layer: str) -> None:
    rendered = get_kind("growth").render(NET, {"layer": layer, "max_layers": 16}, LIGHT)
    numbers = rendered.numbers
    # pointwise layers are not drawn: batchnorm, hardswish, hardsigmoid
    assert not {"b1", "h1", "s"} & set(numbers["panels"])
    neuron = numbers["neuron"]
    assert clip_box(numbers["footprints"]["input"], NET.input) == _deps_box(layer, *neuron)
    if layer in ("m", "o"):
        assert clip_box(numbers["footprints"]["c1"], ANALYSIS["c1"].shape) == ((0, 15), (0, 13))
    figure_bytes(rendered.figure, "svg")


def _check_footprints(net: object, target: str, neuron: tuple[int, int],
                      cache: dict[str, object] | None = None) -> None:
    """Every earlier node's footprint holds the units the neuron depends on (impulses started
    at that node), and lies inside the analysis' field where that node is the input."""
    analysis = analyze(net)  # type: ignore[arg-type]
    shapes = {n.name: n.shape for n in analysis}
    feet = footprints(analysis, target, neuron)
    cache = {} if cache is None else cache
    for name, box in feet.items():
        if name == target:
            continue
        if name not in cache:
            cache[name] = dependencies(net, source=name, shapes=shapes)  # type: ignore[arg-type]
        deps: dict[str, Any] = cache[name]  # type: ignore[assignment]
        got = dependency_box(deps[target], *neuron, shapes[name][1])
        clipped = clip_box(box, shapes[name])
        if got is None:
            continue
        assert clipped is not None, (name, box, got)
        assert clipped[0][0] <= got[0][0] <= got[0][1] <= clipped[0][1], (name, box, got)
        assert clipped[1][0] <= got[1][0] <= got[1][1] <= clipped[1][1], (name, box, got)
        if name == "input":
            field = clipped_box(analysis[target], *neuron, shapes[name][:2])
            assert field is not None
            assert field[0][0] <= clipped[0][0] and clipped[0][1] <= field[0][1]
            assert field[1][0] <= clipped[1][0] and clipped[1][1] <= field[1][1]


def test_footprints_of_every_layer_hold_the_dependencies() -> None:
    cache: dict[str, object] = {}
    for target in ("c2", "m", "u", "o"):
        node = ANALYSIS[target]
        for neuron in ((0, 0), (node.shape[0] - 1, node.shape[1] - 1),
                       (node.shape[0] // 2, node.shape[1] // 3)):
            _check_footprints(NET, target, neuron, cache)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs(new_ops=True, max_layers=6))
def test_random_footprints_hold_the_dependencies(spec: dict) -> None:  # type: ignore[type-arg]
    net = network_from_data(spec)
    node = analyze(net).output
    h, w = node.shape[:2]
    cache: dict[str, object] = {}
    for neuron in ((0, 0), (h - 1, w - 1), (h // 2, w // 2)):
        _check_footprints(net, node.name, neuron, cache)


def test_explorer_maps_from_an_inner_layer_hold_the_dependencies() -> None:
    """The explorer's maps from c1 (a source other than the input) to the product: every unit
    of m reads c1's whole map through the gate, not the unit at its own coordinates."""
    maps = footprint_maps(ANALYSIS, ["input", "c1", "m", "c2"])
    shapes = {n.name: n.shape for n in ANALYSIS}
    deps = dependencies(NET, source="c1", shapes=shapes)
    for later in ("m", "c2"):
        rows, cols = maps[(later, "c1")]
        h, w = shapes[later][:2]
        for y in range(h):
            for x in range(w):
                got = dependency_box(deps[later], y, x, shapes["c1"][1])
                cells = (rows.cells(y, shapes["c1"][0]), cols.cells(x, shapes["c1"][1]))
                assert got is not None and None not in cells
                assert cells[0][0] <= got[0][0] and got[0][1] <= cells[0][1], (later, y, x)
                assert cells[1][0] <= got[1][0] and got[1][1] <= cells[1][1], (later, y, x)
                if later == "m":
                    assert cells == got == ((0, 15), (0, 13))
    data = explorer_data(ANALYSIS, ["input", "c1", "m", "u", "c2", "o"], 32, ("o", 0, 0))
    assert data["layers"][-1]["rf"] == [38, 34]
    # the head's one unit, seen from c1: c1's whole map and the padding around it
    head = next(layer for layer in data["layers"] if layer["name"] == "o")
    assert head["from"][1] is not None  # [d, [[j, lo, hi], ...]] per axis
    rows, cols = footprint_maps(ANALYSIS, ["c1", "o"])[("o", "c1")]
    assert (rows.cells(0, 16), cols.cells(0, 14)) == ((0, 15), (0, 13))  # all of c1's map
