"""What a build tells the user: one line per rendered figure and a summary at the end; draft
mode (``rfdocs_execute = "never"``) renders nothing."""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import rfdocs
from tests.sphinx_util import build, write_project

THREE_FIGURES = """\
Status
======

.. rf-block::

   input 20x20x3
   conv 3x3 /1 x8

.. rf-block::

   input 12x12x1
   conv 5x5 /1 x4

.. rf-block::
   :neuron: 1,1

   input 20x20x3
   conv 3x3 /1 x8

The same figure again, with another caption:

.. rf-block::
   :caption: Again.

   input 20x20x3
   conv 3x3 /1 x8
"""

OTHER = "Other\n=====\n\n.. rf-block::\n\n   input 9x9x1\n   conv 3x3 /2 x2\n"


def test_one_line_per_rendered_figure_and_a_summary(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", {"index.rst": THREE_FIGURES})
    built = build(src)
    rendered = built.rendered_lines()
    assert len(rendered) == 3, built.status
    for line in rendered:
        assert re.fullmatch(r"rfdocs: rendered block-[0-9a-f]+ \(index\) in \d+ ms", line), line
    assert len({line.split()[2] for line in rendered}) == 3
    summary = built.summary_lines()
    assert len(summary) == 1
    # the fourth figure is the first again: drawn once, not counted as a cache hit
    assert re.fullmatch(r"rfdocs: 3 figure\(s\) rendered in \d+\.\d\d s, 0 from cache, "
                        r"0 stale file\(s\) pruned", summary[0]), summary
    rfdocs_lines = [line for line in built.status.splitlines() if line.startswith("rfdocs:")]
    assert rfdocs_lines[-1] == summary[0]  # the summary comes last


def test_incremental_build_reports_only_its_own_work(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", {"a.rst": THREE_FIGURES, "b.rst": OTHER})
    build(src)
    (src / "b.rst").write_text(OTHER.replace("x2", "x3"), encoding="utf-8")
    second = build(src)
    assert len(second.rendered_lines()) == 1 and "(b)" in second.rendered_lines()[0]
    assert second.summary_lines() and second.summary_lines()[0].startswith(
        "rfdocs: 1 figure(s) rendered in "), second.summary_lines()
    assert ", 0 from cache," in second.summary_lines()[0]
    third = build(src)  # nothing changed: nothing to say
    assert third.rendered_lines() == []
    assert third.summary_lines() == [] or third.summary_lines()[0].startswith(
        "rfdocs: 0 figure(s) rendered"), third.summary_lines()


def test_draft_mode_with_an_empty_cache_shows_placeholders(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", {"index.rst": THREE_FIGURES})
    built = build(src, warningiserror=True, confoverrides={"rfdocs_execute": "never"})
    assert built.statuscode == 0
    assert built.rendered_lines() == []
    assert built.cache_files() == []
    html = built.text("index.html")
    assert html.count('class="rfdocs-placeholder') == 4
    assert html.count("rf-block figure (not rendered") == 4
    assert "<img" not in html
    assert not (built.outdir / "_images").exists() or list((built.outdir / "_images").iterdir()) == []


def test_draft_mode_uses_a_warm_cache(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", {"index.rst": THREE_FIGURES})
    warm = build(src)
    full = warm.text("index.html")
    shutil.rmtree(warm.outdir)
    draft = build(src, warningiserror=True, confoverrides={"rfdocs_execute": "never"},
                  freshenv=True)
    assert draft.rendered_lines() == []
    html = draft.text("index.html")
    assert "rfdocs-placeholder" not in html
    assert html.count('<img ') == full.count('<img ') == 8  # light and dark, four figures
    assert sorted(p.name for p in (draft.outdir / "_images").iterdir()) == \
        sorted(p.name for p in (warm.cache_dir).glob("*.svg"))


def test_draft_placeholder_is_not_a_figure_in_other_builders(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", {"index.rst": THREE_FIGURES})
    built = build(src, "text", warningiserror=True, confoverrides={"rfdocs_execute": "never"})
    assert built.statuscode == 0
    assert built.text("index.txt").count("rf-block figure (not rendered") == 4


def test_unchanged_rebuild_reads_and_writes_nothing(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", {"a.rst": THREE_FIGURES, "b.rst": OTHER})
    first = build(src)
    page = first.outdir / "a.html"
    written = page.stat().st_mtime_ns
    again = build(src)
    assert "configuration has changed" not in again.status
    assert "0 added, 0 changed, 0 removed" in again.status
    assert page.stat().st_mtime_ns == written
    assert again.rendered_lines() == []


def test_build_uses_no_deprecated_sphinx_api(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", {"a.rst": THREE_FIGURES, "b.md": "# B\n\n{rf}`vgg16::rf`\n"})
    package = str(Path(rfdocs.__file__).parent)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for builder in ("html", "latex"):
            build(src, builder)
    deprecations = (DeprecationWarning, PendingDeprecationWarning)
    ours = {f"{w.filename}:{w.lineno}: {w.message}" for w in caught
            if w.filename.startswith(package) and issubclass(w.category, deprecations)}
    assert ours == set()
