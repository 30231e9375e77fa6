"""Numbers for prose: the queries of the ``rf`` role (``vgg16:pool5:rf`` -> 212×212), without Sphinx.

The Sphinx role, the Python API (``rfdocs.rf_value``) and the MyST-MD plugin all answer a query
here, so the same text gives the same number everywhere. One number per spatial axis: 1-D
sequences, 2-D images, 3-D volumes; ``.t``, ``.h``/``.w`` or ``.d``/``.h``/``.w`` pick one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from rfdocs.compute.spec import Network, SpecError
from rfdocs.compute.zoo import ZOO_NAMES, zoo_network

if TYPE_CHECKING:
    from rfdocs.compute.receptive import Analysis, LayerInfo

#: The fields a query may ask for.
FIELDS = ("shape", "rf", "jump", "start", "padding", "center", "aligned", "height", "width",
          "channels", "size", "layers", "params", "length", "depth")
FIELD_HELP = {
    "shape": "output shape H×W×C (T×C, D×H×W×C)", "rf": "receptive field size h×w",
    "jump": "jump (effective stride)", "start": "start of unit 0's field",
    "padding": "effective padding", "center": "centre of unit 0's field",
    "aligned": "yes/no: whether all paths agree", "height": "output height", "width": "output width",
    "channels": "output channels", "size": "output H×W (T, D×H×W)",
    "layers": "number of layers in the network",
    "params": "number of weights (conv and deconv, with biases)",
    "length": "output length T (1-D)", "depth": "output depth D (3-D)",
}
#: Axis suffixes by number of spatial axes: ``.t`` in 1-D, ``.h``/``.w`` in 2-D, ``.d``/``.h``/``.w``
#: in 3-D.
AXES = {1: {"t": 0}, 2: {"h": 0, "w": 1}, 3: {"d": 0, "h": 1, "w": 2}}
#: Fields naming one spatial size, by number of spatial axes.
SIZES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
PER_AXIS = ("rf", "jump", "start", "padding", "center")

#: Loads a model file a query names (``x.onnx``): the caller decides where files may come from.
ModelLoader = Callable[[str], Network]


@dataclass(frozen=True)
class Query:
    """A parsed ``SOURCE:LAYER:FIELD[.AXIS]``; ``layer`` is '' for the network's output."""

    source: str
    layer: str
    field: str
    axis: str | None


def _suffixes(ndim: int) -> str:
    names = [f".{a}" for a in AXES[ndim]]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def is_model_path(text: str) -> bool:
    """A source that names an ONNX model (by its suffix)."""
    return text.strip().lower().endswith(".onnx")


def parse_query(text: str) -> Query:
    """``SOURCE:LAYER:FIELD`` with an optional axis suffix; ValueError saying what is wrong."""
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(f"{text!r} should read SOURCE:LAYER:FIELD, e.g. vgg16:pool5:rf "
                         "(LAYER empty for the output)")
    source, layer_name, field = (p.strip() for p in parts)
    axis_name = None
    if "." in field:
        field, _, axis_name = field.partition(".")
        if axis_name not in {a for names in AXES.values() for a in names}:
            raise ValueError(f"axis {axis_name!r} in {text!r}: use .t (1-D), .h or .w (2-D), "
                             ".d, .h or .w (3-D)")
    if field not in FIELDS:
        raise ValueError(f"field {field!r}; allowed: {', '.join(FIELDS)}")
    return Query(source, layer_name, field, axis_name)


