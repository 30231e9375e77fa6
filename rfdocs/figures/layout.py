"""Geometry checks on drawn figures: text bounding boxes that overlap, text outside the canvas."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox


def text_boxes(fig: Figure) -> list[tuple[str, Bbox]]:
    """Display-space bounding boxes of every visible, non-empty text in the figure."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # type: ignore[no-untyped-call]
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    out = []
    for artist in fig.findobj(Text):
        if not artist.get_visible() or not artist.get_text().strip():
            continue
        out.append((artist.get_text(), artist.get_window_extent(renderer)))
    return out


def text_overlaps(fig: Figure, pad: float = 0.0) -> list[tuple[str, str]]:
    """Pairs of texts whose boxes overlap (``pad`` display pixels of slack)."""
    boxes = text_boxes(fig)
    hits = []
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            if (box_a.x0 < box_b.x1 - pad and box_b.x0 < box_a.x1 - pad
                    and box_a.y0 < box_b.y1 - pad and box_b.y0 < box_a.y1 - pad):
                hits.append((a, b))
    return hits


def texts_outside(fig: Figure) -> list[str]:
    """Texts that stick out of the canvas (clipped in the saved image)."""
    out = []
    width, height = fig.bbox.width, fig.bbox.height
    for text, box in text_boxes(fig):
        if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
            out.append(text)
    return out
