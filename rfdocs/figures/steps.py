"""Convolution step by step: a small numeric input, the kernel, and the real output, window by window.

Every number printed in an output grid comes from ``rfdocs.compute.conv``: ``conv2d`` for a
convolution, ``conv_transpose2d`` for a transposed one (whose running sums are the transposed
convolution of the input cells scattered so far).  The products written under each input are
read from the same padded input and kernel, and add up to the printed value.

A convolution step slides the window to one output cell: padding cells are grey with a dashed
edge, the window's taps are tinted and its extent outlined, and the output cell is highlighted.
A transposed step takes one input cell and scatters it times the kernel into the output; the
output is drawn uncropped, the rows and columns that the padding crops away shown like
padding cells.

``Rendered.figure`` is a static strip of a few steps (for print);
``Rendered.animation_frames()`` draws one figure per step (at most ``MAX_FRAMES``: longer
convolutions are sampled evenly, first and last step included, each frame's header saying "step
7 of 36") only when asked, so that a static figure costs no frames, and ``animation_bytes``
turns them into an animated GIF for the web, at 96 dpi so that it shows at the size the SVG
would.  GIF rather than animated SVG: an animated SVG needs SMIL or CSS animation, which many
viewers (LaTeX, e-book readers, image previewers, some feed and chat renderers) ignore, showing
a single frame or nothing, and with one copy of every frame's glyph paths it is several times
larger; a GIF plays wherever images are shown, these flat-coloured figures quantise to a
256-colour palette without visible loss, and Pillow writes it without timestamps.  Frames are
painted onto the theme's page colour (an exact palette entry, so the figure's box does not show
on the page), since GIF transparency is one bit and would fringe anti-aliased edges.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import Affine2D
from numpy.typing import NDArray

from rfdocs.compute import Network
from rfdocs.compute.budget import Budget, Cost, alloc, temporary
from rfdocs.compute.conv import conv2d, conv_size, conv_transpose2d
from rfdocs.compute.kernels import parse_kernel, parse_matrix
from rfdocs.figures.base import FigureKind, Rendered
from rfdocs.figures.cost import (
    BUDGET_OPTIONS,
    DRAW_DPI,
    GIF_TEXT_WORK,
    TEXT_BYTES,
    budget_of,
    canvas_cost,
    require,
    texts_cost,
    with_slack,
)
from rfdocs.figures.marks import text_width_in
from rfdocs.figures.options import Option, OptionError, flag, int_pair, int_range, word
from rfdocs.figures.style import Theme, new_figure
from rfdocs.figures.text import TIMES, fmt_dims

FloatArray = NDArray[np.float64]

MAX_INPUT = 10  # cells per axis of the input
MAX_PADDED = 12  # cells per axis of the padded input
MAX_SEQUENCE = 16  # cells of a 1-D input (a sequence)
MAX_PADDED_SEQUENCE = 20  # cells of a padded 1-D input
MAX_KERNEL_1D = 9  # taps of a 1-D kernel written out
MAX_GIF_WIDTH = 1100  # pixels: larger figures are animated at a lower resolution
MAX_FRAMES = 18  # more steps are sampled evenly (first and last included)
GIF_DPI = 96  # CSS pixels per inch: the GIF shows at the SVG's natural size (72 pt = 96 px)
PAGE_WIDTH = 7.0  # inches available at natural size
VALUE_PT = 9.0
SMALL_PT = 8.0
TITLE_PT = 9.0
LINE_H = 0.165  # inches per 8 pt text line
MINUS = "\u2212"
OUTPUT_LABEL = "output"
LABEL_GAP = 0.08  # inches between the 'output' label and the grid beside it
LABEL_ABOVE_H = 0.2  # inches the 'output' label takes above the grid
DOT = "\u00b7"


# --- options ------------------------------------------------------------------------------------


def _kernel_spec(value: Any) -> str:
    text = str(value).strip()
    try:
        weights = parse_kernel(text).weights
    except ValueError as exc:
        raise OptionError("kernel", str(exc)) from None
    if max(weights.shape) > 7:
        raise OptionError("kernel", f"a {fmt_dims(weights.shape)} kernel is too large to write "
                          "out step by step; at most 7×7")
    return text


def _values(value: Any) -> str:
    text = str(value).strip()
    if not text:
        return ""
    try:
        array = parse_matrix(text)
    except ValueError as exc:
        raise OptionError("values", str(exc)) from None
    if array.shape[0] == 1 and array.shape[1] <= MAX_SEQUENCE:
        return text  # a single row: a 2-D input checks its size when planned
    _check_grid_size(array)
    return text


def _check_grid_size(array: FloatArray) -> None:
    if max(array.shape) > MAX_INPUT:
        raise OptionError("values", f"the input is {fmt_dims(array.shape)}; at most "
                          f"{MAX_INPUT}×{MAX_INPUT} cells fit a step-by-step figure")


OPTIONS = (
    Option("input", int_pair(1, MAX_INPUT), (5, 5), f"a size like 5 or 4x6, each 1 to {MAX_INPUT}",
           "Size of the input grid (filled with seeded random integers 0 to 4)."),
    Option("values", _values, "", "a matrix like [[1,2,0],[0,1,3],[2,2,1]] (a 1-D network: "
           f"one row like [1,2,0,3], at most {MAX_SEQUENCE} numbers)",
           "The input values (overrides input, length and seed)."),
    Option("length", int_range(1, MAX_SEQUENCE), 10, f"an integer from 1 to {MAX_SEQUENCE}",
           "With a 1-D network: the length of the input sequence (seeded random integers "
           "0 to 4)."),
    Option("seed", int_range(0, 2**31 - 1), 0, "an integer from 0 to 2147483647",
           "Seed of the random input values."),
    Option("kernel", _kernel_spec, "[[1,0,-1],[1,0,-1],[1,0,-1]]",
           "a kernel name (sobel-x, laplacian, box(2), gaussian(3, 1), ...) or a matrix "
           "like [[1,0],[0,-1]], at most 7×7", "The kernel."),
    Option("stride", int_pair(1, 6), (1, 1), "a stride like 1 or 2x1, each 1 to 6", "Stride."),
    Option("padding", int_pair(0, 3), (0, 0), "a padding like 1 or 1x0, each 0 to 3",
           "Zero padding on both sides of each axis (cropping, for a transposed convolution)."),
    Option("dilation", int_pair(1, 4), (1, 1), "a dilation like 1 or 2, each 1 to 4", "Dilation."),
    Option("transposed", flag, False, "a flag (yes/no)",
           "Show a transposed convolution: each input cell scatters itself times the kernel."),
    Option("output_padding", int_pair(0, 5), (0, 0), "a size like 0 or 1x0, each 0 to 5",
           "Extra output rows/columns at the bottom/right of a transposed convolution "
           "(less than the stride or the dilation)."),
    Option("layer", word, None, "a conv or deconv layer name",
           "With a network: the convolution shown (default: its first); its kernel, stride, "
           "padding and dilation replace the kernel, stride, padding, dilation and transposed "
           "options."),
    Option("filter", int_range(0, 1_000_000), 0, "a filter index",
           "With a network: which filter of the layer is shown."),
    Option("channel", int_range(0, 1_000_000), 0, "an input channel index",
           "With a network: which input channel of the filter's kernel is shown (the input "
           "grid stands for that channel)."),
    Option("panels", int_range(0, 12), 0, "an integer from 0 (automatic) to 12",
           "Steps drawn in the static strip: the first ones and the last; automatic: as many "
           "as fit one row of the page, 2 to 4."),
    *BUDGET_OPTIONS,
)


# --- computation --------------------------------------------------------------------------------


class Widths:
    """Text widths in inches at ``size`` points, each string measured once per figure."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, float], float] = {}

    def __call__(self, text: str, size: float = SMALL_PT) -> float:
        key = (text, size)
        if key not in self._seen:
            self._seen[key] = text_width_in(text, size)
        return self._seen[key]


