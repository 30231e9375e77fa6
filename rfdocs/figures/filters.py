"""The kernels of a convolution layer as an image grid (the classic "first-layer filters" figure),
and the weights every figure kind reads from a network.

A layer's weights come from the network (``Network.params``: a model's learned numbers), else
from the named kernels its spec gives (``weights sobel-x, gaussian(5, 1.5)``: a 2-D kernel on
``c`` input channels is the kernel divided by ``c`` on every channel, so that it sees the
channel mean; a smaller kernel sits centred in the layer's window), else from seeded He-normal
initialisation (``rfdocs.compute.forward.init_weights``).

Each kernel is one tile of a single image (transparent gutters, one ``imshow``): a kernel over
three input channels is drawn as colour (red, green, blue: the input's channels, in the order
``channel_order`` names), zero at mid-grey, ``0.5 + w / 2m`` per channel with ``m`` the largest
magnitude of that kernel (``scale: each``, the classic view: every kernel's pattern shows) or of
the whole layer (``scale: shared``: magnitudes compare); a kernel over one channel (or the mean
over its channels, ``view: mean``) is drawn on a diverging colour scale centred on 0, with a
colour bar.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import matplotlib
import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.colors import Normalize
from matplotlib.patches import Rectangle
from numpy.typing import NDArray

from rfdocs.compute import Network, SpecError, analyze
from rfdocs.compute.budget import F8, NORMAL, Cost, alloc, temporary
from rfdocs.compute.spec import INPUT_NAME, Layer
from rfdocs.figures.base import FigureKind, Rendered
from rfdocs.figures.cost import (
    BUDGET_OPTIONS,
    DRAW_DPI,
    budget_of,
    canvas_cost,
    image_cost,
    require,
    texts_cost,
    with_slack,
)
from rfdocs.figures.marks import (
    BAR_TICK,
    axes_box,
    colour_bar,
    image_in_box,
    pixel_transform,
    text_width_in,
)
from rfdocs.figures.options import Option, OptionError, choice, flag, int_range, word
from rfdocs.figures.style import Theme, new_figure, text_kwargs
from rfdocs.figures.text import MINUS, TIMES, fmt_num

FloatArray = NDArray[np.float64]

CONV_OPS = ("conv", "deconv")
MAX_KERNELS = 1024  # tiles in one figure
LABELLED_MAX = 32  # up to this many kernels each get a label under the tile
FIG_WIDTH = 7.0
LABEL_PT = 8.0
TITLE_PT = 9.0
MARGIN = 0.08
BAR_W, BAR_GAP, BAR_PAD = 0.12, 0.14, 3.5 / 72


#: The network drawn when a directive names none: six named kernels on a greyscale image.
DEFAULT_SPEC = ("input 32x32x1\nconv1: conv 5x5 x6 weights sobel-x, sobel-y, laplacian, "
                "gaussian(5, 1.5), box(3), emboss\n")


def default_network() -> Network:
    from rfdocs.compute import parse_spec

    return parse_spec(DEFAULT_SPEC)


# --- the weights of a network -------------------------------------------------------------------


def weight_source(net: Network, name: str) -> str:
    """Where layer ``name``'s weights come from: 'learned', 'named' or 'random'."""
    if "weight" in net.params.get(name, {}):
        return "learned"
    return "named" if net.layer(name).weights else "random"


def conv_weights(net: Network, seed: int = 0) -> dict[str, FloatArray]:
    """Weights of every conv and deconv layer (the layout of ``rfdocs.compute.conv``), as
    ``rfdocs.compute.forward.layer_weights`` gives them: the network's params, else its named
    kernels, else He-normal drawn from ``seed`` in layer order."""
    from rfdocs.compute.forward import layer_weights

    numbers = layer_weights(net, seed=seed, dtype=np.float64)
    return {layer.name: np.asarray(numbers[layer.name]["weight"], dtype=np.float64)
            for layer in net.layers if layer.op in CONV_OPS}


def ancestors(net: Network, name: str) -> Network:
    """The network cut after layer ``name``: only the layers it depends on (params kept)."""
    by_name = {layer.name: layer for layer in net.layers}
    if name not in by_name:
        raise KeyError(name)
    needed: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in needed or current == INPUT_NAME:
            continue
        needed.add(current)
        todo.extend(by_name[current].inputs)
    layers = tuple(layer for layer in net.layers if layer.name in needed)
    return replace(net, layers=layers)


