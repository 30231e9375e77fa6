"""Feature maps of a real convolution on a real image: the input, one mosaic of maps, a colour bar.

The image (by default the built-in public-domain photo, see ``rfdocs.compute.images``) is
convolved with a bank of kernels by ``rfdocs.compute.conv.conv2d``; optional activation and
pooling follow, and ``layers`` > 1 repeats conv → activation → pool, each map convolved again
with its own kernel (a depthwise convolution, ``groups`` = number of maps; random kernels draw
a fresh seeded bank per layer).

All maps are drawn as ONE image (a tiled array with transparent gutters, a single ``imshow``),
so a hundred maps cost what one does.  Few maps get their kernel's name under each tile; many
get an indexed grid (column numbers on top, the index of each row's first map on the left).

``scale`` chooses the colour scale: ``shared``, one scale and colour bar for all maps (the
honest comparison of magnitudes), or ``each``, every map divided by its own largest magnitude
(signed maps; 0 stays the neutral middle) or stretched over its own range (non-negative maps),
with its range printed under its tile, and the colour bar reading "−max, 0, max" or
"min, max".  The default, ``auto``, is ``each`` for a few named kernels, whose maps differ in
size by design (a 5×5 Gaussian's ±1 beside a Sobel's ±4 would be invisible), and ``shared``
for random banks and indexed grids, where the comparison is the point and no tile has room
for its own range.

Kernels of different sizes share one window: smaller kernels are centred in the largest one
(zeros around), so every map has the same size.  A named 2-D kernel applied to a colour image
weighs every channel by ``k / C`` (it sees the channel mean); random kernels are full-depth
(``size × size × C``, He-initialised), like a network's first layer.

Signed maps use a symmetric diverging scale centred on 0: the theme's map on a light page, and
on a dark page a dark-centred one ('berlin'), so that mostly-zero edge maps do not glare.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.transforms import (
    Bbox,
    BboxBase,
    BboxTransformTo,
    TransformedBbox,
    blended_transform_factory,
)
from numpy.typing import NDArray

from rfdocs.compute import Network, SpecError, analyze, as_plain
from rfdocs.compute.budget import (
    F8,
    FRESH,
    NORMAL,
    Cost,
    alloc,
    array_image_cost,
    conv2d_cost,
    conv_transpose2d_cost,
    grey_cost,
    pool_cost,
    resize_cost,
    weights_bytes,
)
from rfdocs.compute.conv import DEFAULT_MAX_BYTES
from rfdocs.compute.images import (
    DEFAULT_MAX_PIXELS,
    ImageError,
    builtin_photo_path,
    image_header,
    is_builtin,
    load_image,
    read_cost,
    resize_area,
    resized_size,
)
from rfdocs.compute.kernels import Kernel, parse_kernel, random_bank, split_specs
from rfdocs.compute.receptive import resolve_pads
from rfdocs.compute.spec import GLOBAL_OPS, HEAD_OPS, INPUT_NAME, POINTWISE_OPS, Layer
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
from rfdocs.figures.marks import (
    BAR_TICK,
    axes_box,
    colour_bar,
    image_in_box,
    pixel_transform,
    text_width_in,
)
from rfdocs.figures.options import (
    Option,
    OptionError,
    choice,
    flag,
    float_range,
    int_range,
    word,
)
from rfdocs.figures.style import Theme, new_figure, text_kwargs
from rfdocs.figures.text import MINUS, TIMES, fmt_dims, fmt_num, fmt_range
from rfdocs.messages import quote

FloatArray = NDArray[np.float64]

MAX_MAPS = 400
DEFAULT_SIZE = 128  # the longer side of the image, pixels, without a network
LABELLED_MAX = 16  # up to this many maps each get a name label; more get an indexed grid
FIG_WIDTH = 7.0  # inches at natural size (a textbook column)
LABEL_PT = 8.0
TITLE_PT = 9.0
DEFAULT_KERNELS = ("sobel-x", "sobel-y", "laplacian", "gaussian")
RANGE_H = 0.15  # inches of the per-map range line under a tile's name (scale: each)
#: Images whose pixels are at least one output pixel at this many dots per inch (the default of
#: SVG and PNG output) are drawn with nearest-neighbour resampling: crisp pixels, and a third of
#: the PNG-encoding time of smoothed ones; smaller pixels are smoothed (nearest would alias).
CRISP_DPI = 150
BAR_W, BAR_GAP, BAR_PAD = 0.12, 0.12, 3.5 / 72  # colour bar, inches


# --- options ------------------------------------------------------------------------------------


def _kernel_list(value: Any) -> tuple[str, ...]:
    """A kernel list: 'sobel-x, gaussian(5, 1) [[1,0],[0,-1]]' or a YAML list of specs."""
    try:
        if isinstance(value, list | tuple):
            specs = [s for item in value for s in split_specs(str(item))]
        else:
            specs = split_specs(str(value))
        if not specs:
            raise ValueError("no kernels given")
        if len(specs) > MAX_MAPS:
            raise ValueError(f"{len(specs)} kernels given, at most {MAX_MAPS} allowed")
        for spec in specs:
            parse_kernel(spec)
    except ValueError as exc:
        raise OptionError("kernels", f"{exc}") from None
    return tuple(specs)


def _image_source(value: Any) -> Any:
    """'photo' (the built-in photo), a path, or an already-loaded array."""
    if isinstance(value, np.ndarray | Path):
        return value
    return str(value).strip() or "photo"


def _cmap_name(value: Any) -> str:
    text = str(value).strip()
    if text and text not in matplotlib.colormaps:
        raise OptionError("cmap", f"unknown colour map {text!r}; allowed: a matplotlib colour map "
                          "name such as viridis, magma, gray, RdBu or PuOr (empty: the theme's)")
    return text


def _size(value: Any) -> int | str:
    """'auto' or 8 to 1024."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    return int(int_range(8, 1024)(value))


def size_of(options: Mapping[str, Any]) -> int | None:
    """The ``size`` option as a number of pixels; None for 'auto'."""
    size = options.get("size", "auto")
    return None if size == "auto" else int(size)


def _value_range(value: Any) -> tuple[float, float]:
    """'0,1', '0 255', '-1, 1' or a YAML list: two numbers, the first smaller."""
    parts = value if isinstance(value, list | tuple) else [
        p for p in re.split(r"[,\s]+", str(value).strip("()[] ")) if p]
    if len(parts) != 2:
        raise ValueError(value)
    lo, hi = (float_range(-1e6, 1e6)(p) for p in parts)
    if not lo < hi:
        raise OptionError("input_range", f"the first number must be the smaller, got {lo}, {hi}")
    return (lo, hi)


def _channel_values(option: str, positive: bool = False) -> Any:
    """One number or one per channel (at most 4), as a tuple."""
    def convert(value: Any) -> tuple[float, ...]:
        parts = value if isinstance(value, list | tuple) else [
            p for p in re.split(r"[,\s]+", str(value).strip("()[] ")) if p]
        if not 1 <= len(parts) <= 4:
            raise ValueError(value)
        numbers = tuple(float_range(-1e6, 1e6)(p) for p in parts)
        if positive and any(n <= 0 for n in numbers):
            raise OptionError(option, f"must be positive numbers, got {quote(value)}")
        return numbers
    return convert


