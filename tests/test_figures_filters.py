"""The filters figure: the pixels of every tile are the layer's weights (a one-hot kernel lights
exactly one cell), RGB kernels are drawn as colour in the channel order asked for, learned
params win over named kernels, the alt text states layer, count and size."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from matplotlib.image import AxesImage, BboxImage

from rfdocs.compute import parse_spec
from rfdocs.compute.kernels import named_kernel
from rfdocs.figures import DARK, LIGHT, OptionError, get_kind
from rfdocs.figures.output import figure_bytes

KIND = get_kind("filters")

ONE_HOT = "[[0,0,0],[0,0,1],[0,0,0]]"
NAMED = parse_spec(f"input 16x16x1\nconv1: conv 3x3 x3 weights sobel-x,{ONE_HOT},laplacian\n"
                   "relu1: relu\nconv2: conv 3x3 x2\n")


def tiles(rendered: object) -> list[np.ndarray]:
    """The drawn mosaic cut back into tiles at the origins the figure reports."""
    numbers = rendered.numbers  # type: ignore[attr-defined]
    fig = rendered.figure  # type: ignore[attr-defined]
    [image] = fig.findobj(lambda a: isinstance(a, (AxesImage, BboxImage)) and a.get_gid() == "kernels")
    mosaic = np.ma.getdata(image.get_array())
    kh, kw = numbers["kernel_shape"]
    return [np.asarray(mosaic[t:t + kh, c:c + kw]) for t, c in numbers["origins"]]


def test_one_hot_kernel_lights_exactly_one_cell() -> None:
    rendered = KIND.render(NAMED, {}, LIGHT)
    assert rendered.numbers["labels"] == ["sobel-x", ONE_HOT, "laplacian"]
    drawn = tiles(rendered)
    lit = np.argwhere(drawn[1] != 0)
    assert lit.tolist() == [[1, 2]]
    assert drawn[1][1, 2] == 1.0  # each kernel over its own largest magnitude
    np.testing.assert_allclose(drawn[0], named_kernel("sobel-x") / 2)
    np.testing.assert_allclose(drawn[2], named_kernel("laplacian") / 4)


def test_shared_scale_keeps_the_weights() -> None:
    rendered = KIND.render(NAMED, {"scale": "shared"}, LIGHT)
    np.testing.assert_allclose(tiles(rendered)[2], named_kernel("laplacian"))
    assert rendered.numbers["color_limits"] == [-4.0, 4.0]


def test_learned_params_are_drawn_and_win_over_named_kernels() -> None:
    weight = np.zeros((3, 3, 3, 2), np.float32)
    weight[0, 0, 0, 0] = 0.5  # filter 0: red at the top-left
    weight[2, 1, 2, 1] = -0.25  # filter 1: minus blue, bottom middle
    net = parse_spec("input 8x8x3\nc: conv 3x3 x2 weights box\n")
    net = replace(net, params={"c": {"weight": weight, "bias": np.zeros(2, np.float32)}})
    rendered = KIND.render(net, {}, LIGHT)
    assert rendered.numbers["source"] == "learned" and rendered.numbers["view"] == "rgb"
    drawn = tiles(rendered)
    expected0 = np.full((3, 3, 4), 0.5)
    expected0[..., 3] = 1.0
    expected0[0, 0, 0] = 1.0
    np.testing.assert_allclose(drawn[0], expected0)
    assert drawn[1][2, 1, :3].tolist() == [0.5, 0.5, 0.0]  # -max of blue: no blue at all
    bgr = tiles(KIND.render(net, {"channel_order": "bgr"}, LIGHT))
    assert bgr[0][0, 0, :3].tolist() == [0.5, 0.5, 1.0]  # channel 0 is blue in a BGR model
    alt = rendered.alt
    assert "The 2 learned kernels of layer c (conv, 3×3, 3 input channels)" in alt
    assert "weights range from -0.25 to 0.5" in alt


def test_later_layer_mean_and_channel_views() -> None:
    mean = KIND.render(NAMED, {"layer": "conv2", "scale": "shared"}, LIGHT)
    assert mean.numbers["view"] == "mean" and mean.numbers["source"] == "random"
    from rfdocs.compute.forward import layer_weights

    w = layer_weights(NAMED, seed=0)["conv2"]["weight"]
    np.testing.assert_allclose(tiles(mean)[1], w[:, :, :, 1].mean(axis=2))
    one = KIND.render(NAMED, {"layer": "conv2", "view": "channel", "channel": "2",
                              "scale": "shared"}, DARK)
    np.testing.assert_allclose(tiles(one)[0], w[:, :, 2, 0])
    seeded = KIND.render(NAMED, {"layer": "conv2", "seed": "7", "scale": "shared"}, LIGHT)
    assert not np.allclose(tiles(seeded)[0], tiles(mean)[0])


def test_many_kernels_get_an_indexed_grid_and_count_limits_them() -> None:
    net = parse_spec("input 32x32x3\nconv1: conv 5x5 x48\n")
    rendered = KIND.render(net, {}, LIGHT)
    assert rendered.numbers["count"] == 48 and rendered.numbers["columns"] * \
        rendered.numbers["rows"] >= 48
    first = KIND.render(net, {"count": "10"}, LIGHT)
    assert (first.numbers["count"], first.numbers["total"]) == (10, 48)
    assert first.alt.startswith("The first 10 of the 48 random (He-normal, seed 0) kernels")


@pytest.mark.parametrize(("given", "option", "words"), [
    ({"layer": "relu1"}, "layer", "is a relu layer, not a convolution"),
    ({"layer": "nope"}, "layer", "no layer 'nope'; its convolutions are conv1, conv2"),
    ({"view": "rgb"}, "view", "three input channels"),
    ({"view": "channel", "channel": "1"}, "channel", "0 to 0"),
    ({"max_work": "1000"}, "max_work", "lower :count:"),
])
def test_bad_options_name_themselves(given: dict[str, str], option: str, words: str) -> None:
    with pytest.raises(OptionError) as info:
        KIND.render(NAMED, given, LIGHT)
    assert info.value.option == option
    assert words in str(info.value)


def test_default_network_and_determinism() -> None:
    default = KIND.render(None, {}, LIGHT)
    assert default.numbers["labels"][:3] == ["sobel-x", "sobel-y", "laplacian"]
    assert default.numbers["kernel_shape"] == [5, 5]
    a, b = KIND.render(NAMED, {}, DARK), KIND.render(NAMED, {}, DARK)
    for fmt in ("svg", "png"):
        assert figure_bytes(a.figure, fmt) == figure_bytes(b.figure, fmt)
