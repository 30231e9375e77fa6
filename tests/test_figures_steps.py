"""The steps figure: printed numbers equal an independent plain-loop convolution, layout is clean,
bytes and GIFs are deterministic, bad options name themselves."""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from rfdocs.figures import DARK, LIGHT, OptionError, get_kind
from rfdocs.figures.layout import text_overlaps, texts_outside
from rfdocs.figures.output import figure_bytes
from rfdocs.figures.steps import (
    GIF_DPI,
    MAX_FRAMES,
    MINUS,
    animation_bytes,
    fmt_value,
    frame_steps,
    frames_rgba,
    plan_steps,
)

KIND = get_kind("steps")


# --- independent references: plain loops, no numpy tricks -------------------------------------


def conv_loop(x: np.ndarray, k: np.ndarray, stride: tuple[int, int], pad: tuple[int, int],
              dil: tuple[int, int]) -> np.ndarray:
    h, w = x.shape
    kh, kw = k.shape
    hp, wp = h + 2 * pad[0], w + 2 * pad[1]

    def at(i: int, j: int) -> float:
        i, j = i - pad[0], j - pad[1]
        return float(x[i, j]) if 0 <= i < h and 0 <= j < w else 0.0

    rows = (hp - dil[0] * (kh - 1) - 1) // stride[0] + 1
    cols = (wp - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((rows, cols))
    for r in range(rows):
        for c in range(cols):
            total = 0.0
            for a in range(kh):
                for b in range(kw):
                    total += at(r * stride[0] + a * dil[0], c * stride[1] + b * dil[1]) * k[a, b]
            out[r, c] = total
    return out


def tconv_loop(x: np.ndarray, k: np.ndarray, stride: tuple[int, int], pad: tuple[int, int],
               dil: tuple[int, int], out_pad: tuple[int, int]) -> np.ndarray:
    h, w = x.shape
    kh, kw = k.shape
    full = np.zeros(((h - 1) * stride[0] + dil[0] * (kh - 1) + 1 + out_pad[0],
                     (w - 1) * stride[1] + dil[1] * (kw - 1) + 1 + out_pad[1]))
    for i in range(h):
        for j in range(w):
            for a in range(kh):
                for b in range(kw):
                    full[i * stride[0] + a * dil[0], j * stride[1] + b * dil[1]] += x[i, j] * k[a, b]
    return full[pad[0]:full.shape[0] - pad[0], pad[1]:full.shape[1] - pad[1]]


def printed(fig: Figure, prefix: str) -> dict[tuple[int, int], str]:
    """The texts printed in a grid, by (row, col), read back through their gids."""
    out = {}
    for text in fig.findobj(Text):
        gid = text.get_gid()
        if gid and gid.startswith(prefix + "-"):
            r, c = gid[len(prefix) + 1:].split("-")
            out[(int(r), int(c))] = text.get_text()
    return out


def as_number(text: str) -> float:
    return float(text.replace(MINUS, "-"))


CASES: list[dict[str, Any]] = [
    {},
    {"kernel": "[[2]]", "input": "3", "stride": "2"},  # 1x1 kernel, stride > kernel
    {"kernel": "[[1,2],[3,4]]", "input": "7", "stride": "3", "padding": "1"},
    {"kernel": "laplacian", "input": "6", "dilation": "2", "padding": "1"},
    {"kernel": "sobel-y", "input": "4x6", "stride": "1x2", "padding": "2x0", "seed": "3"},
    {"kernel": "[[1,-1,2]]", "values": "[[1,2,3,4,5],[5,6,7,8,9]]", "dilation": "1x2"},
]
TRANSPOSED: list[dict[str, Any]] = [
    {"transposed": "yes", "input": "3", "kernel": "[[1,2],[0,-1]]", "stride": "2"},
    {"transposed": "yes", "input": "3", "kernel": "sobel-x", "stride": "1"},  # overlapping sums
    {"transposed": "yes", "input": "2x3", "kernel": "[[1,2],[3,4]]", "stride": "2",
     "padding": "1", "output_padding": "1"},
    {"transposed": "yes", "input": "2", "kernel": "[[1,0,2]]", "dilation": "2", "stride": "3"},
]


@pytest.mark.parametrize("given", CASES)
def test_output_grid_prints_the_plain_loop_convolution(given: dict[str, Any]) -> None:
    options = KIND.resolve(given)
    rendered = KIND.render(None, given, LIGHT)
    drawn = rendered.animation_frames()
    x = np.array(rendered.numbers["input"])
    k = np.array(rendered.numbers["kernel"])
    ref = conv_loop(x, k, options["stride"], options["padding"], options["dilation"])
    np.testing.assert_allclose(np.array(rendered.numbers["output"]), ref, atol=1e-9)
    # the last frame shows the whole output, every value as printed text
    last = printed(drawn[-1], "panel0-output")
    assert len(last) == ref.size
    for (r, c), text in last.items():
        assert as_number(text) == pytest.approx(ref[r, c], abs=0.006)
    # frame t shows exactly the outputs computed up to its step (row-major), the rest empty
    for step, frame in zip(rendered.numbers["frame_steps"], drawn, strict=True):
        cells = printed(frame, "panel0-output")
        assert sorted(cells) == [divmod(i, ref.shape[1]) for i in range(step + 1)]
    # the padded input is printed around the real input
    p0, p1 = options["padding"]
    shown = printed(drawn[0], "panel0-input")
    for (r, c), text in shown.items():
        inside = p0 <= r < p0 + x.shape[0] and p1 <= c < p1 + x.shape[1]
        assert as_number(text) == (x[r - p0, c - p1] if inside else 0.0)


@pytest.mark.parametrize("given", TRANSPOSED)
def test_transposed_grid_prints_the_plain_loop_scatter(given: dict[str, Any]) -> None:
    options = KIND.resolve(given)
    rendered = KIND.render(None, given, LIGHT)
    drawn = rendered.animation_frames()
    x = np.array(rendered.numbers["input"])
    k = np.array(rendered.numbers["kernel"])
    ref = tconv_loop(x, k, options["stride"], options["padding"], options["dilation"],
                     options["output_padding"])
    np.testing.assert_allclose(np.array(rendered.numbers["output"]), ref, atol=1e-9)
    p0, p1 = options["padding"]
    last = printed(drawn[-1], "panel0-output")
    for r, c in itertools.product(range(ref.shape[0]), range(ref.shape[1])):
        assert as_number(last[(r + p0, c + p1)]) == pytest.approx(ref[r, c])
    # running sums: after step t, the uncropped output is the scatter of the first t+1 cells
    for t, frame in zip(rendered.numbers["frame_steps"], drawn, strict=True):
        mask = np.zeros_like(x)
        mask.flat[:t + 1] = 1
        partial = tconv_loop(x * mask, k, options["stride"], (0, 0), options["dilation"],
                             options["output_padding"])
        for (r, c), text in printed(frame, "panel0-output").items():
            assert as_number(text) == pytest.approx(partial[r, c])


def _check_sum_lines(lines: list[str]) -> tuple[float, float]:
    """Evaluate '4·1 + 3·0 + 2·(−1)' lines ending '= 3' by hand: (sum of products, total)."""
    body = " ".join(lines).replace(MINUS, "-")
    left, _, right = body.rpartition("=")
    total = 0.0
    for term in left.split("+"):
        a, b = term.strip().split("\u00b7")
        total += float(a) * float(b.strip("()"))
    return total, float(right)


@pytest.mark.parametrize("given", CASES[:5])
def test_written_arithmetic_adds_up(given: dict[str, Any]) -> None:
    rendered = KIND.render(None, given, LIGHT)
    drawn = rendered.animation_frames()
    for frame in drawn:
        lines = [t.get_text() for t in sorted(
            (t for t in frame.findobj(Text) if (t.get_gid() or "").startswith("panel0-sum-")),
            key=lambda t: int(str(t.get_gid()).rsplit("-", 1)[1]))]
        products, total = _check_sum_lines(lines)
        assert products == pytest.approx(total)


def test_window_taps_follow_stride_and_dilation() -> None:
    plan = plan_steps(KIND.resolve({"input": "7", "kernel": "[[1,2],[3,4]]", "stride": "3",
                                    "dilation": "2"}))
    step = plan.steps[2]  # output (1, 0) of a 2x2 output
    assert step.cell == (1, 0)
    assert step.taps == ((3, 0), (3, 2), (5, 0), (5, 2))


def test_panels_show_first_steps_and_last() -> None:
    rendered = KIND.render(None, {"panels": "4"}, LIGHT)
    assert rendered.numbers["shown_steps"] == [0, 1, 2, 8]
    for n, step in enumerate([0, 1, 2, 8]):
        assert len(printed(rendered.figure, f"panel{n}-output")) == step + 1
    auto = KIND.render(None, {}, LIGHT)
    assert auto.numbers["shown_steps"] == [0, 1, 8]  # three panels fit one row of the page
    assert auto.figure.get_size_inches()[0] <= 7.0


def test_values_format() -> None:
    assert fmt_value(-3.0, True) == f"{MINUS}3"
    assert fmt_value(0.0751, False) == "0.08"
    assert fmt_value(1.189, False) == "1.19"
    assert fmt_value(-0.0001, False) == "0"
    rendered = KIND.render(None, {"kernel": "gaussian(3, 1)", "input": "4"}, LIGHT)
    drawn = rendered.animation_frames()
    sums = [t.get_text() for t in drawn[0].findobj(Text)
            if (t.get_gid() or "").startswith("panel0-sum-")]
    assert sums[-1].startswith("\u2248 ")  # rounded products: an approximate sum


AWKWARD = CASES + TRANSPOSED + [
    {"kernel": "gaussian(3, 1)", "input": "6", "padding": "1"},
    {"kernel": "random(5, 1)", "input": "10", "padding": "1", "panels": "2"},
    {"kernel": "[[100,-100],[-100,100]]", "values": "[[255,0,255],[0,255,0],[255,0,255]]"},
    {"panels": "12", "input": "3", "kernel": "[[1]]"},
]


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
@pytest.mark.parametrize("given", AWKWARD)
def test_layout_is_clean(given: dict[str, Any], theme: Any) -> None:
    rendered = KIND.render(None, given, theme)
    drawn = rendered.animation_frames()
    for fig in (rendered.figure, drawn[0], drawn[-1]):
        assert text_overlaps(fig) == []
        assert texts_outside(fig) == []
        for text in fig.findobj(Text):
            if text.get_text().strip():
                assert float(text.get_fontsize()) >= 8
    sizes = {tuple(f.get_size_inches()) for f in drawn}
    assert len(sizes) == 1  # every frame the same size: the animation does not jump


def test_deterministic_bytes_and_gif() -> None:
    from PIL import Image

    a = KIND.render(None, {"padding": "1", "stride": "2"}, DARK)
    assert a.frames == ()  # frames are drawn only for an animation
    b = KIND.render(None, {"padding": "1", "stride": "2"}, DARK)
    for fmt in ("svg", "png", "pdf"):
        assert figure_bytes(a.figure, fmt) == figure_bytes(b.figure, fmt)
    frames = a.animation_frames()
    gif = animation_bytes(a, "gif")
    assert gif == animation_bytes(b, "gif")
    im = Image.open(io.BytesIO(gif))
    assert im.format == "GIF" and getattr(im, "n_frames", 1) == len(frames) == a.numbers["steps"]
    assert im.info["loop"] == 0
    apng = animation_bytes(a, "png")
    assert getattr(Image.open(io.BytesIO(apng)), "n_frames", 1) == len(frames)
    with pytest.raises(ValueError, match="allowed: gif, png"):
        animation_bytes(a, "svg")


def _gif_frames(gif: bytes) -> list[np.ndarray]:
    from PIL import Image

    im = Image.open(io.BytesIO(gif))
    out = []
    for n in range(getattr(im, "n_frames", 1)):
        im.seek(n)
        out.append(np.asarray(im.convert("RGB")).astype(int))
    return out


@pytest.mark.parametrize(("theme", "page"), [(LIGHT, (255, 255, 255)), (DARK, (0x13, 0x14, 0x16))],
                         ids=["light", "dark"])
def test_gif_is_the_svg_size_on_the_exact_page_colour(theme: Any, page: tuple[int, ...]) -> None:
    """96 dpi: the GIF shows at the CSS size of the SVG (which is sized in points: 72 pt = 1 in =
    96 px); its margins are exactly the page colour (no grey box on the page)."""
    rendered = KIND.render(None, {"input": "6", "dilation": "2"}, theme)
    drawn = rendered.animation_frames()
    assert GIF_DPI == 96
    frames = _gif_frames(animation_bytes(rendered, "gif"))
    width_in, height_in = drawn[0].get_size_inches()
    height_px, width_px = frames[0].shape[:2]
    assert abs(height_px - height_in * 96) < 1 and abs(width_px - width_in * 96) < 1
    svg = figure_bytes(drawn[0], "svg").decode()
    match = re.search(r'<svg[^>]* width="([0-9.]+)pt"', svg)
    assert match is not None
    width_pt = float(match.group(1))
    assert abs(width_px - width_pt * 96 / 72) < 1  # browsers show 1 pt as 96/72 px
    for rgb in frames:
        for corner in (rgb[0, 0], rgb[-1, -1], rgb[0, -1], rgb[-1, 0]):
            assert tuple(corner) == page
        # the page colour is the most common pixel, exactly
        colours, counts = np.unique(rgb.reshape(-1, 3), axis=0, return_counts=True)
        assert tuple(colours[counts.argmax()]) == page


@pytest.mark.parametrize("given", [CASES[0], CASES[3], TRANSPOSED[1]])
def test_gif_frames_match_a_plain_drawing(given: dict[str, Any]) -> None:
    """Texts drawn once and laid over later frames give the pixels of drawing every frame whole;
    the GIF's palette keeps them within a few levels."""
    from PIL import Image

    from rfdocs.figures.steps import _draw_rgba

    rendered = KIND.render(None, given, LIGHT)
    drawn = rendered.animation_frames()
    fast = frames_rgba(drawn, LIGHT.bg, GIF_DPI)
    gif = _gif_frames(animation_bytes(rendered, "gif"))
    for fig, layered, decoded in zip(drawn, fast, gif, strict=True):
        whole = _draw_rgba(fig, GIF_DPI)
        plain = np.asarray(Image.alpha_composite(Image.new("RGBA", whole.size, LIGHT.bg), whole))
        plain = plain[:, :, :3].astype(int)
        assert np.abs(np.asarray(layered)[:, :, :3].astype(int) - plain).max() <= 3
        error = np.abs(decoded - plain)
        assert error.mean() < 0.5 and np.percentile(error, 99.9) <= 24
    for fig in drawn:  # drawing left every artist visible
        assert all(t.get_visible() for t in fig.texts) and all(a.get_visible() for a in fig.artists)


def test_long_convolutions_animate_evenly_sampled_steps() -> None:
    assert frame_steps(9) == list(range(9))
    assert frame_steps(MAX_FRAMES) == list(range(MAX_FRAMES))
    for total in (MAX_FRAMES + 1, 36, 64, 100):
        steps = frame_steps(total)
        assert len(steps) == MAX_FRAMES and steps[0] == 0 and steps[-1] == total - 1
        gaps = np.diff(steps)
        assert gaps.min() >= 1 and gaps.max() - gaps.min() <= 1  # evenly spaced
    rendered = KIND.render(None, {"input": "10", "kernel": "random(5, 1)", "padding": "1"}, LIGHT)
    drawn = rendered.animation_frames()
    assert rendered.numbers["steps"] == 64
    assert rendered.numbers["frame_steps"] == frame_steps(64)
    assert len(drawn) == MAX_FRAMES <= 20
    headers = [t.get_text() for f in drawn for t in f.texts
               if t.get_text().startswith("step ")]
    assert headers[0].startswith("step 1 of 64:") and headers[-1].startswith("step 64 of 64:")
    assert [int(h.split()[1]) for h in headers] == [i + 1 for i in frame_steps(64)]
    gif = animation_bytes(rendered, "gif")
    assert len(_gif_frames(gif)) == MAX_FRAMES
    assert len(gif) < 800_000  # was 1.9 MB at 150 dpi and 40 frames


def _extent(fig: Figure, gid_prefix: str) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.transforms import Bbox

    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.texts
             if (t.get_gid() or "").startswith(gid_prefix)]
    return Bbox.union(boxes)


