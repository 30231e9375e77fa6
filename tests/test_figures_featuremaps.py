"""The featuremaps figure: maps equal a plain-loop convolution, the mosaic puts map i on tile i,
the layout is clean, bytes are deterministic, bad options name themselves."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.image import AxesImage, BboxImage
from matplotlib.text import Text

from rfdocs.compute.images import load_image
from rfdocs.compute.kernels import named_kernel
from rfdocs.figures import DARK, LIGHT, OptionError, get_kind
from rfdocs.figures.featuremaps import (
    auto_columns,
    compute_maps,
    mosaic,
    render_maps,
    tile_origin,
)
from rfdocs.figures.layout import text_overlaps, texts_outside
from rfdocs.figures.output import figure_bytes
from rfdocs.figures.text import fmt_num, fmt_range

KIND = get_kind("featuremaps")


def correlate_loop(image: np.ndarray, k: np.ndarray, pad: tuple[int, int, int, int] = (0, 0, 0, 0),
                   ) -> np.ndarray:
    """Plain-loop cross-correlation of a 2-D image with a 2-D kernel (zero padding)."""
    t, b, left, r = pad
    padded = np.zeros((image.shape[0] + t + b, image.shape[1] + left + r))
    padded[t:t + image.shape[0], left:left + image.shape[1]] = image
    kh, kw = k.shape
    out = np.zeros((padded.shape[0] - kh + 1, padded.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            total = 0.0
            for a in range(kh):
                for c in range(kw):
                    total += padded[i + a, j + c] * k[a, c]
            out[i, j] = total
    return out


def pool_loop(x: np.ndarray, p: int, how: str) -> np.ndarray:
    out = np.zeros((x.shape[0] // p, x.shape[1] // p))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            block = x[i * p:(i + 1) * p, j * p:(j + 1) * p]
            out[i, j] = block.max() if how == "max" else block.mean()
    return out


@pytest.fixture(scope="module")
def small_grey() -> np.ndarray:
    return load_image("photo", size=20, grey=True)


def test_maps_equal_plain_loop_correlation(small_grey: np.ndarray) -> None:
    options = KIND.resolve({"kernels": "sobel-x, laplacian, [[1,2],[3,4]]", "size": "20"})
    fm = compute_maps(small_grey, options)
    assert fm.labels == ("sobel-x", "laplacian", "[[1,2], [3,4]]")
    assert fm.kernel_shape == (3, 3)  # the 2x2 kernel sits centred in the common 3x3 window
    x = small_grey[:, :, 0]
    np.testing.assert_allclose(fm.maps[0], correlate_loop(x, named_kernel("sobel-x")), atol=1e-9)
    np.testing.assert_allclose(fm.maps[1], correlate_loop(x, named_kernel("laplacian")), atol=1e-9)
    embedded = np.zeros((3, 3))
    embedded[0:2, 0:2] = [[1, 2], [3, 4]]
    np.testing.assert_allclose(fm.maps[2], correlate_loop(x, embedded), atol=1e-9)


def test_same_padding_relu_and_pooling(small_grey: np.ndarray) -> None:
    x = small_grey[:, :, 0]
    for pool in ("max", "avg"):
        options = KIND.resolve({"kernels": "sobel-y", "padding": "same", "activation": "relu",
                                "pool": pool, "pool_size": "3"})
        fm = compute_maps(small_grey, options)
        conv = correlate_loop(x, named_kernel("sobel-y"), (1, 1, 1, 1))
        assert conv.shape == x.shape
        np.testing.assert_allclose(fm.maps[0], pool_loop(np.maximum(conv, 0), 3, pool), atol=1e-9)


def test_layers_repeat_each_kernel(small_grey: np.ndarray) -> None:
    options = KIND.resolve({"kernels": "box, sobel-x", "layers": "2", "activation": "abs"})
    fm = compute_maps(small_grey, options)
    x = small_grey[:, :, 0]
    for n, name in enumerate(("box", "sobel-x")):
        k = named_kernel(name)
        once = np.abs(correlate_loop(x, k))
        np.testing.assert_allclose(fm.maps[n], np.abs(correlate_loop(once, k)), atol=1e-9)


def test_named_kernel_on_colour_sees_the_channel_mean() -> None:
    colour = load_image("photo", size=16)
    options = KIND.resolve({"kernels": "laplacian", "colour": "yes"})
    fm = compute_maps(colour, options)
    ref = correlate_loop(colour.mean(axis=2), named_kernel("laplacian"))
    np.testing.assert_allclose(fm.maps[0], ref, atol=1e-9)


def test_random_bank_is_full_depth_and_seeded() -> None:
    colour = load_image("photo", size=16)
    options = KIND.resolve({"kernels": "random", "count": "100", "colour": "yes", "seed": "5"})
    fm = compute_maps(colour, options)
    assert fm.maps.shape == (100, 14, 12)
    again = compute_maps(colour, options)
    np.testing.assert_array_equal(fm.maps, again.maps)
    other = compute_maps(colour, KIND.resolve({"kernels": "random", "count": "100",
                                                "colour": "yes", "seed": "6"}))
    assert not np.allclose(fm.maps, other.maps)
    assert "100 random 3×3 kernels (seed 5)" in fm.description


def test_mosaic_places_map_i_on_tile_i() -> None:
    maps = np.stack([np.full((3, 4), float(i)) for i in range(7)])
    tiled = mosaic(maps, columns=3, gap=2, row_gap=5)
    assert tiled.shape == (3 * 3 + 2 * 5, 3 * 4 + 2 * 2)
    for i in range(7):
        top, left = tile_origin(i, 3, 3, 4, 2, 5)
        assert (top, left) == ((i // 3) * 8, (i % 3) * 6)
        np.testing.assert_array_equal(tiled[top:top + 3, left:left + 4], i)
    covered = np.zeros(tiled.shape, bool)
    for i in range(7):
        top, left = tile_origin(i, 3, 3, 4, 2, 5)
        covered[top:top + 3, left:left + 4] = True
    assert np.all(np.isnan(tiled[~covered]))  # gutters and the two empty tiles


def test_auto_columns() -> None:
    assert auto_columns(4, 100, 100) == 4
    assert auto_columns(8, 100, 100) == 4
    assert auto_columns(100, 126, 107) == 10
    assert auto_columns(64, 50, 50) == 8


def test_many_maps_are_one_image_with_an_indexed_grid() -> None:
    rendered = KIND.render(None, {"kernels": "random", "count": "100", "size": "48"}, LIGHT)
    images = _images(rendered)
    assert len(images) == 2  # the input and ONE mosaic (and the colour bar's gradient)
    mos = images[1].get_array()
    assert mos is not None
    n, (h, w) = 100, rendered.numbers["map_shape"]
    cols, gap = rendered.numbers["columns"], rendered.numbers["gap"]
    assert cols == 10 and mos.shape == (10 * h + 9 * gap, 10 * w + 9 * gap)
    texts = {t.get_text() for t in rendered.figure.findobj(Text) if t.get_visible()}
    assert {"0", "9", "10", "90"} <= texts  # column numbers and row start indices
    assert not any(t.startswith("random") for t in texts)
    assert n == rendered.numbers["count"]


def test_few_maps_are_labelled() -> None:
    rendered = KIND.render(None, {"size": "40"}, DARK)
    texts = [t.get_text() for t in rendered.figure.findobj(Text)]
    for name in ("sobel-x", "sobel-y", "laplacian", "gaussian"):
        assert name in texts
    lo, hi = rendered.numbers["color_limits"]
    assert lo == -hi  # signed values: a symmetric diverging scale centred on 0
    assert rendered.numbers["cmap"] == "berlin"  # dark page: a dark-centred diverging map
    assert KIND.render(None, {"size": "40"}, LIGHT).numbers["cmap"] == LIGHT.diverging
    relu = KIND.render(None, {"size": "40", "activation": "relu"}, LIGHT)
    assert relu.numbers["cmap"] == LIGHT.cmap and relu.numbers["color_limits"][0] == 0


def test_alt_text_states_the_computed_result() -> None:
    fm = compute_maps(load_image("photo", size=64, grey=True), KIND.resolve({"size": "64"}))
    lo, hi = fm.maps.min(), fm.maps.max()
    head = ("The 64×55 greyscale photograph convolved with 4 kernels (sobel-x, sobel-y, laplacian, "
            f"gaussian) gives 4 feature maps of 60×51; values range from {lo:.3g} to {hi:.3g}")
    shared = KIND.render(None, {"size": "64", "scale": "shared"}, LIGHT)
    assert shared.alt == head + ", on one colour scale."
    each = KIND.render(None, {"size": "64"}, LIGHT)  # the default for named kernels
    ranges = "; ".join(f"{name} {m.min():.3g} to {m.max():.3g}"
                       for name, m in zip(fm.labels, fm.maps, strict=True))
    assert each.alt == head + f", each map drawn on its own colour scale ({ranges})."
    one = KIND.render(None, {"size": "64", "kernels": "sobel-x", "scale": "each"}, LIGHT)
    assert one.alt.endswith(f"values range from {fmt_num(one.numbers['min'])} to "
                            f"{fmt_num(one.numbers['max'])}.")  # one map: one scale, no claim


AWKWARD: list[dict[str, Any]] = [
    {},
    {"kernels": "identity(1)", "size": "32"},  # one 1x1 kernel: one map
    {"kernels": "random", "count": "100", "activation": "relu", "size": "64"},
    {"kernels": "random(5)", "count": "400", "size": "24", "colour": "yes"},
    {"kernels": "sobel-x sobel-y emboss sharpen box(5) identity [[1,0],[0,-1]] gaussian(9, 2.5)",
     "colour": "yes", "activation": "relu", "pool": "max"},
    {"kernels": "laplacian gaussian(7, 3)", "layers": "3", "pool": "avg", "size": "96",
     "show_input": "no"},
    {"kernels": ", ".join(["gaussian(31, 30)"] * 16), "size": "40"},  # long labels, constant-ish
    {"kernels": "box", "size": "8", "cmap": "magma"},
    {"scale": "shared", "size": "48"},
    {"kernels": "random", "count": "16", "colour": "yes", "activation": "relu", "scale": "each"},
    {"kernels": "random", "count": "100", "size": "48", "scale": "each"},  # no room for ranges
    {"kernels": "[[0,0],[0,0]] [[1e-5,0],[0,-2e-5]] [[250,250],[250,250]]", "scale": "each",
     "size": "24"},  # an all-zero map, tiny and huge ranges
]


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
@pytest.mark.parametrize("given", AWKWARD)
def test_layout_is_clean(given: dict[str, Any], theme: Any) -> None:
    fig = KIND.render(None, given, theme).figure
    assert text_overlaps(fig) == []
    assert texts_outside(fig) == []
    width, _ = fig.get_size_inches()
    assert width <= 7.01
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip():
            assert float(text.get_fontsize()) >= 8


def test_user_image_and_array(tmp_path: Path) -> None:
    from PIL import Image

    rgb = np.zeros((30, 60, 3), np.uint8)
    rgb[:, 30:] = 255  # a vertical edge
    Image.fromarray(rgb).save(tmp_path / "edge.png")
    rendered = KIND.render(None, {"image": str(tmp_path / "edge.png"), "kernels": "sobel-x",
                                  "size": "60"}, LIGHT)
    assert rendered.numbers["input_shape"] == [30, 60, 1]
    assert rendered.alt.startswith("The 30×60 greyscale image convolved with 1 kernel (sobel-x)")
    assert rendered.numbers["min"] == pytest.approx(-4.0)  # 1+2+1 across a 0 -> 1 edge
    from_array = KIND.render(None, {"image": rgb, "kernels": "sobel-x", "size": "60"}, LIGHT)
    assert from_array.numbers["min"] == rendered.numbers["min"]
    fm = compute_maps(load_image(rgb, grey=True), KIND.resolve({"kernels": "sobel-x"}))
    assert render_maps(fm, KIND.resolve({"kernels": "sobel-x"}), LIGHT).numbers["count"] == 1


def test_deterministic_bytes() -> None:
    a = KIND.render(None, {"size": "48"}, LIGHT).figure
    b = KIND.render(None, {"size": "48"}, LIGHT).figure
    for fmt in ("svg", "png", "pdf"):
        assert figure_bytes(a, fmt) == figure_bytes(b, fmt)


@pytest.mark.parametrize(("given", "option", "words"), [
    ({"kernels": "sobel"}, "kernels", "unknown kernel 'sobel'; allowed: identity, box"),
    ({"kernels": "[[1,2],[3]]"}, "kernels", "different lengths"),
    ({"kernels": "[[1,2],[3,4]"}, "kernels", "unclosed bracket"),
    ({"kernels": "gaussian(5, -1)"}, "kernels", "sigma must be a positive number"),
    ({"kernels": "random", "count": "401"}, "count", "1 to 400"),
    ({"kernels": "random random", "count": "300"}, "count", "600 kernels; at most 400"),
    ({"activation": "tanh"}, "activation", "none, relu or abs"),
    ({"pool": "min"}, "pool", "none, max or avg"),
    ({"cmap": "nosuchmap"}, "cmap", "unknown colour map 'nosuchmap'"),
    ({"size": "4"}, "size", "8 to 1024"),
    ({"image": "/nonexistent/x.png"}, "image", "does not exist"),
    ({"size": "8", "pool": "max", "pool_size": "8"}, "pool_size", "does not fit the 4×3 maps of layer 1"),
    ({"size": "8", "kernels": "box(5)", "layers": "2"}, "layers", "smaller than the 5×5 kernel"),
    ({"stride": "2"}, "stride", "unknown option; allowed:"),
    ({"scale": "own"}, "scale", "auto, shared or each"),
])
def test_bad_options_name_themselves(given: dict[str, Any], option: str, words: str) -> None:
    with pytest.raises(OptionError) as info:
        KIND.render(None, given, LIGHT)
    assert info.value.option == option
    assert words in str(info.value)


def test_yaml_lists_are_accepted() -> None:
    options = KIND.resolve({"kernels": ["sobel-x", [[1, 0], [0, -1]], "gaussian(3, 1)"],
                            "image": "builtin"})
    assert options["kernels"] == ("sobel-x", "[[1, 0], [0, -1]]", "gaussian(3, 1)")


@pytest.mark.parametrize(("given", "scale"), [
    ({}, "each"),  # the default named kernels: responses differ in size by design
    ({"kernels": "sobel-x laplacian box(3) [[1,0],[0,-1]]"}, "each"),
    ({"kernels": "sobel-x random", "count": "3"}, "shared"),  # a random bank: compare them
    ({"kernels": ", ".join(["sobel-x"] * 17)}, "shared"),  # an indexed grid: no room for ranges
    ({"kernels": "sobel-x"}, "shared"),  # one map: one scale
    ({"scale": "shared"}, "shared"),
    ({"kernels": "random", "count": "100", "scale": "each"}, "each"),
])
def test_scale_auto_and_explicit(given: dict[str, Any], scale: str) -> None:
    rendered = KIND.render(None, {"size": "24", **given}, LIGHT)
    assert rendered.numbers["scale"] == scale


def _images(rendered: Any) -> list[Any]:
    """The input image and the mosaic (gids input, maps), in that order."""
    drawn = rendered.figure.findobj(lambda a: isinstance(a, (AxesImage, BboxImage)))
    found = {im.get_gid(): im for im in drawn}
    assert set(found) >= {"maps", "colour-bar"}
    return [found[gid] for gid in ("input", "maps") if gid in found]


def _mosaic_tiles(rendered: Any) -> list[np.ndarray]:
    images = _images(rendered)
    mos = np.ma.getdata(images[-1].get_array())
    h, w = rendered.numbers["map_shape"]
    return [mos[t:t + h, c:c + w] for t, c in (
        tile_origin(i, rendered.numbers["columns"], h, w, rendered.numbers["gap"],
                    rendered.numbers["row_gap"]) for i in range(rendered.numbers["count"]))]


def _bar_labels(rendered: Any) -> list[str]:
    """The colour bar's tick labels, bottom to top (texts with gids colour-bar-tick-i)."""
    ticks = [t for t in rendered.figure.findobj(Text)
             if (t.get_gid() or "").startswith("colour-bar-tick-")]
    return [t.get_text() for t in sorted(ticks, key=lambda t: int(t.get_gid().rsplit("-", 1)[1]))]


