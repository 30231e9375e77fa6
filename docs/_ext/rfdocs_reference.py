"""Reference tables for this site, built from rfdocs' own definitions so they cannot drift.

Directives (all build docutils nodes directly; nothing is turned back into reST):

``rfdocs-options KIND``
    The options of figure kind KIND (``rfdocs.figures.get_kind(KIND).options``), or of
    ``common`` (``COMMON_OPTIONS``; ``:exclude:`` and ``:only:`` pick some), ``rf-table``
    (``RfTableDirective.TABLE_OPTIONS``), ``rf-network`` (``RfNetworkDirective.NETWORK_OPTIONS``)
    or ``rf-explorer`` (``RfExplorerDirective.EXPLORER_OPTIONS``).
    ``:summary:`` puts the kind's one-line summary above the table.
``rfdocs-config``
    Every ``rfdocs_*`` configuration value (``rfdocs.sphinxext.config.SETTINGS``).
``rfdocs-fields``
    The fields of the ``rf`` role (``FIELDS`` and ``FIELD_HELP``), each with its value for the
    output of a zoo model (``:example:``, default ``vgg16``).
``rfdocs-zoo``
    One row per zoo model: input, layer count, output shape, receptive field, jump, weights.
``rfdocs-cli [COMMAND]``
    The ``--help`` text of the ``rfdocs`` command or of one of its sub-commands.
``rfdocs-command ARGS``
    Runs ``rfdocs ARGS`` in this process (only the read-only ``rf`` and ``kinds`` commands)
    and shows the command line and what it printed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shlex
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

Cell = str | nodes.Node | Sequence[nodes.Node]

HELP_WIDTH = 78  # columns of the CLI help text: fits the page and the PDF


def _cell(value: Cell) -> nodes.entry:
    entry = nodes.entry()
    para = nodes.paragraph()
    if isinstance(value, str):
        para += nodes.Text(value)
    elif isinstance(value, nodes.Node):
        para += value
    else:
        para.extend(value)
    entry += para
    return entry


def build_table(header: Sequence[str], rows: Iterable[Sequence[Cell]], widths: Sequence[int],
                classes: Sequence[str] = ()) -> nodes.table:
    """A docutils table with a header row; ``widths`` are relative column widths."""
    table = nodes.table(classes=["rfdocs-reference", *classes])
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for title in header:
        row += _cell(title)
    head += row
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        for value in cells:
            row += _cell(value)
        body += row
    return table


def literal(text: str) -> nodes.literal:
    return nodes.literal(text, text)


def show_default(value: Any) -> Cell:
    """A figure option's default as a reader would write it in a directive."""
    if value is None:
        return nodes.emphasis("automatic", "automatic")
    if isinstance(value, bool):
        return literal("yes" if value else "no")
    if isinstance(value, str):
        return literal(value) if value else nodes.emphasis("empty", "empty")
    if isinstance(value, tuple | list):
        if not value:
            return nodes.emphasis("none", "none")
        if all(isinstance(v, int) for v in value):
            return literal("x".join(str(v) for v in value))
        return literal(", ".join(str(v) for v in value))
    return literal(str(value))