def params_digest(net: Network) -> bytes:
    """A digest of the network's params (names, shapes and bytes): they are not part of the
    network's hash, yet decide what a figure shows."""
    digest = hashlib.blake2b(digest_size=16)
    for layer_name in sorted(net.params):
        for param in sorted(net.params[layer_name]):
            a = np.ascontiguousarray(net.params[layer_name][param])
            digest.update(f"{layer_name}/{param}/{a.dtype.str}/{a.shape}".encode())
            digest.update(a.tobytes())
    return digest.digest()


def layer_names(net: Network, ops: Sequence[str] | None = None) -> list[str]:
    return [layer.name for layer in net.layers if ops is None or layer.op in ops]


def pick_layer(net: Network, name: str | None, ops: Sequence[str], what: str,
               option: str = "layer") -> Layer:
    """Layer ``name`` (which must be one of ``ops``), or the first such layer."""
    candidates = [layer for layer in net.layers if layer.op in ops]
    if name is None:
        if not candidates:
            raise OptionError(option, f"the network has no {what}")
        return candidates[0]
    try:
        layer = net.layer(name)
    except KeyError:
        shown = ", ".join(layer.name for layer in candidates[:12])
        more = ", ..." if len(candidates) > 12 else ""
        raise OptionError(option, f"the network has no layer {name!r}; its {what}s are "
                          f"{shown or 'none'}{more}") from None
    if layer.op not in ops:
        raise OptionError(option, f"layer {name!r} is a {layer.op} layer, not a {what}")
    return layer


def in_channels(net: Network, layer: Layer) -> int:
    """The channels of the layer's (first) input."""
    try:
        analysis = analyze(net)
    except SpecError as err:
        raise OptionError("layer", str(err)) from None
    return int(analysis[layer.inputs[0]].shape[2])


# --- options ------------------------------------------------------------------------------------


def _cmap_name(value: Any) -> str:
    text = str(value).strip()
    if text and text not in matplotlib.colormaps:
        raise OptionError("cmap", f"unknown colour map {text!r}; allowed: a matplotlib colour map "
                          "name such as RdBu, PuOr or coolwarm (empty: the theme's)")
    return text


OPTIONS = (
    Option("layer", word, None, "a conv or deconv layer name",
           "The convolution whose kernels are shown (default: the network's first)."),
    Option("view", choice("auto", "rgb", "mean", "channel"), "auto", "auto, rgb, mean or channel",
           "How a kernel over several input channels is drawn. rgb: as a colour image (three "
           "input channels); mean: the mean over its channels on a diverging scale; channel: "
           "one input channel (:channel:) on a diverging scale; auto: rgb for a layer that "
           "reads a colour image (the network's three-channel input), else the one channel or "
           "the mean."),
    Option("channel", int_range(0, 1_000_000), 0, "an input channel index",
           "view channel: which input channel of every kernel is drawn."),
    Option("channel_order", choice("rgb", "bgr"), "rgb", "rgb or bgr",
           "The order of the three input channels (bgr: as Caffe and OpenCV models take them), "
           "so that view rgb shows red as red."),
    Option("scale", choice("each", "shared"), "each", "each or shared",
           "each: every kernel normalised by its own largest magnitude (its pattern shows); "
           "shared: one scale for the whole layer (magnitudes compare)."),
    Option("count", int_range(0, MAX_KERNELS), 0, f"an integer from 0 (all) to {MAX_KERNELS}",
           "Show the first this many kernels (0: all of them)."),
    Option("columns", int_range(0, 64), 0, "an integer from 0 (automatic) to 64",
           "Tiles per row."),
    Option("labels", flag, True, "a flag (yes/no)",
           f"Label each tile (its filter number or kernel name) when there are at most "
           f"{LABELLED_MAX}; more get an indexed grid."),
    Option("seed", int_range(0, 2**31 - 1), 0, "an integer from 0 to 2147483647",
           "Seed of the random weights of layers that have neither learned weights nor named "
           "kernels."),
    Option("cmap", _cmap_name, "", "a matplotlib colour map name",
           "Diverging colour map of single-channel kernels (default: the theme's)."),
    *BUDGET_OPTIONS,
)