def test_each_scale_divides_every_map_by_its_own_magnitude() -> None:
    """The reported problem: on one shared scale the gaussian map (about +1 beside the Sobel
    maps' ±4) is nearly invisible; on its own scale it spans the positive half of the colours,
    0 still the neutral middle, its range printed under its tile."""
    options = KIND.resolve({"size": "48"})
    fm = compute_maps(load_image("photo", size=48, grey=True), options)
    each = KIND.render(None, {"size": "48"}, LIGHT)
    shared = KIND.render(None, {"size": "48", "scale": "shared"}, LIGHT)
    assert each.numbers["color_limits"] == [-1.0, 1.0]
    for tile, m in zip(_mosaic_tiles(each), fm.maps, strict=True):
        np.testing.assert_allclose(tile, m / np.abs(m).max(), atol=1e-12)  # sign kept, 0 at 0
    for tile, m in zip(_mosaic_tiles(shared), fm.maps, strict=True):
        np.testing.assert_allclose(tile, m, atol=1e-12)
    gauss = fm.labels.index("gaussian")
    lo, hi = shared.numbers["color_limits"]
    assert fm.maps[gauss].max() / hi < 0.35  # shared: under a third of the scale
    assert _mosaic_tiles(each)[gauss].max() == pytest.approx(1.0)  # each: the full positive half
    # each tile says its range; the colour bar says what the colours mean
    ranges = {t.get_gid(): t.get_text() for t in each.figure.findobj(Text)
              if (t.get_gid() or "").startswith("range-")}
    assert ranges == {f"range-{i}": fmt_range(m.min(), m.max()) for i, m in enumerate(fm.maps)}
    assert each.numbers["map_ranges"] == [[m.min(), m.max()] for m in fm.maps]
    assert _bar_labels(each) == ["\u2212max", "0", "max"]
    assert not any((t.get_gid() or "").startswith("range-") for t in shared.figure.findobj(Text))
    assert "max" not in _bar_labels(shared) and "0" in _bar_labels(shared)