@pytest.mark.parametrize("given", CASES + TRANSPOSED + [
    {"input": "10", "kernel": "random(5, 1)", "padding": "1"}])
def test_output_label_sits_by_the_output_grid(given: dict[str, Any]) -> None:
    """'output' is beside the output grid (left of it, level with it) or just above it, in every
    panel of the strip and in the frames, not off in the kernel's column."""
    rendered = KIND.render(None, given, LIGHT)
    drawn = rendered.animation_frames()
    last_panel = len(rendered.numbers["shown_steps"]) - 1  # the last step: every value printed
    for fig, n in [(rendered.figure, last_panel), (drawn[-1], 0)]:
        assert len([t for t in fig.texts if t.get_text() == "output"]) == (
            last_panel + 1 if fig is rendered.figure else 1)  # one label per panel
        labels = [t for t in fig.texts if t.get_gid() == f"panel{n}-outlabel"]
        assert len(labels) == 1 and labels[0].get_text() == "output"
        label = _extent(fig, f"panel{n}-outlabel")
        grid = _extent(fig, f"panel{n}-output-")  # the label and the printed values
        values = _extent(fig, f"panel{n}-output-0-")  # the first row's values
        near = 0.22 * fig.dpi  # display pixels in 0.22 in (values are centred in their cells)
        beside = label.x1 <= values.x0 < label.x1 + near and (
            grid.y0 <= (label.y0 + label.y1) / 2 <= grid.y1)
        above = values.y1 <= label.y0 < values.y1 + 1.5 * near and (
            grid.x0 <= (label.x0 + label.x1) / 2 <= grid.x1)
        assert beside or above, (given, n)


