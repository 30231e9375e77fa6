"""The figure cache: keyed on what changes pixels, reused across builds, pruned, written
atomically, repaired when half-written; untouched figures keep their files."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from docutils import nodes

import rfdocs.files
from rfdocs.sphinxext import cache as cache_module
from tests.sphinx_util import Built, build, write_project

FIGURE = """\
Figure
======

.. rf-block::
   :caption: A block.
{options}
   input 20x20x3
   conv 3x3 /1 x8
{extra}"""


def figure_page(options: str = "", extra: str = "", body: str | None = None) -> str:
    text = FIGURE.format(options="".join(f"   {o}\n" for o in options.splitlines() if o) + "\n",
                         extra=extra)
    if body is not None:
        text = text.replace("   input 20x20x3\n   conv 3x3 /1 x8\n", body)
    return text


def figure_keys(built: Built, docname: str = "index") -> list[str]:
    """Cache keys of the figures of a page, from its doctree (light images)."""
    keys = []
    for image in built.doctree(docname).findall(nodes.image):
        match = re.search(r"/(\w+-[0-9a-f]+)\.\*$", image["uri"])
        if match:
            keys.append(match.group(1))
    return keys


def one_key(built: Built) -> str:
    keys = figure_keys(built)
    assert len(keys) == 1, keys
    return keys[0]


def cache_files(built: Built) -> dict[str, int]:
    """Name -> mtime (ns) of every file in the cache."""
    return {p.name: p.stat().st_mtime_ns for p in built.cache_files()}


# ------------------------------------------------------------------------------ the key

@pytest.fixture(scope="module")
def base_key(tmp_path_factory: pytest.TempPathFactory) -> str:
    src = write_project(tmp_path_factory.mktemp("key-base") / "src", {"index.rst": figure_page()})
    return one_key(build(src))


CHANGES_PIXELS = {
    "kind option": {"page": figure_page(":neuron: 2,2")},
    "body": {"page": figure_page(body="   input 20x20x3\n   conv 5x5 /1 x8\n")},
    "png dpi": {"conf": {"rfdocs_png_dpi": 300}},
    "max pixels": {"conf": {"rfdocs_max_pixels": 1000}},
}

KEEPS_PIXELS = {
    "caption": {"page": figure_page().replace("A block.", "Another caption.")},
    "alt, width, align, class, name": {"page": figure_page(
        ":alt: Words.\n:width: 50%\n:align: left\n:class: wide\n:name: fig-x")},
    "on_error": {"conf": {"rfdocs_on_error": "raise"}},
    "max_layers": {"conf": {"rfdocs_max_layers": 50}},
    "dark mode": {"conf": {"rfdocs_dark_mode": "media"}},
    "project": {"conf": {"project": "Something else"}},
    "whitespace around the body": {"page": figure_page(body="\n   input 20x20x3\n   conv 3x3 /1 x8\n\n")},
}


def _variant_key(tmp_path: Path, variant: dict[str, object]) -> str:
    page = variant.get("page", figure_page())
    assert isinstance(page, str)
    conf = variant.get("conf", {})
    assert isinstance(conf, dict)
    extra = "".join(f"{k} = {v!r}\n" for k, v in conf.items())
    built = build(write_project(tmp_path / "src", {"index.rst": page}, extra))
    assert built.warning_lines() == [], built.warnings
    return one_key(built)


@pytest.mark.parametrize("variant", CHANGES_PIXELS.values(), ids=CHANGES_PIXELS.keys())
def test_key_changes_with_what_changes_pixels(tmp_path: Path, base_key: str,
                                              variant: dict[str, object]) -> None:
    assert _variant_key(tmp_path, variant) != base_key


@pytest.mark.parametrize("variant", KEEPS_PIXELS.values(), ids=KEEPS_PIXELS.keys())
def test_key_ignores_what_does_not(tmp_path: Path, base_key: str, variant: dict[str, object]) -> None:
    assert _variant_key(tmp_path, variant) == base_key


def test_dark_mode_off_then_on_draws_the_dark_figure(tmp_path: Path) -> None:
    """Dark mode decides which files a figure needs, not their pixels: turning it on renders
    the missing dark variant under the same key."""
    src = write_project(tmp_path / "src", {"index.rst": figure_page()})
    off = build(src, confoverrides={"rfdocs_dark_mode": "off"})
    key = one_key(off)
    assert not list(off.cache_dir.glob("*-dark.*"))
    assert "-dark" not in off.text("index.html")
    on = build(src, confoverrides={"rfdocs_dark_mode": "auto"})
    assert one_key(on) == key
    assert len(on.rendered_lines()) == 1
    assert (on.cache_dir / f"{key}-dark.svg").is_file()
    assert f"{key}-dark.svg" in on.text("index.html")


def test_code_fingerprint_re_renders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = write_project(tmp_path / "src", {"index.rst": figure_page()})
    first = build(src)
    old = one_key(first)
    monkeypatch.setattr(cache_module, "code_fingerprint", lambda: "edited figure code")
    second = build(src, freshenv=True)
    new = one_key(second)
    assert new != old
    assert len(second.rendered_lines()) == 1
    assert not list(second.cache_dir.glob(f"{old}*"))  # the old figure was pruned
    assert f"{new}.svg" in second.text("index.html")


# ---------------------------------------------------------------------------- reuse, prune

def test_deleting_the_output_reuses_the_cache(tmp_path: Path) -> None:
    """The output deleted and every page read afresh (-E): the figures come from the cache."""
    src = write_project(tmp_path / "src", {"index.rst": figure_page()})
    first = build(src)
    assert len(first.rendered_lines()) == 1
    shutil.rmtree(first.outdir)
    for doctree in first.doctreedir.glob("*.doctree"):
        doctree.unlink()
    second = build(src, warningiserror=True, freshenv=True)
    assert second.rendered_lines() == []
    assert second.summary_lines() and ", 1 from cache," in second.summary_lines()[-1]
    key = one_key(second)
    assert (second.outdir / "_images" / f"{key}.svg").read_bytes() == \
        (first.cache_dir / f"{key}.svg").read_bytes()


def test_removed_directive_is_pruned(tmp_path: Path) -> None:
    two = figure_page(extra="\n.. rf-block::\n\n   input 12x12x1\n   conv 5x5 /1 x4\n")
    src = write_project(tmp_path / "src", {"index.rst": two})
    first = build(src)
    kept, dropped = figure_keys(first)
    assert kept != dropped and list(first.cache_dir.glob(f"{dropped}*"))
    (src / "index.rst").write_text(figure_page(), encoding="utf-8")
    second = build(src)
    assert figure_keys(second) == [kept]
    assert not list(second.cache_dir.glob(f"{dropped}*"))
    assert {p.name for p in second.cache_files()} == \
        {f"{kept}.svg", f"{kept}-dark.svg", f"{kept}-meta.json"}
    assert "3 stale file(s) pruned" in second.summary_lines()[-1]


def test_no_op_build_skips_the_prune_only_while_the_folder_is_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build with nothing to do does not list the cache (the last prune kept the same keys
    and no file came or went since); a file that appears in the folder makes it prune again."""
    src = write_project(tmp_path / "src", {"index.rst": figure_page()})
    first = build(src)
    key = one_key(first)
    scans: list[int] = []
    real_iterdir = Path.iterdir

    def counting(self: Path) -> object:
        if self == first.cache_dir:
            scans.append(1)
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", counting)
    quiet = build(src)
    assert quiet.rendered_lines() == [] and scans == []
    stale = first.cache_dir / ("block-" + "0" * 24 + ".svg")  # an old figure of rfdocs' own
    stale.write_bytes((first.cache_dir / f"{key}.svg").read_bytes())
    old = stale.stat().st_mtime_ns - 10**12  # used long before any build now running
    os.utime(stale, ns=(old, old))
    again = build(src)
    assert scans and not stale.exists()
    assert "1 stale file(s) pruned" in again.summary_lines()[-1]
    assert key in {p.name.split(".")[0] for p in again.cache_files()}


