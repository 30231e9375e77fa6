"""The output checks of tests/pipelines find what they exist to find: missing, empty, mislabelled
and wildcard images in HTML, LaTeX, PDF logs and EPUB books, and builders short of figures."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tests.pipelines import checks

SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>\n'
PNG = b"\x89PNG\r\n\x1a\n" + bytes(16)
GIF = b"GIF89a" + bytes(16)
PDF = b"%PDF-1.5\n" + bytes(16)


def test_image_problem_by_first_bytes() -> None:
    assert checks.image_problem("a.svg", SVG) is None
    assert checks.image_problem("a.png", PNG) is None
    assert checks.image_problem("a.gif", GIF) is None
    assert checks.image_problem("a.pdf", PDF) is None
    assert "wildcard" in str(checks.image_problem("a.*", SVG))
    assert "does not exist" in str(checks.image_problem("a.svg", None))
    assert "empty" in str(checks.image_problem("a.svg", b""))
    assert "not an SVG" in str(checks.image_problem("a.svg", PNG))
    assert "truncated" in str(checks.image_problem("a.svg", SVG[:-8]))
    assert "not a PNG" in str(checks.image_problem("a.png", SVG))
    assert "not a PDF" in str(checks.image_problem("a.pdf", GIF))
    assert "no image extension" in str(checks.image_problem("a.txt", b"x"))


def _site(root: Path) -> Path:
    (root / "_images").mkdir(parents=True)
    (root / "sub").mkdir()
    (root / "_images" / "block-0123456789abcdef.svg").write_bytes(SVG)
    (root / "_images" / "block-0123456789abcdef-dark.svg").write_bytes(SVG)
    (root / "_images" / "steps-fedcba9876543210.gif").write_bytes(GIF)
    (root / "index.html").write_text(
        '<img src="_images/block-0123456789abcdef.svg"/>'
        '<img class="dark" src="_images/block-0123456789abcdef-dark.svg">'
        '<img src="data:image/png;base64,AAAA"><img src="https://example.org/x.png">',
        encoding="utf-8")
    (root / "sub" / "page.html").write_text(
        '<a href="../_images/steps-fedcba9876543210.gif">'
        '<img src="../_images/steps-fedcba9876543210.gif"></a>', encoding="utf-8")
    return root


def test_html_good_site(tmp_path: Path) -> None:
    found = checks.check_html(_site(tmp_path))
    assert found.problems == []
    assert found.images == {"block-0123456789abcdef", "steps-fedcba9876543210"}


def test_html_finds_broken_images(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "_images" / "steps-fedcba9876543210.gif").write_bytes(SVG)
    (site / "index.html").write_text(
        (site / "index.html").read_text(encoding="utf-8")
        + '<img src="_images/gone.svg"><img src="_build/cache/block-1.*">'
          '<picture><source srcset="_images/none.png 2x"></picture>', encoding="utf-8")
    problems = "\n".join(checks.check_html(site).problems)
    assert "sub/page.html:1: <img src='../_images/steps-fedcba9876543210.gif'> is not a GIF" in problems
    assert "<img src='_images/gone.svg'> does not exist" in problems
    assert "wildcard" in problems
    assert "<source srcset='_images/none.png'> does not exist" in problems


def test_latex_and_pdf(tmp_path: Path) -> None:
    (tmp_path / "block-0123456789abcdef.pdf").write_bytes(PDF)
    (tmp_path / "demo.tex").write_text(
        "x\n\\sphinxincludegraphics[width=1in]{{block-0123456789abcdef}.pdf}\n"
        "\\sphinxincludegraphics{{growth-0123456789abcdef}.pdf}\n"
        "\\sphinxincludegraphics{{../cache/steps-0123456789abcdef}.*}\n", encoding="utf-8")
    problems = checks.check_latex(tmp_path).problems
    assert len(problems) == 2
    assert problems[0].startswith("demo.tex:3: \\sphinxincludegraphics{growth-0123456789abcdef.pdf} "
                                  "does not exist")
    assert "wildcard" in problems[1]

    (tmp_path / "demo.pdf").write_bytes(PDF)
    (tmp_path / "demo.log").write_text(
        "File: block-01234567\n89abcdef.pdf Graphic file (type pdf)\n"
        "! LaTeX Error: File `growth-0123456789abcdef.pdf' not found.\n"
        "\nl.12 \\sphinxincludegraphics\n", encoding="utf-8")
    found = checks.check_pdf(tmp_path, "demo")
    assert found.images == {"block-0123456789abcdef"}  # found although TeX wrapped its name
    assert any("LaTeX Error: File `growth" in p for p in found.problems)
    assert any("growth-0123456789abcdef.pdf does not appear in demo.log" in p for p in found.problems)
    assert checks.check_pdf(tmp_path, "other")


def _book(path: Path, members: dict[str, bytes], manifest: list[str]) -> Path:
    items = "".join(f'<item id="i{n}" href="{href}" media-type="x"/>' for n, href in enumerate(manifest))
    items = items.replace('href="page.xhtml" media-type="x"', 'href="page.xhtml" '
                          'media-type="application/xhtml+xml"')
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/epub+zip")
        book.writestr("META-INF/container.xml",
                      '<container><rootfiles><rootfile full-path="content.opf"/></rootfiles></container>')
        book.writestr("content.opf", f'<package xmlns="http://www.idpf.org/2007/opf"><manifest>{items}'
                                     "</manifest></package>")
        for name, data in members.items():
            book.writestr(name, data)
    return path


def test_epub(tmp_path: Path) -> None:
    page = b'<html><body><img src="_images/block-0123456789abcdef.svg"/></body></html>'
    good = _book(tmp_path / "good.epub", {"page.xhtml": page, "_images/block-0123456789abcdef.svg": SVG},
                 ["page.xhtml", "_images/block-0123456789abcdef.svg"])
    found = checks.check_epub(good)
    assert found.problems == [] and found.images == {"block-0123456789abcdef"}

    bad = _book(tmp_path / "bad.epub", {"page.xhtml": page, "_images/extra.svg": SVG},
                ["page.xhtml", "_images/block-0123456789abcdef.svg"])
    problems = "\n".join(checks.check_epub(bad).problems)
    assert "manifest item _images/block-0123456789abcdef.svg is not in the book" in problems
    assert "<img src='_images/block-0123456789abcdef.svg'> does not exist" in problems
    assert "_images/extra.svg is in the book but not in its manifest" in problems


def test_compare_counts_figures_by_kind() -> None:
    html = {"block-0123456789abcdef", "steps-0123456789abcdef", "steps-fedcba9876543210"}
    latex = {"block-0123456789abcdef", "steps-1111111111111111", "steps-2222222222222222"}
    assert checks.compare([("html", html), ("latex", latex)]) == []
    assert checks.compare([("html", html), ("epub", {"block-0123456789abcdef"})]) == [
        "epub lacks figures the other builds have: 2 steps"]
