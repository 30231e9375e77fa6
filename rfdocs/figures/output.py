"""Deterministic SVG, PNG, PDF and GIF bytes from a Figure, and atomic file writes."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from rfdocs.compute.budget import Budget

FORMATS = ("svg", "png", "pdf")

_METADATA: dict[str, dict[str, str | None]] = {
    "svg": {"Date": None, "Creator": "rfdocs"},
    "png": {"Software": "rfdocs"},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": "rfdocs", "Producer": "rfdocs"},
}


def figure_bytes(fig: Figure, fmt: str, *, dpi: float = 150, budget: Budget | None = None) -> bytes:
    """The figure encoded as ``fmt``; the same figure always gives the same bytes.  What drawing
    it at ``dpi`` will cost is checked against ``budget`` (default: the default budget) first:
    a BudgetError (a ValueError) rather than an out-of-memory crash at a huge dpi."""
    from rfdocs.figures.cost import drawing_cost

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    lower = ["rfdocs_png_dpi"] if fmt == "png" else []
    (budget or Budget()).check(drawing_cost(fig, fmt, dpi),
                               f"drawing the figure as {fmt.upper()} at {dpi:g} dpi", lower)
    buf = io.BytesIO()
    # rcParams are per process; Sphinx parallel builds fork processes, so this is safe there.
    with matplotlib.rc_context({"svg.hashsalt": "rfdocs", "svg.fonttype": "path",
                                "pdf.fonttype": 42}):
        if fmt == "svg":  # matplotlib's bytes, its text layouts remembered across figures
            from rfdocs.figures.svgtext import svg_text

            return svg_text(fig, dpi=dpi, metadata=_METADATA[fmt],
                            transparent=True).encode("utf-8")
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=_METADATA[fmt], transparent=True)
    return buf.getvalue()


def format_of(path: Path) -> str:
    """The output format named by a file's suffix."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS + ("gif",):
        raise ValueError(f"cannot tell the format of {str(path)!r}: use a .svg, .png, .pdf "
                         "(or, for animated figures, .gif) suffix")
    return fmt