def test_alt_text_states_the_result() -> None:
    rendered = KIND.render(None, {"values": "[[1,2],[3,4]]", "kernel": "[[1]]"}, LIGHT)
    assert rendered.alt == ("Convolution of a 2×2 input with a 1×1 kernel → 2×2 output, 4 steps; "
                            "output values (row by row): 1, 2, 3, 4.")


@pytest.mark.parametrize(("given", "option", "words"), [
    ({"kernel": "sobel"}, "kernel", "unknown kernel 'sobel'"),
    ({"kernel": "box(9)"}, "kernel", "at most 7×7"),
    ({"kernel": "[[1,2],[3]]"}, "kernel", "different lengths"),
    ({"values": "[[1,2],[3,x]]"}, "values", "only numbers"),
    ({"values": "[" + ",".join(["[1]"] * 11) + "]"}, "values", "at most 10×10"),
    ({"stride": "0"}, "stride", "each 1 to 6"),
    ({"input": "11"}, "input", "each 1 to 10"),
    ({"panels": "13"}, "panels", "0 (automatic) to 12"),
    ({"transposed": "maybe"}, "transposed", "yes/no"),
    ({"input": "2", "kernel": "sobel-x"}, "kernel", "more than the padded 2×2 input"),
    ({"transposed": "yes", "stride": "2", "output_padding": "2"}, "output_padding",
     "less than the stride"),
    ({"transposed": "yes", "input": "1", "kernel": "[[1]]", "padding": "1"}, "padding",
     "crops away the whole"),
    ({"colour": "yes"}, "colour", "unknown option; allowed:"),
    ({"input": "10", "padding": "2"}, "padding", "padded input would be 14×14 cells; at most 12"),
])
def test_bad_options_name_themselves(given: Mapping[str, Any], option: str, words: str) -> None:
    with pytest.raises(OptionError) as info:
        KIND.render(None, given, LIGHT)
    assert info.value.option == option
    assert words in str(info.value)


