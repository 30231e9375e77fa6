"""The MyST-MD plugin (rfdocs-myst) in the real mystmd, pinned in tests/mystmd (``make mystmd``).

One ``myst build`` of the manual's example (docs/manual/mystmd.md, as written there) and a page
with every figure kind, to Markdown, LaTeX, Typst and JATS (the exports that build offline).
The drawn files are compared with ``rfdocs render``, the numbers with ``rfdocs rf --json``, the
alt text with the figure's own; errors are checked by running the plugin's page transform."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rfdocs.figures import KIND_MODULES
from rfdocs.mystplugin import CACHE_DIR, main, run_directive, run_role, run_transform

ROOT = Path(__file__).resolve().parent.parent
MYST = ROOT / "tests" / "mystmd" / "node_modules" / ".bin" / "myst"
PLUGIN = Path(sys.executable).parent / "rfdocs-myst"
RFDOCS = Path(sys.executable).parent / "rfdocs"
MANUAL = ROOT / "docs" / "manual" / "mystmd.md"


def example_files() -> dict[str, str]:
    """The manual's example: each code block captioned with a file name."""
    text = MANUAL.read_text(encoding="utf-8")
    blocks = re.findall(r"```\{code-block\} \w+\n:caption: (\S+)\n\n(.*?)\n```\n", text, re.S)
    return {name: body + "\n" for name, body in blocks}


def kinds_page() -> str:
    parts = ["# Every kind\n"]
    for kind in KIND_MODULES:
        parts.append(f":::{{rf-{kind}}}\n:caption: The {kind} figure.\n:label: fig-{kind}\n:::\n")
    return "\n".join(parts)


#: A small trained network, written as an ONNX model by the fixture (where onnx is installed).
ONNX_SPEC = "input 16x16x3\nstem: conv 3 /2 pad 1 x4\nact: relu\nc2: conv 3x3 x6\n"
ONNX_PAGE = """# An ONNX model

:::{rf-network} trained
:onnx: models/model.onnx
:::

:::{rf-filters}
:onnx: models/model.onnx
:caption: The learned kernels of `stem`.
:label: fig-onnx-filters
:::

:::{rf-block}
:spec: models/model.onnx
:label: fig-onnx-block
:::

`c2` sees {rf}`trained:c2:rf`.
"""


def write_onnx_model(path: Path, seed: int = 0) -> bool:
    """ONNX_SPEC as an ONNX model with weights drawn from ``seed``; False without onnx."""
    try:
        from tests.onnx_build import full_params, network_to_onnx, save
    except ImportError:
        return False
    from rfdocs.compute import parse_spec

    net = parse_spec(ONNX_SPEC)
    path.parent.mkdir(parents=True, exist_ok=True)
    save(network_to_onnx(net, full_params(net, seed)), path)
    return True


def rf_json(spec: Path) -> dict[str, dict[str, object]]:
    out = subprocess.run([str(RFDOCS), "rf", str(spec), "--json"], check=True,
                         capture_output=True, text=True).stdout
    return {layer["name"]: layer for layer in json.loads(out)["layers"]}


def times(values: list[int]) -> str:
    return "×".join(str(v) for v in values)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None or not MYST.exists():
        pytest.skip("mystmd is not installed in tests/mystmd (run `make mystmd`; it needs npm)")
    if not PLUGIN.exists():
        pytest.skip(f"the rfdocs-myst command is not installed beside {sys.executable}")
    project = tmp_path_factory.mktemp("book")
    for name, body in example_files().items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(body, encoding="utf-8")
    config = (project / "myst.yml").read_text(encoding="utf-8")
    assert "path: .venv/bin/rfdocs-myst" in config
    config = config.replace("path: .venv/bin/rfdocs-myst", f"path: {PLUGIN}")
    config = config.replace("  exports:\n", "  exports:\n"
                            "    - {format: md, output: exports/kinds.md, articles: [kinds.md]}\n"
                            "    - {format: tex, template: null, output: exports/kinds/kinds.tex,"
                            " articles: [kinds.md]}\n")
    if write_onnx_model(project / "models" / "model.onnx"):
        (project / "onnx.md").write_text(ONNX_PAGE, encoding="utf-8")
        config = config.replace("  exports:\n", "  exports:\n"
                                "    - {format: md, output: exports/onnx.md, articles: [onnx.md]}\n")
    (project / "myst.yml").write_text(config, encoding="utf-8")
    (project / "kinds.md").write_text(kinds_page(), encoding="utf-8")
    env = {**os.environ, "RFDOCS_MYST_ON_ERROR": "raise"}
    run = subprocess.run([str(MYST), "build", "--md", "--tex", "--typst", "--jats"], cwd=project,
                         capture_output=True, text=True, timeout=600, env=env)
    log = run.stdout + run.stderr
    assert "rfdocs:" not in log and "Non-zero error code" not in log, log
    for name in ("exports/chapter.md", "exports/tex/chapter.tex", "exports/typst/chapter.typ",
                 "exports/jats/chapter.xml", "exports/kinds.md", "exports/kinds/kinds.tex"):
        assert (project / name).is_file(), f"{name} missing\n{log}"
    return project


