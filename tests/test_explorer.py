"""rf-explorer: footprints against analyze and brute force, the embedded data, the static
fallback for other builders, and a real headless browser pointing at neurons.

The browser tests drive Debian's chromium through Selenium and chromedriver (tests/browser.py);
they skip (saying so) where either is missing.  Set RFDOCS_SCREENSHOTS to a folder to keep
screenshots of the built page in light and dark mode.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from rfdocs.compute import Network, analyze, clipped_box, format_compact, parse_spec
from rfdocs.compute.footprints import DEFAULT_MAX_CELLS, MAX_GRIDS
from rfdocs.compute.receptive import MAX_LINES, WorkLimit
from rfdocs.compute.spec import network_from_data
from rfdocs.sphinxext.explorer import (
    AxisMap,
    data_json,
    explorer_data,
    footprint_maps,
    grid_step,
)
from tests.browser import Browser, chromium
from tests.bruteforce import (
    dependencies,
    dependency_box,
    diamond_network,
    every_path,
    path_field,
    primes,
)
from tests.strategies import network_specs

EXAMPLES = int(os.environ.get("RFDOCS_EXPLORER_EXAMPLES", "80"))

SMALL = """\
input 12x12x3
conv1: conv 3x3 x8
pool1: maxpool 2
conv2: conv 3x3 pad 1 x16
conv3: conv 3x3 /2 x16
"""
BRANCHY = """\
input 16x16x2
stem: conv 3 pad 1 x4
a: conv 5 pad 2 x4 from stem
b: maxpool 3 /1 pad 1 from stem
side: conv 3 pad 1 x4 from input
m: add a b side
head: conv 3 /2 x4 from m
"""
LARGE = "input 224x224x3\nc1: conv 7 /2 pad 3 x64\np1: maxpool 3 /2 pad 1\nc2: conv 3 pad 1 x192\n"
# the networks 'explore' and 'padded' of docs/tutorial/receptive-fields.md
TUTORIAL = "input 16x16x1\nconv1: conv 3x3 /1 x8\nconv2: conv 3x3 /2 x8\nconv3: conv 3x3 /1 x8\n"
PADDED = "input 16x16x3\nconv 5x5 /1 x16 pad 2\n"


# --------------------------------------------------------------------------- footprints


def brute_from(net: Network, source: str) -> dict[str, np.ndarray]:
    """node -> bool (H, W, units of ``source``): does unit (y, x) depend on that unit of source?
    Impulses start at ``source``; branches it does not feed carry zeros (from the definitions)."""
    return dependencies(net, source, {n.name: n.shape for n in analyze(net)})


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs())
def test_input_maps_are_layer_boxes(spec: dict[str, Any]) -> None:
    """Footprints on the input are exactly LayerInfo.box, and clipped, clipped_box."""
    analysis = analyze(network_from_data(spec))
    names = [n.name for n in analysis]
    maps = footprint_maps(analysis, names)
    h, w, _ = analysis.input.shape
    for node in analysis.layers:
        rows, cols = maps[(node.name, "input")]
        for y in range(node.shape[0]):
            for x in range(node.shape[1]):
                assert (rows.span(y), cols.span(x)) == node.box(y, x)
                got = rows.cells(y, h), cols.cells(x, w)
                want = clipped_box(node, y, x, (h, w))
                assert (None if None in got else got) == want


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs())
def test_footprints_in_earlier_layers_equal_brute_force(spec: dict[str, Any]) -> None:
    """In every earlier layer: what a unit depends on lies inside its footprint, and away from
    the borders (and transposed convolutions) is exactly it; no path, no footprint."""
    net = network_from_data(spec)
    analysis = analyze(net)
    names = [n.name for n in analysis]
    maps = footprint_maps(analysis, names)
    for i, source in enumerate(names[:-1]):
        deps = brute_from(net, source)
        h, w, _ = analysis[source].shape
        deconv = {source: False}
        for layer in net.layers:
            if layer.name in deps:
                deconv[layer.name] = layer.op == "deconv" or any(deconv.get(n, False)
                                                                 for n in layer.inputs)
        for name in names[i + 1:]:
            if name not in deps:
                assert (name, source) not in maps
                continue
            rows, cols = maps[(name, source)]
            dep = deps[name]
            for y in range(dep.shape[0]):
                for x in range(dep.shape[1]):
                    got = dependency_box(dep, y, x, w)
                    if got is None:
                        continue
                    r, c = rows.cells(y, h), cols.cells(x, w)
                    assert r is not None and c is not None, (source, name, y, x, got)
                    assert r[0] <= got[0][0] and got[0][1] <= r[1], (source, name, y, x)
                    assert c[0] <= got[1][0] and got[1][1] <= c[1], (source, name, y, x)
                    (r0, r1), (c0, c1) = rows.span(y), cols.span(x)
                    if r0 >= 0 and c0 >= 0 and r1 <= h - 1 and c1 <= w - 1 and not deconv[name]:
                        assert got == (r, c), (source, name, y, x, got, r, c)


def test_axis_map_is_exact_for_transposed_convolutions() -> None:
    analysis = analyze(parse_spec("input 8x8x1\nd: deconv 4 /2 pad 1 x1\n"))
    rows, cols = footprint_maps(analysis, ["input", "d"])[("d", "input")]
    assert rows.d == 2 and rows.span(4) == (1, 2.5) and rows.cells(4, 8) == (1, 2)
    assert AxisMap.from_axis(analysis["d"].axes[1]) == cols


def test_grid_step_samples_large_layers() -> None:
    assert grid_step((12, 12, 3), 32) == 1
    assert grid_step((224, 224, 3), 32) == 7
    assert grid_step((56, 40, 3), 32) == 2
    assert grid_step((33, 1, 1), 32) == 2


def test_data_numbers_come_from_analyze() -> None:
    analysis = analyze(parse_spec(BRANCHY))
    names = [n.name for n in analysis]
    data = explorer_data(analysis, names, 32, ("head", 3, 4))
    assert data["select"] == [names.index("head"), 3, 4]
    for i, layer in enumerate(data["layers"]):
        node = analysis[layer["name"]]
        assert layer["shape"] == list(node.shape)
        assert layer["rf"] == list(node.rf) and layer["jump"] == list(node.jump)
        assert layer["start"] == list(node.start) and layer["aligned"] == node.aligned
        assert len(layer["from"]) == i
    by_name = {layer["name"]: layer for layer in data["layers"]}
    # 'side' reads the input directly: no path from stem, a or b to it
    assert by_name["side"]["from"][names.index("stem")] is None
    assert by_name["m"]["from"][names.index("side")] is not None
    assert by_name["head"]["from"][names.index("a")] is not None


# --------------------------------------------------------------------------- Sphinx builds


def build(tmp: Path, pages: dict[str, str], builder: str = "html",
          conf: str = "") -> tuple[Path, str]:
    """Build a small project quietly; returns the output folder and the warnings."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    src = tmp / "src"
    src.mkdir(parents=True, exist_ok=True)
    theme = "furo" if _has("furo") else "alabaster"
    (src / "conf.py").write_text(
        'extensions = ["myst_parser", "rfdocs"]\nmyst_enable_extensions = ["colon_fence"]\n'
        f'html_theme = "{theme}"\nexclude_patterns = ["_build"]\n' + conf, encoding="utf-8")
    for name, text in pages.items():
        (src / name).write_text(text, encoding="utf-8")
    out = tmp / "out" / builder
    warnings = io.StringIO()
    with docutils_namespace():
        app = Sphinx(str(src), str(src), str(out), str(tmp / "doctrees" / builder), builder,
                     status=None, warning=warnings, freshenv=True)
        app.build()
    return out, warnings.getvalue()


