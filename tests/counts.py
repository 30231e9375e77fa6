"""Counts of cases the robustness tests ran (printed at the end of the pytest run)."""

from __future__ import annotations

from collections import Counter

COUNTS: Counter[str] = Counter()


def count(what: str, n: int = 1) -> None:
    COUNTS[what] += n