OPTIONS = (
    Option("image", _image_source, "photo", "'photo' (the built-in photograph) or an image path",
           "The input image; the Sphinx layer resolves paths relative to the document."),
    Option("colour", flag, False, "a flag (yes/no)",
           "Convolve the colour image (3 channels) instead of its greyscale luma."),
    Option("size", _size, "auto", "auto or an integer from 8 to 1024",
           "Resize the image (area averaging) so that its longer side has this many pixels. "
           f"auto, the default: {DEFAULT_SIZE} pixels; with a network, the network's input size "
           "(the image resized to cover it and centre-cropped). A size given with a network "
           "runs the network on the image at that size."),
    Option("kernels", _kernel_list, DEFAULT_KERNELS,
           "kernel names (identity, box, sobel-x, sobel-y, laplacian, sharpen, emboss, gaussian, "
           "random, optionally with arguments like gaussian(5, 1.5)) or matrices like "
           "[[1,0,-1],[2,0,-2],[1,0,-1]]",
           "The kernel bank, one feature map per kernel."),
    Option("count", int_range(1, MAX_MAPS), 1, f"an integer from 1 to {MAX_MAPS}",
           "How many kernels each 'random' entry of the bank stands for."),
    Option("seed", int_range(0, 2**31 - 1), 0, "an integer from 0 to 2147483647",
           "Seed of the random kernels (unless a 'random(size, seed)' entry gives its own)."),
    Option("padding", choice("valid", "same"), "valid", "valid or same",
           "valid: no padding (maps shrink by kernel size - 1); same: zero padding keeping the size."),
    Option("activation", choice("none", "relu", "abs"), "none", "none, relu or abs",
           "Non-linearity applied to every map after each convolution."),
    Option("pool", choice("none", "max", "avg"), "none", "none, max or avg",
           "Pooling after each activation (window and stride pool_size)."),
    Option("pool_size", int_range(2, 8), 2, "an integer from 2 to 8", "Pooling window and stride."),
    Option("layers", int_range(1, 4), 1, "an integer from 1 to 4",
           "Repeat conv → activation → pool this many times (later layers depthwise)."),
    Option("columns", int_range(0, 40), 0, "an integer from 0 (automatic) to 40",
           "Tiles per row of the mosaic."),
    Option("scale", choice("auto", "shared", "each"), "auto", "auto, shared or each",
           "Colour scale of the maps. shared: one scale and colour bar for all, the honest "
           "comparison of magnitudes. each: every map on its own scale (a signed map divided by "
           "its largest magnitude, so 0 stays neutral; a non-negative one stretched from its "
           "minimum to its maximum) with its range printed under it, so that a weak map (a "
           "blur's ±1 beside an edge detector's ±4) still shows its pattern. auto: each for up "
           "to 16 named kernels, whose responses differ in size by design; shared for random "
           "banks, whose maps are there to be compared, and for more than 16 maps, where no "
           "tile has room for its range."),
    Option("cmap", _cmap_name, "", "a matplotlib colour map name",
           "Colour map of the maps (default: the theme's diverging map for signed values, "
           "its sequential map otherwise)."),
    Option("show_input", flag, True, "a flag (yes/no)", "Draw the input image left of the maps."),
    Option("layer", word, None, "a layer name",
           "With a network: the layer whose output maps are shown (default: the last layer "
           "before the classifier head or global pooling). Without one, the layers the "
           "short-hand options build are named conv1, relu1 (abs1), pool1, conv2, ..."),
    Option("maps", int_range(0, MAX_MAPS), 0, f"an integer from 0 (all) to {MAX_MAPS}",
           f"Show the first this many maps of the layer (0: all of them, at most {MAX_MAPS})."),
    Option("input_range", _value_range, None, "two numbers like 0,1 or 0,255",
           "The model's preprocessing, first step: pixel values (0 to 1 as read) are mapped "
           "linearly onto this range (default: left at 0 to 1)."),
    Option("channel_order", choice("rgb", "bgr"), "rgb", "rgb or bgr",
           "The model's preprocessing, second step: the order of a colour image's channels "
           "(bgr for Caffe and OpenCV models)."),
    Option("mean", _channel_values("mean"), None, "one number, or one per channel: 0.485, 0.456, "
           "0.406", "The model's preprocessing, third step: subtracted from every channel (in "
           "the model's channel order)."),
    Option("std", _channel_values("std", positive=True), None, "one positive number, or one "
           "per channel: 0.229, 0.224, 0.225",
           "The model's preprocessing, last step: every channel divided by it (after the "
           "mean)."),
    *BUDGET_OPTIONS,
)


# --- computation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureMaps:
    """The computed maps ``(N, h, w)`` with their kernels and the image they came from."""

    image: FloatArray  # H×W×C in [0, 1]
    labels: tuple[str, ...]
    kernel_shape: tuple[int, int]
    maps: FloatArray  # (N, h, w)
    description: str  # the kernel bank in words, for alt text
    named: bool = True  # the labels name kernels (scale 'auto' is then 'each')
    #: With a network: (layer shown, its op, layers run, total maps of the layer, weights in
    #: words); None for the short-hand options.
    network: tuple[str, str, int, int, str] | None = None


@dataclass(frozen=True)
class Shorthand:
    """The network the short-hand options build, its exact weights and the bank in words."""

    network: Network
    weights: dict[str, FloatArray]
    labels: tuple[str, ...]
    description: str
    named: bool


def kernel_bank(specs: Sequence[str], channels: int, count: int, seed: int,
                ) -> tuple[FloatArray, tuple[str, ...], str]:
    """Weights ``(K, K, C, N)`` of the bank, a label per kernel and the bank in words."""
    kernels: list[FloatArray] = []  # each (kh, kw, C)
    labels: list[str] = []
    words: list[str] = []
    for spec in specs:
        parsed = parse_kernel(spec)
        if parsed.name.startswith("random"):
            size, own_seed = _random_args(parsed, seed)
            bank = random_bank(count, size, own_seed, depth=channels)
            kernels.extend(bank[:, :, :, i] for i in range(count))
            labels.extend([parsed.name] if count == 1 else [f"random {i}" for i in range(count)])
            words.append(f"{count} random {size}{TIMES}{size} kernel{'s' if count > 1 else ''} "
                         f"(seed {own_seed})")
        else:
            k = parsed.weights
            kernels.append(np.repeat(k[:, :, None], channels, axis=2) / channels)
            labels.append(parsed.name)
            words.append(parsed.name)
    if len(kernels) > MAX_MAPS:
        raise OptionError("count", f"the bank has {len(kernels)} kernels; at most {MAX_MAPS} allowed")
    kh = max(k.shape[0] for k in kernels)
    kw = max(k.shape[1] for k in kernels)
    weights = np.zeros((kh, kw, channels, len(kernels)))
    for n, k in enumerate(kernels):
        top, left = (kh - k.shape[0]) // 2, (kw - k.shape[1]) // 2
        weights[top:top + k.shape[0], left:left + k.shape[1], :, n] = k
    return weights, tuple(labels), ", ".join(words)


def _random_args(kernel: Kernel, seed: int) -> tuple[int, int]:
    """(size, seed) of a 'random' or 'random(size[, seed])' kernel spec."""
    size = kernel.shape[0]
    if "," in kernel.name:
        return size, int(kernel.name.rsplit(",", 1)[1].strip(" )"))
    return size, seed


def shorthand_network(shape: Sequence[int], options: Mapping[str, Any]) -> Shorthand:
    """The network the short-hand options describe for an image of ``shape`` (H, W, C):
    ``layers`` times conv → activation → pool (conv1, relu1 or abs1, pool1, conv2, ...), the
    first convolution full-depth, later ones depthwise; the convolutions carry their named
    kernels (``weights``) and the exact bank as params (random entries drawn as before)."""
    h, w, channels = (int(v) for v in shape)
    weights, labels, words = kernel_bank(options["kernels"], channels, options["count"],
                                         options["seed"])
    kh, kw = weights.shape[:2]
    n_maps = weights.shape[3]
    named = not any(parse_kernel(spec).name.startswith("random") for spec in options["kernels"])
    pads = _pads(kh, kw) if options["padding"] == "same" else (0, 0, 0, 0)
    layers: list[Layer] = []
    exact: dict[str, FloatArray] = {}
    previous = INPUT_NAME
    for index in range(options["layers"]):
        number = index + 1
        if index > 0:  # each map again with its own kernel: depthwise
            weights = _depthwise(options["kernels"], weights, options["count"],
                                 options["seed"] + index)
        if h + pads[0] + pads[1] < kh or w + pads[2] + pads[3] < kw:
            raise OptionError("layers", f"layer {number} gets {fmt_dims((h, w))} maps, "
                              f"smaller than the {kh}{TIMES}{kw} kernel; use fewer layers, no "
                              "pooling or a larger size")
        conv = Layer(f"conv{number}", "conv", kernel=(kh, kw), padding=pads, filters=n_maps,
                     groups=1 if index == 0 else n_maps, inputs=(previous,),
                     weights=tuple(options["kernels"]) if named else ())
        layers.append(conv)
        exact[conv.name] = weights
        previous = conv.name
        h, w = h + pads[0] + pads[1] - kh + 1, w + pads[2] + pads[3] - kw + 1
        if options["activation"] == "relu":
            layers.append(Layer(f"relu{number}", "relu", inputs=(previous,)))
        elif options["activation"] == "abs":  # |x| is a leaky ReLU of slope -1
            layers.append(Layer(f"abs{number}", "leakyrelu", alpha=-1.0, inputs=(previous,)))
        previous = layers[-1].name
        if options["pool"] != "none":
            p = options["pool_size"]
            if h < p or w < p:
                raise OptionError("pool_size", f"{p}{TIMES}{p} pooling does not fit the "
                                  f"{fmt_dims((h, w))} maps of layer {number}")
            layers.append(Layer(f"pool{number}", "maxpool" if options["pool"] == "max"
                                else "avgpool", kernel=(p, p), stride=(p, p), inputs=(previous,)))
            previous = layers[-1].name
            h, w = h // p, w // p
    net = Network((int(shape[0]), int(shape[1]), channels), tuple(layers),
                  params={name: {"weight": array} for name, array in exact.items()})
    return Shorthand(net, exact, labels, words, named)


def compute_maps(image: FloatArray, options: Mapping[str, Any]) -> FeatureMaps:
    """The feature maps of ``image`` under the resolved ``options``: the network the
    short-hand options build (conv → act → pool, repeated), run by ``forward``."""
    built = shorthand_network(image.shape, options)
    target = options.get("layer") or built.network.layers[-1].name
    _known_layer(built.network, target)
    x = run_network(built.network, preprocess(image, options), built.weights, target,
                    _max_bytes(options))
    kh, kw = next(iter(built.weights.values())).shape[:2]
    maps = np.ascontiguousarray(np.moveaxis(x, 2, 0))
    if target != built.network.layers[-1].name:
        described = _in_network(built.network, target, built, options)
        return replace(described, maps=_first_maps(maps, options), image=image)
    return FeatureMaps(image, built.labels, (kh, kw), _first_maps(maps, options),
                       built.description, built.named)


