"""Network specs: the long (YAML/JSON) and compact (one layer a line) forms, parsed and validated."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from rfdocs.messages import quote, tidy

POINTWISE_OPS = ("relu", "identity", "leakyrelu", "prelu", "sigmoid", "tanh", "clip",
                 "hardsigmoid", "hardswish", "gelu", "softmax", "batchnorm", "affine")
WINDOW_OPS = ("conv", "deconv", "maxpool", "avgpool")
MERGE_OPS = ("add", "sub", "mul", "div", "concat")
#: Ops whose output is one unit (1x1) seeing the whole of their input: the global pools and
#: ``flatten``, which starts the classifier head (``dense`` layers after it).
GLOBAL_OPS = ("globalavgpool", "globalmaxpool", "flatten")
RESAMPLE_OPS = ("pad", "upsample")
HEAD_OPS = ("flatten", "dense")
OPS = ("conv", "deconv", "maxpool", "avgpool", "add", "concat", "relu", "identity",
       "sub", "mul", "div", "pad", "upsample", "globalavgpool", "globalmaxpool", "flatten", "dense",
       "leakyrelu", "prelu", "sigmoid", "tanh", "clip", "hardsigmoid", "hardswish", "gelu",
       "softmax", "batchnorm", "affine")
INPUT_NAME = "input"
BOM = "\ufeff"  # a byte-order mark some editors write at the start of UTF-8 files

#: Hard ceilings that keep a hostile spec from hanging a build; figures apply tighter ones.
MAX_LAYERS = 5000
MAX_SPEC_CHARS = 2_000_000
MAX_DIM = 1_000_000
MAX_NAME = 128  # characters of a layer name
#: The strides of the windows on any path from the input multiply to at most this, down-sampling
#: (conv, pool) and up-sampling (deconv) counted apart: jumps, fields and offsets stay numbers
#: that print (Python converts at most 4,300 digits; 720 layers of stride 1,000,000 make 4,320)
#: and convert to floats for figures (below 1e308), while 22 diamonds of distinct prime strides
#: (a product of 3e30) pass.
MAX_STRIDE_PRODUCT = 10**100
_STRIDE_PRODUCT_TEXT = "10^100"
#: Nesting of lists and mappings in the long form (a spec needs four levels).
MAX_NESTING = 64
#: Characters of one integer in a spec (numbers in a spec are at most MAX_DIM).
MAX_INT_CHARS = 30

LAYER_FIELDS = (
    "name", "op", "kernel", "stride", "padding", "dilation", "filters", "groups",
    "output_padding", "ceil_mode", "inputs", "count_include_pad", "weights", "units", "factor",
    "mode", "value", "alpha", "beta", "min", "max", "approximate", "epsilon", "scale", "shift",
)

#: The fields each op takes besides name, op and inputs (in the order the long form writes them).
OP_FIELDS: dict[str, tuple[str, ...]] = {
    "conv": ("kernel", "stride", "padding", "dilation", "filters", "groups", "weights"),
    "deconv": ("kernel", "stride", "padding", "dilation", "filters", "output_padding", "weights"),
    "maxpool": ("kernel", "stride", "padding", "dilation", "ceil_mode"),
    "avgpool": ("kernel", "stride", "padding", "dilation", "ceil_mode", "count_include_pad"),
    "pad": ("padding", "value"),
    "upsample": ("factor", "mode"),
    "dense": ("units",),
    "leakyrelu": ("alpha",),
    "prelu": ("alpha",),
    "hardsigmoid": ("alpha", "beta"),
    "clip": ("min", "max"),
    "gelu": ("approximate",),
    "batchnorm": ("epsilon",),
    "affine": ("scale", "shift"),
}
#: Defaults of the numeric fields where they differ by op (ONNX's defaults).
ALPHA_DEFAULT = {"leakyrelu": 0.01, "prelu": 0.25, "hardsigmoid": 0.2}
UPSAMPLE_MODES = ("nearest", "linear")
GELU_APPROXIMATIONS = ("none", "tanh")
#: Largest magnitude of a number in a spec field (alpha, min, value, ...).
MAX_FLOAT = 1e30

Pair = tuple[int, int]
Pads = tuple[int, int, int, int]


class SpecError(ValueError):
    """A spec that cannot describe a network; says which layer, which field and what is allowed."""

    def __init__(
        self,
        message: str,
        *,
        layer: str | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.layer = layer
        self.field = field
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.layer is not None:
            where.append(f"layer {quote(self.layer)}")
        if self.field is not None:
            where.append(f"field {quote(self.field)}")
        prefix = ", ".join(where)
        text = f"{prefix}: {self.message}" if prefix else self.message
        if self.line is not None:
            text = f"line {self.line}: {text}"
        return tidy(text)


@dataclass(frozen=True)
class Layer:
    """One node of the network graph, with every field in canonical form (``filters`` holds a
    dense layer's ``units``)."""

    name: str
    op: str
    # per spatial axis (the defaults are 2-D; parsed specs give one entry per axis of theirs)
    kernel: tuple[int, ...] = (1, 1)
    stride: tuple[int, ...] = (1, 1)
    # (before, after) per axis: (top, bottom, left, right) in 2-D; or a rule: "same",
    # "same_lower", "valid", "causal" (1-D)
    padding: tuple[int, ...] | str = (0, 0, 0, 0)
    dilation: tuple[int, ...] = (1, 1)
    filters: int | None = None
    groups: int = 1
    output_padding: tuple[int, ...] = (0, 0)
    ceil_mode: bool = False
    inputs: tuple[str, ...] = ()
    line: int | None = field(default=None, compare=False)
    count_include_pad: bool = True  # avgpool: divide by the taps in input and pads (PyTorch)
    weights: tuple[str, ...] = ()  # conv/deconv: kernel specs, one for all filters or one each
    factor: tuple[int, ...] = (1, 1)  # upsample
    mode: str = "nearest"  # upsample: nearest (floor of o / factor) or linear (half-pixel)
    value: float = 0.0  # pad: the constant
    alpha: float = 0.0  # leakyrelu, prelu (slope), hardsigmoid
    beta: float = 0.5  # hardsigmoid
    min: float | None = None  # clip; None: no bound
    max: float | None = None
    approximate: str = "none"  # gelu: "none" (erf) or "tanh"
    epsilon: float = 1e-5  # batchnorm
    scale: float = 1.0  # affine: x * scale + shift (per-channel values come from params)
    shift: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The long form of this layer, with only the fields its op uses."""
        out: dict[str, Any] = {"name": self.name, "op": self.op}
        for name in OP_FIELDS.get(self.op, ()):
            if name == "weights":
                if self.weights:
                    out["weights"] = (self.weights[0] if len(self.weights) == 1
                                      else list(self.weights))
                continue
            if name == "units":
                out["units"] = self.filters
                continue
            value = getattr(self, name)
            if name in ("min", "max") and value is None:
                continue
            if name == "padding" and not isinstance(value, str):
                value = list(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        out["inputs"] = list(self.inputs)
        return out


Params = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Network:
    """An input shape ``(*spatial, C)`` and layers in topological order; the last layer is the
    output. 1-D networks take ``(T, C)``, 2-D ``(H, W, C)``, 3-D ``(D, H, W, C)``; every
    per-axis field of their layers has one entry per spatial axis.

    ``params``: learned numbers by layer name and parameter name, numpy arrays (from an importer:
    ``weight``, ``bias`` of conv, deconv and dense layers; ``mean``, ``var``, ``scale``,
    ``bias`` of batchnorm; per-channel ``slope`` of prelu and ``scale``, ``shift`` of affine).
    They are not part of the spec: comparing and hashing networks ignores them."""

    input: tuple[int, ...]  # (*spatial, channels): (T, C), (H, W, C) or (D, H, W, C)
    layers: tuple[Layer, ...]
    params: Params = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"input": list(self.input), "layers": [layer.to_dict() for layer in self.layers]}

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    @property
    def ndim(self) -> int:
        """Spatial dimensions: 1 (sequences), 2 (images) or 3 (volumes)."""
        return len(self.input) - 1

    def with_input(self, shape: Sequence[int]) -> Network:
        new = _input_shape(list(shape), None)
        if len(new) != len(self.input):
            raise SpecError(f"the network is {self.ndim}-D; give {len(self.input)} numbers "
                            f"(the sizes of its axes and the channels), got {quote(list(shape))}",
                            field="input")
        return replace(self, input=new)


# --------------------------------------------------------------------------- field parsing

_NAME = re.compile(r"[A-Za-z_][\w.\-]*")


def _is_name(value: Any) -> bool:
    """A layer name: a word starting with a letter or '_', at most MAX_NAME characters."""
    return isinstance(value, str) and len(value) <= MAX_NAME and bool(_NAME.fullmatch(value))



def _int(value: Any, layer: str | None, name: str, line: int | None, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"must be an integer >= {minimum}, got {quote(value)}",
                        layer=layer, field=name, line=line)
    if value < minimum or value > MAX_DIM:
        raise SpecError(f"must be an integer between {minimum} and {MAX_DIM}, got {quote(value)}",
                        layer=layer, field=name, line=line)
    return value


#: How a list of one entry per spatial axis is written, by the network's dimension.
_AXES_TEXT = {1: "[t]", 2: "[h, w]", 3: "[d, h, w]"}
_PADS_TEXT = {
    1: 'an integer, [p], [before, after], "same", "same_lower", "valid" or "causal"',
    2: 'an integer, [ph, pw], [top, bottom, left, right], "same", "same_lower" or "valid"',
    3: 'an integer, [pd, ph, pw], [front, back, top, bottom, left, right], "same", '
       '"same_lower" or "valid"',
}


def _pair(value: Any, layer: str, name: str, line: int | None, minimum: int,
          ndim: int = 2) -> tuple[int, ...]:
    """One integer per spatial axis: an integer (every axis) or a list of ``ndim``."""
    if isinstance(value, list | tuple):
        if len(value) != ndim:
            extra = ""
            if len(value) in (1, 2, 3) and len(value) != ndim:
                extra = f" (a {len(value)}-D {name} on a {ndim}-D network)"
            raise SpecError(f"must be an integer or a list {_AXES_TEXT[ndim]}, got "
                            f"{quote(value)}{extra}", layer=layer, field=name, line=line)
        return tuple(_int(v, layer, name, line, minimum) for v in value)
    v = _int(value, layer, name, line, minimum)
    return (v,) * ndim


def _padding(value: Any, layer: str, line: int | None, ndim: int = 2) -> tuple[int, ...] | str:
    """(before, after) per spatial axis, or a rule: an integer, a list of ``ndim`` (before and
    after alike) or ``2 ndim`` (before, after for each axis), same, same_lower, valid, causal."""
    allowed = _PADS_TEXT[ndim]
    if isinstance(value, str):
        if value in ("same", "same_lower", "valid"):
            return value
        if value == "causal":
            if ndim != 1:
                raise SpecError(f"causal padding is for 1-D networks (sequences), not "
                                f"{ndim}-D ones; must be {allowed}", layer=layer,
                                field="padding", line=line)
            return value
        raise SpecError(f"must be {allowed}, got {quote(value)}", layer=layer, field="padding",
                        line=line)
    if isinstance(value, list | tuple):
        if len(value) == ndim:
            per_axis = [_int(v, layer, "padding", line, 0) for v in value]
            return tuple(p for v in per_axis for p in (v, v))
        if len(value) == 2 * ndim:
            return tuple(_int(v, layer, "padding", line, 0) for v in value)
        raise SpecError(f"must be {allowed}, got {quote(value)}", layer=layer, field="padding",
                        line=line)
    try:
        p = _int(value, layer, "padding", line, 0)
    except SpecError:
        raise SpecError(f"must be {allowed}, got {quote(value)}",
                        layer=layer, field="padding", line=line) from None
    return (p,) * (2 * ndim)

def _bool(value: Any, layer: str, name: str, line: int | None) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"must be true or false, got {quote(value)}",
                        layer=layer, field=name, line=line)
    return value


def _float(value: Any, layer: str, name: str, line: int | None) -> float:
    """A finite number of magnitude at most MAX_FLOAT (integers allowed)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"must be a number, got {quote(value)}", layer=layer, field=name, line=line)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or abs(number) > MAX_FLOAT:
        raise SpecError(f"must be a finite number of magnitude at most 1e30, got {quote(value)}",
                        layer=layer, field=name, line=line)
    return number


