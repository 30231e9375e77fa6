"""rf-stack: the units it highlights are the brute-force dependency sets, the dots drawn on the
input are those units, the bracket is the field every path gives, long sequences are windowed
and say so, other dimensions are refused, and the output is deterministic."""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.patches import PathPatch
from matplotlib.text import Text

from rfdocs.compute import Network, analyze, parse_spec
from rfdocs.compute.spec import network_from_data
from rfdocs.figures import DARK, LIGHT, get_kind
from rfdocs.figures.base import DimensionError
from rfdocs.figures.layout import text_overlaps, texts_outside
from rfdocs.figures.output import figure_bytes
from rfdocs.figures.stack import trace
from tests.bruteforce import dependencies_nd, every_path_nd, path_field
from tests.strategies import network_specs_nd

EXAMPLES = int(os.environ.get("RFDOCS_HYPOTHESIS_EXAMPLES", "60"))
KIND = get_kind("stack")


def wavenet(stacks: int = 3, length: int = 16000) -> str:
    lines = [f"input {length}x1", "causal: conv 2 x32 causal"]
    for s in range(stacks):
        lines += [f"s{s}d{2 ** i}: conv 2 x32 dil {2 ** i} causal" for i in range(10)]
    return "\n".join(lines) + "\n"


TCN = """input 20x1
c1: conv 3 x8 dil 1 causal
r1: relu
c2: conv 3 x1 dil 1 causal
a1: add input c2
c3: conv 3 x8 dil 2 causal
c4: conv 3 x1 dil 2 causal
a2: add a1 c4
"""


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs_nd(1), st.data())
def test_traced_input_units_are_the_brute_force_dependencies(spec: dict, data: st.DataObject) -> None:
    net = network_from_data(spec)
    analysis = analyze(net)
    deps = dependencies_nd(net)
    target = data.draw(st.sampled_from([n for n in analysis.layers]))
    unit = data.draw(st.integers(0, target.shape[0] - 1))
    found = trace(analysis, target.name, unit)
    want = np.flatnonzero(deps[target.name][unit])
    got = found.units.get("input", np.zeros(0, np.int64))
    assert got.tolist() == want.tolist()


def _cut(net_text: str, name: str) -> Network:
    """The chain after layer ``name``, with that layer's output as its input."""
    net = parse_spec(net_text)
    analysis = analyze(net)
    names = [layer.name for layer in net.layers]
    rest = net.layers[names.index(name) + 1:]
    first = rest[0]
    from dataclasses import replace

    layers = [replace(first, inputs=("input",)), *rest[1:]]
    return network_from_data({"input": list(analysis[name].shape),
                              "layers": [layer.to_dict() for layer in layers]})


@pytest.mark.parametrize("unit", [0, 5, 39])
def test_every_row_of_a_chain_is_its_brute_force_set(unit: int) -> None:
    text = """input 40x1
a: conv 3 x4 dil 1 causal
b: conv 2 x4 dil 2 pad 1,1
c: maxpool 2 /2
d: conv 3 x4 dil 3 pad same
e: upsample 2 mode linear
f: conv 2 x4 /1 dil 4 causal
"""
    net = parse_spec(text)
    analysis = analyze(net)
    found = trace(analysis, "f", unit)
    for name in ("a", "b", "c", "d", "e"):
        cut = _cut(text, name)
        deps = dependencies_nd(cut)
        want = np.flatnonzero(deps["f"][unit])
        assert found.units.get(name, np.zeros(0)).tolist() == want.tolist(), name