def show_setting(value: Any) -> Cell:
    """A configuration default as it would be written in conf.py."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return literal(f"{value:_}")
    if isinstance(value, str):
        return literal(f'"{value}"')
    return literal(repr(value))


class ReferenceDirective(SphinxDirective):
    """Shared: a located warning and no output when the code does not have what is asked."""

    def problem(self, message: str) -> list[nodes.Node]:
        logger.warning(f"{self.name}: {message}", location=self.get_location(),
                       type="rfdocs-reference", subtype=self.name)
        return []

    def finish(self, table: nodes.table) -> list[nodes.Node]:
        self.set_source_info(table)
        if "caption" in self.options:
            inline, messages = self.parse_inline(self.options["caption"], lineno=self.lineno)
            title = nodes.title(self.options["caption"], "", *inline)
            table.insert(0, title)
            self.add_name(table)
            return [table, *messages]
        self.add_name(table)
        return [table]


class OptionsDirective(ReferenceDirective):
    required_arguments = 1
    option_spec = {"summary": directives.flag, "exclude": directives.unchanged,
                   "only": directives.unchanged, "caption": directives.unchanged,
                   "name": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        from rfdocs.figures import KIND_MODULES, get_kind
        from rfdocs.sphinxext.directives import (
            COMMON_OPTIONS,
            RfNetworkDirective,
            RfTableDirective,
        )

        what = self.arguments[0].strip()
        tables: dict[str, Mapping[str, str]] = {
            "common": COMMON_OPTIONS,
            "rf-table": RfTableDirective.TABLE_OPTIONS,
            "rf-network": RfNetworkDirective.NETWORK_OPTIONS,
        }
        if what == "rf-explorer":
            from rfdocs.sphinxext.explorer import RfExplorerDirective

            tables[what] = RfExplorerDirective.EXPLORER_OPTIONS
        plain = tables.get(what)
        if plain is not None:
            names = list(plain)
            if "only" in self.options:
                names = [n for n in self.options["only"].split() if n in plain]
            excluded = set(self.options.get("exclude", "").split())
            pairs = [(literal(f":{n}:"), plain[n]) for n in names if n not in excluded]
            return self.finish(build_table(("option", "meaning"), pairs, (22, 78)))
        if what not in KIND_MODULES:
            return self.problem(f"{what!r} is not a figure kind ({', '.join(KIND_MODULES)}) "
                                "nor common, rf-table, rf-network or rf-explorer")
        try:
            kind = get_kind(what)
        except ImportError as err:
            return self.problem(f"figure kind {what!r} cannot be imported yet: {err}")
        rows: list[Sequence[Cell]] = [
            (literal(f":{o.name}:"), o.allowed, show_default(o.default), o.help)
            for o in kind.options]
        # Options the directive adds for kinds that animate on the web (e.g. :static:).
        from rfdocs.sphinxext import directives as rf_directives

        for name, help_text in getattr(rf_directives, "ANIMATED_KINDS", {}).get(what, {}).items():
            rows.append((literal(f":{name}:"), "a flag", nodes.emphasis("absent", "absent"),
                         help_text[:1].upper() + help_text[1:] + "."))
        result: list[nodes.Node] = []
        if "summary" in self.options:
            result.append(nodes.paragraph(kind.summary, kind.summary))
        table = build_table(("option", "allowed values", "default", "what it does"), rows,
                            (16, 26, 16, 42), classes=["rfdocs-options"])
        return result + self.finish(table)


class ConfigDirective(ReferenceDirective):
    option_spec = {"caption": directives.unchanged, "name": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        from rfdocs.sphinxext.config import SETTINGS

        rows = [(literal(s.name), show_setting(s.default), s.allowed, s.help) for s in SETTINGS]
        return self.finish(build_table(("setting", "default", "allowed values", "what it does"),
                                       rows, (22, 14, 22, 42), classes=["rfdocs-options"]))


class FieldsDirective(ReferenceDirective):
    option_spec = {"example": directives.unchanged, "caption": directives.unchanged,
                   "name": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        from rfdocs.compute import ZOO_NAMES, analyze, zoo_network
        from rfdocs.sphinxext.roles import FIELD_HELP, FIELDS, format_field

        model = self.options.get("example", "vgg16").strip()
        if model not in ZOO_NAMES:
            return self.problem(f":example: {model!r} is not a zoo model ({', '.join(ZOO_NAMES)})")
        net = zoo_network(model)
        output = analyze(net).output
        rows = []
        for field in FIELDS:
            help_text = FIELD_HELP.get(field)
            if help_text is None:
                return self.problem(f"field {field!r} has no FIELD_HELP entry")
            try:
                gives = format_field(net, output, field, None)
            except ValueError:  # an axis this network does not have (length, depth)
                gives = f"(not a {net.ndim}-D field)"
            rows.append((literal(field), help_text, literal(f"{model}::{field}"), gives))
        return self.finish(build_table(("field", "meaning", "example", "gives"), rows,
                                       (14, 46, 24, 16)))


class ZooDirective(ReferenceDirective):
    option_spec = {"caption": directives.unchanged, "name": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        from rfdocs.compute import ZOO_NAMES, analyze, zoo_network
        from rfdocs.sphinxext.roles import format_field

        rows = []
        for model in ZOO_NAMES:
            net = zoo_network(model)
            analysis = analyze(net)
            out = analysis.output

            def value(field: str, node: Any = out, net: Any = net) -> str:
                return format_field(net, node, field, None)

            rows.append((literal(model), value("shape", analysis.input), value("layers"),
                         literal(out.name), value("shape"), value("rf"), value("jump"),
                         value("params")))
        return self.finish(build_table(
            ("model", "input", "layers", "output layer", "output shape", "receptive field",
             "jump", "weights"), rows, (14, 12, 8, 14, 14, 14, 8, 16)))


class CliDirective(ReferenceDirective):
    optional_arguments = 1
    option_spec = {"caption": directives.unchanged, "name": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        from rfdocs.cli import build_parser

        parser = build_parser()
        wanted = self.arguments[0].strip() if self.arguments else None
        if wanted is not None:
            commands: dict[str, argparse.ArgumentParser] = {}
            for action in parser._actions:  # argparse keeps sub-commands on this action only
                if isinstance(action, argparse._SubParsersAction):
                    commands.update(action.choices)
            if wanted not in commands:
                return self.problem(f"no sub-command {wanted!r}; the rfdocs command has "
                                    + ", ".join(commands))
            parser = commands[wanted]
        parser.formatter_class = partial(argparse.HelpFormatter, width=HELP_WIDTH)
        text = parser.format_help().rstrip()
        block = nodes.literal_block(text, text, language="text")
        self.set_source_info(block)
        if "caption" in self.options:
            container = nodes.container("", literal_block=True, classes=["literal-block-wrapper"])
            inline, messages = self.parse_inline(self.options["caption"], lineno=self.lineno)
            caption = nodes.caption(self.options["caption"], "", *inline)
            self.set_source_info(caption)
            container += caption
            container += block
            self.set_source_info(container)
            self.add_name(container)
            return [container, *messages]
        self.add_name(block)
        return [block]


class CommandDirective(ReferenceDirective):
    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {"caption": directives.unchanged, "name": directives.unchanged,
                   "lines": directives.positive_int}
    SAFE = ("rf", "kinds")  # commands that only print; render writes files

    def run(self) -> list[nodes.Node]:
        from rfdocs.cli import main

        args = shlex.split(self.arguments[0])
        if not args or args[0] not in self.SAFE:
            return self.problem(f"only {' and '.join(self.SAFE)} may run at build time")
        # File arguments are relative to the page, as everywhere in Sphinx.
        page_dir = Path(self.env.doc2path(self.env.docname)).parent
        for i, arg in enumerate(args):
            if (page_dir / arg).is_file():
                self.env.note_dependency(str(page_dir / arg))
                args[i] = str(page_dir / arg)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(args)
        if status != 0:
            return self.problem(f"rfdocs {self.arguments[0]} exited with {status}: "
                                f"{err.getvalue().strip()}")
        lines = out.getvalue().rstrip().splitlines()
        limit = self.options.get("lines")
        if limit is not None and len(lines) > limit:
            lines = lines[:limit] + [f"... ({len(lines) - limit} more lines)"]
        text = "\n".join([f"$ rfdocs {self.arguments[0]}", *lines])
        block = nodes.literal_block(text, text, language="text")
        self.set_source_info(block)
        self.add_name(block)
        return [block]


class SupportedDirective(ReferenceDirective):
    """What the importers read, listed from their own constants: ``onnx`` (operators that become
    layers), ``folded`` (operators computed on constants), ``torch-modules``,
    ``torch-functions``."""

    required_arguments = 1
    option_spec: dict[str, Any] = {}

    def run(self) -> list[nodes.Node]:
        what = self.arguments[0]
        if what in ("onnx", "folded"):
            from rfdocs.importers import onnx as onnx_importer

            names = onnx_importer.LAYER_OPS if what == "onnx" else onnx_importer.FOLDED_OPS
            para = nodes.paragraph()
            for i, name in enumerate(sorted(names)):
                if i:
                    para += nodes.Text(", ")
                para += literal(name)
            return [para]
        if what in ("torch-modules", "torch-functions"):
            from rfdocs.importers import torch as torch_importer

            text = (torch_importer.SUPPORTED_MODULES if what == "torch-modules"
                    else torch_importer.SUPPORTED_FUNCTIONS)
            return [nodes.paragraph(text, text)]
        return self.problem(f"unknown list {what!r}; use onnx, folded, torch-modules or "
                            "torch-functions")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("rfdocs-options", OptionsDirective)
    app.add_directive("rfdocs-config", ConfigDirective)
    app.add_directive("rfdocs-fields", FieldsDirective)
    app.add_directive("rfdocs-zoo", ZooDirective)
    app.add_directive("rfdocs-cli", CliDirective)
    app.add_directive("rfdocs-command", CommandDirective)
    app.add_directive("rfdocs-supported", SupportedDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
