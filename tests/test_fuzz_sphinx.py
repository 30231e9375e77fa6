"""Fuzzing real Sphinx builds: random directives, options and bodies on generated pages.

Every directive either renders (a figure or table node) or produces exactly one located
warning, of reasonable length, and one error box at its own line; the build never crashes and
numpy never writes to stderr. Values and bodies include hostile ones (issue 12): digits of other
scripts, integers of any length, NaN, infinities and overflow, a 300 KB value, symbolic link
loops, deep nesting, repeated keys. RFDOCS_FUZZ=long builds many more pages.
"""

from __future__ import annotations

import html
import os
import random
import re
from pathlib import Path
from warnings import catch_warnings, simplefilter

import pytest
from docutils import nodes

from rfdocs.figures import KIND_MODULES, get_kind
from rfdocs.sphinxext.directives import COMMON_OPTIONS
from tests.counts import count
from tests.sphinx_util import build, write_project

LONG = os.environ.get("RFDOCS_FUZZ") == "long"
PAGES = 12 if LONG else 2
DIRECTIVES_PER_PAGE = 40 if LONG else 30

VALUES = ["1", "2", "3,4", "0", "-1", "99999999", "", "abc", "1x2", "conv1", "conv2", "input",
          "yes", "no", "relu", "max", "sobel-x, laplacian", "gaussian", "random", "both", "uniform",
          "log", "linear", "[[1,0],[0,-1]]", "[[1,2],[3]]", "50%", "200px", "center", "weird",
          "../../etc/passwd", "/etc/hosts", "missing.yaml", "vgg16", "lenet", "small", "nope",
          "3 3", "(1, 1)", "1.5", "nan", "1e9", "ÿ", "x" * 200,
          # hostile values
          "\u00b2", "\u0663", "3\u00b2", "\u0661,\u0662", "9" * 5000, "-" + "9" * 4400, "inf",
          "-inf", "1e308", "-1e400", "5e-324", "x" * 300_000, "loop1", "self", "nets",
          "conv1 \u00b2 3", "conv1 " + "9" * 5000 + " 1", "gaussian(5, 1e308)", "gaussian(4, 1e-300)",
          "[[1e308, 1e308], [1e308, 1e308]]", "[[5e-324, 1e6], [-1e6, 0]]", "random(31, 1e300)",
          "box(\u0663)"]
BODIES = [
    "", "input 16x16x3\nconv1: conv 3x3 x4\nconv2: conv 3x3 /2 x4 pad 1",
    "input 12x12x1\nconv 5 x2", "input 8x8x1\nconv 9 x1", "input 8x8x1\nconv 3 x1 dil",
    "input: [10, 10, 3]\nlayers:\n  - {op: conv, kernel: 3, filters: 2}",
    "input: [10, 10, 3]\nlayers:\n  - {op: conv, kernel: [3, 3}", "garbage here",
    "input 20x20x3\na: conv 3 pad 1 x3\nb: maxpool 3 /1 pad 1\nm: add a b",
    "input 16x16x2\nd: deconv 4 /2 pad 1 x2",
    # hostile bodies
    "input 8x8x1\nconv 3 x\u00b2", "input 8x8x1\nconv 3 x2 groups \u00b2",
    "input 8x8x1\nconv " + "9" * 5000 + " x1",
    '{"input": [8, 8, 1], "layers": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "input: [10, 10, 3]\nlayers:\n  - {op: conv, kernel: 3, kernel: 5, filters: 2}",
    "\ufeffinput 12x12x1\nconv 3 x2", "input 8x8x1\n" + "conv 1 /1000000 x1\n" * 720,
    '{"input": [12, 12, 1],\n "layers": [{"op": "conv", "kernel": 1e400, "filters": 1}]}',
]
MAX_MESSAGE = 600  # characters: values a message quotes are shortened
DIRECTIVES = [f"rf-{k}" for k in KIND_MODULES] + ["rf-table", "rf-network", "rf-explorer"]


def _options_for(name: str) -> list[str]:
    if name in ("rf-table",):
        return [*COMMON_OPTIONS, "layers", "no-input"]
    if name == "rf-network":
        return ["model", "spec", "show", "frob"]
    if name == "rf-explorer":
        from rfdocs.sphinxext.explorer import RfExplorerDirective

        return ["caption", "name", "class", "model", "spec", "network", "frob",
                *RfExplorerDirective.EXPLORER_OPTIONS]
    return [*COMMON_OPTIONS, *(o.name for o in get_kind(name[3:]).options), "frob"]


def _directive(rng: random.Random, md: bool) -> tuple[str, str]:
    name = rng.choice(DIRECTIVES)
    argument = f" {rng.choice(['small', 'n1', 'bad name!'])}" if name == "rf-network" else ""
    options = rng.sample(_options_for(name), k=rng.randint(0, 3))
    body = rng.choice(BODIES) if name != "rf-steps" and rng.random() < 0.6 else ""
    opts = [(o, rng.choice(VALUES)) for o in options]
    if md:
        lines = [f"```{{{name}}}{argument}", *(f":{o}: {v}".rstrip() for o, v in opts)]
        lines += ["", *body.splitlines()] if body else []
        lines.append("```")
    else:
        lines = [f".. {name}::{argument}", *(f"   :{o}: {v}".rstrip() for o, v in opts)]
        lines += ["", *(f"   {b}" for b in body.splitlines())] if body else []
    return name, "\n".join(lines)