def test_a_network_shows_its_first_convolution() -> None:
    """The first conv's kernel, stride and padding replace the options: the same plan as the
    options that say so; a learned filter's numbers are written out as they are."""
    from dataclasses import replace

    from rfdocs.compute import parse_spec
    from rfdocs.figures.steps import plan_steps

    net = parse_spec("input 16x16x1\nconv1: conv 3x3 /2 pad 1 x2 weights sobel-x,laplacian\n"
                     "relu1: relu\nconv2: conv 9x9 pad 4 x2\n")
    by_net = KIND.render(net, {"filter": "1", "seed": "4"}, LIGHT)
    by_options = KIND.render(None, {"kernel": "laplacian", "stride": "2", "padding": "1",
                                    "seed": "4"}, LIGHT)
    for key in ("input", "kernel", "output", "stride", "padding", "steps"):
        assert by_net.numbers[key] == by_options.numbers[key], key
    assert "with the 3×3 kernel of conv1 (filter 1)" in by_net.alt
    weight = np.arange(2 * 2 * 3 * 1, dtype=np.float32).reshape(2, 2, 3, 1) / 10
    learned = replace(parse_spec("input 8x8x3\nc: conv 2x2 x1\n"),
                      params={"c": {"weight": weight}})
    plan = plan_steps(KIND.resolve({"channel": "2"}), learned)
    np.testing.assert_allclose(plan.kernel, weight[:, :, 2, 0])
    with pytest.raises(OptionError, match="too large to write out"):
        KIND.render(net, {"layer": "conv2"}, LIGHT)
    with pytest.raises(OptionError, match="has 2 filters: 0 to 1"):
        KIND.render(net, {"filter": "2"}, LIGHT)


