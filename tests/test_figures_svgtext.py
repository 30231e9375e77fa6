"""The SVG writer that remembers text layouts writes matplotlib's own bytes, byte for byte."""

from __future__ import annotations

import io

import matplotlib
import pytest
from matplotlib.figure import Figure

from rfdocs.figures import KIND_MODULES, THEMES, get_kind
from rfdocs.figures.output import _METADATA, figure_bytes
from rfdocs.figures.svgtext import _GLYPHS, _SIZES, clear_caches


def stock_svg(fig: Figure) -> bytes:
    """What matplotlib's own SVG canvas writes, with figure_bytes' settings."""
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "rfdocs", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", dpi=150, metadata=_METADATA["svg"], transparent=True)
    return buf.getvalue()


@pytest.mark.parametrize("name", list(KIND_MODULES))
def test_every_kind_is_written_as_matplotlib_writes_it(name: str) -> None:
    kind = get_kind(name)
    for theme in THEMES.values():
        fig = kind.render(None, {}, theme).figure
        canvas = fig.canvas
        ours = figure_bytes(fig, "svg")
        assert fig.canvas is canvas  # the figure's canvas is given back
        assert ours == stock_svg(fig)
        assert figure_bytes(fig, "svg") == ours  # again, from what was remembered


def _texts(fig: Figure) -> None:
    """The same strings in other fonts, sizes (placed by their size), angles, colours;
    mathtext; glyphs that only some strings use; a string that differs in its last glyph."""
    for i, (text, extra) in enumerate([
            ("conv1 3×3 / 1", {}), ("conv1 3×3 / 1", {"fontweight": "bold"}),
            ("conv1 3×3 / 1", {"fontsize": 14, "ha": "center", "va": "top"}),
            ("conv1 3×3 / 1", {"rotation": 90}),
            ("conv1 3×3 / 1", {"style": "italic", "color": "#D55E00", "alpha": 0.5}),
            ("conv1 3×3 / 2", {}), ("−0.25…1e−3 AVfi ", {}), ("$r_{k} = 2^{n}$", {}),
            ("two\nlines", {"family": "monospace"}), ("", {})]):
        fig.text(0.05 + 0.08 * (i % 2), 0.05 + 0.09 * i, text, **extra)


def test_mixed_texts_match_with_and_without_remembered_layouts() -> None:
    clear_caches()
    first = Figure(figsize=(3, 4))
    _texts(first)
    cold = figure_bytes(first, "svg")
    assert _GLYPHS.items and _SIZES.items  # layouts were remembered ...
    assert cold == stock_svg(first)
    second = Figure(figsize=(3, 4))  # ... and are used by another figure
    _texts(second)
    second.text(0.9, 0.5, "conv1 3×3 / 2", fontsize=11, ha="right", va="center")  # new size
    warm = figure_bytes(second, "svg")
    assert warm == stock_svg(second)
    assert warm != cold


def test_a_full_memo_forgets_its_oldest_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_caches()
    monkeypatch.setattr(_GLYPHS, "size", 3)
    fig = Figure(figsize=(2, 2))
    for i in range(6):
        fig.text(0.1, 0.15 * i, f"label {i}")
    assert figure_bytes(fig, "svg") == stock_svg(fig)
    assert len(_GLYPHS.items) == 3
    assert [key[1] for key in _GLYPHS.items] == ["label 3", "label 4", "label 5"]


def test_remembered_measurements_follow_the_font_settings() -> None:
    from rfdocs.figures.geometry import Sheet
    from rfdocs.figures.marks import MEASURED, text_width_in

    MEASURED.items.clear()
    sans = (text_width_in("receptive field 3×3", 9.0), Sheet(THEMES["light"]).measure("conv1 x64"))
    assert MEASURED.items  # remembered ...
    assert (text_width_in("receptive field 3×3", 9.0),
            Sheet(THEMES["light"]).measure("conv1 x64")) == sans  # ... and given back
    with matplotlib.rc_context({"font.family": "monospace"}):
        mono = (text_width_in("receptive field 3×3", 9.0), Sheet(THEMES["light"]).measure("conv1 x64"))
        MEASURED.items.clear()
        fresh = (text_width_in("receptive field 3×3", 9.0), Sheet(THEMES["light"]).measure("conv1 x64"))
    assert mono == fresh
    assert mono[0] != sans[0] and mono[1][0] != sans[1][0]


def test_agg_canvas_draws_the_pixels_matplotlib_draws() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from rfdocs.figures.aggtext import AggCanvas
    from rfdocs.figures.marks import MEASURED

    def pixels(canvas_class: type, fig: Figure) -> bytes:
        canvas = canvas_class(fig)
        canvas.draw()
        return bytes(canvas.buffer_rgba())

    MEASURED.items.clear()
    frames = get_kind("steps").render(None, {}, THEMES["dark"]).animation_frames()
    for fig in (frames[0], frames[-1], _mixed_figure()):
        fig.set_dpi(96)
        stock = pixels(FigureCanvasAgg, fig)
        assert pixels(AggCanvas, fig) == stock  # measured afresh ...
        assert pixels(AggCanvas, fig) == stock  # ... and remembered


def _mixed_figure() -> Figure:
    fig = Figure(figsize=(3, 4))
    _texts(fig)
    return fig
