"""Parallel builds draw missing figures in one pool after reading: same pages, same warnings,
one status line per figure, and images whose cached files vanished are drawn again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.sphinx_util import build, write_project

BAD_ERF = "```{rf-erf}\n:mode: uniform\n\ninput 3000x3000x1\nconv 3 x1\n```\n"


def _pages(n: int) -> dict[str, str]:
    return {f"p{i}.md": f"# Page {i}\n\n```{{rf-block}}\n:neuron: {i},2\n:caption: Block {i}.\n```\n\n"
                        f"Text.\n\n{BAD_ERF}\n```{{rf-growth}}\n```\n" for i in range(6)}


def test_parallel_equals_serial_with_render_errors(tmp_path: Path) -> None:
    pages = _pages(6)
    serial = build(write_project(tmp_path / "a" / "src", pages), "html")
    parallel = build(write_project(tmp_path / "b" / "src", pages), "html", parallel=2)
    for built in (serial, parallel):
        assert built.statuscode == 0
    # The erf figure fails while drawing (after validation): one warning per page, same text.
    def warnings_of(built):  # type: ignore[no-untyped-def]
        return sorted((Path(w["location"]).name, w["line"], w["message"], w["type"])
                      for w in built.parsed_warnings())
    assert warnings_of(serial) == warnings_of(parallel)
    assert len(warnings_of(parallel)) == 6
    assert all(w[3] == "rfdocs.option" and w[1] == "10" for w in warnings_of(parallel))
    # Seven distinct figures (six blocks and one growth), each drawn once.
    assert len(parallel.rendered_lines()) == len(serial.rendered_lines()) == 7
    assert serial.files() == parallel.files()


def test_parallel_build_redraws_lost_files(tmp_path: Path) -> None:
    srcdir = write_project(tmp_path / "src", _pages(6))
    first = build(srcdir, "html", parallel=2)
    cache = first.cache_dir
    lost = sorted(cache.glob("block-*.svg"))[0]
    lost.unlink()
    shutil.rmtree(first.outdir)  # every page written again, none read again
    again = build(srcdir, "html", parallel=2)
    assert again.statuscode == 0
    assert lost.is_file()
    assert len(again.rendered_lines()) == 1
    assert again.files() == first.files()


def test_new_rfdocs_code_redraws_pages_on_an_incremental_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Upgrading or editing rfdocs re-reads the pages it drew, although no page changed."""
    import rfdocs.sphinxext as ext
    import rfdocs.sphinxext.cache as cache
    import rfdocs.sphinxext.directives as directives
    import rfdocs.sphinxext.roles as roles

    pages = {"fig.md": "# F\n\n```{rf-block}\n```\n", "plain.md": "# P\n\nNo figures.\n"}
    srcdir = write_project(tmp_path / "src", pages)
    first = build(srcdir, "html")
    assert len(first.rendered_lines()) == 1
    same = build(srcdir, "html")
    assert "fig" not in same.status.split("reading sources")[-1].split("\n")[0]
    assert not same.rendered_lines()
    for module in (ext, cache, directives, roles):
        monkeypatch.setattr(module, "code_fingerprint", lambda: "new code")
    monkeypatch.setattr(ext, "code_stamp", lambda: "files changed")  # what an edit does
    again = build(srcdir, "html")
    assert len(again.rendered_lines()) == 1
    assert "1 stale file(s)" in again.summary_lines()[-1] or "pruned" in again.summary_lines()[-1]
    html = (again.outdir / "fig.html").read_text(encoding="utf-8")
    key = again.rendered_lines()[0].split()[2]
    assert key in html


def test_code_stamp_follows_every_fingerprinted_file(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The stamp that lets a no-op build skip hashing the code changes with any edit of a
    hashed file (contents or only its time) and with nothing else."""
    import os

    import rfdocs.sphinxext.cache as cache

    files = [tmp_path / f"m{n}.py" for n in range(3)]
    for n, path in enumerate(files):
        path.write_text(f"x = {n}\n")
    monkeypatch.setattr(cache, "_code_files", lambda: list(files))
    first = cache.code_stamp()
    assert cache.code_stamp() == first
    files[1].write_text("x = 10\n")  # same size, new contents
    edited = cache.code_stamp()
    assert edited != first
    st = files[2].stat()
    os.utime(files[2], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert cache.code_stamp() not in (first, edited)