def _choice(value: Any, allowed: Sequence[str], layer: str, name: str, line: int | None) -> str:
    if value not in allowed:
        raise SpecError(f"must be {' or '.join(allowed)}, got {quote(value)}",
                        layer=layer, field=name, line=line)
    return str(value)


def _kernel_names(value: Any, filters: int, kernel: Pair, layer: str,
                  line: int | None) -> tuple[str, ...]:
    """Kernel specs (``sobel-x``, ``gaussian(5, 1.5)``, ``[[1, 0], [0, -1]]``): one for every
    filter, or one per filter; each no larger than the layer's kernel."""
    from rfdocs.compute.kernels import parse_kernel

    specs = [value] if isinstance(value, str) else value
    if not isinstance(specs, list | tuple) or not specs or not all(isinstance(v, str) for v in specs):
        raise SpecError(f"must be a kernel name or a list of kernel names, got {quote(value)}",
                        layer=layer, field="weights", line=line)
    if len(specs) not in (1, filters):
        raise SpecError(f"gives {len(specs)} kernels; give one for every filter or exactly "
                        f"{filters} (one per filter)", layer=layer, field="weights", line=line)
    for spec in specs:
        try:
            parsed = parse_kernel(spec)
        except ValueError as err:
            raise SpecError(str(err), layer=layer, field="weights", line=line) from None
        shape = parsed.weights.shape
        if shape[0] > kernel[0] or shape[1] > kernel[1]:
            raise SpecError(f"kernel {quote(spec)} is {shape[0]}x{shape[1]}, larger than the "
                            f"layer's {kernel[0]}x{kernel[1]} kernel", layer=layer,
                            field="weights", line=line)
    return tuple(s.strip() for s in specs)


