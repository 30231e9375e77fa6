"""The figure directives (rf-block, rf-growth, rf-featuremaps, rf-steps, rf-erf), rf-table and
rf-network: thin adapters from page text to the compute and figure layers."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from rfdocs.compute.spec import Network, SpecError
from rfdocs.directive_options import (
    ANIMATED_KINDS,
    COMMON_OPTIONS,
    NETWORK_OPTIONS,
    NETWORK_SOURCE_OPTIONS,
    PATH_OPTIONS,
    TABLE_OPTIONS,
)
from rfdocs.messages import quote, shorten
from rfdocs.sphinxext.cache import FigureCache, code_fingerprint, figure_key, file_digest
from rfdocs.sphinxext.errors import FigureProblem, report
from rfdocs.sphinxext.render import FigureRequest, Limits, prepare
from rfdocs.sphinxext.sources import (
    NetworkSource,
    SourceError,
    page_models,
    page_networks,
    resolve_network,
    safe_path,
)
from rfdocs.sphinxext.state import record, settings


class AnyOption(dict[str, Any]):
    """An option_spec that takes every option as text: rfdocs validates them itself, so a
    misspelt option gets a message listing what is allowed (and figure modules load lazily)."""

    def __missing__(self, key: str) -> Any:
        return directives.unchanged


DirectiveProblem = FigureProblem  # the name the directives use


class RfdocsDirective(SphinxDirective):
    """Shared plumbing: network resolution and error reporting with the page's file and line."""

    has_content = True
    required_arguments = 0
    optional_arguments = 0
    final_argument_whitespace = True
    option_spec: ClassVar[dict[str, Any]] = AnyOption({name: directives.unchanged
                                                       for name in COMMON_OPTIONS})
    directive_name: ClassVar[str] = ""

    def body_text(self) -> str:
        return "\n".join(self.content)

    def body_line(self, offset: int | None) -> int:
        """Document line of line ``offset`` (1-based) of the directive body."""
        if offset is None or not self.content:
            return int(self.lineno)
        if self.content_offset < self.lineno:
            # MyST gives the body's offset from the directive's first line, docutils the
            # body's 0-based line in the document.
            return int(self.lineno + self.content_offset) + offset
        return int(self.content_offset) + offset

    def fail(self, problem: DirectiveProblem) -> list[nodes.Node]:
        line = self.body_line(problem.line_offset)
        location = f"{self.get_source_info()[0]}:{line}"
        return report(settings(self.env).config.on_error,
                      f"{self.directive_name}: {problem}", location, problem.subtype, line)

    def check_options(self, allowed: set[str]) -> None:
        unknown = sorted(set(self.options) - allowed)
        if unknown:
            raise DirectiveProblem(f"unknown option :{unknown[0]}:; allowed: "
                                   + ", ".join(f":{o}:" for o in sorted(allowed)), "option")

    def network(self) -> Network | None:
        source = self.network_source()
        return None if source is None else source.network

    def network_source(self) -> NetworkSource | None:
        """The network the directive names, with the model file it came from (if any)."""
        config = settings(self.env).config
        try:
            return resolve_network(self.env, self.body_text(), self.options, config.max_layers,
                                   config.max_model_bytes)
        except SourceError as err:
            raise DirectiveProblem(str(err), err.subtype, err.line_offset) from None

    def analysed(self, net: Network) -> None:
        from rfdocs.compute.receptive import analyze

        try:
            analyze(net)
        except SpecError as err:
            raise self.spec_problem(err) from None

    def spec_problem(self, err: SpecError) -> DirectiveProblem:
        """A network that parsed but cannot be built; at the layer's line when it is in the body
        (from a file or the zoo the line means nothing in the page)."""
        if err.line is not None and self.body_text().strip():
            text = str(err).removeprefix(f"line {err.line}: ")
            return DirectiveProblem(f"bad network spec in the directive body: {text}", "spec",
                                    err.line)
        return DirectiveProblem(f"bad network spec: {err}", "spec")

    def run(self) -> list[nodes.Node]:
        record(self.env).fingerprint = code_fingerprint()
        try:
            return self.make_nodes()
        except DirectiveProblem as problem:
            return self.fail(problem)

    def make_nodes(self) -> list[nodes.Node]:
        raise NotImplementedError


def _common(directive: RfdocsDirective) -> tuple[str | None, str | None, str | None, list[str]]:
    """Validated :align:, :width:, :alt: and :class: values."""
    opts = directive.options
    align = opts.get("align")
    if align is not None and align.strip() not in ("left", "center", "right"):
        raise DirectiveProblem(f":align: {quote(align)} is not allowed; use left, center or right",
                               "option")
    width = opts.get("width")
    if width is not None:
        try:
            width = directives.length_or_percentage_or_unitless(width.strip())
        except ValueError:
            raise DirectiveProblem(f":width: {quote(width)} is not a length or percentage "
                                   "(e.g. 80% or 400px)", "option") from None
    classes: list[str] = []
    if opts.get("class"):
        try:
            classes = directives.class_option(opts["class"])
        except ValueError:
            raise DirectiveProblem(f":class: {quote(opts['class'])} is not a list of class names",
                                   "option") from None
    return (align.strip() if align else None), width, opts.get("alt"), classes


