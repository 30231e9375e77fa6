"""The Sphinx extension: directives and a role that compute and draw at build time."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.environment import BuildEnvironment
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

import rfdocs
from rfdocs.sphinxext.cache import FigureCache, code_fingerprint, code_stamp
from rfdocs.sphinxext.config import setup_config
from rfdocs.sphinxext.deferred import setup_deferred
from rfdocs.sphinxext.directives import setup_directives
from rfdocs.sphinxext.explorer import setup_explorer
from rfdocs.sphinxext.latex import setup_latex
from rfdocs.sphinxext.reproducible import setup_reproducible
from rfdocs.sphinxext.roles import setup_roles
from rfdocs.sphinxext.state import (
    BuildSettings,
    init_settings,
    is_html,
    merge_info,
    purge_doc,
    records,
    settings,
)

logger = logging.getLogger("rfdocs")

STATIC = Path(__file__).resolve().parent.parent / "static"


class DropDarkImages(SphinxPostTransform):
    """Non-HTML builders (and EPUB) show only the light figure."""

    default_priority = 5

    def run(self, **kwargs: Any) -> None:
        if settings(self.env).dark:  # an HTML builder (not EPUB) with dark mode on
            return
        for image in list(self.document.findall(nodes.image)):
            if "rfdocs-dark" in image.get("classes", []):
                image.parent.remove(image)


def add_static_path(app: Sphinx, config: Config) -> None:
    """config-inited, as sphinx.ext.graphviz does: added later, the pickled environment's
    configuration would differ from the next build's and report a change every build."""
    config.html_static_path.append(str(STATIC))


def add_static(app: Sphinx) -> None:
    """builder-inited: our CSS for HTML builders."""
    init_settings(app)
    if is_html(app.builder):
        app.add_css_file("rfdocs.css")
        if app.config.rfdocs_dark_mode == "media":
            app.add_css_file("rfdocs-media.css")


def warm_up(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """env-before-read-docs: before a parallel read forks its workers, load what every worker
    would otherwise load again for itself (the code fingerprint always; the figure modules and
    matplotlib when the cache is empty, i.e. a cold build that will draw)."""
    if not docnames:
        return  # a no-op rebuild: nothing to warm
    current_fingerprint(env)  # also recorded on the environment for the next build
    build = settings(env)
    cold = not any(build.config.cache_dir.glob("*.json")) if build.config.cache_dir.is_dir() else True
    if app.parallel > 1 and len(docnames) > 1 and cold and build.config.execute != "never":
        from rfdocs.figures import KIND_MODULES, get_kind

        for kind in KIND_MODULES:
            get_kind(kind)


def outdated_by_code(app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str],
                     removed: set[str]) -> list[str]:
    """env-get-outdated: pages whose numbers or figures came from other rfdocs code (an
    upgrade, a local edit) are read again, so they are recomputed and redrawn."""
    docs = records(env)
    if not docs:
        return []
    current = current_fingerprint(env)
    return sorted(name for name, doc in docs.items()
                  if name in env.all_docs and getattr(doc, "fingerprint", "") not in ("", current))


def current_fingerprint(env: BuildEnvironment) -> str:
    """The code fingerprint, read from the environment while the code's stamp is unchanged (a
    build with nothing to do reads no source file and no package metadata)."""
    stamp = code_stamp()
    memo = getattr(env, "rfdocs_code", None)
    if isinstance(memo, tuple) and len(memo) == 2 and memo[0] == stamp:
        return str(memo[1])
    current = code_fingerprint()
    env.rfdocs_code = (stamp, current)  # type: ignore[attr-defined]
    return current


def finish(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: prune unreferenced figures, print a timing summary, give up the lease
    on the cache (a temporary cache is removed)."""
    build = settings(app.env)
    try:
        if exception is None:
            summarise(app.env, build)
    finally:
        if build.lease is not None:
            build.lease.release()
        if build.temporary_cache:
            shutil.rmtree(build.config.cache_dir, ignore_errors=True)


def summarise(env: BuildEnvironment, build: BuildSettings) -> None:
    docs = records(env)
    keep = set().union(*(d.keys for d in docs.values())) if docs else set()
    formats = {build.image_format, "gif"} if build.html else {build.image_format}
    removed = 0
    if build.draws and not build.temporary_cache:
        try:
            removed = FigureCache(build.config.cache_dir).prune(
                keep, formats, build.lease, unless_settled=not build.rendered)
        except OSError as err:
            logger.warning(f"rfdocs: could not remove unused figures from the cache folder "
                           f"{build.config.cache_dir}: {err.strerror or err}", type="rfdocs",
                           subtype="cache")
    seconds = [s for _, s in build.rendered]
    cached = sum(d.cached for d in docs.values())
    for d in docs.values():  # report each cache hit once, not again on the next build
        d.cached = 0
    if seconds or cached or removed:
        logger.info(f"rfdocs: {len(seconds)} figure(s) rendered in {sum(seconds):.2f} s, "
                    f"{cached} from cache, {removed} stale file(s) pruned")


def setup(app: Sphinx) -> dict[str, Any]:
    setup_config(app)
    setup_directives(app)
    setup_roles(app)
    setup_explorer(app)
    setup_reproducible(app)
    setup_latex(app)
    setup_deferred(app)
    app.add_post_transform(DropDarkImages)
    app.connect("config-inited", add_static_path)
    app.connect("builder-inited", add_static)
    app.connect("env-purge-doc", purge_doc)
    app.connect("env-merge-info", merge_info)
    app.connect("env-get-outdated", outdated_by_code)
    app.connect("env-before-read-docs", warm_up)
    app.connect("build-finished", finish)
    return {"version": rfdocs.__version__, "env_version": 2, "parallel_read_safe": True,
            "parallel_write_safe": True}