def _input_shape(value: Any, line: int | None) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or len(value) not in (2, 3, 4):
        raise SpecError("must be [length, channels] (1-D), [height, width, channels] (2-D) or "
                        f"[depth, height, width, channels] (3-D), got {quote(value)}",
                        field="input", line=line)
    return tuple(_int(v, None, "input", line, 1) for v in value)


def layer_from_mapping(
    raw: Mapping[str, Any], index: int, previous: str, line: int | None = None, ndim: int = 2
) -> Layer:
    """Validate one long-form layer mapping of an ``ndim``-D network; ``previous`` is the
    default input."""
    if not isinstance(raw, Mapping):
        raise SpecError(f"each layer must be a mapping of fields, got {quote(raw)}", line=line)
    op = raw.get("op")
    given_name = raw.get("name")
    label = given_name if _is_name(given_name) else f"#{index + 1}"
    if op not in OPS:
        raise SpecError(f"must be one of {', '.join(OPS)}; got {quote(op)}",
                        layer=label, field="op", line=line)
    name = raw.get("name", f"{op}{index + 1}")
    if not _is_name(name):
        raise SpecError(f"must be a word of letters, digits, '_', '-' or '.', starting with a "
                        f"letter, at most {MAX_NAME} characters; got {quote(name)}",
                        layer=label, field="name", line=line)
    unknown = sorted(set(raw) - set(LAYER_FIELDS), key=str)
    if unknown:
        raise SpecError(f"unknown field(s) {', '.join(map(quote, unknown[:5]))}; "
                        f"allowed: {', '.join(LAYER_FIELDS)}", layer=name,
                        field=unknown[0] if isinstance(unknown[0], str) else None, line=line)
    allowed = OP_FIELDS.get(op, ())
    for f in raw:
        if f in ("name", "op", "inputs") or f in allowed:
            continue
        takers = [o for o in OPS if f in OP_FIELDS.get(o, ())]
        raise SpecError(f"is only allowed for {', '.join(takers)} layers, not {op}",
                        layer=name, field=f, line=line)

    inputs_raw = raw.get("inputs", [previous])
    if isinstance(inputs_raw, str):
        inputs_raw = [inputs_raw]
    if not isinstance(inputs_raw, list | tuple) or not inputs_raw or not all(
        isinstance(i, str) for i in inputs_raw
    ):
        raise SpecError(f"must be a non-empty list of layer names, got {quote(inputs_raw)}",
                        layer=name, field="inputs", line=line)
    inputs = tuple(inputs_raw)
    if op in ("sub", "div") and len(inputs) != 2:
        raise SpecError(f"a {op} layer takes exactly two inputs, got {quote(list(inputs))}",
                        layer=name, field="inputs", line=line)
    if op in MERGE_OPS and len(inputs) < 2:
        raise SpecError(f"an {op} layer needs at least two inputs, got {quote(list(inputs))}",
                        layer=name, field="inputs", line=line)
    if op not in MERGE_OPS and len(inputs) != 1:
        raise SpecError(f"a {op} layer takes exactly one input, got {quote(list(inputs))}",
                        layer=name, field="inputs", line=line)

    ones, zeros = (1,) * ndim, (0,) * ndim
    kw: dict[str, Any] = {"kernel": ones, "stride": ones, "dilation": ones,
                          "output_padding": zeros, "factor": ones, "padding": zeros * 2}
    if op in WINDOW_OPS:
        if "kernel" not in raw:
            raise SpecError(f"is required for {op} layers", layer=name, field="kernel", line=line)
        kw["kernel"] = _pair(raw["kernel"], name, "kernel", line, 1, ndim)
        kw["stride"] = _pair(raw.get("stride", 1), name, "stride", line, 1, ndim)
        kw["padding"] = _padding(raw.get("padding", 0), name, line, ndim)
        kw["dilation"] = _pair(raw.get("dilation", 1), name, "dilation", line, 1, ndim)
    if op in ("conv", "deconv"):
        if "filters" not in raw:
            raise SpecError(f"is required for {op} layers (the number of output channels)",
                            layer=name, field="filters", line=line)
        kw["filters"] = _int(raw["filters"], name, "filters", line, 1)
        if "weights" in raw:
            if ndim != 2:
                raise SpecError(f"named kernels are 2-D; a {ndim}-D network's kernels come from "
                                "its model or are seeded random", layer=name, field="weights",
                                line=line)
            kw["weights"] = _kernel_names(raw["weights"], kw["filters"], kw["kernel"], name, line)
    if op == "conv":
        kw["groups"] = _int(raw.get("groups", 1), name, "groups", line, 1)
        if kw["filters"] % kw["groups"]:
            raise SpecError(f"filters ({kw['filters']}) must be divisible by groups "
                            f"({kw['groups']})", layer=name, field="groups", line=line)
    if op == "deconv":
        kw["output_padding"] = _pair(raw.get("output_padding", 0), name, "output_padding", line,
                                     0, ndim)
        if isinstance(kw["padding"], str) and kw["padding"] == "valid":
            kw["padding"] = zeros * 2
        if kw["padding"] in ("same_lower", "causal"):
            raise SpecError(f"must be a number, a list or \"same\" for deconv layers, got "
                            f"{quote(kw['padding'])}", layer=name, field="padding", line=line)
        for axis in range(ndim):
            if kw["output_padding"][axis] >= max(kw["stride"][axis], kw["dilation"][axis]):
                raise SpecError("must be smaller than the stride or the dilation, got "
                                f"{list(kw['output_padding'])}", layer=name,
                                field="output_padding", line=line)
    if op in ("maxpool", "avgpool"):
        kw["ceil_mode"] = _bool(raw.get("ceil_mode", False), name, "ceil_mode", line)
    if op == "avgpool":
        kw["count_include_pad"] = _bool(raw.get("count_include_pad", True), name,
                                        "count_include_pad", line)
    if op == "pad":
        if "padding" not in raw:
            raise SpecError("is required for pad layers: an integer, [ph, pw] or "
                            "[top, bottom, left, right]", layer=name, field="padding", line=line)
        pads = _padding(raw["padding"], name, line, ndim)
        if isinstance(pads, str):
            raise SpecError(f"must be numbers for pad layers, got {quote(pads)}",
                            layer=name, field="padding", line=line)
        kw["padding"] = pads
        kw["value"] = _float(raw.get("value", 0.0), name, "value", line)
    if op == "upsample":
        if "factor" not in raw:
            raise SpecError("is required for upsample layers: an integer or [fh, fw]",
                            layer=name, field="factor", line=line)
        kw["factor"] = _pair(raw["factor"], name, "factor", line, 1, ndim)
        kw["mode"] = _choice(raw.get("mode", "nearest"), UPSAMPLE_MODES, name, "mode", line)
    if op == "dense":
        if "units" not in raw:
            raise SpecError("is required for dense layers (the number of outputs)",
                            layer=name, field="units", line=line)
        kw["filters"] = _int(raw["units"], name, "units", line, 1)
    if op in ALPHA_DEFAULT:
        kw["alpha"] = _float(raw.get("alpha", ALPHA_DEFAULT[op]), name, "alpha", line)
    if op == "hardsigmoid":
        kw["beta"] = _float(raw.get("beta", 0.5), name, "beta", line)
    if op == "clip":
        for bound in ("min", "max"):
            if raw.get(bound) is not None:
                kw[bound] = _float(raw[bound], name, bound, line)
        if kw.get("min") is not None and kw.get("max") is not None and kw["min"] > kw["max"]:
            raise SpecError(f"min ({kw['min']}) must not exceed max ({kw['max']})",
                            layer=name, field="min", line=line)
    if op == "gelu":
        kw["approximate"] = _choice(raw.get("approximate", "none"), GELU_APPROXIMATIONS, name,
                                    "approximate", line)
    if op == "batchnorm":
        kw["epsilon"] = _float(raw.get("epsilon", 1e-5), name, "epsilon", line)
        if not kw["epsilon"] > 0:
            raise SpecError(f"must be positive, got {kw['epsilon']}", layer=name,
                            field="epsilon", line=line)
    if op == "affine":
        kw["scale"] = _float(raw.get("scale", 1.0), name, "scale", line)
        kw["shift"] = _float(raw.get("shift", 0.0), name, "shift", line)
    return Layer(name=name, op=op, inputs=inputs, line=line, **kw)


