"""The block figure: field and neuron drawn where the analysis puts them, legible labels,
computed alt text, option errors and deterministic output."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.artist import Artist
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.text import Text

from rfdocs.compute import analyze, clipped_box, parse_spec, zoo_network
from rfdocs.figures import DARK, LIGHT, OptionError, get_kind
from rfdocs.figures.block import DEFAULT_SPEC, DEPTH_MAX, FOOTPRINT_DEPTH, drawn_length
from rfdocs.figures.geometry import footprints
from rfdocs.figures.layout import text_overlaps, texts_outside
from rfdocs.figures.output import FORMATS, figure_bytes
from tests.strategies import network_specs

KIND = get_kind("block")

AWKWARD = {
    "default": "",
    "one-by-one kernel": "input 28x28x3\nconv 1x1 x8",
    "1000-pixel input": "input 1000x1000x3\nconv 5x5 /1 x64",
    "stride above kernel": "input 20x20x1\nconv 2x2 /5 x4",
    "2048 channels": "input 7x7x2048\nconv 1x1 x512",
    "224 next to 3": "input 224x224x3\nconv 3x3 x3",
    "padding": "input 32x32x3\nconv1: conv 7x7 /2 pad 3 x64",
    "chain": "input 32x32x3\nconv1: conv 3x3 /1 pad 1 x16\nconv2: conv 3x3 /2 pad 1 x32\n"
             "conv3: conv 3x3 /2 pad 1 x64",
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


def _one(fig: Figure, gid: str) -> Any:
    found = _by_gid(fig, gid)
    assert len(found) == 1, f"{len(found)} artists with gid {gid!r}"
    return found[0]


def _rect(artist: Any) -> tuple[float, float, float, float]:
    return (artist.get_x(), artist.get_y(), artist.get_width(), artist.get_height())


def _display_bounds(artist: Any) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of a patch in display coordinates."""
    path = artist.get_path().transformed(artist.get_transform())
    xs, ys = path.vertices[:, 0], path.vertices[:, 1]
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def test_default_numbers_and_alt_text() -> None:
    rendered = KIND.render(None, {}, LIGHT)
    node = analyze(parse_spec(DEFAULT_SPEC)).output
    assert node.shape == (46, 46, 100)
    numbers = rendered.numbers
    assert numbers["input_shape"] == (50, 50, 3)
    assert numbers["output_shape"] == (46, 46, 100)
    assert numbers["neuron"] == (46 // 4, 2 * 46 // 3) == (11, 30)
    assert numbers["field"] == (5, 5, 3)
    assert numbers["field_box"] == node.box(11, 30) == ((11, 15), (30, 34))
    assert rendered.alt == ("A 5×5×3 receptive field in a 50×50×3 input feeds neuron (11, 30) "
                            "of a 46×46×100 block of feature maps.")


def test_field_rectangle_is_the_computed_box() -> None:
    for neuron in ((12, 30), (0, 0), (45, 45), (20, 3)):
        rendered = KIND.render(None, {"neuron": f"{neuron[0]},{neuron[1]}"}, LIGHT)
        (r0, r1), (c0, c1) = analyze(parse_spec(DEFAULT_SPEC)).output.box(*neuron)
        assert _rect(_one(rendered.figure, "field")) == (c0, r0, c1 - c0 + 1, r1 - r0 + 1)
        assert _rect(_one(rendered.figure, "neuron")) == (neuron[1], neuron[0], 1, 1)


def test_field_sits_at_its_true_place_on_the_front_face() -> None:
    """In display space, the field's offset inside the input face is its pixel offset."""
    net = parse_spec("input 40x60x3\nconv 5x3 /2 x8")  # not square: rows and cols differ
    rendered = KIND.render(net, {"neuron": "3,20"}, LIGHT)
    fig = rendered.figure
    fig.canvas.draw()
    fx0, fy0, fx1, fy1 = _display_bounds(_one(fig, "block-input"))
    x0, y0, x1, y1 = _display_bounds(_one(fig, "field"))
    (r0, r1), (c0, c1) = rendered.numbers["field_box"]
    assert ((r0, r1), (c0, c1)) == ((6, 10), (40, 42))
    width, height = fx1 - fx0, fy1 - fy0
    assert (x0 - fx0) / width == pytest.approx(c0 / 60, abs=1e-6)
    assert (x1 - fx0) / width == pytest.approx((c1 + 1) / 60, abs=1e-6)
    assert (fy1 - y1) / height == pytest.approx(r0 / 40, abs=1e-6)  # rows grow downwards
    assert (fy1 - y0) / height == pytest.approx((r1 + 1) / 40, abs=1e-6)
    ox0, oy0, ox1, oy1 = _display_bounds(_one(fig, "block-conv1"))
    nx0, _, _, ny1 = _display_bounds(_one(fig, "neuron"))
    assert rendered.numbers["output_shape"] == (18, 29, 8)
    assert (nx0 - ox0) / (ox1 - ox0) == pytest.approx(20 / 29, abs=1e-6)
    assert (oy1 - ny1) / (oy1 - oy0) == pytest.approx(3 / 18, abs=1e-6)


def test_field_in_padding_is_clipped_and_the_rest_hatched() -> None:
    net = _net(AWKWARD["padding"])
    rendered = KIND.render(net, {"neuron": "0,1"}, LIGHT)
    node = analyze(net).output
    (r0, r1), (c0, c1) = node.box(0, 1)
    assert (r0, c0) == (-3, -1)
    (a, b), (c, d) = clipped_box(node, 0, 1, (32, 32))  # type: ignore[misc]
    fig = rendered.figure
    assert _rect(_one(fig, "field")) == (c, a, d - c + 1, b - a + 1)
    assert _rect(_one(fig, "field-box")) == (c0, r0, c1 - c0 + 1, r1 - r0 + 1)
    assert _by_gid(fig, "field-padding") and _by_gid(fig, "padding")
    assert "(4×6 of it inside the input, the rest padding)" in rendered.alt
    notes = " ".join(t.get_text() for t in _by_gid(fig, "note"))
    assert "padding" in notes
    # no padding drawn where the field stays inside
    inside = KIND.render(net, {"neuron": "8,8"}, LIGHT).figure
    assert not _by_gid(inside, "padding") and not _by_gid(inside, "field-padding")


def test_layers_between_show_the_traced_footprint() -> None:
    net = _net(AWKWARD["chain"])
    analysis = analyze(net)
    rendered = KIND.render(net, {"neuron": "2,5"}, LIGHT)
    target = analysis["conv3"]
    feet = rendered.numbers["footprints"]
    assert rendered.numbers["blocks"] == ("input", "conv1", "conv2", "conv3")
    for name in ("conv1", "conv2"):
        info = analysis[name]
        (r0, r1), (c0, c1) = feet[name]
        # the units' fields together are exactly the neuron's field (a conv/pool chain)
        (t0, t1), (u0, u1) = target.box(2, 5)
        assert info.box(r0, c0)[0][0] == t0 and info.box(r1, c1)[0][1] == t1
        assert info.box(r0, c0)[1][0] == u0 and info.box(r1, c1)[1][1] == u1
        shown = _by_gid(rendered.figure, "field")
        assert any(_rect(a) == (max(c0, 0), max(r0, 0), min(c1, info.shape[1] - 1)
                                - max(c0, 0) + 1, min(r1, info.shape[0] - 1) - max(r0, 0) + 1)
                   for a in shown)
    assert feet["input"] == target.box(2, 5)
    assert rendered.alt == (
        "A 9×9×3 receptive field in a 32×32×3 input feeds neuron (2, 5) of a 8×8×64 block of "
        "feature maps (conv3), through 7×7×16 units of conv1, 3×3×32 units of conv2.")


def test_footprints_match_brute_force_on_the_layers_between() -> None:
    """Units of an earlier layer the neuron depends on, by impulse response of a sub-network."""
    from rfdocs.compute.spec import network_from_data
    from tests.bruteforce import dependencies, dependency_box

    net = parse_spec("input 24x24x1\nc1: conv 3x3 x1\np1: maxpool 2 /2\nc2: conv 3x3 /1 dil 2 x1\n"
                     "c3: conv 2x2 /2 x1")
    analysis = analyze(net)
    for neuron in ((0, 0), (1, 2), (2, 2)):
        feet = footprints(analysis, "c3", neuron)
        for k, earlier in enumerate(net.layers[:-1]):
            rest = [layer.to_dict() for layer in net.layers[k + 1:]]
            rest[0]["inputs"] = ["input"]
            shape = analysis[earlier.name].shape
            sub = network_from_data({"input": list(shape), "layers": rest})
            dep = dependencies(sub)["c3"]
            assert dependency_box(dep, *neuron, shape[1]) == feet[earlier.name]


def test_cap_on_blocks_and_the_note() -> None:
    rendered = KIND.render(zoo_network("vgg16"), {}, LIGHT)
    blocks = rendered.numbers["blocks"]
    assert len(blocks) == 6 and blocks[0] == "input" and blocks[-1] == "pool5"
    notes = " ".join(t.get_text() for t in _by_gid(rendered.figure, "note"))
    assert "6 of 19 layers drawn" in notes
    chosen = KIND.render(zoo_network("vgg16"), {"layers": "conv3_3, pool4", "layer": "conv5_1"},
                         LIGHT)
    assert chosen.numbers["blocks"] == ("input", "conv3_3", "pool4", "conv5_1")


def test_relu_layers_are_skipped_unless_asked_for() -> None:
    net = parse_spec("input 16x16x3\nconv1: conv 3x3 x8\nr1: relu\nconv2: conv 3x3 x8")
    assert KIND.render(net, {}, LIGHT).numbers["blocks"] == ("input", "conv1", "conv2")
    assert KIND.render(net, {"layers": "r1"}, LIGHT).numbers["blocks"] == ("input", "r1", "conv2")


@pytest.mark.parametrize("name", list(AWKWARD))
@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
def test_labels_do_not_overlap_or_leave_the_canvas(name: str, theme: Any) -> None:
    fig = KIND.render(_net(AWKWARD[name]), {}, theme).figure
    assert text_overlaps(fig) == []
    assert texts_outside(fig) == []
    for text in fig.findobj(Text):
        if text.get_text().strip():
            assert float(text.get_fontsize()) >= 8, text.get_text()
    for needed in ("dim-height", "dim-width", "dim-depth", "title", "caption"):
        assert _by_gid(fig, needed), needed
    assert 2.0 < fig.get_size_inches()[0] < 10.0


def test_log_scale_only_where_it_applies_and_said_so() -> None:
    small = parse_spec("input 16x16x1\nconv 3x3 x4")
    rendered = KIND.render(small, {}, LIGHT)
    assert not _by_gid(rendered.figure, "note")
    fig = rendered.figure
    fig.canvas.draw()
    a = _display_bounds(_one(fig, "block-input"))
    b = _display_bounds(_one(fig, "block-conv1"))
    assert (a[2] - a[0]) / (b[2] - b[0]) == pytest.approx(16 / 14)  # linear: honest ratio
    big = KIND.render(_net(AWKWARD["224 next to 3"]), {}, LIGHT)
    notes = " ".join(t.get_text() for t in _by_gid(big.figure, "note"))
    assert "log scale" in notes and big.numbers["log_scale"]
    assert drawn_length(16) == 16 and drawn_length(224) < 224
    assert drawn_length(2048) > drawn_length(1000) > drawn_length(224)


def test_many_channels_drawn_as_a_few_sheets() -> None:
    fig = KIND.render(_net(AWKWARD["2048 channels"]), {}, LIGHT).figure
    labels = [t.get_text() for t in _by_gid(fig, "dim-depth")]
    assert labels == ["2,048", "512"]
    faces = sum(len(c.get_paths()) + 1 for c in fig.findobj(PolyCollection))
    assert 3 * 2 * 3 <= faces <= 3 * 2 * 8  # 3 to 8 sheets of three faces each, not 2,048


def _notes(fig: Figure) -> str:
    return " ".join(t.get_text() for t in _by_gid(fig, "note"))


def test_tiny_features_are_ringed() -> None:
    fig = KIND.render(_net(AWKWARD["1000-pixel input"]), {}, LIGHT).figure
    assert _by_gid(fig, "field-marker") and _by_gid(fig, "neuron-marker")
    assert "Rings mark features too small to see." in _notes(fig)
    assert not _by_gid(KIND.render(parse_spec("input 16x16x1\nconv 5x5 x4"), {}, LIGHT).figure,
                       "field-marker")


def test_a_ring_on_the_neuron_alone_needs_no_note() -> None:
    fig = KIND.render(None, {}, LIGHT).figure  # the 1-unit neuron in a 46×46 map is ringed
    assert _by_gid(fig, "neuron-marker") and not _by_gid(fig, "field-marker")
    assert "Ring" not in _notes(fig)


def test_default_note_is_one_short_line_and_the_field_is_visible() -> None:
    fig = KIND.render(None, {}, LIGHT).figure
    assert _notes(fig) == "Edges longer than 16 are drawn on a log scale."
    fig.canvas.draw()
    x0, y0, x1, y1 = _display_bounds(_one(fig, "field"))
    assert min(x1 - x0, y1 - y0) / fig.dpi > 0.15  # inches: the 5×5×3 prism is plain to see
    assert not _by_gid(fig, "field-marker") and _by_gid(fig, "field-top")
    assert "5×5×3 field" in [t.get_text() for t in _by_gid(fig, "caption")]


def _faces(fig: Figure, name: str) -> tuple[float, float, float]:
    """(front width, front height, drawn depth) of a block, in inches."""
    front = np.asarray(_one(fig, f"block-{name}").get_xy())
    rest = np.vstack([p.vertices for p in _one(fig, f"faces-{name}").get_paths()])
    x0, y0 = front.min(axis=0)
    x1, y1 = front.max(axis=0)
    dx, dy = rest[:, 0].max() - x1, rest[:, 1].max() - y1
    return float(x1 - x0), float(y1 - y0), float(np.hypot(dx, dy))


@pytest.mark.parametrize("name", ["100 channels on 16x16", "chain", "vgg16", "2048 channels",
                                  "default"])
def test_depth_never_dominates_the_face(name: str) -> None:
    spec = {"100 channels on 16x16": "input 16x16x3\nconv 3x3 x100"}.get(name) or AWKWARD[name]
    rendered = KIND.render(_net(spec), {}, LIGHT)
    for block in rendered.numbers["blocks"]:
        fw, fh, depth = _faces(rendered.figure, block)
        assert depth <= DEPTH_MAX * max(fw, fh) + 1e-9, block


def test_shortened_depth_is_said_and_not_called_a_log_scale() -> None:
    rendered = KIND.render(parse_spec("input 16x16x3\nconv 3x3 x100"), {}, LIGHT)
    assert rendered.numbers["depth_shortened"] == ("conv1",)
    assert not rendered.numbers["log_scale"]  # 16×16 faces; the 100 is shortened, not logged
    assert _notes(rendered.figure) == "Deep blocks are drawn shortened."
    fw, fh, depth = _faces(rendered.figure, "conv1")
    assert depth == pytest.approx(DEPTH_MAX * max(fw, fh))
    assert _faces(rendered.figure, "input")[2] == pytest.approx(fw / 14 * 3 / 2)  # 3 to scale
    assert KIND.render(None, {}, LIGHT).numbers["depth_shortened"] == ()


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
def test_footprints_between_read_as_boxes_not_rods(theme: Any) -> None:
    rendered = KIND.render(_net(AWKWARD["chain"]), {"neuron": "2,5"}, theme)
    fig = rendered.figure
    tops, sides = _by_gid(fig, "field-top"), _by_gid(fig, "field-side")
    assert len(tops) == len(sides) == 3  # input, conv1, conv2; the neuron is flat
    for top, side in zip(tops, sides, strict=True):
        t, s = np.asarray(top.get_xy()), np.asarray(side.get_xy())
        width, height = t[1, 0] - t[0, 0], s[3, 1] - s[0, 1]
        depth = float(np.hypot(*(t[2] - t[1])))
        assert 0 < depth <= FOOTPRINT_DEPTH * max(width, height) + 1e-9
    # conv2's 3×3 footprint in a 16×16×32 block: capped well short of the block's depth
    t = np.asarray(tops[2].get_xy())
    assert float(np.hypot(*(t[2] - t[1]))) < 0.5 * _faces(fig, "conv2")[2]


@pytest.mark.parametrize("fmt", FORMATS)
def test_deterministic_bytes(fmt: str) -> None:
    net = _net(AWKWARD["padding"])
    first = figure_bytes(KIND.render(net, {"neuron": "0,1"}, LIGHT).figure, fmt)
    second = figure_bytes(KIND.render(net, {"neuron": "0,1"}, LIGHT).figure, fmt)
    assert first == second


@pytest.mark.parametrize(("options", "option", "words"), [
    ({"layer": "conv9"}, "layer", "no layer called 'conv9'"),
    ({"layer": "input"}, "layer", "not the input"),
    ({"neuron": "46,0"}, "neuron", "row must be 0 to 45"),
    ({"neuron": "0,99"}, "neuron", "column 0 to 45"),
    ({"neuron": "a,b"}, "neuron", "row,col"),
    ({"layers": "nope"}, "layers", "no layer called 'nope'"),
    ({"colour": "red"}, "colour", "unknown option"),
])
def test_bad_options_name_the_option(options: dict[str, str], option: str, words: str) -> None:
    with pytest.raises(OptionError) as err:
        KIND.render(None, options, LIGHT)
    assert err.value.option == option
    assert words in str(err.value)


def test_transposed_convolution_gaps_do_not_break_the_figure() -> None:
    net = parse_spec("input 8x8x1\nd: deconv 1x1 /2 x1\ne: conv 1x1 x2\nc: conv 1x1 x1")
    rendered = KIND.render(net, {"neuron": "1,1"}, LIGHT)  # odd units of d see no input pixel
    assert "none of it on an input pixel" in rendered.alt
    assert len(_by_gid(rendered.figure, "field")) == 2  # in d and e, none in the input
    assert text_overlaps(rendered.figure) == []


def test_layers_must_feed_the_neuron() -> None:
    net = parse_spec("input 16x16x3\nconv1: conv 3x3 x8\nconv2: conv 3x3 x8")
    with pytest.raises(OptionError, match="does not feed 'conv1'"):
        KIND.render(net, {"layer": "conv1", "layers": "conv2"}, LIGHT)


def test_pixels_are_transparent_outside_the_drawing() -> None:
    import io

    from PIL import Image

    png = figure_bytes(KIND.render(None, {}, DARK).figure, "png")
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
    assert pixels[0, 0, 3] == 0 and pixels[-1, -1, 3] == 0


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


# --------------------------------------------------------------------------- volumes

C3D_LIKE = """input 16x112x112x3
conv1: conv 3x3x3 pad 1 x64
pool1: maxpool 1x2x2 /1x2x2
conv2: conv 3x3x3 pad 1 x128
pool2: maxpool 2x2x2 /2
conv3: conv 3x3x3 pad 1 x256
"""
SMALL_VOLUME = "input 6x8x8x2\nc1: conv 3x3x3 pad 1 x4\nc2: conv 3x3x3 /2 x4\n"


def _drawn_volume(fig: Figure, name: str) -> Any:
    from rfdocs.figures.geometry import Volume

    (faces,) = _by_gid(fig, f"volume-{name}")
    front, top, _ = (np.asarray(p.vertices[:4]) for p in faces.get_paths())
    fw, fh = front[1][0] - front[0][0], front[0][1] - front[2][1]
    dx, dy = top[3] - top[0]
    return front[0][0], front[0][1] - fh, fw, fh, dx, dy, Volume


@pytest.mark.parametrize(("spec", "neuron"), [(SMALL_VOLUME, "0,0,0"), (SMALL_VOLUME, "1,2,1"),
                                              (C3D_LIKE, "4,7,18")])
def test_volume_field_box_is_the_brute_force_set_at_its_place(spec: str, neuron: str) -> None:
    from tests.bruteforce import dependencies_nd, dependency_box_nd

    net = parse_spec(spec)
    analysis = analyze(net)
    unit = tuple(int(v) for v in neuron.split(","))
    rendered = KIND.render(net, {"neuron": neuron}, LIGHT)
    target = analysis.output
    if math.prod(analysis.input.spatial) <= 2000:
        want = dependency_box_nd(dependencies_nd(net)[target.name], unit, analysis.input.spatial)
    else:  # too large to brute-force: the analysis, clipped
        from rfdocs.compute.receptive import clipped_box_nd

        want = clipped_box_nd(target, unit, analysis.input.spatial)
    assert rendered.numbers["field_in_input"] == want
    x0, y0, fw, fh, dx, dy, volume = _drawn_volume(rendered.figure, "input")
    vol = volume(analysis.input.spatial, x0, y0, fw, fh, dx, dy)
    (box,) = _by_gid(rendered.figure, "footprint-input")
    for got, expected in zip(box.get_paths(), vol.faces(want), strict=True):
        assert np.allclose(np.asarray(got.vertices[:4]), np.asarray(expected), atol=1e-6)
    field = "×".join(str(v) for v in (*target.rf, analysis.input.channels))
    assert rendered.numbers["field"] == (*target.rf, analysis.input.channels)
    texts = {t.get_text() for t in rendered.figure.findobj(Text)}
    assert f"{field} field" in texts and f"neuron ({', '.join(map(str, unit))})" in texts
    assert rendered.alt.startswith(f"A {field} receptive field in a "
                                   f"{'×'.join(map(str, analysis.input.shape))} input")
    assert text_overlaps(rendered.figure) == [] and texts_outside(rendered.figure) == []


def test_volume_field_in_the_padding_is_hatched_and_said() -> None:
    rendered = KIND.render(parse_spec(SMALL_VOLUME), {"neuron": "0,0,0"}, DARK)
    assert _by_gid(rendered.figure, "footprint-padding-input")
    assert "of it inside the input, the rest padding" in rendered.alt
    assert any("Hatched" in t.get_text() for t in rendered.figure.findobj(Text))


def test_volume_neuron_default_and_bytes_are_deterministic() -> None:
    net = parse_spec(C3D_LIKE)
    first = KIND.render(net, {}, LIGHT)
    assert first.numbers["neuron"] == (4, 7, 18)  # D//2, H//4, 2W//3
    again = KIND.render(net, {}, LIGHT)
    assert figure_bytes(first.figure, "svg") == figure_bytes(again.figure, "svg")


def test_sequences_are_refused_with_what_it_draws() -> None:
    from rfdocs.figures.base import DimensionError

    with pytest.raises(DimensionError, match="rf-block draws 2-D or 3-D networks"):
        KIND.render(parse_spec("input 40x1\nc: conv 3 x4"), {}, LIGHT)