def _first_maps(maps: FloatArray, options: Mapping[str, Any]) -> FloatArray:
    """The first ``maps`` maps (all when 0); more than MAX_MAPS are refused."""
    wanted = options.get("maps", 0) or maps.shape[0]
    if wanted > MAX_MAPS:
        raise OptionError("maps", f"the layer has {maps.shape[0]} maps; at most {MAX_MAPS} fit "
                          f"one figure (give :maps: {min(64, MAX_MAPS)} to show the first ones)")
    return maps[:wanted]


def _known_layer(net: Network, name: str) -> Layer:
    try:
        return net.layer(name)
    except KeyError:
        names = [layer.name for layer in net.layers]
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise OptionError("layer", f"the network has no layer {name!r}; its layers are "
                          f"{shown}") from None


def run_network(net: Network, x: FloatArray, weights: Mapping[str, FloatArray], target: str,
                max_bytes: int) -> FloatArray:
    """The (H', W', C') output of layer ``target`` of ``net`` on the (H, W, C) input ``x``
    (``rfdocs.compute.forward``; only the layers ``target`` depends on run)."""
    from rfdocs.compute.forward import forward
    from rfdocs.figures.filters import ancestors

    cut = ancestors(net, target)
    try:
        acts = forward(cut, x, dict(weights), max_bytes=max_bytes)
    except SpecError as err:
        raise OptionError("layer", str(err)) from None
    return np.asarray(acts[target], dtype=np.float64)


def default_layer(net: Network) -> str:
    """The last layer before the classifier head or a global pooling (the last layer whose
    maps are spatial), else the last layer."""
    last = None
    for layer in net.layers:
        if layer.op in HEAD_OPS or layer.op in GLOBAL_OPS:
            break
        last = layer.name
    return last or net.layers[-1].name


def preprocess(image: FloatArray, options: Mapping[str, Any]) -> FloatArray:
    """The model's preprocessing of an image in [0, 1]: onto ``input_range``, channels in
    ``channel_order``, minus ``mean``, divided by ``std`` (each step skipped at its default)."""
    x = image
    lo, hi = options.get("input_range") or (0.0, 1.0)
    if (lo, hi) != (0.0, 1.0):
        x = lo + x * (hi - lo)
    if options.get("channel_order", "rgb") == "bgr" and x.shape[2] == 3:
        x = np.ascontiguousarray(x[:, :, ::-1])
    channels = x.shape[2]
    for name in ("mean", "std"):
        values = options.get(name)
        if values is None:
            continue
        if len(values) not in (1, channels):
            raise OptionError(name, f"gives {len(values)} numbers for a {channels}-channel "
                              "input; give one, or one per channel")
        v = np.asarray(values, dtype=np.float64)
        x = x - v if name == "mean" else x / v
    return np.asarray(x, dtype=np.float64)


def _map_labels(net: Network, target: str, n: int) -> tuple[tuple[str, ...], bool]:
    """A label per map of ``target``: the kernel names of the convolution that made them (back
    through layers that keep the channels), else map numbers; and whether they are names."""
    keeps = set(POINTWISE_OPS) | {"maxpool", "avgpool", "pad", "upsample"}
    layer = net.layer(target)
    while layer.op in keeps and layer.inputs[0] != INPUT_NAME:
        layer = net.layer(layer.inputs[0])
    if layer.op in ("conv", "deconv") and layer.weights:
        specs = layer.weights if len(layer.weights) > 1 else layer.weights * n
        return tuple(specs[:n]), True
    return tuple(str(i) for i in range(n)), False


def _weights_words(net: Network, seed: int) -> str:
    """Where the convolutions' weights come from, in words."""
    from rfdocs.figures.filters import weight_source

    sources = {weight_source(net, layer.name) for layer in net.layers
               if layer.op in ("conv", "deconv")}
    if not sources:
        return "no convolution weights"
    words = {"learned": "learned weights", "named": "named kernels",
             "random": f"random weights (seed {seed})"}
    return " and ".join(words[k] for k in ("learned", "named", "random") if k in sources)


def _in_network(net: Network, target: str, built: Shorthand | None,
                options: Mapping[str, Any]) -> FeatureMaps:
    """The description of layer ``target``'s maps (the maps themselves filled by the caller)."""
    from rfdocs.figures.filters import ancestors

    cut = ancestors(net, target)
    layer = net.layer(target)
    analysis = analyze(cut)
    total = int(analysis[target].shape[2])
    shown = options.get("maps", 0) or total
    labels, named = _map_labels(net, target, min(shown, total))
    if built is not None:
        words = built.description
    else:
        words = _weights_words(cut, options["seed"])
    convs = [lay for lay in cut.layers if lay.op in ("conv", "deconv")]
    kernel = (convs[0].kernel[0], convs[0].kernel[-1]) if convs else (1, 1)  # (kh, kw) in 2-D
    empty = np.zeros((0, 1, 1))
    return FeatureMaps(empty, labels, kernel, empty, words, named,
                       (target, layer.op, len(cut.layers), total, words))


def network_maps(net: Network, image: FloatArray, options: Mapping[str, Any]) -> FeatureMaps:
    """The maps of layer ``layer`` of ``net`` run on ``image`` (H×W×C in [0, 1], already the
    size the network runs at) after the model's preprocessing."""
    from rfdocs.figures.filters import ancestors, conv_weights

    target = options["layer"] or default_layer(net)
    _known_layer(net, target)
    run = net if tuple(image.shape) == tuple(net.input) else net.with_input(image.shape)
    cut = ancestors(run, target)
    try:
        analyze(cut)
    except SpecError as err:
        raise OptionError("size", f"the network does not run on the {fmt_dims(image.shape)} "
                          f"image: {err}") from None
    weights = conv_weights(cut, options["seed"])
    x = run_network(cut, preprocess(image, options), weights, target, _max_bytes(options))
    maps = _first_maps(np.ascontiguousarray(np.moveaxis(x, 2, 0)), options)
    described = _in_network(cut, target, None, options)
    return replace(described, image=image, maps=maps)


def _max_bytes(options: Mapping[str, Any]) -> int:
    """The convolutions' own allocation guard: the budget, where it is above their default."""
    return max(DEFAULT_MAX_BYTES, int(options.get("max_memory", DEFAULT_MAX_BYTES)))


def _depthwise(specs: Sequence[str], first: FloatArray, count: int, seed: int) -> FloatArray:
    """Depthwise weights ``(K, K, 1, N)`` for a later layer: named kernels reuse their 2-D form,
    random ones draw a fresh bank seeded ``seed``."""
    kh, kw, _, n_maps = first.shape
    out: FloatArray = first.sum(axis=2, keepdims=True)  # named kernels: k/C summed over C is k
    fresh = random_bank(n_maps, max(kh, kw), seed)[:kh, :kw]
    n = 0
    for spec in specs:
        parsed = parse_kernel(spec)
        if parsed.name.startswith("random"):
            out[:, :, :, n:n + count] = fresh[:, :, :, n:n + count]
            n += count
        else:
            n += 1
    return out