# --- computation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kernels:
    """The kernels drawn: ``tiles`` (N, kh, kw, 3) RGB in [0, 1] or (N, kh, kw) signed values."""

    layer: str
    op: str
    source: str  # learned, named or random
    kernel: tuple[int, int]
    channels: int  # input channels of every kernel
    total: int  # filters of the layer (the figure may show fewer)
    view: str  # rgb, mean or channel
    tiles: FloatArray
    labels: tuple[str, ...]
    weights: FloatArray  # (kh, kw, cin, N) of the kernels shown
    limits: tuple[float, float]  # the colour limits of signed views (shared scale)


def resolve_view(view: str, channels: int, reads_image: bool = True) -> str:
    """The view ``auto`` stands for: rgb for kernels over the three channels of a colour
    image (a layer reading the network's input), else the one channel or the mean."""
    if view == "auto":
        if channels == 3 and reads_image:
            return "rgb"
        return "channel" if channels == 1 else "mean"
    if view == "rgb" and channels != 3:
        raise OptionError("view", f"rgb needs kernels over three input channels; these have "
                          f"{channels} (use mean or channel)")
    return view


def kernel_labels(layer: Layer, n: int) -> tuple[str, ...]:
    """A label per kernel: its name where the spec names them, else its filter number."""
    if layer.weights:
        specs = layer.weights if len(layer.weights) > 1 else layer.weights * n
        return tuple(specs[:n])
    return tuple(str(i) for i in range(n))


def compute_kernels(net: Network, options: Mapping[str, Any]) -> Kernels:
    layer = pick_layer(net, options["layer"], CONV_OPS, "convolution")
    cut = ancestors(net, layer.name)
    in_channels(cut, layer)  # the analysis runs: a network that cannot is refused here
    source = weight_source(cut, layer.name)
    w = conv_weights(cut, options["seed"])[layer.name]
    if w.ndim != 4:
        raise OptionError("layer", f"layer {layer.name!r} has weights of shape {w.shape}, not "
                          "(kh, kw, channels, filters)")
    total = int(w.shape[3])
    n = total if options["count"] == 0 else min(total, options["count"])
    w = w[:, :, :, :n]
    per = int(w.shape[2])
    view = resolve_view(options["view"], per, layer.inputs[0] == INPUT_NAME)
    if view == "channel" and options["channel"] >= per:
        raise OptionError("channel", f"the kernels of {layer.name} have {per} input channel"
                          f"{'s' if per != 1 else ''}: 0 to {per - 1}")
    labels = kernel_labels(layer, n)
    if view == "rgb":
        rgb = w if options["channel_order"] == "rgb" else w[:, :, ::-1, :]
        tiles = np.moveaxis(rgb, 3, 0)  # (N, kh, kw, 3)
        if options["scale"] == "each":
            m = np.abs(tiles).reshape(n, -1).max(axis=1)[:, None, None, None]
        else:
            m = np.full((n, 1, 1, 1), float(np.abs(tiles).max()))
        drawn = 0.5 + np.divide(tiles, 2 * m, out=np.zeros_like(tiles), where=m > 0)
        limits = (-1.0, 1.0)
    else:
        flat = w.mean(axis=2) if view == "mean" else w[:, :, options["channel"], :]
        tiles = np.moveaxis(flat, 2, 0)  # (N, kh, kw)
        if options["scale"] == "each":
            m = np.abs(tiles).reshape(n, -1).max(axis=1)[:, None, None]
            drawn = np.divide(tiles, m, out=np.zeros_like(tiles), where=m > 0)
            limits = (-1.0, 1.0)
        else:
            top = float(np.abs(tiles).max()) or 1.0
            drawn, limits = tiles, (-top, top)
    return Kernels(layer.name, layer.op, source, (int(w.shape[0]), int(w.shape[1])), per, total,
                   view, np.ascontiguousarray(drawn), labels, w, limits)


# --- drawing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    columns: int
    rows: int
    gap: int  # pixels between tiles
    scale: float  # inches per kernel pixel
    label_h: float
    top_index_h: float
    index_w: float
    bar_w: float
    mosaic: tuple[int, int]  # (rows, cols) of pixels
    width: float
    height: float


