"""Hostile pages (issue 12): inputs that crashed Sphinx with a traceback, passed silently or
echoed 300 KB in a warning. Each directive now renders or gives exactly one located warning at
its own line; numpy never writes RuntimeWarnings to stderr where -W cannot see them."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
from sphinx.errors import ConfigError

from tests.sphinx_util import Built, build, write_project

HUGE = "9" * 5000  # more digits than Python converts (4,300)
LONG = "x" * 300_000  # a 300 KB option value
SUP2, ARABIC3 = "\u00b2", "\u0663"  # '²' passes str.isdigit() but not int(); '٣' passes both


@dataclass(frozen=True)
class Case:
    """A directive and a fragment of its one warning ('' when it must render silently)."""

    name: str
    directive: str
    options: tuple[tuple[str, str], ...] = ()
    body: tuple[str, ...] = ()
    argument: str = ""
    warns: str = ""


CASES = (
    Case("spec-symlink-loop", "rf-table", (("spec", "loop1"),), warns="loop of symbolic links"),
    Case("image-symlink-loop", "rf-featuremaps", (("image", "self"),),
         warns="loop of symbolic links"),
    Case("spec-folder", "rf-table", (("spec", "nets"),), warns="a folder"),
    Case("spec-binary", "rf-table", (("spec", "binary.txt"),), warns="binary"),
    Case("spec-latin1", "rf-table", (("spec", "latin1.txt"),), warns="not UTF-8"),
    Case("spec-bom", "rf-table", (("spec", "bom.txt"),)),
    Case("max-cells-superscript", "rf-explorer", (("model", "alexnet"), ("max-cells", SUP2)),
         warns=":max-cells:"),
    Case("max-cells-huge", "rf-explorer", (("model", "alexnet"), ("max-cells", HUGE)),
         warns=":max-cells:"),
    Case("select-superscript", "rf-explorer", (("model", "alexnet"), ("select", f"conv1 {SUP2} 3")),
         warns=":select:"),
    Case("select-huge", "rf-explorer", (("model", "alexnet"), ("select", f"conv1 {HUGE} 3")),
         warns=":select:"),
    Case("body-superscript", "rf-table", body=("input 8x8x1", f"conv 3 x{SUP2}"),
         warns="digits 0 to 9"),
    Case("body-groups-superscript", "rf-table", body=("input 8x8x1", f"conv 3 x2 groups {SUP2}"),
         warns="digits 0 to 9"),
    Case("body-arabic", "rf-block", body=("input 8x8x1", f"conv {ARABIC3} x1"),
         warns="digits 0 to 9"),
    Case("body-huge-compact", "rf-table", body=("input 8x8x1", f"conv {HUGE} x1"),
         warns="5,000-digit"),
    Case("body-huge-yaml", "rf-table",
         body=("input: [8, 8, 1]", "layers:", f"  - {{op: conv, kernel: {HUGE}, filters: 1}}"),
         warns="far too large"),
    Case("body-huge-json", "rf-table",
         body=(f'{{"input": [8, 8, 1], "layers": [{{"op": "conv", "kernel": {HUGE}, '
               '"filters": 1}]}',), warns="far too large"),
    Case("body-deep-json", "rf-table",
         body=('{"input": [8, 8, 1], "layers": ' + "[" * 100_000 + "]" * 100_000 + "}",),
         warns="nested"),
    Case("body-duplicate-key", "rf-table",
         body=("input: [8, 8, 1]", "layers:", "  - {op: conv, kernel: 3, kernel: 5, filters: 1}"),
         warns="duplicate key 'kernel'"),
    Case("body-720-strides", "rf-table", body=("input 8x8x1", *["conv 1 /1000000 x1"] * 720),
         warns="multiply to more than"),
    Case("network-first", "rf-network", (("model", "alexnet"),), argument="n1"),
    Case("network-again", "rf-network", (("model", "vgg16"),), argument="n1",
         warns="'n1' is already defined on this page (line {network-first})"),
    Case("network-used", "rf-table", (("network", "n1"), ("layers", "conv1"))),
    Case("gaussian-huge-sigma", "rf-featuremaps", (("kernels", "gaussian(5, 1e308)"),
                                                   ("size", "16"))),
    Case("gaussian-tiny-sigma", "rf-featuremaps", (("kernels", "gaussian(4, 1e-300)"),
                                                   ("size", "16"))),
    Case("kernel-overflow", "rf-featuremaps", (("kernels", "[[1e308, 1e308], [1e308, 1e308]]"),),
         warns="too large"),
    Case("values-overflow", "rf-steps", (("values", "[[1e200, 1e200], [1e200, 1e200]]"),
                                         ("kernel", "[[1e200]]")), warns="too large"),
    Case("size-huge", "rf-featuremaps", (("size", HUGE),), warns=":size:"),
    Case("seed-nan", "rf-erf", (("model", "alexnet"), ("seed", "nan")), warns=":seed:"),
    Case("neuron-arabic", "rf-block", (("model", "alexnet"), ("neuron", f"{ARABIC3},{ARABIC3}")),
         warns=":neuron:"),
    Case("long-layer", "rf-block", (("model", "alexnet"), ("layer", LONG)), warns=":layer:"),
    Case("long-kernels", "rf-featuremaps", (("kernels", LONG),), warns=":kernels:"),
    Case("long-model", "rf-table", (("model", LONG),), warns=":model:"),
    Case("long-spec", "rf-table", (("spec", LONG),), warns=":spec:"),
    Case("long-select", "rf-explorer", (("model", "alexnet"), ("select", LONG)), warns=":select:"),
    Case("long-network-name", "rf-network", (("model", "alexnet"),), argument="n" * 100_000,
         warns="network name"),
)


def _page(cases: tuple[Case, ...]) -> tuple[str, dict[str, int]]:
    lines = ["Hostile", "=======", ""]
    starts: dict[str, int] = {}
    for case in cases:
        starts[case.name] = len(lines) + 1
        lines.append(f".. {case.directive}::{' ' + case.argument if case.argument else ''}")
        lines += [f"   :{name}: {value}" for name, value in case.options]
        if case.body:
            lines += ["", *(f"   {b}" for b in case.body)]
        lines += ["", "Prose.", ""]
    return "\n".join(lines) + "\n", starts


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Built, dict[str, int], list[str]]:
    root = tmp_path_factory.mktemp("hostile")
    page, starts = _page(CASES)
    src = write_project(root / "src", {"hostile.rst": page})
    (src / "nets").mkdir()
    os.symlink("loop2", src / "loop1")
    os.symlink("loop1", src / "loop2")
    os.symlink("self", src / "self")
    spec = "input 8x8x1\nconv 3 x1\n"
    (src / "binary.txt").write_bytes(spec.encode() + b"\x00\x01\xff")
    (src / "latin1.txt").write_bytes((spec + "# café\n").encode("latin-1"))
    (src / "bom.txt").write_bytes(b"\xef\xbb\xbf" + spec.encode())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = build(src, "html")
    escaped = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught
               if issubclass(w.category, RuntimeWarning)]
    return built, starts, escaped


def test_the_build_finishes_without_a_traceback(
        hostile: tuple[Built, dict[str, int], list[str]]) -> None:
    built, _, _ = hostile
    assert built.statuscode == 0
    assert "Traceback" not in built.status + built.warnings


def test_no_runtime_warning_escapes_to_stderr(
        hostile: tuple[Built, dict[str, int], list[str]]) -> None:
    """gaussian(4, 1e-300) printed numpy's 'divide by zero' and 'invalid value' to stderr while
    the page was read: outside Sphinx's logging, so -W could not turn it into an error."""
    assert hostile[2] == []


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_directive_renders_or_warns_once_at_its_line(
        hostile: tuple[Built, dict[str, int], list[str]], case: Case) -> None:
    built, starts, _ = hostile
    names = list(starts)
    start = starts[case.name]
    end = starts[names[names.index(case.name) + 1]] if case.name != names[-1] else 10**9
    here = [w for w in built.parsed_warnings()
            if w["location"].endswith("hostile.rst") and start <= int(w["line"]) < end]
    if not case.warns:
        assert here == [], here
        return
    assert len(here) == 1, here
    expected = case.warns.replace("{network-first}", str(starts["network-first"]))
    assert expected in here[0]["message"], here[0]["message"][:500]
    assert here[0]["type"].startswith("rfdocs")
    assert len(here[0]["message"]) < 600, here[0]["message"][:600]


