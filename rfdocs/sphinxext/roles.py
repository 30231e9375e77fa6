"""The ``rf`` role: computed numbers inline in prose, e.g. {rf}`vgg16:pool5:rf` -> 212×212,
{rf}`wavenet::rf` -> 3071 (one number per spatial axis: 1-D sequences, 2-D images, 3-D volumes)."""

from __future__ import annotations

import math

from docutils import nodes
from docutils.nodes import Node, system_message
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxRole

from rfdocs.compute import ZOO_NAMES, LayerInfo, Network, SpecError, analyze, zoo_network
from rfdocs.sphinxext.cache import code_fingerprint
from rfdocs.sphinxext.errors import report_inline
from rfdocs.sphinxext.sources import SourceError, is_model_path, load_model, page_networks
from rfdocs.sphinxext.state import record, settings

#: field -> (description, how to read it off a LayerInfo)
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


def _suffixes(ndim: int) -> str:
    names = [f".{a}" for a in AXES[ndim]]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _params(net: Network, analysis_channels: dict[str, int]) -> int:
    total = 0
    for layer in net.layers:
        if layer.op in ("conv", "deconv") and layer.filters is not None:
            cin = analysis_channels[layer.inputs[0]]
            total += math.prod(layer.kernel) * (cin // layer.groups) * layer.filters
            total += layer.filters
    return total


def format_field(net: Network, node: LayerInfo, field: str, axis: int | None) -> str:
    from rfdocs.figures.text import fmt_count, fmt_dims, fmt_num

    if field == "layers":
        return str(len(net.layers))
    if field == "params":
        analysis = analyze(net)
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


class RfRole(SphinxRole):
    """``{rf}`SOURCE:LAYER:FIELD``` where SOURCE is a zoo model or a page network, LAYER a layer
    name (empty for the output) and FIELD one of FIELDS, optionally ``.h`` or ``.w``."""

    def run(self) -> tuple[list[Node], list[system_message]]:
        record(self.env).fingerprint = code_fingerprint()
        try:
            text = self.compute(self.text.strip())
        except ValueError as err:
            source, line = self.get_source_info()
            location = f"{source}:{line}"
            return report_inline(settings(self.env).config.on_error, f"rf role: {err}", location,
                                 "role", self.rawtext), []
        node = nodes.inline(self.rawtext, text, classes=["rfdocs-number"])
        self.set_source_info(node)
        return [node], []

    def compute(self, text: str) -> str:
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
        networks = page_networks(self.env)
        if source in networks:
            net = networks[source]
        elif source.lower() in ZOO_NAMES:
            net = zoo_network(source)
        elif is_model_path(source):
            net = self.model(source)
        else:
            raise ValueError(f"source {source!r} is neither a network defined earlier on this page "
                             f"({', '.join(sorted(networks)) or 'none'}), a zoo model "
                             f"({', '.join(ZOO_NAMES)}) nor an ONNX model file (.onnx)")
        try:
            analysis = analyze(net)
        except SpecError as err:
            raise ValueError(f"network {source!r}: {err}") from None
        if layer_name in ("", "output"):
            node = analysis.output
        else:
            try:
                node = analysis[layer_name]
            except KeyError:
                names = [n.name for n in analysis]
                shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
                raise ValueError(f"{source} has no layer {layer_name!r}; layers: {shown}") from None
        ndim = len(node.shape) - 1
        axis = None
        if axis_name is not None:
            if field not in PER_AXIS:
                raise ValueError(f"field {field!r} has no {_suffixes(ndim)}")
            if axis_name not in AXES.get(ndim, {}):
                raise ValueError(f"axis .{axis_name} in {text!r}: {source} is {ndim}-D, use "
                                 f"{_suffixes(ndim)}")
            axis = AXES[ndim][axis_name]
        return format_field(net, node, field, axis)


    def model(self, text: str) -> Network:
        """An ONNX model named by the role (relative to the page, inside the source directory),
        imported once per page and file contents (``load_model``)."""
        config = settings(self.env).config
        try:
            net, _ = load_model(self.env, text, "rf", None, config.max_model_bytes)
        except SourceError as err:
            raise ValueError(str(err).removeprefix(":rf: ")) from None
        return net


def setup_roles(app: Sphinx) -> None:
    app.add_role("rf", RfRole())