TITLE_H = 0.32


def grid(n: int, kh: int, kw: int, columns: int, labelled: bool, bar: bool,
         tick_labels: Sequence[str]) -> Grid:
    """Where the tiles go: ``columns`` per row (automatic: one row up to 8, else near square),
    at most 0.6 inch a tile, the whole no wider than the page."""
    if columns <= 0:
        columns = n if n <= 8 else min(n, max(8, math.ceil(math.sqrt(n * kh / kw))))
    columns = min(columns, n)
    rows = math.ceil(n / columns)
    gap = 1
    label_h = 0.2 if labelled else 0.0
    top_index_h = 0.0 if labelled else 0.2
    index_w = 0.0 if labelled else text_width_in(str((rows - 1) * columns), LABEL_PT) + 0.1
    bar_w = (BAR_GAP + BAR_W + BAR_TICK + BAR_PAD
             + max(text_width_in(t, LABEL_PT) for t in tick_labels) + 0.04) if bar else 0.0
    avail = FIG_WIDTH - 2 * MARGIN - index_w - bar_w
    scale = min(0.6 / max(kh, kw), avail / (columns * kw + (columns - 1) * gap))
    if labelled:
        gap_rows = max(gap, math.ceil((label_h + 0.03) / scale))
    else:
        gap_rows = gap
    shape = (rows * kh + (rows - 1) * gap_rows, columns * kw + (columns - 1) * gap)
    width = 2 * MARGIN + index_w + shape[1] * scale + bar_w
    width = max(width, 2.6)
    height = 2 * MARGIN + TITLE_H + top_index_h + shape[0] * scale + label_h
    return Grid(columns, rows, gap, scale, label_h, top_index_h, index_w, bar_w, shape, width,
                height)


def tile_mosaic(tiles: FloatArray, columns: int, gap: int, row_gap: int) -> FloatArray:
    """Tiles (N, kh, kw[, 3]) row by row; gutters NaN (signed) or transparent (RGBA)."""
    n, kh, kw = tiles.shape[:3]
    rows = math.ceil(n / columns)
    shape = (rows * kh + (rows - 1) * row_gap, columns * kw + (columns - 1) * gap)
    if tiles.ndim == 4:
        out = np.zeros((*shape, 4))
        for i in range(n):
            r, c = divmod(i, columns)
            top, left = r * (kh + row_gap), c * (kw + gap)
            out[top:top + kh, left:left + kw, :3] = tiles[i]
            out[top:top + kh, left:left + kw, 3] = 1.0
        return out
    out = np.full(shape, np.nan)
    for i in range(n):
        r, c = divmod(i, columns)
        top, left = r * (kh + row_gap), c * (kw + gap)
        out[top:top + kh, left:left + kw] = tiles[i]
    return out


def _row_gap(geo: Grid, kh: int) -> int:
    rows_px = geo.mosaic[0]
    return 0 if geo.rows == 1 else (rows_px - geo.rows * kh) // (geo.rows - 1)


def _ticks(k: Kernels, scale: str) -> tuple[list[float], list[str]]:
    if k.view == "rgb":
        return [], []
    if scale == "each":
        return [-1.0, 0.0, 1.0], [f"{MINUS}max", "0", "max"]
    lo, hi = k.limits
    return [lo, 0.0, hi], [fmt_num(lo).replace("-", MINUS), "0", fmt_num(hi)]


def _source_words(k: Kernels, seed: int) -> str:
    return {"learned": "learned", "named": "named",
            "random": f"random (He-normal, seed {seed})"}[k.source]


def title_of(k: Kernels, options: Mapping[str, Any]) -> str:
    n = k.tiles.shape[0]
    shown = f"{n} of {k.total}" if n < k.total else f"{n}"
    plural = "s" if k.channels != 1 else ""
    view = {"rgb": ", as RGB", "mean": ", channel mean",
            "channel": f", input channel {options['channel']}" if k.channels > 1 else ""}[k.view]
    return (f"{shown} {_source_words(k, options['seed'])} {k.kernel[0]}{TIMES}{k.kernel[1]} "
            f"kernels of {k.layer} ({k.channels} input channel{plural}{view})")


