"""Write a small Sphinx project into a temporary folder and build it in-process, quietly."""

from __future__ import annotations

import pickle
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.console import strip_colors
from sphinx.util.docutils import docutils_namespace, patch_docutils

BASE_CONF = """\
project = "rftest"
author = "rfdocs tests"
copyright = "2026, rfdocs tests"
version = release = "1.0"
extensions = ["myst_parser", "rfdocs"]
myst_enable_extensions = ["colon_fence"]
exclude_patterns = ["_build"]
epub_show_urls = "no"
man_pages = [("index", "rftest", "rftest", ["rfdocs tests"], 1)]
"""

#: A tiny network in the compact form (renders in well under a second).
SMALL_NET = "input 20x20x3\nconv 3x3 /1 x8"

WARNING_RE = re.compile(r"^(?P<location>.*?):(?P<line>\d+): WARNING: (?P<message>.*?)"
                        r"(?: \[(?P<type>[\w.-]+)\])?$")


def write_project(srcdir: Path, pages: Mapping[str, str], conf_extra: str = "") -> Path:
    """``pages``: file name (with .rst or .md) -> text. ``index`` gets a toctree of the rest
    unless the caller gives its own index page."""
    srcdir.mkdir(parents=True, exist_ok=True)
    (srcdir / "conf.py").write_text(BASE_CONF + conf_extra, encoding="utf-8")
    for name, text in pages.items():
        path = srcdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if not any(name.rsplit(".", 1)[0] == "index" for name in pages):
        docs = sorted(name.rsplit(".", 1)[0] for name in pages if name.endswith((".rst", ".md")))
        toctree = "\n".join(f"   {d}" for d in docs)
        (srcdir / "index.rst").write_text(f"Index\n=====\n\n.. toctree::\n\n{toctree}\n",
                                          encoding="utf-8")
    return srcdir


@dataclass
class Built:
    """What one build left behind."""

    srcdir: Path
    outdir: Path
    doctreedir: Path
    builder: str
    status: str
    warnings: str
    statuscode: int

    @property
    def cache_dir(self) -> Path:
        return self.doctreedir / "rfdocs-cache"

    def cache_files(self) -> list[Path]:
        """The figure files and metadata in the cache (not its tag, lock and leases)."""
        from rfdocs.sphinxext.cache import own_key

        folder = self.cache_dir
        return sorted(p for p in folder.iterdir() if own_key(p.name)) if folder.is_dir() else []

    def text(self, rel: str) -> str:
        return (self.outdir / rel).read_text(encoding="utf-8")

    def doctree(self, docname: str) -> nodes.document:
        tree = pickle.loads((self.doctreedir / f"{docname}.doctree").read_bytes())
        assert isinstance(tree, nodes.document)
        return tree

    def warning_lines(self) -> list[str]:
        return [line for line in self.warnings.splitlines() if "WARNING" in line or "ERROR" in line]

    def parsed_warnings(self) -> list[dict[str, str]]:
        """Each warning as location, line, message and type (``rfdocs.option``)."""
        found = []
        for line in self.warning_lines():
            match = WARNING_RE.match(line)
            assert match, f"unexpected warning format: {line!r}"
            found.append({k: v or "" for k, v in match.groupdict().items()})
        return found

    def rendered_lines(self) -> list[str]:
        return [line for line in self.status.splitlines() if line.startswith("rfdocs: rendered ")]

    def summary_lines(self) -> list[str]:
        return [line for line in self.status.splitlines()
                if line.startswith("rfdocs: ") and " figure(s) rendered in " in line]

    def files(self, pattern: str = "**/*") -> dict[str, bytes]:
        """Output files (relative path -> bytes)."""
        return {p.relative_to(self.outdir).as_posix(): p.read_bytes()
                for p in sorted(self.outdir.glob(pattern)) if p.is_file()}


def build(srcdir: Path, builder: str = "html", *, outdir: Path | None = None,
          doctreedir: Path | None = None, warningiserror: bool = False, parallel: int = 0,
          confoverrides: dict[str, Any] | None = None, freshenv: bool = False) -> Built:
    """Build ``srcdir`` with ``builder`` into ``<srcdir>/../_build/<builder>`` (by default),
    doctrees in ``<outdir>/../doctrees``, one folder for every builder, as ``sphinx-build -M``
    (the default Makefile) and Read the Docs share them."""
    outdir = outdir or srcdir.parent / "_build" / builder
    doctreedir = doctreedir or outdir.parent / "doctrees"
    status, warning = StringIO(), StringIO()
    with patch_docutils(srcdir), docutils_namespace():
        app = Sphinx(srcdir, srcdir, outdir, doctreedir, builder, confoverrides=confoverrides,
                     status=status, warning=warning, freshenv=freshenv,
                     warningiserror=warningiserror, parallel=parallel)
        app.build()
        code = app.statuscode
    return Built(srcdir, outdir, doctreedir, builder, strip_colors(status.getvalue()),
                 strip_colors(warning.getvalue()), code)


def line_of(text: str, marker: str) -> int:
    """1-based number of the only line of ``text`` containing ``marker``."""
    found = [i for i, line in enumerate(text.splitlines(), 1) if marker in line]
    assert len(found) == 1, f"{marker!r} on lines {found}"
    return found[0]


def normalised(tree: nodes.Node, drop: Iterable[str] = ("source",)) -> str:
    """``pformat`` of a doctree without file-dependent attributes."""
    tree = tree.deepcopy()
    for node in tree.findall(nodes.Element):
        for attr in drop:
            node.attributes.pop(attr, None)
    return tree.pformat()
