"""rf-explorer: every layer drawn in the page, as a grid of units (images) or a strip (sequences);
pointing at a unit lights up its receptive field in every earlier layer (numbers computed at build
time, a short script shows them).  A volume's explorer gives its numbers and the static fallback
(a sentence with the chosen unit's field, the growth slices, the table) without the script.

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
from collections.abc import Iterator, Sequence
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

from rfdocs.compute.footprints import (
    DATA_VERSION,
    DEFAULT_MAX_CELLS,
    AxisMap,
    explorer_data,
    footprint_maps,
    grid_step,
)
from rfdocs.compute.spec import INPUT_NAME, SpecError
from rfdocs.explorer import (
    DEFAULT_MAX_CELLS_1D,
    DRAWN,
    FALLBACK_CLASS,
    FIGURE_CLASS,
    HTML_CLASS,
    NOTE_CLASS,
    SCRIPT,
    STYLESHEET,
    WRAP_CLASS,
    ExplorerProblem,
    data_json,
    data_text,
    explorer_html,
    max_cells,
    selected,
    shown_layers,
    volume_sentence,
)
from rfdocs.sphinxext.directives import (
    DirectiveProblem,
    RfdocsDirective,
    RfTableDirective,
    figure_directive,
)
from rfdocs.sphinxext.sources import SOURCE_OPTIONS
from rfdocs.sphinxext.state import is_html, settings

if TYPE_CHECKING:  # the receptive-field code loads with the first explorer, not the extension
    from rfdocs.compute.receptive import Analysis

__all__ = ["DATA_VERSION", "AxisMap", "data_json", "explorer_data", "explorer_html",
           "footprint_maps", "grid_step", "setup_explorer", "volume_sentence"]

# --------------------------------------------------------------------------- the directive


class RfExplorerDirective(RfdocsDirective):
    """rf-explorer: interactive receptive fields of every layer (static table without a browser)."""

    directive_name = "rf-explorer"
    EXPLORER_OPTIONS: ClassVar[dict[str, str]] = {
        "layers": "only these layers (names separated by commas or spaces; the input is always drawn)",
        "max-cells": ("most units drawn per side before a layer is sampled (default "
                      f"{DEFAULT_MAX_CELLS}; {DEFAULT_MAX_CELLS_1D} along a sequence)"),
        "select": ("the unit shown first: a layer name and optionally its position (a step; a "
                   "row and a column; a depth, a row and a column)"),
    }

    def make_nodes(self) -> list[nodes.Node]:
        allowed = {"caption", "name", "class", *SOURCE_OPTIONS, *self.EXPLORER_OPTIONS}
        self.check_options(allowed)
        classes = self.classes()
        net = self.network()
        if net is None:
            raise DirectiveProblem("rf-explorer needs a network: a body, :model:, :spec: or "
                                   ":network:", "network")
        from rfdocs.compute.receptive import analyze

        try:
            analysis = analyze(net)
        except SpecError as err:  # an impossible shape: point at the body's line where there is one
            offset = err.line if self.body_text().strip() else None
            text = str(err).removeprefix(f"line {err.line}: ") if offset else str(err)
            raise DirectiveProblem(f"bad network spec: {text}", "spec", offset) from None
        ndim = analysis.input.ndim
        try:
            shown = shown_layers(analysis, self.options.get("layers"))
            select = selected(analysis, shown, self.options.get("select"))
            data = (data_text(analysis, shown, max_cells(self.options.get("max-cells"), ndim),
                              select) if ndim in DRAWN else "")
        except ExplorerProblem as err:
            raise DirectiveProblem(str(err), err.subtype) from None

        serial = self.env.new_serialno("rfdocs-explorer")
        digest = hashlib.sha1(self.env.docname.encode(), usedforsecurity=False).hexdigest()[:8]
        uid = f"rfx-{digest}-{serial}"

        figure = nodes.figure("", classes=["rfdocs", FIGURE_CLASS, *classes])
        wrap = nodes.container("", classes=[WRAP_CLASS])
        self.set_source_info(wrap)
        figure += wrap
        if ndim in DRAWN:
            wrap += nodes.raw("", explorer_html(uid, data, ndim), format="html",
                              classes=[HTML_CLASS])
        fallback = nodes.container("", classes=[FALLBACK_CLASS], ids=[f"{uid}-fallback"])
        if ndim not in DRAWN:  # a volume: its numbers and the growth slices, said so
            fallback += nodes.paragraph("", volume_sentence(analysis, shown, select),
                                        classes=[NOTE_CLASS])
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

    def same_network(self, directive: type[RfdocsDirective], name: str,
                     options: dict[str, str]) -> list[nodes.Node]:
        """Nodes of another rfdocs directive run on this one's network (body or option)."""
        given = {k: v for k, v in self.options.items() if k in SOURCE_OPTIONS}
        other = directive(name, [], {**given, **options}, self.content, self.lineno,
                          self.content_offset, self.block_text, self.state, self.state_machine)
        return other.make_nodes()

    def growth_figure(self, analysis: Analysis, shown: Sequence[str],
                      select: tuple[Any, ...]) -> list[nodes.Node]:
        """The static growth figure of the same network and neuron, where that kind exists
        (an input pixel has no field to grow: then the centre of the last layer drawn)."""
        from rfdocs.figures import KIND_MODULES

        module = KIND_MODULES.get("growth")
        if module is None or find_spec(module) is None:
            return []
        layer, coords = select[0], select[1:]
        if layer == INPUT_NAME:
            layer = shown[-1]
            if layer == INPUT_NAME:
                return []
            coords = tuple(n // 2 for n in analysis[layer].spatial)
        return self.same_network(figure_directive("growth"), "rf-growth",
                                 {"layer": layer, "neuron": ",".join(map(str, coords))})

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
    """html-page-context: the script and stylesheet, only on pages with an explorer it draws."""
    if doctree is None or not is_html(app.builder):
        return
    drawn = any(HTML_CLASS in raw.get("classes", []) for figure in _explorers(doctree)
                for raw in figure.findall(nodes.raw))  # a volume's explorer has no script
    if drawn:
        app.add_css_file(STYLESHEET)
        app.add_js_file(SCRIPT, defer="defer")


def setup_explorer(app: Sphinx) -> None:
    app.add_directive("rf-explorer", RfExplorerDirective)
    app.add_post_transform(KeepExplorerForHtml)
    app.connect("html-page-context", add_assets)