def network_from_data(data: Any, lines: Sequence[int | None] | None = None,
                      input_line: int | None = None, *, max_layers: int = MAX_LAYERS) -> Network:
    """Validate a long-form spec already loaded from YAML or JSON."""
    if not isinstance(data, Mapping):
        raise SpecError("a spec must be a mapping with keys 'input' and 'layers'")
    unknown = sorted(set(data) - {"input", "layers"})
    if unknown:
        raise SpecError(f"unknown top-level key(s) {', '.join(map(repr, unknown))}; "
                        "allowed: input, layers")
    if "input" not in data:
        raise SpecError("is required: [height, width, channels]", field="input")
    shape = _input_shape(data["input"], input_line)
    raw_layers = data.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise SpecError("must be a non-empty list of layers", field="layers")
    if len(raw_layers) > max_layers:
        raise SpecError(f"has {len(raw_layers)} layers; at most {max_layers} are allowed",
                        field="layers")
    layers: list[Layer] = []
    previous = INPUT_NAME
    for i, raw in enumerate(raw_layers):
        line = lines[i] if lines is not None and i < len(lines) else None
        layer = layer_from_mapping(raw, i, previous, line, len(shape) - 1)
        layers.append(layer)
        previous = layer.name
    return validate_graph(Network(shape, tuple(layers)))