@dataclass(frozen=True)
class Step:
    """One step: the output cell computed (conv) or the input cell scattered (transposed)."""

    index: int
    cell: tuple[int, int]  # output cell (conv) or input cell (transposed)
    taps: tuple[tuple[int, int], ...]  # padded-input cells read (conv) / full-output cells written
    products: tuple[tuple[float, float], ...]  # (input value, kernel value) per tap
    value: float  # the output value (conv) or the input value (transposed)
    shown: FloatArray  # output grid after this step; NaN where nothing computed yet


@dataclass(frozen=True)
class Plan:
    """Everything a steps figure draws, computed once."""

    x: FloatArray  # input (H, W)
    kernel: FloatArray  # (kh, kw)
    kernel_name: str
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    transposed: bool
    output_padding: tuple[int, int]
    y: FloatArray  # the result (conv2d / conv_transpose2d, cropped)
    grid_in: FloatArray  # the input as drawn: padded (conv) or plain (transposed)
    steps: tuple[Step, ...]
    widths: Widths = field(default_factory=lambda: Widths(), compare=False, repr=False)
    source: str = ""  # with a network: the layer (and filter) whose kernel is shown
    ndim: int = 2  # 1: a sequence, drawn as one row (x, kernel and y are 1 x n)
    pads: tuple[int, ...] = ()  # conv: (top, bottom, left, right) padding; 1-D: may be uneven
    causal: bool = False  # 1-D: the padding is a causal layer's (all before)

    @property
    def out_shape(self) -> tuple[int, int]:
        return (int(self.y.shape[0]), int(self.y.shape[1]))


def input_values(options: Mapping[str, Any], ndim: int = 2) -> FloatArray:
    """The input grid: the given ``values`` or seeded integers 0..4 of size ``input`` (1-D: a
    row of ``length``)."""
    if options["values"]:
        x = parse_matrix(options["values"])
        if ndim == 1 and x.shape[0] != 1:
            raise OptionError("values", f"a 1-D network reads a sequence: one row like "
                              f"[1,2,0,3], not a {fmt_dims(x.shape)} matrix")
        if ndim == 2:
            _check_grid_size(x)
        return x
    rng = np.random.default_rng(options["seed"])
    size = (1, options.get("length", 10)) if ndim == 1 else tuple(options["input"])
    return rng.integers(0, 5, size=size).astype(np.float64)


def plan_steps(options: Mapping[str, Any], network: Network | None = None) -> Plan:
    """Run the real convolution for ``options`` and list its steps; with a ``network``, its
    first convolution's kernel and geometry (``network_options``)."""
    if network is not None:
        if network.ndim == 1:
            return sequence_plan(network, options)
        options, k, name = network_options(network, options)
        return replace(_plan(options, k, name), source=name)
    parsed = parse_kernel(options["kernel"])
    return _plan(options, parsed.weights, parsed.name)


def network_options(net: Network, options: Mapping[str, Any]
                    ) -> tuple[dict[str, Any], FloatArray, str]:
    """The options a network's first conv or deconv layer stands for (its stride, padding,
    dilation, output padding; transposed for a deconv) and the 2-D kernel shown: filter
    ``filter`` on input channel ``channel`` of its weights (learned, named or seeded
    random), with a name for the title."""
    from rfdocs.compute.receptive import resolve_pads
    from rfdocs.figures.filters import CONV_OPS, ancestors, conv_weights, pick_layer

    layer = pick_layer(net, options.get("layer"), CONV_OPS, "convolution")
    weights = conv_weights(ancestors(net, layer.name), options["seed"])[layer.name]
    f, c = options["filter"], options["channel"]
    if f >= weights.shape[3]:
        raise OptionError("filter", f"layer {layer.name} has {weights.shape[3]} filters: 0 to "
                          f"{weights.shape[3] - 1}")
    if c >= weights.shape[2]:
        raise OptionError("channel", f"the kernels of {layer.name} have {weights.shape[2]} "
                          f"input channels: 0 to {weights.shape[2] - 1}")
    k = np.ascontiguousarray(weights[:, :, c, f], dtype=np.float64)
    if max(k.shape) > 7:
        raise OptionError("layer", f"the {fmt_dims(k.shape)} kernel of {layer.name} is too "
                          "large to write out step by step; at most 7×7")
    x = input_values(options)
    pads = resolve_pads(layer, (x.shape[0], x.shape[1]))
    if pads[0] != pads[1] or pads[2] != pads[3]:
        raise OptionError("layer", f"layer {layer.name} pads unevenly ({list(pads)}: top, "
                          "bottom, left, right); the step-by-step figure shows even padding")
    names = ""
    if weights.shape[3] > 1 or weights.shape[2] > 1:
        names = f" (filter {f}" + (f", channel {c})" if weights.shape[2] > 1 else ")")
    resolved = {**options, "stride": tuple(layer.stride), "padding": (pads[0], pads[2]),
                "dilation": tuple(layer.dilation), "transposed": layer.op == "deconv",
                "output_padding": tuple(layer.output_padding)}
    return resolved, k, f"{layer.name}{names}"


def sequence_plan(net: Network, options: Mapping[str, Any]) -> Plan:
    """The steps of a 1-D network's convolution (its first, or ``layer``): the sequence as one
    row, the kernel of filter ``filter`` on input channel ``channel`` as a row, its stride,
    dilation and padding (uneven and causal included) on the one axis."""
    from rfdocs.compute.receptive import resolve_pads
    from rfdocs.figures.filters import CONV_OPS, ancestors, conv_weights, pick_layer

    layer = pick_layer(net, options.get("layer"), CONV_OPS, "convolution")
    weights = conv_weights(ancestors(net, layer.name), options["seed"])[layer.name]
    f, c = options["filter"], options["channel"]
    if f >= weights.shape[-1]:
        raise OptionError("filter", f"layer {layer.name} has {weights.shape[-1]} filters: 0 to "
                          f"{weights.shape[-1] - 1}")
    if c >= weights.shape[-2]:
        raise OptionError("channel", f"the kernels of {layer.name} have {weights.shape[-2]} "
                          f"input channels: 0 to {weights.shape[-2] - 1}")
    k = np.ascontiguousarray(weights[:, c, f], dtype=np.float64)[None, :]
    if k.shape[1] > MAX_KERNEL_1D:
        raise OptionError("layer", f"the kernel of {k.shape[1]} taps of {layer.name} is too "
                          f"long to write out step by step; at most {MAX_KERNEL_1D}")
    x = input_values(options, 1)
    before, after = resolve_pads(layer, (x.shape[1],))
    transposed = layer.op == "deconv"
    if transposed and before != after:
        raise OptionError("layer", f"layer {layer.name} crops unevenly ({before} before, {after} "
                          "after); the step-by-step figure shows even cropping")
    names = ""
    if weights.shape[-1] > 1 or weights.shape[-2] > 1:
        names = f", filter {f}" + (f", channel {c}" if weights.shape[-2] > 1 else "")
    resolved = {**options, "values": "", "stride": (1, layer.stride[0]), "padding": (0, before),
                "dilation": (1, layer.dilation[0]), "transposed": transposed,
                "output_padding": (0, layer.output_padding[0])}
    plan = _plan(resolved, k, f"{layer.name}{names}", x=x, pads=(0, 0, before, after))
    return replace(plan, source=f"{layer.name}{names}", ndim=1,
                   causal=layer.padding == "causal")


