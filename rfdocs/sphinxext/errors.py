"""How rfdocs reports bad input in a page: one located, typed warning and an error box."""

from __future__ import annotations

from docutils import nodes
from sphinx.errors import SphinxError
from sphinx.util import logging

from rfdocs.messages import tidy

logger = logging.getLogger("rfdocs")


class RfdocsError(SphinxError):
    category = "rfdocs error"


def error_box(message: str) -> nodes.Element:
    """What a page shows where rfdocs could not make what it asked for."""
    return nodes.error("", nodes.paragraph("", f"rfdocs: {message}"), classes=["rfdocs-error"])


def report(app_config_on_error: str, message: str, location: str, subtype: str,
           lineno: int | None = None) -> list[nodes.Node]:
    """Log ``message`` (type ``rfdocs``, ``subtype``) at ``location`` and return an error box;
    raise instead when ``rfdocs_on_error = "raise"``. Values quoted whole are cut short."""
    message = tidy(message)
    if app_config_on_error == "raise":
        raise RfdocsError(f"{location}: {message}")
    logger.warning(message, location=location, type="rfdocs", subtype=subtype)
    box = error_box(message)
    if lineno is not None:
        box.line = lineno
    return [box]


def report_inline(app_config_on_error: str, message: str, location: str, subtype: str,
                  rawtext: str) -> list[nodes.Node]:
    """Like ``report``, for a role: the role's text marked as a problem where it stands (an
    error box would put a block inside the paragraph)."""
    message = tidy(message)
    if app_config_on_error == "raise":
        raise RfdocsError(f"{location}: {message}")
    logger.warning(message, location=location, type="rfdocs", subtype=subtype)
    return [nodes.problematic(rawtext, rawtext, classes=["rfdocs-error"])]


class FigureProblem(Exception):
    """Bad input found while handling a directive: becomes one located warning and an error box.
    ``line_offset`` is the line within the directive body, where known."""

    def __init__(self, message: str, subtype: str, line_offset: int | None = None) -> None:
        self.subtype = subtype
        self.line_offset = line_offset
        super().__init__(message)
