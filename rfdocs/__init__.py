"""rfdocs: computed convolution and receptive-field figures for Sphinx documentation.

The Python API (``rfdocs.api``): ``network`` (a spec text or file, a zoo name, an ONNX model),
``from_torch`` (a live PyTorch module), ``analyze`` (per-layer receptive fields), ``figure`` (a
computed figure that notebooks show and ``save`` writes), ``rf_value`` (the rf role's numbers)
and ``RfdocsError``, the one exception they raise.  Everything heavy (numpy, matplotlib, onnx,
torch, Sphinx) is imported on first use: ``import rfdocs`` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from sphinx.application import Sphinx

    from rfdocs.api import FigureResult, analyze, figure, network, rf_value
    from rfdocs.compute.spec import Network

from rfdocs.errors import RfdocsError

#: Names of the Python API, imported from ``rfdocs.api`` on first use.
_API = ("FigureResult", "analyze", "figure", "network", "rf_value")


def setup(app: Sphinx) -> dict[str, Any]:
    """Sphinx entry point (``extensions = ["rfdocs"]``); imports the extension lazily."""
    from rfdocs.sphinxext import setup as setup_extension

    return setup_extension(app)


def load_network(
    source: str | Path,
    *,
    base_dir: str | Path | None = None,
    max_bytes: int | None = None,
    until: str | None = None,
    input_shape: Sequence[int] | None = None,
) -> Network:
    """A network from a spec file (YAML, JSON or compact), a zoo model name or an ONNX file
    (see ``rfdocs.importers.load_network``)."""
    from rfdocs.importers import load_network as load

    return load(source, base_dir=base_dir, max_bytes=max_bytes, until=until,
                input_shape=input_shape)


def from_torch(module: Any, input_shape: Sequence[int], *, until: str | None = None) -> Network:
    """The network of a PyTorch module on inputs of ``input_shape`` ((C, H, W) or (N, C, H, W)),
    with its learned weights (see ``rfdocs.importers.torch.from_torch``); needs torch."""
    from rfdocs.importers.torch import from_torch as convert

    return convert(module, input_shape, until=until)


def __getattr__(name: str) -> Any:
    if name in _API:
        from rfdocs import api

        return getattr(api, name)
    raise AttributeError(f"module 'rfdocs' has no attribute {name!r}")


__all__ = ["FigureResult", "RfdocsError", "__version__", "analyze", "figure", "from_torch",
           "load_network", "network", "rf_value", "setup"]
