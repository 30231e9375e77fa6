"""Jupyter Book 1 builds a book whose Markdown page and notebook use rfdocs: HTML first, then
LaTeX (and a PDF where TeX allows) in the same ``_build`` folder, sharing ``_build/.doctrees``
as ``jupyter-book build`` always does. Every builder must get real image files.

Jupyter Book 1 pins an older Sphinx than the test environment's, so it runs from its own venv,
``build/venv-jb-<hash>``, created on first use and kept while rfdocs' dependencies in
``pyproject.toml``, the pinned Jupyter Book and the Python version stay the same: about 40 s
on a quiet 2-core machine with a warm pip cache, 1.5-2 min on a busy one or with an empty pip
cache. rfdocs is (re)installed into it, without dependencies, whenever its source changes
(about 10 s)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.test_packaging import REPO, copy_source

JB_VERSION = "1.0.4.post1"
#: What the venv gets besides rfdocs: the book builder, and a kernel for notebook execution.
JB_REQUIREMENTS = (f"jupyter-book=={JB_VERSION}", "ipykernel")

pytestmark = pytest.mark.slow

#: The manual's example book (docs/manual/jupyter-book.md): the test builds what the page shows.
MANUAL = REPO / "docs" / "manual" / "jupyter-book.md"

#: The notebook's code cell, as the manual describes it.
CODE_CELL = "print(6 * 7, 'computed by the kernel')"


def manual_blocks() -> dict[str, str]:
    """The manual's ``code-block`` bodies by caption (``mybook/_config.yml`` -> its text)."""
    text = MANUAL.read_text(encoding="utf-8")
    pattern = re.compile(r"^(`{3,})\{code-block\} \w+\n:caption: ([^\n]+)\n\n(.*?)\n\1$",
                         re.MULTILINE | re.DOTALL)
    return {caption: body + "\n" for _, caption, body in pattern.findall(text)}


def _notebook(markdown: str) -> str:
    cells = [
        {"cell_type": "markdown", "id": "text", "metadata": {},
         "source": markdown.splitlines(keepends=True)},
        {"cell_type": "code", "id": "code", "execution_count": None, "metadata": {}, "outputs": [],
         "source": [CODE_CELL]},
    ]
    return json.dumps({
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }, indent=1)


def _source_digest() -> str:
    """Hash of what a non-editable install of rfdocs copies (the package and its metadata)."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "rfdocs").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(REPO).as_posix().encode())
            digest.update(path.read_bytes())
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        digest.update((REPO / name).read_bytes() if (REPO / name).exists() else b"")
    return digest.hexdigest()


def _pip(python: Path, *args: str | Path) -> None:
    """Install into the venv of ``python`` with this environment's pip (``--python``): a
    current resolver, twice as fast here as the pip that ``venv`` bundles, and no pip to keep."""
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python),
                           "--disable-pip-version-check", "install", "--quiet", *map(str, args)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"pip install {args} failed:\n{proc.stdout}\n{proc.stderr}"


@contextmanager
def _exclusive(lock: Path, timeout: float = 1200) -> Iterator[None]:
    """Hold an exclusive lock on ``lock`` (pytest sessions running at once take turns)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with lock.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{lock} stayed locked for {timeout:.0f} s (another test session?)")
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def jb_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``build/venv-jb-<hash>`` with Jupyter Book 1, ipykernel and the current rfdocs, locked
    while this module uses it: another session neither replaces rfdocs in it nor deletes it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    needs = (project["dependencies"], project["requires-python"], JB_REQUIREMENTS, sys.version)
    key = hashlib.sha256(repr(needs).encode()).hexdigest()[:12]
    env = REPO / "build" / f"venv-jb-{key}"
    python = env / "bin" / "python"
    ready = env / ".rfdocs-ready"
    with _exclusive(REPO / "build" / "venv-jb.lock"):
        digest = _source_digest()  # before copying: an edit meanwhile reinstalls next time
        if not ready.exists():
            for old in (REPO / "build").glob("venv-jb-*"):
                if old.is_dir():
                    shutil.rmtree(old)
            venv.create(env, with_pip=False, clear=True)
            source = copy_source(tmp_path_factory.mktemp("rfdocs-src") / "rfdocs")
            _pip(python, *JB_REQUIREMENTS, source)
            ready.write_text(digest, encoding="utf-8")
        elif ready.read_text(encoding="utf-8") != digest:
            source = copy_source(tmp_path_factory.mktemp("rfdocs-src") / "rfdocs")
            _pip(python, "--no-deps", "--force-reinstall", source)
            ready.write_text(digest, encoding="utf-8")
        yield env


