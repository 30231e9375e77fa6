"""rf-explorer: every layer drawn as a grid in the page; pointing at a unit lights up its receptive
field in every earlier layer (numbers computed at build time, a short script shows them).

The footprints and the embedded data come from ``rfdocs.compute.footprints`` (exact integer
maps a browser evaluates; bounded work and size).  Non-HTML builders and readers without
JavaScript get the per-layer table (and the growth figure where it exists).

The explorer is a numbered figure (``numref`` works) whose one first child holds everything but
the caption: docutils writers expect a figure's children to be one image-like body, then the
caption.  Builders other than HTML keep the fallback: the growth figure's images in the figure
(a float cannot hold another figure or a long table), the table right after it.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Iterator, Sequence
from importlib.util import find_spec
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

from rfdocs.compute import Analysis, SpecError, analyze, footprints
from rfdocs.compute.footprints import (
    DATA_VERSION,
    DEFAULT_MAX_CELLS,
    MAX_GRIDS,
    AxisMap,
    explorer_data,
    footprint_maps,
    grid_step,
)
from rfdocs.compute.receptive import WorkLimit
from rfdocs.compute.spec import INPUT_NAME
from rfdocs.messages import quote
from rfdocs.sphinxext.directives import (
    DirectiveProblem,
    RfdocsDirective,
    RfTableDirective,
    figure_directive,
)
from rfdocs.sphinxext.sources import SOURCE_OPTIONS
from rfdocs.sphinxext.state import is_html, settings

__all__ = ["DATA_VERSION", "AxisMap", "explorer_data", "footprint_maps", "grid_step",
           "setup_explorer"]

FIGURE_CLASS = "rfdocs-explorer-figure"
WRAP_CLASS = "rfdocs-explorer-wrap"
HTML_CLASS = "rfdocs-explorer-html"
FALLBACK_CLASS = "rfdocs-explorer-fallback"
SCRIPT = "rfdocs-explorer.js"
STYLESHEET = "rfdocs-explorer.css"


def data_json(data: dict[str, Any]) -> str:
    """JSON safe inside a <script> element (no '<', '>' or '&' left to end it early)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def explorer_html(uid: str, data_text: str) -> str:
    """The mount point: data (``data_json``), help text and an empty stage the script fills."""
    help_text = ("Point at a unit in any layer, or click or tab to it to keep it: its receptive "
                 "field lights up in every earlier layer and its numbers appear beside the grids. "
                 "Arrow keys move within a layer, Tab to the next layer.")
    return (
        f'<div class="rfdocs-explorer" id="{html.escape(uid)}">'
        f'<script type="application/json" class="rfx-data">{data_text}</script>'
        f'<p class="rfx-help" id="{html.escape(uid)}-help" hidden>{html.escape(help_text)}</p>'
        '</div>'
    )


# --------------------------------------------------------------------------- the directive


def _small_count(text: str, digits: int) -> bool:
    """``text`` is a whole number of at most ``digits`` ASCII digits (str.isdigit() alone also
    takes '²', which int() refuses, and int() refuses numbers of over 4,300 digits)."""
    return text.isascii() and text.isdigit() and len(text) <= digits


