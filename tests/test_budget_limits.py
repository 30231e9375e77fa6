"""Every kind at the largest values its options allow, in a process limited to 1.5 GiB of address
space (``prlimit --as``): each renders or is refused with the budget message, within 10 seconds.

The largest values are read off the option definitions (``rfdocs.figures``), not written here:
an integer range's top by bisecting what the option accepts, a pair's the same on both axes, a
flag on, a choice at each of its values in turn, a kernel at the largest size its spec accepts.
Options that only select what is drawn (a layer, a unit, a colour map, an image path, given
values) keep their defaults, and so do the budgets themselves (``max_work``, ``max_memory``):
they are what is under test.  Where options contradict one another (a padding too large for
the input, a kernel wider than the padded input), the option the refusal names steps down to
its next value and the figure is tried again, so the case is the largest that is allowed.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rfdocs.figures import OptionError, get_kind
from rfdocs.figures.options import Option
from tests.sphinx_util import WARNING_RE, line_of, write_project

ROOT = Path(__file__).resolve().parent.parent
PRLIMIT = shutil.which("prlimit")
ADDRESS_SPACE = 3 << 29  # 1.5 GiB
SECONDS = 10.0
pytestmark = pytest.mark.skipif(PRLIMIT is None,
                                reason="prlimit (util-linux) is not installed: cannot limit memory")

#: Options that choose what is drawn, not how much, left at their defaults: those whose default
#: is to choose automatically (None: a layer, a unit, the layers drawn) and these.
SELECTORS = {"cmap", "image", "values"}
BUDGETS = {"max_work", "max_memory"}
#: Spec-writing text options: the argument whose largest accepted value is searched for.
KERNEL_SPECS = {"kernels": "random({})", "kernel": "box({})"}
BUDGET_MESSAGE = re.compile(r"option '(max_work|max_memory)': .* more than the limit of .*: "
                            r"lower .*, or raise rfdocs_max_(work|memory) in conf\.py")

NETWORKS = {
    # the issue's: a 2048×2048×4 input through six ReLUs
    "relus": "input 2048x2048x4\n" + "".join(f"r{i}: relu\n" for i in range(6)),
    # wide convolutions on the largest input the erf figure takes
    "wide": "input 2048x2048x3\nc1: conv 7x7 /1 pad 3 x512\nr1: relu\nc2: conv 3x3 /2 pad 1 x512\n"
            "r2: relu\np: maxpool 3x3 /2 pad 1\nc3: conv 3x3 pad 1 x512\n",
    # a thousand layers (rfdocs_max_layers)
    "deep": "input 224x224x3\n" + "".join(f"c{i}: conv 3x3 pad 1 x64\n" for i in range(1000)),
}


# --------------------------------------------------------------------------- the largest values


def _accepts(option: Option, value: Any) -> bool:
    try:
        option.parse(value)
    except OptionError:
        return False
    return True


def _top(accepts: Callable[[int], bool]) -> int | None:
    """The largest n >= 0 with ``accepts(n)``, for an ``accepts`` true on a range starting at
    one of 0, 1, 2, 4 or 8 (None when none of those)."""
    start = next((n for n in (0, 1, 2, 4, 8) if accepts(n)), None)
    if start is None:
        return None
    lo, hi = start, max(2 * start, 1)
    while accepts(hi):
        lo, hi = hi, hi * 2
        if hi > 1 << 70:
            raise AssertionError("an option without an upper bound")
    while hi - lo > 1:  # accepts(lo), not accepts(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if accepts(mid) else (lo, mid)
    return lo


def _choices(option: Option) -> list[str]:
    """The words its ``allowed`` text lists that the option accepts ('none, relu or abs')."""
    words = [w for w in re.split(r",\s*|\s+or\s+", option.allowed) if w.strip()]
    return [w.strip() for w in words if re.fullmatch(r"[a-z]+", w.strip()) and _accepts(option, w)]


@dataclass
class Ladder:
    """An option's values from the largest down: its text for the command line."""

    name: str
    values: list[str]

    @property
    def top(self) -> str:
        return self.values[0]


def ladders(kind: str) -> tuple[list[Ladder], dict[str, list[str]]]:
    """Per option, its values from the largest down; and per choice option, its words."""
    numeric: list[Ladder] = []
    choices: dict[str, list[str]] = {}
    for option in get_kind(kind).options:
        if option.name in SELECTORS | BUDGETS or option.default is None:
            continue
        if option.name in KERNEL_SPECS:
            pattern = KERNEL_SPECS[option.name]
            top = _top(lambda n, o=option, p=pattern: n > 0 and _accepts(o, p.format(n)))
            assert top is not None, option.name
            numeric.append(Ladder(option.name, [pattern.format(n) for n in range(top, 0, -1)]))
        elif isinstance(option.default, bool):
            assert _accepts(option, "yes") and _accepts(option, "no"), option.name
            choices[option.name] = ["yes", "no"]
        elif (top := _top(lambda n, o=option: _accepts(o, str(n)))) is not None:
            down = (str(n) for n in range(top, -1, -1) if _accepts(option, str(n)))
            numeric.append(Ladder(option.name, list(itertools.islice(down, 64))))
        else:
            words = _choices(option)
            assert words, f"{kind}: cannot tell the values of option {option.name!r}"
            choices[option.name] = words
    return numeric, choices


