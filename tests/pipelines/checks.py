"""Checks on built output that do not trust Sphinx: every image an HTML page, a LaTeX file or an
EPUB book refers to exists and is a real image of its kind (by its first bytes), and a PDF was
really produced with every graphic included. Each check returns the problems it found, one
sentence each, and the figure files it saw, so callers can compare builders."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

#: First bytes of each image format a Sphinx builder may be given.
_MAGIC: dict[str, tuple[bytes, ...]] = {
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".pdf": (b"%PDF-",),
    ".webp": (b"RIFF",),
}


@dataclass
class Found:
    """What a check saw: its problems, and the figure images (by file name) it found."""

    problems: list[str] = field(default_factory=list)
    images: set[str] = field(default_factory=set)

    def add(self, other: Found) -> None:
        self.problems += other.problems
        self.images |= other.images


def image_problem(name: str, data: bytes | None) -> str | None:
    """Why ``data`` is not a real image of the kind ``name``'s extension says, or None."""
    if "*" in name:
        return "still has Sphinx's '.*' wildcard (no builder picked a format)"
    if data is None:
        return "does not exist"
    if not data:
        return "is empty"
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".svg":
        head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
        if not head.startswith((b"<?xml", b"<svg", b"<!DOCTYPE svg")) or b"<svg" not in head:
            return "is not an SVG file"
        if b"</svg>" not in data[-256:]:
            return "is a truncated SVG file (no closing </svg>)"
        return None
    if suffix not in _MAGIC:
        return f"has no image extension ({suffix or 'none'})"
    if not data.startswith(_MAGIC[suffix]):
        return f"is not a {suffix[1:].upper()} file (first bytes {data[:8]!r})"
    if suffix == ".webp" and data[8:12] != b"WEBP":
        return "is not a WEBP file"
    return None


def figure_key(name: str) -> str:
    """A figure's identity across builders: its file stem, without the dark variant's suffix."""
    stem = PurePosixPath(name).name.split(".", 1)[0]
    return stem.removesuffix("-dark")


class _ImageRefs(HTMLParser):
    """Every image URL an (X)HTML page refers to: img src, source srcset, object data, and links
    into _images/ (Sphinx links figures to their full-size file)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[int, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        line = self.getpos()[0]
        if tag == "img" and "src" in values:
            self.refs.append((line, "img src", values["src"]))
        elif tag == "source" and "srcset" in values:
            for candidate in values["srcset"].split(","):
                if candidate.strip():
                    self.refs.append((line, "source srcset", candidate.split()[0]))
        elif tag == "object" and values.get("data"):
            self.refs.append((line, "object data", values["data"]))
        elif tag == "image":
            href = values.get("href") or values.get("xlink:href")
            if href:
                self.refs.append((line, "image href", href))
        elif tag == "a" and "/_images/" in "/" + values.get("href", ""):
            self.refs.append((line, "a href", values["href"]))

    handle_startendtag = handle_starttag


def _local(url: str) -> str | None:
    """The path part of a URL to a file of the same site, or None for data:, http: etc."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith("#") or not parts.path:
        return None
    return unquote(parts.path)


def _page_images(page: str, text: str, read: Callable[[str], bytes | None]) -> Found:
    found = Found()
    parser = _ImageRefs()
    parser.feed(text)
    for line, what, url in parser.refs:
        path = _local(url)
        if path is None:
            continue
        target = (PurePosixPath(page).parent / path).as_posix()
        problem = image_problem(path, read(target))
        if problem:
            found.problems.append(f"{page}:{line}: <{what}={url!r}> {problem}")
        elif "_images/" in target:
            found.images.add(figure_key(target))
    return found


def check_html(outdir: Path) -> Found:
    """Every image referred to by every HTML page under ``outdir``."""
    found = Found()
    pages = sorted(p for p in outdir.rglob("*.html") if "_static" not in p.relative_to(outdir).parts)
    if not pages:
        found.problems.append(f"{outdir}: no HTML pages")

    def read(rel: str) -> bytes | None:
        path = outdir / _normal(rel)
        return path.read_bytes() if path.is_file() else None

    for page in pages:
        rel = page.relative_to(outdir).as_posix()
        found.add(_page_images(rel, page.read_text(encoding="utf-8"), read))
    return found


_INCLUDE = re.compile(r"\\sphinxincludegraphics(?:\[[^\]]*\])?\{")


def latex_graphics(tex: str) -> list[tuple[int, str]]:
    """(line, file name) of every \\sphinxincludegraphics in a .tex text, braces removed."""
    out = []
    for match in _INCLUDE.finditer(tex):
        depth, i = 1, match.end()
        while depth and i < len(tex):
            depth += {"{": 1, "}": -1}.get(tex[i], 0)
            i += 1
        name = tex[match.end():i - 1].replace("{", "").replace("}", "")
        out.append((tex.count("\n", 0, match.start()) + 1, name))
    return out


