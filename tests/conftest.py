"""Print how many cases the fuzzing and brute-force tests ran, after the results."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from tests.counts import COUNTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not COUNTS:
        return
    terminalreporter.write_sep("-", "rfdocs: cases run")
    for what, n in sorted(COUNTS.items()):
        terminalreporter.write_line(f"{what}: {n:,}")
    total = sum(n for what, n in COUNTS.items() if what.startswith("fuzz"))
    terminalreporter.write_line(f"fuzz cases in all: {total:,}")



def _sphinx_mutable_defaults() -> dict[str, Any]:
    try:
        from sphinx.config import Config
    except ImportError:
        return {}
    return {name: copy.deepcopy(opt.default) for name, opt in Config.config_values.items()
            if isinstance(opt.default, (dict, list, set))}


# Taken when pytest loads this file, before any test (or module fixture) has built anything.
_PRISTINE = _sphinx_mutable_defaults()


@pytest.fixture(autouse=True)
def _fresh_sphinx_defaults() -> Iterator[None]:
    """Give every test the Sphinx config defaults a fresh process has.

    Sphinx copies its table of defaults shallowly, so an in-process build mutates shared default
    dicts (``source_suffix`` gains ``.md: markdown`` from myst-parser) and a later build with
    myst-nb would read Markdown with a parser it never registered. A user's build runs in a
    fresh process; so does each test, as far as these defaults go.
    """
    _restore_defaults()
    yield
    _restore_defaults()


def _restore_defaults() -> None:
    from sphinx.config import Config
    for name, value in _PRISTINE.items():
        default = Config.config_values[name].default
        default.clear()
        if isinstance(default, list):
            default.extend(copy.deepcopy(value))
        else:
            default.update(copy.deepcopy(value))
