"""Parallel builds: figures missing from the cache are drawn in one process pool after every
page is read (env-updated), and their image nodes get their files and alt text when each page
is written (doctree-resolved)."""

from __future__ import annotations

import os
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.images import guess_mimetype

from rfdocs.sphinxext.cache import FigureCache
from rfdocs.sphinxext.errors import report
from rfdocs.sphinxext.render import FigureJob, JobResult, run_job, run_jobs
from rfdocs.sphinxext.state import records, settings

logger = logging.getLogger("rfdocs")


def _log(job: FigureJob, result: JobResult, docname: str, on_error: str) -> None:
    if result.problem is not None:
        message, subtype = result.problem
        report(on_error, f"{job.directive}: {message}", job.location, subtype)
        return
    for message in result.warnings:
        logger.warning(f"{job.directive}: while rendering: {message}", location=job.location,
                       type="rfdocs", subtype="python")
    logger.info(f"rfdocs: rendered {job.key} ({docname}) in {result.seconds * 1000:.0f} ms")


def render_pending(app: Sphinx, env: BuildEnvironment) -> None:
    """env-updated: draw every figure the pages read in this build left for later."""
    docs = records(env)
    jobs: dict[str, list[tuple[FigureJob, str]]] = {}
    for docname in sorted(docs):
        for job in docs[docname].pending:
            jobs.setdefault(job.key, []).append((job, docname))
    if not jobs:
        return
    build = settings(env)
    results = {r.key: r for r in run_jobs([uses[0][0] for uses in jobs.values()], build.parallel)}
    for key, uses in sorted(jobs.items()):
        result = results[key]
        if result.problem is None:  # one status line per figure drawn
            _log(uses[0][0], result, uses[0][1], build.config.on_error)
        else:  # one warning per directive that asked for it, as a serial build gives
            for job, docname in uses:
                _log(job, result, docname, build.config.on_error)
    cache = FigureCache(build.config.cache_dir)
    for key, uses in jobs.items():
        if results[key].problem is None:
            _note_files(env, cache, uses)
    done: set[str] = set()
    for docname in sorted(docs):
        doc = docs[docname]
        for job in doc.pending:
            result = results[job.key]
            doc.jobs[job.key] = job
            if result.problem is not None:
                doc.failed[job.key] = result.problem
            elif job.key not in done:
                doc.rendered.append((job.key, result.seconds))
                done.add(job.key)
        doc.pending.clear()


def _note_files(env: BuildEnvironment, cache: FigureCache,
                uses: list[tuple[FigureJob, str]]) -> None:
    """Make the drawn files dependencies of the pages that show them (so a lost file brings
    the page back for reading), dated no later than those pages were read, as files drawn
    while reading would be (else every page would look outdated on the next build)."""
    job = uses[0][0]
    read_us = min(env.all_docs.get(docname, 0) for _, docname in uses)
    for theme in job.themes:
        path = cache.path(job.key, theme, job.fmt)
        if not path.is_file():
            continue
        if read_us and path.stat().st_mtime_ns > read_us * 1000:
            stamp = read_us * 1000 - 1_000_000_000
            os.utime(path, ns=(stamp, stamp))
        for _, docname in uses:
            env.note_dependency(path, docname=docname)


def _error_box(message: str) -> nodes.Node:
    box = nodes.error("", nodes.paragraph("", f"rfdocs: {message}"), classes=["rfdocs-error"])
    return box


def resolve_images(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """doctree-resolved: give drawn-later images their files (as the image collector would
    have at read time) and their computed alt text; failed figures become error boxes."""
    env = app.env
    doc = records(env).get(docname)
    images = [n for n in doctree.findall(nodes.image) if n.get("rfdocs_deferred")]
    if not images or doc is None:
        return
    build = settings(env)
    cache = FigureCache(build.config.cache_dir)
    srcdir = Path(env.srcdir)
    replaced: set[int] = set()
    for image in images:
        key = image["rfdocs_deferred"]
        if key in doc.failed:
            figure = image.parent
            while figure is not None and not isinstance(figure, nodes.figure):
                figure = figure.parent
            if figure is not None and figure.parent is not None and id(figure) not in replaced:
                replaced.add(id(figure))
                job = doc.jobs.get(key)
                name = job.directive if job is not None else "rfdocs"
                figure.parent.replace(figure, _error_box(f"{name}: {doc.failed[key][0]}"))
            continue
        job = doc.jobs.get(key)
        if cache.complete(key, build.themes, (job.fmt,) if job else ()) is None and job:
            result = run_job(job)  # the cache lost it since: draw it again, here
            if result.problem is not None:
                report(build.config.on_error, f"{job.directive}: {result.problem[0]}",
                       job.location, result.problem[1])
                continue
        stem = srcdir / image["uri"].removesuffix(".*")
        candidates: dict[str, str] = {}
        for path in sorted(stem.parent.glob(stem.name + ".*")):
            mimetype = guess_mimetype(str(path))
            if mimetype is not None and path.suffix != ".json":
                rel = os.path.relpath(path, srcdir).replace(os.sep, "/")
                candidates[mimetype] = rel
                env.images.add_file(docname, rel)
        image["candidates"] = candidates
        if image.get("rfdocs_auto_alt"):
            meta = cache.read_meta(key) or {}
            image["alt"] = str(meta.get("alt", ""))


def setup_deferred(app: Sphinx) -> None:
    app.connect("env-updated", render_pending)
    app.connect("doctree-resolved", resolve_images)