def check_latex(outdir: Path) -> Found:
    """Every graphic the .tex files under ``outdir`` include exists there and is a real image."""
    found = Found()
    texs = sorted(outdir.glob("*.tex"))
    if not texs:
        found.problems.append(f"{outdir}: no .tex file")
    for tex in texs:
        for line, name in latex_graphics(tex.read_text(encoding="utf-8")):
            path = outdir / name
            problem = image_problem(name, path.read_bytes() if path.is_file() else None)
            if problem:
                found.problems.append(f"{tex.name}:{line}: \\sphinxincludegraphics{{{name}}} {problem}")
            else:
                found.images.add(figure_key(name))
    return found


def check_pdf(outdir: Path, jobname: str) -> Found:
    """``jobname.pdf`` exists and is a PDF; the LaTeX log has no errors and shows every graphic of
    the .tex files as included (the graphics package logs ``File: NAME Graphic file`` for each)."""
    found = Found()
    pdf, log = outdir / f"{jobname}.pdf", outdir / f"{jobname}.log"
    problem = image_problem(pdf.name, pdf.read_bytes() if pdf.is_file() else None)
    if problem:
        found.problems.append(f"{pdf}: {problem}")
    if not log.is_file():
        found.problems.append(f"{log}: no LaTeX log")
        return found
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("! ")]
    for i in errors[:10]:
        context = " ".join(s.strip() for s in lines[i + 1:i + 3] if s.strip())
        found.problems.append(f"{log.name}:{i + 1}: LaTeX error: {lines[i][2:]} {context}".rstrip())
    if len(errors) > 10:
        found.problems.append(f"{log.name}: {len(errors) - 10} more LaTeX errors")
    flat = "".join(lines)  # TeX wraps its log at 79 columns, also inside file names
    for tex in sorted(outdir.glob("*.tex")):
        for line, name in latex_graphics(tex.read_text(encoding="utf-8")):
            if "*" not in name and f"File: {name} Graphic file" not in flat:
                found.problems.append(f"{tex.name}:{line}: {name} does not appear in {log.name}: "
                                      "the PDF does not include it")
            elif "*" not in name:
                found.images.add(figure_key(name))
    return found


def check_epub(epub: Path) -> Found:
    """The book's manifest lists only files it holds, and every image of every page is in the
    book, in the manifest, and a real image."""
    found = Found()
    try:
        book = zipfile.ZipFile(epub)
    except (OSError, zipfile.BadZipFile) as error:
        found.problems.append(f"{epub}: not an EPUB (zip) file: {error}")
        return found
    with book:
        names = set(book.namelist())

        def read(rel: str) -> bytes | None:
            rel = _normal(rel)
            return book.read(rel) if rel in names else None

        container = ET.fromstring(book.read("META-INF/container.xml"))
        opf_path = next(el.get("full-path", "") for el in container.iter() if el.tag.endswith("rootfile"))
        opf_dir = PurePosixPath(opf_path).parent
        opf = ET.fromstring(book.read(opf_path))
        manifest = {}
        for item in opf.iter():
            if item.tag.endswith("}item"):
                href = _normal((opf_dir / unquote(item.get("href", ""))).as_posix())
                manifest[href] = item.get("media-type", "")
                if href not in names:
                    found.problems.append(f"{epub.name}: manifest item {href} is not in the book")
        for href, media in sorted(manifest.items()):
            if media != "application/xhtml+xml" or href not in names:
                continue
            page = _page_images(href, book.read(href).decode("utf-8"), read)
            found.problems += [f"{epub.name}: {p}" for p in page.problems]
            found.images |= page.images
        for href in sorted(names):
            if "/_images/" in "/" + href and href not in manifest:
                found.problems.append(f"{epub.name}: {href} is in the book but not in its manifest")
    return found


def _normal(rel: str) -> str:
    """``a/b/../c`` as ``a/c`` (a relative path inside an output folder or a zip file)."""
    parts: list[str] = []
    for part in rel.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def _kind(key: str) -> str:
    """``block-5f74…`` -> ``block``: what a figure is, whatever format or variant was drawn
    (an animated figure and its static strip have different hashes)."""
    return re.sub(r"-[0-9a-f]{8,}$", "", key)


def compare(figures: Iterable[tuple[str, set[str]]]) -> list[str]:
    """Problems where one builder has fewer figures of a kind than another builder."""
    counts = {what: Counter(_kind(key) for key in images) for what, images in figures}
    most: Counter[str] = Counter()
    for count in counts.values():
        most |= count
    problems = []
    for what, count in counts.items():
        missing = most - count
        if missing:
            problems.append(f"{what} lacks figures the other builds have: "
                            + ", ".join(f"{n} {kind}" for kind, n in sorted(missing.items())))
    return problems
