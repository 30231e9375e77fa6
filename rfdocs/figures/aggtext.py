"""An Agg canvas whose renderer remembers text sizes across figures (the animation frames).

Agg lays a text out twice: once to measure it (where it goes), once to draw its glyphs. A
steps animation draws the same labels frame after frame and in a light and a dark variant;
``AggCanvas`` measures each (string, font, size, dpi) once per process. The measurement is
matplotlib's own (``RendererAgg.get_text_width_height_descent``), so the pixels are the same.
"""

from __future__ import annotations

from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.font_manager import FontProperties

from rfdocs.figures.marks import MEASURED, font_settings, prop_key


class MeasuringRendererAgg(RendererAgg):
    """``RendererAgg`` with plain-text measurements remembered (mathtext and TeX as before)."""

    def __init__(self, width: Any, height: Any, dpi: float) -> None:
        super().__init__(width, height, dpi)  # type: ignore[no-untyped-call]
        self._fonts = font_settings()  # fixed while one figure is drawn

    def get_text_width_height_descent(self, s: str, prop: FontProperties,
                                      ismath: Any) -> tuple[float, float, float]:
        if ismath:
            return super().get_text_width_height_descent(  # type: ignore[no-untyped-call,no-any-return]
                s, prop, ismath)

        def measure() -> tuple[float, float, float]:
            return super(MeasuringRendererAgg, self).get_text_width_height_descent(  # type: ignore[no-untyped-call,no-any-return]
                s, prop, ismath)

        key = ("agg-text", self._fonts, prop_key(prop), self.dpi, s)
        return MEASURED.get(key, measure)  # type: ignore[no-any-return]


class AggCanvas(FigureCanvasAgg):
    """``FigureCanvasAgg`` drawing with ``MeasuringRendererAgg`` (the same pixels)."""

    def get_renderer(self) -> RendererAgg:
        renderer = super().get_renderer()  # type: ignore[no-untyped-call]
        if not isinstance(renderer, MeasuringRendererAgg):  # a new size or dpi: made just now
            renderer = self.renderer = MeasuringRendererAgg(renderer.width, renderer.height,
                                                            renderer.dpi)
        return renderer