def test_each_scale_on_non_negative_maps_stretches_min_to_max() -> None:
    rendered = KIND.render(None, {"size": "32", "activation": "relu"}, DARK)
    assert rendered.numbers["scale"] == "each" and rendered.numbers["color_limits"] == [0.0, 1.0]
    assert rendered.numbers["cmap"] == DARK.cmap  # non-negative: the sequential map
    for tile, (lo, hi) in zip(_mosaic_tiles(rendered), rendered.numbers["map_ranges"],
                              strict=True):
        assert tile.min() == pytest.approx(0.0) and tile.max() == pytest.approx(1.0)
        assert lo >= 0 and hi > lo
    assert _bar_labels(rendered) == ["min", "max"]


def test_range_labels_read_like_the_request() -> None:
    assert fmt_range(-2.137, 3.41) == "\u22122.1\u20263.4"
    assert fmt_range(0.0467, 0.985) == "0.047\u20260.98"
    assert fmt_range(0.0, 345.6) == "0\u2026346"


def test_light_and_dark_share_one_computation() -> None:
    """The maps are memoised on the image's contents and the computing options: an equal array
    (another object) hits, a different one or another kernel computes again."""
    from rfdocs.figures import featuremaps as module

    module._compute_memo.cache_clear()
    image = np.random.default_rng(0).random((20, 24, 1))
    light = KIND.render(None, {"image": image}, LIGHT)
    dark = KIND.render(None, {"image": image.copy()}, DARK)
    assert light.numbers["map_ranges"] == dark.numbers["map_ranges"]
    assert module._compute_memo.cache_info().misses == 1
    other = image.copy()
    other[0, 0, 0] = 1.0 - other[0, 0, 0]
    KIND.render(None, {"image": other}, LIGHT)
    assert module._compute_memo.cache_info().misses == 2
    KIND.render(None, {"image": image, "kernels": "box"}, LIGHT)
    assert module._compute_memo.cache_info().misses == 3