def _has(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


def myst(body: str, options: str = "") -> str:
    return f"# Page\n\n```{{rf-explorer}}\n{options}{body}```\n"


def embedded(html: str) -> list[dict[str, Any]]:
    found = re.findall(r'<script type="application/json" class="rfx-data">(.*?)</script>', html)
    return [json.loads(text) for text in found]


def test_html_embeds_the_numbers_and_ships_script_and_css(tmp_path: Path) -> None:
    out, warnings = build(tmp_path, {
        "index.md": myst(SMALL, ":caption: Small.\n") + "\n```{rf-explorer}\n:model: alexnet\n```\n"
                    "\n```{toctree}\nother\n```\n",
        "other.md": "# Other\n\nNo explorer here.\n"})
    assert warnings == ""
    page = (out / "index.html").read_text(encoding="utf-8")
    first, second = embedded(page)
    analysis = analyze(parse_spec(SMALL))
    names = [n.name for n in analysis]
    assert first == json.loads(json.dumps(explorer_data(analysis, names, 32, ("conv3", 1, 1))))
    assert [layer["name"] for layer in second["layers"]][:2] == ["input", "conv1"]
    assert second["layers"][0]["step"] == 7  # 224 wide: every 7th unit
    assert "rfdocs-explorer.js" in page and "rfdocs-explorer.css" in page
    assert page.count('id="rfx-') >= 2 and "-fallback" in page
    assert "Small." in page and "<table" in page  # caption, fallback table
    other = (out / "other.html").read_text(encoding="utf-8")
    assert "rfdocs-explorer.js" not in other  # only pages with an explorer load it
    assert (out / "_static" / "rfdocs-explorer.js").is_file()


def test_rest_and_myst_give_the_same_data(tmp_path: Path) -> None:
    body = "".join(f"   {line}\n" for line in SMALL.splitlines())
    out, warnings = build(tmp_path, {
        "index.rst": "Page\n====\n\n.. rf-explorer::\n   :select: conv2 2 3\n\n" + body
                     + "\n.. toctree::\n\n   m\n",
        "m.md": myst(SMALL, ":select: conv2 2 3\n")})
    assert warnings == ""
    rst = embedded((out / "index.html").read_text(encoding="utf-8"))
    md = embedded((out / "m.html").read_text(encoding="utf-8"))
    assert rst == md and rst[0]["select"] == [3, 2, 3]


class Children(HTMLParser):
    """The direct children (tag names) of every element with class ``css_class``."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
            "track", "wbr"}

    def __init__(self, css_class: str) -> None:
        super().__init__()
        self.css_class = css_class
        self.stack: list[tuple[str, list[str] | None]] = []
        self.found: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        if self.stack and self.stack[-1][1] is not None:
            self.stack[-1][1].append(tag)
        classes = (dict(attrs).get("class") or "").split()
        children: list[str] | None = [] if self.css_class in classes else None
        if children is not None:
            self.found.append(children)
        self.stack.append((tag, children))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID or tag not in (t for t, _ in self.stack):
            return
        while self.stack.pop()[0] != tag:
            pass


def figure_children(page: str) -> list[list[str]]:
    parser = Children("rfdocs-explorer-figure")
    parser.feed(page)
    return parser.found


NUMBERED = (myst(SMALL, ":caption: Small.\n:name: fig-small\n")
            + "\nSee {numref}`fig-small` and {numref}`fig-input`.\n"
            + "\n```{rf-explorer}\n:select: input\n:caption: From the input.\n:name: fig-input\n"
            + SMALL + "```\n")


def test_html_explorer_is_a_numbered_figure(tmp_path: Path) -> None:
    """A figure whose one first child holds the script's mount point and the fallback, then the
    caption with its number; numref gives that number; no caption, no figcaption."""
    out, warnings = build(tmp_path, {"index.md": NUMBERED + myst(TUTORIAL).split("\n", 2)[2]},
                          conf="numfig = True\n")
    assert warnings == ""
    page = (out / "index.html").read_text(encoding="utf-8")
    assert figure_children(page) == [["div", "figcaption"], ["div", "figcaption"], ["div"]]
    assert re.search(r'<figure class="rfdocs rfdocs-explorer-figure[^"]*" id="fig-small">\s*'
                     r'<div class="rfdocs-explorer-wrap', page)
    assert '<span class="caption-number">Fig. 1 </span><span class="caption-text">Small.' in page
    assert '<span class="caption-number">Fig. 2 </span><span class="caption-text">From the' in page
    assert page.count("<figcaption>") == page.count("</figcaption>") == 2
    assert page.count("<figure") == page.count("</figure>")
    for name, number in (("fig-small", 1), ("fig-input", 2)):
        assert (f'href="#{name}"><span class="std std-numref">Fig. {number}</span></a>') in page
    assert len(embedded(page)) == 3


@pytest.mark.parametrize("builder", ["text", "latex", "epub"])
def test_other_builders_get_the_static_fallback(tmp_path: Path, builder: str) -> None:
    """The growth figure's images carry the explorer's caption and number (no figure inside a
    figure), the table follows; an input pixel chosen shows the last layer's growth."""
    out, warnings = build(tmp_path, {"index.md": NUMBERED}, builder,
                          conf='numfig = True\nepub_show_urls = "no"\n')
    assert "rf-explorer" not in warnings and "numref" not in warnings, warnings
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in out.rglob("*") if p.suffix in (".txt", ".tex", ".xhtml"))
    assert "conv3" in text  # the table
    assert "rfx-data" not in text and "rfdocs-explorer.js" not in text
    assert "Small." in text and "From the input." in text
    if builder == "latex":
        assert text.count(r"\begin{figure}") == text.count(r"\sphinxincludegraphics") == 2
        for name, caption in (("fig-small", "Small."), ("fig-input", "From the input.")):
            assert rf"\caption{{{caption}}}\label{{\detokenize{{index:{name}}}}}\end{{figure}}" in text
            assert rf"Fig.\@ \ref{{\detokenize{{index:{name}}}}}" in text
        assert text.index(r"\end{figure}") < text.index(r"\begin{tabulary}")  # table after it
    if builder == "epub":
        assert figure_children(text) == [["div", "figcaption"], ["div", "figcaption"]]
        assert '<span class="caption-number">Fig. 1 </span>' in text
        assert '<span class="std std-numref">Fig. 2</span>' in text
        assert text.count("<img") == 2 and text.count("<figure") == 2