class RfExplorerDirective(RfdocsDirective):
    """rf-explorer: interactive receptive fields of every layer (static table without a browser)."""

    directive_name = "rf-explorer"
    EXPLORER_OPTIONS: ClassVar[dict[str, str]] = {
        "layers": "only these layers (names separated by commas or spaces; the input is always drawn)",
        "max-cells": f"most units drawn per side before a layer is sampled (default {DEFAULT_MAX_CELLS})",
        "select": "the unit shown first: a layer name and optionally its row and column",
    }

    def make_nodes(self) -> list[nodes.Node]:
        allowed = {"caption", "name", "class", *SOURCE_OPTIONS, *self.EXPLORER_OPTIONS}
        self.check_options(allowed)
        classes = self.classes()
        net = self.network()
        if net is None:
            raise DirectiveProblem("rf-explorer needs a network: a body, :model:, :spec: or "
                                   ":network:", "network")
        try:
            analysis = analyze(net)
        except SpecError as err:  # an impossible shape: point at the body's line where there is one
            offset = err.line if self.body_text().strip() else None
            text = str(err).removeprefix(f"line {err.line}: ") if offset else str(err)
            raise DirectiveProblem(f"bad network spec: {text}", "spec", offset) from None
        from rfdocs.figures.base import DimensionError, require_dimensions

        try:  # the page's script draws grids of units; other dimensions are not drawn yet
            require_dimensions("explorer", net, (2,), "a grid of units per layer")
        except DimensionError as err:
            text = str(err).removeprefix("rf-explorer ")  # the warning names the directive
            raise DirectiveProblem(f"{text}; rf-table gives its numbers", "dimension") from None
        shown = self.shown_layers(analysis)
        max_cells = self.max_cells()
        select = self.selected(analysis, shown)
        try:
            data = explorer_data(analysis, shown, max_cells, select)
        except WorkLimit as err:
            raise DirectiveProblem(f"{err}: too many paths of different jumps for one explorer; "
                                   "choose fewer layers with :layers:", "limit") from None
        data_text = data_json(data)
        if len(data_text) > footprints.MAX_DATA_BYTES:
            raise DirectiveProblem(f"the explorer's data would add {len(data_text):,} bytes to "
                                   f"the page, more than {footprints.MAX_DATA_BYTES:,}; choose "
                                   "fewer layers with :layers: or a smaller :max-cells:", "limit")

        serial = self.env.new_serialno("rfdocs-explorer")
        digest = hashlib.sha1(self.env.docname.encode(), usedforsecurity=False).hexdigest()[:8]
        uid = f"rfx-{digest}-{serial}"

        figure = nodes.figure("", classes=["rfdocs", FIGURE_CLASS, *classes])
        wrap = nodes.container("", classes=[WRAP_CLASS])
        self.set_source_info(wrap)
        figure += wrap
        wrap += nodes.raw("", explorer_html(uid, data_text), format="html", classes=[HTML_CLASS])
        fallback = nodes.container("", classes=[FALLBACK_CLASS], ids=[f"{uid}-fallback"])
        fallback += self.growth_figure(analysis, shown, select)
        fallback += self.table(analysis, shown)
        wrap += fallback
        if self.options.get("caption"):
            inline, messages = self.parse_inline(self.options["caption"], lineno=self.lineno)
            caption = nodes.caption(self.options["caption"], "", *inline)
            self.set_source_info(caption)
            figure += caption
            figure += messages
        self.set_source_info(figure)
        self.add_name(figure)
        return [figure]

    def classes(self) -> list[str]:
        if not self.options.get("class"):
            return []
        try:
            return directives.class_option(self.options["class"])
        except ValueError:
            raise DirectiveProblem(f":class: {self.options['class']!r} is not a list of class "
                                   "names", "option") from None

    def shown_layers(self, analysis: Analysis) -> list[str]:
        names = [n.name for n in analysis]
        if self.options.get("layers"):
            wanted = [w for w in self.options["layers"].replace(",", " ").split() if w]
            missing = [w for w in wanted if w not in names]
            if missing:
                raise DirectiveProblem(f":layers: no layer {missing[0]!r}; layers are "
                                       + ", ".join(names[1:]), "option")
            chosen = {INPUT_NAME, *wanted}
            names = [n for n in names if n in chosen]
        if len(names) > MAX_GRIDS:
            raise DirectiveProblem(f"the network has {len(names)} nodes to draw; at most "
                                   f"{MAX_GRIDS} fit one explorer: choose some with :layers:",
                                   "limit")
        return names

    def max_cells(self) -> int:
        raw = self.options.get("max-cells")
        if raw is None:
            return DEFAULT_MAX_CELLS
        text = raw.strip()
        if not _small_count(text, 3) or not 4 <= int(text) <= 128:
            raise DirectiveProblem(f":max-cells: {quote(raw)} is not allowed; give a whole "
                                   "number from 4 to 128", "option")
        return int(text)

    def selected(self, analysis: Analysis, shown: Sequence[str]) -> tuple[str, int, int]:
        """The unit shown first: ``:select:`` or the centre (H//2, W//2) of the last layer drawn."""
        raw = self.options.get("select")
        if raw is None:
            h, w, _ = analysis[shown[-1]].shape
            return shown[-1], h // 2, w // 2
        parts = raw.replace(",", " ").split()
        if not parts or parts[0] not in shown or len(parts) not in (1, 3):
            raise DirectiveProblem(f":select: {quote(raw)} is not allowed; give a drawn layer's "
                                   "name and optionally a row and a column, e.g. conv2 3 4",
                                   "option")
        h, w, _ = analysis[parts[0]].shape
        if len(parts) == 1:
            return parts[0], h // 2, w // 2
        if not (_small_count(parts[1], 13) and _small_count(parts[2], 13)
                and int(parts[1]) < h and int(parts[2]) < w):
            raise DirectiveProblem(f":select: {quote(raw)}: {parts[0]} has rows 0 to {h - 1} and "
                                   f"columns 0 to {w - 1}", "option")
        return parts[0], int(parts[1]), int(parts[2])

    def same_network(self, directive: type[RfdocsDirective], name: str,
                     options: dict[str, str]) -> list[nodes.Node]:
        """Nodes of another rfdocs directive run on this one's network (body or option)."""
        given = {k: v for k, v in self.options.items() if k in SOURCE_OPTIONS}
        other = directive(name, [], {**given, **options}, self.content, self.lineno,
                          self.content_offset, self.block_text, self.state, self.state_machine)
        return other.make_nodes()

    def growth_figure(self, analysis: Analysis, shown: Sequence[str],
                      select: tuple[str, int, int]) -> list[nodes.Node]:
        """The static growth figure of the same network and neuron, where that kind exists
        (an input pixel has no field to grow: then the centre of the last layer drawn)."""
        from rfdocs.figures import KIND_MODULES

        module = KIND_MODULES.get("growth")
        if module is None or find_spec(module) is None:
            return []
        layer, y, x = select
        if layer == INPUT_NAME:
            layer = shown[-1]
            if layer == INPUT_NAME:
                return []
            h, w, _ = analysis[layer].shape
            y, x = h // 2, w // 2
        return self.same_network(figure_directive("growth"), "rf-growth",
                                 {"layer": layer, "neuron": f"{y},{x}"})

    def table(self, analysis: Analysis, shown: Sequence[str]) -> list[nodes.Node]:
        """The rf-table of the layers drawn."""
        every = len(shown) == len(analysis.nodes)
        return self.same_network(RfTableDirective, "rf-table",
                                 {} if every else {"layers": " ".join(shown)})