def validate_graph(net: Network) -> Network:
    """Check names are unique, every input names an earlier layer (so the order is topological)
    and the strides on every path multiply to at most MAX_STRIDE_PRODUCT (down and up apart)."""
    # per node: the largest product of down-sampling strides on a path to it, and of up-sampling
    # ones, over every axis (only the largest matters)
    products: dict[str, tuple[int, int]] = {INPUT_NAME: (1, 1)}
    for layer in net.layers:
        if layer.name in products:
            what = "the network input" if layer.name == INPUT_NAME else "an earlier layer"
            raise SpecError(f"the name is already used by {what}; names must be unique",
                            layer=layer.name, field="name", line=layer.line)
        for src in layer.inputs:
            if src not in products:
                raise SpecError(f"{quote(src)} is not 'input' or the name of an earlier layer",
                                layer=layer.name, field="inputs", line=layer.line)
        down = max(products[src][0] for src in layer.inputs)
        up = max(products[src][1] for src in layer.inputs)
        if layer.op == "deconv":
            up *= max(layer.stride)
        elif layer.op in WINDOW_OPS:
            down *= max(layer.stride)
        for product, what in ((down, "strides of the convolutions and pools"),
                              (up, "strides of the transposed convolutions")):
            if product > MAX_STRIDE_PRODUCT:
                raise SpecError(f"the {what} on a path from the input to here multiply to more "
                                f"than {_STRIDE_PRODUCT_TEXT}; rfdocs refuses such networks",
                                layer=layer.name, field="stride", line=layer.line)
        products[layer.name] = (down, up)
    return net


# --------------------------------------------------------------------------- the long form