def test_latex_output_compiles(tmp_path: Path) -> None:
    """The static explorer figures, their numbers and references typeset (where LaTeX is here)."""
    latexmk = shutil.which("latexmk")
    if latexmk is None or shutil.which("pdflatex") is None:
        pytest.skip("no latexmk/pdflatex to typeset the LaTeX output")
    out, _ = build(tmp_path, {"index.md": NUMBERED}, "latex", conf="numfig = True\n")
    (tex,) = out.glob("*.tex")
    done = subprocess.run([latexmk, "-pdf", "-interaction=nonstopmode", "-halt-on-error", tex.name],
                          cwd=out, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    log = tex.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
    assert not re.search(r"Reference .* undefined", log), "a numref to an explorer did not resolve"


@pytest.mark.parametrize(("options", "body", "subtype", "needle"), [
    (":frobnicate: 1\n", SMALL, "option", "unknown option :frobnicate:"),
    (":layers: conv1 nope\n", SMALL, "option", ":layers: no layer 'nope'"),
    (":select: conv9\n", SMALL, "option", ":select: 'conv9' is not allowed"),
    (":select: conv2 9 0\n", SMALL, "option", "conv2 has rows 0 to 4"),
    (":max-cells: 2\n", SMALL, "option", ":max-cells: '2' is not allowed"),
    ("", "", "network", "rf-explorer needs a network"),
    (":model: resnet50\n", "", "limit", "choose some with :layers:"),
    ("", "input 4x4x1\nconv 3\n", "spec", "field 'filters': is required"),
    ("", "input 4x4x1\nconv 9 x1\n", "spec", "impossible shape"),
])
def test_bad_input_gives_one_located_warning(tmp_path: Path, options: str, body: str,
                                             subtype: str, needle: str) -> None:
    out, warnings = build(tmp_path, {"index.md": myst(body, options)})
    lines = [line for line in warnings.splitlines() if "WARNING" in line]
    assert len(lines) == 1, warnings
    line = 5 if subtype == "spec" else 3  # spec errors point at the body's line
    assert f"index.md:{line}: WARNING: rf-explorer: " in lines[0] and needle in lines[0], lines[0]
    assert f"[rfdocs.{subtype}]" in lines[0]
    assert "rfdocs-error" in (out / "index.html").read_text(encoding="utf-8")


def test_layers_option_draws_those_and_the_input(tmp_path: Path) -> None:
    out, _ = build(tmp_path, {"index.md": myst("", ":model: resnet50\n:layers: conv1 pool1 res2a\n")})
    (data,) = embedded((out / "index.html").read_text(encoding="utf-8"))
    assert [layer["name"] for layer in data["layers"]] == ["input", "conv1", "pool1", "res2a"]
    assert data["select"][0] == 3


# --------------------------------------------------------------------------- the browser

@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium (tests/browser.py); RFDOCS_DARK=media runs it with a dark system."""
    with chromium(["--force-dark-mode"] if os.environ.get("RFDOCS_DARK") == "media" else []) as web:
        yield web


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("explorer-page")
    text = (myst(SMALL, ":caption: Point at any unit.\n")
            + "\n## Branches\n\n" + myst(BRANCHY).split("\n", 2)[2]
            + "\n## A large input\n\n" + myst(LARGE).split("\n", 2)[2])
    out, warnings = build(tmp, {"index.md": text})
    assert warnings == ""
    return out / "index.html"


HIGHLIGHTED = """
const [root, layer] = arguments;
const grid = document.querySelectorAll('.rfdocs-explorer')[root]
  .querySelector(`svg.rfx-grid[data-layer="${layer}"]`);
return Array.from(grid.querySelectorAll('.rfx-cell.rfx-in'))
  .map(c => [Number(c.getAttribute('data-y')), Number(c.getAttribute('data-x'))]);
"""


def unit(root: str, layer: str, y: int, x: int) -> str:
    """CSS selector of the cell of unit (y, x) of ``layer`` in the explorer with id ``root``."""
    return f'#{root} svg[data-layer="{layer}"] rect[data-y="{y}"][data-x="{x}"]'


def roots(browser: Browser) -> list[str]:
    ids = browser.run("return Array.from(document.querySelectorAll('.rfdocs-explorer'), e => e.id)")
    assert isinstance(ids, list)
    return ids


def units(fp: tuple[tuple[int, int], tuple[int, int]] | None, step: int = 1) -> set[tuple[int, int]]:
    if fp is None:
        return set()
    (r0, r1), (c0, c1) = fp
    return {(i * step, j * step) for i in range(r0 // step, r1 // step + 1)
            for j in range(c0 // step, c1 // step + 1)}


def test_browser_hover_lights_up_exactly_the_receptive_field(browser: Browser, page: Path) -> None:
    browser.open(page.as_uri())
    assert browser.run("return document.querySelectorAll('[data-rfx-ready]').length") == 3
    fallback_hidden = browser.run(
        "return Array.from(document.querySelectorAll('.rfdocs-explorer-fallback')).map(e => e.hidden)")
    assert fallback_hidden == [True, True, True]
    analysis = analyze(parse_spec(SMALL))
    names = [n.name for n in analysis]
    maps = footprint_maps(analysis, names)
    first = roots(browser)[0]
    for layer, y, x in [("conv3", 0, 1), ("conv3", 1, 1), ("conv2", 4, 0), ("pool1", 2, 3)]:
        browser.hover(unit(first, layer, y, x))
        node = analysis[layer]
        assert set(map(tuple, browser.run(HIGHLIGHTED, 0, "input"))) == units(
            clipped_box(node, y, x, analysis.input.shape[:2]))
        for earlier in names[1:names.index(layer)]:
            rows, cols = maps[(layer, earlier)]
            h, w, _ = analysis[earlier].shape
            fp = rows.cells(y, h), cols.cells(x, w)
            assert set(map(tuple, browser.run(HIGHLIGHTED, 0, earlier))) == units(
                None if None in fp else fp)  # type: ignore[arg-type]
        selected = browser.run("return document.querySelector('.rfdocs-explorer .rfx-sel')"
                               ".getAttribute('data-y') + ',' + document.querySelector("
                               "'.rfdocs-explorer .rfx-sel').getAttribute('data-x')")
        assert selected == f"{y},{x}"
        info = browser.run("return document.querySelector('.rfdocs-explorer .rfx-info').textContent")
        rf = node.box(y, x)
        assert f"{layer} · unit ({y}, {x})" in info
        assert f"{rf[0][1] - rf[0][0] + 1}×{rf[1][1] - rf[1][0] + 1} input pixels" in info


def test_browser_sampled_grid_and_branches(browser: Browser, page: Path) -> None:
    browser.open(page.as_uri())
    _, second, third = roots(browser)
    large = analyze(parse_spec(LARGE))
    step = grid_step(large.input.shape, 32)
    assert step == 7
    note = browser.run("return document.querySelectorAll('.rfdocs-explorer')[2]"
                       ".querySelector('.rfx-layer').textContent")
    assert "every 7th unit shown" in note
    c2 = large["c2"]
    s2 = grid_step(c2.shape, 32)
    browser.hover(unit(third, "c2", 10 * s2, 20 * s2))
    got = set(map(tuple, browser.run(HIGHLIGHTED, 2, "input")))
    assert got == units(clipped_box(c2, 10 * s2, 20 * s2, (224, 224)), step)
    # a branch that does not feed the chosen layer is dimmed, with no field
    branchy = analyze(parse_spec(BRANCHY))
    browser.hover(unit(second, "a", 5, 6))
    assert browser.run(HIGHLIGHTED, 1, "side") == []
    assert browser.run("return document.querySelectorAll('.rfdocs-explorer')[1]"
                       ".querySelector('.rfx-layer[data-layer=\"side\"]').classList"
                       ".contains('rfx-unrelated')") is False  # side comes after a
    browser.hover(unit(second, "head", 2, 3))
    assert set(map(tuple, browser.run(HIGHLIGHTED, 1, "input"))) == units(
        clipped_box(branchy["head"], 2, 3, (16, 16)))
    assert browser.run(HIGHLIGHTED, 1, "side") != []


def test_browser_keyboard_and_screen_reader(browser: Browser, page: Path) -> None:
    browser.open(page.as_uri())
    tabbable = browser.run("return Array.from(document.querySelectorAll('.rfdocs-explorer')[0]"
                           ".querySelectorAll('[tabindex=\"0\"]')).length")
    assert tabbable == 5  # one stop per grid (roving tabindex)
    browser.run("document.querySelector('svg[data-layer=\"conv2\"] rect[data-y=\"2\"][data-x=\"2\"]')"
                ".focus()")
    browser.keys("\ue014\ue014\ue015")  # right, right, down
    state = browser.run("""
        const a = document.activeElement, root = document.querySelectorAll('.rfdocs-explorer')[0];
        return [a.getAttribute('data-y'), a.getAttribute('data-x'), a.getAttribute('aria-label'),
                a.getAttribute('tabindex'), root.querySelector('.rfx-live').textContent,
                a.closest('svg').getAttribute('role'), a.getAttribute('role')];""")
    assert state[:4] == ["3", "4", "row 3, column 4", "0"]
    node = analyze(parse_spec(SMALL))["conv2"]
    (r0, r1), (c0, c1) = node.box(3, 4)
    assert state[4].startswith(f"conv2 unit 3, 4: receptive field {r1 - r0 + 1}×{c1 - c0 + 1}")
    assert state[5:] == ["grid", "gridcell"]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs())
def test_browser_footprint_function_equals_python(browser: Browser, page: Path,
                                                  spec: dict[str, Any]) -> None:
    """The script's footprint maths, run in the browser for every unit of every pair of layers,
    equals the Python maps (which equal LayerInfo.box and brute force above)."""
    if not browser.run("return !!window.rfdocsExplorer"):
        browser.open(page.as_uri())
    analysis = analyze(network_from_data(spec))
    names = [n.name for n in analysis]
    data = explorer_data(analysis, names, 32, (names[-1], 0, 0))
    got = browser.run("""
        const data = arguments[0], out = [];
        data.layers.forEach((layer, l) => {
          for (let k = 0; k < l; k++)
            for (let y = 0; y < layer.shape[0]; y++)
              for (let x = 0; x < layer.shape[1]; x++)
                out.push(window.rfdocsExplorer.footprint(data, l, k, y, x));
        });
        return out;""", data)
    maps = footprint_maps(analysis, names)
    want: list[list[list[int]] | None] = []
    for i, name in enumerate(names):
        node = analysis[name]
        for earlier in names[:i]:
            for y in range(node.shape[0]):
                for x in range(node.shape[1]):
                    if (name, earlier) not in maps:
                        want.append(None)
                        continue
                    rows, cols = maps[(name, earlier)]
                    h, w, _ = analysis[earlier].shape
                    r, c = rows.cells(y, h), cols.cells(x, w)
                    want.append(None if r is None or c is None else [list(r), list(c)])
    assert got == want


@pytest.fixture(scope="module")
def tutorial_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tutorial's explorer (4 layers), the padded network (2) and AlexNet (10)."""
    tmp = tmp_path_factory.mktemp("explorer-layout")
    text = ("# Receptive fields\n\n"
            + myst(TUTORIAL, ":caption: Point at any neuron to see the part of every earlier "
                   "layer, and of the input, that it depends on.\n:name: fig-rf-explorer\n")
            .split("\n", 2)[2]
            + "\nSee {numref}`fig-rf-explorer`.\n\n## Padding\n\n"
            + myst(PADDED, ":caption: Padding keeps the size.\n").split("\n", 2)[2]
            + "\n## AlexNet\n\n" + myst("", ":model: alexnet\n").split("\n", 2)[2])
    out, warnings = build(tmp, {"index.md": text}, conf="numfig = True\n")
    assert warnings == ""
    return out / "index.html"


ROWS = """
return Array.from(document.querySelectorAll('.rfdocs-explorer'), root => {
  const area = root.querySelector('.rfx-layers').getBoundingClientRect(), rows = [];
  for (const box of root.querySelectorAll('.rfx-layer')) {
    const r = box.getBoundingClientRect();
    if (r.left < area.left - 0.5 || r.right > area.right + 0.5) return 'overflow';
    const last = rows[rows.length - 1];
    if (last && Math.abs(last[0] - r.bottom) < 1) last[1] += 1;
    else rows.push([r.bottom, 1]);
  }
  const cell = Array.from(root.querySelectorAll('svg.rfx-grid'),
                          svg => svg.getBoundingClientRect().width / svg.viewBox.baseVal.width);
  return {rows: rows.map(r => r[1]), cell: [Math.min(...cell), Math.max(...cell)]};
});
"""


def window(browser: Browser, width: int) -> None:
    browser.window(width, 1000)


def layout(browser: Browser, want_first: list[int]) -> list[dict[str, Any]]:
    """Rows of layers per explorer, once the first explorer shows ``want_first`` (the script
    lays the grids out again after a resize, a frame or two later)."""
    deadline = time.monotonic() + 5
    while True:
        got = browser.run(ROWS)
        assert isinstance(got, list) and "overflow" not in got, got
        if got[0]["rows"] == want_first or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_browser_grids_fit_the_width_in_even_rows(browser: Browser, tutorial_page: Path) -> None:
    """Grids never stick out of the column; few layers share one row, scaled down a little
    (one cell size for the whole explorer); on a phone the rows are even, no lone last layer."""
    try:
        window(browser, 1280)
        browser.open(tutorial_page.as_uri())
        wide = layout(browser, [4])
        assert [e["rows"] for e in wide[:2]] == [[4], [2]]
        window(browser, 400)  # no reload: the script follows the width
        narrow = layout(browser, [2, 2])
        assert [e["rows"] for e in narrow[:2]] == [[2, 2], [2]]
        for explorer in wide + narrow:
            rows = explorer["rows"]
            assert len(rows) == 1 or (rows[-1] > 1 and max(rows) - min(rows) <= 2), rows
            low, high = explorer["cell"]
            assert high - low < 0.02 * high, explorer  # every grid shares the cell size
        assert browser.run(HIGHLIGHTED, 0, "input") != []  # still lit after the resize
    finally:
        window(browser, 1280)


ARRANGE = "return window.rfdocsExplorer.arrange(arguments[0], arguments[1], arguments[2]);"


@pytest.mark.parametrize(("widths", "space", "starts", "scale"), [
    ([170, 152, 80, 71], 470, [], 414 / 441),  # the tutorial's explorer beside its numbers
    ([170, 152, 80, 71], 352, [2], 1),  # on a phone: two and two, not three and one
    ([100] * 7, 352, [4], 296 / 368),  # two rows a little smaller rather than three
    ([100] * 7, 310, [3, 5], 270 / 276),  # three rows as even as can be: 3, 2, 2
    ([300], 150, [], 142 / 292),  # alone and still too wide: scaled to fit
])
def test_browser_arrange(browser: Browser, page: Path, widths: list[int], space: int,
                         starts: list[int], scale: float) -> None:
    """The script's layout plan for made-up layers: each a grid (its width less 8 px of
    padding) over 40 px of text, 8 px apart: the rows after the first and the grids' scale."""
    if not browser.run("return !!window.rfdocsExplorer"):
        browser.open(page.as_uri())
    items = [{"svg": w - 8, "text": 40, "pad": 8} for w in widths]
    plan = browser.run(ARRANGE, items, 8, space)
    assert plan["starts"] == starts
    assert plan["scale"] == pytest.approx(scale, abs=0.01)


def test_browser_screenshots(browser: Browser, tutorial_page: Path) -> None:
    """Light and dark (furo's switch), wide and narrow, render without script errors; saved
    if asked for."""
    folder = os.environ.get("RFDOCS_SCREENSHOTS")
    try:
        for width in (1280, 400):
            window(browser, width)
            browser.open(tutorial_page.as_uri())
            for theme in ("light", "dark"):
                browser.run("localStorage.setItem('theme', arguments[0]); "
                            "document.body.dataset.theme = arguments[0];", theme)
                browser.run("document.querySelector('.rfdocs-explorer-figure').scrollIntoView()")
                browser.hover(unit(roots(browser)[0], "conv2", 3, 2))
                colour = browser.run("return getComputedStyle(document.querySelector("
                                     "'.rfx-cell.rfx-in')).fill")
                assert colour == "rgb(230, 159, 0)"
                if folder:
                    browser.screenshot(Path(folder) / f"rfdocs-explorer-{theme}-{width}.png")
    finally:
        window(browser, 1280)


# --------------------------------------------------------------------------- diamond chains (issue 12)

#: A chain of 22 diamonds the parser accepts (11 branches stride down, 11 up; 3^11 distinct
#: jumps): it took 31 s to analyse when every jump kept a box.
HOSTILE = diamond_network(primes(11) * 2, up=set(range(11, 22)))
DIAMOND_CASES = {
    "5x5, kernel 3": diamond_network(primes(6), size=5, kernel=3),
    "6x6, kernel 2, up and down": diamond_network(primes(6), size=6, kernel=2, up={1, 4}),
}


@pytest.mark.parametrize("name", DIAMOND_CASES)
@pytest.mark.parametrize("max_lines", [MAX_LINES, 1])
def test_diamond_footprints_equal_every_path(name: str, max_lines: int) -> None:
    """Every unit's footprint in every earlier layer is the union over every path from that
    layer (tests.bruteforce.every_path), with envelopes and with sweeps."""
    net = DIAMOND_CASES[name]
    analysis = analyze(net)
    names = [n.name for n in analysis]
    maps = footprint_maps(analysis, names, max_lines=max_lines)
    for i, earlier in enumerate(names[:-1]):
        paths = every_path(net, earlier)
        for name_ in names[i + 1:]:
            if name_ not in paths:
                assert (name_, earlier) not in maps
                continue
            rows, cols = maps[(name_, earlier)]
            h, w, _ = analysis[name_].shape
            assert [rows.span(y) for y in range(h)] == [path_field(paths[name_][0], y)
                                                         for y in range(h)]
            assert [cols.span(x) for x in range(w)] == [path_field(paths[name_][1], x)
                                                         for x in range(w)]


def test_swept_maps_are_exact_at_the_units_asked_for() -> None:
    net = DIAMOND_CASES["6x6, kernel 2, up and down"]
    analysis = analyze(net, max_lines=1)  # swept from the input too
    names = [n.name for n in analysis]
    asked = {name: ([0, 3], [5]) for name in names}
    maps = footprint_maps(analysis, names, asked, max_lines=1)
    for (later, earlier), (rows, cols) in maps.items():
        paths = every_path(net, earlier)[later]
        assert [rows.span(y) for y in (0, 3)] == [path_field(paths[0], y) for y in (0, 3)]
        assert cols.span(5) == path_field(paths[1], 5)
        # two boxes (first and last coordinate) a unit asked for, at most
        assert len(rows.paths) <= 4 and len(cols.paths) <= 2


def test_explorer_data_of_a_diamond_chain_stays_small() -> None:
    """Issue 12: 37 layers of such a chain wrote a 115 MB page."""
    analysis = analyze(HOSTILE)
    names = [n.name for n in analysis][:MAX_GRIDS]
    data = explorer_data(analysis, names, DEFAULT_MAX_CELLS, (names[-1], 0, 0))
    text = data_json(data)
    assert len(text) < 60_000
    maps = [m for layer in data["layers"] for pair in layer["from"] if pair for m in pair]
    assert len(maps) == 2 * len(names) * (len(names) - 1) // 2  # every pair joined by a path
    assert all(len(m[1]) <= 2 for m in maps)
    with pytest.raises(WorkLimit):
        explorer_data(analysis, names, DEFAULT_MAX_CELLS, (names[-1], 0, 0), max_work=100)


def test_hostile_diamond_page_builds_with_its_numbers(tmp_path: Path) -> None:
    """The chain as a page: explorer, table and role, numbers from every path."""
    spec = format_compact(HOSTILE)
    names = [layer.name for layer in HOSTILE.layers]
    shown = " ".join(names[-30:])
    page = (myst(spec, f":layers: {shown}\n:name: hostile\n")
            + f"\n```{{rf-network}} chain\n{spec}```\n\n```{{rf-table}}\n:network: chain\n```\n\n"
            "Jump {rf}`chain::jump`, field {rf}`chain::rf`.\n")
    started = time.perf_counter()
    out, warnings = build(tmp_path, {"index.md": page})
    took = time.perf_counter() - started
    assert warnings == ""
    html_text = (out / "index.html").read_text(encoding="utf-8")
    (data,) = embedded(html_text)
    jump = math.prod(primes(11))  # the largest: every branch striding down, none up
    assert data["layers"][-1]["jump"] == [jump, jump]
    assert data["layers"][-1]["rf"] == [1, 1] and data["layers"][-1]["aligned"] is False
    assert f"Jump {jump}, field 1×1." in re.sub(r"<[^>]+>", "", html_text)
    assert took < 20, f"the page took {took:.0f} s"  # minutes when every jump kept a box


def test_explorer_refuses_past_its_work_and_page_budgets(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from rfdocs.compute import footprints

    spec = format_compact(DIAMOND_CASES["5x5, kernel 3"])
    monkeypatch.setattr(footprints, "MAX_WORK", 50)
    _, warnings = build(tmp_path / "work", {"index.md": myst(spec)})
    lines = [line for line in warnings.splitlines() if "WARNING" in line]
    assert len(lines) == 1 and "index.md:3: WARNING: rf-explorer: " in lines[0], warnings
    assert "[rfdocs.limit]" in lines[0] and "more than 50 steps" in lines[0]
    monkeypatch.setattr(footprints, "MAX_WORK", 10**9)
    monkeypatch.setattr(footprints, "MAX_DATA_BYTES", 1000)
    _, warnings = build(tmp_path / "bytes", {"index.md": myst(spec)})
    lines = [line for line in warnings.splitlines() if "WARNING" in line]
    assert len(lines) == 1 and "[rfdocs.limit]" in lines[0] and "more than 1,000" in lines[0]


# --------------------------------------------------------------------------- sequences and volumes (issue 14)

SEQUENCE = ("input 40x1\nc0: conv 2 x4 causal\nd1: conv 2 x4 dil 1 causal\n"
            "d2: conv 2 x4 dil 2 causal\np: maxpool 2 /2\nd4: conv 3 x4 dil 2 pad 2\n")
SEQ_LAYERS = [line.split(":")[0] for line in SEQUENCE.splitlines()[1:]]
VOLUME = "input 6x10x10x2\nc1: conv 3 /1 x4 pad 1\nc2: conv 3 /2 x4\n"


def cut_from(source: str) -> Network:
    """The sequence chain from ``source`` on: its output shape as the input, the layers after."""
    analysis = analyze(parse_spec(SEQUENCE))
    t, c = analysis[source].shape
    lines = SEQUENCE.splitlines()[1:]
    after = lines[SEQ_LAYERS.index(source) + 1:] if source != "input" else lines
    return parse_spec("\n".join([f"input {t}x{c}", *after]))


def sequence_cells(data: dict[str, Any], later: str, earlier: str, t: int) -> tuple[int, int] | None:
    """What the page's script lights up (its cells() on the embedded map), from the data alone."""
    names = [layer["name"] for layer in data["layers"]]
    maps = data["layers"][names.index(later)]["from"][names.index(earlier)]
    if maps is None:
        return None
    (d, paths), = maps
    axis = AxisMap(d, tuple(tuple(p) for p in paths))  # type: ignore[misc]
    return axis.cells(t, data["layers"][names.index(earlier)]["shape"][0])


def test_sequence_data_lights_the_brute_force_dependencies(tmp_path: Path) -> None:
    """1-D: in every earlier layer the lit span holds every unit the chosen one depends on (the
    N-D brute force on the network cut at that layer), from the first to the last of them,
    wherever the field lies inside the layer; the first unit shown is the selected one."""
    from tests.bruteforce import dependencies_nd

    out, warnings = build(tmp_path, {"index.md": myst(SEQUENCE, ":select: d4 7\n")})
    assert warnings == ""
    (data,) = embedded((out / "index.html").read_text(encoding="utf-8"))
    names = [layer["name"] for layer in data["layers"]]
    assert names == ["input", *SEQ_LAYERS] and data["select"] == [names.index("d4"), 7]
    analysis = analyze(parse_spec(SEQUENCE))
    assert [layer["shape"] for layer in data["layers"]] == [list(n.shape) for n in analysis]
    checked = 0
    for k, earlier in enumerate(names[:-1]):
        deps = dependencies_nd(cut_from(earlier))
        n = analysis[earlier].shape[0]
        for later in names[k + 1:]:
            dep = deps[later]
            for t in range(dep.shape[0]):
                read = np.flatnonzero(dep[t])
                lit = sequence_cells(data, later, earlier, t)
                if read.size == 0:
                    assert lit is None
                    continue
                assert lit is not None and lit[0] <= read.min() and read.max() <= lit[1]
                (d, paths), = data["layers"][names.index(later)]["from"][k]
                lo = min(a + t * j for j, a, _ in paths) / d
                hi = max(b + t * j for j, _, b in paths) / d
                if lo >= 0 and hi <= n - 1:
                    assert lit == (read.min(), read.max()), (earlier, later, t)
                    checked += 1
    assert checked > 100


def test_volume_explorer_gives_numbers_in_every_builder(tmp_path: Path) -> None:
    """3-D: no warning, no script; the sentence with the centre unit's field, the growth slices
    and the table, in HTML and LaTeX."""
    analysis = analyze(parse_spec(VOLUME))
    c2 = analysis["c2"]
    centre = tuple(n // 2 for n in c2.spatial)
    want = (f"Unit ({', '.join(map(str, centre))}) of c2 sees {'×'.join(map(str, c2.rf))} input "
            "units (depths, rows, columns "
            + ", ".join(f"{lo}–{hi}" for lo, hi in c2.box(*centre)) + ") of the 6×10×10 input.")
    for builder in ("html", "latex"):
        out, warnings = build(tmp_path / builder, {"index.md": myst(VOLUME, ":caption: Clip.\n")},
                              builder)
        assert warnings == "", warnings
        text = "\n".join(p.read_text(encoding="utf-8") for p in out.rglob("*")
                         if p.suffix in (".html", ".tex"))
        assert "rfx-data" not in text and "rfdocs-explorer.js" not in text
        flat = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text))
        assert want in flat.replace("\\textendash{}", "–"), builder
        assert "Clip." in text and "growth-" in text
        assert "×".join(map(str, c2.rf)) in flat  # the table's field


@pytest.fixture(scope="module")
def sequence_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out, warnings = build(tmp_path_factory.mktemp("sequence-page"),
                          {"index.md": myst(SEQUENCE, ":caption: A dilated causal stack.\n")})
    assert warnings == ""
    return out / "index.html"


def test_browser_sequence_hover_lights_the_dependencies(browser: Browser,
                                                        sequence_page: Path) -> None:
    """Pointing at a unit of a strip lights, in every earlier strip, exactly the cells the
    embedded data says, and on the input the brute-force dependencies; the text gives the
    analysis' field, jump and start.  Saved in light and dark with RFDOCS_SCREENSHOTS."""
    from tests.bruteforce import dependencies_nd

    browser.open(sequence_page.as_uri())
    assert browser.run("return document.querySelectorAll('.rfx-1d[data-rfx-ready]').length") == 1
    (root,) = roots(browser)
    data = embedded(sequence_page.read_text(encoding="utf-8"))[0]
    analysis = analyze(parse_spec(SEQUENCE))
    inputs = dependencies_nd(parse_spec(SEQUENCE))
    for layer, t in (("d2", 20), ("d4", 9), ("p", 0)):
        browser.hover(unit(root, layer, 0, t))
        for earlier in ["input", *SEQ_LAYERS[:SEQ_LAYERS.index(layer)]]:
            lit = {x for _, x in map(tuple, browser.run(HIGHLIGHTED, 0, earlier))}
            cells = sequence_cells(data, layer, earlier, t)
            assert lit == (set() if cells is None else set(range(cells[0], cells[1] + 1)))
        read = np.flatnonzero(inputs[layer][t])
        lit_input = {x for _, x in map(tuple, browser.run(HIGHLIGHTED, 0, "input"))}
        assert lit_input == set(range(read.min(), read.max() + 1))
        info = browser.run("return document.querySelector('.rfdocs-explorer .rfx-info').textContent")
        node = analysis[layer]
        lo, hi = node.box(t)[0]
        assert f"{layer} · unit {t}" in info
        assert f"Receptive field{node.rf[0]} input steps" in info
        assert f"Jump{node.jump[0]}" in info
    folder = os.environ.get("RFDOCS_SCREENSHOTS")
    for theme in ("light", "dark"):
        browser.run("localStorage.setItem('theme', arguments[0]); "
                    "document.body.dataset.theme = arguments[0];", theme)
        browser.hover(unit(root, "d4", 0, 9))
        assert browser.run("return getComputedStyle(document.querySelector("
                           "'.rfx-cell.rfx-in')).fill") == "rgb(230, 159, 0)"
        if folder:
            browser.screenshot(Path(folder) / f"rfdocs-explorer-1d-{theme}.png")