# --------------------------------------------------------------------------- builders


def _explorers(doctree: nodes.Node) -> Iterator[nodes.figure]:
    for node in doctree.findall(nodes.figure):
        if FIGURE_CLASS in node.get("classes", []):
            yield node


def static_figure(figure: nodes.figure) -> list[nodes.Element]:
    """The explorer's figure for a builder without the script: the growth figure's images
    with the explorer's caption and name, then the table.  Without images the table stays
    in the figure, so the caption and number have something to stand for."""
    wrap = figure[0]
    assert isinstance(wrap, nodes.container)
    for raw in list(wrap.findall(nodes.raw)):
        if HTML_CLASS in raw.get("classes", []):
            raw.parent.remove(raw)
    images: list[nodes.Element] = []
    rest: list[nodes.Element] = []
    for fallback in wrap.findall(nodes.container):
        if FALLBACK_CLASS not in fallback.get("classes", []):
            continue
        for child in fallback.children:
            if isinstance(child, nodes.figure):  # no figure inside a figure (LaTeX floats)
                images += [c for c in child.children
                           if isinstance(c, nodes.Element) and not isinstance(c, nodes.caption)]
            elif isinstance(child, nodes.Element):
                rest.append(child)
        break
    if not images:
        return [figure]
    body = nodes.container("", *images, classes=[FALLBACK_CLASS])
    body.source, body.line = wrap.source, wrap.line
    figure.replace(wrap, body)
    return [figure, *rest]


class KeepExplorerForHtml(SphinxPostTransform):
    """Builders other than HTML (EPUB, LaTeX, text, ...) keep only the static fallback."""

    default_priority = 5

    def run(self, **kwargs: Any) -> None:
        if settings(self.env).html:  # SphinxTransform.app is deprecated in Sphinx 9
            return
        for figure in list(_explorers(self.document)):
            figure.replace_self(static_figure(figure))


def add_assets(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
               doctree: nodes.document | None) -> None:
    """html-page-context: the script and stylesheet, only on pages with an explorer."""
    if doctree is None or not is_html(app.builder):
        return
    if next(_explorers(doctree), None) is not None:
        app.add_css_file(STYLESHEET)
        app.add_js_file(SCRIPT, defer="defer")


def setup_explorer(app: Sphinx) -> None:
    app.add_directive("rf-explorer", RfExplorerDirective)
    app.add_post_transform(KeepExplorerForHtml)
    app.connect("html-page-context", add_assets)