def markdown_figures(text: str) -> dict[str, tuple[str, str]]:
    """label -> (image path, alt) of every figure in a Markdown export."""
    found = re.findall(r":::\{figure\} (\S+)\n:name: (\S+)\n(?::class: [^\n]*\n)?:alt: ([^\n]*)\n",
                       text)
    return {label: (url, alt) for url, label, alt in found}


def test_numbers_and_table_are_rfdocs_rf(built: Path) -> None:
    small = rf_json(built / "nets" / "small.txt")
    vgg = subprocess.run([str(RFDOCS), "rf", "vgg16", "--json"], check=True, capture_output=True,
                         text=True).stdout
    pool5 = next(la for la in json.loads(vgg)["layers"] if la["name"] == "pool5")
    md = (built / "exports" / "chapter.md").read_text(encoding="utf-8")
    conv2 = small["conv2"]
    assert f"it sees a {times(conv2['rf'])} patch" in md  # type: ignore[arg-type]
    jump = conv2["jump"]
    assert isinstance(jump, list) and len(set(jump)) == 1  # the role says an equal jump once
    assert f"jumping {jump[0]} pixels" in md
    assert f"`pool5`\nsees {times(pool5['rf'])}." in md.replace("’", "'")
    tex = (built / "exports" / "tex" / "chapter.tex").read_text(encoding="utf-8")
    rows = re.findall(r"^(\w+) & (\w+) & ([^&]+) & ([^&]+) & ", tex, re.M)
    by_name = {name: (op, shape, field) for name, op, shape, field in rows}
    for name, layer in small.items():
        shape = times(layer["shape"]).replace("×", "$\\times$")  # type: ignore[arg-type]
        field = times(layer["rf"]).replace("×", "$\\times$")  # type: ignore[arg-type]
        assert by_name[name] == (layer["op"], shape.strip(), field.strip()), (name, rows)
    assert "\\label{tbl-small}" in tex


def test_figures_are_rfdocs_render(built: Path, tmp_path: Path) -> None:
    md = (built / "exports" / "chapter.md").read_text(encoding="utf-8")
    figures = markdown_figures(md)
    assert set(figures) == {"fig-block", "fig-growth"}, md
    growth_spec = tmp_path / "growth.txt"
    body = re.search(r":label: fig-growth\n(input .*?):::", example_files()["chapter.md"], re.S)
    assert body is not None
    growth_spec.write_text(body.group(1), encoding="utf-8")
    for label, kind, spec in (("fig-block", "block", built / "nets" / "small.txt"),
                              ("fig-growth", "growth", growth_spec)):
        url, alt = figures[label]
        drawn = built / url
        assert drawn.parent == built / CACHE_DIR and drawn.suffix == ".svg"
        reference = tmp_path / f"{kind}.svg"
        printed = subprocess.run([str(RFDOCS), "render", kind, "--spec", str(spec), "-o",
                                  str(reference)], check=True, capture_output=True, text=True)
        assert drawn.read_bytes() == reference.read_bytes(), label
        assert alt == printed.stdout.strip()  # the computed alt text, not the caption
        assert drawn.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    md = md.replace("\N{NO-BREAK SPACE}", " ")
    assert "[Figure 1](#fig-block) shows" in md and "Figure 2](#fig-growth) grows faster" in md


def test_latex_typst_jats(built: Path) -> None:
    tex = (built / "exports" / "tex" / "chapter.tex").read_text(encoding="utf-8")
    included = re.findall(r"\\includegraphics\[[^]]*\]\{([^}]+)\}", tex)
    assert len(included) == 2 and all(name.endswith(".pdf") for name in included)
    for name in included:
        assert (built / "exports" / "tex" / name).read_bytes().startswith(b"%PDF")
    assert "\\label{fig-block}" in tex and "Figure~\\ref{fig-block}" in tex
    typst = (built / "exports" / "typst" / "chapter.typ").read_text(encoding="utf-8")
    images = re.findall(r'image\("([^"]+\.svg)"', typst)
    assert len(images) == 2 and "<fig-block>" in typst and "<tbl-small>" in typst
    md = (built / "exports" / "chapter.md").read_text(encoding="utf-8")
    alts = [alt for _, alt in markdown_figures(md).values()]
    jats = (built / "exports" / "jats" / "chapter.xml").read_text(encoding="utf-8")
    assert re.findall(r"<alt-text>(.*?)</alt-text>", jats) == alts