def alt_text(k: Kernels, options: Mapping[str, Any]) -> str:
    n = k.tiles.shape[0]
    lo, hi = float(k.weights.min()), float(k.weights.max())
    shown = f"the first {n} of the {k.total}" if n < k.total else f"the {n}"
    how = {"rgb": "as colour images (red, green and blue: the input channels; mid-grey is 0)",
           "mean": "as the mean over their input channels on a diverging colour scale centred "
                   "on 0",
           "channel": f"as input channel {options['channel']} on a diverging colour scale "
                      "centred on 0" if k.channels > 1 else
                      "on a diverging colour scale centred on 0"}[k.view]
    scale = ("each normalised by its own largest magnitude" if options["scale"] == "each"
             else "on one scale shared by the layer")
    return (f"{shown[0].upper()}{shown[1:]} {_source_words(k, options['seed'])} kernels of "
            f"layer {k.layer} ({k.op}, {k.kernel[0]}{TIMES}{k.kernel[1]}, {k.channels} input "
            f"channel{'s' if k.channels != 1 else ''}) drawn {how}, {scale}; weights range from "
            f"{fmt_num(lo)} to {fmt_num(hi)}.")


def draw(k: Kernels, options: Mapping[str, Any], theme: Theme) -> Rendered:
    from rfdocs.figures.featuremaps import _index_ticks, diverging_cmap, fit_text

    n, kh, kw = k.tiles.shape[:3]
    labelled = bool(options["labels"]) and n <= LABELLED_MAX
    ticks, tick_labels = _ticks(k, options["scale"])
    bar = k.view != "rgb"
    geo = grid(n, kh, kw, options["columns"], labelled, bar, tick_labels)
    row_gap = _row_gap(geo, kh)
    mos = tile_mosaic(k.tiles, geo.columns, geo.gap, row_gap)
    fig = new_figure(geo.width, geo.height, theme)
    fig.suppressComposite = True  # the mosaic and the colour bar stay two SVG images
    mos_w, mos_h = geo.mosaic[1] * geo.scale, geo.mosaic[0] * geo.scale
    x0 = MARGIN + geo.index_w
    y0 = MARGIN + geo.label_h
    cmap = options["cmap"] or diverging_cmap(theme)
    lo, hi = k.limits
    origins = [(divmod(i, geo.columns)[0] * (kh + row_gap), divmod(i, geo.columns)[1] * (kw + geo.gap))
               for i in range(n)]
    tiles = PatchCollection(
        [Rectangle((left - 0.5, top - 0.5), kw, kh) for top, left in origins],
        facecolor="none", edgecolor=theme.muted, linewidth=0.5 if labelled else 0.3)
    colours: dict[str, Any] = {} if k.view == "rgb" else {"cmap": cmap, "norm": Normalize(lo, hi)}
    if labelled:  # on the figure in mosaic pixels: an Axes costs more to make than the rest
        box = axes_box(fig, x0, y0, mos_w, mos_h)
        pixels = pixel_transform(box, mos.shape)
        image_in_box(fig, box, mos, interpolation="nearest", gid="kernels", **colours)
        tiles.set_transform(pixels)
        tiles.set_clip_box(box)  # as an Axes clips: the outer half of the edge outlines
        fig.add_artist(tiles)
        room = kw * geo.scale + geo.gap * geo.scale * 0.8
        for (top, left), label in zip(origins, k.labels, strict=True):
            fig.text(left + kw / 2 - 0.5, top + kh - 0.5 + 0.03 / geo.scale,
                     fit_text(label, room, LABEL_PT), ha="center", va="top", transform=pixels,
                     **text_kwargs(theme, LABEL_PT))
    else:  # an Axes, whose ticks number the rows and columns
        ax = fig.add_axes((x0 / geo.width, y0 / geo.height, mos_w / geo.width,
                           mos_h / geo.height))
        if k.view == "rgb":
            image = ax.imshow(mos, interpolation="nearest", aspect="auto")
        else:
            image = ax.imshow(mos, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest",
                              aspect="auto")
        image.set_gid("kernels")
        ax.set_xlim(-0.5, mos.shape[1] - 0.5)
        ax.set_ylim(mos.shape[0] - 0.5, -0.5)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.add_collection(tiles)
        _index_ticks(ax, geo.columns, geo.rows, kh, kw, geo.gap if geo.rows == 1 else row_gap,
                     theme)
        if row_gap != geo.gap:  # _index_ticks spaces rows by gap: place the row ticks again
            ax.set_yticks([r * (kh + row_gap) + (kh - 1) / 2 for r in range(geo.rows)])
    if bar:
        colour_bar(fig, (x0 + mos_w + BAR_GAP, y0, BAR_W, mos_h), cmap, Normalize(lo, hi), ticks,
                   tick_labels, theme, size=LABEL_PT, label_pad=BAR_PAD, tick_colour=theme.fg)
    title = title_of(k, options)
    fig.text(MARGIN / geo.width, 1 - MARGIN / geo.height,
             fit_text(title, geo.width - 2 * MARGIN, TITLE_PT), ha="left", va="top",
             **text_kwargs(theme, TITLE_PT))
    numbers = {
        "layer": k.layer, "op": k.op, "source": k.source, "kernel_shape": list(k.kernel),
        "channels": k.channels, "count": n, "total": k.total, "view": k.view,
        "scale": options["scale"], "labels": list(k.labels), "columns": geo.columns,
        "rows": geo.rows, "min": float(k.weights.min()), "max": float(k.weights.max()),
        "color_limits": [lo, hi], "origins": [list(o) for o in origins],
        "kernel_max": [float(np.abs(k.weights[:, :, :, i]).max()) for i in range(n)],
    }
    return Rendered(fig, alt_text(k, options), numbers, budget=budget_of(options))


