"""Sphinx builds run as subprocesses (start-up and imports counted as users see them)."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.timing import ProcessRun, log, run_process

SPHINX_BUILD = str(Path(sys.executable).with_name("sphinx-build"))

#: The environment of every build: this process's, plus PYTHONPATH naming the rfdocs snapshot
#: (set by ``use_snapshot``); nothing else changes (OPENBLAS_CORETYPE and the like stay as they are).
BUILD_ENV: dict[str, str] = dict(os.environ)


def use_snapshot(folder: Path) -> None:
    """Builds import rfdocs from ``folder`` (a copy taken when the bench started), so files
    edited while the bench runs change neither the code measured nor the figure cache keys."""
    old = os.environ.get("PYTHONPATH")
    BUILD_ENV["PYTHONPATH"] = str(folder) + (os.pathsep + old if old else "")


@dataclass(frozen=True)
class Site:
    """A source folder and where its builds go: ``out/html``, ``out/doctrees`` and the rfdocs
    cache at its default place, ``out/doctrees/rfdocs-cache`` (``<doctrees>/rfdocs-cache``)."""

    label: str
    src: Path
    out: Path

    @property
    def html(self) -> Path:
        return self.out / "html"

    @property
    def doctrees(self) -> Path:
        return self.out / "doctrees"

    @property
    def cache(self) -> Path:
        return self.doctrees / "rfdocs-cache"


def _cache_state(site: Site) -> dict[str, int]:
    """Modification times of the drawn files: rfdocs' cache, or the images matplotlib's
    plot_directive writes beside the doctrees (``out/plot_directive``; its ``.py`` copies of the
    code are rewritten whenever a page is read, so they do not count)."""
    files = [p for p in site.cache.iterdir() if p.is_file()] if site.cache.is_dir() else []
    plots = site.out / "plot_directive"
    if plots.is_dir():
        files += [p for p in plots.rglob("*") if p.is_file() and p.suffix != ".py"]
    return {p.name: p.stat().st_mtime_ns for p in files}


def _page_times(site: Site) -> dict[str, int]:
    """Modification times of the pages made from sources (genindex and search are rewritten by
    every build, no-op or not)."""
    if not site.html.is_dir():
        return {}
    return {p.name: p.stat().st_mtime_ns for p in site.html.rglob("*.html")
            if p.name not in ("genindex.html", "search.html")}


@dataclass
class Build:
    """One timed build and what it did: warnings printed, HTML pages and cached figures written."""

    kind: str  # cold, clean or noop
    jobs: int
    run: ProcessRun
    warnings: int
    pages_written: int
    cache_files_written: int
    #: Names of the drawn files (cache or plot_directive images) this build wrote.
    written: tuple[str, ...] = ()

    @property
    def warning_lines(self) -> list[str]:
        """The first few distinct warnings this build printed."""
        seen: list[str] = []
        for line in self.run.output.splitlines():
            if "WARNING" in line and line not in seen:
                seen.append(line)
        return seen[:5]

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "jobs": self.jobs, **self.run.to_json(), "warnings": self.warnings,
                "warning_lines": self.warning_lines, "pages_written": self.pages_written,
                "cache_files_written": self.cache_files_written, "written": list(self.written)}


def build(site: Site, kind: str, *, jobs: int = 1, logs: Path, quiet: bool = True) -> Build:
    """``cold``: output, doctrees and figure cache deleted; ``clean``: output and the doctrees'
    pages deleted (every page read and written again), the figure cache kept (by default it
    lives in the doctrees folder, ``rfdocs-cache``); ``noop``: nothing deleted (the previous
    build is up to date); ``edit``: nothing deleted (the caller has just edited a page).
    ``quiet``: ``-q`` (cold builds print, so rfdocs' per-figure times reach the log)."""
    if kind == "cold":
        shutil.rmtree(site.out, ignore_errors=True)
    elif kind == "clean":
        shutil.rmtree(site.html, ignore_errors=True)
        for path in site.doctrees.iterdir() if site.doctrees.is_dir() else ():
            if path.name != "rfdocs-cache":
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    elif kind not in ("noop", "edit"):
        raise ValueError(kind)
    cache_before, pages_before = _cache_state(site), _page_times(site)
    cmd = [SPHINX_BUILD, "-b", "html", *(["-q"] if quiet else []), "-d", str(site.doctrees),
           str(site.src), str(site.html)]
    if jobs > 1:
        cmd += ["-j", str(jobs)]
    number = len(list(logs.glob(f"{site.label}-{kind}-j{jobs}-*.log"))) + 1
    run = run_process(cmd, log_path=logs / f"{site.label}-{kind}-j{jobs}-{number}.log", env=BUILD_ENV)
    cache_after, pages_after = _cache_state(site), _page_times(site)
    written = tuple(sorted(k for k, v in cache_after.items() if cache_before.get(k) != v))
    result = Build(kind, jobs, run, run.output.count("WARNING"),
                   sum(1 for k, v in pages_after.items() if pages_before.get(k) != v),
                   len(written), written)
    log(f"{site.label}: {kind} build -j{jobs}: {run.seconds:.2f} s, {run.max_rss_mib:.0f} MiB"
        + (f", {result.warnings} warning(s)" if result.warnings else "")
        + (f", exit {run.returncode}" if run.returncode else ""))
    if run.returncode != 0:
        tail = "\n".join(run.output.splitlines()[-20:])
        raise RuntimeError(f"sphinx-build failed on {site.label} ({kind}, -j{jobs}):\n{tail}")
    return result