def _plan(options: Mapping[str, Any], k: FloatArray, kernel_name: str,
          x: FloatArray | None = None, pads: tuple[int, int, int, int] | None = None) -> Plan:
    """The steps of ``options``' convolution of ``x`` (default: ``input_values``) with ``k``;
    ``pads`` (top, bottom, left, right) for a convolution padded unevenly (1-D)."""
    x = input_values(options) if x is None else x
    limit = MAX_PADDED if pads is None else MAX_PADDED_SEQUENCE
    s, p, d = tuple(options["stride"]), tuple(options["padding"]), tuple(options["dilation"])
    op = tuple(options["output_padding"])
    w4 = k[:, :, None, None]
    if options["transposed"]:
        for a in range(2):
            if op[a] >= max(s[a], d[a]):
                raise OptionError("output_padding", f"{op[a]} must be less than the stride "
                                  f"({s[a]}) or the dilation ({d[a]})")
        full_h = (x.shape[0] - 1) * s[0] + d[0] * (k.shape[0] - 1) + 1 + op[0]
        full_w = (x.shape[1] - 1) * s[1] + d[1] * (k.shape[1] - 1) + 1 + op[1]
        if full_h - 2 * p[0] < 1 or full_w - 2 * p[1] < 1:
            raise OptionError("padding", f"padding {p[0]}{TIMES}{p[1]} crops away the whole "
                              f"{full_h}{TIMES}{full_w} output")
        y = _tconv(x, w4, s, (p[0], p[0], p[1], p[1]), d, op)
        steps = []
        mask = np.zeros_like(x)
        for index, (i, j) in enumerate(np.ndindex(*x.shape)):
            mask[i, j] = 1.0
            partial = _tconv(x * mask, w4, s, (0, 0, 0, 0), d, op)
            reached = _tconv(mask, np.ones_like(w4), s, (0, 0, 0, 0), d, op) > 0
            taps = tuple((i * s[0] + a * d[0], j * s[1] + b * d[1])
                         for a in range(k.shape[0]) for b in range(k.shape[1]))
            products = tuple((float(x[i, j]), float(k[a, b]))
                             for a in range(k.shape[0]) for b in range(k.shape[1]))
            last = index == x.size - 1  # cells no input reaches are 0: shown at the end
            steps.append(Step(index, (i, j), taps, products, float(x[i, j]),
                              partial if last else np.where(reached, partial, np.nan)))
        return Plan(x, k, kernel_name, s, p, d, True, op, y, x, tuple(steps))
    pads = (p[0], p[0], p[1], p[1]) if pads is None else pads
    padded = (x.shape[0] + pads[0] + pads[1], x.shape[1] + pads[2] + pads[3])
    if max(padded) > limit:
        what = "per axis " if limit == MAX_PADDED else ""
        raise OptionError("padding", f"the padded input would be {fmt_dims(padded)} cells; at most "
                          f"{limit} {what}fit a step-by-step figure (use less padding or "
                          "a smaller input)")
    ho = conv_size(x.shape[0], k.shape[0], s[0], d[0], pads[0], pads[1])
    wo = conv_size(x.shape[1], k.shape[1], s[1], d[1], pads[2], pads[3])
    if ho < 1 or wo < 1:
        raise OptionError("kernel", f"the {fmt_dims(k.shape)} kernel with dilation "
                          f"{d[0]}{TIMES}{d[1]} spans {d[0] * (k.shape[0] - 1) + 1}{TIMES}"
                          f"{d[1] * (k.shape[1] - 1) + 1} cells, more than the padded "
                          f"{padded[0]}{TIMES}{padded[1]} input")
    y = np.asarray(conv2d(x[:, :, None], w4, stride=s, pads=pads, dilation=d),
                   dtype=np.float64)[:, :, 0]
    xp = np.pad(x, ((pads[0], pads[1]), (pads[2], pads[3])))
    steps = []
    for index, (r, c) in enumerate(np.ndindex(*y.shape)):
        taps = tuple((r * s[0] + a * d[0], c * s[1] + b * d[1])
                     for a in range(k.shape[0]) for b in range(k.shape[1]))
        products = tuple((float(xp[t]), float(k[a, b]))
                         for t, (a, b) in zip(taps, np.ndindex(*k.shape), strict=True))
        shown = np.full(y.shape, np.nan)
        shown.flat[:index + 1] = y.flat[:index + 1]
        steps.append(Step(index, (r, c), taps, products, float(y[r, c]), shown))
    return Plan(x, k, kernel_name, s, p, d, False, op, y, xp, tuple(steps), pads=pads)


def _tconv(x: FloatArray, w4: FloatArray, s: tuple[int, ...], pads: tuple[int, int, int, int],
           d: tuple[int, ...], op: tuple[int, ...]) -> FloatArray:
    out = conv_transpose2d(x[:, :, None], w4, stride=(s[0], s[1]), pads=pads,
                           dilation=(d[0], d[1]), output_padding=(op[0], op[1]))
    return np.asarray(out, dtype=np.float64)[:, :, 0]


def shown_steps(total: int, panels: int) -> list[int]:
    """Steps of the static strip: all when they fit, else the first ``panels - 1`` and the last."""
    if total <= panels:
        return list(range(total))
    return list(range(panels - 1)) + [total - 1]


def auto_panels(plan: Plan) -> int:
    """How many panels fit one row of the page (at least 2, at most 4); a sequence's panels
    stack: 3 (the first two steps and the last)."""
    if plan.ndim == 1:
        return 3
    for n in (4, 3):
        geo = geometry(plan, shown_steps(len(plan.steps), n))
        if _fits(plan, geo, n):
            return n
    return 2