def cases(kind: str) -> Iterator[dict[str, str]]:
    """Every numeric option at its top with every choice at its last word (flags on), then each
    other word of each choice in turn."""
    numeric, choices = ladders(kind)
    base = {ladder.name: ladder.top for ladder in numeric}
    last = {name: words[-1] if words != ["yes", "no"] else "yes" for name, words in choices.items()}
    yield {**base, **last}
    for name, words in choices.items():
        for word in words:
            if word != last[name]:
                yield {**base, **last, name: word}


# --------------------------------------------------------------------------- running them


@dataclass
class Outcome:
    options: dict[str, str]
    code: int
    seconds: float
    stderr: str


def run_limited(kind: str, options: dict[str, str], out: Path, spec: Path | None) -> Outcome:
    """``rfdocs render KIND --opt v ... -o out`` under ``prlimit --as`` and a 10 s timeout."""
    assert PRLIMIT is not None
    args = [PRLIMIT, f"--as={ADDRESS_SPACE}", "--", sys.executable, "-m", "rfdocs.cli", "render",
            kind, "-q", "-o", str(out)]
    if spec is not None:
        args += ["--spec", str(spec)]
    for name, value in options.items():
        args += [f"--{name.replace('_', '-')}", value]
    started = time.perf_counter()
    try:
        done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=SECONDS,
                              check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{kind} {options} took more than {SECONDS:g} s")
    return Outcome(options, done.returncode, time.perf_counter() - started, done.stderr)


def largest_allowed(kind: str, options: dict[str, str], out: Path,
                    spec: Path | None) -> Outcome:
    """Run ``options``; while the refusal names an ordinary option (they contradict one
    another), step that option down and run again."""
    numeric = {ladder.name: ladder for ladder in ladders(kind)[0]}
    for _ in range(80):
        outcome = run_limited(kind, options, out, spec)
        assert "Traceback" not in outcome.stderr, outcome.stderr[-3000:]
        if outcome.code == 0:
            return outcome
        assert outcome.code == 2, outcome.stderr[-3000:]
        named = re.search(r"option '(\w+)'", outcome.stderr)
        if named is None or named.group(1) in BUDGETS or named.group(1) not in numeric:
            return outcome
        ladder = numeric[named.group(1)]
        position = ladder.values.index(options[ladder.name])
        assert position + 1 < len(ladder.values), outcome.stderr
        options = {**options, ladder.name: ladder.values[position + 1]}
    raise AssertionError(f"{kind}: no allowed combination found")


def check(outcome: Outcome, out: Path) -> str:
    """A rendered file of its format, or the budget message: which one."""
    assert outcome.seconds < SECONDS
    if outcome.code == 0:
        head = out.read_bytes()[:200]
        assert head.startswith(b"GIF89a") if out.suffix == ".gif" else b"<svg" in head, head
        return "rendered"
    assert BUDGET_MESSAGE.search(outcome.stderr), outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 1, outcome.stderr
    return "refused"


KINDS = [
    pytest.param("block", "deep", ".svg", id="block-deep"),
    pytest.param("growth", "deep", ".svg", id="growth-deep"),
    pytest.param("featuremaps", None, ".svg", id="featuremaps"),
    pytest.param("steps", None, ".svg", id="steps"),
    pytest.param("steps", None, ".gif", id="steps-gif"),
    pytest.param("erf", "relus", ".svg", id="erf-relus"),
    pytest.param("erf", "wide", ".svg", id="erf-wide"),
]


@pytest.mark.parametrize(("kind", "network", "suffix"), KINDS)
def test_largest_values_render_or_are_refused(kind: str, network: str | None, suffix: str,
                                              tmp_path: Path) -> None:
    spec = None
    if network is not None:
        spec = tmp_path / f"{network}.txt"
        spec.write_text(NETWORKS[network], encoding="utf-8")
    seen = []
    for n, options in enumerate(cases(kind)):
        out = tmp_path / f"case{n}{suffix}"
        outcome = largest_allowed(kind, options, out, spec)
        seen.append((check(outcome, out), outcome.options, round(outcome.seconds, 1)))
    print(*seen, sep="\n")  # noqa: T201 - shown with -s: what each case did, and how fast
    assert seen


