"""SVG writing with text as glyph paths, its layouts remembered across figures.

matplotlib's SVG backend lays out every text again for each file it writes (shaping, loading
each glyph, measuring), though a site draws the same labels ("0", "input", "3×3") in figure
after figure and in a light and a dark variant; about half of writing a figure went there.
``SVGCanvas`` writes exactly the bytes ``FigureCanvasSVG`` writes (the glyph definitions and
their ``<use>`` references are unchanged: the page looks the same without the fonts), but
its text-to-path converter remembers, per process, each string's glyph layout and glyph
outlines and each text's measured size: pure functions of the font file, the string and the
size, computed by matplotlib itself on first use.
"""

from __future__ import annotations

import codecs
import io
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from matplotlib import cbook
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import FigureCanvasSVG, RendererSVG
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

from rfdocs.figures.marks import prop_key

#: Distinct strings (per font and shaping options) and sized texts remembered: a large site
#: uses a few thousand; past this the oldest are forgotten.
MAX_ENTRIES = 20_000

Glyphs = tuple[list[tuple[str, float, float, float]], dict[str, Any]]


class _Memo:
    """A bounded dict that forgets its oldest entries first (plain data, no locking needed:
    a build draws in one thread per process)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: dict[Hashable, Any] = {}

    def get(self, key: Hashable) -> Any:
        return self.items.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        if len(self.items) >= self.size:
            del self.items[next(iter(self.items))]
        self.items[key] = value


_GLYPHS = _Memo(MAX_ENTRIES)  # (font, string, shaping options) -> glyph layout and outlines
_OUTLINES = _Memo(MAX_ENTRIES)  # (font, glyph name) -> outline, shared by the strings using it
_SIZES = _Memo(MAX_ENTRIES)  # (font, string, points) -> width, height, descent


class CachedTextToPath(TextToPath):
    """``TextToPath`` with plain-text layouts remembered (mathtext and TeX as before).

    Fonts are looked up once per renderer (the rcParams naming them cannot change while one
    figure is written); layouts and sizes are shared by every renderer in the process, keyed
    on the font object itself, which matplotlib's font cache keeps per font file."""

    def __init__(self) -> None:
        super().__init__()
        self._fonts: dict[tuple[Any, ...], Any] = {}

    def _get_font(self, prop: FontProperties) -> Any:
        key = prop_key(prop)
        font = self._fonts.get(key)
        if font is None:
            font = self._fonts[key] = super()._get_font(prop)  # type: ignore[misc]
        else:
            font.set_size(self.FONT_SCALE, self.DPI)  # the font object is shared: size it again
        return font

    def get_text_width_height_descent(self, s: str, prop: FontProperties,
                                      ismath: Any) -> tuple[float, float, float]:
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        key = (self._get_font(prop), s, prop.get_size_in_points())
        size = _SIZES.get(key)
        if size is None:
            size = super().get_text_width_height_descent(s, prop, ismath)
            _SIZES.put(key, size)
        return size  # type: ignore[no-any-return]

    def get_glyphs_with_font(self, font: Any, s: str, glyph_map: dict[str, Any] | None = None,
                             return_new_glyphs_only: bool = False, **shaping: Any) -> Any:
        try:
            key = (font, s, tuple(sorted(shaping.items())))
            hash(key)
        except TypeError:  # shaping options that cannot be remembered: matplotlib's own way
            return super().get_glyphs_with_font(font, s, glyph_map, return_new_glyphs_only,
                                                **shaping)
        hit: Glyphs | None = _GLYPHS.get(key)
        if hit is None:
            info, outlines, _ = super().get_glyphs_with_font(font, s, **shaping)
            shared = {}
            for name, (vertices, codes) in outlines.items():  # one copy of each glyph's outline
                outline = _OUTLINES.get((font, name))
                if outline is None:
                    vertices.flags.writeable = codes.flags.writeable = False  # shared from now on
                    outline = (vertices, codes)
                    _OUTLINES.put((font, name), outline)
                shared[name] = outline
            hit = (list(info), shared)
            _GLYPHS.put(key, hit)
        info, outlines = hit
        # what TextToPath.get_glyphs_with_font returns for these arguments
        if glyph_map is None:
            glyph_map = OrderedDict()
        new = OrderedDict() if return_new_glyphs_only else glyph_map
        for name, *_ in info:
            if name not in glyph_map:
                new[name] = outlines[name]
        return list(info), new, []


class _Renderer(RendererSVG):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        self._text2path = CachedTextToPath()


class SVGCanvas(FigureCanvasSVG):
    """``FigureCanvasSVG`` drawing with the remembering text converter (same bytes)."""

    def print_svg(self, filename: Any, *, bbox_inches_restore: Any = None,
                  metadata: dict[str, Any] | None = None, **_: Any) -> None:
        # FigureCanvasSVG.print_svg (matplotlib 3.8 to 3.11) with our renderer
        with cbook.open_file_cm(filename, "w", encoding="utf-8") as opened:
            fh: Any = opened
            if not cbook.file_requires_unicode(fh):
                fh = codecs.getwriter("utf-8")(fh)
            dpi = self.figure.dpi
            self.figure.dpi = 72
            width, height = self.figure.get_size_inches()
            w, h = width * 72, height * 72
            renderer: Any = MixedModeRenderer(  # type: ignore[no-untyped-call]
                self.figure, width, height, dpi,
                _Renderer(w, h, fh, image_dpi=dpi, metadata=metadata),
                bbox_inches_restore=bbox_inches_restore)
            self.figure.draw(renderer)
            renderer.finalize()


def svg_text(fig: Figure, **savefig: Any) -> str:
    """``fig.savefig(format="svg", **savefig)`` through ``SVGCanvas``, as text; the figure's
    own canvas is given back afterwards."""
    canvas = fig.canvas
    out = io.StringIO()  # matplotlib writes text: no UTF-8 codec between it and the buffer
    try:
        SVGCanvas(fig)
        fig.savefig(out, format="svg", **savefig)
    finally:
        fig.set_canvas(canvas)
    return out.getvalue()


def clear_caches() -> None:
    """Forget every remembered layout and size (tests; a process that changes fonts)."""
    _GLYPHS.items.clear()
    _OUTLINES.items.clear()
    _SIZES.items.clear()
