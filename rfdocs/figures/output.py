"""Deterministic SVG, PNG, PDF and GIF bytes from a Figure, and atomic file writes."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

FORMATS = ("svg", "png", "pdf")

_METADATA: dict[str, dict[str, str | None]] = {
    "svg": {"Date": None, "Creator": "rfdocs"},
    "png": {"Software": "rfdocs"},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": "rfdocs", "Producer": "rfdocs"},
}


def figure_bytes(fig: Figure, fmt: str, *, dpi: float = 150) -> bytes:
    """The figure encoded as ``fmt``; the same figure always gives the same bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    buf = io.BytesIO()
    # rcParams are per process; Sphinx parallel builds fork processes, so this is safe there.
    with matplotlib.rc_context({"svg.hashsalt": "rfdocs", "svg.fonttype": "path",
                                "pdf.fonttype": 42}):
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=_METADATA[fmt], transparent=True)
    return buf.getvalue()


def format_of(path: Path) -> str:
    """The output format named by a file's suffix."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS + ("gif",):
        raise ValueError(f"cannot tell the format of {str(path)!r}: use a .svg, .png, .pdf "
                         "(or, for animated figures, .gif) suffix")
    return fmt