def render(network: Network | None, options: Mapping[str, Any], theme: Theme) -> Rendered:
    """The filters figure: the kernels of one conv layer of ``network``, its cost checked first."""
    network = network if network is not None else default_network()
    require(options, estimate(network, options), "the kernel grid", ["count"])
    return draw(compute_kernels(network, options), options, theme)


def estimate(network: Network | None, options: Mapping[str, Any]) -> Cost:
    """The weights of the layers up to the one shown (drawn, or read), the tiles, their mosaic,
    the texts and the canvas."""
    network = network if network is not None else default_network()
    layer = pick_layer(network, options["layer"], CONV_OPS, "convolution")
    cut = ancestors(network, layer.name)
    try:
        analysis = analyze(cut)
    except SpecError as err:
        raise OptionError("layer", str(err)) from None
    total = 0
    for node in analysis.layers:
        lay = node.layer
        if lay is not None and lay.op in CONV_OPS and lay.filters is not None:
            cin = analysis[lay.inputs[0]].shape[2]
            per = cin if lay.op == "deconv" else cin // lay.groups
            total += lay.kernel[0] * lay.kernel[1] * per * lay.filters
    cost = alloc(2 * F8 * total, NORMAL * total)  # the drawn weights and the converted ones
    kh, kw = layer.kernel
    cin = analysis[layer.inputs[0]].shape[2]
    filters = layer.filters or 1
    n = filters if options["count"] == 0 else min(filters, options["count"])
    tiles = F8 * n * kh * kw * 4
    cost = cost.then(temporary(tiles * 3, tiles)).then(alloc(tiles, tiles // F8))
    labelled = bool(options["labels"]) and n <= LABELLED_MAX
    geo = grid(n, kh, kw, options["columns"], labelled, True, ["−0.000888"])
    rows, cols = geo.mosaic
    mosaic_bytes = F8 * rows * cols * 4
    cost = cost.then(alloc(2 * mosaic_bytes, mosaic_bytes // F8))
    texts = 10 + (n if labelled else 2 * int(math.sqrt(n)) + 4)
    cost = cost.then(texts_cost(texts)).then(alloc(300 * n, 10_000 * n))  # tile outlines
    del cin
    draw_cost = canvas_cost(geo.width, geo.height, "png", DRAW_DPI).then(
        image_cost(rows, cols, cols * geo.scale, rows * geo.scale, DRAW_DPI))
    return with_slack(cost.then(draw_cost))


KIND = FigureKind(
    name="filters",
    summary="The kernels of a convolution layer (learned, named or random) as an image grid.",
    options=OPTIONS,
    render_function=render,
    uses_network=True,
    estimate_function=estimate,
)
