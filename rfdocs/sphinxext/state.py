"""What rfdocs keeps on the build environment: this build's settings and, per document, the
figures it uses (merged across parallel reads, purged with the document)."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any

from sphinx.application import Sphinx
from sphinx.builders import Builder
from sphinx.environment import BuildEnvironment

from rfdocs.sphinxext.config import RfdocsConfig

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


def init_settings(app: Sphinx) -> None:
    """builder-inited: record this build's settings on the environment."""
    config = RfdocsConfig.from_app(app)
    builder = app.builder
    dark = is_html(builder) and config.dark_mode != "off"
    app.env.rfdocs_settings = BuildSettings(  # type: ignore[attr-defined]
        config, builder.name, image_format(builder), dark, is_html(builder), app.parallel,
        draws=bool(builder.format))
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

