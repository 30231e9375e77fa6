"""The effective receptive field (Luo, Li, Urtasun and Zemel, NIPS 2016) as heat maps.

The gradient of one output unit with respect to the input image, for uniform weights (exact, see
``rfdocs.compute.erf.erf_uniform``) and for random He-normal weights with real ReLUs (the mean
``|gradient|`` over ``samples`` seeded draws of weights and input, ``erf_random``), side by side
on one colour scale (each map divided by its peak), with the theoretical receptive field
(``LayerInfo.box`` of the unit, clipped to the input) outlined and a circle around the unit's
centre holding 95 % of the gradient.  An optional profile through the centre row compares each
map with a Gaussian fitted by its moments: the "Gaussian shape" of the effective field.

The maps are cropped to the theoretical field plus a margin (never past the input), so a small
field in a large input is still visible; the axes count input pixels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, Rectangle
from matplotlib.patheffects import withStroke
from matplotlib.ticker import NullLocator
from numpy.typing import NDArray

from rfdocs.compute import LayerInfo, Network, analyze, as_plain, clipped_box, parse_spec
from rfdocs.compute.budget import (
    DEFAULT_MAX_WORK,
    F8,
    Cost,
    alloc,
    erf_random_cost,
    erf_uniform_cost,
    temporary,
)
from rfdocs.compute.conv import DEFAULT_MAX_BYTES
from rfdocs.compute.erf import cap_channels, erf_random, erf_uniform
from rfdocs.compute.receptive import clipped_box_nd
from rfdocs.figures.base import FigureKind, LastResult, Rendered
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
from rfdocs.figures.geometry import target_layer
from rfdocs.figures.marks import colour_bar, text_width_in
from rfdocs.figures.options import Option, OptionError, choice, flag, int_pair, int_range, word
from rfdocs.figures.style import Theme, new_figure, text_kwargs
from rfdocs.figures.text import TIMES, fmt_dims, fmt_num

FloatMap = NDArray[np.float64]
Span = tuple[int, int]  # first, last (inclusive)

#: Ten 3×3 convolutions with ReLUs between: a 21×21 theoretical field in a 32×32 input (a
#: larger input would only cost time: the gradient of the centre unit stays inside its field).
DEFAULT_SPEC = "input 32x32x1\n" + "".join(
    f"conv{i}: conv 3x3 pad 1 x8\n" + (f"relu{i}: relu\n" if i < 10 else "")
    for i in range(1, 11))

MASS = 0.95  # the share of the gradient the circle and the area share hold
LOG_DECADES = 5  # the log colour scale spans peak / 10**5 to peak
MAX_INPUT_PIXELS = 2048 * 2048  # uniform mode: one single-channel backward pass
#: The default work budget (the max_work option; in Sphinx, rfdocs_max_work).
MAX_RANDOM_MACS = DEFAULT_MAX_WORK
#: Bytes per input pixel that ``map_stats`` allocates for one map (indices, distances, orders,
#: cumulative sums).
STATS_BYTES = 96
MARGIN_SHARE = 0.25  # the view extends this share of the field past each side
MIN_VIEW = 9  # pixels: the smallest view (a 1×1 field still shows its neighbours)

RING, RING_EDGE = "#ffffff", "#1f2328"  # the circle, on top of a colour map (not a page)
LABEL_PT = 8.0
TITLE_PT = 9.0
MAP_IN = 1.85  # the longer side of a heat map, inches
PROFILE_W_IN = 2.25
MARGIN_IN = 0.08
LEGEND_HANDLE, LEGEND_PAD, LEGEND_GAP = 1.8, 0.5, 1.2  # in font sizes
DOTS_MAX = 48  # profiles of up to this many pixels mark each pixel with a dot

MODES = ("uniform", "random")
MODE_TITLES = {"uniform": "Uniform weights", "random": "Random weights, ReLU",
               "trained": "Trained weights"}


def has_own_weights(net: Network) -> bool:
    """Whether the network has weights of its own: learned params or named kernels."""
    return bool(net.params) or any(layer.weights for layer in net.layers)


def modes_of(net: Network, mode: str) -> tuple[str, ...]:
    """The maps ``mode`` asks for: ``both`` is uniform beside the network's own weights where it
    has them (``trained``), else beside random ones."""
    if mode == "both":
        return ("uniform", "trained") if has_own_weights(net) else MODES
    return (mode,)


def _own_title(net: Network) -> str:
    return "Trained weights" if net.params else "Own weights"


# --------------------------------------------------------------------------- options


OPTIONS = (
    Option("layer", word, None, "a layer name",
           "The layer of the unit whose gradient is shown (default: the last layer)."),
    Option("unit", int_pair(0, 10**6), None, "row,col inside the layer",
           "The unit, as row,col of its layer (default: the centre, (H // 2, W // 2))."),
    Option("mode", choice("uniform", "random", "trained", "both"), "both",
           "uniform, random, trained or both",
           "uniform: every weight 1 / fan-in, ReLU as identity (exact); random: He-normal "
           "weights, real ReLUs and a random input, averaged over samples; trained: the "
           "network's own weights (a model's learned params, a spec's named kernels; random "
           "where a layer has neither), every op as it is, random inputs averaged over "
           "samples; both: uniform beside trained where the network has weights of its own, "
           "else beside random."),
    Option("seed", int_range(0, 2**31 - 1), 0, "an integer from 0 to 2147483647",
           "Seed of the first random sample (sample i uses seed + i)."),
    Option("samples", int_range(1, 64), 8, "an integer from 1 to 64",
           "Random mode: how many draws of weights and input the |gradient| is averaged over."),
    Option("channels", int_range(1, 256), 8, "an integer from 1 to 256",
           "Random mode: every layer's filter count is capped at this (cost grows with its "
           "square; the uniform map does not depend on it)."),
    Option("profile", flag, True, "a flag (yes/no)",
           "Draw the profile through the centre row with a Gaussian fitted by moments."),
    Option("scale", choice("linear", "log"), "linear", "linear or log",
           f"Colour (and profile) scale; log spans {LOG_DECADES} decades below the peak."),
    *BUDGET_OPTIONS,
)


# --------------------------------------------------------------------------- computation


@dataclass(frozen=True)
class MapStats:
    """What one gradient map says about the effective field (None where the map is all zero)."""

    inside: float | None  # share of the |gradient| mass inside the theoretical field
    radius: float | None  # smallest distance from the centre holding MASS of it, pixels
    area: float | None  # fewest pixels holding MASS of it, as a share of the field's pixels
    sigma: tuple[float, float] | None  # (row, col) standard deviation of the map, pixels
    profile_fit: tuple[float, float, float] | None  # (mass, mean, sigma) of the centre row


@dataclass(frozen=True)
class ErfMaps:
    """The unit, its theoretical field and the gradient maps (full input size, ``|g|``)."""

    network: Network
    target: LayerInfo
    unit: tuple[int, int]
    box: tuple[tuple[int | float, int | float], tuple[int | float, int | float]]  # exact field,
    # first and last pixel per axis (may pass the input; fractions after transposed convs)
    inside_box: tuple[Span, Span] | None  # whole pixels of the field inside the input
    center: tuple[float, float]  # the field's centre, input pixels (row, col)
    row: int  # the input row of the profile: the centre's (inside the input)
    view: tuple[Span, Span]  # rows, cols drawn
    maps: Mapping[str, FloatMap]  # mode -> (H, W) non-negative map
    stats: Mapping[str, MapStats]
    samples: int
    channels: int


def _target(net: Network, options: Mapping[str, Any]) -> tuple[LayerInfo, tuple[int, int]]:
    analysis = analyze(net)
    info = target_layer(analysis, options.get("layer"))
    h, w = info.shape[:2]
    unit = options.get("unit")
    if unit is None:
        return info, (h // 2, w // 2)
    row, col = unit
    if not (0 <= row < h and 0 <= col < w):
        raise OptionError("unit", f"({row}, {col}) is outside {info.name} ({h}{TIMES}{w}): "
                          f"row must be 0 to {h - 1} and column 0 to {w - 1}")
    return info, (row, col)


def random_cost(net: Network, channels: int, samples: int) -> int:
    """Multiply-adds of the convolutions of ``samples`` forward and backward passes with filters
    capped at ``channels`` (the budget counts every operation: see ``compute_cost``)."""
    capped = analyze(cap_channels(net, channels))
    by_name = {node.name: node for node in capped}
    total = 0
    for node in capped.layers:
        layer = node.layer
        if layer is None or layer.op not in ("conv", "deconv"):
            continue
        src = by_name[layer.inputs[0]]
        kh, kw = layer.kernel
        if layer.op == "conv":
            total += node.shape[0] * node.shape[1] * kh * kw * src.shape[2] // layer.groups \
                * node.shape[2]
        else:
            total += src.shape[0] * src.shape[1] * kh * kw * src.shape[2] * node.shape[2]
    return 2 * total * samples


def _view(box: tuple[Span, Span] | None, exact: tuple[tuple[float, float], tuple[float, float]],
          size: tuple[int, int]) -> tuple[Span, Span]:
    """Rows and columns to draw: the field plus a margin, at least MIN_VIEW, inside the input."""
    out = []
    for axis in range(2):
        n = size[axis]
        lo, hi = (box[axis] if box is not None
                  else (math.floor(exact[axis][0]), math.ceil(exact[axis][1])))
        lo, hi = max(lo, 0), min(hi, n - 1)
        extra = max(math.ceil((hi - lo + 1) * MARGIN_SHARE), (MIN_VIEW - (hi - lo + 1) + 1) // 2)
        a, b = lo - extra, hi + extra
        if a < 0:  # keep the size where the input allows, shifting away from the edge
            a, b = 0, b - a
        if b > n - 1:
            a, b = max(a - (b - n + 1), 0), n - 1
        out.append((a, b))
    return (out[0], out[1])


def map_stats(grad: FloatMap, inside_box: tuple[Span, Span] | None,
              center: tuple[float, float], row: int) -> MapStats:
    """Mass inside the field, the radius and area holding MASS of it, spread, and the moments
    of the centre row ``row`` (all of the non-negative map ``grad``)."""
    total = float(grad.sum())
    if not total > 0.0:
        return MapStats(None, None, None, None, None)
    rows, cols = np.indices(grad.shape)
    if inside_box is None:
        inside, field_pixels = 0.0, 0
    else:
        (r0, r1), (c0, c1) = inside_box
        inside = float(grad[r0:r1 + 1, c0:c1 + 1].sum()) / total
        field_pixels = (r1 - r0 + 1) * (c1 - c0 + 1)
    dist = np.hypot(rows - center[0], cols - center[1]).ravel()
    order = np.argsort(dist, kind="stable")
    held = np.cumsum(grad.ravel()[order])
    radius = float(dist[order][np.searchsorted(held, MASS * held[-1])])
    by_value = np.cumsum(np.sort(grad.ravel())[::-1])
    needed = int(np.searchsorted(by_value, MASS * by_value[-1])) + 1
    area = needed / field_pixels if field_pixels else None
    mean_r = float((grad.sum(axis=1) * np.arange(grad.shape[0])).sum()) / total
    mean_c = float((grad.sum(axis=0) * np.arange(grad.shape[1])).sum()) / total
    sd_r = math.sqrt(float((grad.sum(axis=1) * (np.arange(grad.shape[0]) - mean_r) ** 2).sum())
                     / total)
    sd_c = math.sqrt(float((grad.sum(axis=0) * (np.arange(grad.shape[1]) - mean_c) ** 2).sum())
                     / total)
    return MapStats(inside, radius, area, (sd_r, sd_c), gaussian_moments(grad[row]))


def gaussian_moments(profile: FloatMap) -> tuple[float, float, float] | None:
    """(mass, mean, sigma) of a non-negative 1-D profile: the Gaussian with its first three
    moments is ``mass / (sigma sqrt(2 pi)) exp(-(x - mean)^2 / (2 sigma^2))``."""
    mass = float(profile.sum())
    if not mass > 0.0:
        return None
    x = np.arange(profile.size)
    mean = float((profile * x).sum()) / mass
    sigma = math.sqrt(float((profile * (x - mean) ** 2).sum()) / mass)
    return (mass, mean, sigma)


def _check_input(h: int, w: int) -> None:
    if h * w > MAX_INPUT_PIXELS:
        raise OptionError("mode", f"the {fmt_dims((h, w))} input has more than "
                          f"{MAX_INPUT_PIXELS:,} pixels (the limit of the erf figure); use a "
                          "smaller input")


def _what(modes: Sequence[str]) -> str:
    if "trained" in modes:
        return "the trained-weight gradients"
    return ("the random-weight gradients" if "random" in modes
            else "the uniform-weight gradient")


def _lower(modes: Sequence[str]) -> list[str]:
    if "trained" in modes:
        return ["samples", "the input size (or draw :mode: uniform)"]
    if "random" in modes:
        return ["samples", "channels", "the input size (or draw :mode: uniform)"]
    return ["the input size or the number of layers"]


def compute_cost(net: Network, target: str, modes: Sequence[str],
                 options: Mapping[str, Any]) -> Cost:
    """What ``compute_erf`` costs: the uniform map, ``samples`` random ones (filters capped at
    ``channels``) summed into one, then each map's statistics; keeps the maps."""
    h, w = net.input[:2]
    cost = Cost()
    for mode in modes:
        if mode == "uniform":
            step = erf_uniform_cost(net, target).then(temporary(2 * F8 * h * w, 2 * h * w))
        elif mode == "trained":
            step = erf_random_cost(net, target, options["samples"],
                                   max(DEFAULT_MAX_BYTES, int(options.get("max_memory", 0))))
        else:
            step = erf_random_cost(cap_channels(net, options["channels"]), target,
                                   options["samples"],
                                   max(DEFAULT_MAX_BYTES, int(options.get("max_memory", 0))))
        cost = cost.then(Cost(step.work, step.peak, F8 * h * w))
    stats = Cost(60 * h * w * len(modes), STATS_BYTES * h * w, 0)  # map_stats' index arrays
    return cost.then(stats)


