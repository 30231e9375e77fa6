"""Figures are drawn for the builder that writes them. Doctrees name a figure, not a file, so any
sequence of builders may share one doctrees folder (Read the Docs runs html, latex and epub on
one): after reading, the figures this build's pages lack are drawn (in one process pool under
``-j N``, env-updated); when a page is written, each image gets the file of the writing
builder's format, drawn then if still missing (in one pool, before writing, under ``-j N``),
and its computed alt text (a post-transform)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.builders import Builder
from sphinx.environment import BuildEnvironment
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.images import guess_mimetype

from rfdocs.sphinxext.cache import FigureCache
from rfdocs.sphinxext.errors import error_box, report
from rfdocs.sphinxext.render import FigureJob, FigureRequest, JobResult, run_job, run_jobs
from rfdocs.sphinxext.state import BuildSettings, records, settings

logger = logging.getLogger("rfdocs")

#: The outcome of a figure not drawn in draft mode (rfdocs_execute = "never").
DRAFT = ("", "draft")


def job_for(build: BuildSettings, request: FigureRequest) -> FigureJob:
    """The files ``request`` needs for the running builder."""
    return request.job(build.html, build.image_format, build.themes, build.config.cache_dir)


def _settled(build: BuildSettings, job: FigureJob, result: JobResult, docname: str) -> None:
    """Record a drawing's outcome; one status line (and Python's warnings) per figure drawn."""
    build.outcomes[job.key] = result.problem
    if result.problem is not None:
        return
    build.rendered.append((job.key, result.seconds))
    for message in result.warnings:
        logger.warning(f"{job.request.directive}: while rendering: {message}",
                       location=job.request.location, type="rfdocs", subtype="python")
    logger.info(f"rfdocs: rendered {job.key} ({docname}) in {result.seconds * 1000:.0f} ms")


def _report(build: BuildSettings, job: FigureJob, problem: tuple[str, str]) -> None:
    """One warning per directive whose figure could not be drawn, however often it is written."""
    if (job.key, job.request.location) in build.reported:
        return
    build.reported.add((job.key, job.request.location))
    report(build.config.on_error, f"{job.request.directive}: {problem[0]}", job.request.location,
           problem[1])


def draw_pending(app: Sphinx, env: BuildEnvironment) -> None:
    """env-updated: draw every figure that the pages read in this build lack."""
    docs = records(env)
    build = settings(env)
    uses: dict[str, list[tuple[FigureJob, str]]] = {}
    for docname in sorted(docs):
        doc = docs[docname]
        for request_id in doc.pending:
            job = job_for(build, doc.figures[request_id])
            uses.setdefault(job.key, []).append((job, docname))
        doc.pending.clear()
    if not uses:
        return
    results = {r.key: r for r in run_jobs([u[0][0] for u in uses.values()], build.parallel)}
    for key, key_uses in sorted(uses.items()):
        result = results[key]
        first, docname = key_uses[0]
        _settled(build, first, result, docname)
        if result.problem is not None:  # one warning per directive that asked for it
            for job, _ in key_uses:
                _report(build, job, result.problem)


def draw_for_writing(app: Sphinx, builder: Builder) -> None:
    """write-started, parallel builds only: draw in one pool what the running builder lacks
    for pages another builder read (``-j 2`` html, then ``-j 2`` latex on the same doctrees),
    rather than one by one as pages are written. Problems are reported with the pages."""
    build = settings(app.env)
    if build.parallel <= 1 or not build.draws or build.config.execute == "never":
        return
    cache = FigureCache(build.config.cache_dir)
    missing: dict[str, tuple[FigureJob, str]] = {}
    for docname, doc in sorted(records(app.env).items()):
        for request in doc.figures.values():
            job = job_for(build, request)
            if job.key not in missing and job.key not in build.outcomes:
                if cache.complete(job.key, job.themes, (job.fmt,)) is None:
                    missing[job.key] = (job, docname)
                else:
                    build.outcomes[job.key] = None
    if len(missing) > 1:
        for result in run_jobs([job for job, _ in missing.values()], build.parallel):
            job, docname = missing[result.key]
            _settled(build, job, result, docname)


def _request(env: BuildEnvironment, docname: str, request_id: str) -> FigureRequest | None:
    """The request behind an image: on the page written, or (LaTeX, singlehtml and other
    builders that assemble one tree from many pages) on any page."""
    docs = records(env)
    own = docs.get(docname)
    if own is not None and request_id in own.figures:
        return own.figures[request_id]  # type: ignore[no-any-return]
    for doc in docs.values():
        if request_id in doc.figures:
            return doc.figures[request_id]  # type: ignore[no-any-return]
    return None


def _outcome(build: BuildSettings, cache: FigureCache, job: FigureJob,
             docname: str) -> tuple[str, str] | None:
    """None when the job's files are in the cache (drawn now if need be), else the problem."""
    if job.key in build.outcomes:
        return build.outcomes[job.key]
    if cache.complete(job.key, job.themes, (job.fmt,)) is not None:
        build.outcomes[job.key] = None
        return None
    if build.config.execute == "never":
        build.outcomes[job.key] = DRAFT
        return DRAFT
    result = run_job(job)  # another builder read the page, or the cache lost the file
    _settled(build, job, result, docname)
    return result.problem