# --- sequences: the first convolution of a 1-D network ----------------------------------------


def correlate_1d(x: np.ndarray, k: np.ndarray, stride: int, before: int, after: int,
                 dil: int) -> np.ndarray:
    """Cross-correlation of a padded sequence with a dilated kernel, by numpy slicing."""
    xp = np.concatenate([np.zeros(before), x, np.zeros(after)])
    span = dil * (len(k) - 1) + 1
    starts = np.arange(0, len(xp) - span + 1, stride)
    return np.array([float(np.dot(xp[s:s + span:dil], k)) for s in starts])


SEQUENCES = [
    ("input 12x1\nc1: conv 3 x4 dil 2 causal\nc2: conv 2 x4 dil 4 causal", {}, (4, 0)),
    ("input 12x2\nc1: conv 2 x3 dil 4 causal", {"length": "9", "filter": "2", "channel": "1"},
     (4, 0)),
    ("input 12x1\nc1: conv 5 /2 x2 pad 2", {"values": "[1,2,0,3,1,4,2,0]"}, (2, 2)),
    ("input 12x1\nc1: conv 4 x2 pad 1,2", {"length": "7", "seed": "5"}, (1, 2)),
    ("input 12x1\nc1: conv 3 x2", {"length": "6"}, (0, 0)),
]