def test_every_kind(built: Path, tmp_path: Path) -> None:
    md = (built / "exports" / "kinds.md").read_text(encoding="utf-8")
    figures = markdown_figures(md)
    assert set(figures) == {f"fig-{kind}" for kind in KIND_MODULES}, md
    for kind in KIND_MODULES:
        url, alt = figures[f"fig-{kind}"]
        reference = tmp_path / f"{kind}.svg"
        printed = subprocess.run([str(RFDOCS), "render", kind, "-o", str(reference)], check=True,
                                 capture_output=True, text=True)
        assert (built / url).read_bytes() == reference.read_bytes(), kind
        assert alt == printed.stdout.strip(), kind
    tex = (built / "exports" / "kinds" / "kinds.tex").read_text(encoding="utf-8")
    assert len(re.findall(r"\\includegraphics\[[^]]*\]\{[^}]+\.pdf\}", tex)) == len(KIND_MODULES)


def test_onnx_model(built: Path, tmp_path: Path) -> None:
    """:onnx: and :spec: with an ONNX file, and rf-network from one: the figures are `rfdocs
    render --spec model.onnx`'s, byte for byte, with its alt text; the role's number `rfdocs rf`'s."""
    model = built / "models" / "model.onnx"
    if not model.exists():
        pytest.skip("the onnx package is not installed (rfdocs[onnx]), so no ONNX page was built")
    md = (built / "exports" / "onnx.md").read_text(encoding="utf-8")
    figures = markdown_figures(md)
    assert set(figures) == {"fig-onnx-filters", "fig-onnx-block"}, md
    c2 = rf_json(model)["c2"]
    for label, kind in (("fig-onnx-filters", "filters"), ("fig-onnx-block", "block")):
        url, alt = figures[label]
        reference = tmp_path / f"{kind}.svg"
        printed = subprocess.run([str(RFDOCS), "render", kind, "--spec", str(model), "-o",
                                  str(reference)], check=True, capture_output=True, text=True)
        assert (built / url).read_bytes() == reference.read_bytes(), kind
        assert alt == printed.stdout.strip(), kind
    assert f"{times(c2['rf'])}×3 receptive field" in figures["fig-onnx-block"][1]  # type: ignore[arg-type]
    assert f"`c2` sees {times(c2['rf'])}." in md  # type: ignore[arg-type]


# --- the protocol, without mystmd: cheap checks of what mystmd cannot show -----------------------

def test_specification_lists_every_directive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    spec = json.loads(capsys.readouterr().out)
    names = {d["name"] for d in spec["directives"]}
    assert names == {f"rf-{k}" for k in KIND_MODULES} | {"rf-table", "rf-network"}
    assert [r["name"] for r in spec["roles"]] == ["rf"]
    assert spec["transforms"] == [{"name": "rfdocs-page", "stage": "document",
                                   "doc": spec["transforms"][0]["doc"]}]


def _directive(name: str, line: int, options: dict[str, object], body: str = "",
               arg: str | None = None) -> list[dict[str, object]]:
    node = {"type": "mystDirective", "name": name, "position": {"start": {"line": line}},
            "children": [{"type": "mystDirectiveBody", "position": {"start": {"line": line + 1}}}]}
    return run_directive(name, {"name": name, "node": node, "options": options, "body": body,
                                **({"arg": arg} if arg else {})})


