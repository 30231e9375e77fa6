"""The cache folder is rfdocs' own: other files are never deleted or overwritten; builds sharing
it at once never delete what another still needs; a folder that cannot be used gives one clear
warning and a correct build; corrupt cached files are drawn again; pool workers die with the
build."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest

from rfdocs.sphinxext.cache import TAG_NAME, FigureCache, Lease, claim, own_key
from tests.sphinx_util import Built, build, line_of, write_project

FIGURE = "# Page\n\n```{{rf-block}}\n:neuron: {n},1\ninput 12x12x3\nconv 3x3 /1 x{c}\n```\n"


def _pages(n: int, channels: int = 4) -> dict[str, str]:
    return {f"p{i}.md": FIGURE.format(n=i % 9, c=channels) for i in range(n)}


def _images_ok(built: Built) -> None:
    """Every <img> of every page names an existing, parseable SVG."""
    for page in built.outdir.glob("*.html"):
        html = page.read_text(encoding="utf-8")
        for src in re.findall(r'<img[^>]* src="([^"]+)"', html):
            path = (page.parent / src).resolve()
            assert path.is_file(), (page.name, src)
            if path.suffix == ".svg":
                ElementTree.parse(path)


USER_FILES = {"switcher.json": b'{"versions": []}', "logo.svg": b"<svg/>",
              "diagram.svg": b"<svg>mine</svg>", ".draft.tmp": b"half", "notes.gif": b"GIF89a"}


@pytest.mark.parametrize("setting", ["_static", "."])
def test_a_folder_with_the_users_files_is_refused_and_left_alone(tmp_path: Path, setting: str) -> None:
    static = "html_static_path = ['_static']\n" if setting == "_static" else ""
    src = write_project(tmp_path / "src", _pages(2), f"rfdocs_cache_dir = {setting!r}\n{static}")
    folder = (src / setting).resolve()
    folder.mkdir(exist_ok=True)
    for name, data in USER_FILES.items():
        (folder / name).write_bytes(data)
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    for _ in range(2):  # the second build would prune, if anything
        built = build(src, "html")
        assert built.statuscode == 0
        cache_warnings = [w for w in built.parsed_warnings() if w["type"] == "rfdocs.cache"]
        assert len(cache_warnings) == 1, built.warnings
        message = cache_warnings[0]["message"]
        assert "rfdocs_cache_dir" in message and str(folder) in message and "did not write" in message
        assert cache_warnings[0]["location"].endswith("conf.py") and cache_warnings[0]["line"] == str(
            line_of((src / "conf.py").read_text(encoding="utf-8"), "rfdocs_cache_dir"))
        _images_ok(built)
        after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
        assert after == before  # nothing deleted, overwritten or added
    strict = build(src, "html", warningiserror=True)
    assert strict.statuscode != 0  # -W fails the build


def test_prune_deletes_only_rfdocs_files(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    claim(cache)
    ours = ["block-0123456789abcdef01234567.svg", "block-0123456789abcdef01234567-meta.json",
            ".block-0123456789abcdef01234567.svg.99.tmp"]
    theirs = ["block-notahexkey.svg", "readme.txt", "block-0123456789abcdef01234567.svg.bak",
              ".hidden.tmp", "growth-0123456789ABCDEF01234567.svg"]
    old = time.time_ns() - 10**12
    for name in ours + theirs:
        (cache / name).write_bytes(b"x")
        os.utime(cache / name, ns=(old, old))
    assert FigureCache(cache).prune(set(), {"svg"}) == 3
    assert sorted(p.name for p in cache.iterdir()) == sorted([".rfdocs", TAG_NAME, *theirs])
    assert [own_key(n) for n in theirs] == [None] * len(theirs)


def test_a_running_builds_files_and_temporary_files_survive_pruning(tmp_path: Path) -> None:
    """Another process holds a lease (a build still running) and used a figure after it
    started: a pruning build keeps it; once that process is gone, it goes."""
    cache = tmp_path / "cache"
    claim(cache)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; sys.path.insert(0, sys.argv[1]);"
         "from rfdocs.sphinxext.cache import Lease; from pathlib import Path;"
         "lease = Lease(Path(sys.argv[2])); print('ready', flush=True); time.sleep(60)",
         str(Path(__file__).resolve().parent.parent), str(cache)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        used = cache / "block-0123456789abcdef01234567.svg"
        tmp = cache / ".erf-0123456789abcdef01234567.svg.4242.tmp"
        time.sleep(0.05)  # the other build writes and uses files well after it started
        FigureCache(cache).store("block-0123456789abcdef01234567", {("light", "svg"): b"<svg/>"},
                                 {"alt": "a figure"})
        tmp.write_bytes(b"<svg/>")
        time.sleep(0.05)
        mine = Lease(cache)  # this build starts after the files were used
        assert FigureCache(cache).prune(set(), {"svg"}, mine) == 0  # kept for the other build
        assert used.is_file() and tmp.is_file()
    finally:
        holder.kill()
        holder.wait()
    assert FigureCache(cache).prune(set(), {"svg"}, mine) == 3  # its build is gone: svg, meta, tmp
    assert not used.exists() and not tmp.exists()
    mine.release()
    assert not list((cache / ".rfdocs" / "leases").iterdir())  # the dead holder's lease removed


def _sphinx(src: Path, out: Path, builder: str = "html") -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "sphinx", "-b", builder, "-W", "--keep-going",
                             "-q", "-d", str(out.parent / f"doctrees-{builder}"), str(src), str(out)],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_concurrent_builds_sharing_one_cache_folder_keep_every_image(tmp_path: Path) -> None:
    """Two projects with the same rfdocs_cache_dir, and the HTML and EPUB builds of one of them,
    at the same time, again and again with pages changing: every build succeeds with -W and
    every image it names exists."""
    shared = tmp_path / "shared-cache"
    conf = f"rfdocs_cache_dir = {str(shared)!r}\n"
    projects = [write_project(tmp_path / f"proj{k}", _pages(8, channels=2 + k), conf) for k in range(2)]
    for round_ in range(3):
        for k, src in enumerate(projects):  # each round changes every figure of one project
            pages = _pages(8, channels=2 + k + (round_ if k == round_ % 2 else 0))
            for name, text in pages.items():
                (src / name).write_text(text, encoding="utf-8")
        procs = [_sphinx(src, tmp_path / f"out{k}" / "html") for k, src in enumerate(projects)]
        procs.append(_sphinx(projects[0], tmp_path / "out0" / "epub", "epub"))
        for proc in procs:
            output, _ = proc.communicate(timeout=300)
            assert proc.returncode == 0, output
            assert "cannot copy" not in output and "does not exist" not in output, output
        for k in range(2):
            out = tmp_path / f"out{k}" / "html"
            for page in out.glob("p*.html"):
                for src in re.findall(r'<img[^>]* src="([^"]+)"', page.read_text()):
                    assert (out / src).is_file(), (round_, k, src)


def test_cache_dir_naming_a_file_warns_and_builds(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", _pages(1), "rfdocs_cache_dir = 'not-a-folder'\n")
    (src / "not-a-folder").write_text("mine", encoding="utf-8")
    built = build(src, "html")
    assert built.statuscode == 0
    warnings = [w for w in built.parsed_warnings() if w["type"] == "rfdocs.cache"]
    assert len(warnings) == 1 and "is a file" in warnings[0]["message"], built.warnings
    assert "Traceback" not in built.warnings
    _images_ok(built)
    assert (src / "not-a-folder").read_text(encoding="utf-8") == "mine"


def _mount_tmpfs(where: Path, options: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True)
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    where = tmp_path / "disk"
    if os.geteuid() != 0 or not _mount_tmpfs(where, "size=12k"):
        pytest.skip("needs root and tmpfs mounts to make a small or read-only disk")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_read_only_cache_folder_warns_and_builds(small_disk: Path, tmp_path: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    src = write_project(tmp_path / "src", _pages(2), f"rfdocs_cache_dir = {str(small_disk / 'c')!r}\n")
    built = build(src, "html")
    assert built.statuscode == 0
    warnings = [w for w in built.parsed_warnings() if w["type"] == "rfdocs.cache"]
    assert len(warnings) == 1 and "Read-only file system" in warnings[0]["message"], built.warnings
    _images_ok(built)


def test_full_cache_disk_gives_located_warnings_not_a_traceback(small_disk: Path, tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", _pages(4), f"rfdocs_cache_dir = {str(small_disk)!r}\n")
    built = build(src, "html")
    assert built.statuscode == 0
    found = [w for w in built.parsed_warnings() if w["type"] == "rfdocs.cache"]
    assert found, built.warnings
    assert all("No space left on device" in w["message"] and str(small_disk) in w["message"]
               for w in found), found
    assert all(w["location"].endswith(".md") for w in found)  # each at its directive
    assert "Traceback" not in built.warnings and "Extension error" not in built.warnings


def test_corrupt_cached_figure_is_drawn_again(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", _pages(1))
    first = build(src, "html")
    svg = next(p for p in first.cache_files() if p.suffix == ".svg")
    good = svg.read_bytes()
    svg.write_bytes(good[: len(good) // 2])  # truncated
    for page in first.outdir.glob("*.html"):
        page.unlink()
    second = build(src, "html", warningiserror=True)
    assert second.statuscode == 0
    assert len(second.rendered_lines()) == 1
    assert svg.read_bytes() == good
    _images_ok(second)


def test_pool_workers_die_with_a_killed_build(tmp_path: Path) -> None:
    """SIGKILL of a -j 2 build while its pool draws: no worker survives it."""
    pages = {f"p{i}.md": "# P\n\n```{rf-erf}\n:mode: random\n:samples: 8\ninput 96x96x2\n"
                         f"conv 5x5 x4\nconv 5x5 /2 x4\nconv 3x3 x{i + 2}\n```\n" for i in range(8)}
    src = write_project(tmp_path / "src", pages)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "sphinx", "-b", "html", "-j", "2", "-q", str(src),
                             str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    cache = out / ".doctrees" / "rfdocs-cache"
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while time.monotonic() < deadline and proc.poll() is None:
        # pages read (Sphinx's own read workers gone), the pool drawing: its first figure done
        if any(cache.glob("*-meta.json")):
            workers = _children(proc.pid)
            if len(workers) >= 2:
                break
        time.sleep(0.02)
    assert len(workers) >= 2, "the pool did not start before the build ended"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and [w for w in workers if _alive(w)]:
        time.sleep(0.1)
    survivors = [w for w in workers if _alive(w)]
    for w in survivors:
        os.kill(w, signal.SIGKILL)
    assert not survivors


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