def test_pixels_stay_crisp_unless_shrunk() -> None:
    """Maps drawn larger than an output pixel use nearest-neighbour resampling; shrunk ones are
    smoothed."""
    images = _images(KIND.render(None, {}, LIGHT))
    assert [im.get_interpolation() for im in images] == ["nearest", "nearest"]
    many = KIND.render(None, {"size": "256", "kernels": "random", "count": "36"}, LIGHT)
    assert _images(many)[-1].get_interpolation() == "antialiased"


# --------------------------------------------------------------------------- with a network

NAMED_NET = ("input 20x20x1\nconv1: conv 3x3 pad 1 x3 weights sobel-x,laplacian,[[1,2],[3,4]]\n"
             "relu1: relu\npool1: maxpool 2x2\nconv2: conv 3x3 x4\nrelu2: relu\n"
             "gap: globalavgpool\nflat: flatten\nfc: dense x10\n")


def test_network_with_named_kernels_equals_a_direct_convolution(small_grey: np.ndarray) -> None:
    from rfdocs.compute import parse_spec

    net = parse_spec(NAMED_NET)
    rendered = KIND.render(net, {"layer": "conv1", "size": "20"}, LIGHT)
    assert rendered.numbers["labels"] == ["sobel-x", "laplacian", "[[1,2],[3,4]]"]
    x = small_grey[:, :, 0]
    embedded = np.zeros((3, 3))  # a smaller kernel sits centred, rounding up and left
    embedded[0:2, 0:2] = [[1, 2], [3, 4]]
    fm = _network_maps(net, small_grey, {"layer": "conv1"})
    for n, k in enumerate((named_kernel("sobel-x"), named_kernel("laplacian"), embedded)):
        np.testing.assert_allclose(fm.maps[n], correlate_loop(x, k, (1, 1, 1, 1)), atol=1e-9)
    assert "run through the network (1 layer, named kernels) up to layer conv1 (conv)" in \
        rendered.alt