@pytest.mark.parametrize(("spec", "given", "pads"), SEQUENCES)
def test_sequence_outputs_are_a_direct_numpy_correlation(spec: str, given: dict[str, Any],
                                                          pads: tuple[int, int]) -> None:
    from rfdocs.compute import parse_spec
    from rfdocs.compute.forward import layer_weights

    net = parse_spec(spec)
    layer = net.layers[0]
    rendered = KIND.render(net, given, LIGHT)
    options = KIND.resolve(given)
    x = np.array(rendered.numbers["input"])
    if options["values"]:
        assert x.tolist() == [1, 2, 0, 3, 1, 4, 2, 0]
    else:
        assert len(x) == options["length"]
    w = np.asarray(layer_weights(net, seed=options["seed"])[layer.name]["weight"])
    k = w[:, options["channel"], options["filter"]]
    np.testing.assert_allclose(rendered.numbers["kernel"], k)
    assert rendered.numbers["padding"] == list(pads)
    ref = correlate_1d(x, k, layer.stride[0], *pads, layer.dilation[0])
    np.testing.assert_allclose(rendered.numbers["output"], ref, atol=1e-12)
    frames = rendered.animation_frames()
    last = printed(frames[-1], "panel0-output")
    assert sorted(c for _, c in last) == list(range(len(ref)))
    for (r, c), text in last.items():
        assert r == 0 and as_number(text) == pytest.approx(ref[c], abs=0.006)
    # frame t shows the outputs up to its step; the input row is the padded sequence
    for step, frame in zip(rendered.numbers["frame_steps"], frames, strict=True):
        assert sorted(c for _, c in printed(frame, "panel0-output")) == list(range(step + 1))
    shown = printed(frames[0], "panel0-input")
    padded = np.concatenate([np.zeros(pads[0]), x, np.zeros(pads[1])])
    assert [as_number(shown[(0, c)]) for c in range(len(padded))] == pytest.approx(padded,
                                                                                  abs=0.006)
    # time steps are numbered under the real cells only
    indices = {t.get_gid(): t.get_text() for t in frames[0].texts
               if (t.get_gid() or "").startswith("panel0-t-")}
    assert sorted(int(v) for v in indices.values()) == list(range(len(x)))
    assert rendered.alt.startswith("Convolution of a sequence of ")
    assert f"{len(ref)} steps" in rendered.alt