class RfFigureDirective(RfdocsDirective):
    """A computed figure of one kind (``kind_name``)."""

    kind_name: ClassVar[str] = ""
    animates: ClassVar[bool] = False  # HTML shows an animated GIF unless :static: is given
    EXTRA_OPTIONS: ClassVar[dict[str, str]] = {}

    def make_nodes(self) -> list[nodes.Node]:
        """Key the figure on the page's own text (options as written, the parsed network, file
        digests, settings) and name it in the doctree whichever builder reads the page: each
        builder gets its own format when it writes. Only a cache miss imports the figure kind
        and validates now (the warning belongs to this line); drawing comes after reading."""
        align, width, alt, classes = _common(self)
        source = self.network_source()
        net = None if source is None else source.network
        model = None if source is None or source.model is None else source.model.as_dict()
        given = {k: v.strip() for k, v in self.options.items()
                 if k not in COMMON_OPTIONS and k not in self.EXTRA_OPTIONS}
        build = settings(self.env)
        key_parts: dict[str, Any] = {}
        paths: dict[str, Path] = {}
        for name in PATH_OPTIONS:
            if given.get(name, "") not in ("", "photo"):
                try:
                    paths[name] = safe_path(self.env, given[name], name)
                except SourceError as err:
                    raise DirectiveProblem(str(err), err.subtype) from None
                key_parts[f"{name}_sha256"] = file_digest(paths[name])
        if model is not None:  # its learned numbers are not in the spec: the file's digest is
            key_parts["model_sha256"] = model["sha256"]
        key_parts.update(options=given, network=None if net is None else net.to_dict(),
                         settings={**build.config.pixel_settings(), "max_work": build.config.max_work,
                                   "max_memory": build.config.max_memory})
        animates = self.animates and "static" not in self.options
        limits = Limits(build.config.png_dpi, build.config.max_pixels, build.config.max_work,
                        build.config.max_memory)
        request = FigureRequest(
            self.kind_name, given, key_parts["network"], {k: str(v) for k, v in paths.items()},
            self.allowed(), limits, self.directive_name, self.get_location(),
            figure_key(self.kind_name, {**key_parts, "animated": False}),
            figure_key(self.kind_name, {**key_parts, "animated": True}) if animates else None,
            self.env.new_serialno("rfdocs-figure"), model)
        doc = record(self.env)
        doc.figures[request.id] = request
        doc.keys.update(request.keys)
        job = request.job(build.html, build.image_format, build.themes, build.config.cache_dir)
        if build.config.execute != "never":
            if FigureCache(build.config.cache_dir).complete(job.key, job.themes, (job.fmt,)) is None:
                self.prepared(net, given, paths, limits)
                if build.draws:
                    doc.pending.append(request.id)
            else:
                doc.cached += 1
                build.outcomes[job.key] = None  # checked (and marked as used): not again at write
        return [self.figure_node(request.id, job.key, align, width, alt, classes)]

    def allowed(self) -> tuple[str, ...]:
        """Options this directive takes besides its kind's own."""
        return (*COMMON_OPTIONS, *self.EXTRA_OPTIONS)

    def prepared(self, net: Network | None, given: dict[str, str], paths: Mapping[str, Path],
                 limits: Limits) -> tuple[Any, dict[str, Any]]:
        """The kind and resolved options, or a located problem (spec errors at their line)."""
        try:
            return prepare(self.kind_name, given, net, paths, self.allowed(), limits)
        except SpecError as err:
            raise self.spec_problem(err) from None

    def figure_node(self, request_id: str, key: str, align: str | None, width: str | None,
                    alt: str | None, classes: list[str]) -> nodes.Node:
        """A standard figure: one image per theme the pages show (the builder that writes the
        page picks its file and format, and fills in the computed alt text), then the caption."""
        build = settings(self.env)
        rel = os.path.relpath(build.config.cache_dir, self.env.srcdir).replace(os.sep, "/")
        figure = nodes.figure("", classes=["rfdocs", f"rfdocs-{self.kind_name}", *classes])
        if align:
            figure["align"] = align
        # docutils figures hold one image (then caption, legend): the light and dark images
        # go in one container so writers see a single first child.
        images = nodes.container("", classes=["rfdocs-images"])
        self.set_source_info(images)
        figure += images
        themes = build.page_themes
        # Themes with a light/dark switch of their own (furo, pydata-sphinx-theme,
        # sphinx-book-theme) show only-light/only-dark images by it and leave them unfiltered.
        theme_classes = len(themes) > 1 and build.config.dark_mode == "auto"
        for theme in themes:
            suffix = "" if theme == "light" else "-" + theme
            image = nodes.image(uri=f"/{rel}/{key}{suffix}.*", alt=alt or "",
                                classes=[f"rfdocs-{theme}", *([f"only-{theme}"] if theme_classes else [])],
                                rfdocs_request=request_id, rfdocs_theme=theme,
                                rfdocs_auto_alt=alt is None)
            if width:
                image["width"] = width
            self.set_source_info(image)
            images += image
        caption_text = self.options.get("caption")
        if caption_text:
            inline, messages = self.parse_inline(caption_text, lineno=self.lineno)
            caption = nodes.caption(caption_text, "", *inline)
            self.set_source_info(caption)
            figure += caption
            figure += messages
        self.set_source_info(figure)
        self.add_name(figure)
        return figure