def _dots(fig, gid: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Centres (x, y) in inches of the units a dot path draws."""
    for patch in fig.findobj(PathPatch):
        if patch.get_gid() == gid:
            verts = patch.get_path().vertices
            if gid == "padding":  # hollow squares: five corners each
                return verts.reshape(-1, 5, 2)[:, :4].mean(axis=1)
            return verts[0::2]  # a zero-length stroke each
    return np.zeros((0, 2))


def _left(fig) -> float:  # type: ignore[no-untyped-def]
    """The figure's left edge in the sheet's inches (where its texts are placed)."""
    text = next(t for t in fig.findobj(Text) if t.get_text())
    return float(text.get_transform().inverted().transform((0.0, 0.0))[0])


def _input_steps(rendered) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    """Which input steps are drawn in each look, read back from the dots' positions (and the
    figure's scale: inches of step 0 from the left edge, inches a step)."""
    fig = rendered.figure
    origin, step = rendered.numbers["axis"]
    left = _left(fig)
    out = {}
    for gid in ("units-input", "field", "padding", "padding-read"):
        dots = _dots(fig, gid)
        xs = dots[np.isclose(dots[:, 1], 0.0)][:, 0] if len(dots) else np.zeros(0)
        steps = (xs - left - origin) / step
        assert np.allclose(steps, np.round(steps))
        out[gid] = sorted(int(v) for v in np.round(steps))
    return out


@pytest.mark.parametrize("text,unit", [(TCN, 3), (TCN, 19), (wavenet(1, 40), 39),
                                       ("input 30x1\na: conv 4 /2 x2 pad 1\nb: deconv 4 /2 x2 pad 1\n", 13)])
def test_drawn_input_units_and_bracket(text: str, unit: int) -> None:
    net = parse_spec(text)
    rendered = KIND.render(net, {"unit": unit}, LIGHT)
    fig, numbers = rendered.figure, rendered.numbers
    target = numbers["layer"]
    # the highlighted dots of the input row are exactly the brute-force dependencies
    steps = _input_steps(rendered)
    want = np.flatnonzero(dependencies_nd(net)[target][unit]).tolist()
    assert steps["field"] == want
    assert not set(steps["units-input"]) & set(want)
    # the bracket spans the field every path gives (padding included)
    paths = every_path_nd(net)[target][0]
    lo, hi = path_field(paths, unit)
    assert numbers["field"] == (lo, hi)
    bracket = [p for p in fig.findobj() if getattr(p, "get_gid", lambda: None)() == "field-bracket"]
    assert len(bracket) == 1
    origin, step = numbers["axis"]
    xs = (np.asarray(bracket[0].get_xdata()) - _left(fig) - origin) / step
    first, last = numbers["window"]  # a bracket running out of the window stops at its edge
    assert xs[0] == pytest.approx(max(float(lo) - 0.45, first - 0.5))
    assert xs[1] == pytest.approx(min(float(hi) + 0.45, last + 0.5))


def test_wavenet_window_is_said_and_marked() -> None:
    net = parse_spec(wavenet())
    rendered = KIND.render(net, {}, LIGHT)
    numbers = rendered.numbers
    assert numbers["field"] == (Fraction(12929), Fraction(15999)) or numbers["field"] == (12929, 15999)
    assert numbers["field_size"] == 3071  # 1 + 3 stacks of 1 + 2 + ... + 512
    assert numbers["cut"] and numbers["window"] == (15936, 15999)
    assert "window" in rendered.alt and "15,936" in rendered.alt
    notes = " ".join(t.get_text() for t in rendered.figure.findobj(Text))
    assert "Only input steps 15,936–15,999 of 16,000 are drawn" in notes
    breaks = _dots(rendered.figure, "breaks")
    assert len(breaks) == 2 * 32  # two strokes on each of the 32 rows cut on the left
    for gid in ("units", "field"):
        per_row = np.unique(_dots(rendered.figure, gid)[:, 1], return_counts=True)[1]
        assert per_row.max() <= 64
    assert numbers["counts"]["s2d256"] == 2 and numbers["counts"]["causal"] == 3070


def test_causal_padding_is_drawn_before_the_sequence() -> None:
    rendered = KIND.render(None, {"unit": 0}, LIGHT)
    steps = _input_steps(rendered)
    # the field is [-15, 0]: one step of the sequence, 15 of padding, of which the first
    # layer reads one (the others are zeros padding later layers read)
    assert rendered.numbers["field"] == (-15, 0)
    assert steps["padding-read"] == [-1] and steps["padding"] == list(range(-15, -1))
    assert steps["field"] == [0]
    assert rendered.numbers["padding_read"] == {"input": 1, "hidden1": 1, "hidden2": 1, "hidden3": 1}
    # every padding square of the figure lies left of the sequence's first step
    origin, step = rendered.numbers["axis"]
    left = _left(rendered.figure)
    squares = np.concatenate([_dots(rendered.figure, g) for g in ("padding", "padding-read")])
    assert len(squares) and ((squares[:, 0] - left - origin) / step < 0).all()


def test_other_dimensions_are_refused() -> None:
    with pytest.raises(DimensionError, match=r"rf-stack draws 1-D networks .* this network is 2-D"):
        KIND.render(parse_spec("input 20x20x3\nconv 3x3 x4\n"), {}, LIGHT)
    with pytest.raises(DimensionError, match=r"3-D \(a volume\), input 4×8×8×1"):
        KIND.render(parse_spec("input 4x8x8x1\nconv 3 x4\n"), {}, LIGHT)


def test_unit_outside_the_layer() -> None:
    from rfdocs.figures import OptionError

    with pytest.raises(OptionError, match="outside output"):
        KIND.render(None, {"unit": 24}, LIGHT)


@pytest.mark.parametrize("theme", [LIGHT, DARK])
def test_texts_do_not_collide_and_output_is_deterministic(theme) -> None:  # type: ignore[no-untyped-def]
    for text in (None, TCN, wavenet()):
        net = None if text is None else parse_spec(text)
        one = KIND.render(net, {}, theme)
        assert text_overlaps(one.figure) == [] and texts_outside(one.figure) == []
        two = KIND.render(net, {}, theme)
        assert figure_bytes(one.figure, "svg") == figure_bytes(two.figure, "svg")


def test_budget_is_counted_before_drawing() -> None:
    from rfdocs.figures import OptionError

    cost = KIND.estimate(parse_spec(wavenet()), {})
    assert cost.work > 0
    with pytest.raises(OptionError, match="max_work"):
        KIND.render(parse_spec(wavenet()), {"max_work": 1000}, LIGHT)
