"""The figure layer's side of the budgets: the ``max_work`` and ``max_memory`` options every kind
declares, what drawing costs (texts, images, the canvas), and the check that turns an
over-budget estimate into one ``OptionError`` naming what to lower.

Drawing costs are measured, not derived: matplotlib 3.8-3.11 lays out and draws one text in
about half a millisecond (SVG glyph paths or Agg) and keeps about 3 KB per text artist; an
image drawn at less than three output pixels per data pixel is colour-mapped in float64 RGBA
first (about 70 bytes per data pixel), a magnified one is resampled to the output size (about
45 bytes per output pixel); Agg's canvas is 4 bytes per pixel.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.image import AxesImage, BboxImage
from matplotlib.text import Text

from rfdocs.compute.budget import (
    DEFAULT_MAX_MEMORY,
    DEFAULT_MAX_WORK,
    Budget,
    BudgetError,
    Cost,
    alloc,
)
from rfdocs.figures.options import Option, OptionError, int_range

#: Operations one drawn text counts for (layout and glyphs: one to two milliseconds on a busy
#: machine, at one to two nanoseconds an operation).
TEXT_WORK = 600_000
GIF_TEXT_WORK = 250_000  # one text rasterised at a GIF frame's 96 dpi or less
TEXT_BYTES = 6_000  # a Text artist (about 3 KB of objects, as much again of allocator pages)
TEXT_OUTPUT_BYTES = 1_000  # its glyph references in the SVG being written (three copies)
IMAGE_RGBA_BYTES = 70  # per data pixel, drawn smaller than 3 output pixels per data pixel
IMAGE_DATA_BYTES = 12  # per data pixel, drawn larger
IMAGE_OUTPUT_BYTES = 45  # per output pixel of a drawn image
IMAGE_WORK = 60  # operations per data (or output) pixel of a drawn image
CANVAS_BYTES = 6  # per output pixel: Agg's RGBA canvas (4) and its share of the PNG encoder
CANVAS_WORK = 100  # operations per output pixel (filling, compositing, PNG's deflate)
FIGURE_BYTES = 2 << 20  # a figure's fixed share: axes, fonts, renderer state
FIGURE_WORK = 100_000_000  # and its fixed work (about 0.2 s)
#: Allowance for what runs beside the estimated arrays (analysis, matplotlib's state, allocator
#: pages not yet returned): this much, plus this share of the estimated peak.
SLACK_BYTES, SLACK_SHARE = 2 << 20, 0.1
#: The resolution figures are costed at when they are built (figure_bytes' default, and
#: rfdocs_png_dpi's); writing them at another is checked again by ``figure_bytes``.
DRAW_DPI = 150
#: Formats drawn on a raster canvas (PNG; GIF frames are costed by the steps kind).
RASTER = ("png",)

#: The largest budgets the options take (100 trillion operations, 64 TiB): no build needs more.
MAX_WORK_OPTION, MAX_MEMORY_OPTION = 10**14, 1 << 46

BUDGET_OPTIONS = (
    Option("max_work", int_range(1, MAX_WORK_OPTION), DEFAULT_MAX_WORK,
           "a positive integer up to 100 trillion",
           "The most operations (a nanosecond or two each: an array element read or written, "
           f"a result of a matrix product and a share of its depth; a drawn text counting "
           f"{TEXT_WORK:,}) the figure may take before it is refused (in Sphinx the default is "
           "the rfdocs_max_work configuration value)."),
    Option("max_memory", int_range(1, MAX_MEMORY_OPTION), DEFAULT_MAX_MEMORY,
           "a positive number of bytes up to 64 TiB",
           "The most memory, in bytes, the figure may need, estimated before anything is "
           "allocated (in Sphinx the default is the rfdocs_max_memory configuration value)."),
)


def budget_of(options: Mapping[str, Any]) -> Budget:
    """The budget in resolved ``options`` (the defaults where a caller left them out)."""
    return Budget(int(options.get("max_work", DEFAULT_MAX_WORK)),
                  int(options.get("max_memory", DEFAULT_MAX_MEMORY)))


def require(options: Mapping[str, Any], cost: Cost, what: str, lower: Sequence[str]) -> None:
    """Refuse ``cost`` when it is over the budget of ``options``: an OptionError on the budget
    exceeded (``max_work`` or ``max_memory``), saying what to lower (option names like
    'size', shown as ':size:', or words like 'the input size')."""
    try:
        budget_of(options).check(cost, what, [f":{name}:" if name.isidentifier() else name
                                              for name in lower])
    except BudgetError as err:
        raise OptionError(err.option, err.message) from None


def with_slack(cost: Cost) -> Cost:
    """``cost`` with the allowance for what runs beside it (every kind's estimate ends so)."""
    return Cost(cost.work, cost.peak + SLACK_BYTES + int(SLACK_SHARE * cost.peak), cost.kept)


def texts_cost(count: int, kept: bool = True) -> Cost:
    """``count`` texts drawn (and, where ``kept``, their artists held by the figure)."""
    held = TEXT_BYTES * count if kept else 0
    return Cost(TEXT_WORK * count, held + TEXT_OUTPUT_BYTES * count, held)


def image_cost(rows: int, cols: int, width_in: float, height_in: float, dpi: float) -> Cost:
    """One image of rows × cols data pixels drawn into width_in × height_in inches at ``dpi``
    (transient: what matplotlib allocates while it draws it)."""
    out = max(1.0, width_in * dpi) * max(1.0, height_in * dpi)
    data = rows * cols
    magnified = min(width_in * dpi / max(cols, 1), height_in * dpi / max(rows, 1)) >= 3
    per_data = IMAGE_DATA_BYTES if magnified else IMAGE_RGBA_BYTES
    return Cost(int(IMAGE_WORK * (data + out)), int(per_data * data + IMAGE_OUTPUT_BYTES * out), 0)


def canvas_cost(width_in: float, height_in: float, fmt: str, dpi: float) -> Cost:
    """The canvas of a width_in × height_in figure written as ``fmt`` at ``dpi``: Agg's RGBA
    buffer for raster formats, the figure's fixed share for all."""
    fixed = Cost(FIGURE_WORK, FIGURE_BYTES, 0)
    if fmt not in RASTER:
        return fixed
    px = width_in * dpi * height_in * dpi
    return fixed.then(Cost(int(CANVAS_WORK * px), int(CANVAS_BYTES * px), 0))


def drawing_cost(fig: Figure, fmt: str, dpi: float) -> Cost:
    """What writing the built figure ``fig`` as ``fmt`` at ``dpi`` will cost: its canvas, each
    image (the data it holds and its resampling) and each text; read off the artists before
    anything is drawn."""
    width_in, height_in = (float(v) for v in fig.get_size_inches())
    total = canvas_cost(width_in, height_in, fmt, dpi)
    drawn = list(_artists(fig))
    for image in (a for a in drawn if isinstance(a, (AxesImage, BboxImage))):
        data = image.get_array()
        if data is None:
            continue
        box = image.get_window_extent()
        scale = dpi / fig.dpi  # the extent is in display pixels at the figure's own dpi
        rows, cols = data.shape[:2]
        step = image_cost(rows, cols, abs(box.width) * scale / dpi, abs(box.height) * scale / dpi,
                          dpi)
        total = total.then(step)
    texts = sum(1 for t in drawn if isinstance(t, Text) and t.get_visible() and t.get_text())
    return total.then(texts_cost(texts, kept=False))


def _artists(artist: Artist) -> Iterator[Artist]:
    """``artist`` and everything in it, in ``findobj``'s order, but not the x and y axes of
    an Axes whose axis is off: they are not drawn, and walking them would make their ticks
    (a third of what writing a small diagram costs)."""
    children = artist.get_children()
    if isinstance(artist, Axes) and not artist.axison:
        children = [c for c in children if not isinstance(c, Axis)]
    for child in children:
        yield from _artists(child)
    yield artist


#: A network node's share of a diagram (block, growth): its analysis, footprint and walk.
NODE_WORK, NODE_BYTES = 20_000, 16_000
SHAPE_WORK, SHAPE_BYTES = 10_000, 2_000  # one polygon, line or patch


def diagram_cost(nodes: int, texts: int, shapes: int, width_in: float, height_in: float) -> Cost:
    """A diagram of a network of ``nodes`` nodes: ``texts`` texts and ``shapes`` shapes on a
    width_in × height_in canvas drawn at 150 dpi."""
    return with_slack(alloc(NODE_BYTES * nodes, NODE_WORK * nodes)
                      .then(texts_cost(texts))
                      .then(alloc(SHAPE_BYTES * shapes, SHAPE_WORK * shapes))
                      .then(canvas_cost(width_in, height_in, "png", DRAW_DPI)))

