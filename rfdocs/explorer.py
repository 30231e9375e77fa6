"""rf-explorer without Sphinx: the embedded data, its mount point and the choices an explorer takes
(layers, units per side, the unit shown first), shared by the directive and the Python API.

A standalone explorer (``standalone_html``) is one self-contained piece of HTML: the stylesheet,
the data, the static fallback and the script inline, no external files (a notebook's output, or a
file opened from disk).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

from rfdocs.compute import footprints
from rfdocs.compute.footprints import DEFAULT_MAX_CELLS, MAX_GRIDS, explorer_data
from rfdocs.compute.spec import INPUT_NAME

if TYPE_CHECKING:  # the receptive-field code loads with the first explorer, not the module
    from rfdocs.compute.receptive import Analysis
from rfdocs.messages import quote


class ExplorerProblem(ValueError):
    """An explorer choice that cannot be drawn; ``subtype`` for the Sphinx warning."""

    def __init__(self, message: str, subtype: str) -> None:
        self.subtype = subtype
        super().__init__(message)


FIGURE_CLASS = "rfdocs-explorer-figure"
WRAP_CLASS = "rfdocs-explorer-wrap"
HTML_CLASS = "rfdocs-explorer-html"
FALLBACK_CLASS = "rfdocs-explorer-fallback"
NOTE_CLASS = "rfdocs-explorer-note"
SCRIPT = "rfdocs-explorer.js"
#: Spatial dimensions the page's script draws: a strip of units per layer, or a grid.
DRAWN = (1, 2)
#: Units drawn along a sequence before a strip is sampled (a strip has room for more).
DEFAULT_MAX_CELLS_1D = 64
AXIS_WORDS = {1: ("steps",), 2: ("rows", "columns"), 3: ("depths", "rows", "columns")}
UNIT_WORDS = {1: "a step", 2: "a row and a column", 3: "a depth, a row and a column"}
UNIT_EXAMPLES = {1: "d4 31", 2: "conv2 3 4", 3: "conv2 1 3 4"}
STYLESHEET = "rfdocs-explorer.css"


def data_json(data: dict[str, Any]) -> str:
    """JSON safe inside a <script> element (no '<', '>' or '&' left to end it early)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def explorer_html(uid: str, data_text: str, ndim: int = 2) -> str:
    """The mount point: data (``data_json``), help text and an empty stage the script fills."""
    if ndim == 1:
        help_text = ("Point at a unit of any layer, or click or tab to it to keep it: the units "
                     "it depends on light up in every earlier layer and its numbers appear "
                     "beside the strips. Arrow keys move along a layer, Tab to the next layer.")
    else:
        help_text = ("Point at a unit in any layer, or click or tab to it to keep it: its "
                     "receptive field lights up in every earlier layer and its numbers appear "
                     "beside the grids. Arrow keys move within a layer, Tab to the next layer.")
    return (
        f'<div class="rfdocs-explorer" id="{html.escape(uid)}">'
        f'<script type="application/json" class="rfx-data">{data_text}</script>'
        f'<p class="rfx-help" id="{html.escape(uid)}-help" hidden>{html.escape(help_text)}</p>'
        '</div>'
    )


def _times(values: Sequence[Any]) -> str:
    from rfdocs.compute.receptive import as_plain

    return "\u00d7".join(str(as_plain(v)) for v in values)