def test_removed_page_is_pruned(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", {"a.rst": figure_page(),
                                           "b.rst": figure_page(":neuron: 1,1")})
    first = build(src)
    key_b = figure_keys(first, "b")[0]
    (src / "b.rst").unlink()
    (src / "index.rst").write_text("Index\n=====\n\n.. toctree::\n\n   a\n", encoding="utf-8")
    second = build(src)
    assert not list(second.cache_dir.glob(f"{key_b}*"))
    assert list(second.cache_dir.glob(f"{figure_keys(second, 'a')[0]}*"))


def test_other_builders_files_survive_pruning(tmp_path: Path) -> None:
    """HTML and LaTeX share the cache: a build prunes by key, not by the formats it used."""
    src = write_project(tmp_path / "src", {"index.rst": figure_page()})
    key = one_key(build(src, "latex"))
    html = build(src, "html")
    assert (html.cache_dir / f"{key}.pdf").is_file()
    assert (html.cache_dir / f"{key}.svg").is_file()


# ------------------------------------------------------------------- atomic, self-repairing

def test_no_temporary_files_left(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", {"index.rst": figure_page()})
    built = build(src)
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    assert built.cache_dir.is_dir()


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "figure.svg"

    def crash(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(rfdocs.files.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        rfdocs.files.write_atomic(target, b"<svg/>")
    assert list(tmp_path.iterdir()) == []


def test_old_file_stays_whole_when_a_write_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "figure.svg"
    rfdocs.files.write_atomic(target, b"old")
    monkeypatch.setattr(rfdocs.files.os, "replace", lambda a, b: (_ for _ in ()).throw(OSError("x")))
    with pytest.raises(OSError):
        rfdocs.files.write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["figure.svg"]


@pytest.fixture
def warm(tmp_path: Path) -> tuple[Path, Built, str]:
    src = write_project(tmp_path / "src", {"index.rst": figure_page()})
    built = build(src)
    return src, built, one_key(built)


def test_missing_metadata_re_renders(warm: tuple[Path, Built, str]) -> None:
    src, first, key = warm
    svg = (first.cache_dir / f"{key}.svg").read_bytes()
    (first.cache_dir / f"{key}-meta.json").unlink()
    second = build(src, freshenv=True)
    assert len(second.rendered_lines()) == 1
    assert (second.cache_dir / f"{key}-meta.json").is_file()
    assert (second.cache_dir / f"{key}.svg").read_bytes() == svg


def test_truncated_figure_without_metadata_is_rewritten(warm: tuple[Path, Built, str]) -> None:
    """A figure file with no metadata beside it is not trusted: the next build writes it anew."""
    src, first, key = warm
    path = first.cache_dir / f"{key}.svg"
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 3])
    (first.cache_dir / f"{key}-meta.json").unlink()
    second = build(src, freshenv=True)
    assert (second.cache_dir / f"{key}.svg").read_bytes() == whole
    assert (second.outdir / "_images" / f"{key}.svg").read_bytes() == whole


def test_missing_figure_file_re_renders(warm: tuple[Path, Built, str]) -> None:
    src, first, key = warm
    (first.cache_dir / f"{key}-dark.svg").unlink()
    second = build(src, freshenv=True)
    assert len(second.rendered_lines()) == 1
    assert (second.cache_dir / f"{key}-dark.svg").is_file()


def test_corrupt_metadata_re_renders(warm: tuple[Path, Built, str]) -> None:
    src, first, key = warm
    (first.cache_dir / f"{key}-meta.json").write_text("{not json", encoding="utf-8")
    second = build(src, freshenv=True)
    assert len(second.rendered_lines()) == 1
    assert second.warning_lines() == []
    assert "receptive field" in (second.cache_dir / f"{key}-meta.json").read_text(encoding="utf-8")


def test_stray_temporary_file_is_removed(warm: tuple[Path, Built, str]) -> None:
    src, first, key = warm
    stray = first.cache_dir / f".{key}.svg.123.tmp"
    stray.write_bytes(b"<svg")
    second = build(src)
    assert not stray.exists()
    assert (second.cache_dir / f"{key}.svg").is_file()


# ------------------------------------------------------------------------------ incremental

def test_untouched_figures_keep_their_files(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", {"a.rst": figure_page(),
                                           "b.rst": figure_page(":neuron: 1,1")})
    first = build(src)
    key_a = figure_keys(first, "a")[0]
    cached = {n: t for n, t in cache_files(first).items() if n.startswith(key_a)}
    images = {p.name: p.stat().st_mtime_ns for p in (first.outdir / "_images").glob(f"{key_a}*")}
    assert len(cached) == 3 and len(images) == 2
    os.utime(src / "b.rst", ns=(1, 1))  # make sure the edit below is seen as newer
    (src / "b.rst").write_text(figure_page(":neuron: 2,2"), encoding="utf-8")
    second = build(src)
    assert len(second.rendered_lines()) == 1 and "(b)" in second.rendered_lines()[0]
    assert {n: t for n, t in cache_files(second).items() if n.startswith(key_a)} == cached
    assert {p.name: p.stat().st_mtime_ns
            for p in (second.outdir / "_images").glob(f"{key_a}*")} == images