def test_rf_table_layers_option_is_quoted_shortened(tmp_path: Path) -> None:
    page = f"Table\n=====\n\n.. rf-table::\n   :model: alexnet\n   :layers: {LONG}\n"
    built = build(write_project(tmp_path / "src", {"index.rst": page}), "html")
    found = [w for w in built.parsed_warnings() if w["type"].startswith("rfdocs")]
    assert len(found) == 1 and len(found[0]["message"]) < 600


PAGE = "Config\n======\n\n.. rf-table::\n\n   input 8x8x1\n   conv 3x3 /1 x2\n"


@pytest.mark.parametrize("dpi", [601, 100_000])
def test_png_dpi_is_bounded(tmp_path: Path, dpi: int) -> None:
    """rfdocs_png_dpi = 100000 died in std::bad_alloc (a 1e5-dpi canvas) when a PNG was drawn."""
    src = write_project(tmp_path / "src", {"index.rst": PAGE}, f"rfdocs_png_dpi = {dpi}\n")
    with pytest.raises(ConfigError) as caught:
        build(src)
    assert "rfdocs_png_dpi" in str(caught.value) and "600" in str(caught.value)


def test_png_dpi_600_is_allowed(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", {"index.rst": PAGE}, "rfdocs_png_dpi = 600\n")
    assert build(src).statuscode == 0
