"""The rfdocs command: JSON and table output, exit status 2 with one message on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rfdocs.cli import main, read_figure_file, render_to_file
from rfdocs.compute import analyze, as_plain, zoo_network

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rfdocs.cli", *args], capture_output=True,
                          text=True, check=False, cwd=ROOT)


def test_json_matches_the_analysis_of_a_zoo_model() -> None:
    done = run("rf", "resnet50", "--json")
    assert done.returncode == 0, done.stderr
    layers = json.loads(done.stdout)["layers"]
    analysis = analyze(zoo_network("resnet50"))
    assert [row["name"] for row in layers] == [n.name for n in analysis.layers]
    last = layers[-1]
    assert set(last) == {"name", "op", "shape", "rf", "jump", "start", "padding", "aligned"}
    node = analysis.output
    assert last["shape"] == list(node.shape)
    assert last["rf"] == [as_plain(v) for v in node.rf]
    assert last["start"] == [as_plain(v) for v in node.start]


def test_table_for_a_spec_file(tmp_path: Path) -> None:
    spec = tmp_path / "net.txt"
    spec.write_text("input 50x50x3\nconv 5x5 /1 x100\nmaxpool 2\n")
    done = run("rf", str(spec))
    assert done.returncode == 0
    rows = done.stdout.splitlines()
    assert rows[0].split()[:2] == ["layer", "op"]
    assert rows[3].split()[:4] == ["conv1", "conv", "46×46×100", "5×5"]
    assert rows[4].split()[:5] == ["maxpool2", "maxpool", "23×23×100", "6×6", "2"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("input 8x8x1\nconv 3 x1 stride 2\n", "layer 'conv1'"),
        ("input: [8, 8, 1]\nlayers:\n  - {op: conv, kernel: 3, filters: 1, padding: wide}\n",
         "field 'padding'"),
        ("input 8x8x1\nconv 9 x1\n", "impossible shape"),
    ],
)
def test_bad_spec_exits_2_with_one_message(tmp_path: Path, text: str, words: str) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    done = run("rf", str(spec))
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert words in lines[0]


def test_bad_render_option_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["render", "block", "--frobnicate", "3", "-o", str(tmp_path / "x.svg")])
    assert code == 2
    err = capsys.readouterr().err
    assert "frobnicate" in err and "allowed" in err
    assert not (tmp_path / "x.svg").exists()
    code = main(["render", "block", "-o", str(tmp_path / "x.bmp")])
    assert code == 2 and ".svg" in capsys.readouterr().err


def test_unknown_model_lists_the_zoo() -> None:
    done = run("rf", "lenet")
    assert done.returncode == 2 and "alexnet" in done.stderr


@pytest.mark.parametrize("path", sorted((ROOT / "figures").glob("*.yaml")), ids=lambda p: p.stem)
def test_committed_figures_are_current(path: Path, tmp_path: Path) -> None:
    """`make figures` output in figures/ matches what the code renders now."""
    fig = read_figure_file(path)
    for suffix, theme in ((".svg", "light"), (".dark.svg", "dark")):
        fresh = tmp_path / f"{path.stem}{suffix}"
        render_to_file(fig.kind, fig.options, fig.network, fresh, theme)
        committed = path.with_name(path.stem + suffix)
        assert committed.is_file(), f"{committed.name} missing: run make figures"
        assert committed.read_bytes() == fresh.read_bytes(), f"{committed.name} is stale: run make figures"
