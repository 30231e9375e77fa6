"""Per-layer numbers (shape, receptive field, jump, start, padding) as table rows of text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rfdocs.compute import Analysis, LayerInfo
from rfdocs.figures.text import TIMES, fmt_dims, fmt_num

COLUMNS = ("layer", "op", "output shape", "receptive field", "jump", "start", "padding", "aligned")


@dataclass(frozen=True)
class LayerTable:
    """Header and rows, every cell already text."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def to_text(self) -> str:
        """A plain aligned table (for terminals and text builders)."""
        cells = [self.header, *self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.header))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                 for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def _pair(values: Sequence[object]) -> str:
    """One number per spatial axis: '2' when every axis agrees, else '1×2' (or '1×2×2')."""
    texts = [fmt_num(v) for v in values]  # type: ignore[arg-type]
    return texts[0] if len(set(texts)) == 1 else TIMES.join(texts)


def layer_row(node: LayerInfo) -> tuple[str, ...]:
    return (
        node.name,
        node.op,
        fmt_dims(node.shape),
        fmt_dims(node.rf),
        _pair(node.jump),
        _pair(node.start),
        _pair(node.padding),
        "yes" if node.aligned else "no",
    )


def layer_table(analysis: Analysis, *, include_input: bool = True,
                layers: Sequence[str] | None = None) -> LayerTable:
    """Rows for the input (optionally) and each layer, or only the named ``layers``."""
    nodes = list(analysis.nodes if include_input else analysis.layers)
    if layers is not None:
        wanted = set(layers)
        nodes = [n for n in nodes if n.name in wanted]
    return LayerTable(COLUMNS, tuple(layer_row(n) for n in nodes))
