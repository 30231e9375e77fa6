"""Quoting what a page, a spec or a command line gave, in messages: short enough to read."""

from __future__ import annotations

import math
import re
import reprlib

#: About how many characters of a user's value a message repeats.
QUOTE_LIMIT = 80
#: The most characters a whole message keeps (``tidy``).
MESSAGE_LIMIT = 500

_SHORT = reprlib.Repr()
_SHORT.maxlevel = 3
_SHORT.maxstring = QUOTE_LIMIT
_SHORT.maxother = QUOTE_LIMIT
_SHORT.maxlong = 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 8


def digit_count(number: int) -> int:
    """Decimal digits of ``number`` without converting it to text (Python refuses to convert
    integers of more than 4,300 digits)."""
    bits = abs(number).bit_length()
    if bits <= 1000:
        return len(str(abs(number)))
    return int(bits * math.log10(2)) + 1  # exact to within one digit


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` for a message, cut after about ``limit`` characters with an ellipsis
    and the full length: ``'xxxx…' (300,000 characters)``. Never fails (huge integers, deep
    nesting)."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value).bit_length() > 256:
        return f"a {digit_count(value):,}-digit number"
    try:
        text = _SHORT.repr(value)
    except (ValueError, RecursionError):  # an integer too long for text deep inside
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[:limit] + "…"


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` itself (not its repr), cut after ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[:limit] + "…"


_LONG_WORD = re.compile(rf"\S{{{QUOTE_LIMIT + 1},}}")


def tidy(message: str) -> str:
    """A safety net for messages that quote a value without ``quote``: every word longer than
    QUOTE_LIMIT characters (a message's own words never are) cut with an ellipsis, and a message
    still longer than MESSAGE_LIMIT cut in the middle, keeping its end (what is allowed)."""
    if len(message) <= QUOTE_LIMIT:
        return message
    message = _LONG_WORD.sub(lambda m: m.group()[:QUOTE_LIMIT] + "…", message)
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT - 120] + " … " + message[-117:]
    return message