def _pads(kh: int, kw: int) -> tuple[int, int, int, int]:
    """'same' padding (top, bottom, left, right); an even kernel puts the extra row below."""
    return ((kh - 1) // 2, kh // 2, (kw - 1) // 2, kw // 2)


# --- the mosaic ---------------------------------------------------------------------------------


def mosaic(maps: FloatArray, columns: int, gap: int, row_gap: int | None = None) -> FloatArray:
    """``maps`` (N, h, w) tiled row by row, ``columns`` per row, with NaN gutters of ``gap``
    pixels between columns and ``row_gap`` (default ``gap``) between rows."""
    n, h, w = maps.shape
    row_gap = gap if row_gap is None else row_gap
    rows = math.ceil(n / columns)
    out = np.full((rows * h + (rows - 1) * row_gap, columns * w + (columns - 1) * gap), np.nan)
    for i in range(n):
        top, left = tile_origin(i, columns, h, w, gap, row_gap)
        out[top:top + h, left:left + w] = maps[i]
    return out


def tile_origin(i: int, columns: int, h: int, w: int, gap: int,
                row_gap: int | None = None) -> tuple[int, int]:
    """(row, column) pixel of the top-left corner of tile ``i`` in the mosaic."""
    row_gap = gap if row_gap is None else row_gap
    r, c = divmod(i, columns)
    return r * (h + row_gap), c * (w + gap)


def auto_columns(n: int, h: int, w: int) -> int:
    """Tiles per row: one row up to 6 labelled maps; a near-square grid for many."""
    if n <= LABELLED_MAX:
        rows = math.ceil(n / 6)
        return math.ceil(n / rows)
    ideal = math.sqrt(n * h / w)  # a square mosaic

    def cost(c: int) -> float:  # empty tiles weigh more than a less square shape
        return (math.ceil(n / c) * c - n) / c + abs(math.log(c / ideal)) * 2
    return min(range(max(1, math.floor(ideal) - 2), math.ceil(ideal) + 3), key=cost)


# --- drawing ------------------------------------------------------------------------------------





def fit_text(text: str, width_in: float, size: float) -> str:
    """``text``, shortened with an ellipsis until it fits ``width_in`` inches."""
    if text_width_in(text, size) <= width_in:
        return text
    while len(text) > 1 and text_width_in(text + "…", size) > width_in:
        text = text[:-1]
    return text + "…"


def render(network: Network | None, options: Mapping[str, Any], theme: Theme) -> Rendered:
    """The featuremaps figure for resolved ``options`` (of ``network`` run on the image, or of
    the network the short-hand options build), its cost checked against their budget before
    anything large is allocated."""
    if network is not None and network.ndim == 1:
        return render_sequence(network, options, theme)
    try:
        require(options, estimate(options, network), "the feature maps",
                ["size", "maps", "layer"] if network is not None
                else ["size", "count", "kernels", "layers"])
        image = (_load(options["image"], size_of(options) or DEFAULT_SIZE, not options["colour"],
                       options["max_memory"]) if network is None
                 else network_image(network, options))
    except ImageError as exc:
        raise OptionError("image", str(exc)) from None
    key = tuple(options[name] for name in COMPUTE_OPTIONS)
    digest = None
    if network is not None:
        from rfdocs.figures.filters import params_digest

        digest = params_digest(network)
    fm = _compute_memo(Pixels.of(image), key, network, digest)
    rendered = render_maps(fm, options, theme)
    return replace(rendered, budget=budget_of(options))


def _network_channels(net: Network, options: Mapping[str, Any]) -> int:
    channels = int(net.input[2])
    if channels not in (1, 3):
        raise OptionError("image", f"the network takes {channels} input channels; an image "
                          "gives 1 (greyscale) or 3 (colour)")
    if options["colour"] and channels == 1:
        raise OptionError("colour", "the network takes one input channel: the image is fed "
                          "as greyscale (remove :colour:)")
    return channels


def network_size(net: Network, shape: Sequence[int], size: int | None
                 ) -> tuple[int, int, int, int]:
    """(resized height, width, crop height, width) of an image of ``shape`` for ``net``: its
    longer side ``size`` (no crop), or, for None (auto), covering the network's input and
    cropped to it."""
    h0, w0 = int(shape[0]), int(shape[1])
    if size:
        h, w = resized_size(h0, w0, size)
        return h, w, h, w
    height, width = int(net.input[0]), int(net.input[1])
    s = max(height / h0, width / w0)
    return max(height, round(h0 * s)), max(width, round(w0 * s)), height, width


def network_image(net: Network, options: Mapping[str, Any]) -> FloatArray:
    """The image as the network takes it: its channels, resized (and cropped) by
    ``network_size``, values in [0, 1] (preprocessing comes later)."""
    channels = _network_channels(net, options)
    full = _load(options["image"], None, channels == 1, options["max_memory"])
    if full.shape[2] == 1 and channels == 3:
        full = np.repeat(full, 3, axis=2)
    h, w, ch, cw = network_size(net, full.shape, size_of(options))
    resized = resize_area(full, h, w)
    top, left = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(resized[top:top + ch, left:left + cw])


# --- cost ---------------------------------------------------------------------------------------

#: The widest colour bar label of a shared scale (``_tick_text``: three significant digits).
WIDEST_TICK = f"{MINUS}0.000888"


def _source(source: Any) -> tuple[tuple[int, int, int], Cost]:
    """The shape (H, W, C) of the image ``source`` as loaded, and what loading it costs."""
    if isinstance(source, np.ndarray):
        a = source
        if a.ndim not in (2, 3) or a.size == 0 or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
            return (1, 1, 1), Cost()  # as_image_array refuses it
        channels = 1 if a.ndim == 2 else a.shape[2]
        return ((a.shape[0], a.shape[1], min(channels, 3)),
                array_image_cost(a.shape[0], a.shape[1], channels))
    path = builtin_photo_path() if isinstance(source, str) and is_builtin(source) else source
    header = image_header(path)
    return (header[0], header[1], header[3]), read_cost(header)


def estimate(options: Mapping[str, Any], network: Network | None = None) -> Cost:
    """What the figure will cost: loading the image (greyscale, resized), the network's
    forward pass up to the layer shown (every activation kept), the mosaic and drawing it
    (``render``'s code path)."""
    if network is not None and network.ndim == 1:
        return estimate_sequence(network, options)
    (h0, w0, c0), cost = _source(options["image"])
    channels = c0
    grey = not options["colour"] if network is None else _network_channels(network, options) == 1
    if grey and c0 == 3:
        cost = cost.then(grey_cost(h0, w0, c0)).freeing(F8 * h0 * w0 * c0)
        channels = 1
    if network is None:
        h, w = resized_size(h0, w0, size_of(options) or DEFAULT_SIZE)
        ch, cw = h, w
    else:
        h, w, ch, cw = network_size(network, (h0, w0), size_of(options))
        if channels == 1 and network.input[2] == 3:
            cost = cost.then(alloc(3 * F8 * h0 * w0, 3 * h0 * w0))
            channels = 3
    cost = cost.then(resize_cost((h0, w0, channels), (h, w))).freeing(
        0 if (h, w) == (h0, w0) else F8 * h0 * w0 * channels)
    if (ch, cw) != (h, w):
        cost = cost.then(alloc(F8 * ch * cw * channels, ch * cw * channels))
    if network is None:
        n, kh, kw = _bank_shape(options["kernels"], options["count"])
        bank = alloc(F8 * kh * kw * channels * n * 3, kh * kw * channels * n * 4)
        net = shorthand_network_shape((ch, cw, channels), n, (kh, kw), options)
        target = options["layer"] or net.layers[-1].name
        weights = Cost()
    else:
        net = network if tuple(network.input) == (ch, cw, channels) else network.with_input(
            (ch, cw, channels))
        target = options["layer"] or default_layer(net)
        bank = Cost()
        weights = None
    _known_layer(net, target)
    from rfdocs.figures.filters import ancestors

    cut = ancestors(net, target)
    try:
        analysis = analyze(cut)
    except SpecError as err:
        raise OptionError("size" if network is not None else "layers", str(err)) from None
    if weights is None:
        drawn = weights_bytes(analysis)
        weights = alloc(2 * drawn, NORMAL * drawn // F8)
    prep = _preprocess_cost((ch, cw, channels), options)
    compute = bank.then(weights).then(prep).then(
        _forward_cost(analysis, _max_bytes(options)))
    h_out, w_out, c_out = analysis[target].shape
    n_maps = min(int(c_out), options["maps"] or int(c_out))
    named = _map_labels(cut, target, n_maps)[1] if network is not None else None
    maps = F8 * h_out * w_out * n_maps
    compute = compute.then(alloc(maps, maps // F8))
    return with_slack(cost.then(compute).then(
        _drawing_cost((n_maps, h_out, w_out), (ch, cw, channels), n_maps, options, named)))


def shorthand_network_shape(shape: tuple[int, int, int], n: int, kernel: tuple[int, int],
                            options: Mapping[str, Any]) -> Network:
    """The layers ``shorthand_network`` builds (no weights drawn), for estimates; a layer that
    would not fit is refused as ``shorthand_network`` refuses it."""
    kh, kw = kernel
    h, w, c = shape
    pads = _pads(kh, kw) if options["padding"] == "same" else (0, 0, 0, 0)
    layers: list[Layer] = []
    previous = INPUT_NAME
    for index in range(options["layers"]):
        number = index + 1
        if h + pads[0] + pads[1] < kh or w + pads[2] + pads[3] < kw:
            raise OptionError("layers", f"layer {number} gets {fmt_dims((h, w))} maps, "
                              f"smaller than the {kh}{TIMES}{kw} kernel; use fewer layers, no "
                              "pooling or a larger size")
        layers.append(Layer(f"conv{number}", "conv", kernel=(kh, kw), padding=pads, filters=n,
                            groups=1 if index == 0 else n, inputs=(previous,)))
        h, w = h + pads[0] + pads[1] - kh + 1, w + pads[2] + pads[3] - kw + 1
        if options["activation"] != "none":
            name = f"relu{number}" if options["activation"] == "relu" else f"abs{number}"
            op = "relu" if options["activation"] == "relu" else "leakyrelu"
            layers.append(Layer(name, op, alpha=-1.0, inputs=(layers[-1].name,)))
        if options["pool"] != "none":
            p = options["pool_size"]
            if h < p or w < p:
                raise OptionError("pool_size", f"{p}{TIMES}{p} pooling does not fit the "
                                  f"{fmt_dims((h, w))} maps of layer {number}")
            layers.append(Layer(f"pool{number}", "maxpool" if options["pool"] == "max"
                                else "avgpool", kernel=(p, p), stride=(p, p),
                                inputs=(layers[-1].name,)))
            h, w = h // p, w // p
        previous = layers[-1].name
    return Network(shape, tuple(layers))


def _preprocess_cost(shape: tuple[int, int, int], options: Mapping[str, Any]) -> Cost:
    """``preprocess``: one new array per step that is not at its default."""
    size = shape[0] * shape[1] * shape[2]
    steps = (int(tuple(options["input_range"] or (0.0, 1.0)) != (0.0, 1.0))
             + int(options["channel_order"] == "bgr" and shape[2] == 3)
             + int(options["mean"] is not None) + int(options["std"] is not None))
    return Cost(2 * size * steps, F8 * size * min(steps, 2) + F8 * size, F8 * size if steps else 0)


def _forward_cost(analysis: Any, max_bytes: int) -> Cost:
    """``forward`` up to the layer shown: every activation kept (the input is the caller's)."""
    total = Cost()
    for node in analysis.layers:
        layer = node.layer
        shape = (1, *analysis[layer.inputs[0]].shape)
        out = (1, *node.shape)
        if layer.op == "conv":
            step, _ = conv2d_cost(shape, layer.kernel, int(node.shape[2]),
                                  stride=layer.stride, pads=resolve_pads(layer, shape[1:3]),
                                  dilation=layer.dilation, groups=layer.groups,
                                  max_bytes=max_bytes)
        elif layer.op == "deconv":
            step, _ = conv_transpose2d_cost(shape, layer.kernel, int(node.shape[2]),
                                            stride=layer.stride,
                                            pads=resolve_pads(layer, shape[1:3]),
                                            dilation=layer.dilation,
                                            output_padding=layer.output_padding)
        elif layer.op in ("maxpool", "avgpool"):
            step, _ = pool_cost(shape, layer.kernel, stride=layer.stride,
                                pads=resolve_pads(layer, shape[1:3]), dilation=layer.dilation,
                                ceil_mode=layer.ceil_mode)
        else:  # pointwise, merges, pads, resampling, heads: a fresh array or two
            size = out[1] * out[2] * out[3]
            reads = sum(int(np.prod(analysis[name].shape)) for name in layer.inputs)
            step = Cost(FRESH * size + 4 * reads, 2 * F8 * size, F8 * size)
        total = total.then(step)
    return total


def _bank_shape(specs: Sequence[str], count: int) -> tuple[int, int, int]:
    """(maps, kernel height, kernel width) of the bank ``kernel_bank`` builds."""
    n = kh = kw = 0
    for spec in specs:
        parsed = parse_kernel(spec)
        n += count if parsed.name.startswith("random") else 1
        kh, kw = max(kh, parsed.shape[0]), max(kw, parsed.shape[1])
    if n > MAX_MAPS:
        raise OptionError("count", f"the bank has {n} kernels; at most {MAX_MAPS} allowed")
    return n, kh, kw


def _drawing_cost(maps: tuple[int, int, int], image: tuple[int, int, int], n: int,
                  options: Mapping[str, Any], named: bool | None = None) -> Cost:
    """``render_maps`` (the maps kept by the memo): maps rescaled for 'each' scale, the mosaic,
    the figure's copies of it and of the input, their drawing at 150 dpi, the texts."""
    _, h, w = maps
    if h < 1 or w < 1:
        return Cost()
    labelled = n <= LABELLED_MAX
    columns = min(options["columns"] or auto_columns(n, h, w), n)
    each = colour_scale(options, n, named) == "each"
    ticks = [f"{MINUS}max", "0", "max"] if each else [WIDEST_TICK]
    geo = layout(n, h, w, image, columns, labelled, each and labelled,
                 bool(options["show_input"]), ticks)
    size = F8 * n * h * w
    rows, cols = geo.mosaic_shape
    mosaic_bytes = F8 * rows * cols
    cost = Cost(3 * size // F8, 2 * size, size) if each else Cost()
    cost = cost.then(alloc(mosaic_bytes, 2 * mosaic_bytes // F8))
    held = mosaic_bytes * 9 // 8  # the figure's masked copy of the mosaic
    if geo.show_input:
        held += image[0] * image[1] * image[2] * 9
    texts = 8 + (n * (2 if each else 1) if labelled else 0) + 40
    cost = cost.then(alloc(held, held // 8)).then(texts_cost(texts))
    cost = cost.freeing(mosaic_bytes + (size if each else 0))
    draw = canvas_cost(geo.width, geo.height, "png", DRAW_DPI).then(
        image_cost(rows, cols, geo.mos_w, geo.mos_h, DRAW_DPI))
    if geo.show_input:
        draw = draw.then(image_cost(image[0], image[1], geo.input_w, geo.input_h, DRAW_DPI))
    return cost.then(draw)


#: The options ``compute_maps`` reads (with the image, they decide the maps).
COMPUTE_OPTIONS = ("kernels", "count", "seed", "padding", "activation", "pool", "pool_size",
                   "layers", "max_memory", "layer", "maps", "input_range", "channel_order",
                   "mean", "std")


@dataclass(frozen=True)
class Pixels:
    """An image compared and hashed by its contents (shape and a BLAKE2 digest of its bytes), so
    that a loaded array can key a memo."""

    shape: tuple[int, ...]
    digest: bytes
    image: FloatArray = field(compare=False, hash=False, repr=False)

    @classmethod
    def of(cls, image: FloatArray) -> Pixels:
        data = np.ascontiguousarray(image, dtype=np.float64)
        return cls(data.shape, hashlib.blake2b(data.data, digest_size=16).digest(), data)


def _load(source: Any, size: int | None, grey: bool, max_memory: int) -> FloatArray:
    """``load_image``; the built-in photo is decoded once per (size, grey)."""
    if isinstance(source, str) and is_builtin(source):
        return _load_builtin(size, grey)
    return load_image(source, size=size, grey=grey, max_pixels=DEFAULT_MAX_PIXELS,
                      max_memory=max_memory)


@functools.lru_cache(maxsize=2)
def _load_builtin(size: int | None, grey: bool) -> FloatArray:
    image = load_image("photo", size=size, grey=grey, max_pixels=DEFAULT_MAX_PIXELS)
    image.flags.writeable = False
    return image


def _compute(pixels: Pixels, key: tuple[Any, ...], network: Network | None = None,
             digest: bytes | None = None) -> FeatureMaps:
    """``compute_maps`` (``network_maps`` with a network) as a pure function of the image's
    contents, ``COMPUTE_OPTIONS``, the network and its params' ``digest`` (its arrays
    read-only, since they are shared)."""
    del digest  # part of the memo's key only
    options = dict(zip(COMPUTE_OPTIONS, key, strict=True))
    fm = (compute_maps(pixels.image, options) if network is None
          else network_maps(network, pixels.image, options))
    fm.maps.flags.writeable = False
    return fm


#: The last maps computed: the Sphinx layer draws light, then dark, of the same maps.
_compute_memo = LastResult(_compute)


@dataclass(frozen=True)
class Layout:
    """Where the parts of a featuremaps figure go, in inches (``scale``: inches per map pixel)."""

    columns: int
    rows: int
    gap: int
    row_gap: int
    show_input: bool
    margin: float
    input_w: float
    input_h: float
    arrow_w: float
    index_w: float
    cbar_w: float
    label_h: float
    top_index_h: float
    scale: float
    tile_w: float
    mosaic_shape: tuple[int, int]  # (rows, columns) of mosaic pixels
    mos_w: float
    mos_h: float
    block_h: float
    body_h: float
    width: float
    height: float


def layout(n: int, h: int, w: int, image_shape: Sequence[int], columns: int, labelled: bool,
           ranged: bool, show_input: bool, tick_labels: Sequence[str]) -> Layout:
    """The geometry of ``n`` maps of h × w pixels beside an image of ``image_shape``, the
    colour bar labelled ``tick_labels`` (the widest labels give the smallest scale)."""
    rows = math.ceil(n / columns)
    gap = max(1, round(max(h, w) / 24))
    margin = 0.08
    in_h_px, in_w_px = image_shape[:2]
    input_w = 1.45 if show_input else 0.0
    arrow_w = 0.62 if show_input else 0.0
    index_w = 0.0 if labelled else text_width_in(str((rows - 1) * columns), LABEL_PT) + 0.1
    cbar_w = (BAR_GAP + BAR_W + BAR_TICK + BAR_PAD
              + max(text_width_in(t, LABEL_PT) for t in tick_labels) + 0.04)
    label_h = (0.24 + (RANGE_H if ranged else 0.0)) if labelled else 0.0
    top_index_h = 0.0 if labelled else 0.2
    title_h = 0.3

    avail = FIG_WIDTH - 2 * margin - input_w - arrow_w - index_w - cbar_w
    max_tile = 1.9 if labelled else 0.9
    scale = min(max_tile / w, avail / (columns * w + (columns - 1) * gap))  # inches per pixel
    tile_w = w * scale
    row_gap = max(gap, math.ceil((label_h + 0.04) / scale)) if labelled else gap
    shape = (rows * h + (rows - 1) * row_gap, columns * w + (columns - 1) * gap)
    mos_w, mos_h = shape[1] * scale, shape[0] * scale
    # the input panel keeps its aspect and is no taller than the mosaic block (min 1 inch)
    input_h = input_w * in_h_px / in_w_px if show_input else 0.0
    block_h = mos_h + label_h  # last row's labels hang below the axes
    if show_input:
        cap = max(block_h, 1.2)
        if input_h + 0.22 > cap:
            input_h = cap - 0.22
            input_w = input_h * in_w_px / in_h_px
    body_h = max(block_h + top_index_h, input_h + 0.22 if show_input else 0.0)
    width = 2 * margin + input_w + arrow_w + index_w + mos_w + cbar_w
    height = 2 * margin + title_h + body_h
    return Layout(columns, rows, gap, row_gap, show_input, margin, input_w, input_h, arrow_w,
                  index_w, cbar_w, label_h, top_index_h, scale, tile_w, shape, mos_w, mos_h,
                  block_h, body_h, width, height)


def render_maps(fm: FeatureMaps, options: Mapping[str, Any], theme: Theme) -> Rendered:
    """Draw computed feature maps (split from ``render`` so callers may pass their own image)."""
    maps = fm.maps
    n, h, w = maps.shape
    labelled = n <= LABELLED_MAX
    columns = min(options["columns"] or auto_columns(n, h, w), n)
    rows = math.ceil(n / columns)
    gap = max(1, round(max(h, w) / 24))

    vmin, vmax = float(maps.min()), float(maps.max())
    signed = vmin < 0.0 < vmax or vmax <= 0.0 < -vmin
    cmap = options["cmap"] or (diverging_cmap(theme) if signed else theme.cmap)
    colour_scale = scale_of(options, fm)
    ranges = [(float(m.min()), float(m.max())) for m in maps]
    if colour_scale == "each":  # each map onto -1..1 (signed) or 0..1 by its own limits
        map_limits = [colour_limits(a, b, signed) for a, b in ranges]
        lo, hi = (-1.0, 1.0) if signed else (0.0, 1.0)
        drawn = np.stack([lo + (m - a) * ((hi - lo) / (b - a))
                          for m, (a, b) in zip(maps, map_limits, strict=True)])
        ticks = [lo, 0.0, hi] if signed else [lo, hi]
        tick_labels = [f"{MINUS}max", "0", "max"] if signed else ["min", "max"]
    else:
        lo, hi = colour_limits(vmin, vmax, signed)
        map_limits = [(lo, hi)] * n
        drawn = maps
        ticks = [float(t) for t in matplotlib.ticker.MaxNLocator(nbins=8).tick_values(lo, hi)
                 if lo - 1e-9 * (hi - lo) <= t <= hi + 1e-9 * (hi - lo)]
        tick_labels = [_tick_text(t) for t in ticks]
    ranged = colour_scale == "each" and labelled  # each tile's range printed under its name

    geo = layout(n, h, w, fm.image.shape, columns, labelled, ranged, bool(options["show_input"]),
                 tick_labels)
    margin, scale, row_gap = geo.margin, geo.scale, geo.row_gap
    input_w, input_h, arrow_w, index_w = geo.input_w, geo.input_h, geo.arrow_w, geo.index_w
    label_h, top_index_h, block_h, body_h = geo.label_h, geo.top_index_h, geo.block_h, geo.body_h
    width, height, tile_w = geo.width, geo.height, geo.tile_w
    show_input = geo.show_input
    in_h_px, in_w_px = fm.image.shape[:2]
    mos = mosaic(drawn, columns, gap, row_gap)
    mos_w, mos_h = geo.mos_w, geo.mos_h

    fig = new_figure(width, height, theme)
    # images on the figure itself (input, mosaic, colour bar) stay separate images in an SVG,
    # each at its own place, as they were in their Axes (not one composite raster)
    fig.suppressComposite = True

    body_y = margin  # bottom of the body
    mos_x = margin + input_w + arrow_w + index_w
    mos_y = body_y + label_h + (body_h - top_index_h - block_h) / 2
    mos_mid = mos_y + mos_h / 2

    # --- input image and arrow ------------------------------------------------------------------
    if show_input:
        in_y = mos_mid - input_h / 2 + 0.11
        in_y = min(max(in_y, body_y + 0.22), body_y + body_h - input_h)
        rgb = fm.image if fm.image.shape[2] == 3 else fm.image[:, :, 0]
        in_box = AspectBox(Bbox.from_bounds(margin / width, in_y / height, input_w / width,
                                            input_h / height), in_h_px / in_w_px, fig)
        image_in_box(fig, in_box, rgb, cmap="gray", norm=Normalize(0.0, 1.0),
                     interpolation=_resampling(input_w / in_w_px), gid="input")
        _frame(fig, in_box, (in_h_px, in_w_px), theme)
        fig.text((margin + input_w / 2) / width, (in_y - 0.05) / height,
                 f"input {fmt_dims((in_h_px, in_w_px))}",
                 ha="center", va="top", **text_kwargs(theme, LABEL_PT))
        ax_y = mos_mid
        x0, x1 = margin + input_w + 0.06, margin + input_w + arrow_w - 0.06
        fig.add_artist(FancyArrowPatch((x0 / width, ax_y / height), (x1 / width, ax_y / height),
                                       transform=fig.transFigure, arrowstyle="-|>",
                                       mutation_scale=10, color=theme.muted, lw=1.2))
        kh, kw = fm.kernel_shape
        above, below = "conv", f"{kh}{TIMES}{kw}"
        if fm.network is not None:
            depth = fm.network[2]
            above, below = "network", f"{depth} layer{'s' if depth != 1 else ''}"
        fig.text((x0 + x1) / 2 / width, (ax_y + 0.06) / height, above, ha="center",
                 va="bottom", **text_kwargs(theme, LABEL_PT, color=theme.muted))
        fig.text((x0 + x1) / 2 / width, (ax_y - 0.06) / height, below, ha="center",
                 va="top", **text_kwargs(theme, LABEL_PT, color=theme.muted))

    # --- the mosaic -----------------------------------------------------------------------------
    # labelled: drawn on the figure in mosaic pixels (an Axes costs ~5 ms to make and more to
    # write); many maps: an Axes, whose ticks number the rows and columns
    mos_box = axes_box(fig, mos_x, mos_y, mos_w, mos_h)
    tiles = PatchCollection(
        [Rectangle(tuple(np.array(tile_origin(i, columns, h, w, gap, row_gap))[::-1] - 0.5), w, h)
         for i in range(n)], facecolor="none", edgecolor=theme.muted,
        linewidth=0.5 if labelled else 0.3)
    if labelled:
        pixels = pixel_transform(mos_box, mos.shape)
        image_in_box(fig, mos_box, mos, cmap=cmap, norm=Normalize(lo, hi),
                     interpolation=_resampling(scale), gid="maps")
        tiles.set_transform(pixels)
        tiles.set_clip_box(mos_box)  # as an Axes clips: the outer half of the edge outlines
        fig.add_artist(tiles)
        for i, label in enumerate(fm.labels):
            top, left = tile_origin(i, columns, h, w, gap, row_gap)
            room = tile_w + gap * scale * 0.8
            fig.text(left + w / 2 - 0.5, top + h - 0.5 + 0.04 / scale,
                     fit_text(label, room, LABEL_PT), ha="center", va="top", transform=pixels,
                     **text_kwargs(theme, LABEL_PT))
            if ranged:
                fig.text(left + w / 2 - 0.5, top + h - 0.5 + (0.04 + RANGE_H) / scale,
                         fit_text(fmt_range(*ranges[i]), room, LABEL_PT), ha="center",
                         va="top", gid=f"range-{i}", transform=pixels,
                         **text_kwargs(theme, LABEL_PT, color=theme.muted))
    else:
        ax = fig.add_axes((mos_x / width, mos_y / height, mos_w / width, mos_h / height))
        ax.imshow(mos, cmap=cmap, vmin=lo, vmax=hi, interpolation=_resampling(scale),
                  aspect="auto").set_gid("maps")
        ax.set_xlim(-0.5, mos.shape[1] - 0.5)
        ax.set_ylim(mos.shape[0] - 0.5, -0.5)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.add_collection(tiles)
        _index_ticks(ax, columns, rows, h, w, gap, theme)

    # --- colour bar -----------------------------------------------------------------------------
    room = max(2, min(7, int(mos_h / 0.3)))  # a short bar gets every k-th tick: no collisions
    every = math.ceil(len(ticks) / room)
    start = ticks.index(0.0) % every if 0.0 in ticks else 0  # thinned, 0 keeps its label
    colour_bar(fig, (mos_x + mos_w + BAR_GAP, mos_y, BAR_W, mos_h), cmap, Normalize(lo, hi),
               ticks[start::every], tick_labels[start::every], theme, size=LABEL_PT,
               label_pad=BAR_PAD, tick_colour=theme.fg)

    # --- title ----------------------------------------------------------------------------------
    map_dims = fmt_dims((h, w))
    title = f"{n} feature map{'s' if n != 1 else ''} of {map_dims}" + _pipeline(options, fm)
    title_w = width - 2 * margin
    note = "; each map on its own colour scale"
    if colour_scale == "each" and text_width_in(title + note, TITLE_PT) <= title_w:
        title += note
    fig.text(margin / width if show_input else mos_x / width, 1 - margin / height,
             fit_text(title, title_w, TITLE_PT), ha="left", va="top",
             **text_kwargs(theme, TITLE_PT))

    alt = _alt_text(fm, options, vmin, vmax, colour_scale, ranges)
    numbers = {
        "input_shape": list(fm.image.shape), "kernel_shape": list(fm.kernel_shape),
        "map_shape": [h, w], "count": n, "labels": list(fm.labels), "min": vmin, "max": vmax,
        "columns": columns, "rows": rows, "gap": gap, "row_gap": row_gap,
        "scale": colour_scale, "color_limits": [lo, hi], "map_limits": [list(t) for t in map_limits],
        "map_ranges": [list(t) for t in ranges], "cmap": cmap,
    }
    return Rendered(fig, alt, numbers)


def _resampling(inches_per_pixel: float) -> str:
    """'nearest' where an image pixel covers at least one output pixel at CRISP_DPI, else
    'antialiased'."""
    return "nearest" if inches_per_pixel * CRISP_DPI >= 1.0 else "antialiased"


def scale_of(options: Mapping[str, Any], fm: FeatureMaps) -> str:
    """'shared' or 'each': the ``scale`` option, 'auto' resolved (each for up to 16 named
    kernels, shared for random banks and indexed grids); one map is always 'shared'."""
    return colour_scale(options, fm.maps.shape[0], fm.named)


def colour_scale(options: Mapping[str, Any], n: int, named: bool | None = None) -> str:
    """``scale_of`` for ``n`` maps (``named``: their labels name kernels; None: as the
    ``kernels`` option says)."""
    if n == 1:
        return "shared"
    if options["scale"] != "auto":
        return str(options["scale"])
    if named is None:
        named = not any(parse_kernel(spec).name.startswith("random")
                        for spec in options["kernels"])
    return "each" if named and n <= LABELLED_MAX else "shared"


def colour_limits(vmin: float, vmax: float, signed: bool) -> tuple[float, float]:
    """Colour limits for values vmin..vmax: symmetric about 0 when signed; never empty."""
    lo, hi = (-max(-vmin, vmax), max(-vmin, vmax)) if signed else (vmin, vmax)
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def diverging_cmap(theme: Theme) -> str:
    """The theme's diverging map; on a dark page one whose middle (zero) is dark, so that
    mostly-zero maps do not glare (Crameri's 'berlin': blue-black-orange, colour-blind safe)."""
    if _is_dark(theme.bg) and "berlin" in matplotlib.colormaps:
        return "berlin"
    return theme.diverging


def _is_dark(colour: str) -> bool:
    r, g, b = matplotlib.colors.to_rgb(colour)
    return 0.299 * r + 0.587 * g + 0.114 * b < 0.5


def _pipeline(options: Mapping[str, Any], fm: FeatureMaps) -> str:
    if fm.network is not None:
        layer, op, _, total, _ = fm.network
        shown = "" if fm.maps.shape[0] == total else f" (the first of {total})"
        return f"{shown}: layer {layer} ({op}) of the network"
    kh, kw = fm.kernel_shape
    steps = [f"conv {kh}{TIMES}{kw} {options['padding']}"]
    if options["activation"] != "none":
        steps.append({"relu": "ReLU", "abs": "|x|"}[options["activation"]])
    if options["pool"] != "none":
        p = options["pool_size"]
        steps.append(f"{options['pool']} pool {p}{TIMES}{p}")
    chain = " → ".join(steps)
    if options["layers"] > 1:
        chain = f"({chain}) × {options['layers']} layers"
    return f": {chain}"


def _alt_text(fm: FeatureMaps, options: Mapping[str, Any], vmin: float, vmax: float, scale: str,
              ranges: Sequence[tuple[float, float]]) -> str:
    src = options["image"]
    what = "photograph" if isinstance(src, str) and is_builtin(src) else "image"
    c = fm.image.shape[2]
    tone = "colour" if c == 3 else "greyscale"
    n, h, w = fm.maps.shape
    if fm.network is not None:
        return _network_alt(fm, options, vmin, vmax, scale, ranges, what, tone)
    ops = []
    if options["activation"] != "none":
        ops.append({"relu": "a ReLU", "abs": "the absolute value"}[options["activation"]])
    if options["pool"] != "none":
        p = options["pool_size"]
        ops.append(f"{options['pool']} pooling {p}{TIMES}{p}")
    then = f", then {' and '.join(ops)}" if ops else ""
    layers = f", {options['layers']} layers deep" if options["layers"] > 1 else ""
    count = f"{n} kernel{'s' if n != 1 else ''}"
    bank = fm.description if len(fm.description) < 160 else fm.description[:157] + "…"
    text = (f"The {fmt_dims(fm.image.shape[:2])} {tone} {what} convolved with {count} ({bank})"
            f"{then}{layers} gives {n} feature map{'s' if n != 1 else ''} of {fmt_dims((h, w))}; "
            f"values range from {fmt_num(vmin)} to {fmt_num(vmax)}")
    return text + _scale_words(scale, fm.labels, ranges)


def _network_alt(fm: FeatureMaps, options: Mapping[str, Any], vmin: float, vmax: float,
                 scale: str, ranges: Sequence[tuple[float, float]], what: str, tone: str) -> str:
    assert fm.network is not None
    layer, op, depth, total, words = fm.network
    n, h, w = fm.maps.shape
    prep = _preprocessing_words(options)
    first = f"the first {n} of its {total}" if n < total else f"{n}"
    text = (f"The {fmt_dims(fm.image.shape[:2])} {tone} {what}{prep} run through the network "
            f"({depth} layer{'s' if depth != 1 else ''}, {words}) up to layer {layer} ({op}) "
            f"gives {first} feature map{'s' if n != 1 else ''} of {fmt_dims((h, w))}; values "
            f"range from {fmt_num(vmin)} to {fmt_num(vmax)}")
    return text + _scale_words(scale, fm.labels, ranges)


def _scale_words(scale: str, labels: Sequence[str],
                 ranges: Sequence[tuple[float, float]]) -> str:
    """How the maps are coloured, ending the alt text: one scale, or each its own (listed up
    to eight maps)."""
    n = len(ranges)
    if scale == "shared":
        return ", on one colour scale." if n > 1 else "."
    each = "; ".join(f"{label} {fmt_num(a)} to {fmt_num(b)}"
                     for label, (a, b) in zip(labels, ranges, strict=True))
    listed = f" ({each})" if n <= 8 else ""
    return f", each map drawn on its own colour scale{listed}."


def _preprocessing_words(options: Mapping[str, Any]) -> str:
    parts = []
    lo, hi = options["input_range"] or (0.0, 1.0)
    if (lo, hi) != (0.0, 1.0):
        parts.append(f"values scaled to {fmt_num(lo)} to {fmt_num(hi)}")
    if options["channel_order"] == "bgr":
        parts.append("channels in BGR order")
    for name in ("mean", "std"):
        if options[name] is not None:
            parts.append(f"{name} {', '.join(fmt_num(v) for v in options[name])}")
    return f" ({'; '.join(parts)})" if parts else ""


def _tick_text(value: float) -> str:
    if abs(value) < 1e-12:
        return "0"
    return f"{value:.3g}".replace("-", "−")


class AspectBox(BboxBase):
    """Where an Axes at ``position`` (figure fraction) that shows an image ``ratio`` (height /
    width) times as tall as wide draws it: ``Axes.apply_aspect``'s box for ``imshow``'s equal
    aspect (shrunk to the ratio on the figure as drawn, centred), in display units."""

    def __init__(self, position: Bbox, ratio: float, fig: Figure) -> None:
        super().__init__()
        self._position = position
        self._ratio = ratio
        self._transform = fig.transSubfigure
        self.set_children(self._transform)
        self._points: Any = None

    def get_points(self) -> Any:
        if self._invalid or self._points is None:  # type: ignore[has-type]
            unit = Bbox.unit().transformed(self._transform)
            shrunk = self._position.shrunk_to_aspect(self._ratio, self._position,
                                                     unit.height / unit.width)
            active = shrunk.anchored("C", self._position)
            self._points = TransformedBbox(active, self._transform).get_points()
            self._invalid = 0
        return self._points


def _frame(fig: Figure, box: BboxBase, shape: tuple[int, int], theme: Theme) -> None:
    """The four spines an Axes showing an image of ``shape`` (rows, columns) in ``box`` draws
    (left, right, bottom, top), with its arithmetic: along the box in axes fractions, across
    it in data units through the Axes' own data transform (Agg snaps the ends to pixels)."""
    rows, cols = shape
    axes = BboxTransformTo(box)
    data = pixel_transform(box, shape)
    upright = blended_transform_factory(axes, data)
    level = blended_transform_factory(data, axes)
    x0, x1, y0, y1 = -0.5, cols - 0.5, rows - 0.5, -0.5
    for line, transform in ((((0.0, y0), (0.0, y1)), upright), (((1.0, y0), (1.0, y1)), upright),
                            (((x0, 0.0), (x1, 0.0)), level), (((x0, 1.0), (x1, 1.0)), level)):
        fig.add_artist(PathPatch(MplPath(line), transform=transform, facecolor="none",
                                 edgecolor=theme.muted, linewidth=0.6, capstyle="projecting",
                                 joinstyle="miter", zorder=2.5))


def _index_ticks(ax: Any, columns: int, rows: int, h: int, w: int, gap: int, theme: Theme) -> None:
    """Column numbers on top and each row's first map index on the left."""
    col_step = 1 if columns <= 12 else (2 if columns <= 24 else 5)
    row_step = 1 if rows <= 12 else (2 if rows <= 24 else 5)
    cols = list(range(0, columns, col_step))
    rws = list(range(0, rows, row_step))
    ax.xaxis.tick_top()
    ax.set_xticks([c * (w + gap) + (w - 1) / 2 for c in cols], [str(c) for c in cols])
    ax.set_yticks([r * (h + gap) + (h - 1) / 2 for r in rws], [str(r * columns) for r in rws])
    ax.tick_params(labelsize=LABEL_PT, colors=theme.muted, labelcolor=theme.fg, length=0,
                   pad=2)


# --- sequences ----------------------------------------------------------------------------------

SEQ_WIDTH = 6.6  # inches
SEQ_SIGNAL_H = 1.1  # the input signal's plot
SEQ_STRIP_H = 0.26  # one channel's heat strip
SEQ_LEFT, SEQ_RIGHT = 0.75, 0.75  # inches for the labels left and the colour bar right


@dataclass(frozen=True)
class SequenceMaps:
    """A 1-D network's layer run on the package's test signal: the signal (T, C), the layer's
    channels (n, T'), where each unit stands in input steps and where the weights come from."""

    signal: FloatArray
    maps: FloatArray
    layer: str
    total: int  # the layer's channels (``maps`` holds the first ``n``)
    centres: FloatArray  # (T',) centre of each unit's field, input steps
    jump: float  # input steps between units
    words: str


def sequence_maps(net: Network, options: Mapping[str, Any]) -> SequenceMaps:
    """Layer ``layer`` (default: ``default_layer``) of the 1-D ``net`` on
    ``signals.sequence_signal`` of the network's length and channels."""
    from rfdocs.compute.signals import sequence_signal
    from rfdocs.figures.filters import ancestors, conv_weights

    target = options["layer"] or default_layer(net)
    _known_layer(net, target)
    cut = ancestors(net, target)
    info = analyze(cut)[target]
    x = sequence_signal(int(net.input[0]), int(net.input[1]))
    acts = run_network(cut, x, conv_weights(cut, options["seed"]), target, _max_bytes(options))
    if acts.ndim != 2:
        raise OptionError("layer", f"layer {target} gives {fmt_dims(acts.shape)} values, not "
                          "a sequence of channels")
    total = int(acts.shape[1])
    shown = min(options.get("maps", 0) or min(total, MAX_SEQ_MAPS), total)
    n = int(acts.shape[0])
    lo0, hi0 = (as_plain(v) for v in info.box(0)[0])
    jump = float(as_plain(info.axes[0].box(1)[0]) - lo0) if n > 1 else 1.0
    centres = np.asarray((float(lo0) + float(hi0)) / 2 + jump * np.arange(n), np.float64)
    return SequenceMaps(x, np.ascontiguousarray(acts[:, :shown].T), target, total, centres, jump,
                        _weights_words(cut, options["seed"]))


MAX_SEQ_MAPS = 16  # channels drawn by default (``maps`` asks for more, up to MAX_MAPS)


def estimate_sequence(net: Network, options: Mapping[str, Any]) -> Cost:
    """The forward pass up to the layer shown and the strips drawn."""
    from rfdocs.figures.filters import ancestors

    target = options["layer"] or default_layer(net)
    _known_layer(net, target)
    cut = ancestors(net, target)
    analysis = analyze(cut)
    shape = analysis[target].shape
    n = min(options.get("maps", 0) or min(shape[-1], MAX_SEQ_MAPS), shape[-1])
    height = _sequence_height(n)
    cells = n * int(shape[0])
    from rfdocs.compute.forward import forward_cost

    work, peak = forward_cost(cut, until=target, itemsize=8)
    return with_slack(Cost(2 * work, peak, 0).then(
        image_cost(n, int(shape[0]), SEQ_WIDTH, n * SEQ_STRIP_H, DRAW_DPI)).then(
        alloc(8 * cells + 64 * int(net.input[0]), 2 * cells)).then(texts_cost(30 + n)).then(
        canvas_cost(SEQ_WIDTH, height, "png", DRAW_DPI)))


def _sequence_height(n: int) -> float:
    return 0.45 + SEQ_SIGNAL_H + 0.3 + n * SEQ_STRIP_H + 0.5


def render_sequence(net: Network, options: Mapping[str, Any], theme: Theme) -> Rendered:
    """The signal on top and, under it aligned in time, one heat strip per channel of the
    layer: unit ``i`` drawn over the input steps its field is centred on (``jump`` wide)."""
    require(options, estimate_sequence(net, options), "the feature maps", ["maps", "layer"])
    sm = sequence_maps(net, options)
    n, units = sm.maps.shape
    height = _sequence_height(n)
    fig = new_figure(SEQ_WIDTH, height, theme)
    t_len = sm.signal.shape[0]
    left, right = SEQ_LEFT / SEQ_WIDTH, 1 - SEQ_RIGHT / SEQ_WIDTH
    top = 1 - 0.45 / height
    sig_ax = fig.add_axes((left, top - SEQ_SIGNAL_H / height, right - left,
                           SEQ_SIGNAL_H / height))
    steps = np.arange(t_len)
    colours = [theme.input, theme.neuron, theme.maps, theme.field]
    for c in range(sm.signal.shape[1]):
        sig_ax.plot(steps, sm.signal[:, c], color=colours[c % len(colours)], lw=0.9,
                    gid=f"signal-{c}")
    x0 = float(sm.centres[0]) - sm.jump / 2
    x1 = float(sm.centres[-1]) + sm.jump / 2
    lo, hi = min(-0.5, x0), max(t_len - 0.5, x1)
    sig_ax.set_xlim(lo, hi)
    sig_ax.set_ylabel("input", **text_kwargs(theme, 8.0))
    sig_ax.tick_params(labelbottom=False)
    _style_sequence_axes(sig_ax, theme)
    strips_h = n * SEQ_STRIP_H
    map_ax = fig.add_axes((left, top - (SEQ_SIGNAL_H + 0.3 + strips_h) / height, right - left,
                           strips_h / height), sharex=sig_ax)
    peak = float(np.abs(sm.maps).max()) or 1.0
    signed = bool((sm.maps < 0).any())
    vmin, vmax = (-peak, peak) if signed else (0.0, peak)
    cmap = diverging_cmap(theme) if signed else theme.cmap
    image = map_ax.imshow(sm.maps, aspect="auto", interpolation="nearest", cmap=cmap,
                          vmin=vmin, vmax=vmax, extent=(x0, x1, n - 0.5, -0.5), gid="maps")
    map_ax.set_yticks(range(n), [str(i) for i in range(n)])
    map_ax.set_ylabel(f"{sm.layer} channel", **text_kwargs(theme, 8.0))
    map_ax.set_xlabel("input step", **text_kwargs(theme, 8.0))
    _style_sequence_axes(map_ax, theme)
    map_ax.tick_params(axis="y", labelsize=6.5 if n > 8 else 7.5)
    bar = fig.add_axes((right + 0.12 / SEQ_WIDTH, map_ax.get_position().y0, 0.1 / SEQ_WIDTH,
                        strips_h / height))
    fig.colorbar(image, cax=bar)
    _style_sequence_axes(bar, theme)
    more = f" (the first {n} of {sm.total})" if n < sm.total else ""
    fig.text(left, 1 - 0.1 / height, f"Feature maps of {sm.layer}: {sm.total} channels{more}, "
             f"{units} units, {_every(sm.jump)}",
             ha="left", va="top", **text_kwargs(theme, 9.0))
    alt = (f"The test signal (a chirp with a step and a burst, {t_len} steps, "
           f"{sm.signal.shape[1]} channel{'s' * (sm.signal.shape[1] != 1)}) run through the "
           f"network to layer {sm.layer} ({sm.words}): {sm.total} channels of {units} units"
           f"{more}, drawn as heat strips aligned with the input, {_every(sm.jump)}; values "
           f"{_tick_text(float(sm.maps.min()))} to {_tick_text(float(sm.maps.max()))}."
           ).replace(MINUS, "-")
    numbers = {"ndim": 1, "layer": sm.layer, "signal": sm.signal.tolist(),
               "maps": sm.maps.tolist(), "channels": sm.total, "centres": sm.centres.tolist(),
               "jump": sm.jump, "weights": sm.words}
    return Rendered(fig, alt, numbers, budget=budget_of(options))


def _every(jump: float) -> str:
    return "one per input step" if jump == 1 else f"one every {fmt_num(jump)} input steps"


def _style_sequence_axes(ax: Any, theme: Theme) -> None:
    ax.set_facecolor("none")
    for spine in ax.spines.values():
        spine.set_edgecolor(theme.muted)
        spine.set_linewidth(0.6)
    ax.tick_params(labelsize=7.5, colors=theme.muted, labelcolor=theme.fg, length=2.5,
                   width=0.6, pad=2)


KIND = FigureKind(
    name="featuremaps",
    summary="Feature maps of a real convolution of an image with a kernel bank, as one mosaic.",
    options=OPTIONS,
    render_function=render,
    uses_network=True,
    estimate_function=lambda network, options: estimate(options, network),
    dimensions=(1, 2),
    draws="an image's or a sequence's feature maps",
)
