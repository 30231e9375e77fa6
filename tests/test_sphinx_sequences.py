"""Builders that share one doctrees folder, in any order, each get their figures: Read the Docs
(html, latex, epub on one ``-d``), ``sphinx-build -M`` (the default Makefile) and Jupyter Book
all share it, so the builder that writes a page is often not the one that read it.

Each build runs with -W; after it, every image the output names is checked on disk by its
bytes (a real SVG, PDF, PNG or GIF of the kind the builder shows), and the alt text carries the
computed numbers."""

from __future__ import annotations

import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.sphinx_util import Built, build, write_project

PAGE = """\
# Sequences

```{rf-block}
:caption: A block.
:name: fig-block
input 20x20x3
conv1: conv 3x3 /1 x8
```

```{rf-steps}
:caption: Sliding.
```

```{rf-growth}
input 16x16x1
conv 3x3 /1 x2
conv 3x3 /2 x2
```

```{rf-table}
input 20x20x3
c1: conv 3x3 /1 x8
```

```{rf-explorer}
:caption: Explore.
input 12x12x1
a: conv 3x3 x1
b: conv 3x3 /2 x1
```

The field of VGG-16's pool5 is {rf}`vgg16:pool5:rf` wide.
"""

CONF = ('numfig = True\n'
        'texinfo_documents = [("index", "rftest", "rftest", "rfdocs tests", "rftest", "", "Misc")]\n')

MAGIC = {".svg": (b"<?xml", b"<svg"), ".pdf": (b"%PDF",), ".png": (b"\x89PNG",), ".gif": (b"GIF8",)}

#: Figures on the page: block, steps, growth, and the explorer's growth fallback.
FIGURES = 4


def _is_image(path: Path, suffixes: tuple[str, ...]) -> bool:
    if not path.is_file() or path.suffix not in suffixes:
        return False
    head = path.read_bytes()[:256]
    return any(head.lstrip().startswith(m) for m in MAGIC[path.suffix])


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.found.append({k: v or "" for k, v in attrs})


def _html_images(built: Built, suffix: str = ".html") -> list[tuple[Path, dict[str, str]]]:
    found = []
    for page in sorted(built.outdir.rglob(f"*{suffix}")):
        parser = _Images()
        parser.feed(page.read_text(encoding="utf-8"))
        found += [(page, attrs) for attrs in parser.found]
    return found


def check_html(built: Built, *, dark: bool, animated: bool, suffix: str = ".html",
               shown: tuple[str, ...] = (".svg", ".gif")) -> None:
    images = [(page, a) for page, a in _html_images(built, suffix) if "rfdocs-light" in a.get("class", "")
              or "rfdocs-dark" in a.get("class", "")]
    assert len(images) == FIGURES * (2 if dark else 1), [a["src"] for _, a in images]
    for page, attrs in images:
        src = attrs["src"]
        assert "*" not in src, src
        assert _is_image((page.parent / src).resolve(), shown), (built.builder, src)
        assert "rfdocs-dark" in attrs["class"] or attrs["alt"], attrs  # computed alt text
    gifs = [a["src"] for _, a in images if a["src"].endswith(".gif")]  # rf-steps animates
    assert len(gifs) == ((2 if dark else 1) if animated else 0), (built.builder, gifs)
    alts = " ".join(a["alt"] for _, a in images)
    assert "receptive field" in alts and "×" in alts


def check_latex(built: Built) -> None:
    tex = built.text("rftest.tex")
    included = re.findall(r"\\sphinxincludegraphics(?:\[[^\]]*\])?\{\{([^}]*)\}(\.[a-z]+)\}", tex)
    assert len(included) == FIGURES, included
    for stem, suffix in included:
        assert suffix == ".pdf"
        assert _is_image(built.outdir / f"{stem}{suffix}", (".pdf",)), stem


def check_epub(built: Built) -> None:
    check_html(built, dark=False, animated=False, suffix=".xhtml", shown=(".svg",))
    book = zipfile.ZipFile(built.outdir / "rftest.epub")
    names = book.namelist()
    assert sum(name.endswith(".svg") and "_images/" in name for name in names) == FIGURES, names
    assert not any(name.endswith(".gif") for name in names)


def check_texinfo(built: Built) -> None:
    text = built.text("rftest.texi")
    images = re.findall(r"@image\{([^,}]*),", text)
    assert len(images) == FIGURES, images
    for stem in images:
        assert _is_image(built.outdir / f"{stem}.png", (".png",)), stem