class RfTableDirective(RfdocsDirective):
    """rf-table: per-layer shape, receptive field, jump, start and padding as a real table."""

    directive_name = "rf-table"
    TABLE_OPTIONS = TABLE_OPTIONS

    def make_nodes(self) -> list[nodes.Node]:
        from rfdocs.figures.table import layer_table

        self.check_options(set(COMMON_OPTIONS) - {"alt", "width"} | set(self.TABLE_OPTIONS))
        align, _, _, classes = _common(self)
        net = self.network()
        if net is None:
            raise DirectiveProblem("rf-table needs a network: a body, :model:, :spec: or :network:",
                                   "network")
        from rfdocs.compute.receptive import analyze

        try:
            analysis = analyze(net)
        except SpecError as err:
            raise self.spec_problem(err) from None
        wanted = None
        if self.options.get("layers"):
            wanted = [w for w in self.options["layers"].replace(",", " ").split() if w]
            names = {n.name for n in analysis}
            missing = [w for w in wanted if w not in names]
            if missing:
                raise DirectiveProblem(f":layers: no layer {quote(missing[0])}; layers are "
                                       + shorten(", ".join(n.name for n in analysis), 300), "option")
        include_input = "no-input" not in self.options
        table_data = layer_table(analysis, include_input=include_input, layers=wanted)
        table = nodes.table("", classes=["rfdocs-table", *classes])
        if align:
            table["align"] = align
        if self.options.get("caption"):
            inline, messages = self.parse_inline(self.options["caption"], lineno=self.lineno)
            title = nodes.title(self.options["caption"], "", *inline)
            self.set_source_info(title)
            table += title
        group = nodes.tgroup(cols=len(table_data.header))
        table += group
        for column in zip(table_data.header, *table_data.rows, strict=True):
            # text builders wrap cells to colwidth characters; HTML and LaTeX size columns
            # themselves (no "colwidths-given" class)
            group += nodes.colspec(colwidth=max(len(cell) for cell in column))
        head = nodes.thead()
        group += head
        head += self._row(table_data.header)
        body = nodes.tbody()
        group += body
        for row in table_data.rows:
            body += self._row(row)
        self.set_source_info(table)
        self.add_name(table)
        return [table]

    @staticmethod
    def _row(cells: tuple[str, ...]) -> nodes.row:
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += nodes.paragraph("", cell)
            row += entry
        return row


class RfNetworkDirective(RfdocsDirective):
    """rf-network NAME: define a network once on a page; other directives use :network: NAME."""

    directive_name = "rf-network"
    required_arguments = 1
    optional_arguments = 0
    NETWORK_OPTIONS = NETWORK_OPTIONS

    #: env.temp_data key: the line where each network of the page being read was defined
    LINES_KEY: ClassVar[str] = "rfdocs_network_lines"

    def make_nodes(self) -> list[nodes.Node]:
        self.check_options({*NETWORK_SOURCE_OPTIONS, *self.NETWORK_OPTIONS})
        name = self.arguments[0].strip()
        if not name.replace("_", "").replace("-", "").isalnum() or len(name) > 128:
            raise DirectiveProblem(f"network name {quote(name)} must be a word (letters, digits, "
                                   "_ and -) of at most 128 characters", "option")
        lines = self.env.temp_data.setdefault(self.LINES_KEY, {})
        assert isinstance(lines, dict)
        if name in lines:
            raise DirectiveProblem(f"network {quote(name)} is already defined on this page (line "
                                   f"{lines[name]}); give this one another name", "network")
        source = self.network_source()
        if source is None:
            raise DirectiveProblem("rf-network needs a spec: a body, :model:, :spec: or :onnx:",
                                   "network")
        net = source.network
        self.analysed(net)
        page_networks(self.env)[name] = net
        if source.model is not None:
            page_models(self.env)[name] = source.model
        lines[name] = int(self.lineno)
        if "show" in self.options:
            from rfdocs.compute import format_compact

            text = self.body_text() or format_compact(net)
            block = nodes.literal_block(text, text, language="text")
            self.set_source_info(block)
            return [block]
        return []


def figure_directive(kind: str) -> type[RfFigureDirective]:
    extra = ANIMATED_KINDS.get(kind, {})
    return type(f"Rf{kind.title()}Directive", (RfFigureDirective,),
                {"kind_name": kind, "directive_name": f"rf-{kind}", "animates": bool(extra),
                 "EXTRA_OPTIONS": extra})


def setup_directives(app: Sphinx) -> None:
    from rfdocs.figures import KIND_MODULES

    for kind in KIND_MODULES:
        app.add_directive(f"rf-{kind}", figure_directive(kind))
    app.add_directive("rf-table", RfTableDirective)
    app.add_directive("rf-network", RfNetworkDirective)