def _params(net: Network, analysis_channels: dict[str, int]) -> int:
    total = 0
    for layer in net.layers:
        if layer.op in ("conv", "deconv") and layer.filters is not None:
            cin = analysis_channels[layer.inputs[0]]
            total += math.prod(layer.kernel) * (cin // layer.groups) * layer.filters
            total += layer.filters
    return total


def analyzed(net: Network) -> Analysis:
    """``analyze(net)``, remembered for the networks asked about last: prose asks about the same
    zoo models and page networks on page after page (an analysis is never changed by a query)."""
    try:
        hash(net)
    except TypeError:  # a network holding unhashable data: analysed afresh
        from rfdocs.compute.receptive import analyze

        return analyze(net)
    return _remembered(net)


@lru_cache(maxsize=64)
def _remembered(net: Network) -> Analysis:
    from rfdocs.compute.receptive import analyze

    return analyze(net)


def format_field(net: Network, node: LayerInfo, field: str, axis: int | None) -> str:
    """The text of ``field`` of layer ``node`` of ``net`` (one axis where ``axis`` is given)."""
    from rfdocs.figures.text import fmt_count, fmt_dims, fmt_num

    if field == "layers":
        return str(len(net.layers))
    if field == "params":
        analysis = analyzed(net)
        return fmt_count(_params(net, {n.name: n.shape[-1] for n in analysis}))
    if field == "aligned":
        return "yes" if node.aligned else "no"
    ndim = len(node.shape) - 1
    if field == "channels":
        return str(node.shape[-1])
    if field in ("height", "width", "length", "depth"):
        names = SIZES.get(ndim, ())
        if field not in names:
            raise ValueError(f"field {field!r} is not an axis of a {ndim}-D network; its sizes "
                             f"are {', '.join(names)}")
        return str(node.shape[names.index(field)])
    if field == "size":
        return fmt_dims(node.shape[:-1])
    if field == "shape":
        return fmt_dims(node.shape)
    values = getattr(node, field)
    if axis is not None:
        return fmt_num(values[axis])
    if field == "rf":
        return fmt_dims(values)
    texts = [fmt_num(v) for v in values]
    return texts[0] if len(set(texts)) == 1 else "×".join(texts)


def query_network(source: str, networks: Mapping[str, Network],
                  load_model: ModelLoader | None = None) -> Network:
    """The network a query's SOURCE names: one of ``networks`` (defined earlier on the page), a
    zoo model or, where ``load_model`` is given, an ONNX model file."""
    if source in networks:
        return networks[source]
    if source.lower() in ZOO_NAMES:
        return zoo_network(source)
    if load_model is not None and is_model_path(source):
        return load_model(source)
    raise ValueError(f"source {source!r} is neither a network defined earlier on this page "
                     f"({', '.join(sorted(networks)) or 'none'}), a zoo model "
                     f"({', '.join(ZOO_NAMES)}) nor an ONNX model file (.onnx)")


def answer(text: str, networks: Mapping[str, Network] | None = None,
           load_model: ModelLoader | None = None) -> str:
    """The text the ``rf`` role prints for ``text`` (``SOURCE:LAYER:FIELD[.AXIS]``); ValueError
    with one line saying what is wrong (the role reports it as ``rf role: <message>``)."""
    query = parse_query(text)
    source = query.source
    net = query_network(source, networks or {}, load_model)
    try:
        analysis = analyzed(net)
    except SpecError as err:
        raise ValueError(f"network {source!r}: {err}") from None
    if query.layer in ("", "output"):
        node = analysis.output
    else:
        try:
            node = analysis[query.layer]
        except KeyError:
            names = [n.name for n in analysis]
            shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
            raise ValueError(f"{source} has no layer {query.layer!r}; layers: {shown}") from None
    ndim = len(node.shape) - 1
    axis = None
    if query.axis is not None:
        if query.field not in PER_AXIS:
            raise ValueError(f"field {query.field!r} has no {_suffixes(ndim)}")
        if query.axis not in AXES.get(ndim, {}):
            raise ValueError(f"axis .{query.axis} in {text!r}: {source} is {ndim}-D, use "
                             f"{_suffixes(ndim)}")
        axis = AXES[ndim][query.axis]
    return format_field(net, node, query.field, axis)


__all__ = ["AXES", "FIELDS", "FIELD_HELP", "PER_AXIS", "SIZES", "ModelLoader", "Query", "answer",
           "format_field", "is_model_path", "parse_query", "query_network"]