def _enclosing_figure(node: nodes.Node) -> nodes.figure | None:
    parent = node.parent
    while parent is not None and not isinstance(parent, nodes.figure):
        parent = parent.parent
    return parent


def _placeholder(directive: str) -> nodes.Element:
    box = nodes.container("", classes=["rfdocs-placeholder"])
    box += nodes.paragraph("", f"{directive} figure (not rendered: rfdocs_execute = \"never\")")
    return box


def resolve_images(env: BuildEnvironment, doctree: nodes.document, docname: str) -> None:
    """Every rfdocs image gets the file the writing builder shows (one candidate, never the
    metadata) and its computed alt text; a figure that cannot be drawn becomes an error box (a
    placeholder in draft mode)."""
    images = [n for n in doctree.findall(nodes.image) if n.get("rfdocs_request")]
    build = settings(env)
    if not images or not build.draws:
        return
    cache = FigureCache(build.config.cache_dir)
    srcdir = Path(env.srcdir)
    replaced: set[int] = set()
    for image in images:
        request = _request(env, docname, image["rfdocs_request"])
        if request is None:
            continue
        job = job_for(build, request)
        problem = _outcome(build, cache, job, docname)
        if problem is not None:
            figure = _enclosing_figure(image)
            if figure is None or figure.parent is None or id(figure) in replaced:
                continue  # replaced already, with the figure's other image
            replaced.add(id(figure))
            if problem == DRAFT:
                figure.parent.replace(figure, _placeholder(request.directive))
            else:
                _report(build, job, problem)
                figure.parent.replace(figure, error_box(f"{request.directive}: {problem[0]}"))
            continue
        path = cache.path(job.key, image["rfdocs_theme"], job.fmt)
        rel = os.path.relpath(path, srcdir).replace(os.sep, "/")
        image["uri"] = rel
        image["candidates"] = {guess_mimetype(str(path)) or f"image/{job.fmt}": rel}
        env.images.add_file(docname, rel)
        if image.get("rfdocs_auto_alt"):
            meta = cache.read_meta(job.key) or {}
            image["alt"] = str(meta.get("alt", ""))


class ResolveImages(SphinxPostTransform):
    """When a page (or an assembled tree) is written; before Sphinx's own image
    post-transforms (downloads at priority 100, data URIs 150, sphinx.ext.imgconverter 200),
    so they see the file the writing builder shows, and after dark images are dropped (5)."""

    default_priority = 50

    def run(self, **kwargs: Any) -> None:
        resolve_images(self.env, self.document, self.env.docname)


def setup_deferred(app: Sphinx) -> None:
    app.connect("env-updated", draw_pending)
    app.connect("write-started", draw_for_writing)
    app.add_post_transform(ResolveImages)