def _network_maps(net: Any, image: np.ndarray, given: dict[str, Any]) -> Any:
    from rfdocs.figures.featuremaps import network_maps

    return network_maps(net, image, KIND.resolve(given))


@pytest.mark.parametrize("layer", ["relu1", "pool1", "conv2", "relu2"])
def test_layer_picks_that_layers_activation(small_grey: np.ndarray, layer: str) -> None:
    from rfdocs.compute import parse_spec
    from rfdocs.compute.forward import forward

    net = parse_spec(NAMED_NET)
    fm = _network_maps(net, small_grey, {"layer": layer, "seed": "3"})
    from rfdocs.compute.forward import layer_weights

    acts = forward(net, small_grey, layer_weights(net, seed=3))
    np.testing.assert_allclose(fm.maps, np.moveaxis(acts[layer], 2, 0), rtol=1e-12, atol=1e-12)


def test_default_layer_is_the_last_before_the_head() -> None:
    from rfdocs.compute import parse_spec

    rendered = KIND.render(parse_spec(NAMED_NET), {}, LIGHT)  # the image fits the 20x20 input
    assert rendered.numbers["map_shape"] == [8, 8] and rendered.numbers["count"] == 4
    assert "up to layer relu2 (relu)" in rendered.alt
    assert rendered.numbers["input_shape"] == [20, 20, 1]
    first = KIND.render(parse_spec(NAMED_NET), {"maps": "2", "size": "40"}, LIGHT)
    assert first.numbers["count"] == 2 and first.numbers["input_shape"][:2] == [40, 34]


