"""The erf figure against independent recomputations: the drawn heat maps are the compute
layer's gradients, the outlined field is ``LayerInfo.box``, and every number in the alt text
follows from the maps by brute force."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from matplotlib.colors import LogNorm
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Rectangle
from matplotlib.text import Text

from rfdocs.compute import Network, analyze, parse_spec, zoo_network
from rfdocs.compute.erf import erf_random, erf_uniform
from rfdocs.figures import get_kind
from rfdocs.figures.erf import (
    DEFAULT_SPEC,
    KIND,
    MAX_RANDOM_MACS,
    compute_erf,
    draw,
    gaussian_moments,
    map_stats,
    random_cost,
    render,
    tick_values,
)
from rfdocs.figures.layout import text_overlaps, texts_outside
from rfdocs.figures.options import OptionError
from rfdocs.figures.output import figure_bytes
from rfdocs.figures.style import DARK, LIGHT, Theme

Arr = np.ndarray[Any, Any]

VGG_LIKE = """
input 40x40x3
c1: conv 3x3 pad 1 x8
r1: relu
c2: conv 3x3 pad 1 x8
r2: relu
p1: maxpool 2 /2
c3: conv 3x3 pad 1 x8
r3: relu
c4: conv 3x3 pad 1 x8
r4: relu
p2: maxpool 2 /2
c5: conv 3x3 pad 1 x8
"""


def run(network: Network | None = None, theme: Theme = LIGHT, **given: Any) -> Any:
    return render(network, KIND.resolve(given), theme)


def by_gid(fig: Any, kind: type, gid: str) -> Any:
    found = [a for a in fig.findobj(kind) if a.get_gid() == gid]
    assert len(found) == 1, f"{len(found)} artists with gid {gid!r}"
    return found[0]


def brute_radius(grad: Arr, center: tuple[float, float], mass: float) -> float:
    """The smallest distance d with at least ``mass`` of the map within d of ``center``,
    by trying every distance that occurs (a loop, not a sort and a cumulative sum)."""
    total = grad.sum()
    rows, cols = np.indices(grad.shape)
    dist = np.hypot(rows - center[0], cols - center[1])
    for d in sorted(set(dist[grad > 0].tolist())):
        if grad[dist <= d + 1e-9].sum() >= mass * total - 1e-12 * total:
            return float(d)
    raise AssertionError("unreachable")


def brute_area(grad: Arr, mass: float) -> int:
    """Fewest pixels holding ``mass`` of the map (greedy over the largest values)."""
    total, held = grad.sum(), 0.0
    for count, value in enumerate(sorted(grad.ravel().tolist(), reverse=True), start=1):
        held += value
        if held >= mass * total * (1 - 1e-12):
            return count
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- the default


def test_kind_is_registered() -> None:
    assert get_kind("erf") is KIND
    assert KIND.name == "erf"


def test_default_alt_text_states_the_result() -> None:
    rendered = run()
    alt = rendered.alt
    assert alt.startswith("Effective receptive field of unit (16, 16) of conv10: the "
                          "theoretical field is 21×21 pixels; 95% of the gradient (uniform "
                          "weights) lies within 6.3 pixels of the centre")
    assert "random weights with ReLU, mean of 8 samples" in alt
    numbers = rendered.numbers
    assert numbers["layer"] == "conv10"
    assert numbers["unit"] == (16, 16)
    assert numbers["field"] == (21, 21)
    assert numbers["field_box"] == ((6, 26), (6, 26))


def test_outlined_rectangle_is_the_computed_box() -> None:
    net = parse_spec(DEFAULT_SPEC)
    rendered = run(net, mode="both")
    (r0, r1), (c0, c1) = analyze(net)["conv10"].box(16, 16)
    for mode in ("uniform", "random"):
        rect = by_gid(rendered.figure, Rectangle, f"field-{mode}")
        assert rect.get_xy() == (c0 - 0.5, r0 - 0.5)
        assert rect.get_width() == c1 - c0 + 1
        assert rect.get_height() == r1 - r0 + 1


@pytest.mark.parametrize("theme", [LIGHT, DARK])
def test_outline_is_in_the_theme_field_colour(theme: Theme) -> None:
    from matplotlib.colors import to_rgba

    rendered = run(theme=theme, mode="uniform")
    rect = by_gid(rendered.figure, Rectangle, "field-uniform")
    assert rect.get_edgecolor() == to_rgba(theme.field)


def test_field_is_clipped_to_the_input() -> None:
    net = parse_spec(DEFAULT_SPEC)
    rendered = run(net, mode="uniform", layer="conv6", unit="2,2")
    (r0, r1), (c0, c1) = analyze(net)["conv6"].box(2, 2)
    assert (r0, c0) == (-4, -4)  # hangs 4 pixels into the padding
    rect = by_gid(rendered.figure, Rectangle, "field-uniform")
    assert rect.get_xy() == (-0.5, -0.5)
    assert rect.get_width() == c1 + 1 and rect.get_height() == r1 + 1
    assert "(9×9 inside the input)" in rendered.alt
    assert rendered.numbers["field_in_input"] == ((0, 8), (0, 8))


def test_heat_map_is_the_uniform_erf() -> None:
    net = parse_spec(DEFAULT_SPEC.replace("32x32", "64x64"))
    rendered = run(net, mode="uniform")
    image = by_gid(rendered.figure, AxesImage, "erf-uniform")
    expected = erf_uniform(net)  # independent of the figure's own call
    (v0, v1), (u0, u1) = rendered.numbers["view"]
    assert (v0, v1) == (16, 48) and (u0, u1) == (16, 48)  # the field plus a quarter each side
    np.testing.assert_allclose(image.get_array(), expected[v0:v1 + 1, u0:u1 + 1] / expected.max(),
                               rtol=0, atol=1e-15)
    assert image.get_extent() == [u0 - 0.5, u1 + 0.5, v1 + 0.5, v0 - 0.5]
    assert image.norm.vmin == 0 and image.norm.vmax == 1


def test_heat_map_is_the_mean_random_magnitude() -> None:
    net = parse_spec(DEFAULT_SPEC)
    rendered = run(net, mode="random", samples=3, seed=5, channels=4)
    image = by_gid(rendered.figure, AxesImage, "erf-random")
    mean = sum(np.abs(erf_random(net, seed=s, channels=4)) for s in (5, 6, 7)) / 3
    (v0, v1), (u0, u1) = rendered.numbers["view"]
    np.testing.assert_allclose(image.get_array(), mean[v0:v1 + 1, u0:u1 + 1] / mean.max(),
                               rtol=1e-12, atol=1e-15)
    assert "mean of 3 samples" in rendered.alt
    assert [a for a in rendered.figure.findobj(AxesImage) if a.get_gid() == "erf-uniform"] == []


def test_alt_numbers_match_a_brute_force_recomputation() -> None:
    net = parse_spec(VGG_LIKE)
    rendered = run(net, mode="both", samples=2)
    info = analyze(net).output
    unit = (info.shape[0] // 2, info.shape[1] // 2)
    (r0, r1), (c0, c1) = info.box(*unit)
    r0c, r1c, c0c, c1c = max(r0, 0), min(r1, 39), max(c0, 0), min(c1, 39)
    center = ((r0 + r1) / 2, (c0 + c1) / 2)
    maps = {"uniform": erf_uniform(net),
            "random": (np.abs(erf_random(net, seed=0, channels=8))
                       + np.abs(erf_random(net, seed=1, channels=8))) / 2}
    said = re.findall(r"95% of the gradient \(([^)]*)\) lies within ([\d.]+) pixels of the "
                      r"centre, on (\d+)% of the field's pixels; (\d+)% of it lies inside",
                      rendered.alt)
    assert [s[0].split(" ")[0] for s in said] == ["uniform", "random"]
    for (_, radius, area, inside), (mode, grad) in zip(said, maps.items(), strict=True):
        grad = np.abs(grad)
        share_inside = grad[r0c:r1c + 1, c0c:c1c + 1].sum() / grad.sum()
        assert int(inside) == round(100 * share_inside)
        assert float(radius) == round(brute_radius(grad, center, 0.95), 1)
        field_pixels = (r1c - r0c + 1) * (c1c - c0c + 1)
        assert int(area) == round(100 * brute_area(grad, 0.95) / field_pixels)
        assert rendered.numbers[mode]["radius"] == pytest.approx(
            brute_radius(grad, center, 0.95), abs=1e-12)
        ring = by_gid(rendered.figure, Circle, f"radius-{mode}")
        assert ring.center == (center[1], center[0])
        assert ring.get_radius() == pytest.approx(float(radius), abs=0.05)


def test_pooling_unit_sees_only_its_theoretical_field() -> None:
    rendered = run(parse_spec(VGG_LIKE), mode="uniform")
    # r: 3, 5, pool 6 (j 2), 10, 14, pool 16 (j 4), 24
    assert rendered.numbers["field"] == (24, 24)
    assert rendered.numbers["uniform"]["inside"] == pytest.approx(1.0)


# --------------------------------------------------------------------------- the Gaussian


def test_uniform_profile_has_the_variance_of_a_sum_of_ten_taps() -> None:
    """Ten 3×3 uniform convolutions: the centre row is the distribution of a sum of ten
    independent uniform steps in {-1, 0, 1}, variance 10 · 2/3."""
    rendered = run(mode="uniform")
    stats = rendered.numbers["uniform"]
    assert stats["profile_sigma"] == pytest.approx(math.sqrt(20 / 3), rel=1e-12)
    assert stats["sigma"] == pytest.approx((math.sqrt(20 / 3),) * 2, rel=1e-12)


def test_dashed_curve_is_the_moment_fit_of_the_drawn_profile() -> None:
    net = parse_spec(VGG_LIKE)
    rendered = run(net, mode="uniform")
    grad = erf_uniform(net)
    row = rendered.numbers["profile_row"]
    profile = by_gid(rendered.figure, Line2D, "profile-uniform")
    xs, ys = (np.asarray(v, float) for v in profile.get_data())
    np.testing.assert_allclose(ys, grad[row, xs.astype(int)] / grad.max(), atol=1e-15)
    curve = by_gid(rendered.figure, Line2D, "gauss-uniform")
    cx, cy = (np.asarray(v, float) for v in curve.get_data())
    p = grad[row]
    x = np.arange(p.size)
    mean = (p * x).sum() / p.sum()
    sd = math.sqrt((p * (x - mean) ** 2).sum() / p.sum())
    expected = p.sum() / (sd * math.sqrt(2 * math.pi)) * np.exp(-(cx - mean) ** 2 / (2 * sd**2))
    np.testing.assert_allclose(cy, expected / grad.max(), rtol=1e-10)


def test_gaussian_moments_of_a_sampled_gaussian() -> None:
    x = np.arange(101)
    profile = 3.0 * np.exp(-((x - 40.0) ** 2) / (2 * 6.0**2))
    mass, mean, sigma = gaussian_moments(profile)  # type: ignore[misc]
    assert mean == pytest.approx(40.0, abs=1e-9)
    assert sigma == pytest.approx(6.0, rel=1e-6)
    assert mass == pytest.approx(3.0 * 6.0 * math.sqrt(2 * math.pi), rel=1e-6)
    assert gaussian_moments(np.zeros(5)) is None


def test_map_stats_of_a_single_pixel() -> None:
    grad = np.zeros((9, 9))
    grad[4, 4] = 2.0
    stats = map_stats(grad, ((2, 6), (2, 6)), (4.0, 4.0), 4)
    assert stats.inside == 1.0 and stats.radius == 0.0 and stats.area == 1 / 25
    assert stats.sigma == (0.0, 0.0)
    empty = map_stats(np.zeros((9, 9)), ((2, 6), (2, 6)), (4.0, 4.0), 4)
    assert empty.radius is None and empty.inside is None


def test_all_zero_map_is_drawn_and_said() -> None:
    erf = compute_erf(None, KIND.resolve({"mode": "uniform"}))
    zero = np.zeros_like(erf.maps["uniform"])
    dead = replace(erf, maps={"uniform": zero},
                   stats={"uniform": map_stats(zero, erf.inside_box, erf.center, erf.row)})
    rendered = draw(dead, KIND.resolve({"mode": "uniform"}), LIGHT)
    texts = [t.get_text() for t in rendered.figure.findobj(Text)]
    assert "the gradient is zero" in texts
    assert "the gradient is zero" in rendered.alt
    assert rendered.numbers["uniform"]["radius"] is None


# --------------------------------------------------------------------------- options


def test_log_scale() -> None:
    rendered = run(mode="uniform", scale="log")
    image = by_gid(rendered.figure, AxesImage, "erf-uniform")
    assert isinstance(image.norm, LogNorm)
    assert (image.norm.vmin, image.norm.vmax) == (1e-5, 1.0)


def test_profile_can_be_left_out() -> None:
    with_profile = run(mode="uniform")
    without = run(mode="uniform", profile="no")
    assert len(with_profile.figure.axes) == 2  # map, profile (the colour bar has no Axes)
    assert len(without.figure.axes) == 1
    assert without.figure.get_figwidth() < with_profile.figure.get_figwidth()


def test_layer_and_unit_choose_the_field() -> None:
    rendered = run(mode="uniform", layer="conv3", unit="10,20")
    assert rendered.numbers["field"] == (7, 7)
    assert rendered.numbers["field_box"] == ((7, 13), (17, 23))
    assert rendered.alt.startswith("Effective receptive field of unit (10, 20) of conv3: "
                                   "the theoretical field is 7×7 pixels")


@pytest.mark.parametrize(("given", "option", "words"), [
    ({"layer": "nope"}, "layer", "no layer called 'nope'"),
    ({"layer": "input"}, "layer", "not the input"),
    ({"unit": "32,3"}, "unit", "outside conv10 (32×32)"),
    ({"mode": "sideways"}, "mode", "uniform, random, trained or both"),
    ({"samples": 0}, "samples", "1 to 64"),
    ({"scale": "sqrt"}, "scale", "linear or log"),
])
def test_bad_options_name_the_option(given: dict[str, Any], option: str, words: str) -> None:
    with pytest.raises(OptionError) as err:
        run(**given)
    assert err.value.option == option
    assert words in err.value.message


def test_random_mode_on_a_big_network_is_refused_with_the_limit() -> None:
    net = zoo_network("vgg16")
    assert random_cost(net, 64, 8) > MAX_RANDOM_MACS
    with pytest.raises(OptionError, match="more than the limit of 2 billion"):
        run(net, mode="random", channels=64)
    with pytest.raises(OptionError, match="more than the limit of 2 billion"):
        run(net, mode="both", channels=64)


def test_huge_input_is_refused_with_the_limit() -> None:
    net = parse_spec("input 3000x3000x1\nconv 3x3 x1\n")
    with pytest.raises(OptionError, match="4,194,304 pixels"):
        run(net, mode="uniform")


def test_random_cost_counts_multiply_adds() -> None:
    net = parse_spec("input 10x10x2\nconv 3x3 x4\nrelu\nconv 1x1 x3\n")
    # conv 1: 8x8 outputs, 3*3*2 taps, 4 filters; conv 2: 8x8, 1*1*4, 3; forward + backward
    assert random_cost(net, 8, 1) == 2 * (64 * 18 * 4 + 64 * 4 * 3)
    assert random_cost(net, 2, 5) == 5 * 2 * (64 * 18 * 2 + 64 * 2 * 2)


# --------------------------------------------------------------------------- drawing quality


CASES = [
    pytest.param(None, {}, id="default"),
    pytest.param(None, {"scale": "log"}, id="log"),
    pytest.param(None, {"layer": "conv6", "unit": "2,2"}, id="corner"),
    pytest.param(None, {"mode": "random", "profile": "no", "samples": 2}, id="random-only"),
    pytest.param("vgg", {"samples": 2}, id="vgg-like"),
    pytest.param("resnet50", {"mode": "uniform"}, id="resnet50"),
]


def _network(name: str | None) -> Network | None:
    if name is None:
        return None
    return parse_spec(VGG_LIKE) if name == "vgg" else zoo_network(name)


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
@pytest.mark.parametrize(("name", "given"), CASES)
def test_no_overlapping_or_clipped_text(name: str | None, given: dict[str, Any],
                                         theme: Theme) -> None:
    fig = run(_network(name), theme, **given).figure
    assert text_overlaps(fig) == []
    assert texts_outside(fig) == []
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip()]
    assert sizes and min(sizes) >= 8


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_bytes_are_deterministic(fmt: str) -> None:
    first = figure_bytes(run(samples=2).figure, fmt)
    second = figure_bytes(run(samples=2).figure, fmt)
    assert first == second


def test_themes_differ_only_in_colour() -> None:
    light, dark = run(mode="uniform"), run(theme=DARK, mode="uniform")
    assert light.alt == dark.alt
    assert light.numbers == dark.numbers
    assert figure_bytes(light.figure, "png") != figure_bytes(dark.figure, "png")


def test_light_and_dark_share_one_computation() -> None:
    """The Sphinx layer draws light then dark: the maps are computed once, and shared
    read-only; a change of a computing option computes again."""
    from rfdocs.figures import erf as module

    module._compute_memo.cache_clear()
    light, dark = run(samples=2), run(theme=DARK, samples=2)
    info = module._compute_memo.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    assert light.numbers == dark.numbers
    erf = module._compute_memo(None, tuple(KIND.resolve({"samples": 2})[name]
                                           for name in module.COMPUTE_OPTIONS))
    assert all(not grad.flags.writeable for grad in erf.maps.values())
    run(samples=3)
    assert module._compute_memo.cache_info().misses == 2


@pytest.mark.parametrize(("lo", "hi", "centre", "expected"), [
    (-0.5, 31.5, 16, [6, 16, 26]),  # the default: the field's edges and centre
    (-0.5, 8.5, 4, [2, 4, 6]),
    (-0.5, 223.5, 0, [0, 100, 200]),  # centre at the edge: three on its side
    (100.5, 140.5, 120.5, [111, 121, 131]),
    (-0.5, 1.5, 1, [0, 1]),
    (-0.5, 0.5, 0, [0]),
])
def test_three_ticks_around_the_centre(lo: float, hi: float, centre: float,
                                       expected: list[int]) -> None:
    assert tick_values(lo, hi, centre) == expected


@pytest.mark.parametrize(("scale", "expected"), [
    ("linear", ["0", "0.5", "1"]),
    ("log", ["1e\u22125", "1e\u22124", "1e\u22123", "0.01", "0.1", "1"]),
])
def test_colour_bar_labels(scale: str, expected: list[str]) -> None:
    fig = run(mode="uniform", scale=scale).figure
    ticks = sorted((t for t in fig.findobj(Text)
                    if (t.get_gid() or "").startswith("colour-bar-tick-")),
                   key=lambda t: t.get_position()[1])
    assert [t.get_text() for t in ticks] == expected


def test_trained_mode_uses_the_networks_own_weights() -> None:
    """With params, 'both' shows uniform beside trained: the mean |gradient| of the network
    with its own numbers over random inputs (the compute layer's erf_random, uncapped)."""
    net = parse_spec("input 24x24x1\nc1: conv 3x3 pad 1 x3\nr1: relu\nc2: conv 3x3 pad 1 x2\n")
    rng = np.random.default_rng(5)
    params = {"c1": {"weight": rng.standard_normal((3, 3, 1, 3))},
              "c2": {"weight": rng.standard_normal((3, 3, 3, 2))}}
    trained = replace(net, params=params)
    rendered = KIND.render(trained, {"samples": 3}, LIGHT)
    from rfdocs.figures import erf as module

    maps = module.compute_erf(trained, KIND.resolve({"samples": 3})).maps
    assert list(maps) == ["uniform", "trained"]
    expected = sum(np.abs(erf_random(trained, "c2", None, seed=i)) for i in range(3)) / 3
    np.testing.assert_allclose(maps["trained"], expected)
    untrained = sum(np.abs(erf_random(net, "c2", None, seed=i, channels=8)) for i in range(3)) / 3
    assert not np.allclose(maps["trained"], untrained)
    assert "Trained weights (×3)" in [t.get_text() for t in rendered.figure.findobj(Text)]
    assert "the network's trained weights, mean over 3 random inputs" in rendered.alt
    random = module.compute_erf(trained, KIND.resolve({"samples": 3, "mode": "random"})).maps
    np.testing.assert_allclose(random["random"], untrained)


# --- sequences -----------------------------------------------------------------------------


SEQ_SPEC = """input 80x1
c1: conv 2 x6 dil 1 causal
r1: relu
c2: conv 2 x6 dil 2 causal
r2: relu
c3: conv 3 x6 dil 4 causal
"""


def _brute_force_field_1d(net, layer: str, unit: int) -> set[int]:  # type: ignore[no-untyped-def]
    """Input steps that change unit ``unit`` of ``layer``: an impulse at each step, through the
    network with all-positive weights and no ReLU cut (every path counts)."""
    from rfdocs.compute.forward import forward, init_weights

    weights = init_weights(net, seed=0, kind="uniform")
    base = forward(net, np.zeros(net.input), weights)[layer][unit].copy()
    seen = set()
    for t in range(net.input[0]):
        x = np.zeros(net.input)
        x[t, 0] = 1.0
        if not np.allclose(forward(net, x, weights)[layer][unit], base):
            seen.add(t)
    return seen


@pytest.mark.parametrize("unit", [79, 40, 3])
def test_sequence_profiles_equal_the_engines_arrays_and_stay_in_the_field(unit: int) -> None:
    from rfdocs.compute import parse_spec
    from rfdocs.compute.erf import erf_random, erf_uniform

    net = parse_spec(SEQ_SPEC)
    kind = get_kind("erf")
    rendered = kind.render(net, {"unit": str(unit), "samples": "3", "channels": "4"}, LIGHT)
    profiles = {m: np.array(v) for m, v in rendered.numbers["profiles"].items()}
    np.testing.assert_allclose(profiles["uniform"], np.abs(erf_uniform(net, "c3", (unit,))))
    expected = sum(np.abs(erf_random(net, "c3", (unit,), seed=i, channels=4)) for i in range(3))
    np.testing.assert_allclose(profiles["random"], expected / 3)
    field = _brute_force_field_1d(parse_spec(SEQ_SPEC.replace("r1: relu\n", "").replace(
        "r2: relu\n", "")), "c3", unit)
    for g in profiles.values():
        assert set(np.flatnonzero(g)) <= field
    assert set(np.flatnonzero(profiles["uniform"])) == field
    lo, hi = rendered.numbers["field"]
    assert (max(lo, 0), hi) == (min(field), max(field))
    assert f"theoretical field is steps {lo} to {hi}" in rendered.alt
    assert "100% of the gradient inside the field" in rendered.alt


def test_sequence_field_is_shaded_where_the_numbers_say() -> None:
    from rfdocs.compute import parse_spec

    net = parse_spec(SEQ_SPEC)
    rendered = get_kind("erf").render(net, {"mode": "uniform", "unit": "50"}, LIGHT)
    lo, hi = rendered.numbers["field"]
    spans = [p for ax in rendered.figure.axes for p in ax.patches
             if (p.get_gid() or "").startswith("field-")]
    assert len(spans) == 1
    xs = spans[0].get_patch_transform().transform(spans[0].get_path().vertices)[:, 0]
    assert (xs.min(), xs.max()) == (lo - 0.5, hi + 0.5)
    line = [ln for ax in rendered.figure.axes for ln in ax.lines
            if ln.get_gid() == "profile-uniform"][0]
    x, y = line.get_data()
    g = np.array(rendered.numbers["profiles"]["uniform"])
    a, b = rendered.numbers["view"]
    np.testing.assert_allclose(x, np.arange(a, b + 1))
    np.testing.assert_allclose(y, g[a:b + 1] / g.max())


@pytest.mark.parametrize("theme", [LIGHT, DARK])
def test_sequence_figure_is_deterministic_and_budgeted(theme) -> None:  # type: ignore[no-untyped-def]
    from rfdocs.compute import parse_spec
    from rfdocs.figures.output import figure_bytes

    net = parse_spec(SEQ_SPEC)
    kind = get_kind("erf")
    given = {"samples": "2", "scale": "log"}
    a = figure_bytes(kind.render(net, given, theme).figure, "svg")
    assert a == figure_bytes(kind.render(net, given, theme).figure, "svg")
    cost = kind.estimate(net, given)
    with pytest.raises(OptionError, match="max_work"):
        kind.render(net, {**given, "max_work": str(cost.work // 3)}, theme)
    with pytest.raises(OptionError, match="one number"):
        kind.render(net, {"unit": "3,4"}, theme)
    with pytest.raises(OptionError, match="outside"):
        kind.render(net, {"unit": "80"}, theme)
