"""The one exception the Python API raises for bad input (light: importing it loads nothing else)."""

from __future__ import annotations

from rfdocs.messages import tidy


class RfdocsError(ValueError):
    """Bad input to rfdocs: an unknown figure kind, a bad option, a bad spec, a missing file, a
    network of a dimension the kind does not draw, a budget exceeded.  Its message is one line,
    the one the ``rfdocs`` command prints after ``rfdocs: `` for the same input."""

    def __init__(self, message: str) -> None:
        super().__init__(tidy(" ".join(message.split())))