def test_preprocessing_is_applied_in_order() -> None:
    from rfdocs.compute import parse_spec
    from rfdocs.figures.featuremaps import network_image

    net = parse_spec("input 16x16x3\nc: conv 1x1 x3 weights identity(1)\n")
    options = KIND.resolve({"input_range": "0,255", "channel_order": "bgr",
                            "mean": "100, 110, 120", "std": "50,60,70", "scale": "shared"})
    image = network_image(net, options)
    from rfdocs.figures.featuremaps import network_maps

    fm = network_maps(net, image, options)
    prepared = (image[:, :, ::-1] * 255 - [100, 110, 120]) / [50, 60, 70]
    for n in range(3):  # a named kernel on three channels sees their mean
        np.testing.assert_allclose(fm.maps[n], prepared.mean(axis=2), atol=1e-9)
    alt = KIND.render(net, {"mean": "0.5", "std": "0.25"}, LIGHT).alt
    assert "(mean 0.5; std 0.25) run through the network" in alt


def test_network_options_that_cannot_be() -> None:
    from rfdocs.compute import parse_spec

    net = parse_spec(NAMED_NET)
    for given, option, words in [
        ({"layer": "nope"}, "layer", "no layer 'nope'; its layers are conv1, relu1"),
        ({"colour": "yes"}, "colour", "one input channel"),
        ({"mean": "1, 2"}, "mean", "gives 2 numbers for a 1-channel input"),
        ({"std": "0"}, "std", "positive"),
        ({"input_range": "1, 0"}, "input_range", "the first number must be the smaller"),
    ]:
        with pytest.raises(OptionError) as info:
            KIND.render(net, given, LIGHT)
        assert info.value.option == option, given
        assert words in str(info.value), (given, str(info.value))


