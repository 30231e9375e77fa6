"""Print how many cases the fuzzing and brute-force tests ran, after the results."""

from __future__ import annotations

from typing import Any

from tests.counts import COUNTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not COUNTS:
        return
    terminalreporter.write_sep("-", "rfdocs: cases run")
    for what, n in sorted(COUNTS.items()):
        terminalreporter.write_line(f"{what}: {n:,}")
    total = sum(n for what, n in COUNTS.items() if what.startswith("fuzz"))
    terminalreporter.write_line(f"fuzz cases in all: {total:,}")
