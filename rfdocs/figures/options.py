"""Declarative figure options: one definition feeds the CLI, figure files and Sphinx directives."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rfdocs.messages import quote, shorten, tidy


class OptionError(ValueError):
    """A figure option with a value outside what is allowed; names the option."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        self.message = tidy(message)  # converters of every kind may quote a value whole
        super().__init__(f"option {option!r}: {self.message}")


Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class Option:
    """One option: its name, how text or a YAML value becomes a value, its default and help."""

    name: str
    convert: Converter
    default: Any
    allowed: str  # what is allowed, in words (used in messages and the reference docs)
    help: str

    def parse(self, value: Any) -> Any:
        try:
            return self.convert(value)
        except OptionError:
            raise
        except (ValueError, TypeError, OverflowError, RecursionError):
            raise OptionError(self.name, f"expected {self.allowed}, got {quote(value)}") from None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else str(value)


#: Numbers are written in ASCII digits (int() and float() would also read '٣', '1_0' or
#: 'infinity'); a number of more than MAX_DIGITS digits is refused before conversion (Python
#: converts at most 4,300).
MAX_DIGITS = 30
_INTEGER = re.compile(rf"[+-]?[0-9]{{1,{MAX_DIGITS}}}")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")


def int_range(lo: int, hi: int) -> Converter:
    def convert(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(value)
        if isinstance(value, int):
            number = value
        else:
            text = _text(value)
            if not _INTEGER.fullmatch(text):
                raise ValueError(value)
            number = int(text)
        if not lo <= number <= hi:
            raise ValueError(number)
        return number
    return convert


def float_range(lo: float, hi: float) -> Converter:
    """A finite number from ``lo`` to ``hi`` (NaN, infinities and overflow are refused)."""
    def convert(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError(value)
        if isinstance(value, int | float):
            number = float(value)  # OverflowError for a huge int
        else:
            text = _text(value)
            if not _DECIMAL.fullmatch(text) or len(text) > 100:
                raise ValueError(value)
            number = float(text)
        if not math.isfinite(number) or not lo <= number <= hi:
            raise ValueError(number)
        return number
    return convert


def int_pair(lo: int, hi: int) -> Converter:
    """'12,30', '12x30', '12 30', [12, 30] or a single 12 (both axes)."""
    one = int_range(lo, hi)

    def convert(value: Any) -> tuple[int, int]:
        if isinstance(value, list | tuple):
            parts = list(value)
        else:
            parts = [p for p in re.split(r"[,x\s]+", _text(value).strip("()[] ")) if p]
        if len(parts) == 1:
            parts = parts * 2
        if len(parts) != 2:
            raise ValueError(value)
        return (one(parts[0]), one(parts[1]))
    return convert


def choice(*names: str) -> Converter:
    def convert(value: Any) -> str:
        text = _text(value).lower()
        if text not in names:
            raise ValueError(value)
        return text
    return convert


def flag(value: Any) -> bool:
    """A flag: empty (present), yes/no, true/false, on/off, 1/0."""
    if isinstance(value, bool):
        return value
    text = "" if value is None else _text(value).lower()
    if text in ("", "yes", "true", "on", "1"):
        return True
    if text in ("no", "false", "off", "0"):
        return False
    raise ValueError(value)


#: Characters of a name (a layer's): spec layer names have the same limit.
MAX_NAME = 128


def name_list(max_items: int) -> Converter:
    """'a, b c' or a YAML list -> tuple of words."""
    def convert(value: Any) -> tuple[str, ...]:
        if isinstance(value, list | tuple):
            if len(value) > max_items:
                raise ValueError(value)
            items = [str(v) for v in value]
        else:
            items = [p for p in re.split(r"[,\s]+", _text(value)) if p]
        if not items or len(items) > max_items or any(len(i) > MAX_NAME for i in items):
            raise ValueError(value)
        return tuple(items)
    return convert


def word(value: Any) -> str:
    text = _text(value)
    if len(text) > MAX_NAME or not re.fullmatch(r"[A-Za-z_][\w.\-]*", text):
        raise ValueError(value)
    return text


def resolve_options(options: Sequence[Option], given: Mapping[str, Any]) -> dict[str, Any]:
    """Validated values for every option (defaults filled in); unknown names are an error."""
    known = {o.name: o for o in options}
    for name in given:
        if name not in known:
            raise OptionError(shorten(str(name), 40), "unknown option; allowed: "
                              + (", ".join(sorted(known)) or "none"))
    return {o.name: (o.parse(given[o.name]) if o.name in given else o.default)
            for o in options}