def estimate(network: Network | None, options: Mapping[str, Any]) -> Cost:
    """What the figure costs: ``compute_cost``, then the cropped maps drawn at 150 dpi."""
    if network is not None and network.ndim == 1:
        return estimate_sequence(network, options)
    net = network if network is not None else parse_spec(DEFAULT_SPEC)
    info, unit = _target(net, options)
    h, w = net.input[:2]
    _check_input(h, w)
    modes = modes_of(net, options["mode"])
    (r_lo, r_hi), (c_lo, c_hi) = info.box(*unit)
    box = ((as_plain(r_lo), as_plain(r_hi)), (as_plain(c_lo), as_plain(c_hi)))
    (v0, v1), (u0, u1) = _view(clipped_box(info, unit[0], unit[1], (h, w)), box, (h, w))
    rows, cols = v1 - v0 + 1, u1 - u0 + 1
    shown = F8 * rows * cols
    held = len(modes) * (shown + shown * 9 // 8)  # each crop / peak, and the figure's copy
    side = MAP_IN * min(1.0, cols / rows), MAP_IN * min(1.0, rows / cols)
    draw = canvas_cost(2 * MARGIN_IN + len(modes) * MAP_IN + 4.5, 3.5, "png", DRAW_DPI)
    for _ in modes:
        draw = draw.then(image_cost(rows, cols, side[0], side[1], DRAW_DPI))
    return with_slack(compute_cost(net, info.name, modes, options).then(
        alloc(held, 2 * held // F8)).then(texts_cost(40)).then(draw))


def compute_erf(network: Network | None, options: Mapping[str, Any]) -> ErfMaps:
    """The gradient maps and their statistics for resolved ``options``."""
    net = network if network is not None else parse_spec(DEFAULT_SPEC)
    info, unit = _target(net, options)
    h, w = net.input[:2]
    modes = modes_of(net, options["mode"])
    _check_input(h, w)
    samples, channels = options["samples"], options["channels"]
    require(options, compute_cost(net, info.name, modes, options), _what(modes), _lower(modes))
    # the convolutions' own allocation guard: the budget, where it is above their default
    max_bytes = max(DEFAULT_MAX_BYTES, int(options.get("max_memory", DEFAULT_MAX_BYTES)))
    maps: dict[str, FloatMap] = {}
    for mode in modes:
        if mode == "uniform":
            maps[mode] = np.abs(erf_uniform(net, info.name, unit, max_bytes=max_bytes))
        else:  # trained: the network's own numbers; random: none of them, capped channels
            own = net if mode == "trained" else replace(net, params={}, layers=tuple(
                replace(layer, weights=()) for layer in net.layers))
            total = np.zeros((h, w))
            for i in range(samples):
                total += np.abs(erf_random(own, info.name, unit, seed=options["seed"] + i,
                                           max_bytes=max_bytes,
                                           channels=channels if mode == "random" else None))
            maps[mode] = total / samples
    (r_lo, r_hi), (c_lo, c_hi) = info.box(*unit)
    box = ((as_plain(r_lo), as_plain(r_hi)), (as_plain(c_lo), as_plain(c_hi)))
    inside_box = clipped_box(info, unit[0], unit[1], (h, w))
    center = ((box[0][0] + box[0][1]) / 2, (box[1][0] + box[1][1]) / 2)
    row = min(max(math.floor(center[0]), 0), h - 1)
    stats = {mode: map_stats(g, inside_box, center, row) for mode, g in maps.items()}
    return ErfMaps(net, info, unit, box, inside_box, center, row,
                   _view(inside_box, box, (h, w)), maps, stats, samples, channels)


# --------------------------------------------------------------------------- drawing


def _tick_text(value: float) -> str:
    return f"{value:g}".replace("-", "−")


def _power_text(k: int) -> str:
    """10**-k as a plain label: 1, 0.1, 0.01, then 1e−3 ..."""
    return "1" if k == 0 else f"{10.0 ** -k:g}" if k <= 2 else f"1e−{k}"


def _style_axes(ax: Axes, theme: Theme) -> None:
    for spine in ax.spines.values():
        spine.set_edgecolor(theme.muted)
        spine.set_linewidth(0.6)
    ax.tick_params(labelsize=LABEL_PT, colors=theme.muted, labelcolor=theme.fg, length=2.5,
                   width=0.6, pad=2)


def _norm(scale: str) -> Normalize:
    if scale == "log":
        return LogNorm(vmin=10.0 ** -LOG_DECADES, vmax=1.0, clip=True)
    return Normalize(vmin=0.0, vmax=1.0)


def field_rectangle(erf: ErfMaps) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of the theoretical field in image coordinates (pixel i spans
    [i - 1/2, i + 1/2]), clipped to the input."""
    h, w = erf.network.input[:2]
    (r0, r1), (c0, c1) = erf.box
    return (max(c0 - 0.5, -0.5), max(r0 - 0.5, -0.5), min(c1 + 0.5, w - 0.5),
            min(r1 + 0.5, h - 0.5))


def _heat_map(ax: Axes, erf: ErfMaps, mode: str, norm: Normalize, theme: Theme,
              first: bool) -> None:
    (v0, v1), (u0, u1) = erf.view
    grad = erf.maps[mode]
    peak = float(grad.max())
    shown = grad[v0:v1 + 1, u0:u1 + 1] / peak if peak > 0 else grad[v0:v1 + 1, u0:u1 + 1]
    cmap = _cmap(theme)
    image = ax.imshow(shown, cmap=cmap, norm=norm, interpolation="nearest"
                      if max(shown.shape) <= 160 else "antialiased",
                      extent=(u0 - 0.5, u1 + 0.5, v1 + 0.5, v0 - 0.5))
    image.set_gid(f"erf-{mode}")
    x0, y0, x1, y1 = field_rectangle(erf)
    rect = Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="none", edgecolor=theme.field,
                     linewidth=1.4, zorder=3, clip_on=False)  # inside the view; on the spines
    rect.set_gid(f"field-{mode}")
    ax.add_patch(rect)
    radius = erf.stats[mode].radius
    if radius is not None:
        ring = Circle((erf.center[1], erf.center[0]), max(radius, 0.5), facecolor="none",
                      zorder=4, **_ring_style())
        ring.set_gid(f"radius-{mode}")
        ax.add_patch(ring)
    ax.set_xlim(u0 - 0.5, u1 + 0.5)
    ax.set_ylim(v1 + 0.5, v0 - 0.5)
    _style_axes(ax, theme)
    _ticks(ax.xaxis, u0 - 0.5, u1 + 0.5, erf.center[1])
    _ticks(ax.yaxis, v0 - 0.5, v1 + 0.5, erf.center[0])
    if not first:
        ax.tick_params(labelleft=False)


def _ticks(axis: Any, lo: float, hi: float, centre: float) -> None:
    """Three whole-number ticks inside [lo, hi]: the pixel at ``centre`` and one a round step
    (1, 2 or 5 times a power of ten) either side, the largest step that keeps three inside."""
    values = tick_values(lo, hi, centre)
    axis.set_ticks(values, labels=[_tick_text(v) for v in values])


def tick_values(lo: float, hi: float, centre: float) -> list[float]:
    """The ticks of ``_ticks``: ``centre`` rounded into [lo, hi] and its neighbours a round step
    away; near an edge the three nearest to it on a grid of that step."""
    first, last = math.ceil(lo), math.floor(hi)
    c = min(max(math.floor(centre + 0.5), first), last)
    steps = sorted((m * 10**e for e in range(len(str(max(last - first, 1)))) for m in (1, 2, 5)),
                   reverse=True)
    for step in steps:
        values = [c + k * step for k in range(-2, 3) if first <= c + k * step <= last]
        if len(values) >= 3:
            return sorted(float(v) for v in sorted(values, key=lambda v: (abs(v - c), v))[:3])
    return [float(v) for v in range(first, last + 1)]


def _cmap(theme: Theme) -> Any:
    import matplotlib

    cmap = matplotlib.colormaps[theme.cmap]
    return cmap.with_extremes(bad=cmap(0.0), under=cmap(0.0))


def _ring_style() -> dict[str, Any]:
    """The 95 % circle: white dashes edged in near-black, visible on every colour of the map
    and on light and dark pages alike."""
    return {"edgecolor": RING, "linewidth": 1.1, "linestyle": (0, (3, 2)),
            "path_effects": [withStroke(linewidth=2.3, foreground=RING_EDGE)]}


def _caption(mode: str, stats: MapStats) -> list[str]:
    if stats.radius is None:
        return ["the gradient is zero", "(every path has an inactive ReLU)" if mode != "uniform"
                else "(no input pixel reaches the unit)"]
    lines = [f"{MASS:.0%} within {_px(stats.radius)} px of the centre"]
    if stats.area is not None:
        lines.append(f"on {stats.area:.0%} of the field's pixels")
    return lines


def _profile(ax: Axes, erf: ErfMaps, theme: Theme, scale: str, colours: Mapping[str, str]
             ) -> None:
    row = erf.row
    (_, _), (u0, u1) = erf.view
    cols = np.arange(u0, u1 + 1)
    x0, _, x1, _ = field_rectangle(erf)
    ax.axvspan(x0, x1, facecolor=theme.field, alpha=0.16, linewidth=0, zorder=0)
    for x in (x0, x1):
        ax.axvline(x, color=theme.field, linewidth=1.0, zorder=1)
    fine = np.linspace(u0 - 0.5, u1 + 0.5, 8 * (u1 - u0 + 1) + 1)
    low = 10.0 ** -LOG_DECADES
    dotted = cols.size <= DOTS_MAX
    for mode, grad in erf.maps.items():
        peak = float(grad.max())
        if not peak > 0:
            continue
        values = grad[row, u0:u1 + 1] / peak
        ax.plot(cols, np.maximum(values, low) if scale == "log" else values,
                color=colours[mode], linewidth=1.3 if dotted else 0.9,
                marker="o" if dotted else "", markersize=2.2, zorder=3, gid=f"profile-{mode}")
        fit = erf.stats[mode].profile_fit
        if fit is not None and fit[2] > 0:
            mass, mean, sigma = fit
            curve = mass / peak / (sigma * math.sqrt(2 * math.pi)) \
                * np.exp(-((fine - mean) ** 2) / (2 * sigma**2))
            ax.plot(fine, np.maximum(curve, low) if scale == "log" else curve,
                    color=theme.fg, linewidth=0.8, linestyle=(0, (3, 2)), zorder=4,
                    gid=f"gauss-{mode}")
    ax.set_xlim(u0 - 0.5, u1 + 0.5)
    if scale == "log":
        ax.set_yscale("log")
        ax.set_ylim(low, 2.0)
    else:
        ax.set_ylim(0.0, 1.08)
    _style_axes(ax, theme)
    _ticks(ax.xaxis, u0 - 0.5, u1 + 0.5, erf.center[1])
    if scale == "linear":
        ax.set_yticks([0.0, 0.5, 1.0], labels=["0", "0.5", "1"])
    else:
        ax.set_yticks([10.0 ** -k for k in range(LOG_DECADES, -1, -1)],
                      labels=[_power_text(k) for k in range(LOG_DECADES, -1, -1)])
        ax.yaxis.set_minor_locator(NullLocator())
    ax.set_facecolor("none")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def render(network: Network | None, options: Mapping[str, Any], theme: Theme) -> Rendered:
    """The effective receptive field figure for resolved ``options``, its cost checked against
    their budget before anything large is allocated."""
    if network is not None and network.ndim == 1:
        return render_sequence(network, options, theme)
    modes = modes_of(network if network is not None else parse_spec(DEFAULT_SPEC),
                     options["mode"])
    require(options, estimate(network, options), _what(modes), _lower(modes))
    key = tuple(options[name] for name in COMPUTE_OPTIONS)
    digest = None
    if network is not None and network.params:
        from rfdocs.figures.filters import params_digest

        digest = params_digest(network)
    erf = _compute_memo(network, key) if digest is None else _compute_memo(network, key, digest)
    return replace(draw(erf, options, theme), budget=budget_of(options))


#: The options ``compute_erf`` reads (with the network, they decide the maps).
COMPUTE_OPTIONS = ("layer", "unit", "mode", "seed", "samples", "channels", "max_work",
                   "max_memory")


def _compute(network: Network | None, key: tuple[Any, ...], digest: bytes | None = None
             ) -> ErfMaps:
    """``compute_erf`` as a pure function of the (frozen, hashable) network, its params'
    ``digest`` and ``COMPUTE_OPTIONS`` (its maps read-only, since they are shared)."""
    del digest  # part of the memo's key only
    erf = compute_erf(network, dict(zip(COMPUTE_OPTIONS, key, strict=True)))
    for grad in erf.maps.values():
        grad.flags.writeable = False
    return erf


#: The last maps computed: the Sphinx layer draws light, then dark, of the same maps.
_compute_memo = LastResult(_compute)


def draw(erf: ErfMaps, options: Mapping[str, Any], theme: Theme) -> Rendered:
    """Draw computed maps (split from ``render`` so tests and callers may reuse the maps)."""
    modes = list(erf.maps)
    scale = options["scale"]
    show_profile = bool(options["profile"])
    colours = {"uniform": theme.input, "random": theme.neuron, "trained": theme.neuron}
    (v0, v1), (u0, u1) = erf.view
    rows, cols = v1 - v0 + 1, u1 - u0 + 1
    map_w = MAP_IN * min(1.0, cols / rows)
    map_h = MAP_IN * min(1.0, rows / cols)

    # --- geometry, inches, left to right and bottom to top -----------------------------------
    ytick_w = 0.32
    gap_w = 0.16
    cbar_gap, cbar_w, cbar_text = 0.1, 0.11, 0.62
    profile_gap = 0.5 if show_profile else 0.0
    profile_w = PROFILE_W_IN if show_profile else 0.0
    width = (2 * MARGIN_IN + ytick_w + len(modes) * map_w + (len(modes) - 1) * gap_w
             + cbar_gap + cbar_w + cbar_text + profile_gap + profile_w)
    handles = _legend_handles(erf, theme, colours, show_profile)
    columns = _legend_columns(handles, width - 2 * MARGIN_IN)
    legend_h = 0.08 + 0.18 * math.ceil(len(handles) / columns)
    caption_h = 0.34
    xtick_h = 0.2
    title_h = 0.24
    body_h = max(map_h, 1.3 if show_profile else 0.0)
    height = 2 * MARGIN_IN + legend_h + caption_h + xtick_h + body_h + title_h
    fig = new_figure(width, height, theme)

    def axes(x: float, y: float, w_in: float, h_in: float) -> Axes:
        return fig.add_axes((x / width, y / height, w_in / width, h_in / height))

    body_y = MARGIN_IN + legend_h + caption_h + xtick_h
    map_y = body_y + (body_h - map_h) / 2
    norm = _norm(scale)
    x = MARGIN_IN + ytick_w
    for i, mode in enumerate(modes):
        ax = axes(x, map_y, map_w, map_h)
        _heat_map(ax, erf, mode, norm, theme, first=i == 0)
        title = MODE_TITLES[mode] if mode != "trained" else _own_title(erf.network)
        if mode != "uniform" and erf.samples > 1:
            title += f" (×{erf.samples})"
        fig.text((x + map_w / 2) / width, (map_y + map_h + 0.06) / height, title,
                 ha="center", va="bottom", **text_kwargs(theme, TITLE_PT, fontweight="bold"))
        cap_y = map_y - xtick_h - 0.04
        for j, line in enumerate(_caption(mode, erf.stats[mode])):
            fig.text((x + map_w / 2) / width, (cap_y - j * 0.15) / height, line, ha="center",
                     va="top", **text_kwargs(theme, LABEL_PT))
        x += map_w + gap_w
    x += cbar_gap - gap_w
    if scale == "log":
        ticks = [10.0 ** -k for k in range(LOG_DECADES, -1, -1)]
        labels = [_power_text(k) for k in range(LOG_DECADES, -1, -1)]
    else:
        ticks = [0.0, 0.5, 1.0]
        labels = [_tick_text(t) for t in ticks]
    colour_bar(fig, (x, map_y, cbar_w, map_h), _cmap(theme), norm, ticks, labels, theme,
               size=LABEL_PT, label_pad=2.0 / 72, tick_colour=theme.muted,
               title="|gradient| ÷ peak")
    x += cbar_w + cbar_text

    if show_profile:
        x += profile_gap
        pax = axes(x, body_y + 0.02, profile_w, body_h - 0.02)
        _profile(pax, erf, theme, scale, colours)
        fig.text((x + profile_w / 2) / width, (map_y + map_h + 0.06) / height,
                 f"Profile along input row {erf.row}", ha="center", va="bottom",
                 **text_kwargs(theme, TITLE_PT, fontweight="bold"))
        fig.text((x + profile_w / 2) / width, (body_y - xtick_h - 0.04) / height,
                 "input column", ha="center", va="top", **text_kwargs(theme, LABEL_PT))

    _legend(fig, handles, columns, theme)
    alt = alt_text(erf)
    return Rendered(fig, alt, numbers(erf))


def _legend_handles(erf: ErfMaps, theme: Theme, colours: Mapping[str, str],
                    show_profile: bool) -> list[Any]:
    (r0, r1), (c0, c1) = erf.box
    size = fmt_dims((r1 - r0 + 1, c1 - c0 + 1))
    handles: list[Any] = [
        Patch(facecolor="none", edgecolor=theme.field, linewidth=1.4,
              label=f"theoretical field {size}" + (" (clipped to the input)"
                                                      if _clipped(erf) else "")),
        Line2D([], [], linestyle="none", marker="o", markersize=9, markerfacecolor="none",
               markeredgecolor=RING, markeredgewidth=1.1,
               path_effects=[withStroke(linewidth=2.3, foreground=RING_EDGE)],
               label=f"{MASS:.0%} of the gradient"),
    ]
    if show_profile:
        dotted = erf.view[1][1] - erf.view[1][0] + 1 <= DOTS_MAX
        handles += [Line2D([], [], color=colours[mode], linewidth=1.3 if dotted else 0.9,
                           marker="o" if dotted else "", markersize=2.2, label=mode)
                    for mode in erf.maps]
        handles.append(Line2D([], [], color=theme.fg, linewidth=0.8, linestyle=(0, (3, 2)),
                              label="Gaussian (moments)"))
    return handles


def _legend_columns(handles: Sequence[Any], width: float) -> int:
    """Entries per legend row: all in one row where they fit ``width`` inches, else fewer."""
    entries = [(LEGEND_HANDLE + LEGEND_PAD) * LABEL_PT / 72
               + text_width_in(h.get_label(), LABEL_PT) for h in handles]
    for columns in range(len(entries), 0, -1):
        rows = [entries[i:i + columns] for i in range(0, len(entries), columns)]
        widest = max(sum(row) + (len(row) - 1) * LEGEND_GAP * LABEL_PT / 72 for row in rows)
        if widest <= width:
            return columns
    return 1


def _legend(fig: Figure, handles: Sequence[Any], columns: int, theme: Theme) -> None:
    """The legend drawn directly (no Legend box): ``columns`` entries per row, each a handle
    LEGEND_HANDLE font sizes wide and its label, columns aligned, centred at the bottom."""
    em = LABEL_PT / 72
    inches = fig.dpi_scale_trans
    rows = [handles[i:i + columns] for i in range(0, len(handles), columns)]
    widths = [(LEGEND_HANDLE + LEGEND_PAD) * em + text_width_in(h.get_label(), LABEL_PT)
              for h in handles]
    col_w = [max(widths[i] for i in range(c, len(handles), columns)) for c in range(columns)]
    x0 = (fig.get_figwidth() - sum(col_w) - (columns - 1) * LEGEND_GAP * em) / 2
    row_h = 0.18
    for r, row in enumerate(rows):
        y = MARGIN_IN + (len(rows) - 1 - r) * row_h + row_h / 2
        x = x0
        for c, handle in enumerate(row):
            length = LEGEND_HANDLE * em
            if isinstance(handle, Patch):
                mark: Any = Rectangle((x, y - 0.35 * em), length, 0.7 * em)
                mark.update_from(handle)
            else:
                mark = Line2D([x, x + length / 2, x + length], [y, y, y])
                mark.update_from(handle)
                mark.set_markevery([1])
            mark.set_transform(inches)
            fig.add_artist(mark)
            fig.text(x + (LEGEND_HANDLE + LEGEND_PAD) * em, y, handle.get_label(),
                     transform=inches, ha="left", va="center", **text_kwargs(theme, LABEL_PT))
            x += col_w[c] + LEGEND_GAP * em


# --------------------------------------------------------------------------- words and numbers


def _px(distance: float) -> str:
    """A distance in pixels to one decimal (none from 100 on): '6.3', '126'."""
    return f"{distance:.1f}" if distance < 99.95 else f"{distance:.0f}"


def _clipped(erf: ErfMaps) -> bool:
    """Whether part of the theoretical field lies outside the input (in the padding)."""
    ib = erf.inside_box
    return ib is None or (ib[0][1] - ib[0][0] + 1, ib[1][1] - ib[1][0] + 1) != _field_size(erf)


def _unit_name(erf: ErfMaps) -> str:
    return f"unit ({erf.unit[0]}, {erf.unit[1]}) of {erf.target.name}"


def _field_size(erf: ErfMaps) -> tuple[float, float]:
    (r0, r1), (c0, c1) = erf.box
    return (r1 - r0 + 1, c1 - c0 + 1)


def alt_text(erf: ErfMaps) -> str:
    """The computed result in words: field size, then each map's 95 % radius."""
    size = fmt_dims(_field_size(erf))
    text = f"Effective receptive field of {_unit_name(erf)}: the theoretical field is {size} pixels"
    ib = erf.inside_box
    if ib is not None and (ib[0][1] - ib[0][0] + 1, ib[1][1] - ib[1][0] + 1) != _field_size(erf):
        text += f" ({fmt_dims((ib[0][1] - ib[0][0] + 1, ib[1][1] - ib[1][0] + 1))} inside the input)"
    parts = []
    for mode, stats in erf.stats.items():
        what = {"uniform": "uniform weights",
                "random": f"random weights with ReLU, mean of {erf.samples} samples",
                "trained": f"the network's {'trained' if erf.network.params else 'own'} "
                           f"weights, mean over {erf.samples} random inputs"}[mode]
        if stats.radius is None:
            parts.append(f"with {what} the gradient is zero")
            continue
        share = "" if stats.area is None else f", on {stats.area:.0%} of the field's pixels"
        inside = "" if stats.inside is None else f"; {stats.inside:.0%} of it lies inside the field"
        parts.append(f"{MASS:.0%} of the gradient ({what}) lies within "
                     f"{_px(stats.radius)} pixels of the centre{share}{inside}")
    return text + "; " + "; ".join(parts) + "."


def numbers(erf: ErfMaps) -> dict[str, Any]:
    """Plain numbers behind the figure (JSON-ready)."""
    out: dict[str, Any] = {
        "layer": erf.target.name,
        "unit": erf.unit,
        "input_shape": erf.network.input,
        "field": _field_size(erf),
        "field_box": erf.box,
        "field_in_input": erf.inside_box,
        "center": erf.center,
        "view": erf.view,
        "profile_row": erf.row,
        "mass": MASS,
        "samples": erf.samples,
        "channels": erf.channels,
    }
    for mode, stats in erf.stats.items():
        out[mode] = {
            "peak": float(erf.maps[mode].max()),
            "inside": stats.inside,
            "radius": stats.radius,
            "area": stats.area,
            "sigma": stats.sigma,
            "profile_sigma": None if stats.profile_fit is None else stats.profile_fit[2],
        }
    return out


# --------------------------------------------------------------------------- sequences


@dataclass(frozen=True)
class Profiles:
    """The effective field of one unit of a 1-D network: its gradient over the input sequence
    (``|g|``, one profile per mode, full length) and the theoretical field."""

    network: Network
    target: LayerInfo
    unit: int
    box: tuple[int | float, int | float]  # exact field, first and last step (may pass the input)
    inside: Span | None  # whole steps of the field inside the input
    view: Span  # steps drawn
    profiles: Mapping[str, FloatMap]  # mode -> (T,) non-negative profile
    samples: int
    channels: int


def _sequence_unit(info: LayerInfo, options: Mapping[str, Any]) -> int:
    """The unit of a 1-D layer: ``unit`` (one number; '5' or '5,5') or the centre."""
    n = info.spatial[0]
    given = options.get("unit")
    if given is None:
        return n // 2
    if given[0] != given[1]:
        raise OptionError("unit", f"a unit of the 1-D layer {info.name} is one number, its "
                          f"step, not {given[0]},{given[1]}")
    if not 0 <= given[0] < n:
        raise OptionError("unit", f"{given[0]} is outside {info.name} ({n} steps): 0 to {n - 1}")
    return int(given[0])


def _sequence_view(inside: Span | None, exact: tuple[float, float], n: int) -> Span:
    """The steps drawn: the field plus a margin (at least MIN_VIEW steps), inside the input."""
    lo, hi = inside if inside is not None else (math.floor(exact[0]), math.ceil(exact[1]))
    lo, hi = max(lo, 0), min(hi, n - 1)
    extra = max(math.ceil((hi - lo + 1) * MARGIN_SHARE), (MIN_VIEW - (hi - lo + 1) + 1) // 2)
    a, b = lo - extra, hi + extra
    if a < 0:
        a, b = 0, b - a
    if b > n - 1:
        a, b = max(a - (b - n + 1), 0), n - 1
    return (a, b)


def sequence_cost(net: Network, options: Mapping[str, Any]) -> Cost:
    """What ``sequence_profiles`` costs: ``compute_cost`` with the sequence's length."""
    info = target_layer(analyze(net), options.get("layer"))
    n = net.input[0]
    modes = modes_of(net, options["mode"])
    cost = Cost()
    max_bytes = max(DEFAULT_MAX_BYTES, int(options.get("max_memory", 0)))
    for mode in modes:
        if mode == "uniform":
            step = erf_uniform_cost(net, info.name).then(temporary(2 * F8 * n, 2 * n))
        elif mode == "trained":
            step = erf_random_cost(net, info.name, options["samples"], max_bytes)
        else:
            step = erf_random_cost(cap_channels(net, options["channels"]), info.name,
                                   options["samples"], max_bytes)
        cost = cost.then(Cost(step.work, step.peak, F8 * n))
    return cost


def sequence_profiles(net: Network, options: Mapping[str, Any]) -> Profiles:
    """The gradient profiles of one unit of a 1-D network for resolved ``options``: uniform
    (``erf_uniform``), random or trained (the mean ``|erf_random|`` over ``samples`` seeds)."""
    info = target_layer(analyze(net), options.get("layer"))
    unit = _sequence_unit(info, options)
    n = net.input[0]
    modes = modes_of(net, options["mode"])
    require(options, sequence_cost(net, options), _what(modes), _lower(modes))
    max_bytes = max(DEFAULT_MAX_BYTES, int(options.get("max_memory", DEFAULT_MAX_BYTES)))
    profiles: dict[str, FloatMap] = {}
    for mode in modes:
        if mode == "uniform":
            profiles[mode] = np.abs(erf_uniform(net, info.name, (unit,), max_bytes=max_bytes))
        else:
            own = net if mode == "trained" else replace(net, params={}, layers=tuple(
                replace(layer, weights=()) for layer in net.layers))
            total = np.zeros(n)
            for i in range(options["samples"]):
                total += np.abs(erf_random(own, info.name, (unit,), seed=options["seed"] + i,
                                           max_bytes=max_bytes,
                                           channels=options["channels"] if mode == "random"
                                           else None))
            profiles[mode] = total / options["samples"]
    ((lo, hi),) = info.box(unit)
    box = (as_plain(lo), as_plain(hi))
    inside = clipped_box_nd(info, (unit,), (n,))
    span = inside[0] if inside is not None else None
    return Profiles(net, info, unit, box, span, _sequence_view(span, box, n), profiles,
                    options["samples"], options["channels"])


def estimate_sequence(net: Network, options: Mapping[str, Any]) -> Cost:
    """What the 1-D figure costs: the profiles, then one small plot per mode."""
    modes = modes_of(net, options["mode"])
    n = net.input[0]
    draw = canvas_cost(SEQ_WIDTH_IN, 0.9 + SEQ_PANEL_IN * len(modes), "png", DRAW_DPI)
    points = Cost(400 * n * len(modes), 64 * n * len(modes), 32 * n * len(modes))
    return with_slack(sequence_cost(net, options).then(points).then(
        texts_cost(20 + 12 * len(modes))).then(draw))


SEQ_WIDTH_IN = 6.4
SEQ_PANEL_IN = 1.35


def _profile_stats(g: FloatMap, inside: Span | None) -> dict[str, float | None]:
    """Share of the mass inside the field, its mean and standard deviation (steps), and the
    fewest steps holding MASS of it."""
    total = float(g.sum())
    if not total > 0.0:
        return {"inside": None, "mean": None, "sigma": None, "steps": None}
    share = 0.0 if inside is None else float(g[inside[0]:inside[1] + 1].sum()) / total
    fit = gaussian_moments(g)
    assert fit is not None
    by_value = np.cumsum(np.sort(g)[::-1])
    steps = int(np.searchsorted(by_value, MASS * by_value[-1])) + 1
    return {"inside": share, "mean": fit[1], "sigma": fit[2], "steps": float(steps)}


def _steps(n: float) -> str:
    return f"{fmt_num(n)} step{'s' * (n != 1)}"


def sequence_alt(pr: Profiles, stats: Mapping[str, Mapping[str, float | None]]) -> str:
    """The 1-D figure's alt text, from the numbers."""
    n = pr.network.input[0]
    lo, hi = pr.box
    size = hi - lo + 1
    parts = [f"Effective receptive field of unit {pr.unit} of layer {pr.target.name} over a "
             f"sequence of {n} steps: the theoretical field is steps {fmt_num(lo)} to "
             f"{fmt_num(hi)} ({_steps(size)})"]
    if pr.inside is not None and pr.inside != (lo, hi):
        parts[0] += f", steps {pr.inside[0]} to {pr.inside[1]} inside the input"
    for mode, st in stats.items():
        title = MODE_TITLES[mode] if mode != "trained" else _own_title(pr.network)
        name = title[0].lower() + title[1:]
        if st["inside"] is None:
            parts.append(f"{name}: the gradient is zero")
            continue
        assert st["sigma"] is not None and st["steps"] is not None and st["mean"] is not None
        parts.append(f"{name}: {st['inside']:.0%} of the gradient inside the field, centred "
                     f"at step {st['mean']:.1f} with a standard deviation of "
                     f"{st['sigma']:.1f} steps, {MASS:.0%} of it on {_steps(st['steps'])}")
    return "; ".join(parts) + "."


def draw_sequence(pr: Profiles, options: Mapping[str, Any], theme: Theme) -> Rendered:
    """One plot per mode, stacked and aligned in time: the profile (divided by its peak) over
    the input steps in view, the theoretical field shaded and its ends marked."""
    modes = list(pr.profiles)
    stats = {mode: _profile_stats(g, pr.inside) for mode, g in pr.profiles.items()}
    colours = {"uniform": theme.input, "random": theme.neuron, "trained": theme.neuron}
    height = 0.9 + SEQ_PANEL_IN * len(modes)
    fig = new_figure(SEQ_WIDTH_IN, height, theme)
    top = 1 - 0.6 / height
    bottom = 0.45 / height
    grid = fig.add_gridspec(len(modes), 1, left=0.11, right=0.98, top=top, bottom=bottom,
                            hspace=0.45)
    a, b = pr.view
    x = np.arange(a, b + 1)
    lo, hi = pr.box
    log = options["scale"] == "log"
    fig.text(0.11, 1 - 0.1 / height, f"Effective receptive field of {pr.target.name}, unit "
             f"{pr.unit} (theoretical field: steps {fmt_num(lo)} to {fmt_num(hi)})",
             ha="left", va="top", **text_kwargs(theme, 9.0))
    axes: list[Axes] = []
    for i, mode in enumerate(modes):
        ax = fig.add_subplot(grid[i], sharex=axes[0] if axes else None)
        axes.append(ax)
        g = pr.profiles[mode][a:b + 1]
        peak = float(pr.profiles[mode].max())
        y = g / peak if peak > 0 else g
        ax.axvspan(float(lo) - 0.5, float(hi) + 0.5, color=theme.field, alpha=0.18, lw=0,
                   gid=f"field-{mode}")
        for end in (float(lo) - 0.5, float(hi) + 0.5):
            ax.axvline(end, color=theme.field, lw=1.2, ls=(0, (4, 2)))
        if log:
            floor = 10.0 ** -LOG_DECADES
            ax.set_yscale("log")
            ax.set_ylim(floor, 1.6)
            y = np.maximum(y, floor)
        else:
            ax.set_ylim(0, 1.12)
        ax.fill_between(x, y, floor if log else 0, step="mid", color=colours[mode], alpha=0.35,
                        lw=0)
        ax.step(x, y, where="mid", color=colours[mode], lw=1.2, gid=f"profile-{mode}")
        ax.set_facecolor("none")
        title = MODE_TITLES[mode] if mode != "trained" else _own_title(pr.network)
        if mode != "uniform":
            title += f" (mean |gradient| of {pr.samples} samples)"
        ax.set_title(title, loc="left", **text_kwargs(theme, 8.5))
        ax.set_xlim(a - 0.5, b + 0.5)
        ax.set_ylabel("|gradient| / peak", **text_kwargs(theme, 7.5))
        _style_axes(ax, theme)
    axes[-1].set_xlabel("input step", **text_kwargs(theme, 8.0))
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    nums: dict[str, Any] = {
        "ndim": 1, "layer": pr.target.name, "unit": pr.unit, "field": [lo, hi],
        "field_inside": None if pr.inside is None else list(pr.inside), "view": list(pr.view),
        "modes": modes, "profiles": {m: g.tolist() for m, g in pr.profiles.items()},
        "stats": stats, "samples": pr.samples,
    }
    return Rendered(fig, sequence_alt(pr, stats), nums)


def render_sequence(net: Network, options: Mapping[str, Any], theme: Theme) -> Rendered:
    """The 1-D effective field figure for resolved ``options``."""
    modes = modes_of(net, options["mode"])
    require(options, estimate_sequence(net, options), _what(modes), _lower(modes))
    return replace(draw_sequence(sequence_profiles(net, options), options, theme),
                   budget=budget_of(options))


KIND = FigureKind(
    name="erf",
    summary="The effective receptive field: the input gradient of one unit as heat maps, "
            "uniform and random weights, with the theoretical field and a Gaussian profile.",
    options=OPTIONS,
    render_function=render,
    estimate_function=estimate,
    dimensions=(1, 2),
    draws="the gradient of one unit over an image or a sequence",
)