def test_causal_outputs_stand_under_the_newest_input_they_read() -> None:
    from rfdocs.compute import parse_spec

    net = parse_spec("input 12x1\nc1: conv 2 x1 dil 4 causal")
    rendered = KIND.render(net, {"length": "8"}, LIGHT)
    fig = rendered.animation_frames()[-1]
    for t in range(8):
        out, idx = _extent(fig, f"panel0-output-0-{t}"), _extent(fig, f"panel0-t-{t}")
        assert abs((out.x0 + out.x1) / 2 - (idx.x0 + idx.x1) / 2) < 1.0
    assert "causal padding 4" in rendered.alt
    assert rendered.numbers["causal"] is True


@pytest.mark.parametrize("theme", [LIGHT, DARK])
def test_sequence_layout_is_clean_and_deterministic(theme: Any) -> None:
    from rfdocs.compute import parse_spec

    net = parse_spec("input 16x1\nc1: conv 3 x2 dil 2 causal")
    for given in ({}, {"length": "16"}, {"values": "[10,-20,30,40]"}):
        fig = KIND.render(net, given, theme).figure
        assert text_overlaps(fig) == []
        assert texts_outside(fig) == []
    a = figure_bytes(KIND.render(net, {}, theme).figure, "svg")
    assert a == figure_bytes(KIND.render(net, {}, theme).figure, "svg")


def test_sequence_refusals_and_budget() -> None:
    from rfdocs.compute import parse_spec
    from rfdocs.figures.base import DimensionError

    net = parse_spec("input 12x1\nc1: conv 3 x2 dil 4 causal")
    with pytest.raises(OptionError, match="one row"):
        KIND.render(net, {"values": "[[1,2],[3,4]]"}, LIGHT)
    with pytest.raises(OptionError, match="padded input would be 1×24"):
        KIND.render(net, {"length": "16"}, LIGHT)
    with pytest.raises(OptionError, match="too long"):
        KIND.render(parse_spec("input 40x1\nc1: conv 11 x2"), {}, LIGHT)
    cost = KIND.estimate(net, {})
    with pytest.raises(OptionError, match="max_work"):
        KIND.render(net, {"max_work": str(cost.work // 2)}, LIGHT)
    KIND.render(net, {"max_work": str(cost.work)}, LIGHT)
    with pytest.raises(DimensionError, match="1-D or 2-D"):
        KIND.render(parse_spec("input 4x8x8x1\nc1: conv 3 x2"), {}, LIGHT)
