"""Named convolution kernels and a small, eval-free parser for kernel specs and explicit matrices.

A kernel spec is one of

* a name: ``identity``, ``box``, ``sobel-x``, ``sobel-y``, ``laplacian``, ``sharpen``,
  ``emboss``, ``gaussian``, ``random``;
* a name with arguments: ``box(5)``, ``identity(1)``, ``gaussian(7, 1.5)`` (size, sigma),
  ``random(3, 42)`` (size, seed);
* an explicit matrix: ``[[1, 0, -1], [2, 0, -2], [1, 0, -1]]``, rows of equal length, whose
  numbers may be written as integers, decimals (``0.25``, ``-1e-2``) or fractions (``1/9``).

Matrices are read by a tokenizer and a recursive-descent parser, never by ``eval``.
Kernels are float64 arrays of shape ``(kh, kw)``, applied as cross-correlation (the deep-learning
convention: no kernel flip).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from rfdocs.messages import quote

FloatArray = NDArray[np.float64]

MAX_KERNEL_SIZE = 31  # per axis; larger kernels make unreadable figures and slow builds
MAX_SPEC_LENGTH = 4000
MAX_SEED = 2**31 - 1  # as the figures' :seed: options
#: Largest magnitude of a matrix entry: four layers of 31×31×3 kernels on values in [0, 1]
#: then stay far below float64's range (no overflow, no inf or NaN in a figure).
MAX_ENTRY = 1e6

_FIXED: dict[str, list[list[float]]] = {
    "sobel-x": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "sobel-y": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}
#: name -> (argument names, default arguments) for the kernels that take arguments.
_PARAMETRIC: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "identity": (("size",), (3,)),
    "box": (("size",), (3,)),
    "gaussian": (("size", "sigma"), (5, 1.0)),
    "random": (("size", "seed"), (3, 0)),
}
KERNEL_NAMES: tuple[str, ...] = ("identity", "box", "sobel-x", "sobel-y", "laplacian", "sharpen",
                                 "emboss", "gaussian", "random")


@dataclass(frozen=True)
class Kernel:
    """A named 2-D kernel (``weights`` has shape ``(kh, kw)``)."""

    name: str
    weights: FloatArray = field(compare=False)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.weights.shape[0]), int(self.weights.shape[1]))


def gaussian_kernel(size: int, sigma: float) -> FloatArray:
    """``exp(-(x² + y²) / 2σ²)`` sampled on a ``size``×``size`` grid centred on 0, summing to 1.

    Computed as ``exp(-(x² - x₀²) / 2σ²)`` with ``x₀`` the sample nearest the centre, so the
    largest samples are exactly 1 for every σ: a σ of 1e-300 gives the centre alone (no 0/0),
    one of 1e308 a box (no overflow)."""
    _check_size(size)
    if not (sigma > 0 and math.isfinite(sigma)):
        raise ValueError(f"gaussian sigma must be a positive number, got {quote(sigma)}")
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    excess = x ** 2 - np.min(x ** 2)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        exponent = np.where(excess == 0, 0.0, excess / (2.0 * sigma * sigma))
        g = np.exp(-exponent)
    k: FloatArray = np.outer(g, g)
    return k / float(k.sum())


def random_bank(count: int, size: int, seed: int, depth: int = 1) -> FloatArray:
    """``count`` kernels of ``size``×``size``×``depth`` drawn i.i.d. from N(0, 2 / fan_in) (He
    initialisation, fan_in = size²·depth); shape ``(size, size, depth, count)`` as conv2d expects.

    The same ``seed`` always gives the same bank (numpy's PCG64 generator)."""
    _check_size(size)
    if count < 1 or depth < 1:
        raise ValueError("a random bank needs at least one kernel and one channel")
    rng = np.random.default_rng(seed)
    fan_in = size * size * depth
    bank = rng.standard_normal((count, depth, size, size)) * math.sqrt(2.0 / fan_in)
    return np.ascontiguousarray(bank.transpose(2, 3, 1, 0))


def named_kernel(name: str, *args: float) -> FloatArray:
    """The kernel called ``name`` (see ``KERNEL_NAMES``), with optional size/sigma/seed arguments."""
    key = name.strip().lower()
    if key in _FIXED:
        if args:
            raise ValueError(f"kernel {key!r} takes no arguments (it is always 3×3)")
        return np.array(_FIXED[key], dtype=np.float64)
    if key not in _PARAMETRIC:
        raise ValueError(f"unknown kernel {quote(name)}; allowed: {', '.join(KERNEL_NAMES)} "
                         "or a matrix like [[1,0,-1],[2,0,-2],[1,0,-1]]")
    arg_names, defaults = _PARAMETRIC[key]
    if len(args) > len(arg_names):
        raise ValueError(f"kernel {key!r} takes at most {len(arg_names)} arguments "
                         f"({', '.join(arg_names)}), got {len(args)}")
    values = tuple(args) + defaults[len(args):]
    size = _whole(values[0], f"{key} size")
    _check_size(size)
    if key == "identity":
        if size % 2 == 0:
            raise ValueError(f"identity size must be odd (it has a centre), got {size}")
        k = np.zeros((size, size))
        k[size // 2, size // 2] = 1.0
        return k
    if key == "box":
        return np.full((size, size), 1.0 / (size * size))
    if key == "gaussian":
        return gaussian_kernel(size, float(values[1]))
    seed = _whole(values[1], "random seed")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"random seed must be 0 or more, at most {MAX_SEED}; got {_fmt(seed)}")
    return random_bank(1, size, seed)[:, :, 0, 0]


def parse_kernel(spec: str) -> Kernel:
    """A kernel from its spec text (a name, a name with arguments, or an explicit matrix)."""
    text = spec.strip()
    if not text:
        raise ValueError("empty kernel spec")
    if len(text) > MAX_SPEC_LENGTH:
        raise ValueError(f"kernel spec is longer than {MAX_SPEC_LENGTH} characters")
    if text.startswith("["):
        weights = parse_matrix(text)
        return Kernel(_matrix_label(weights), weights)
    match = re.fullmatch(r"([A-Za-z][\w\-]*)\s*(?:\((.*)\))?", text, flags=re.DOTALL)
    if match is None:
        raise ValueError(f"cannot read kernel {quote(text)}: expected a name such as 'sobel-x', "
                         "'gaussian(5, 1.0)', or a matrix like [[1,0,-1],[2,0,-2],[1,0,-1]]")
    name, arg_text = match.group(1).lower(), match.group(2)
    args: list[float] = []
    if arg_text is not None and arg_text.strip():
        for part in arg_text.split(","):
            args.append(_number(part.strip(), f"argument of {name}"))
    label = name if arg_text is None or not args else f"{name}({', '.join(_fmt(a) for a in args)})"
    return Kernel(label, named_kernel(name, *args))


def split_specs(text: str) -> list[str]:
    """'sobel-x, gaussian(5, 1), [[1,0],[0,-1]]' -> the three specs (commas inside brackets
    and parentheses do not split)."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unbalanced {ch!r} in kernel list {quote(text)}")
        if depth == 0 and (ch == "," or ch.isspace()):
            if current:
                parts.append("".join(current))
                current = []
            continue
        current.append(ch)
    if depth != 0:
        raise ValueError(f"unclosed bracket in kernel list {quote(text)}")
    if current:
        parts.append("".join(current))
    # 'gaussian (5, 1)' : re-attach an argument list separated from its name by a space
    merged: list[str] = []
    for part in parts:
        if part.startswith("(") and merged:
            merged[-1] += part
        else:
            merged.append(part)
    return merged


# --- the matrix parser ------------------------------------------------------------------------

# Numbers in ASCII digits only (float() would also read '١٢' or '1_0').
_DECIMAL = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER = re.compile(rf"{_DECIMAL}(?:/{_DECIMAL})?")
_TOKEN = re.compile(r"\s*(?:(?P<num>[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                    r"(?:/[0-9]+(?:\.[0-9]*)?)?)|(?P<sym>[\[\],;]))")


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            bad = text[pos:].lstrip()[:12]
            raise ValueError(f"unexpected {quote(bad)} in matrix at character {pos + 1}: only numbers, "
                             "'[', ']' and ',' are allowed")
        tokens.append(match.group("num") or match.group("sym"))
        pos = match.end()
    return tokens


def parse_matrix(text: str) -> FloatArray:
    """'[[1,0,-1],[2,0,-2],[1,0,-1]]' -> a (3, 3) float array; also a single row '[1, 2, 1]'."""
    tokens = _tokenize(text)
    pos = 0

    def expect(tok: str) -> None:
        nonlocal pos
        got = tokens[pos] if pos < len(tokens) else "the end"
        if got != tok:
            raise ValueError(f"expected {tok!r} in matrix {quote(text.strip())}, found "
                             f"{quote(got)}")
        pos += 1

    def row() -> list[float]:
        nonlocal pos
        expect("[")
        values: list[float] = []
        while True:
            tok = tokens[pos] if pos < len(tokens) else "the end"
            if tok in "[],;" or tok == "the end":
                raise ValueError(f"expected a number in matrix {quote(text.strip())}, found "
                                 f"{quote(tok)}")
            value = _number(tok, "matrix entry")
            if abs(value) > MAX_ENTRY:
                raise ValueError(f"matrix entry {quote(tok)} is too large: entries lie between "
                                 f"-{MAX_ENTRY:g} and {MAX_ENTRY:g}")
            values.append(value)
            pos += 1
            if pos < len(tokens) and tokens[pos] == ",":
                pos += 1
                continue
            break
        expect("]")
        return values

    if len(tokens) >= 2 and tokens[0] == "[" and tokens[1] == "[":
        pos = 1
        rows = [row()]
        while pos < len(tokens) and tokens[pos] == ",":
            pos += 1
            rows.append(row())
        expect("]")
    else:
        rows = [row()]
    if pos != len(tokens):
        raise ValueError(f"unexpected {quote(tokens[pos])} after the end of matrix "
                         f"{quote(text.strip())}")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ValueError(f"matrix rows have different lengths {quote([len(r) for r in rows])} "
                         f"in {quote(text.strip())}")
    array = np.array(rows, dtype=np.float64)
    if array.shape[0] > MAX_KERNEL_SIZE or array.shape[1] > MAX_KERNEL_SIZE:
        raise ValueError(f"matrix is {array.shape[0]}×{array.shape[1]}; at most "
                         f"{MAX_KERNEL_SIZE}×{MAX_KERNEL_SIZE} is allowed")
    return array


def _number(token: str, what: str) -> float:
    """'3', '-0.5', '1e-3' or '1/9' -> a finite float."""
    if not _NUMBER.fullmatch(token):
        raise ValueError(f"{what} {quote(token)} is not a number (digits 0 to 9, a decimal "
                         "point, an exponent like 1e-3 or a fraction like 1/9)")
    try:
        if "/" in token:
            num, den = token.split("/")
            value = float(num) / float(den)
        else:
            value = float(token)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{what} {quote(token)} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} {quote(token)} is not a finite number")
    return value


def _whole(value: float, what: str) -> int:
    if float(value) != int(value):
        raise ValueError(f"{what} must be a whole number, got {_fmt(value)}")
    return int(value)


def _check_size(size: int) -> None:
    if not 1 <= size <= MAX_KERNEL_SIZE:
        raise ValueError(f"kernel size must be 1 to {MAX_KERNEL_SIZE}, got {quote(size)}")


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


def _matrix_label(weights: FloatArray) -> str:
    """A short label for an explicit matrix: the matrix itself when small, else its shape."""
    if weights.size <= 4:
        return "[" + ", ".join("[" + ",".join(_fmt(v) for v in r) + "]" for r in weights) + "]"
    return f"{weights.shape[0]}×{weights.shape[1]} matrix"
