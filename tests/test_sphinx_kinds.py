"""Every figure kind's directive builds with its defaults in HTML and LaTeX, warning-free, as a
numbered figure with computed alt text (kinds whose module is not written yet are skipped)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from rfdocs.figures import KIND_MODULES
from tests.sphinx_util import build, write_project


def _kind_or_skip(kind: str) -> None:
    try:
        module = importlib.import_module(KIND_MODULES[kind])
    except ImportError:
        pytest.skip(f"rfdocs.figures.{kind} is not written yet")
    if not hasattr(module, "KIND"):
        pytest.skip(f"rfdocs.figures.{kind} defines no KIND yet")


def page(kind: str, options: str = "") -> str:
    return (f"Kind\n====\n\n.. rf-{kind}::\n   :caption: The {kind} figure.\n   :name: fig-{kind}\n"
            f"{options}\nSee :numref:`fig-{kind}`.\n")


@pytest.mark.parametrize("kind", sorted(KIND_MODULES))
def test_html(tmp_path: Path, kind: str) -> None:
    _kind_or_skip(kind)
    built = build(write_project(tmp_path / "src", {"index.rst": page(kind)}, "numfig = True\n"),
                  warningiserror=True)
    assert built.warning_lines() == [], built.warnings
    html = built.text("index.html")
    images = re.findall(r'<img [^>]*?alt="([^"]+)"[^>]*?src="([^"]+)"|<img [^>]*?src="([^"]+)"'
                        r'[^>]*?alt="([^"]+)"', html)
    srcs = [m[1] or m[2] for m in images]
    alts = [m[0] or m[3] for m in images]
    assert len(srcs) == 2, html  # light and dark
    wanted = ".gif" if kind == "steps" else ".svg"  # rf-steps animates on the web
    assert all(src.endswith(wanted) for src in srcs), srcs
    for src in srcs:
        assert (built.outdir / src).is_file()
    assert all(len(alt) > 20 and alt == alts[0] for alt in alts)
    assert 'id="fig-' + kind + '"' in html and "Fig. 1" in html
    assert len(built.rendered_lines()) == 1


@pytest.mark.parametrize("kind", sorted(KIND_MODULES))
def test_latex(tmp_path: Path, kind: str) -> None:
    _kind_or_skip(kind)
    built = build(write_project(tmp_path / "src", {"index.rst": page(kind)}, "numfig = True\n"),
                  "latex", warningiserror=True)
    assert built.warning_lines() == [], built.warnings
    tex = "\n".join(data.decode() for name, data in built.files().items() if name.endswith(".tex"))
    included = re.findall(r"\\sphinxincludegraphics(?:\[[^\]]*\])?\{\{([^}]+)\}(\.\w+)\}", tex)
    assert [ext for _, ext in included] == [".pdf"], included
    assert (built.outdir / "".join(included[0])).read_bytes().startswith(b"%PDF")


def test_steps_static_option_gives_svg(tmp_path: Path) -> None:
    _kind_or_skip("steps")
    built = build(write_project(tmp_path / "src", {"index.rst": page("steps", "   :static:\n")}),
                  warningiserror=True)
    srcs = re.findall(r'<img [^>]*src="([^"]+)"', built.text("index.html"))
    assert srcs and all(src.endswith(".svg") for src in srcs), srcs
