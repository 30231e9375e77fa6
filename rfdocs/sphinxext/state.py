"""What rfdocs keeps on the build environment: this build's settings and, per document, the
figures it uses (merged across parallel reads, purged with the document)."""

from __future__ import annotations

import tempfile
from collections.abc import Set
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.builders import Builder
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from rfdocs.sphinxext.cache import CacheUnusable, Lease, claim
from rfdocs.sphinxext.config import RfdocsConfig

logger = logging.getLogger("rfdocs")

# Preferred image format per builder, from what the builder can show.
_FORMAT_BY_MIMETYPE = (("image/svg+xml", "svg"), ("application/pdf", "pdf"), ("image/png", "png"))


@dataclass(frozen=True)
class BuildSettings:
    """The configuration plus what the current builder needs, and what this build drew."""

    config: RfdocsConfig
    builder: str
    image_format: str
    dark: bool  # also draw dark variants (HTML builders, dark mode not off)
    html: bool  # an HTML builder (not EPUB): animations are shown
    parallel: int = 1  # sphinx-build -j: figures missing after reading are drawn in a pool
    draws: bool = True  # False for builders that write no document (gettext, linkcheck, ...)
    lease: Lease | None = None  # this build's claim on the cache folder
    temporary_cache: bool = False  # the configured folder could not be used
    #: Cache keys settled in this build: None when the files are there, else the problem.
    outcomes: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    #: (key, location) pairs whose problem this build has already reported.
    reported: set[tuple[str, str]] = field(default_factory=set)
    #: (key, seconds) of every figure drawn in this build.
    rendered: list[tuple[str, float]] = field(default_factory=list)

    @property
    def themes(self) -> tuple[str, ...]:
        """The themes this builder shows."""
        return ("light", "dark") if self.dark else ("light",)

    @property
    def page_themes(self) -> tuple[str, ...]:
        """The themes a page's doctree names, whichever builder read it (builders that show
        fewer drop the rest when they write)."""
        return ("light",) if self.config.dark_mode == "off" else ("light", "dark")


@dataclass
class DocRecord:
    """Figures of one document, independent of the builder that read it: every request by
    its id, the cache keys any builder may use for them, and the cache hits when read."""

    keys: set[str] = field(default_factory=set)
    figures: dict[str, Any] = field(default_factory=dict)  # request id -> FigureRequest
    #: Requests read in this build whose files the reading builder lacked.
    pending: list[str] = field(default_factory=list)
    cached: int = 0
    #: The compute and figure code that produced this document's numbers and figures.
    fingerprint: str = ""


def image_format(builder: Builder) -> str:
    supported = set(builder.supported_image_types)
    for mimetype, fmt in _FORMAT_BY_MIMETYPE:
        if mimetype in supported:
            return fmt
    return "png"  # text, man, ...: they show the alt text; the file keeps the image collector quiet


def is_html(builder: Builder) -> bool:
    return builder.format == "html" and not builder.name.startswith("epub")


def setting_location(app: Sphinx, name: str) -> str:
    """``conf.py:LINE`` where ``name`` is assigned (``conf.py:1`` when it is not), for warnings
    about a configuration value."""
    conf = Path(app.confdir) / "conf.py"
    try:
        lines = conf.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    found = next((i for i, line in enumerate(lines, 1)
                  if line.split("=", 1)[0].strip() == name and "=" in line), 1)
    return f"{conf}:{found}"


def open_cache(app: Sphinx, config: RfdocsConfig) -> tuple[RfdocsConfig, Lease | None, bool]:
    """Claim the cache folder and take a lease on it for this build. A folder that cannot be
    used (not writable, full, a file, or holding other files) gets one warning naming it and
    the setting, and this build draws into a temporary folder instead (correct, only slower).
    Returns the configuration to use, the lease, and whether the folder is temporary."""
    try:
        claim(config.cache_dir)
        return config, Lease(config.cache_dir), False
    except (CacheUnusable, OSError) as err:
        reason = str(err) if isinstance(err, CacheUnusable) else f"{config.cache_dir}: {err}"
    setting = ("rfdocs_cache_dir" if app.config.rfdocs_cache_dir else
               "the default <doctrees>/rfdocs-cache; set rfdocs_cache_dir to move it")
    temporary = Path(tempfile.mkdtemp(prefix="rfdocs-cache-"))
    logger.warning(f"rfdocs: the figure cache folder ({setting}) cannot be used: {reason}. "
                   f"This build draws its figures into a temporary folder instead.",
                   type="rfdocs", subtype="cache", location=setting_location(app, "rfdocs_cache_dir"))
    claim(temporary)
    return replace(config, cache_dir=temporary), Lease(temporary), True


def init_settings(app: Sphinx) -> None:
    """builder-inited: record this build's settings on the environment."""
    config, lease, temporary = open_cache(app, RfdocsConfig.from_app(app))
    builder = app.builder
    dark = is_html(builder) and config.dark_mode != "off"
    app.env.rfdocs_settings = BuildSettings(  # type: ignore[attr-defined]
        config, builder.name, image_format(builder), dark, is_html(builder), app.parallel,
        draws=bool(builder.format), lease=lease, temporary_cache=temporary)
    if not hasattr(app.env, "rfdocs_docs"):
        app.env.rfdocs_docs = {}  # type: ignore[attr-defined]
    # Cache counts are per build, but the environment was pickled with the last build's
    # counts (before build-finished could clear them): start from zero.
    for doc in records(app.env).values():
        doc.cached = 0
        doc.pending.clear()


def settings(env: BuildEnvironment) -> BuildSettings:
    value = env.rfdocs_settings  # type: ignore[attr-defined]
    assert isinstance(value, BuildSettings)
    return value


def records(env: BuildEnvironment) -> dict[str, DocRecord]:
    if not hasattr(env, "rfdocs_docs"):
        env.rfdocs_docs = {}  # type: ignore[attr-defined]
    value = env.rfdocs_docs  # type: ignore[attr-defined]
    assert isinstance(value, dict)
    return value


def record(env: BuildEnvironment) -> DocRecord:
    return records(env).setdefault(env.docname, DocRecord())


def purge_doc(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    records(env).pop(docname, None)


def merge_info(app: Sphinx, env: BuildEnvironment, docnames: Set[str],
               other: BuildEnvironment) -> None:
    mine, theirs = records(env), records(other)
    for name in docnames:
        if name in theirs:
            mine[name] = theirs[name]