SPEC_V1 = "input: [12, 12, 1]\nlayers:\n  - {name: c1, op: conv, kernel: 3, filters: 2}\n"
SPEC_V2 = SPEC_V1.replace("kernel: 3", "kernel: 5")
SUBPAGE = "Sub\n===\n\n.. rf-block::\n   :spec: net.yaml\n\n.. rf-table::\n   :spec: net.yaml\n"


@pytest.mark.parametrize("builder", ["html", "dirhtml"])
def test_spec_file_next_to_a_page_in_a_folder(tmp_path: Path, builder: str) -> None:
    src = write_project(tmp_path / "src", {"sub/page.rst": SUBPAGE, "sub/net.yaml": SPEC_V1})
    built = build(src, builder, warningiserror=True)
    assert built.warning_lines() == []
    html_path = built.outdir / ("sub/page.html" if builder == "html" else "sub/page/index.html")
    html = html_path.read_text(encoding="utf-8")
    srcs = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert len(srcs) == 2
    for img in srcs:
        assert (html_path.parent / img).resolve().is_file(), img
    assert "10×10×2" in html


def test_editing_a_spec_file_re_renders_its_page(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", {"sub/page.rst": SUBPAGE, "other.rst": figure_page(),
                                           "sub/net.yaml": SPEC_V1})
    first = build(src)
    old = figure_keys(first, "sub/page")
    (src / "sub" / "net.yaml").write_text(SPEC_V2, encoding="utf-8")
    second = build(src)
    assert figure_keys(second, "sub/page") != old
    assert [line.split()[-4] for line in second.rendered_lines()] == ["(sub/page)"]
    assert "8×8×2" in second.text("sub/page.html")
    assert not list(second.cache_dir.glob(f"{old[0]}*"))