def check_text(built: Built, name: str) -> None:
    text = " ".join(built.text(name).split())
    assert text.count("receptive field") >= 3, text[:2000]
    assert "not found" not in built.warnings


def check_gettext(built: Built) -> None:
    """Message catalogues, and no figure drawn for a builder that shows none."""
    assert (built.outdir / "index.pot").is_file()
    assert built.rendered_lines() == []


CHECKS = {
    "html": lambda b: check_html(b, dark=True, animated=True),
    "dirhtml": lambda b: check_html(b, dark=True, animated=True),
    "singlehtml": lambda b: check_html(b, dark=True, animated=True),
    "epub": check_epub,
    "latex": check_latex,
    "texinfo": check_texinfo,
    "text": lambda b: check_text(b, "index.txt"),
    "man": lambda b: check_text(b, "rftest.1"),
    "gettext": lambda b: check_gettext(b),
}

FORWARD = ("html", "latex", "epub", "html", "singlehtml", "dirhtml", "text", "man", "texinfo")
SEQUENCES = {
    "forward": FORWARD,
    "reverse": tuple(reversed(FORWARD)),
    "gettext-between": ("latex", "gettext", "html", "gettext", "epub", "texinfo", "html"),
}


@pytest.mark.parametrize("order", sorted(SEQUENCES))
def test_builders_in_sequence_share_one_doctrees_folder(tmp_path: Path, order: str) -> None:
    src = write_project(tmp_path / "src", {"index.md": PAGE}, CONF)
    doctrees = tmp_path / "_build" / "doctrees"
    for step, builder in enumerate(SEQUENCES[order]):
        outdir = tmp_path / "_build" / builder
        # sphinx-build -M gives gettext doctrees of its own (Sphinx refuses to share them)
        shared = outdir / ".doctrees" if builder == "gettext" else doctrees
        built = build(src, builder, outdir=outdir, doctreedir=shared, warningiserror=True)
        assert built.statuscode == 0, (step, builder, built.warnings)
        assert built.warning_lines() == [], (step, builder, built.warnings)
        CHECKS[builder](built)


@pytest.mark.parametrize("parallel", [0, 2])
def test_read_the_docs_sequence(tmp_path: Path, parallel: int) -> None:
    """What Read the Docs runs in docs/: html, latex (for the PDF), epub, one ``-d``, the
    language given on the command line, outputs outside the source folder; serial, and with
    ``-j 2`` (the formats the html build did not draw are drawn in a pool before writing)."""
    src = write_project(tmp_path / "docs", {"index.md": PAGE}, CONF)
    output = tmp_path / "_readthedocs"
    for builder, folder in (("html", "html"), ("latex", "pdf"), ("epub", "epub")):
        built = build(src, builder, outdir=output / folder, doctreedir=src / "_build" / "doctrees",
                      warningiserror=True, confoverrides={"language": "en"}, parallel=parallel)
        assert built.statuscode == 0 and built.warning_lines() == [], built.warnings
        CHECKS[builder](built)
        # nothing read again: LaTeX draws every figure as PDF; EPUB reuses the HTML build's
        # SVGs and draws only the still rf-steps figure (HTML showed its animation)
        drawn = {"html": FIGURES, "latex": FIGURES, "epub": 1}[builder]
        assert len(built.rendered_lines()) == drawn, built.status
    # the figures are kept with the doctrees, inside the build folder the project ignores
    assert any((src / "_build" / "doctrees" / "rfdocs-cache").glob("*.pdf"))


def test_a_second_html_build_after_latex_repairs_nothing_and_breaks_nothing(tmp_path: Path) -> None:
    """``make latex`` then ``make html`` twice: pages written, then left alone, never broken."""
    src = write_project(tmp_path / "src", {"index.md": PAGE}, CONF)
    doctrees = tmp_path / "_build" / "doctrees"
    build(src, "latex", outdir=tmp_path / "_build" / "latex", doctreedir=doctrees, warningiserror=True)
    for _ in range(2):
        built = build(src, "html", outdir=tmp_path / "_build" / "html", doctreedir=doctrees,
                      warningiserror=True)
        assert built.statuscode == 0 and built.warning_lines() == [], built.warnings
        check_html(built, dark=True, animated=True)