def frame_steps(total: int, most: int = MAX_FRAMES) -> list[int]:
    """Steps of the animation: all when at most ``most``, else ``most`` steps evenly spaced
    from the first to the last (step ``round(i (total - 1) / (most - 1))`` for frame ``i``)."""
    if total <= most:
        return list(range(total))
    span, gaps = total - 1, most - 1
    return [(2 * i * span + gaps) // (2 * gaps) for i in range(most)]


# --- text ---------------------------------------------------------------------------------------


def fmt_value(value: float, integer: bool) -> str:
    """A cell value: '7', '−3', '0.25', '−1.5', '0.08' (real minus sign, at most two decimals)."""
    if integer:
        text = str(int(round(value)))
    else:
        text = f"{value:.2f}".rstrip("0").rstrip(".")
        if text in ("-0", ""):
            text = "0"
    return text.replace("-", MINUS)


def _is_integer(a: FloatArray) -> bool:
    finite = a[np.isfinite(a)]
    return bool(np.all(np.abs(finite - np.round(finite)) < 1e-9))


def arithmetic_lines(plan: Plan, step: Step, width: float) -> list[str]:
    """The sum of one step written out, one kernel row per line when that fits ``width``
    inches, else wrapped, else summarised."""
    int_x, int_k = _is_integer(plan.grid_in), _is_integer(plan.kernel)
    kh, kw = plan.kernel.shape

    def term(xv: float, kv: float) -> str:
        kt = fmt_value(kv, int_k)
        return f"{fmt_value(xv, int_x)}{DOT}{'(' + kt + ')' if kv < 0 else kt}"

    terms = [term(xv, kv) for xv, kv in step.products]
    if plan.transposed:
        head = f"adds {fmt_value(step.value, int_x)} {TIMES} kernel:"
        rows = ["   ".join(terms[r * kw:(r + 1) * kw]) for r in range(kh)]
        lines = [head] + rows
        if all(plan.widths(line, SMALL_PT) <= width for line in lines) and len(lines) <= 8:
            return lines
        return [head, f"to {len(step.taps)} cells"]
    exact = int_x and int_k  # else the written products are rounded: the sum is approximate
    total = f"{'=' if exact else '≈'} {fmt_value(step.value, _is_integer(plan.y))}"
    rows = [" + ".join(terms[r * kw:(r + 1) * kw]) for r in range(kh)]
    lines = [rows[0]] + ["+ " + row for row in rows[1:]]
    if len(lines) == 1 and plan.widths(lines[0] + " " + total, SMALL_PT) <= width:
        return [lines[0] + " " + total]
    lines.append(total)
    if all(plan.widths(line, SMALL_PT) <= width for line in lines) and len(lines) <= 8:
        return lines
    # wrap greedily, term by term
    wrapped: list[str] = []
    current = ""
    for t, text in enumerate(terms):
        piece = text if t == 0 else f"+ {text}"
        trial = f"{current} {piece}".strip()
        if current and plan.widths(trial, SMALL_PT) > width:
            wrapped.append(current)
            current = piece
        else:
            current = trial
    wrapped.extend([current, total])
    if len(wrapped) <= 8 and all(plan.widths(line, SMALL_PT) <= width for line in wrapped):
        return wrapped
    return [f"sum of {len(terms)} products", total]


# --- drawing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Geometry:
    """Sizes, in inches, shared by every panel of one figure (so frames line up)."""

    cell_k: float  # kernel cells
    cell_in: float  # input cells
    cell_out: float  # output cells
    panel_w: float
    in_rows: int
    in_cols: int
    out_rows: int
    out_cols: int
    lines: int  # arithmetic lines
    label_w: float  # width of the 'output' label
    label_left: bool  # the label left of the output grid (True) or above it (False)
    index_h: float = 0.0  # a sequence: the row of time indices under the input
    out_shift: float | None = None  # a sequence: output grid's left edge from the input's

    @property
    def panel_h(self) -> float:
        return (0.26 + self.in_rows * self.cell_in + self.index_h + 0.12 + self.lines * LINE_H
                + 0.1 + (0.0 if self.label_left else LABEL_ABOVE_H)
                + self.out_rows * self.cell_out)

    @property
    def out_x(self) -> float:
        """Left edge of the output grid from the panel's left: the label and the grid are
        centred as one unit when the label goes left of the grid; a sequence's outputs stand
        under the input their window is anchored at (``out_shift``)."""
        if self.out_shift is not None:
            return (self.panel_w - self.in_cols * self.cell_in) / 2 + self.out_shift
        out_w = self.out_cols * self.cell_out
        if self.label_left:
            return (self.panel_w - self.label_w - LABEL_GAP - out_w) / 2 + self.label_w + LABEL_GAP
        return (self.panel_w - out_w) / 2


def _grid_shapes(plan: Plan) -> tuple[int, int, int, int]:
    """(input rows, cols, output rows, cols) as drawn."""
    gi = plan.grid_in.shape
    go = plan.steps[0].shown.shape
    return int(gi[0]), int(gi[1]), int(go[0]), int(go[1])


def geometry(plan: Plan, steps: Sequence[int]) -> Geometry:
    in_r, in_c, out_r, out_c = _grid_shapes(plan)
    def cell_for(values: FloatArray) -> float:
        integer = _is_integer(values)
        texts = [fmt_value(float(v), integer) for v in values.flat if np.isfinite(v)]
        return max(0.27, max(plan.widths(t, VALUE_PT) for t in texts) + 0.08)

    cell_k = cell_for(plan.kernel)
    cell_in = cell_for(plan.grid_in)
    cell_out = cell_for(plan.steps[-1].shown)
    header = max(plan.widths(_header(plan, plan.steps[i]), SMALL_PT) for i in steps)
    panel_w = max(in_c * cell_in, out_c * cell_out, header + 0.1, 1.45)
    # let the arithmetic widen a panel up to 2.6 in, when that keeps it one row per kernel row
    need = max(max(plan.widths(line, SMALL_PT) for line in arithmetic_lines(plan, plan.steps[i], 9.9))
               for i in steps)
    panel_w = max(panel_w, min(need, 2.6))
    lines = max(len(arithmetic_lines(plan, plan.steps[i], panel_w)) for i in steps)
    label_w = plan.widths(OUTPUT_LABEL, SMALL_PT)
    if plan.ndim == 1:  # one cell size, the outputs under the inputs they stand for
        cell = max(cell_in, cell_out)
        panel_w = max(panel_w, in_c * cell, out_c * cell)
        return Geometry(cell_k, cell, cell, panel_w, in_r, in_c, out_r, out_c, lines, label_w,
                        False, INDEX_H, _anchor(plan) * cell if _anchor(plan) >= 0 else None)
    label_left = label_w + LABEL_GAP + out_c * cell_out <= panel_w
    return Geometry(cell_k, cell_in, cell_out, panel_w, in_r, in_c, out_r, out_c, lines, label_w,
                    label_left)


INDEX_H = 0.15  # inches of the time indices under a sequence
INDEX_PT = 6.5


def _anchor(plan: Plan) -> float:
    """Where a sequence's output 0 stands, in padded input cells: under its window's last tap
    (causal: the newest input it reads, so output t stands under input t) or its centre; -1
    (centred below instead) for a stride other than 1 or a transposed convolution."""
    if plan.transposed or plan.stride[1] != 1:
        return -1.0
    span = plan.dilation[1] * (plan.kernel.shape[1] - 1) + 1
    return float(span - 1) if plan.causal else (span - 1) / 2


class _Painter:
    """Draws in inches on one axes spanning the whole figure (y grows downwards); cells are
    collected and drawn as one PolyCollection (Rectangle patches cost ~100 µs each)."""

    def __init__(self, fig: Figure, width: float, height: float, theme: Theme) -> None:
        self.theme = theme
        self.fig = fig
        # inches from the top-left corner -> display; no Axes (they cost ~14 ms each)
        self.transform = Affine2D().scale(1.0, -1.0).translate(0.0, height) + fig.dpi_scale_trans
        self.boxes: list[tuple[float, float, float, float]] = []
        self.faces: list[Any] = []
        self.edges: list[Any] = []
        self.widths: list[float] = []
        self.styles: list[Any] = []

    def cell(self, x: float, y: float, w: float, h: float, face: Any, edge: Any,
             lw: float = 0.6, style: Any = "solid") -> None:
        self.boxes.append((x, y, w, h))
        self.faces.append(to_rgba(face))
        self.edges.append(to_rgba(edge))
        self.widths.append(lw)
        self.styles.append(style)

    def text(self, x: float, y: float, text: str, size: float = SMALL_PT, color: str | None = None,
             **kw: Any) -> None:
        self.fig.text(x, y, text, fontsize=size, color=color or self.theme.fg,
                      transform=self.transform, **kw)

    def line(self, xs: Sequence[float], ys: Sequence[float], color: str, lw: float) -> None:
        self.fig.add_artist(Line2D(xs, ys, color=color, lw=lw, transform=self.transform))

    def finish(self) -> None:
        if not self.boxes:
            return
        b = np.array(self.boxes)
        x0, y0, x1, y1 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
        verts = np.stack([np.stack([x0, y0], 1), np.stack([x1, y0], 1),
                          np.stack([x1, y1], 1), np.stack([x0, y1], 1)], axis=1)
        self.fig.add_artist(PolyCollection(
            list(verts), closed=True, facecolors=self.faces, edgecolors=self.edges,
            linewidths=self.widths, linestyles=self.styles, zorder=1, transform=self.transform))


def _tint(colour: str, alpha: float) -> tuple[float, float, float, float]:
    return to_rgba(colour, alpha)


def draw_grid(pt: _Painter, x0: float, y0: float, cell: float, values: FloatArray, integer: bool,
              face: Any, pad_mask: NDArray[np.bool_] | None = None,
              special: Mapping[tuple[int, int], Any] | None = None, gid: str = "") -> None:
    """A grid of numbered cells at (x0, y0): cells in ``pad_mask`` drawn as padding, cells in
    ``special`` with that face instead, NaN cells left empty (dotted).  Value texts get the
    gid ``f"{gid}-{row}-{col}"`` (an SVG id; tests read the printed numbers by it)."""
    th = pt.theme
    special = special or {}
    for (r, c), v in np.ndenumerate(values):
        x, y = x0 + c * cell, y0 + r * cell
        padded = pad_mask is not None and bool(pad_mask[r, c])
        if (r, c) in special:
            pt.cell(x, y, cell, cell, special[(r, c)], th.muted, 0.6,
                    (0, (2, 2)) if padded else "solid")
        elif padded:
            pt.cell(x, y, cell, cell, _tint(th.padding, 0.5), th.muted, 0.6, (0, (2, 2)))
        elif np.isfinite(v):
            pt.cell(x, y, cell, cell, face, th.muted, 0.6)
        else:
            pt.cell(x, y, cell, cell, "none", _tint(th.muted, 0.7), 0.6, (0, (1, 2)))
        if np.isfinite(v):
            pt.text(x + cell / 2, y + cell / 2, fmt_value(float(v), integer), VALUE_PT,
                    color=th.muted if padded else th.fg, ha="center", va="center_baseline",
                    gid=f"{gid}-{r}-{c}" if gid else None)


def draw_panel(pt: _Painter, plan: Plan, step: Step, geo: Geometry, x0: float, y0: float,
               header: str, gid: str) -> None:
    """One step: header, input grid with the window, the arithmetic, the output grid."""
    th = pt.theme
    cell, cello = geo.cell_in, geo.cell_out
    pt.text(x0 + geo.panel_w / 2, y0 + 0.04, header, SMALL_PT, color=th.muted, ha="center",
            va="top")
    gy = y0 + 0.26
    gx = x0 + (geo.panel_w - geo.in_cols * cell) / 2
    in_int = _is_integer(plan.grid_in)
    window = _tint(th.field, 0.45)
    current = _tint(th.neuron, 0.4)
    if plan.transposed:
        draw_grid(pt, gx, gy, cell, plan.grid_in, in_int, _tint(th.input, 0.22),
                  special={step.cell: current}, gid=f"{gid}-input")
        i, j = step.cell
        pt.cell(gx + j * cell, gy + i * cell, cell, cell, "none", th.neuron, 2.0)
    else:
        p0, p1 = plan.padding
        mask = np.ones(plan.grid_in.shape, bool)
        mask[p0:p0 + plan.x.shape[0], p1:p1 + plan.x.shape[1]] = False
        draw_grid(pt, gx, gy, cell, plan.grid_in, in_int, _tint(th.input, 0.22), mask,
                  special={t: window for t in step.taps}, gid=f"{gid}-input")
        _outline(pt, gx, gy, cell, step.taps, th.field)
    if geo.index_h:  # a sequence: its time steps numbered under the cells
        first = 0 if plan.transposed else plan.padding[1]
        for t in range(plan.x.shape[1]):
            pt.text(gx + (first + t + 0.5) * cell, gy + geo.in_rows * cell + 0.03, str(t),
                    INDEX_PT, color=th.muted, ha="center", va="top", gid=f"{gid}-t-{t}")

    ay = gy + geo.in_rows * cell + geo.index_h + 0.12
    for n, line in enumerate(arithmetic_lines(plan, step, geo.panel_w)):
        pt.text(x0 + geo.panel_w / 2, ay + n * LINE_H, line, SMALL_PT, ha="center", va="top",
                gid=f"{gid}-sum-{n}")

    oy = ay + geo.lines * LINE_H + 0.1
    ox = x0 + geo.out_x
    if geo.label_left:  # 'output' beside the grid, level with its middle
        pt.text(ox - LABEL_GAP, oy + geo.out_rows * cello / 2, OUTPUT_LABEL, SMALL_PT,
                color=th.muted, ha="right", va="center_baseline", gid=f"{gid}-outlabel")
    else:  # over the grid, as 'kernel' is over the kernel
        pt.text(ox + geo.out_cols * cello / 2, oy, OUTPUT_LABEL, SMALL_PT, color=th.muted,
                ha="center", va="top", gid=f"{gid}-outlabel")
        oy += LABEL_ABOVE_H
    out_int = _is_integer(plan.y) and _is_integer(step.shown)
    if plan.transposed:
        p0, p1 = plan.padding
        crop = np.ones(step.shown.shape, bool)
        crop[p0:p0 + plan.y.shape[0], p1:p1 + plan.y.shape[1]] = False
        draw_grid(pt, ox, oy, cello, step.shown, out_int, _tint(th.maps, 0.2), crop,
                  special={t: window for t in step.taps}, gid=f"{gid}-output")
        _outline(pt, ox, oy, cello, step.taps, th.field)
        if p0 or p1:  # the cropped output's outline
            pt.cell(ox + p1 * cello, oy + p0 * cello, plan.y.shape[1] * cello,
                    plan.y.shape[0] * cello, "none", th.fg, 1.0)
    else:
        draw_grid(pt, ox, oy, cello, step.shown, out_int, _tint(th.maps, 0.2),
                  special={step.cell: current}, gid=f"{gid}-output")
        r, c = step.cell
        pt.cell(ox + c * cello, oy + r * cello, cello, cello, "none", th.neuron, 2.0)


def _outline(pt: _Painter, gx: float, gy: float, cell: float, taps: Sequence[tuple[int, int]],
             colour: str) -> None:
    """Outline the window's extent (its taps are tinted by the grid)."""
    rows = [t[0] for t in taps]
    cols = [t[1] for t in taps]
    r0, r1, c0, c1 = min(rows), max(rows), min(cols), max(cols)
    pt.cell(gx + c0 * cell, gy + r0 * cell, (c1 - c0 + 1) * cell, (r1 - r0 + 1) * cell, "none",
            colour, 2.0)


def _title(plan: Plan) -> str:
    if plan.ndim == 1:
        return _sequence_title(plan)
    h, w = plan.x.shape
    parts = []
    if plan.stride != (1, 1):
        parts.append(f"stride {_pair(plan.stride)}")
    if plan.padding != (0, 0):
        parts.append(f"padding {_pair(plan.padding)}")
    if plan.dilation != (1, 1):
        parts.append(f"dilation {_pair(plan.dilation)}")
    if plan.transposed and plan.output_padding != (0, 0):
        parts.append(f"output padding {_pair(plan.output_padding)}")
    how = f" ({', '.join(parts)})" if parts else ""
    verb = "Transposed convolution" if plan.transposed else "Convolution"
    kernel = (f"the {fmt_dims(plan.kernel.shape)} kernel of {plan.source}" if plan.source
              else f"a {fmt_dims(plan.kernel.shape)} kernel")
    return (f"{verb} of a {h}{TIMES}{w} input with {kernel}{how}"
            f" → {fmt_dims(plan.out_shape)} output")


def _sequence_title(plan: Plan) -> str:
    """'Convolution of a sequence of 10 with the kernel of 2 taps of conv1 (dilation 2, causal
    padding 2) → 10 outputs'."""
    parts = []
    if plan.stride[1] != 1:
        parts.append(f"stride {plan.stride[1]}")
    if plan.dilation[1] != 1:
        parts.append(f"dilation {plan.dilation[1]}")
    before, after = (plan.pads[2], plan.pads[3]) if plan.pads else (plan.padding[1],) * 2
    if plan.transposed and before:
        parts.append(f"cropping {before}")
    elif plan.causal and before:
        parts.append(f"causal padding {before}")
    elif before == after and before:
        parts.append(f"padding {before}")
    elif before or after:
        parts.append(f"padding {before} before, {after} after")
    if plan.transposed and plan.output_padding[1]:
        parts.append(f"output padding {plan.output_padding[1]}")
    how = f" ({', '.join(parts)})" if parts else ""
    verb = "Transposed convolution" if plan.transposed else "Convolution"
    taps = plan.kernel.shape[1]
    kernel = f"the kernel of {taps} tap{'s' * (taps != 1)} of {plan.source}"
    n = plan.y.shape[1]
    return f"{verb} of a sequence of {plan.x.shape[1]} with {kernel}{how} → {n} output{'s' * (n != 1)}"


def _pair(v: tuple[int, int]) -> str:
    return str(v[0]) if v[0] == v[1] else f"{v[0]}{TIMES}{v[1]}"


def _header(plan: Plan, step: Step) -> str:
    total = len(plan.steps)
    where = "input" if plan.transposed else "output"
    if plan.ndim == 1:
        return f"step {step.index + 1} of {total}: {where} {step.cell[1]}"
    return f"step {step.index + 1} of {total}: {where} ({step.cell[0]}, {step.cell[1]})"


def _draw_kernel(pt: _Painter, plan: Plan, x0: float, y0: float, cell: float, width: float) -> None:
    kh, kw = plan.kernel.shape
    pt.text(x0 + width / 2, y0 + 0.04, "kernel", SMALL_PT, color=pt.theme.muted, ha="center",
            va="top")
    gx = x0 + (width - kw * cell) / 2
    draw_grid(pt, gx, y0 + 0.26, cell, plan.kernel, _is_integer(plan.kernel),
              _tint(pt.theme.field, 0.3), gid="kernel")


def _kernel_width(plan: Plan, cell: float) -> float:
    return float(max(plan.kernel.shape[1] * cell, plan.widths("kernel", SMALL_PT)) + 0.3)


MARGIN = 0.1
TITLE_LINE_H = 0.18


def _title_block(plan: Plan, content_w: float) -> tuple[str, float, float]:
    """The title, on two lines (before its parenthesis or arrow) when one line is wider than
    both the content and the page; with its width and height in inches."""
    title = _title(plan)
    room = max(content_w, PAGE_WIDTH - 2 * MARGIN)
    if plan.widths(title, TITLE_PT) > room:
        cut = title.find(" (") if " (" in title else title.find(" →")
        title = title[:cut] + "\n" + title[cut + 1:]
    lines = title.split("\n")
    width = max(plan.widths(line, TITLE_PT) for line in lines) + 0.05
    return title, width, 0.12 + TITLE_LINE_H * len(lines)
GAP = 0.25


def _per_row(plan: Plan, geo: Geometry) -> int:
    """Panels that fit one row of the page beside the kernel."""
    room = PAGE_WIDTH - 2 * MARGIN - _kernel_width(plan, geo.cell_k) + GAP
    return max(1, int(room // (geo.panel_w + GAP)))


def _fits(plan: Plan, geo: Geometry, n: int) -> bool:
    return _per_row(plan, geo) >= n


def strip_size(plan: Plan, indices: Sequence[int], geo: Geometry) -> tuple[float, float]:
    """(width, height) in inches of the static strip of ``indices``."""
    kernel_w = _kernel_width(plan, geo.cell_k)
    per_row = min(len(indices), _per_row(plan, geo))
    n_rows = math.ceil(len(indices) / per_row)
    content = kernel_w + per_row * geo.panel_w + (per_row - 1) * GAP
    _, title_w, title_h = _title_block(plan, content)
    return (2 * MARGIN + max(content, title_w),
            2 * MARGIN + title_h + n_rows * geo.panel_h + (n_rows - 1) * GAP)


def frame_size(plan: Plan, geo: Geometry) -> tuple[float, float]:
    """(width, height) in inches of one animation frame."""
    kernel_w = _kernel_width(plan, geo.cell_k)
    _, title_w, title_h = _title_block(plan, kernel_w + geo.panel_w)
    return 2 * MARGIN + max(kernel_w + geo.panel_w, title_w), 2 * MARGIN + title_h + geo.panel_h


def draw_strip(plan: Plan, indices: Sequence[int], theme: Theme) -> Figure:
    """The static figure: the kernel, then one panel per step in ``indices``, wrapped in rows."""
    geo = geometry(plan, indices)
    kernel_w = _kernel_width(plan, geo.cell_k)
    per_row = min(len(indices), _per_row(plan, geo))
    content = kernel_w + per_row * geo.panel_w + (per_row - 1) * GAP
    title, _, title_h = _title_block(plan, content)
    width, height = strip_size(plan, indices, geo)
    fig = new_figure(width, height, theme)
    pt = _Painter(fig, width, height, theme)
    pt.text(MARGIN, MARGIN, title, TITLE_PT, ha="left", va="top", linespacing=1.3)
    top = MARGIN + title_h
    _draw_kernel(pt, plan, MARGIN, top, geo.cell_k, kernel_w)
    for n, i in enumerate(indices):
        row, col = divmod(n, per_row)
        x0 = MARGIN + kernel_w + col * (geo.panel_w + GAP)
        y0 = top + row * (geo.panel_h + GAP)
        draw_panel(pt, plan, plan.steps[i], geo, x0, y0, _header(plan, plan.steps[i]), f"panel{n}")
        if col > 0:  # a thin rule between panels
            xr = x0 - GAP / 2
            pt.line([xr, xr], [y0 + 0.3, y0 + geo.panel_h], theme.face, 0.8)
    pt.finish()
    return fig


def draw_frame(plan: Plan, index: int, geo: Geometry, theme: Theme) -> Figure:
    """One animation frame: the title, the kernel and the panel of step ``index``."""
    kernel_w = _kernel_width(plan, geo.cell_k)
    title, _, title_h = _title_block(plan, kernel_w + geo.panel_w)
    width, height = frame_size(plan, geo)
    fig = new_figure(width, height, theme)
    pt = _Painter(fig, width, height, theme)
    pt.text(MARGIN, MARGIN, title, TITLE_PT, ha="left", va="top", linespacing=1.3)
    x0 = MARGIN + kernel_w + (width - 2 * MARGIN - kernel_w - geo.panel_w) / 2
    top = MARGIN + title_h
    _draw_kernel(pt, plan, MARGIN, top, geo.cell_k, kernel_w)
    draw_panel(pt, plan, plan.steps[index], geo, x0, top, _header(plan, plan.steps[index]),
               "panel0")
    pt.finish()
    return fig


def draw_frames(plan: Plan, indices: Sequence[int], theme: Theme) -> tuple[Figure, ...]:
    """The animation: one frame per step in ``indices``, every frame the same size."""
    geo = geometry(plan, indices)
    return tuple(draw_frame(plan, i, geo, theme) for i in indices)


def render(network: Network | None, options: Mapping[str, Any], theme: Theme) -> Rendered:
    """The steps figure for resolved ``options``: a static strip, and the frames (one per step)
    drawn only when ``animation_frames()`` asks for them; each checked against the budget of
    ``options`` before it is drawn."""
    plan = plan_steps(options, network)
    indices = shown_steps(len(plan.steps), options["panels"] or auto_panels(plan))
    require(options, strip_cost(plan, indices), "the step-by-step figure", LOWER)
    fig = draw_strip(plan, indices, theme)
    frame_idx = frame_steps(len(plan.steps))
    y_int = _is_integer(plan.y)
    numbers = {
        "input": plan.x.tolist(), "kernel": plan.kernel.tolist(), "output": plan.y.tolist(),
        "steps": len(plan.steps), "shown_steps": indices, "frame_steps": frame_idx,
        "stride": list(plan.stride), "padding": list(plan.padding),
        "dilation": list(plan.dilation), "transposed": plan.transposed,
        "page_colour": theme.bg,
    }
    if plan.ndim == 1:  # a sequence: flat lists, one entry per axis
        before, after = (plan.pads[2], plan.pads[3]) if plan.pads else (plan.padding[1],) * 2
        numbers.update({
            "input": plan.x[0].tolist(), "kernel": plan.kernel[0].tolist(),
            "output": plan.y[0].tolist(), "stride": [plan.stride[1]],
            "padding": [before, after], "dilation": [plan.dilation[1]], "causal": plan.causal,
            "ndim": 1})
    return Rendered(fig, _alt_text(plan, y_int), numbers, budget=budget_of(options),
                    frame_source=functools.partial(_budgeted_frames, options, plan,
                                                   tuple(frame_idx), theme))


# --- cost ---------------------------------------------------------------------------------------

#: What makes a step-by-step figure smaller.
LOWER = ("input", "stride", "dilation", "kernel", "panels")
CELL_WORK = 10_000  # operations per drawn cell (a polygon, about 20 µs)
GIF_PIXEL_WORK = 30  # per pixel of a frame: Agg's fill, the copies and composites, LZW
CELL_BYTES = 300


def _panel_marks(plan: Plan, step: Step, geo: Geometry) -> tuple[int, int]:
    """(texts, cells) of one panel: header, input values, the sum, label and output values."""
    inputs = int(np.isfinite(plan.grid_in).sum())
    outputs = int(np.isfinite(step.shown).sum())
    lines = len(arithmetic_lines(plan, step, geo.panel_w))
    indices = plan.x.size if plan.ndim == 1 else 0
    return 2 + inputs + lines + outputs + indices, plan.grid_in.size + step.shown.size + 3


def _marks_cost(texts: int, cells: int) -> Cost:
    return texts_cost(texts).then(alloc(CELL_BYTES * cells, CELL_WORK * cells))


def strip_cost(plan: Plan, indices: Sequence[int]) -> Cost:
    """What the static strip of ``indices`` costs: its texts and cells, drawn at 150 dpi."""
    geo = geometry(plan, indices)
    texts, cells = 2 + plan.kernel.size, plan.kernel.size
    for i in indices:
        t, c = _panel_marks(plan, plan.steps[i], geo)
        texts, cells = texts + t, cells + c
    return with_slack(_marks_cost(texts, cells).then(
        canvas_cost(*strip_size(plan, indices, geo), "png", DRAW_DPI)))


def animation_cost(plan: Plan, indices: Sequence[int]) -> Cost:
    """What the animation of ``indices`` costs: every frame's figure (all kept), each drawn by
    Agg at the GIF's resolution (``frames_rgba``: texts that stay are drawn once), then the
    palette and the indexed frames (``animation_bytes``)."""
    geo = geometry(plan, indices)
    width, height = frame_size(plan, geo)
    dpi = min(GIF_DPI, MAX_GIF_WIDTH / width)
    px = int(width * dpi) * int(height * dpi) + 1
    marks = [_panel_marks(plan, plan.steps[i], geo) for i in indices]
    held = sum(t for t, _ in marks) + len(indices) * (2 + plan.kernel.size)
    cells = sum(c for _, c in marks) + len(indices) * plan.kernel.size
    steady = int(np.isfinite(plan.grid_in).sum()) + plan.kernel.size + 1  # drawn once
    drawn = held - (len(indices) - 1) * steady
    frames = Cost(GIF_TEXT_WORK * drawn + CELL_WORK * cells,
                  TEXT_BYTES * held + CELL_BYTES * cells, TEXT_BYTES * held + CELL_BYTES * cells)
    return with_slack(frames.then(gif_cost(len(indices), px)))


def gif_cost(frames: int, px: int) -> Cost:
    """``animation_bytes`` of ``frames`` frames of ``px`` pixels: each drawn by Agg, copied and
    composited (``frames_rgba``; every frame kept as RGBA, and Pillow keeps as much again of
    its block allocator), then the palette of three frames, the colour table (two 16 M-entry
    lookups) and the indexed frames."""
    images = Cost(GIF_PIXEL_WORK * px * frames, 6 * 4 * px + 8 * px * (frames - 1),
                  8 * px * frames)
    palette = temporary(3 * (3 + 4 * 4) * px, 40 * 3 * px)
    table = temporary(2 * (1 << 24) + 6 * px * frames, 20 * px * frames + (1 << 24))
    return images.then(palette).then(table)


def estimate(options: Mapping[str, Any], animated: bool = False,
             network: Network | None = None) -> Cost:
    """What ``render`` costs for resolved ``options``: the static strip, or, ``animated``, the
    animation (``animation_bytes``) as well."""
    plan = plan_steps(options, network)
    cost = strip_cost(plan, shown_steps(len(plan.steps), options["panels"] or auto_panels(plan)))
    if animated:
        cost = cost.then(animation_cost(plan, tuple(frame_steps(len(plan.steps)))))
    return cost


def _budgeted_frames(options: Mapping[str, Any], plan: Plan, indices: tuple[int, ...],
                     theme: Theme) -> tuple[Figure, ...]:
    """``draw_frames``, once the animation's cost is checked against the budget of
    ``options``."""
    require(options, animation_cost(plan, indices), "the animation", LOWER)
    return draw_frames(plan, indices, theme)


def _alt_text(plan: Plan, y_int: bool) -> str:
    values = ", ".join(fmt_value(v, y_int).replace(MINUS, "-") for v in plan.y.flat[:12])
    more = ", ..." if plan.y.size > 12 else ""
    how = _title(plan)
    if plan.ndim == 1:
        return f"{how}, {len(plan.steps)} steps; output values: {values}{more}."
    return (f"{how}, {len(plan.steps)} steps; output values "
            f"(row by row): {values}{more}.")


# --- animation ----------------------------------------------------------------------------------

FRAME_MS = 900
LAST_FRAME_MS = 2400


def _draw_rgba(fig: Figure, dpi: float) -> Any:
    """The figure drawn by Agg at ``dpi`` (a PIL RGBA image, straight alpha)."""
    from PIL import Image

    from rfdocs.figures.aggtext import AggCanvas

    fig.set_dpi(dpi)
    canvas = AggCanvas(fig)  # text sizes remembered across frames and variants: same pixels
    canvas.draw()  # type: ignore[no-untyped-call]
    pixels = bytes(canvas.buffer_rgba())  # type: ignore[no-untyped-call]
    return Image.frombuffer("RGBA", canvas.get_width_height(), pixels, "raw", "RGBA", 0, 1)


def _text_key(text: Text) -> tuple[Any, ...]:
    x, y = text.get_position()
    return (text.get_text(), round(float(x), 6), round(float(y), 6), to_rgba(text.get_color()),
            text.get_fontsize(), text.get_horizontalalignment(),
            text.get_verticalalignment(), text.get_rotation(),
            text.get_gid())


def persistent_texts(frames: Sequence[Figure]) -> list[list[Text]]:
    """Per frame, its texts that every later frame draws alike: the title, the kernel and the
    input values from the first frame on, each output value from the step that computes it."""
    keyed = [{_text_key(t): t for t in f.texts if t.get_visible()} for f in frames]
    out: list[list[Text]] = []
    common: set[tuple[Any, ...]] | None = None
    for k in reversed(keyed):
        common = set(k) if common is None else common & set(k)
        out.append([k[key] for key in sorted(common, key=repr)])
    return out[::-1]


def _draw_only(fig: Figure, texts: Sequence[Text], dpi: float) -> Any:
    """``fig`` drawn with only ``texts`` visible (a transparent PIL RGBA layer)."""
    keep = {id(t) for t in texts}
    hidden = [a for a in [*fig.texts, *fig.artists, *fig.lines, *fig.patches, *fig.images,
                          *fig.axes] if id(a) not in keep and a.get_visible()]
    for artist in hidden:
        artist.set_visible(False)
    try:
        return _draw_rgba(fig, dpi)
    finally:
        for artist in hidden:
            artist.set_visible(True)


def frames_rgba(frames: Sequence[Figure], bg: str, dpi: float) -> list[Any]:
    """Each frame drawn by Agg at ``dpi`` and painted onto the page colour ``bg`` (opaque PIL
    RGBA images).

    Text is nearly all of Agg's time, and most texts stay once drawn (the input values, the
    kernel, the output values so far): each is drawn once, onto a transparent layer that grows
    frame by frame and is laid over each frame drawn without them (no two texts overlap, and
    texts are drawn above cells and lines)."""
    from PIL import Image

    overlay = None
    done: set[tuple[Any, ...]] = set()
    out = []
    for fig, kept in zip(frames, persistent_texts(frames), strict=True):
        new = [t for t in kept if _text_key(t) not in done]
        if new:
            layer = _draw_only(fig, new, dpi)
            overlay = layer if overlay is None else Image.alpha_composite(overlay, layer)
            done.update(_text_key(t) for t in new)
        for t in kept:
            t.set_visible(False)
        try:
            drawn = _draw_rgba(fig, dpi)
        finally:
            for t in kept:
                t.set_visible(True)
        image = Image.alpha_composite(Image.new("RGBA", drawn.size, bg), drawn)
        out.append(image if overlay is None else Image.alpha_composite(image, overlay))
    return out


def _keys(image: Any) -> NDArray[np.uint32]:
    """The colours of an opaque RGBA image as integers ``r | g << 8 | b << 16``."""
    keys: NDArray[np.uint32] = np.asarray(image).view("<u4")[:, :, 0] & np.uint32(0xFFFFFF)
    return keys


def _rgb_of(keys: NDArray[Any]) -> NDArray[np.uint8]:
    k = keys.astype(np.uint32)
    return np.stack([k & 255, (k >> 8) & 255, (k >> 16) & 255], axis=-1).astype(np.uint8)


def gif_palette(images: Sequence[Any], page: str) -> NDArray[np.uint8]:
    """One palette (at most 256 × RGB) for every frame (no flicker): the page colour and each
    flat fill exactly (colours covering at least 0.5 % of the pixels), then an octree (a quarter of
    a median cut's time, with a smaller worst error) for the anti-aliased rest, of the first,
    middle and last frames, which between them hold every tint drawn."""
    from PIL import Image

    sample = [images[i] for i in sorted({0, len(images) // 2, len(images) - 1})]
    width, height = sample[0].size
    sheet = Image.new("RGB", (width, height * len(sample)))
    for n, image in enumerate(sample):
        sheet.paste(image.convert("RGB"), (0, n * height))
    colours, counts = np.unique(np.concatenate([_keys(im).ravel() for im in sample]),
                                return_counts=True)
    order = np.argsort(-counts, kind="stable")[:32]
    r, g, b = _rgb255(page)
    bg = r | g << 8 | b << 16
    exact = [bg] + [int(c) for c, n in zip(colours[order], counts[order], strict=True)
                    if n * 200 >= counts.sum() and int(c) != bg]
    cut = sheet.quantize(colors=256 - len(exact), method=Image.Quantize.FASTOCTREE,
                         dither=Image.Dither.NONE)
    rest = np.array(cut.getpalette() or [], dtype=np.uint8).reshape(-1, 3)[:256 - len(exact)]
    return np.concatenate([_rgb_of(np.array(exact)), rest])


def _rgb255(colour: str) -> tuple[int, int, int]:
    r, g, b = to_rgba(colour)[:3]
    return round(r * 255), round(g * 255), round(b * 255)


def _indexed(images: Sequence[Any], palette: NDArray[np.uint8]) -> list[NDArray[np.uint8]]:
    """Each frame as indices into ``palette``, every colour mapped to its nearest entry (an
    exact entry to itself), through one table over the colours the frames use."""
    keys = [_keys(im) for im in images]
    seen = np.zeros(1 << 24, dtype=bool)
    for k in keys:
        seen[k] = True
    used = np.flatnonzero(seen)
    rgb = _rgb_of(used).astype(np.int32)
    pal = palette.astype(np.int32)
    table = np.zeros(1 << 24, dtype=np.uint8)
    for lo in range(0, len(used), 4096):  # (4096, 256) squared distances at a time
        part = rgb[lo:lo + 4096]
        d = (part[:, None, 0] - pal[None, :, 0]) ** 2  # a channel at a time: a tenth of the
        d += (part[:, None, 1] - pal[None, :, 1]) ** 2  # time of summing over a last axis of 3
        d += (part[:, None, 2] - pal[None, :, 2]) ** 2
        table[used[lo:lo + 4096]] = d.argmin(axis=1)
    return [table[k] for k in keys]


def animation_bytes(rendered: Rendered, fmt: str = "gif", *, dpi: float = GIF_DPI,
                    bg: str | None = None) -> bytes:
    """The frames of ``rendered`` as an animated GIF ('gif') or animated PNG ('png', full colour),
    painted on the page colour ``bg`` (default: the theme's, recorded in ``numbers``) at ``dpi``
    (default 96: one figure inch is one CSS inch, the size the SVG shows at); the same frames
    always give the same bytes."""
    from PIL import Image

    if fmt not in ("gif", "png"):
        raise ValueError(f"unknown animation format {fmt!r}; allowed: gif, png")
    frames = rendered.animation_frames() or (rendered.figure,)
    page = bg or str(rendered.numbers.get("page_colour", "#ffffff"))
    width, height = (float(v) for v in frames[0].get_size_inches())
    dpi = min(dpi, MAX_GIF_WIDTH / width)
    (rendered.budget or Budget()).check(gif_cost(len(frames), int(width * dpi) * int(height * dpi)
                                                 + 1), "the animation", [])
    images = frames_rgba(frames, page, dpi)
    durations = [FRAME_MS] * (len(images) - 1) + [LAST_FRAME_MS]
    buf = io.BytesIO()
    if fmt == "png":
        rgb = [im.convert("RGB") for im in images]
        rgb[0].save(buf, format="PNG", save_all=True, append_images=rgb[1:],
                    duration=durations, loop=0, optimize=False)
        return buf.getvalue()
    palette = gif_palette(images, page)
    indexed = []
    for index in _indexed(images, palette):
        im = Image.fromarray(index, "P")
        im.putpalette(palette.tobytes())
        indexed.append(im)
    indexed[0].save(buf, format="GIF", save_all=True, append_images=indexed[1:],
                    duration=durations, loop=0, optimize=False, disposal=1)
    return buf.getvalue()


KIND = FigureKind(
    name="steps",
    summary="A convolution (or transposed convolution) computed step by step on a small grid.",
    options=OPTIONS,
    render_function=render,
    uses_network=True,
    estimate_function=lambda network, options: estimate(options, network=network),
    dimensions=(1, 2),
    draws="a convolution of an image or a sequence, step by step",
)
