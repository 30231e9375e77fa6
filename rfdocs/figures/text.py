"""Formatting computed numbers for labels, captions and alt text (one place, one style)."""

from __future__ import annotations

import math
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


MINUS = "\u2212"  # the minus sign used in labels (not a hyphen)


def fmt_short(value: float) -> str:
    """A label-sized number: two significant digits below 10, whole numbers above, a real
    minus sign: -2.137 -> '−2.1', 0.0123 -> '0.012', 345.6 -> '346'."""
    if value == 0 or not math.isfinite(value):
        text = "0" if value == 0 else str(value)
    elif abs(value) >= 10:
        text = f"{value:.0f}"
    elif abs(value) >= 0.001:
        text = f"{value:.2g}"
    else:
        text = f"{value:.0e}".replace("e-0", "e-")
    return text.replace("-", MINUS)


def fmt_range(lo: float, hi: float) -> str:
    """A value range for a label: (-2.137, 3.41) -> '−2.1…3.4'."""
    return f"{fmt_short(lo)}\u2026{fmt_short(hi)}"