#: Figures near a default budget (half of it or more): allowed, so they must fit the same limits.
EDGE = [
    pytest.param("featuremaps", {"size": "1024", "kernels": "sobel-x, sobel-y, laplacian, gaussian, "
                 "box, sharpen, emboss, identity"}, None, ".svg", id="featuremaps-800MiB"),
    pytest.param("featuremaps", {"kernels": "random", "count": "32", "size": "512",
                                 "colour": "yes"}, None, ".svg", id="featuremaps-700MiB"),
    pytest.param("erf", {"mode": "both", "samples": "2"},
                 "input 1448x1448x4\n" + "".join(f"r{i}: relu\n" for i in range(6)), ".svg",
                 id="erf-relus-800MiB"),
    pytest.param("erf", {"mode": "random", "channels": "16", "samples": "4"},
                 "input 256x256x3\nc1: conv 3x3 pad 1 x16\nr1: relu\nc2: conv 3x3 pad 1 x16\n"
                 "r2: relu\np: maxpool 2x2 /2\nc3: conv 3x3 pad 1 x16\n", ".svg", id="erf-conv"),
    pytest.param("steps", {"transposed": "yes", "input": "10", "stride": "2", "kernel": "box(5)"},
                 None, ".svg", id="steps-transposed"),
    pytest.param("steps", {"transposed": "yes", "input": "6", "stride": "2", "kernel": "box(3)"},
                 None, ".gif", id="steps-gif"),
]


@pytest.mark.parametrize(("kind", "options", "spec", "suffix"), EDGE)
def test_figures_near_the_budget_render_within_the_limits(kind: str, options: dict[str, str],
                                                          spec: str | None, suffix: str,
                                                          tmp_path: Path) -> None:
    """What the budget allows fits 1.5 GiB and 10 seconds: figures estimated at half a default
    budget or more render under the same limits."""
    from rfdocs.compute import parse_spec
    from rfdocs.figures.steps import estimate as steps_estimate

    network = parse_spec(spec) if spec else None
    cost = get_kind(kind).estimate(network, options)
    if suffix == ".gif":
        cost = steps_estimate(get_kind(kind).resolve(options), animated=True)
    assert cost.work >= 1_000_000_000 or cost.peak >= 1 << 29, cost
    path = None
    if spec:
        path = tmp_path / "net.txt"
        path.write_text(spec, encoding="utf-8")
    out = tmp_path / f"figure{suffix}"
    assert check(run_limited(kind, options, out, path), out) == "rendered"


def test_the_largest_values_are_read_from_the_options() -> None:
    """The derivation finds the ranges the kinds define (a few spot checks)."""
    ranges = {ladder.name: ladder.top for ladder in ladders("featuremaps")[0]}
    assert (ranges["size"], ranges["count"], ranges["layers"], ranges["kernels"]) == \
           ("1024", "400", "4", "random(31)")
    steps, flags = ladders("steps")
    assert {ladder.name: ladder.top for ladder in steps}["kernel"] == "box(7)"
    assert flags["transposed"] == ["yes", "no"]
    assert ladders("erf")[1]["mode"] == ["uniform", "random", "trained", "both"]


# --------------------------------------------------------------------------- through Sphinx

PAGE = """\
# Budgets

```{rf-featuremaps}
:kernels: random(31)
:count: 64
:size: 1024
:colour:
```

```{rf-erf}
:mode: random
:samples: 64
:channels: 8
input 2048x2048x4
r1: relu
r2: relu
r3: relu
r4: relu
r5: relu
r6: relu
```

```{rf-steps}
:transposed:
:input: 10
:kernel: box(7)
:stride: 6
:dilation: 4
:output_padding: 5
```
"""


def test_sphinx_build_shows_one_located_warning_per_refusal(tmp_path: Path) -> None:
    """The issue's three figures in one page, built by sphinx-build under the same limit: each
    is refused before allocating, with one warning at its directive's line."""
    assert PRLIMIT is not None
    src = write_project(tmp_path / "src", {"index.md": PAGE})
    args = [PRLIMIT, f"--as={ADDRESS_SPACE}", "--", sys.executable, "-m", "sphinx", "-b", "html",
            "-q", str(src), str(tmp_path / "out")]
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=120,
                          check=False)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    warnings = sorted((m.groupdict() for m in map(WARNING_RE.match, done.stderr.splitlines()) if m),
                      key=lambda w: int(w["line"]))
    assert [(Path(w["location"]).name, int(w["line"])) for w in warnings] == [
        ("index.md", line_of(PAGE, "{rf-featuremaps}")), ("index.md", line_of(PAGE, "{rf-erf}")),
        ("index.md", line_of(PAGE, "{rf-steps}"))], done.stderr
    messages = [w["message"] for w in warnings]
    assert messages[0].startswith("rf-featuremaps: :max_memory: the feature maps would need "
                                  "about"), messages[0]
    assert ":samples:, :channels:" in messages[1] and "more than the limit of" in messages[1]
    assert messages[2].startswith("rf-steps: :max_work: the step-by-step figure"), messages[2]
    assert seconds < 60
