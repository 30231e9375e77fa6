"""The compute core: network specs, shapes, receptive fields and real convolution (numpy only).

Names load with their module on first use, so a build that only reads its saved environment
(a network spec in it) does not import the receptive-field code.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rfdocs.compute.receptive import (
        Analysis,
        AxisRF,
        LayerInfo,
        analyze,
        as_plain,
        clipped_box,
    )
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

_LAZY = {
    **dict.fromkeys(("Analysis", "AxisRF", "LayerInfo", "analyze", "as_plain", "clipped_box"),
                    "rfdocs.compute.receptive"),
    **dict.fromkeys(("Layer", "Network", "SpecError", "format_compact", "load_spec",
                     "parse_compact", "parse_long", "parse_spec"), "rfdocs.compute.spec"),
    **dict.fromkeys(("ZOO_NAMES", "zoo_network"), "rfdocs.compute.zoo"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value
    raise AttributeError(f"module 'rfdocs.compute' has no attribute {name!r}")


__all__ = [
    "Analysis", "AxisRF", "Layer", "LayerInfo", "Network", "SpecError", "ZOO_NAMES",
    "analyze", "as_plain", "clipped_box", "load_spec", "parse_compact", "parse_long",
    "parse_spec", "zoo_network", "format_compact",
]
