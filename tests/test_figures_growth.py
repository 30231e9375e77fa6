"""The growth figure: one neuron's footprint in every layer, drawn where it is computed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.text import Text

from rfdocs.compute import analyze, parse_spec, zoo_network
from rfdocs.figures import DARK, LIGHT, OptionError, get_kind
from rfdocs.figures.growth import DEFAULT_SPEC
from rfdocs.figures.layout import text_overlaps, texts_outside
from rfdocs.figures.output import FORMATS, figure_bytes
from tests.strategies import network_specs

KIND = get_kind("growth")
CHAIN = "input 32x32x3\nconv1: conv 3x3 x8\nconv2: conv 3x3 x8\nconv3: conv 3x3 x8"

AWKWARD = {
    "default": "",
    "chain": CHAIN,
    "one-by-one kernel": "input 28x28x3\nconv 1x1 x8",
    "1000-pixel input": "input 1000x1000x3\nconv 5x5 /1 x64\nconv 3x3 /2 x64",
    "stride above kernel": "input 20x20x1\nconv 2x2 /5 x4",
    "2048 channels": "input 7x7x2048\nconv 1x1 x512",
    "deconv": "input 8x8x3\nd: deconv 3x3 /2 x8 pad 1\nc: conv 3x3 x4",
    "vgg16": "zoo:vgg16",
    "resnet50": "zoo:resnet50",
}


def _net(spec: str) -> Any:
    if not spec:
        return None
    if spec.startswith("zoo:"):
        return zoo_network(spec[4:])
    return parse_spec(spec)


def _by_gid(fig: Figure, gid: str) -> list[Any]:
    return [a for a in fig.findobj(Artist) if a.get_gid() == gid]


def _units(fig: Figure, gid: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """((first row, last row), (first col, last col)) of a rectangle drawn in unit coordinates."""
    (rect,) = _by_gid(fig, gid)
    x, y, w, h = rect.get_x(), rect.get_y(), rect.get_width(), rect.get_height()
    return ((y, y + h - 1), (x, x + w - 1))


def test_alt_text_lists_the_growth() -> None:
    rendered = KIND.render(parse_spec(CHAIN), {"neuron": "3,3"}, LIGHT)
    assert rendered.alt == ("Receptive field of neuron (3, 3) of conv3: 3×3 in conv2, 5×5 in "
                            "conv1, 7×7 pixels in the 32×32 input.")
    default = KIND.render(None, {}, LIGHT)
    output = analyze(parse_spec(DEFAULT_SPEC)).output
    assert default.numbers["neuron"] == (output.shape[0] // 2, output.shape[1] // 2) == (4, 4)
    assert default.alt == ("Receptive field of neuron (4, 4) of conv3: 3×3 in conv2, 7×7 in "
                           "conv1, 9×9 pixels in the 32×32 input.")
    assert default.numbers["sizes"]["input"] == output.rf == (9, 9)


@pytest.mark.parametrize("neuron", [(4, 4), (0, 0), (7, 2)])
def test_drawn_footprints_are_the_computed_ones(neuron: tuple[int, int]) -> None:
    net = parse_spec(DEFAULT_SPEC)
    analysis = analyze(net)
    target = analysis["conv3"]
    rendered = KIND.render(net, {"neuron": f"{neuron[0]},{neuron[1]}"}, LIGHT)
    feet = rendered.numbers["footprints"]
    assert feet["input"] == target.box(*neuron)  # a chain: the input footprint is the field
    for name in ("input", "conv1", "conv2"):
        info = analysis[name]
        (r0, r1), (c0, c1) = feet[name]
        assert _units(rendered.figure, f"footprint-box-{name}") == ((r0, r1), (c0, c1))
        h, w = info.shape[:2]
        inside = ((max(r0, 0), min(r1, h - 1)), (max(c0, 0), min(c1, w - 1)))
        assert _units(rendered.figure, f"footprint-{name}") == inside
        # the fields of the footprint's units together make the neuron's field
        assert info.box(r0, c0)[0][0] == target.box(*neuron)[0][0]
        assert info.box(r1, c1)[1][1] == target.box(*neuron)[1][1]
        sized = rendered.numbers["sizes"][name]
        assert sized == (r1 - r0 + 1, c1 - c0 + 1)
    assert _units(rendered.figure, "neuron") == ((neuron[0],) * 2, (neuron[1],) * 2)


def test_padding_is_hatched_where_the_footprint_leaves_the_map() -> None:
    corner = KIND.render(None, {"neuron": "0,0"}, LIGHT)
    fig = corner.figure
    for name in ("input", "conv1", "conv2"):
        assert _by_gid(fig, f"padding-{name}"), name
        assert _by_gid(fig, f"footprint-padding-{name}")[0].get_hatch()
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert "5×5 inside the image" in texts and "4×4 inside the map" in texts
    centre = KIND.render(None, {}, LIGHT).figure
    assert not [a for a in centre.findobj(Artist) if str(a.get_gid()).startswith("padding-")]


def test_cap_keeps_input_and_neuron_and_counts_the_skipped() -> None:
    net = zoo_network("vgg16")
    rendered = KIND.render(net, {"max_layers": 4}, LIGHT)
    panels = rendered.numbers["panels"]
    assert len(panels) == 4 and panels[0] == "input" and panels[-1] == "pool5"
    skipped = sum(int(t.get_text()[1:]) for t in _by_gid(rendered.figure, "skipped"))
    assert skipped == 18 - 3  # 18 layers; 3 of them drawn
    notes = " ".join(t.get_text() for t in _by_gid(rendered.figure, "note"))
    assert "4 of 19 layers drawn" in notes
    assert "(15 layers between not listed)" in rendered.alt
    assert len(KIND.render(net, {}, LIGHT).numbers["panels"]) == 8


@pytest.mark.parametrize("options", [{}, {"max_layers": 6}, {"max_layers": 7}])
def test_no_arrow_dangles_where_the_panels_wrap(options: dict[str, Any]) -> None:
    rendered = KIND.render(zoo_network("vgg16"), options, LIGHT)  # two rows of panels
    fig = rendered.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    maps = [a.get_window_extent(renderer) for a in fig.findobj(Artist)
            if str(a.get_gid()).startswith("map-")]
    arrows, hooks = _by_gid(fig, "arrow"), _by_gid(fig, "arrow-wrap")
    assert len(hooks) == 1 and len(arrows) + 1 == len(rendered.numbers["panels"]) - 1
    for arrow in arrows + hooks:  # every arrow ends just left of a map, level with its middle
        end = arrow.get_window_extent(renderer)
        assert any(0 < m.x0 - end.x1 < 0.2 * fig.dpi and m.y0 < end.y0 < m.y1 for m in maps)
    (hook,) = [h.get_window_extent(renderer) for h in hooks]
    assert hook.x1 <= min(m.x0 for m in maps)  # in the gutter left of the second row
    skipped = sum(int(t.get_text()[1:]) for t in _by_gid(fig, "skipped"))
    assert skipped == 18 - (len(rendered.numbers["panels"]) - 1)


def test_one_row_has_no_hook() -> None:
    fig = KIND.render(None, {}, LIGHT).figure
    assert len(_by_gid(fig, "arrow")) == 3 and not _by_gid(fig, "arrow-wrap")


def test_relu_layers_are_not_drawn() -> None:
    net = parse_spec("input 16x16x3\nconv1: conv 3x3 x8\nr1: relu\nconv2: conv 3x3 x8")
    assert KIND.render(net, {}, LIGHT).numbers["panels"] == ("input", "conv1", "conv2")


@pytest.mark.parametrize("name", list(AWKWARD))
@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
def test_labels_do_not_overlap_or_leave_the_canvas(name: str, theme: Any) -> None:
    fig = KIND.render(_net(AWKWARD[name]), {}, theme).figure
    assert text_overlaps(fig) == []
    assert texts_outside(fig) == []
    for text in fig.findobj(Text):
        if text.get_text().strip():
            assert float(text.get_fontsize()) >= 8, text.get_text()
    assert 1.5 < fig.get_size_inches()[0] < 9.0


def test_tiny_footprints_are_ringed() -> None:
    fig = KIND.render(_net(AWKWARD["1000-pixel input"]), {}, LIGHT).figure
    assert _by_gid(fig, "marker-input")
    assert not _by_gid(KIND.render(None, {}, LIGHT).figure, "marker-input")


@pytest.mark.parametrize("fmt", FORMATS)
def test_deterministic_bytes(fmt: str) -> None:
    first = figure_bytes(KIND.render(None, {"neuron": "0,0"}, DARK).figure, fmt)
    second = figure_bytes(KIND.render(None, {"neuron": "0,0"}, DARK).figure, fmt)
    assert first == second


@pytest.mark.parametrize(("options", "option", "words"), [
    ({"layer": "conv9"}, "layer", "no layer called 'conv9'"),
    ({"neuron": "8,0"}, "neuron", "row must be 0 to 7"),
    ({"max_layers": 1}, "max_layers", "from 2 to 16"),
    ({"max_layers": "many"}, "max_layers", "from 2 to 16"),
])
def test_bad_options_name_the_option(options: dict[str, Any], option: str, words: str) -> None:
    with pytest.raises(OptionError) as err:
        KIND.render(None, options, LIGHT)
    assert err.value.option == option
    assert words in str(err.value)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs(), st.integers(0, 10**6), st.integers(0, 10**6))
def test_random_networks_render_legibly(spec: dict[str, Any], a: int, b: int) -> None:
    """Multi-path graphs, transposed convolutions, any neuron: drawn, labelled, no overlaps."""
    from rfdocs.compute.spec import network_from_data

    net = network_from_data(spec)
    analysis = analyze(net)
    out = analysis.output
    neuron = (a % out.shape[0], b % out.shape[1])
    rendered = KIND.render(net, {"neuron": f"{neuron[0]},{neuron[1]}"}, LIGHT)
    assert rendered.numbers["neuron"] == neuron
    assert f"neuron ({neuron[0]}, {neuron[1]})" in rendered.alt
    assert text_overlaps(rendered.figure) == []
    assert texts_outside(rendered.figure) == []


# --------------------------------------------------------------------------- sequences and volumes

SEQUENCE = """input 40x1
c1: conv 3 x8 causal
r: relu
c2: conv 3 x8 dil 2 causal
c3: conv 3 x8 dil 4 pad 4
"""
VOLUME = """input 16x16x16x3
conv1: conv 3x3x3 pad 1 x8
pool1: maxpool 1x2x2 /1x2x2
conv2: conv 3x3x3 /2 pad 1 x16
conv3: conv 3x3x3 x16
"""


def _strip_units(fig: Figure, name: str) -> list[int]:
    """The units drawn filled in ``name``'s strip, read back from the drawing: the map's
    rectangle gives where unit 0 starts and how wide a unit is."""
    (bar,) = _by_gid(fig, f"map-{name}")
    rects = _by_gid(fig, f"footprint-{name}") or _by_gid(fig, "neuron")
    length = analyze_cache[name]
    unit_w = bar.get_width() / length
    out: list[int] = []
    for rect in rects:
        first = round((rect.get_x() - bar.get_x()) / unit_w)
        count = round(rect.get_width() / unit_w)
        out += range(first, first + count)
    return sorted(out)


analyze_cache: dict[str, int] = {}


def _cut(net: Any, name: str) -> Any:
    """The layers after ``name`` with its output as their input (a chain)."""
    from dataclasses import replace

    from rfdocs.compute.spec import network_from_data

    analysis = analyze(net)
    names = [layer.name for layer in net.layers]
    rest = net.layers[names.index(name) + 1:]
    layers = [replace(rest[0], inputs=("input",)), *rest[1:]]
    return network_from_data({"input": list(analysis[name].shape),
                              "layers": [layer.to_dict() for layer in layers]})


@pytest.mark.parametrize("unit", [0, 7, 20, 39])
def test_sequence_strips_fill_exactly_the_brute_force_dependencies(unit: int) -> None:
    from tests.bruteforce import dependencies_nd

    net = parse_spec(SEQUENCE)
    rendered = KIND.render(net, {"neuron": str(unit)}, LIGHT)
    analysis = analyze(net)
    analyze_cache.clear()
    analyze_cache.update({n.name: n.shape[0] for n in analysis})
    assert rendered.numbers["panels"] == ("input", "c1", "c2", "c3")
    for name in ("input", "c1", "c2"):
        cut = net if name == "input" else _cut(net, name)
        want = np.flatnonzero(dependencies_nd(cut)["c3"][unit]).tolist()
        assert _strip_units(rendered.figure, name) == want, name
        box = rendered.numbers["footprints"][name]
        (lo, hi), = box
        n = analysis[name].shape[0]  # the span's ends are units it reads, or padding
        assert lo <= want[0] and want[-1] <= hi
        assert (lo < 0 or lo == want[0]) and (hi >= n or hi == want[-1])
    # the field on the input is the analysis' box
    assert rendered.numbers["footprints"]["input"] == tuple(
        (int(a), int(b)) for a, b in analysis["c3"].box(unit))


def test_sequence_alt_text_and_labels_from_the_numbers() -> None:
    rendered = KIND.render(parse_spec(SEQUENCE), {"neuron": "20"}, LIGHT)
    assert rendered.alt == ("Unit 20 of c3 (a receptive field of 15 input steps) depends on "
                            "3 units of c2 (spanning 9), 7 units of c1 (spanning 13) and 15 of "
                            "the 40 input steps.")
    texts = {t.get_text() for t in rendered.figure.findobj(Text)}
    assert {"unit 20", "sees 15 input steps", "3 units", "spanning 9", "each sees 7 steps",
            "15 input steps"} <= texts
    edge = KIND.render(parse_spec(SEQUENCE), {"neuron": "0"}, DARK)
    assert "padding included" in edge.alt and _by_gid(edge.figure, "footprint-padding-input")
    assert text_overlaps(edge.figure) == [] and texts_outside(edge.figure) == []


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_sequences_fill_the_brute_force_input_units(data: st.DataObject) -> None:
    from rfdocs.compute.spec import network_from_data
    from tests.bruteforce import dependencies_nd
    from tests.strategies import network_specs_nd

    net = network_from_data(data.draw(network_specs_nd(1)))
    analysis = analyze(net)
    out = analysis.output
    unit = data.draw(st.integers(0, out.shape[0] - 1))
    rendered = KIND.render(net, {"neuron": str(unit)}, LIGHT)
    analyze_cache.clear()
    analyze_cache.update({n.name: n.shape[0] for n in analysis})
    want = np.flatnonzero(dependencies_nd(net)[out.name][unit]).tolist()
    got = _strip_units(rendered.figure, "input") if want else []
    assert got == want
    assert text_overlaps(rendered.figure) == []


def _volume_of(fig: Figure, name: str) -> Any:
    """The Volume a layer was drawn as, rebuilt from its drawn faces (front and top)."""
    from rfdocs.figures.geometry import Volume

    (faces,) = _by_gid(fig, f"volume-{name}")
    front, top, _ = (np.asarray(p.vertices[:4]) for p in faces.get_paths())
    x0, y_top = front[0]
    fw, fh = front[1][0] - front[0][0], front[0][1] - front[2][1]
    dx, dy = top[3] - top[0]
    return x0, y_top - fh, fw, fh, dx, dy, Volume


def test_volume_boxes_sit_where_the_brute_force_puts_them() -> None:
    from tests.bruteforce import dependencies_nd, dependency_box_nd

    net = parse_spec(VOLUME)
    analysis = analyze(net)
    unit = (1, 1, 0)
    rendered = KIND.render(net, {"neuron": "1,1,0"}, LIGHT)
    want = dependency_box_nd(dependencies_nd(net)["conv3"], unit, analysis.input.spatial)
    assert want is not None
    from rfdocs.figures.geometry import clip_box

    assert clip_box(rendered.numbers["footprints"]["input"], analysis.input.spatial) == want
    x0, y0, fw, fh, dx, dy, volume = _volume_of(rendered.figure, "input")
    vol = volume.at(analysis.input.spatial, x0, y0, fw, fh, 1.0)
    vol = volume(vol.sizes, x0, y0, fw, fh, dx, dy)
    (box,) = _by_gid(rendered.figure, "footprint-input")
    drawn = [np.asarray(p.vertices[:4]) for p in box.get_paths()]
    for got, expected in zip(drawn, vol.faces(want), strict=True):
        assert np.allclose(got, np.asarray(expected), atol=1e-6)
    assert rendered.alt.startswith("Receptive field of neuron (1, 1, 0) of conv3: 3×3×3 in conv2")
    texts = {t.get_text() for t in rendered.figure.findobj(Text)}
    rf = "×".join(str(v) for v in analysis["conv3"].rf)
    assert f"sees {rf} voxels" in texts and "neuron (1, 1, 0)" in texts
    assert text_overlaps(rendered.figure) == [] and texts_outside(rendered.figure) == []


@pytest.mark.parametrize("spec", [SEQUENCE, VOLUME])
def test_sequences_and_volumes_draw_the_same_bytes_twice(spec: str) -> None:
    net = parse_spec(spec)
    first = figure_bytes(KIND.render(net, {}, DARK).figure, "svg")
    assert first == figure_bytes(KIND.render(net, {}, DARK).figure, "svg")


@pytest.mark.parametrize(("spec", "neuron", "words"), [
    (SEQUENCE, "40", "t 0 to 39"),
    (SEQUENCE, "1,2", "give 1 index"),
    (VOLUME, "0,5,0", "row 0 to 1"),
    (VOLUME, "0,0", "give 3 indices"),
])
def test_neurons_outside_a_sequence_or_volume_are_refused(spec: str, neuron: str, words: str
                                                          ) -> None:
    with pytest.raises(OptionError) as err:
        KIND.render(parse_spec(spec), {"neuron": neuron}, LIGHT)
    assert err.value.option == "neuron" and words in str(err.value)
