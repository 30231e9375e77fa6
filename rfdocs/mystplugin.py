"""rfdocs-myst: the rf directives and the rf role in MyST-MD (mystmd, Jupyter Book 2), as an
executable plugin.

mystmd runs the plugin with no arguments for its specification, with ``--directive NAME`` or
``--role NAME`` once per directive or role (the node as JSON on stdin, new nodes on stdout),
and with ``--transform NAME`` once per page (the page's tree in, the new tree out). A directive
or role sees only itself, so they return standard nodes (a figure container with its label
and caption, a table container, a span) carrying a request; the page transform then walks
the page in order, as Sphinx reads it: rf-network defines a name for the rest of the page,
each figure is drawn into a content-addressed cache inside the project and its image pointed
at it, each table and number filled in.

mystmd gives a plugin no way to log a warning and does not tell it the page's file: the
transform finds the page among the project's Markdown files by the lines its directives stand
on, and reports bad input by exiting non-zero with ``page:line: message`` (mystmd prints it
and leaves the page out), or with ``RFDOCS_MYST_ON_ERROR=box`` as an error box in the page.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rfdocs.directive_options import (
    ANIMATED_KINDS,
    COMMON_OPTIONS,
    NETWORK_OPTIONS,
    NETWORK_SOURCE_OPTIONS,
    PATH_OPTIONS,
    TABLE_OPTIONS,
)

if TYPE_CHECKING:
    from rfdocs.compute import Network

Node = dict[str, Any]

#: The page transform's name in the specification.
TRANSFORM = "rfdocs-page"
#: The cache folder, relative to the project (mystmd's working directory); only rfdocs writes it.
CACHE_DIR = Path("_build") / "rfdocs-myst"
#: Options that take no value in a page (``:static:``), as in Sphinx.
FLAGS = frozenset({"static", "no-input", "show"})
#: Where each kind's images go: mystmd picks the file for each output from ``<key>.*``
#: (the site and Typst take SVG, LaTeX the PDF).
FORMATS = (".svg", ".pdf")
SKIPPED_FOLDERS = frozenset({"_build", "node_modules", "__pycache__"})


class PluginError(Exception):
    """Bad input in a page, at ``line`` of it."""

    def __init__(self, message: str, line: int | None) -> None:
        self.line = line
        super().__init__(message)


# --- the specification -------------------------------------------------------------------------

def _option(name: str, doc: str) -> dict[str, Any]:
    if name == "caption":
        return {"type": "myst", "doc": doc}
    return {"type": "boolean" if name in FLAGS else "string", "doc": doc}


def specification() -> dict[str, Any]:
    """The plugin's specification: every figure kind as rf-<kind>, rf-table, rf-network, the rf
    role and the page transform (options as in the Sphinx directives, plus mystmd's :label:)."""
    from rfdocs.figures import KIND_MODULES, get_kind

    common = {**COMMON_OPTIONS, "label": "the same as :name: (mystmd's name for it)"}
    directives: list[dict[str, Any]] = []
    for kind in KIND_MODULES:
        spec_kind = get_kind(kind)
        options = {name: _option(name, doc) for name, doc in common.items()}
        options.update({o.name: _option(o.name, o.help) for o in spec_kind.options})
        options.update({n: _option(n, d) for n, d in ANIMATED_KINDS.get(kind, {}).items()})
        directives.append({"name": f"rf-{kind}", "doc": spec_kind.summary, "options": options,
                           "body": {"type": "string", "doc": "the network (compact or YAML)"}})
    table = {n: d for n, d in common.items() if n not in ("alt", "width")}
    directives.append({
        "name": "rf-table", "doc": "per-layer shape, receptive field, jump, start and padding",
        "options": {n: _option(n, d) for n, d in {**table, **TABLE_OPTIONS}.items()},
        "body": {"type": "string", "doc": "the network (compact or YAML)"}})
    network_options = {n: common[n] for n in NETWORK_SOURCE_OPTIONS}
    network_options.update(NETWORK_OPTIONS)
    directives.append({
        "name": "rf-network", "doc": "name a network for the rest of the page (:network: NAME)",
        "arg": {"type": "string", "required": True, "doc": "the name"},
        "options": {n: _option(n, d) for n, d in network_options.items()},
        "body": {"type": "string", "doc": "the network (compact or YAML)"}})
    return {
        "name": "rfdocs",
        "directives": directives,
        "roles": [{"name": "rf", "doc": "a computed number, e.g. {rf}`vgg16:pool5:rf`",
                   "body": {"type": "string", "required": True}}],
        "transforms": [{"name": TRANSFORM, "stage": "document",
                        "doc": "define page networks, draw figures, fill tables and numbers"}],
    }


# --- directives and the role: standard nodes carrying a request ---------------------------------

def _line(node: Mapping[str, Any]) -> int | None:
    position = node.get("position") or {}
    line = (position.get("start") or {}).get("line")
    return line if isinstance(line, int) else None


def _identifier(label: str) -> str:
    """mystmd's normalised form of a label (spaces collapsed, lower case)."""
    return " ".join(label.split()).lower()


def run_directive(name: str, data: Mapping[str, Any]) -> list[Node]:
    """The nodes standing for directive ``name`` until the page transform fills them in."""
    node = data.get("node") or {}
    line = _line(node)
    body_line = next((_line(c) for c in node.get("children", [])
                      if c.get("type") == "mystDirectiveBody"), None)
    raw = data.get("options") or {}
    caption = raw.get("caption")
    options = {k: ("" if v is True else str(v)) for k, v in raw.items()
               if k != "caption" and v is not False}
    label = (options.pop("label", None) or options.pop("name", None) or "").strip()
    body = data.get("body")
    request = {"directive": name, "options": options, "line": line, "body_line": body_line,
               "body": body if isinstance(body, str) else "",
               "arg": data.get("arg") if isinstance(data.get("arg"), str) else None}
    position = node.get("position")
    if name == "rf-network":
        return [{"type": "code", "lang": "text", "value": "", "position": position,
                 "data": {"rfdocs": request}}]
    children: list[Node] = []
    if isinstance(caption, list) and caption:
        children.append({"type": "caption", "children": [{"type": "paragraph", "children": caption}]})
    if name == "rf-table":
        placeholder = {"type": "table", "children": [], "data": {"rfdocs": request}}
        container: Node = {"type": "container", "kind": "table", "children": [*children, placeholder]}
    else:
        image: Node = {"type": "image", "url": "", "data": {"rfdocs": request}}
        if options.get("width"):
            image["width"] = options["width"].strip()
        if options.get("align"):
            image["align"] = options["align"].strip()
        if options.get("alt"):
            image["alt"] = options["alt"]
        container = {"type": "container", "kind": "figure", "children": [image, *children]}
    container["position"] = position
    classes = ["rfdocs", f"rfdocs-{name.removeprefix('rf-')}", *options.get("class", "").split()]
    container["class"] = " ".join(classes)
    if label:
        container["label"] = label
        container["identifier"] = _identifier(label)
    return [container]


def run_role(data: Mapping[str, Any]) -> list[Node]:
    """A span holding the query; the page transform replaces it with the number."""
    node = data.get("node") or {}
    query = data.get("body") if isinstance(data.get("body"), str) else ""
    return [{"type": "span", "position": node.get("position"),
             "data": {"rfdocs": {"directive": "rf", "query": query, "line": _line(node)}},
             "children": [{"type": "text", "value": query}]}]


# --- the page transform ------------------------------------------------------------------------

@dataclass
class Page:
    """What the transform knows of the page it was given."""

    project: Path  # mystmd's working directory: the project's root
    path: Path | None  # the page's file, where it could be found
    networks: dict[str, Network] = field(default_factory=dict)
    defined: dict[str, int | None] = field(default_factory=dict)  # name -> line
    # id(net.params) -> (the params, kept so that the id is not reused, and their sha256)
    weight_digests: dict[int, tuple[object, str]] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.project if self.path is None else self.path.parent

    def where(self, line: int | None) -> str:
        name = "the page" if self.path is None else self.path.relative_to(self.project).as_posix()
        return name if line is None else f"{name}:{line}"


def _walk(node: Node, parent: Node | None = None) -> Iterator[tuple[Node, Node | None]]:
    yield node, parent
    for child in list(node.get("children") or []):
        if isinstance(child, dict):
            yield from _walk(child, node)


def _request(node: Node) -> dict[str, Any] | None:
    data = node.get("data")
    request = data.get("rfdocs") if isinstance(data, dict) else None
    return request if isinstance(request, dict) else None


def _page_files(project: Path) -> Iterator[Path]:
    for folder, subfolders, files in os.walk(project):
        subfolders[:] = sorted(d for d in subfolders
                               if d not in SKIPPED_FOLDERS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith((".md", ".markdown")):
                yield Path(folder) / name


def find_page(project: Path, marks: list[tuple[int, str]]) -> Path | None:
    """The one Markdown file of the project with each ``(line, text)`` mark on its line (the
    page's rf directives and roles): mystmd does not tell a plugin which page it is given."""
    if not marks:
        return None
    found: list[Path] = []
    for path in _page_files(project):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        if all(0 < line <= len(lines) and text in lines[line - 1] for line, text in marks):
            found.append(path)
    return found[0] if len(found) == 1 else None


def _safe_file(page: Page, text: str, option: str, line: int | None) -> Path:
    """A file a page names, relative to the page; refused outside the project."""
    raw = text.strip()
    if not raw or Path(raw).is_absolute():
        raise PluginError(f":{option}: needs a path relative to the page", line)
    target = (page.folder / raw).resolve()
    if not target.is_relative_to(page.project.resolve()):
        raise PluginError(f":{option}: {raw!r} leads outside the project; only files inside it "
                          "may be read", line)
    if not target.is_file():
        raise PluginError(f":{option}: no file {raw!r} (looked for "
                          f"{target.relative_to(page.project.resolve())})", line)
    return target


def _network(page: Page, request: Mapping[str, Any], required: bool) -> Network | None:
    """The network a directive names: its body, :model:, :spec:, :onnx: or a page network."""
    import rfdocs

    options = request["options"]
    line = request["line"]
    body = request["body"]
    given = [n for n in ("model", "spec", "onnx", "network") if options.get(n, "").strip()]
    if body.strip():
        given.insert(0, "body")
    if len(given) > 1:
        raise PluginError("give the network once: body, :model:, :spec:, :onnx: or :network:, "
                          f"not {' and '.join(given)}", line)
    until = options.get("until", "").strip() or None
    if not given:
        if required:
            raise PluginError(f"{request['directive']} needs a network: a body, :model:, :spec:, "
                              ":onnx: or :network:", line)
        if until:
            raise PluginError(":until: cuts a network; give one", line)
        return None
    source = given[0]
    if source == "network":
        name = options["network"].strip()
        if name not in page.networks:
            known = ", ".join(sorted(page.networks)) or "none yet"
            raise PluginError(f":network: {name!r} is not defined on this page before this point "
                              f"(defined: {known}); define it with rf-network", line)
        net: Network = page.networks[name]
        if until is None:
            return net
        from rfdocs.importers import truncate

        try:
            return truncate(net, until)
        except ValueError as err:
            raise PluginError(f":until: {err}", line) from None
    if source == "body":
        from rfdocs.compute import SpecError, parse_spec

        try:
            net = parse_spec(body)
            return net if until is None else rfdocs.network(net, until=until)
        except SpecError as err:
            start = request.get("body_line")
            if err.line is not None and isinstance(start, int):
                line = start + err.line - 1
            text = str(err).removeprefix(f"line {err.line}: ")
            raise PluginError(f"bad network spec in the directive body: {text}", line) from None
        except ValueError as err:
            raise PluginError(str(err), line) from None
    if source == "model":
        spec: Any = options["model"].strip()
    else:
        spec = _safe_file(page, options[source], source, line)
    try:
        return rfdocs.network(spec, until=until, base_dir=page.folder)
    except ValueError as err:
        raise PluginError(str(err), line) from None


@dataclass
class Drawn:
    url: str
    alt: str


def _weights_digest(page: Page, net: Network) -> str:
    """sha256 of a network's learned numbers (name, dtype, shape and bytes of each array), so
    that a model retrained to the same shapes is drawn afresh; once per network on a page."""
    import hashlib

    import numpy as np

    known = page.weight_digests.get(id(net.params))
    if known is not None and known[0] is net.params:
        return known[1]
    digest = hashlib.sha256()
    for layer in sorted(net.params):
        for name in sorted(net.params[layer]):
            array = np.ascontiguousarray(net.params[layer][name])
            digest.update(f"{layer}/{name}:{array.dtype.str}:{array.shape}\n".encode())
            digest.update(array.tobytes())
    page.weight_digests[id(net.params)] = (net.params, digest.hexdigest())
    return digest.hexdigest()


def draw(page: Page, request: Mapping[str, Any]) -> Drawn:
    """Draw a figure directive's figure into the cache (once per key) and point at it."""
    import rfdocs
    from rfdocs.figure_keys import figure_key, file_digest, jsonable
    from rfdocs.files import write_atomic

    kind = request["directive"].removeprefix("rf-")
    line = request["line"]
    extra = ANIMATED_KINDS.get(kind, {})
    given = {k: v.strip() for k, v in request["options"].items()
             if k not in COMMON_OPTIONS and k not in extra}
    net = _network(page, request, required=False)
    parts: dict[str, Any] = {"options": given, "network": None if net is None else net.to_dict()}
    if net is not None and net.params:  # an ONNX model's weights: the spec above lacks them
        parts["params_sha256"] = _weights_digest(page, net)
    for name in PATH_OPTIONS:
        if given.get(name, "") not in ("", "photo"):
            path = _safe_file(page, given[name], name, line)
            parts[f"{name}_sha256"] = file_digest(path)
            given[name] = str(path)
    # mystmd's site picks SVG before GIF from <key>.*: rf-steps shows its static strip.
    key = figure_key(kind, {**parts, "animated": False})
    cache = page.project / CACHE_DIR
    meta = cache / f"{key}-meta.json"
    suffixes = FORMATS
    if not (meta.is_file() and all((cache / f"{key}{s}").is_file() for s in suffixes)):
        try:
            figure = rfdocs.figure(kind, net, **given)
            for suffix in suffixes:
                figure.save(cache / f"{key}{suffix}")
            alt = figure.alt
        except ValueError as err:
            raise PluginError(str(err), line) from None
        write_atomic(meta, json.dumps({"alt": alt, "numbers": jsonable(figure.numbers)},
                                      sort_keys=True, indent=1).encode())
    else:
        alt = json.loads(meta.read_text(encoding="utf-8"))["alt"]
    rel = os.path.relpath(cache / key, page.folder).replace(os.sep, "/")
    return Drawn(f"{rel}.*", alt)


def table_rows(page: Page, request: Mapping[str, Any]) -> list[Node]:
    """rf-table's rows as mystmd table nodes (the header row first)."""
    import rfdocs
    from rfdocs.figures.table import layer_table

    options = request["options"]
    net = _network(page, request, required=True)
    assert net is not None
    try:
        analysis = rfdocs.analyze(net)
    except ValueError as err:
        raise PluginError(f"bad network spec: {err}", request["line"]) from None
    wanted = None
    if options.get("layers", "").strip():
        wanted = options["layers"].replace(",", " ").split()
        names = [n.name for n in analysis]
        missing = [w for w in wanted if w not in names]
        if missing:
            raise PluginError(f":layers: no layer {missing[0]!r}; layers are {', '.join(names)}",
                              request["line"])
    table = layer_table(analysis, include_input="no-input" not in options, layers=wanted)

    def row(cells: tuple[str, ...], header: bool) -> Node:
        return {"type": "tableRow", "children": [
            {"type": "tableCell", **({"header": True} if header else {}),
             "children": [{"type": "text", "value": cell}]} for cell in cells]}

    return [row(table.header, True), *(row(r, False) for r in table.rows)]


def define_network(page: Page, request: Mapping[str, Any]) -> str:
    """rf-network: name the network for the rest of the page; the spec text if :show: asks."""
    line = request["line"]
    name = (request.get("arg") or "").strip()
    if not name.replace("_", "").replace("-", "").isalnum() or len(name) > 128:
        raise PluginError(f"network name {name!r} must be a word (letters, digits, _ and -) of "
                          "at most 128 characters", line)
    if name in page.defined:
        raise PluginError(f"network {name!r} is already defined on this page (line "
                          f"{page.defined[name]}); give this one another name", line)
    unknown = sorted(set(request["options"]) - {*NETWORK_SOURCE_OPTIONS, *NETWORK_OPTIONS})
    if unknown:
        raise PluginError(f"rf-network takes no :{unknown[0]}:", line)
    net = _network(page, {**request, "options": {k: v for k, v in request["options"].items()
                                                 if k != "show"}}, required=True)
    assert net is not None
    import rfdocs

    try:
        rfdocs.analyze(net)
    except ValueError as err:
        raise PluginError(f"bad network spec: {err}", line) from None
    page.networks[name] = net
    page.defined[name] = line
    if "show" not in request["options"]:
        return ""
    from rfdocs.compute import format_compact

    return str(request["body"] or format_compact(net))


def _error_box(message: str) -> Node:
    return {"type": "admonition", "kind": "error", "class": "rfdocs-error", "children": [
        {"type": "admonitionTitle", "children": [{"type": "text", "value": "rfdocs"}]},
        {"type": "paragraph", "children": [{"type": "text", "value": message}]}]}


def run_transform(tree: Node, project: Path | None = None) -> Node:
    """Walk the page in order: define its networks, draw its figures, fill its tables and
    numbers. Problems are collected and raised together (``PageErrors``) unless ``box``."""
    project = Path.cwd() if project is None else project
    found = [(node, parent) for node, parent in _walk(tree) if _request(node) is not None]
    if not found:
        return tree
    marks: list[tuple[int, str]] = []
    for node, _ in found:
        request = _request(node)
        assert request is not None
        if isinstance(request.get("line"), int):
            marks.append((request["line"], "{rf}" if request["directive"] == "rf"
                          else "{" + request["directive"] + "}"))
    page = Page(project, find_page(project, marks))
    boxes = os.environ.get("RFDOCS_MYST_ON_ERROR", "raise") == "box"
    problems: list[str] = []
    removed: list[tuple[Node, Node]] = []
    for node, parent in found:
        request = _request(node)
        assert request is not None
        del node["data"]
        directive = request["directive"]
        try:
            if directive == "rf":
                import rfdocs

                try:
                    value = rfdocs.rf_value(request["query"], page.networks)
                except ValueError as err:
                    raise PluginError(f"rf role: {err}", request["line"]) from None
                node.clear()
                node.update({"type": "text", "value": value})
            elif directive == "rf-network":
                text = define_network(page, request)
                if text:
                    node["value"] = text
                elif parent is not None:
                    removed.append((parent, node))
            elif directive == "rf-table":
                node["children"] = table_rows(page, request)
            else:
                drawn = draw(page, request)
                node["url"] = drawn.url
                if not request["options"].get("alt"):  # mystmd put the caption there
                    node["alt"] = drawn.alt
        except PluginError as problem:
            message = f"{page.where(problem.line)}: {directive}: {problem}"
            problems.append(message)
            if boxes and parent is not None:
                box = _error_box(message)
                if directive == "rf":
                    node.clear()
                    node.update({"type": "text", "value": f"[{message}]"})
                else:
                    target = parent if parent.get("type") == "container" else node
                    target.clear()
                    target.update(box)
    for parent, node in removed:
        parent["children"] = [c for c in parent["children"] if c is not node]
    if problems and not boxes:
        raise PageErrors(problems)
    for message in problems:
        print(f"rfdocs: {message}", file=sys.stderr)
    return tree


class PageErrors(Exception):
    """Bad input on a page: one ``page:line: directive: message`` line each."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__("\n".join(messages))


# --- the command -------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """``rfdocs-myst`` (the executable mystmd runs): the specification with no arguments, else
    one directive, role or page transform, JSON in on stdin and out on stdout."""
    import argparse

    parser = argparse.ArgumentParser(prog="rfdocs-myst", description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--directive", metavar="NAME")
    group.add_argument("--role", metavar="NAME")
    group.add_argument("--transform", metavar="NAME")
    args = parser.parse_args(argv)
    if not (args.directive or args.role or args.transform):
        result: Any = specification()
    else:
        data = json.load(sys.stdin)
        if args.directive:
            result = run_directive(args.directive, data)
        elif args.role:
            result = run_role(data)
        else:
            if args.transform != TRANSFORM:
                parser.error(f"unknown transform {args.transform!r}")
            try:
                result = run_transform(data)
            except PageErrors as errors:
                for message in errors.messages:
                    print(f"rfdocs: {message}", file=sys.stderr)
                return 1
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
