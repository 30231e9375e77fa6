"""The Python API (rfdocs.network, analyze, figure, rf_value, RfdocsError) against independent
facts: the ``rfdocs`` command's JSON, files and one-line errors for the same input, brute-force
receptive fields, the bytes inside the notebook HTML, and the explorer run in Chromium."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import rfdocs
from rfdocs.compute import parse_spec
from tests.browser import chromium
from tests.bruteforce import dependencies, dependency_box

SPEC = "input 24x24x3\nconv1: conv 3x3 /1 x8\npool1: maxpool 2x2 /2\nconv2: conv 3x3 /1 x16 pad 1\n"
CLI = [sys.executable, "-m", "rfdocs.cli"]


def cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          check=False, timeout=300)


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("api") / "small.txt"
    path.write_text(SPEC, encoding="utf-8")
    return path


def test_import_rfdocs_loads_neither_numpy_matplotlib_nor_sphinx() -> None:
    code = ("import sys, rfdocs; rfdocs.RfdocsError; rfdocs.__all__; "
            "print([m for m in sys.modules if m.split('.')[0] in "
            "('numpy', 'matplotlib', 'sphinx', 'docutils', 'yaml')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("source", ["resnet50", "wavenet", "spec_file"])
def test_analyze_equals_the_commands_json(source: str, spec_file: Path) -> None:
    target = str(spec_file) if source == "spec_file" else source
    done = cli("rf", target, "--json")
    assert done.returncode == 0, done.stderr
    assert rfdocs.analyze(target).to_json() == json.loads(done.stdout)


def test_every_network_source_gives_the_same_network(spec_file: Path) -> None:
    net = parse_spec(SPEC)
    long_form = {"input": [24, 24, 3], "layers": [
        {"name": "conv1", "op": "conv", "kernel": 3, "stride": 1, "filters": 8},
        {"name": "pool1", "op": "maxpool", "kernel": 2, "stride": 2},
        {"name": "conv2", "op": "conv", "kernel": 3, "stride": 1, "filters": 16, "padding": 1}]}
    for source in (SPEC, spec_file, str(spec_file), net, long_form):
        assert rfdocs.analyze(rfdocs.network(source)).to_json() == rfdocs.analyze(net).to_json()
    assert rfdocs.network(net) is net
    cut = rfdocs.network(SPEC, until="pool1", input_shape=(40, 40))
    assert [layer.name for layer in cut.layers] == ["conv1", "pool1"]
    assert cut.input == (40, 40, 3)
    assert rfdocs.network(str(spec_file), until="pool1", input_shape=(40, 40)).to_dict() == cut.to_dict()


def test_rf_value_equals_brute_force_fields() -> None:
    net = parse_spec(SPEC)
    deps = dependencies(net)
    analysis = rfdocs.analyze(net)
    for layer in ("conv1", "pool1", "conv2"):
        h, w = analysis[layer].spatial
        box = dependency_box(deps[layer], h // 2, w // 2, net.input[1])
        assert box is not None
        (r0, r1), (c0, c1) = box
        if 0 < r0 and r1 < net.input[0] - 1:  # a field wholly inside the input: its full size
            assert rfdocs.rf_value(f"small:{layer}:rf.h", {"small": net}) == str(r1 - r0 + 1)
            assert rfdocs.rf_value(f"small:{layer}:rf.w", {"small": net}) == str(c1 - c0 + 1)
    assert rfdocs.rf_value("vgg16:pool5:rf") == "212×212"
    assert rfdocs.rf_value("small::shape", {"small": net}) == "11×11×16"


def test_rf_value_is_what_the_rf_role_prints(tmp_path: Path) -> None:
    from tests.sphinx_util import build, write_project

    queries = ["vgg16:pool5:rf", "wavenet::rf", "small:conv2:jump.h", "small::params",
               "c3d::size", "small:pool1:start"]
    page = "# P\n\n```{rf-network} small\n" + SPEC + "```\n\n" + "\n\n".join(
        f"Q{i}: {{rf}}`{q}`." for i, q in enumerate(queries)) + "\n"
    out = build(write_project(tmp_path / "src", {"index.md": page}), "text")
    text = (out.outdir / "index.txt").read_text(encoding="utf-8")
    net = rfdocs.network(SPEC)
    for i, query in enumerate(queries):
        assert f"Q{i}: {rfdocs.rf_value(query, {'small': net})}." in text


# --------------------------------------------------------------------------- figures and files


@pytest.mark.parametrize(("kind", "options", "suffix", "theme"), [
    ("block", {"neuron": "5,6"}, ".svg", "light"),
    ("growth", {"layer": "conv2", "neuron": (3, 4)}, ".png", "dark"),
    ("block", {}, ".pdf", "light"),
    ("steps", {}, ".gif", "light"),
])
def test_saved_files_equal_the_commands_render(kind: str, options: dict[str, Any], suffix: str,
                                               theme: str, spec_file: Path, tmp_path: Path) -> None:
    cli_options = [f"--{name}={','.join(map(str, v)) if isinstance(v, tuple) else v}"
                   for name, v in options.items()]
    spec = ["--spec", str(spec_file)] if kind != "steps" else []
    expected = tmp_path / f"cli{suffix}"
    done = cli("render", kind, *cli_options, *spec, "--theme", theme, "-o", expected)
    assert done.returncode == 0, done.stderr
    fig = rfdocs.figure(kind, None if kind == "steps" else spec_file, theme=theme, **options)
    saved = fig.save(tmp_path / f"api{suffix}")
    assert saved.read_bytes() == expected.read_bytes()
    assert fig.alt == done.stdout.strip()  # the command prints the alt text


def test_numbers_and_alt_state_the_brute_force_field() -> None:
    net = parse_spec(SPEC)
    fig = rfdocs.figure("block", SPEC, neuron=[4, 7])
    box = dependency_box(dependencies(net)["conv2"], 4, 7, net.input[1])
    assert box is not None
    (r0, r1), (c0, c1) = box
    assert fig.numbers["field_in_input"] == [[r0, r1], [c0, c1]]
    assert fig.numbers["field"][:2] == [r1 - r0 + 1, c1 - c0 + 1]
    assert f"{r1 - r0 + 1}×{c1 - c0 + 1}×3 receptive field" in fig.alt
    json.dumps(fig.numbers)  # plain values


def test_notebook_representations_carry_the_drawn_svg() -> None:
    fig = rfdocs.figure("growth", SPEC, layer="conv2")
    svg = fig._repr_svg_()
    assert svg is not None and svg == fig.svg() and svg.lstrip().startswith("<?xml")
    page = fig._repr_html_()
    uris = re.findall(r'(?:src|srcset)="data:image/svg\+xml;base64,([^"]+)"', page)
    assert [base64.b64decode(u).decode() for u in uris] == [fig.svg("dark"), fig.svg("light")]
    assert 'media="(prefers-color-scheme: dark)"' in page
    assert f'alt="{fig.alt}"' in page
    assert not re.search(r'(?:src|href)="(?!data:)', page)  # nothing fetched from elsewhere
    dark = rfdocs.figure("growth", SPEC, theme="dark", layer="conv2")
    assert dark._repr_svg_() == fig.svg("dark") and "prefers-color-scheme" not in dark._repr_html_()


def test_table_equals_the_commands_table(spec_file: Path) -> None:
    done = cli("rf", spec_file)
    table = rfdocs.figure("table", spec_file)
    assert table.text() == done.stdout.rstrip("\n")
    assert table.numbers == json.loads(cli("rf", spec_file, "--json").stdout)
    assert table._repr_svg_() is None
    assert table._repr_html_().count("<tr>") == len(done.stdout.splitlines()) - 1


# --------------------------------------------------------------------------- errors


def _cli_error(*args: str | Path) -> str:
    done = cli(*args)
    assert done.returncode == 2 and done.stderr.startswith("rfdocs: "), done.stderr
    line: str = done.stderr.removeprefix("rfdocs: ").rstrip("\n")
    assert "\n" not in line
    return line


def _api_error(call: Callable[[], object]) -> str:
    with pytest.raises(rfdocs.RfdocsError) as caught:
        call()
    assert isinstance(caught.value, ValueError)
    return str(caught.value)


def test_errors_carry_the_commands_one_line_message(spec_file: Path, tmp_path: Path) -> None:
    bad_spec = tmp_path / "bad.txt"
    bad_spec.write_text("input 5x5x3\nconv1: conv 7x7 /1 x4\n", encoding="utf-8")
    out = tmp_path / "x.svg"
    cases: list[tuple[tuple[str | Path, ...], Callable[[], object]]] = [
        (("render", "block", "--neuron", "99,99", "--spec", spec_file, "-o", out),
         lambda: rfdocs.figure("block", spec_file, neuron="99,99")),
        (("render", "block", "--bogus", "1", "-o", out), lambda: rfdocs.figure("block", bogus=1)),
        (("render", "growth", "--neuron", "a,b", "-o", out),
         lambda: rfdocs.figure("growth", neuron="a,b")),
        (("rf", tmp_path / "missing.yaml"), lambda: rfdocs.network(tmp_path / "missing.yaml")),
        (("rf", "nosuchmodel"), lambda: rfdocs.analyze("nosuchmodel")),
        (("rf", bad_spec), lambda: rfdocs.analyze(bad_spec)),
        (("render", "erf", "--spec", "c3d", "-o", out), lambda: rfdocs.figure("erf", "c3d")),
        (("render", "block", "--max_work", "1000", "-o", out),
         lambda: rfdocs.figure("block", max_work=1000)),
    ]
    for args, call in cases:
        assert _api_error(call) == _cli_error(*args)
    assert not out.exists()


def test_unknown_kinds_bad_themes_and_formats_are_one_error(tmp_path: Path) -> None:
    assert "block, growth" in _api_error(lambda: rfdocs.figure("blocks"))
    assert "light, dark" in _api_error(lambda: rfdocs.figure("block", theme="sepia"))
    fig = rfdocs.figure("block")
    message = _api_error(lambda: fig.save(tmp_path / "x.jpg"))
    assert message == _cli_error("render", "block", "-o", tmp_path / "x.jpg")
    assert "vgg16 has no layer 'nope'" in _api_error(lambda: rfdocs.rf_value("vgg16:nope:rf"))
    assert _api_error(lambda: rfdocs.network(42)).startswith("a network is")  # type: ignore[arg-type]
    folder = tmp_path / "folder.svg"
    folder.mkdir()
    assert _api_error(lambda: fig.save(folder)) == _cli_error("render", "block", "-o", folder)


# --------------------------------------------------------------------------- the explorer


def test_explorer_html_is_self_contained(tmp_path: Path) -> None:
    explorer = rfdocs.figure("explorer", SPEC)
    page = explorer._repr_html_()
    assert "<script>" in page and "<style>" in page
    assert not re.search(r'(?:src|href)="(?!data:)', page)
    data = json.loads(re.search(r'<script type="application/json" class="rfx-data">(.*?)</script>',
                                page).group(1))  # type: ignore[union-attr]
    assert [layer["name"] for layer in data["layers"]] == ["input", "conv1", "pool1", "conv2"]
    assert explorer._repr_svg_() == rfdocs.figure("growth", SPEC, layer="conv2",
                                                  neuron="5,5").svg()  # the static fallback
    path = explorer.save(tmp_path / "explorer.html")
    assert path.read_text(encoding="utf-8") == page


def test_explorer_html_lights_the_brute_force_field_in_chromium(tmp_path: Path) -> None:
    net = parse_spec(SPEC)
    html_page = rfdocs.figure("explorer", SPEC)._repr_html_()
    path = tmp_path / "explorer.html"
    path.write_text(f"<!doctype html><html><body>{html_page}</body></html>", encoding="utf-8")
    deps = dependencies(net)
    with chromium() as browser:
        browser.open(path.as_uri())
        assert browser.run("return document.querySelectorAll('[data-rfx-ready]').length") == 1
        assert browser.run("return document.querySelector('.rfdocs-explorer-fallback').hidden")
        root = browser.run("return document.querySelector('.rfdocs-explorer').id")
        for y, x in [(0, 0), (5, 5), (10, 3)]:
            browser.hover(f'#{root} svg[data-layer="conv2"] rect[data-y="{y}"][data-x="{x}"]')
            lit = browser.run(
                "return Array.from(document.querySelector('svg.rfx-grid[data-layer=\"input\"]')"
                ".querySelectorAll('.rfx-cell.rfx-in'), c => [Number(c.getAttribute('data-y')),"
                " Number(c.getAttribute('data-x'))])")
            box = dependency_box(deps["conv2"], y, x, net.input[1])
            assert box is not None
            (r0, r1), (c0, c1) = box
            assert {tuple(c) for c in lit} == {(i, j) for i in range(r0, r1 + 1)
                                               for j in range(c0, c1 + 1)}