def volume_sentence(analysis: Analysis, shown: Sequence[str], select: tuple[Any, ...]) -> str:
    """What a volume's explorer shows instead of the interactive view, with the chosen unit's
    field from the analysis."""
    layer, coords = select[0], tuple(select[1:])
    if layer == INPUT_NAME and shown[-1] != INPUT_NAME:
        layer = shown[-1]
        coords = tuple(n // 2 for n in analysis[layer].spatial)
    text = ("The interactive explorer draws sequences and images; for this volume it gives the "
            "numbers: each layer's shape, receptive field, jump and start per axis (depth, "
            "rows, columns)")
    if layer == INPUT_NAME:
        return text + "."
    info = analysis[layer]
    box = info.box(*coords)
    from rfdocs.compute.receptive import as_plain

    where = ", ".join(f"{as_plain(lo)}\u2013{as_plain(hi)}" for lo, hi in box)
    return (f"{text}. Unit ({', '.join(map(str, coords))}) of {layer} sees "
            f"{_times(info.rf)} input units (depths, rows, columns {where}) of the "
            f"{_times(analysis.input.spatial)} input.")



def _small_count(text: str, digits: int) -> bool:
    """``text`` is a whole number of at most ``digits`` ASCII digits (str.isdigit() alone also
    takes '²', which int() refuses, and int() refuses numbers of over 4,300 digits)."""
    return text.isascii() and text.isdigit() and len(text) <= digits




def shown_layers(analysis: Analysis, layers: str | Sequence[str] | None) -> list[str]:
    """The nodes drawn: the input and ``layers`` (names separated by commas or spaces), or all."""
    names = [n.name for n in analysis]
    if layers:
        wanted = ([w for w in layers.replace(",", " ").split() if w] if isinstance(layers, str)
                  else [str(w) for w in layers])
        missing = [w for w in wanted if w not in names]
        if missing:
            raise ExplorerProblem(f":layers: no layer {missing[0]!r}; layers are "
                                  + ", ".join(names[1:]), "option")
        chosen = {INPUT_NAME, *wanted}
        names = [n for n in names if n in chosen]
    if len(names) > MAX_GRIDS:
        raise ExplorerProblem(f"the network has {len(names)} nodes to draw; at most "
                              f"{MAX_GRIDS} fit one explorer: choose some with :layers:", "limit")
    return names


def max_cells(raw: str | int | None, ndim: int) -> int:
    """Units drawn per side before a layer is sampled: ``raw`` (4 to 128) or the default."""
    if raw is None:
        return DEFAULT_MAX_CELLS_1D if ndim == 1 else DEFAULT_MAX_CELLS
    text = str(raw).strip() if not isinstance(raw, bool) else ""
    if not _small_count(text, 3) or not 4 <= int(text) <= 128:
        raise ExplorerProblem(f":max-cells: {quote(raw)} is not allowed; give a whole "
                              "number from 4 to 128", "option")
    return int(text)


def selected(analysis: Analysis, shown: Sequence[str],
             raw: str | Sequence[Any] | None) -> tuple[Any, ...]:
    """The unit shown first: ``raw`` (a layer name, optionally its position) or the centre of
    the last layer drawn, as (layer, t), (layer, y, x) or (layer, z, y, x)."""
    ndim = analysis.input.ndim
    if raw is None:
        return (shown[-1], *(n // 2 for n in analysis[shown[-1]].spatial))
    parts = (raw.replace(",", " ").split() if isinstance(raw, str)
             else [str(p) for p in raw])
    if not parts or parts[0] not in shown or len(parts) not in (1, ndim + 1):
        raise ExplorerProblem(f":select: {quote(raw)} is not allowed; give a drawn layer's "
                              f"name and optionally {UNIT_WORDS[ndim]}, e.g. "
                              f"{UNIT_EXAMPLES[ndim]}", "option")
    size = analysis[parts[0]].spatial
    if len(parts) == 1:
        return (parts[0], *(n // 2 for n in size))
    coords = parts[1:]
    if not all(_small_count(c, 13) and int(c) < n for c, n in zip(coords, size, strict=True)):
        ranges = ", ".join(f"{word} 0 to {n - 1}"
                           for word, n in zip(AXIS_WORDS[ndim], size, strict=True))
        raise ExplorerProblem(f":select: {quote(raw)}: {parts[0]} has {ranges}", "option")
    return (parts[0], *(int(c) for c in coords))


def data_text(analysis: Analysis, shown: Sequence[str], cells: int,
              select: tuple[Any, ...]) -> str:
    """The embedded data (``data_json``) of an explorer the script draws, within the limits."""
    from rfdocs.compute.receptive import WorkLimit

    try:
        data = explorer_data(analysis, shown, cells, select)
    except WorkLimit as err:
        raise ExplorerProblem(f"{err}: too many paths of different jumps for one explorer; "
                              "choose fewer layers with :layers:", "limit") from None
    text = data_json(data)
    if len(text) > footprints.MAX_DATA_BYTES:
        raise ExplorerProblem(f"the explorer's data would add {len(text):,} bytes to the page, "
                              f"more than {footprints.MAX_DATA_BYTES:,}; choose fewer layers "
                              "with :layers: or a smaller :max-cells:", "limit")
    return text


def static_asset(name: str) -> str:
    """The text of one of rfdocs' static files (the explorer's script or stylesheet)."""
    return resources.files("rfdocs").joinpath("static", name).read_text(encoding="utf-8")


def standalone_html(uid: str, data: str, ndim: int, fallback_html: str, caption: str = "") -> str:
    """A self-contained explorer: stylesheet, mount point, static fallback (shown until the
    script starts, and where scripts do not run) and the script, all inline."""
    script = static_asset(SCRIPT).replace("</", "<\\/")  # nothing in it may end the element
    style = static_asset(STYLESHEET).replace("</", "<\\/")
    mount = explorer_html(uid, data, ndim) if ndim in DRAWN else ""
    caption_html = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (f'<figure class="rfdocs {FIGURE_CLASS}"><style>{style}</style>'
            f'<div class="{WRAP_CLASS}">{mount}'
            f'<div class="{FALLBACK_CLASS}" id="{html.escape(uid)}-fallback">{fallback_html}</div>'
            f"</div>{caption_html}"
            + (f"<script>{script}</script>" if ndim in DRAWN else "") + "</figure>")
