"""A figure as tall as the page keeps its caption clear of the page foot in the PDF.

Sphinx scales an image down to at most the text height, so a tall rfdocs figure (U-Net's whole
architecture) took the page and its caption was typeset over the running foot.  rfdocs asks
each captioned figure's image to leave the caption's lines free.  Checked on the PDF itself,
compiled as Read the Docs does (``make`` in the LaTeX output folder): the caption's last line
ends above the foot, and the same project with rfdocs' request switched off overlaps, so the
check can fail."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.sphinx_util import build, write_project

ROOT = Path(__file__).resolve().parent.parent
CAPTION = ("Tall caption start: the whole network drawn as a U, its contracting path on the "
           "left of every level and its expanding path on the right, every skip connection "
           "running straight to its concatenation, long enough to take three lines of the "
           "page and more, caption end.")
PAGE = f"""# Tall

```{{rf-architecture}}
:spec: unet.yaml
:caption: {CAPTION}
:name: fig-tall
```
"""
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                  r"([^<]*)</word>")


def _tools() -> str:
    missing = [t for t in ("make", "latexmk", "pdflatex", "pdftotext") if shutil.which(t) is None]
    return ", ".join(missing)


def _compiled(root: Path, preamble: str) -> Path:
    conf = f"latex_elements = {{'preamble': {preamble!r}}}\n"
    src = write_project(root / "src", {"index.md": PAGE}, conf)
    (src / "index.rst").unlink(missing_ok=True)
    shutil.copy(ROOT / "docs" / "tutorial" / "models" / "unet.yaml", src / "unet.yaml")
    built = build(src, "latex")
    assert "rfdocsfigurelines" in (built.outdir / "rftest.tex").read_text(encoding="utf-8")
    done = subprocess.run(["make", "LATEXOPTS=-halt-on-error -interaction=nonstopmode"],
                          cwd=built.outdir, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    return built.outdir / "rftest.pdf"


def _caption_and_foot(pdf: Path) -> tuple[float, float]:
    """On the page holding the caption: the bottom of its last word and the top of the page
    number in the running foot (the lowest word that is a number)."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for page in html.split("<page ")[1:]:
        words = [(float(m[2]), float(m[4]), m[5]) for m in WORD.finditer(page)]
        ends = [w for w in words if w[2] == "end."]
        if not ends:
            continue
        foot = max(w[0] for w in words if w[2].isdigit())
        return ends[-1][1], foot
    raise AssertionError("the caption is not in the PDF")


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    missing = _tools()
    if missing:
        pytest.skip(f"{missing} not installed (Debian: latexmk texlive-latex-extra "
                    "poppler-utils)")
    root = tmp_path_factory.mktemp("tall")
    return {"rfdocs": _compiled(root / "rfdocs", ""),
            "without": _compiled(root / "without",
                                 r"\renewcommand\rfdocsfigurelines[1]{}")}


def test_the_caption_ends_above_the_page_foot(pdfs: dict[str, Path]) -> None:
    bottom, foot = _caption_and_foot(pdfs["rfdocs"])
    assert bottom < foot - 2


def test_without_the_room_the_caption_runs_into_the_foot(pdfs: dict[str, Path]) -> None:
    bottom, foot = _caption_and_foot(pdfs["without"])
    assert bottom > foot - 2