def _environ(env: Path) -> dict[str, str]:
    """The venv first on PATH (its kernel); no PYTHONPATH, which would shadow its rfdocs."""
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    environ["PATH"] = f"{env / 'bin'}{os.pathsep}{environ.get('PATH', '')}"
    return environ


def jupyter_book(env: Path, *args: str | Path, cwd: Path) -> str:
    """Run ``jupyter-book`` from the venv; its output (stdout and stderr, no colours)."""
    proc = subprocess.run([str(env / "bin" / "jupyter-book"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600, env=_environ(env))
    out = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"jupyter-book {args} exited {proc.returncode}:\n{out}"
    return out


class _Images(HTMLParser):
    """(alt, theme, src) of every rfdocs image in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        themes = [c for c in a.get("class", "").split() if c in ("rfdocs-light", "rfdocs-dark")]
        if tag == "img" and themes:
            self.found.append((a.get("alt", ""), themes[0], a.get("src", "")))


def rfdocs_images(html: str) -> list[tuple[str, str, str]]:
    parser = _Images()
    parser.feed(html)
    return parser.found


def _warnings(log: str) -> list[str]:
    """Sphinx's warnings and errors (not the kernel's own log lines), and its count of them."""
    found = [line for line in log.splitlines() if re.search(r"(^|: )(WARNING|ERROR): ", line)]
    found += re.findall(r"build succeeded, \d+ warnings?", log)
    return found


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manual's example book, written from its code blocks."""
    blocks = manual_blocks()
    assert CODE_CELL in MANUAL.read_text(encoding="utf-8")
    root = tmp_path_factory.mktemp("jb") / "mybook"
    root.mkdir()
    for name in ("_config.yml", "_toc.yml", "intro.md"):
        (root / name).write_text(blocks[f"mybook/{name}"], encoding="utf-8")
    markdown = blocks["The Markdown cell of mybook/notebook.ipynb"]
    (root / "notebook.ipynb").write_text(_notebook(markdown), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def html_log(jb_venv: Path, book: Path) -> str:
    return jupyter_book(jb_venv, "build", book.name, cwd=book.parent)


@pytest.fixture(scope="module")
def latex_log(jb_venv: Path, book: Path, html_log: str) -> str:
    """The LaTeX build after the HTML build, into the same ``_build`` (shared doctrees)."""
    return jupyter_book(jb_venv, "build", book.name, "--builder", "latex", cwd=book.parent)


def test_rfdocs_runs_under_jupyter_books_sphinx(jb_venv: Path) -> None:
    versions = subprocess.run(
        [str(jb_venv / "bin" / "python"), "-c",
         "import importlib.metadata as m, rfdocs, sys; "
         "print(m.version('jupyter-book'), m.version('sphinx'), rfdocs.__file__)"],
        capture_output=True, text=True, check=True, cwd=jb_venv, env=_environ(jb_venv)).stdout.split()
    assert versions[0] == JB_VERSION
    assert not Path(versions[2]).is_relative_to(REPO / "rfdocs"), versions  # installed, not the tree
    assert versions[1].split(".")[0] == "7", versions  # Jupyter Book 1 pins Sphinx < 8


def test_html_pages_show_real_images_with_computed_alt_text(book: Path, html_log: str) -> None:
    assert _warnings(html_log) == []
    html = book / "_build" / "html"
    pages = {name: (html / f"{name}.html").read_text(encoding="utf-8") for name in ("intro", "notebook")}
    images = {name: rfdocs_images(text) for name, text in pages.items()}
    assert [c for _, c, _ in images["intro"]] == ["rfdocs-light", "rfdocs-dark"], images
    assert [c for _, c, _ in images["notebook"]] == ["rfdocs-light", "rfdocs-dark"], images
    for alt, _, src in images["intro"] + images["notebook"]:
        svg = ElementTree.parse(html / src).getroot()
        assert svg.tag == "{http://www.w3.org/2000/svg}svg", src
        assert alt in (images["intro"][0][0], images["notebook"][0][0])  # dark = light alt
    # Alt text states computed results: 20 - 3 + 1 = 18; a 3×3 then 3×3 /2 stack sees 5×5.
    intro_alt, notebook_alt = images["intro"][0][0], images["notebook"][0][0]
    assert "3×3×3 receptive field" in intro_alt and "18×18×8" in intro_alt, intro_alt
    assert "5×5 pixels in the 32×32 input" in notebook_alt, notebook_alt
    text = {name: re.sub(r"<[^>]+>", "", page) for name, page in pages.items()}
    assert "sees 212×212 pixels" in " ".join(text["intro"].split())  # VGG-16's published field
    assert "sees 5×5 pixels" in " ".join(text["notebook"].split())
    assert "42 computed by the kernel" in text["notebook"]  # the notebook was executed
    assert "<table" in pages["intro"] and "18×18×8" in text["intro"]


def test_latex_after_html_references_real_pdf_figures(book: Path, latex_log: str) -> None:
    """The bug this guards against: the LaTeX build reuses doctrees read by the HTML build,
    whose figures exist only as SVG, so Sphinx finds no suitable image for LaTeX."""
    missing = [line for line in latex_log.splitlines() if "a suitable image for latex" in line]
    assert missing == [], "\n".join(missing)
    converter = [line for line in latex_log.splitlines()
                 if "image conversion command" in line or "convert exited with error" in line]
    assert converter == [], ("sphinx.ext.imgconverter (which Jupyter Book loads for LaTeX) was "
                             "asked to convert a figure that had no PDF when Sphinx's image "
                             "post-transforms ran:\n" + "\n".join(converter))
    assert _warnings(latex_log) == [], latex_log
    latex = book / "_build" / "latex"
    tex = (latex / "book.tex").read_text(encoding="utf-8")  # the manual names this file
    included = re.findall(r"\\sphinxincludegraphics(?:\[[^\]]*\])?\{\{([^}]*)\}([^}]*)\}", tex)
    assert len(included) == 2, re.findall(r".*includegraphics.*", tex)
    for stem, ext in included:
        assert ext == ".pdf", (stem, ext)
        assert (latex / f"{stem}{ext}").read_bytes().startswith(b"%PDF-"), stem
    assert ".*}" not in tex
    assert "18×18×8" in tex and "212×212" in tex  # alt text and role text reached LaTeX too


def test_pdf_after_html_and_latex(jb_venv: Path, book: Path, latex_log: str) -> None:
    """``--builder pdflatex`` runs latexmk on Jupyter Book's LaTeX (XeLaTeX, its own class)."""
    if shutil.which("latexmk") is None or shutil.which("xelatex") is None:
        pytest.skip("latexmk/xelatex not installed: Jupyter Book's PDF needs TeX Live "
                    "(latexmk, texlive-xetex, texlive-latex-extra, texlive-fonts-extra)")
    missing = [sty for sty in ("bbm.sty",)
               if subprocess.run(["kpsewhich", sty], capture_output=True).returncode != 0]
    if missing:
        pytest.skip(f"Jupyter Book's LaTeX class needs {', '.join(missing)} (Debian: "
                    "texlive-fonts-extra), which this TeX installation lacks")
    log = jupyter_book(jb_venv, "build", book.name, "--builder", "pdflatex", cwd=book.parent)
    assert "a suitable image for latex builder not found" not in log, log
    pdf = book / "_build" / "latex" / "book.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    texlog = (book / "_build" / "latex" / "book.log").read_text(encoding="utf-8", errors="replace")
    assert not re.search(r"File `[^']*' not found", texlog)