#: libyaml's safe loader where PyYAML was built with it (same semantics, ~20x faster).
_BASE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _SpecLoader(_BASE_LOADER):  # type: ignore[misc]
    """The safe loader, stricter: a key twice in one mapping is an error (YAML says keys are
    unique; PyYAML would keep the last silently), integers longer than MAX_INT_CHARS are refused
    before conversion, and a value no constructor can build (a date like 2001-13-45) is an error
    at its line instead of a traceback."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                earlier = first.get(key)
            except TypeError:
                continue  # an unhashable key: the safe constructor reports it
            line = key_node.start_mark.line + 1
            if earlier is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {quote(key)} (first on line {earlier}); keys of "
                    "a mapping must be unique", key_node.start_mark)
            first[key] = line
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        if len(str(node.value)) > MAX_INT_CHARS:
            raise yaml.constructor.ConstructorError(
                None, None, f"a {len(str(node.value)):,}-character number is far too large "
                f"(numbers in a spec are at most {MAX_DIM:,})", node.start_mark)
        value: int = super().construct_yaml_int(node)
        return value

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as err:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {quote(getattr(node, 'value', ''), 40)}: {err}",
                node.start_mark) from None


_SpecLoader.add_constructor("tag:yaml.org,2002:int", _SpecLoader.construct_yaml_int)


def _yaml_lines(root: yaml.Node | None) -> tuple[list[int | None], int | None]:
    """1-based line of each layer mapping and of the input key, read from the YAML node tree."""
    layer_lines: list[int | None] = []
    input_line = None
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if getattr(key, "value", None) == "layers" and isinstance(value, yaml.SequenceNode):
                layer_lines = [item.start_mark.line + 1 for item in value.value]
            if getattr(key, "value", None) == "input":
                input_line = key.start_mark.line + 1
    return layer_lines, input_line


def _count_yaml_nodes(root: yaml.Node | None, limit: int) -> None:
    """Refuse YAML whose alias expansion would be enormous (the "billion laughs"): the expanded
    size of every node, bottom-up, memoised over shared (aliased) nodes; and YAML nested deeper
    than MAX_NESTING levels."""
    stack: list[tuple[Any, int, int]] = [(root, 0, 0)]
    sizes: dict[int, int] = {}
    order: list[Any] = []
    visited: set[int] = set()
    while stack:
        node, state, depth = stack.pop()
        if node is None:
            continue
        if depth > MAX_NESTING:
            raise SpecError(f"lists and mappings are nested more than {MAX_NESTING} deep",
                            line=node.start_mark.line + 1)
        if state == 0:
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, 1, depth))
            if isinstance(node, yaml.SequenceNode):
                stack.extend((child, 0, depth + 1) for child in node.value)
            elif isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    stack.extend(((k, 0, depth + 1), (v, 0, depth + 1)))
        else:
            order.append(node)
    for node in order:
        if isinstance(node, yaml.SequenceNode):
            size = 1 + sum(sizes.get(id(c), 1) for c in node.value)
        elif isinstance(node, yaml.MappingNode):
            size = 1 + sum(sizes.get(id(k), 1) + sizes.get(id(v), 1) for k, v in node.value)
        else:
            size = 1
        sizes[id(node)] = size
        if size > limit:
            raise SpecError(f"the YAML expands to more than {limit} values (alias expansion?); "
                            "refusing it")


def _compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """The YAML node tree (for line numbers) and the plain data built from it."""
    loader = _SpecLoader(text.removeprefix(BOM))
    try:
        root = loader.get_single_node()
        _count_yaml_nodes(root, 200_000)
        return root, None if root is None else loader.construct_document(root)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(err, "problem", None) or str(err)
        raise SpecError(f"invalid YAML: {problem}", line=line) from None
    except RecursionError:  # the pure-Python composer, without libyaml's depth limit
        raise SpecError(f"lists and mappings are nested more than {MAX_NESTING} deep") from None
    finally:
        loader.dispose()


def load_yaml(text: str) -> Any:
    """Plain data from YAML text with the spec loader's checks (unique keys, sizes of numbers,
    nesting, alias expansion), for YAML files that are not specs (figure files)."""
    return _compose_and_load(text)[1]


def parse_long(text: str, *, max_layers: int = MAX_LAYERS) -> Network:
    """Parse the long form (YAML, so JSON too): compose the node tree once with the safe
    loader, check its expanded size, read line numbers from it, then build plain data from it
    with the safe constructor (what ``yaml.safe_load`` does, in one pass)."""
    root, data = _compose_and_load(text)
    layer_lines, input_line = _yaml_lines(root)
    return network_from_data(data, layer_lines, input_line, max_layers=max_layers)


# --------------------------------------------------------------------------- JSON

_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"(?P<key>\s*:)?|[\[\]{}]|-?[0-9][0-9.eE+\-]*')


def _json_layout(text: str) -> tuple[list[int | None], int | None, SpecError | None]:
    """What ``json.loads`` does not tell: the line of each layer object and of the input key,
    and the first key given twice in one object (as an error to raise once the text is known to
    be valid JSON). Refuses nesting deeper than MAX_NESTING and over-long integers at once,
    since those would make the parser fail without a line (RecursionError, ValueError)."""
    stack: list[dict[str, int] | None] = []  # per open bracket: the keys of an object
    layer_lines: list[int | None] = []
    input_line: int | None = None
    duplicate: SpecError | None = None
    line, counted = 1, 0
    in_layers = False  # the value of the top-level "layers" key is open
    pending_key: str | None = None
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        line += text.count("\n", counted, match.start())
        counted = match.start()
        first = token[0]
        if first == '"':
            if match.group("key") is None or not stack or stack[-1] is None:
                pending_key = None
                continue
            try:
                key = json.loads(token[:token.rindex('"') + 1])
            except ValueError:
                key = token
            keys = stack[-1]
            if key in keys and duplicate is None:
                duplicate = SpecError(f"duplicate key {quote(key)} (first on line {keys[key]}); "
                                      "keys of an object must be unique", line=line)
            keys.setdefault(key, line)
            pending_key = key if len(stack) == 1 else None
            if pending_key == "input" and input_line is None:
                input_line = line
        elif first in "[{":
            if len(stack) >= MAX_NESTING:
                raise SpecError(f"lists and objects are nested more than {MAX_NESTING} deep",
                                line=line)
            if first == "[" and len(stack) == 1 and pending_key == "layers":
                in_layers = True
            elif first == "{" and in_layers and len(stack) == 2:
                layer_lines.append(line)
            stack.append({} if first == "{" else None)
            pending_key = None
        elif first in "]}":
            if stack:
                stack.pop()
            if len(stack) < 2:
                in_layers = False
        else:
            digits = len(token.split(".")[0].split("e")[0].split("E")[0].lstrip("-"))
            if digits > MAX_INT_CHARS:
                raise SpecError(f"a {len(token):,}-character number is far too large (numbers "
                                f"in a spec are at most {MAX_DIM:,})", line=line)
    return layer_lines, input_line, duplicate


def parse_json(text: str, *, max_layers: int = MAX_LAYERS) -> Network:
    """Parse a JSON spec: the same structure as the long form, with the same line numbers."""
    layer_lines, input_line, duplicate = _json_layout(text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SpecError(f"invalid JSON: {err.msg}", line=err.lineno) from None
    except (ValueError, RecursionError) as err:  # guarded above; never a traceback
        raise SpecError(f"invalid JSON: {err}") from None
    if duplicate is not None:
        raise duplicate
    return network_from_data(data, layer_lines, input_line, max_layers=max_layers)


# --------------------------------------------------------------------------- the compact form

COMPACT_HELP = (
    "compact layer lines look like 'conv 5x5 /1 x100 pad 2', 'maxpool 2 /2 ceil', "
    "'name: deconv 4x4 /2 x16 pad 1 outpad 1', 'add a b', 'leakyrelu alpha 0.1', "
    "'upsample 2 mode linear', 'flatten', 'dense x10' or 'relu'; the first line may be "
    "'input 50x50x3'"
)

# Numbers are ASCII digits only: str.isdigit() and \d also take '²' or '٣', which int() refuses
# or reads, and YAML and JSON never take.
_DIGITS = re.compile(r"[0-9]+")
_SIZE = re.compile(r"^([0-9]+)(?:x([0-9]+))?(?:x([0-9]+))?$")
_SHAPE = re.compile(r"^([0-9]+)x([0-9]+)(?:x([0-9]+))?(?:x([0-9]+))?$")
#: Padding written as numbers: one, one per axis, or before and after per axis (1 to 3 axes).
_PAD_NUMBERS = re.compile(r"[0-9]+(,[0-9]+){0,5}")


def _digits_hint(token: str) -> str:
    """A hint for a token with digits other than 0-9 (superscripts, other scripts)."""
    if any(not ch.isascii() and (ch.isdigit() or ch.isnumeric()) for ch in token):
        return " (write numbers with the digits 0 to 9)"
    return ""


def _count(digits: str, layer: str | None, name: str, line: int) -> int:
    """An ASCII digit string as an integer; refused while still text when far too long (Python
    converts at most 4,300 digits, and a spec's numbers are at most MAX_DIM)."""
    if len(digits) > MAX_INT_CHARS:
        raise SpecError(f"must be an integer of at most {MAX_DIM}, got a {len(digits):,}-digit "
                        "number", layer=layer, field=name, line=line)
    return int(digits)


def _size_token(token: str, layer: str, name: str, line: int) -> int | list[int]:
    """N (every axis) or AxB, AxBxC (one per axis; checked against the network's dimension)."""
    m = _SIZE.match(token)
    if not m:
        raise SpecError(f"expected N, HxW or DxHxW, got {quote(token)}{_digits_hint(token)}",
                        layer=layer, field=name, line=line)
    parts = [_count(g, layer, name, line) for g in m.groups() if g is not None]
    return parts[0] if len(parts) == 1 else parts


_FLOAT_KEYS = {"alpha": "alpha", "beta": "beta", "min": "min", "max": "max", "eps": "epsilon",
               "epsilon": "epsilon", "scale": "scale", "shift": "shift", "value": "value"}
_FLOAT_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


def _decimal(token: str, layer: str, name: str, line: int) -> float:
    """A number written in the compact form (ASCII digits, optional sign, decimals, exponent)."""
    if len(token) > MAX_INT_CHARS + 10 or not _FLOAT_TEXT.fullmatch(token):
        raise SpecError(f"expected a number such as 0.1 or -6, got {quote(token)}"
                        f"{_digits_hint(token)}", layer=layer, field=name, line=line)
    return float(token)


def _digits_only(token: str, layer: str, name: str, line: int) -> str:
    if not _DIGITS.fullmatch(token):
        raise SpecError(f"expected an integer, got {quote(token)}{_digits_hint(token)}",
                        layer=layer, field=name, line=line)
    return token


def _compact_layer(tokens: list[str], index: int, line: int) -> dict[str, Any]:
    name: str | None = None
    if tokens[0].endswith(":"):
        name = tokens[0][:-1]
        tokens = tokens[1:]
        if not tokens:
            raise SpecError(f"a name needs an op after it; {COMPACT_HELP}", line=line)
    op = tokens[0].lower()
    label = name or f"{op}{index + 1}"
    if op not in OPS:
        raise SpecError(f"must be one of {', '.join(OPS)}; got {quote(tokens[0])}",
                        layer=label, field="op", line=line)
    raw: dict[str, Any] = {"op": op}
    if name is not None:
        raw["name"] = name
    rest = tokens[1:]
    bare: list[str] = []
    i = 0

    def value_after(key: str) -> str:
        nonlocal i
        if i + 1 >= len(rest):
            raise SpecError(f"{key!r} needs a value", layer=label, field=key, line=line)
        i += 1
        return rest[i]

    while i < len(rest):
        tok = rest[i]
        low = tok.lower()
        if low.startswith("/"):
            raw["stride"] = _size_token(low[1:], label, "stride", line)
        elif low.startswith("x") and _DIGITS.fullmatch(low[1:]):
            key = "units" if op == "dense" else "filters"
            raw[key] = _count(low[1:], label, key, line)
        elif _SIZE.match(low) and "kernel" not in raw and op in WINDOW_OPS:
            raw["kernel"] = _size_token(low, label, "kernel", line)
        elif low in ("pad", "padding"):
            val = value_after("padding")
            if val in ("same", "same_lower", "valid", "causal"):
                raw["padding"] = val
            elif _PAD_NUMBERS.fullmatch(val):
                parts = [_count(v, label, "padding", line) for v in val.split(",")]
                raw["padding"] = parts[0] if len(parts) == 1 else parts
            else:
                raise SpecError(f"expected N, PH,PW, T,B,L,R, same or valid; got {quote(val)}"
                                f"{_digits_hint(val)}", layer=label, field="padding", line=line)
        elif low in ("dil", "dilation"):
            raw["dilation"] = _size_token(value_after("dilation"), label, "dilation", line)
        elif low in ("groups", "g"):
            val = value_after("groups")
            if not _DIGITS.fullmatch(val):
                raise SpecError(f"expected an integer, got {quote(val)}{_digits_hint(val)}",
                                layer=label, field="groups", line=line)
            raw["groups"] = _count(val, label, "groups", line)
        elif low in ("outpad", "output_padding"):
            raw["output_padding"] = _size_token(value_after("output_padding"), label,
                                                "output_padding", line)
        elif low == "ceil":
            raw["ceil_mode"] = True
        elif low == "causal" and op in WINDOW_OPS:
            raw["padding"] = "causal"
        elif op not in MERGE_OPS and low == "exclude_pad":
            raw["count_include_pad"] = False
        elif op not in MERGE_OPS and low in ("weights", "kernels"):
            from rfdocs.compute.kernels import split_specs
            val = value_after("weights")
            try:
                names = split_specs(val)
            except ValueError as err:
                raise SpecError(str(err), layer=label, field="weights", line=line) from None
            raw["weights"] = names[0] if len(names) == 1 else names
        elif op not in MERGE_OPS and low in _FLOAT_KEYS:
            key = _FLOAT_KEYS[low]
            raw[key] = _decimal(value_after(key), label, key, line)
        elif op not in MERGE_OPS and low == "mode":
            raw["mode"] = value_after("mode")
        elif op not in MERGE_OPS and low == "approximate":
            raw["approximate"] = value_after("approximate")
        elif op not in MERGE_OPS and low == "units":
            raw["units"] = _count(_digits_only(value_after("units"), label, "units", line), label,
                                  "units", line)
        elif op not in MERGE_OPS and low == "factor":
            raw["factor"] = _size_token(value_after("factor"), label, "factor", line)
        elif op == "upsample" and _SIZE.match(low) and "factor" not in raw:
            raw["factor"] = _size_token(low, label, "factor", line)
        elif op == "pad" and "padding" not in raw and _PAD_NUMBERS.fullmatch(low):
            parts = [_count(v, label, "padding", line) for v in low.split(",")]
            raw["padding"] = parts[0] if len(parts) == 1 else parts
        elif low == "from":
            raw["inputs"] = rest[i + 1:]
            if not raw["inputs"]:
                raise SpecError("'from' needs at least one layer name",
                                layer=label, field="inputs", line=line)
            break
        elif op in MERGE_OPS and re.fullmatch(r"[A-Za-z_][\w.\-]*", tok):
            bare.append(tok)
        else:
            raise SpecError(f"does not understand {quote(tok)}{_digits_hint(tok)}; {COMPACT_HELP}",
                            layer=label, line=line)
        i += 1
    if bare:
        raw["inputs"] = bare
    if op in ("maxpool", "avgpool") and "kernel" in raw and "stride" not in raw:
        raw["stride"] = raw["kernel"]  # pools stride by their size unless told otherwise
    return raw


def parse_compact(text: str, *, max_layers: int = MAX_LAYERS) -> Network:
    """Parse the compact form: an 'input' line (TxC, HxWxC or DxHxWxC), then one layer a line."""
    shape: tuple[int, ...] | None = None
    input_line: int | None = None
    raws: list[dict[str, Any]] = []
    lines: list[int | None] = []
    for lineno, raw_line in enumerate(text.splitlines(), start=1):
        content = raw_line.split("#", 1)[0].strip()
        if not content:
            continue
        tokens = content.replace(",", ", ").split()
        # re-join comma lists such as "pad 1, 1" -> "pad 1,1"
        joined: list[str] = []
        for tok in tokens:
            if joined and (joined[-1].endswith(",")):
                joined[-1] += tok
            else:
                joined.append(tok)
        tokens = [t.rstrip(",") if t.endswith(",") and t.count(",") == 1 else t for t in joined]
        if tokens[0].lower() in ("input", "input:"):
            if raws or shape is not None:
                raise SpecError("'input' must be the first line and appear once",
                                field="input", line=lineno)
            m = _SHAPE.match(tokens[1].lower()) if len(tokens) == 2 else None
            if not m:
                hint = _digits_hint(" ".join(tokens[1:]))
                raise SpecError(f"expected 'input HxWxC' such as 'input 50x50x3' (or 'input TxC' "
                                f"for sequences, 'input DxHxWxC' for volumes){hint}",
                                field="input", line=lineno)
            shape = _input_shape([_count(g, None, "input", lineno) for g in m.groups()
                                  if g is not None], lineno)
            input_line = lineno
            continue
        if len(raws) >= max_layers:
            raise SpecError(f"has more than {max_layers} layers; at most {max_layers} are allowed",
                            field="layers", line=lineno)
        raws.append(_compact_layer(tokens, len(raws), lineno))
        lines.append(lineno)
    if shape is None:
        raise SpecError("the compact form needs an 'input HxWxC' line first, "
                        "such as 'input 50x50x3'", field="input")
    return network_from_data({"input": list(shape), "layers": raws}, lines, input_line,
                             max_layers=max_layers)


# --------------------------------------------------------------------------- entry points


def is_long_form(text: str) -> bool:
    """The long form has a top-level ``input:`` or ``layers:`` key or is JSON."""
    stripped = text.lstrip()
    return stripped.startswith("{") or bool(
        re.search(r"^(input|layers)\s*:", text, flags=re.MULTILINE)
    )


def parse_spec(text: str, *, max_layers: int = MAX_LAYERS) -> Network:
    """Parse a spec in either form (detected from its text)."""
    text = text.removeprefix(BOM)
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError(f"the spec is {len(text):,} characters; at most {MAX_SPEC_CHARS:,} "
                        "allowed")
    if text.lstrip().startswith("{"):
        return parse_json(text, max_layers=max_layers)
    if is_long_form(text):
        return parse_long(text, max_layers=max_layers)
    return parse_compact(text, max_layers=max_layers)


def load_spec(source: str | Path) -> Network:
    """A spec from a file path or a zoo model name."""
    from rfdocs.compute.zoo import ZOO_NAMES, zoo_network

    if isinstance(source, str) and source.lower() in ZOO_NAMES:
        return zoo_network(source)
    path = Path(source)
    if not path.is_file():
        raise SpecError(f"{quote(str(source))} is neither a spec file nor a zoo model "
                        f"({', '.join(ZOO_NAMES)})")
    return parse_spec(read_spec_text(path))


def read_spec_text(path: Path) -> str:
    """The text of a spec file: UTF-8 (a byte-order mark is dropped); a binary file, other
    encodings or a file over the size limit are refused without reading them whole."""
    try:
        with path.open("rb") as handle:
            data = handle.read(4 * MAX_SPEC_CHARS + 1)
    except OSError as err:
        raise SpecError(f"cannot read it: {err.strerror or err}") from None
    if len(data) > 4 * MAX_SPEC_CHARS:
        raise SpecError(f"the file is larger than a spec may be ({MAX_SPEC_CHARS:,} characters)")
    if b"\0" in data:
        raise SpecError("a binary file, not a spec (it contains NUL bytes)",
                        line=data.count(b"\n", 0, data.index(b"\0")) + 1)
    try:
        return data.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as err:
        raise SpecError(f"not UTF-8 text (byte 0x{data[err.start]:02x} at position {err.start}); "
                        "save the spec as UTF-8", line=data.count(b"\n", 0, err.start) + 1) from None


def _size_text(sizes: Sequence[int]) -> str:
    """One number where every axis agrees, else one per axis: 2, 1x2, 1x2x2."""
    return str(sizes[0]) if len(set(sizes)) == 1 else "x".join(map(str, sizes))


def _pads_text(pad: Sequence[int]) -> str:
    """Padding numbers: one for all, one per axis (before = after), or before, after per axis."""
    if len(set(pad)) == 1:
        return str(pad[0])
    befores, afters = pad[0::2], pad[1::2]
    if befores == afters and len(befores) > 1:
        return ",".join(map(str, befores))
    return ",".join(map(str, pad))


def format_compact(net: Network) -> str:
    """The compact form of a network (``parse_compact`` of it gives the same network back)."""
    lines = ["input " + "x".join(map(str, net.input))]
    previous = INPUT_NAME
    for layer in net.layers:
        parts = [f"{layer.name}:", layer.op]
        if layer.op in WINDOW_OPS:
            parts += ["x".join(map(str, layer.kernel)), f"/{_size_text(layer.stride)}"]
            pad = layer.padding
            if isinstance(pad, str):
                parts += ["causal"] if pad == "causal" else ["pad", pad]
            elif any(pad):
                parts += ["pad", _pads_text(pad)]
            if any(d != 1 for d in layer.dilation):
                parts += ["dil", _size_text(layer.dilation)]
        if layer.filters is not None:
            parts.append(f"x{layer.filters}")  # a dense layer's units
        if layer.groups != 1:
            parts += ["groups", str(layer.groups)]
        if any(layer.output_padding):
            parts += ["outpad", _size_text(layer.output_padding)]
        if layer.ceil_mode:
            parts.append("ceil")
        if layer.op == "avgpool" and not layer.count_include_pad:
            parts.append("exclude_pad")
        if layer.op == "pad":
            pad = layer.padding
            assert not isinstance(pad, str)
            parts.append(",".join(map(str, pad)))
            if layer.value:
                parts += ["value", repr(layer.value)]
        if layer.op == "upsample":
            parts += ["x".join(map(str, layer.factor)), "mode", layer.mode]
        if layer.weights:
            parts += ["weights", ",".join(layer.weights)]
        for name in ("alpha", "beta", "min", "max", "epsilon", "scale", "shift"):
            if name in OP_FIELDS.get(layer.op, ()) and getattr(layer, name) is not None:
                parts += [name, repr(getattr(layer, name))]
        if layer.op == "gelu" and layer.approximate != "none":
            parts += ["approximate", layer.approximate]
        if layer.op in MERGE_OPS:
            parts += list(layer.inputs)
        elif layer.inputs != (previous,):
            parts += ["from", *layer.inputs]
        lines.append(" ".join(parts))
        previous = layer.name
    return "\n".join(lines) + "\n"