def test_short_hands_build_a_network_with_named_kernels() -> None:
    from rfdocs.figures.featuremaps import shorthand_network

    built = shorthand_network((20, 20, 1), KIND.resolve(
        {"kernels": "sobel-x, box", "layers": "2", "activation": "abs", "pool": "avg"}))
    assert [(layer.name, layer.op) for layer in built.network.layers] == [
        ("conv1", "conv"), ("abs1", "leakyrelu"), ("pool1", "avgpool"),
        ("conv2", "conv"), ("abs2", "leakyrelu"), ("pool2", "avgpool")]
    assert built.network.layer("conv1").weights == ("sobel-x", "box")
    assert built.network.layer("conv2").groups == 2
    random = shorthand_network((20, 20, 3), KIND.resolve({"kernels": "random", "count": "5"}))
    assert random.network.layer("conv1").weights == ()  # the exact bank is in the params
    assert random.network.params["conv1"]["weight"].shape == (3, 3, 3, 5)
    maps = compute_maps(load_image("photo", size=20), KIND.resolve(
        {"kernels": "sobel-x, box", "layers": "2", "activation": "abs", "layer": "abs1"}))
    assert maps.maps.shape == (2, 18, 15) and maps.network is not None


# --- sequences --------------------------------------------------------------------------------


def test_sequence_signal_follows_its_formula() -> None:
    from rfdocs.compute.signals import sequence_signal

    x = sequence_signal(200, 2)
    assert x.shape == (200, 2)
    for i in (0, 37, 60, 124, 199):
        t = i / 200
        base = 0.8 * (t >= 0.62) + 0.5 * math.exp(-((t - 0.3) / 0.035) ** 2) * math.sin(
            2 * math.pi * 40 * t)
        for c in range(2):
            chirp = 0.6 * math.sin(2 * math.pi * (2 * t + (12.5 - 2) * t * t / 2) + c * math.pi / 2)
            assert x[i, c] == pytest.approx(chirp + base, abs=1e-12)
    assert np.array_equal(x, sequence_signal(200, 2))


SEQ_NET = """input 128x1
c1: conv 9 x6 pad 4
r1: relu
p1: maxpool 2 /2
c2: conv 5 x4 dil 2 causal
"""


@pytest.mark.parametrize(("layer", "jump"), [("r1", 1.0), ("c2", 2.0)])
def test_sequence_strips_are_the_forward_activations(layer: str, jump: float) -> None:
    from rfdocs.compute import analyze, parse_spec
    from rfdocs.compute.forward import forward, init_weights
    from rfdocs.compute.signals import sequence_signal

    net = parse_spec(SEQ_NET)
    rendered = get_kind("featuremaps").render(net, {"layer": layer, "seed": "3"}, LIGHT)
    x = sequence_signal(128, 1)
    acts = forward(net, x, init_weights(net, seed=3, kind="random"))[layer]
    drawn = [im for ax in rendered.figure.axes for im in ax.images if im.get_gid() == "maps"]
    assert len(drawn) == 1
    np.testing.assert_allclose(np.asarray(drawn[0].get_array()), acts.T, atol=1e-12)
    np.testing.assert_allclose(rendered.numbers["signal"], x)
    # unit i is drawn over the centre of its field, computed by the analysis
    info = analyze(net)[layer]
    lo, hi = info.box(0)[0]
    left, right, _, _ = drawn[0].get_extent()
    n = acts.shape[0]
    assert left == pytest.approx((lo + hi) / 2 - jump / 2)
    assert right == pytest.approx((lo + hi) / 2 + (n - 1 + 0.5) * jump)
    assert rendered.numbers["jump"] == jump
    lines = [ln for ax in rendered.figure.axes for ln in ax.lines if ln.get_gid() == "signal-0"]
    np.testing.assert_allclose(lines[0].get_ydata(), x[:, 0])
    assert f"{acts.shape[1]} channels of {n} units" in rendered.alt


@pytest.mark.parametrize("theme", [LIGHT, DARK])
def test_sequence_maps_deterministic_and_budgeted(theme) -> None:  # type: ignore[no-untyped-def]
    from rfdocs.compute import parse_spec
    from rfdocs.figures.output import figure_bytes

    net = parse_spec(SEQ_NET)
    kind = get_kind("featuremaps")
    a = figure_bytes(kind.render(net, {"maps": "3"}, theme).figure, "svg")
    assert a == figure_bytes(kind.render(net, {"maps": "3"}, theme).figure, "svg")
    cost = kind.estimate(net, {})
    with pytest.raises(OptionError, match="max_work"):
        kind.render(net, {"max_work": str(cost.work // 3)}, theme)