def _page(rng: random.Random, md: bool) -> tuple[str, list[int]]:
    """Page text and the 1-based first line of every directive."""
    lines = ["# Fuzz", ""] if md else ["Fuzz", "====", ""]
    starts = []
    for _ in range(DIRECTIVES_PER_PAGE):
        _, text = _directive(rng, md)
        starts.append(len(lines) + 1)
        lines += [*text.splitlines(), "", "Some prose.", ""]
    return "\n".join(lines) + "\n", starts


def _inside_rfdocs_figure(node: nodes.Element) -> bool:
    """Part of another rfdocs output (the explorer's fallback figure and table)."""
    parent = node.parent
    while parent is not None:
        if isinstance(parent, nodes.figure) and "rfdocs" in parent.get("classes", []):
            return True
        parent = parent.parent
    return False


@pytest.mark.parametrize("seed", range(PAGES))
def test_fuzz_directives_in_real_builds(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    pages: dict[str, str] = {}
    starts: dict[str, list[int]] = {}
    for md in (True, False):
        text, first_lines = _page(rng, md)
        name = f"page{seed}{'md' if md else 'rst'}"
        pages[f"{name}.{'md' if md else 'rst'}"] = text
        starts[name] = first_lines
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "small.yaml").write_text(
        "input: [10, 10, 1]\nlayers:\n  - {op: conv, kernel: 3, filters: 1}\n")
    (tmp_path / "src" / "nets").mkdir()
    os.symlink("loop2", tmp_path / "src" / "loop1")
    os.symlink("loop1", tmp_path / "src" / "loop2")
    os.symlink("self", tmp_path / "src" / "self")
    srcdir = write_project(tmp_path / "src", pages)
    with catch_warnings(record=True) as caught:
        simplefilter("always")
        built = build(srcdir, "html")
    assert built.statuscode == 0
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], \
        [str(w.message) for w in caught]  # would have reached stderr, unseen by -W
    warnings = [w for w in built.parsed_warnings() if w["type"].startswith("rfdocs")]
    assert not [w for w in built.parsed_warnings() if not w["type"]
                or w["type"].split(".")[0] not in ("rfdocs", "myst", "docutils", "toc", "image")], \
        built.warnings
    cases = 0
    written = {name: " ".join(html.unescape(re.sub(r"<[^>]+>", "", built.text(f"{name}.html"))).split())
               for name in starts}
    for docname, first_lines in starts.items():
        tree = built.doctree(docname)
        boundaries = [*first_lines, 10**9]
        outputs: dict[int, list[str]] = {i: [] for i in range(len(first_lines))}
        for node in tree.findall(nodes.Element):
            classes: list[str] = node.get("classes", [])
            kind = ("error" if "rfdocs-error" in classes else
                    "figure" if isinstance(node, nodes.figure) and "rfdocs" in classes else
                    "table" if isinstance(node, nodes.table) and "rfdocs-table" in classes else
                    "explorer" if "rfdocs-explorer" in classes else
                    "placeholder" if "rfdocs-placeholder" in classes else None)
            if kind is None or node.line is None or _inside_rfdocs_figure(node):
                continue
            index = max(i for i, start in enumerate(boundaries) if start <= node.line)
            outputs[index].append(kind)
        page_warnings = [w for w in warnings if w["location"].endswith(
            f"{docname}.{'md' if docname.endswith('md') else 'rst'}")]
        for i, found in outputs.items():
            lo, hi = boundaries[i], boundaries[i + 1]
            here = [w for w in page_warnings if lo <= int(w["line"]) < hi]
            cases += 1
            assert len(found) <= 1, (docname, lo, found)
            assert all(len(w["message"]) < MAX_MESSAGE for w in here), (docname, lo, here)
            if "error" in found:
                assert len(here) == 1, (docname, lo, here)
            elif found == ["figure"] and here:
                # valid options that fail only while drawing (after reading): one warning, and
                # the written page shows the error box in the figure's place
                assert len(here) == 1, (docname, lo, here)
                box = "rfdocs: " + " ".join(here[0]["message"].split())
                assert box in written[docname], (docname, lo, here)
            else:
                assert not here, (docname, lo, here)
    assert cases == len(pages) * DIRECTIVES_PER_PAGE
    count("fuzz: random directives built by Sphinx", cases)
    assert not list((built.cache_dir).glob(".*.tmp"))
    assert not re.search(r"Traceback|Exception occurred", built.status + built.warnings)


def test_huge_specs_are_refused_quickly(tmp_path: Path) -> None:
    """A 10,000-layer spec, a YAML alias bomb and a billion-pixel input: one warning each, fast."""
    import time

    layers = "\n".join(f"c{i}: conv 3 pad 1 x1" for i in range(10_000))
    bomb = "input: [8, 8, 1]\nlayers: &a [" + ", ".join(["{op: relu}"] * 9) + "]\n" + "".join(
        f"x{i}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
        f" *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))
    page = ("Huge\n====\n\n.. rf-table::\n\n" + "".join(f"   {line}\n" for line in
                                                        ("input 64x64x1\n" + layers).splitlines())
            + "\n.. rf-table::\n\n" + "".join(f"   {line}\n" for line in bomb.splitlines())
            + "\n.. rf-erf::\n   :mode: uniform\n\n   input 40000x40000x1\n   conv 3 x1\n")
    srcdir = write_project(tmp_path / "src", {"huge.rst": page})
    started = time.perf_counter()
    built = build(srcdir, "html")
    assert time.perf_counter() - started < 60
    found = [w for w in built.parsed_warnings() if w["type"].startswith("rfdocs")]
    assert len(found) == 3, built.warnings
    assert "rfdocs_max_layers" in found[0]["message"] and "at most 1000" in found[0]["message"]
    assert "expands to more than" in found[1]["message"]
    assert "pixels" in found[2]["message"]
