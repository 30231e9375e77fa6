"""Every Sphinx builder builds a page with a figure, a table and the role, warning-free, and gets
a format it can show: SVG on the web, PDF in LaTeX, PNG in Texinfo, alt text in plain text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.sphinx_util import Built, build, write_project

PAGE = """\
Builders
========

.. rf-block::
   :caption: A small block.
   :name: fig-small

   input 20x20x3
   conv 3x3 /1 x8

.. rf-table::

   input 20x20x3
   c1: conv 3x3 /1 x8

The output field of VGG-16 is :rf:`vgg16:pool5:rf` wide.
"""

BUILDERS = ("html", "dirhtml", "singlehtml", "epub", "latex", "text", "man", "texinfo")
HTML_LIKE = ("html", "dirhtml", "singlehtml")


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """One project built by every builder; they share the figure cache, as in ``_build``."""
    src = write_project(tmp_path_factory.mktemp("builders") / "src", {"index.rst": PAGE})
    return {name: build(src, name, warningiserror=True) for name in BUILDERS}


def _all_text(built: Built, *suffixes: str) -> str:
    return "\n".join(data.decode("utf-8") for name, data in built.files().items()
                     if name.endswith(suffixes))


def _squash(text: str) -> str:
    """Whitespace collapsed (text builders wrap long lines)."""
    return " ".join(text.split())


def _meta(built: Built) -> dict[str, object]:
    metas = sorted(built.cache_dir.glob("block-*.json"))
    assert len(metas) == 1, metas
    data = json.loads(metas[0].read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("builder", BUILDERS)
def test_builds_without_warnings(builds: dict[str, Built], builder: str) -> None:
    built = builds[builder]
    assert built.statuscode == 0
    assert built.warning_lines() == []


@pytest.mark.parametrize("builder", (*HTML_LIKE, "epub"))
def test_web_builders_show_svg(builds: dict[str, Built], builder: str) -> None:
    built = builds[builder]
    pages = _all_text(built, ".html", ".xhtml")
    images = re.findall(r'<img [^>]*src="([^"]+)"', pages)
    assert images and all(src.endswith(".svg") for src in images), images
    for src in images:
        assert any(name.endswith(src.rsplit("/", 1)[-1]) for name in built.files("_images/*"))
    assert "212×212" in pages
    assert "18×18×8" in pages


@pytest.mark.parametrize("builder", HTML_LIKE)
def test_dark_figure_only_in_html(builds: dict[str, Built], builder: str) -> None:
    pages = _all_text(builds[builder], ".html")
    assert re.search(r'<img [^>]*class="rfdocs-dark"[^>]*>|<img [^>]*-dark\.svg', pages)
    assert list(builds[builder].outdir.glob("_images/*-dark.svg"))


@pytest.mark.parametrize("builder", ("epub", "latex", "texinfo", "text", "man"))
def test_no_dark_figure_elsewhere(builds: dict[str, Built], builder: str) -> None:
    built = builds[builder]
    assert not [name for name in built.files() if "-dark." in name]
    assert "-dark" not in _all_text(built, ".xhtml", ".tex", ".texi", ".txt", ".1")
    assert "rfdocs-dark" not in _all_text(built, ".xhtml", ".tex", ".texi", ".txt", ".1")


def test_latex_uses_pdf(builds: dict[str, Built]) -> None:
    built = builds["latex"]
    tex = _all_text(built, ".tex")
    included = re.findall(r"\\sphinxincludegraphics(?:\[[^\]]*\])?\{\{([^}]+)\}(\.\w+)\}", tex)
    assert included and all(ext == ".pdf" for _, ext in included), included
    for stem, ext in included:
        pdf = built.outdir / f"{stem}{ext}"
        assert pdf.read_bytes().startswith(b"%PDF")
    assert "212×212" in tex
    assert "18×18×8" in tex


def test_texinfo_uses_png(builds: dict[str, Built]) -> None:
    built = builds["texinfo"]
    texi = _all_text(built, ".texi")
    images = re.findall(r"^@image\{([^,]+),.*,(\w+)\}$", texi, re.M)
    assert images, texi
    for stem, ext in images:
        assert ext == "png"
        assert (built.outdir / f"{stem}.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("builder", ("text", "man"))
def test_plain_text_has_alt_text_and_numbers(builds: dict[str, Built], builder: str) -> None:
    built = builds[builder]
    raw = _all_text(built, ".txt", ".1")
    text = _squash(raw.replace("\\-", "-").replace("\\&", ""))
    alt = _meta(built)["alt"]
    assert isinstance(alt, str) and "20×20×3" in alt
    assert _squash(alt) in text
    assert "212×212" in text
    assert "A small block." in text
    row = ["c1", "conv", "18×18×8", "3×3", "1", "0", "0", "yes"]
    if builder == "text":  # a readable table row, not one character a line
        assert re.search(r"\|\s*" + r"\s*\|\s*".join(map(re.escape, row)) + r"\s*\|", raw), raw
    else:  # tbl cells T{ value T}
        cells = re.findall(r"T\{\n(.*?)\nT\}", raw)
        assert any(cells[i:i + len(row)] == row for i in range(len(cells))), cells


def test_numref_target_in_html(builds: dict[str, Built]) -> None:
    html = builds["html"].text("index.html")
    assert 'id="fig-small"' in html
    assert "A small block." in html


def test_cache_holds_one_format_per_builder_family(builds: dict[str, Built]) -> None:
    cache = builds["html"].cache_dir
    suffixes = {Path(name).suffix for name in (p.name for p in cache.iterdir())}
    assert {".svg", ".pdf", ".png", ".json"} <= suffixes
