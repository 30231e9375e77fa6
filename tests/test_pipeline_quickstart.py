"""A project made by sphinx-quickstart, built through the Makefile it writes (``sphinx-build -M``,
one ``_build/doctrees`` for every builder), in the orders users type: every image of every
output must exist and be a real image after every step."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipelines import checks, demo_site

BIN = Path(sys.executable).parent
LATEXMK = shutil.which("latexmk") is not None

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def quickstart(root: Path) -> Path:
    """``sphinx-quickstart`` with rfdocs and MyST, plus the demo page in its toctree."""
    project = root / "demo"
    subprocess.run([str(BIN / "sphinx-quickstart"), "-q", "-p", "Demo", "-a", "Demo", "-v", "1.0",
                    "-r", "1.0", "-l", "en", "--no-sep", "--makefile", "--no-batchfile",
                    "--extensions", "myst_parser,rfdocs", str(project)],
                   check=True, stdout=subprocess.DEVNULL)
    conf = (project / "conf.py").read_text(encoding="utf-8")
    assert re.search(r"extensions = \[\s*'myst_parser',\s*'rfdocs',?\s*\]", conf), conf
    (project / "conf.py").write_text(conf + "\nnumfig = True\n", encoding="utf-8")
    index = (project / "index.rst").read_text(encoding="utf-8")
    with_demo = index.replace(":caption: Contents:\n\n", ":caption: Contents:\n\n   demo\n", 1)
    assert with_demo != index, index
    (project / "index.rst").write_text(with_demo, encoding="utf-8")
    (project / "demo.md").write_text(demo_site.PAGE, encoding="utf-8")
    assert "$(SPHINXBUILD) -M $@" in (project / "Makefile").read_text(encoding="utf-8")
    return project


class Steps:
    """Runs make goals in the project and checks the outputs after each; gathers problems."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.build = project / "_build"
        self.problems: list[str] = []
        self.env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                    "SPHINXOPTS": "-W --keep-going"}

    def make(self, *goals: str) -> None:
        step = "make " + " ".join(goals)
        proc = subprocess.run(["make", *goals], cwd=self.project, env=self.env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
        if proc.returncode:
            tail = "\n".join(proc.stdout.splitlines()[-15:])
            self.problems.append(f"`{step}` exited with {proc.returncode}:\n{tail}")
        if "gettext" in goals:
            pots = "".join(p.read_text(encoding="utf-8") for p in (self.build / "gettext").glob("*.pot"))
            if 'msgid "Blocks of a tiny network."' not in pots:
                self.problems.append(f"after `{step}`: the figure caption is not in the .pot catalogs")
        self.check(step, pdf="latexpdf" in goals)

    def check(self, step: str, *, pdf: bool = False) -> None:
        """Every output built so far: its images, and as many figures in each as on the page."""
        figures: list[tuple[str, set[str]]] = []

        def add(what: str, found: checks.Found) -> None:
            self.problems.extend(f"after `{step}`: {p}" for p in found.problems)
            if len(found.images) < demo_site.FIGURES:
                self.problems.append(f"after `{step}`: {what} shows {len(found.images)} of the "
                                     f"{demo_site.FIGURES} figures")
            figures.append((what, found.images))

        if (self.build / "html").is_dir():
            add("html", checks.check_html(self.build / "html"))
        latex = self.build / "latex"
        if latex.is_dir():
            add("latex", checks.check_latex(latex))
            for tex in sorted(latex.glob("*.tex")):
                if pdf or (latex / f"{tex.stem}.pdf").exists():
                    add("pdf", checks.check_pdf(latex, tex.stem))
        if (self.build / "epub").is_dir():
            books = sorted((self.build / "epub").glob("*.epub"))
            if len(books) != 1:
                self.problems.append(f"after `{step}`: {len(books)} .epub files in _build/epub")
            for book in books:
                add("epub", checks.check_epub(book))
        self.problems.extend(f"after `{step}`: {p}" for p in checks.compare(figures))

    def verdict(self) -> None:
        assert not self.problems, "\n".join(self.problems)
        if not LATEXMK:
            pytest.skip("every check passed, but the PDF was not compiled: latexmk is not "
                        "installed (`make tex` installs TeX Live where it can)")


def test_html_latexpdf_epub_then_gettext_then_html(tmp_path: Path) -> None:
    steps = Steps(quickstart(tmp_path))
    steps.make("html", "latexpdf" if LATEXMK else "latex", "epub")
    steps.make("gettext")
    steps.make("html")
    steps.verdict()


def test_latex_then_html_then_latexpdf(tmp_path: Path) -> None:
    steps = Steps(quickstart(tmp_path))
    steps.make("latex")
    steps.make("html")
    steps.make("latexpdf" if LATEXMK else "latex")
    steps.verdict()
