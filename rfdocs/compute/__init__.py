"""The compute core: network specs, shapes, receptive fields and real convolution (numpy only)."""

from rfdocs.compute.receptive import Analysis, AxisRF, LayerInfo, analyze, as_plain, clipped_box
from rfdocs.compute.spec import (
    Layer,
    Network,
    SpecError,
    format_compact,
    load_spec,
    parse_compact,
    parse_long,
    parse_spec,
)
from rfdocs.compute.zoo import ZOO_NAMES, zoo_network

__all__ = [
    "Analysis", "AxisRF", "Layer", "LayerInfo", "Network", "SpecError", "ZOO_NAMES",
    "analyze", "as_plain", "clipped_box", "load_spec", "parse_compact", "parse_long",
    "parse_spec", "zoo_network", "format_compact",
]