def test_errors_name_the_page_and_line(tmp_path: Path) -> None:
    page = ("# P\n\n:::{rf-network} a\ninput 8x8x1\nc: conv 3x3 x4\n:::\n\n"
            ":::{rf-block}\n:network: b\n:::\n\nSee {rf}`a:c:rf` and {rf}`a:nope:rf`.\n\n"
            ":::{rf-growth}\ninput 8x8x1\nc: conv 3x3 /0 x4\n:::\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "page.md").write_text(page, encoding="utf-8")
    (tmp_path / "other.md").write_text("# nothing here\n", encoding="utf-8")
    role_line = 12
    tree = {"type": "root", "children": [
        *_directive("rf-network", 3, {}, "input 8x8x1\nc: conv 3x3 x4", arg="a"),
        *_directive("rf-block", 8, {"network": "b"}),
        {"type": "paragraph", "children": [
            *run_role({"body": "a:c:rf", "node": {"position": {"start": {"line": role_line}}}}),
            *run_role({"body": "a:nope:rf", "node": {"position": {"start": {"line": role_line}}}})]},
        *_directive("rf-growth", 14, {}, "input 8x8x1\nc: conv 3x3 /0 x4")]}
    with pytest.raises(Exception) as raised:
        run_transform(json.loads(json.dumps(tree)), tmp_path)
    lines = str(raised.value).splitlines()
    assert lines[0].startswith("sub/page.md:8: rf-block: :network: 'b' is not defined"), lines
    assert lines[1].startswith("sub/page.md:12: rf: rf role: ") and "nope" in lines[1], lines
    assert lines[2].startswith("sub/page.md:16: rf-growth: bad network spec in the directive body"), lines
    assert len(lines) == 3
    os.environ["RFDOCS_MYST_ON_ERROR"] = "box"
    try:
        out = run_transform(json.loads(json.dumps(tree)), tmp_path)
    finally:
        del os.environ["RFDOCS_MYST_ON_ERROR"]
    kinds = [node.get("kind") for node in out["children"]]
    assert kinds == ["error", None, "error"]  # rf-network's node is gone; the paragraph stays
    assert out["children"][1]["children"][0] == {"type": "text", "value": "3×3"}


NO_SPHINX = """
import contextlib, io, json, sys
from pathlib import Path
from rfdocs.mystplugin import main, run_directive, run_role, run_transform

def directive(name, line, options, body="", arg=None):
    node = {"type": "mystDirective", "name": name, "position": {"start": {"line": line}},
            "children": []}
    return run_directive(name, {"name": name, "node": node, "options": options, "body": body,
                                **({"arg": arg} if arg else {})})

with contextlib.redirect_stdout(io.StringIO()) as spec:
    main([])
assert "rf-block" in spec.getvalue()
tree = {"type": "root", "children": [
    *directive("rf-network", 3, {}, "input 8x8x1\\nc: conv 3x3 x4", arg="a"),
    *directive("rf-block", 8, {"network": "a"}),
    *directive("rf-table", 11, {"network": "a"}),
    {"type": "paragraph", "children": run_role({"body": "a:c:rf",
                                                "node": {"position": {"start": {"line": 14}}}})}]}
out = run_transform(tree, Path.cwd())
print(json.dumps({"tree": out, "modules": sorted(
    name for name in sys.modules if name.split(".")[0] in ("sphinx", "docutils"))}))
"""


def test_plugin_runs_without_sphinx(tmp_path: Path) -> None:
    """mystmd starts the plugin afresh for every directive, role and page: no mode of it (the
    specification, a directive, a role, the page transform drawing a figure and filling a table)
    imports Sphinx or docutils, which cost a few hundred milliseconds a start."""
    page = ("# P\n\n:::{rf-network} a\ninput 8x8x1\nc: conv 3x3 x4\n:::\n\n:::{rf-block}\n"
            ":network: a\n:::\n\n:::{rf-table}\n:network: a\n:::\n\nIt sees {rf}`a:c:rf`.\n")
    (tmp_path / "page.md").write_text(page, encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", NO_SPHINX], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    figure, table, paragraph = result["tree"]["children"]
    url = figure["children"][0]["url"]
    assert (tmp_path / url.replace(".*", ".svg")).is_file()  # it did draw
    assert len(table["children"][0]["children"]) == 3  # header, input, c
    assert paragraph["children"][0] == {"type": "text", "value": "3×3"}
    assert result["modules"] == []


def test_retrained_onnx_model_is_drawn_afresh(tmp_path: Path) -> None:
    """The figure's name covers an ONNX model's weights, not only its layers: the same layers
    with other weights give another file, drawn anew (the learned kernels differ)."""
    pytest.importorskip("onnx", reason="the onnx package is not installed (rfdocs[onnx])")
    (tmp_path / "page.md").write_text("# P\n\n:::{rf-filters}\n:onnx: model.onnx\n:::\n",
                                      encoding="utf-8")
    drawn = []
    for seed in (0, 1):
        assert write_onnx_model(tmp_path / "model.onnx", seed)
        tree = {"type": "root", "children": _directive("rf-filters", 3, {"onnx": "model.onnx"})}
        url = run_transform(tree, tmp_path)["children"][0]["children"][0]["url"]
        drawn.append((url, (tmp_path / url.replace(".*", ".svg")).read_bytes()))
    assert drawn[0][0] != drawn[1][0]
    assert drawn[0][1] != drawn[1][1]
