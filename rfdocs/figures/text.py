"""Formatting computed numbers for labels, captions and alt text (one place, one style)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

TIMES = "\u00d7"  # the multiplication sign used in every label


def fmt_num(value: int | float | Fraction) -> str:
    """12, 2.5 or 1/3 -> '12', '2.5', '0.333'."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        value = float(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.3g}"
    return str(value)


def fmt_dims(values: Sequence[int | float | Fraction]) -> str:
    """(50, 50, 3) -> '50×50×3'."""
    return TIMES.join(fmt_num(v) for v in values)


def fmt_count(n: int) -> str:
    """1234 -> '1,234'."""
    return f"{n:,}"
