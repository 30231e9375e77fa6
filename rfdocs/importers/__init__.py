"""Importers: a spec file, a zoo model name or an ONNX file becomes one ``Network``.

``load_network`` picks the importer from the source (``.onnx`` files go to
``rfdocs.importers.onnx``, which needs the optional ``onnx`` package); every failure is a
``SpecError`` (``ModelError`` for a model file) with one message, never an ``ImportError``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rfdocs.compute.spec import INPUT_NAME, Network, SpecError, load_spec, validate_graph
from rfdocs.messages import quote

#: The largest model file read by default (bytes, external weight files included).
DEFAULT_MAX_MODEL_BYTES = 256 * 2**20
#: Suffixes read as ONNX models.
ONNX_SUFFIXES = (".onnx",)
ONNX_INSTALL_HINT = 'pip install "rfdocs[onnx]"'


class ModelError(SpecError):
    """A model file that cannot become a network: says which node, its operator type and what
    is supported, or what is wrong with the file."""


def is_onnx_source(source: str | Path) -> bool:
    """Whether ``source`` names an ONNX file (by its suffix)."""
    return str(source).lower().endswith(ONNX_SUFFIXES)


def load_network(
    source: str | Path,
    *,
    base_dir: str | Path | None = None,
    max_bytes: int | None = None,
    until: str | None = None,
    input_shape: Sequence[int] | None = None,
    external_files: list[Path] | None = None,
) -> Network:
    """A network from a spec file (YAML, JSON or compact), a zoo model name or an ONNX file.

    ``until``: the last layer to keep (for ONNX also an ONNX node or output name); the layers it
    does not depend on are dropped. ``input_shape``: the input's spatial sizes ((T,), (H, W) or
    (D, H, W)), optionally followed by its channels; needed for ONNX models whose sizes are not
    fixed. ``base_dir`` (ONNX): the folder external
    weight files must lie in (default: the model's folder); ``max_bytes``: the size limit of the
    model file and its external data (default DEFAULT_MAX_MODEL_BYTES); ``external_files`` (ONNX):
    a list the external weight files read are appended to.
    """
    if is_onnx_source(source):
        from rfdocs.importers.onnx import load_onnx

        return load_onnx(source, base_dir=base_dir, max_bytes=max_bytes, until=until,
                         input_shape=input_shape, external_files=external_files)
    net = load_spec(source)
    if input_shape is not None:
        net = net.with_input(_full_shape(input_shape, net))
    if until is not None:
        net = truncate(net, until)
    return net


def _full_shape(shape: Sequence[int], net: Network) -> tuple[int, ...]:
    """``shape`` as the network's whole input shape: its spatial sizes, then its channels
    (added from the network when left out)."""
    dims = tuple(shape)
    ndim = net.ndim
    if len(dims) == ndim:
        return (*dims, net.input[-1])
    if len(dims) != ndim + 1:
        axes = {1: "length", 2: "height, width", 3: "depth, height, width"}[ndim]
        raise SpecError(f"must be ({axes}) or ({axes}, channels) for this {ndim}-D network, got "
                        f"{quote(dims)}", field="input_shape")
    return dims


def truncate(net: Network, until: str) -> Network:
    """The part of ``net`` that layer ``until`` depends on, ending with it (params kept)."""
    names = [layer.name for layer in net.layers]
    if until not in names:
        close = difflib.get_close_matches(until, names, n=3)
        hint = f"; did you mean {', '.join(map(quote, close))}?" if close else ""
        raise SpecError(f"{quote(until)} is not a layer of the network{hint}", field="until")
    needed = {until}
    for layer in reversed(net.layers):
        if layer.name in needed:
            needed.update(layer.inputs)
    needed.discard(INPUT_NAME)
    end = names.index(until)
    layers = tuple(layer for layer in net.layers[:end + 1] if layer.name in needed)
    params = {name: value for name, value in net.params.items() if name in needed}
    return validate_graph(replace(net, layers=layers, params=params))


def spec_text(net: Network, *, compact: bool = False, source: str | None = None) -> str:
    """The spec of ``net`` as text: the canonical long form (YAML, one layer a line, the fields
    its op takes) or the compact form. Learned weights (``params``) are not part of a spec."""
    from rfdocs.compute.spec import format_compact

    head = [f"# {source}, imported by rfdocs; learned weights are not part of a spec"] \
        if source else []
    if compact:
        return "\n".join([*head, format_compact(net)])
    import yaml

    lines = [*head, f"input: [{', '.join(map(str, net.input))}]", "layers:"]
    for layer in net.layers:
        text = yaml.safe_dump(layer.to_dict(), default_flow_style=True, width=10**9,
                              sort_keys=False).strip()
        lines.append(f"  - {text}")
    return "\n".join(lines) + "\n"


__all__ = ["DEFAULT_MAX_MODEL_BYTES", "ModelError", "is_onnx_source", "load_network", "spec_text",
           "truncate"]
