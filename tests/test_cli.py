"""The rfdocs command: JSON and table output, exit status 2 with one message on bad input."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

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


# --------------------------------------------------------------------------- every failure: 2


def one_line_failure(done: subprocess.CompletedProcess[str], *words: str) -> str:
    """The run failed with status 2, printed nothing and one line 'rfdocs: ...' on stderr."""
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rfdocs: "), done.stderr[-2000:]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"input 8x8x1\nconv 3 x1\n\x00\x01\x02\xff", ("binary", "line 3")),
        ("input 8x8x1\nconv 3 x1  # café\n".encode("latin-1"), ("not UTF-8", "line 2")),
        (b"input 8x8x1\nconv " + b"9" * 5000 + b" x1\n", ("5,000-digit", "line 2")),
        (b"input: [8, 8, 1]\nlayers:\n  - {op: conv, kernel: " + b"7" * 5000 + b", filters: 1}\n",
         ("far too large", "line 3")),
        (b'{"input": [8, 8, 1], "layers": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
         ("nested",)),
        (b"input 8x8x1\nconv 3 x\xc2\xb2\n", ("digits 0 to 9",)),
    ],
    ids=["binary", "latin-1", "5000-digits", "5000-digits-yaml", "deep-json", "superscript"],
)
def test_unreadable_specs_exit_2_with_one_line(tmp_path: Path, data: bytes,
                                               words: tuple[str, ...]) -> None:
    spec = tmp_path / "net.txt"
    spec.write_bytes(data)
    line = one_line_failure(run("rf", str(spec)), *words)
    # one message (tidied to at most 500 characters) after the file's name
    assert len(line) < 500 + len(str(spec)) + 10


def test_spec_folder_and_byte_order_mark(tmp_path: Path) -> None:
    one_line_failure(run("rf", str(tmp_path)), "neither a spec file nor a zoo model")
    plain, marked = tmp_path / "plain.txt", tmp_path / "marked.txt"
    plain.write_text("input 8x8x1\nconv 3 x1\n")
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    with_mark, without = run("rf", str(marked)), run("rf", str(plain))
    assert with_mark.returncode == without.returncode == 0, with_mark.stderr
    assert with_mark.stdout == without.stdout


def _unwritable(tmp_path: Path) -> Path:
    """A folder this user cannot write in (root writes anywhere on disk: /proc then)."""
    if os.geteuid() == 0:
        return Path("/proc")
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o555)
    return folder


@pytest.mark.parametrize("where", ["folder", "under-a-file", "unwritable", "folder-named-svg"])
def test_output_that_cannot_be_written_exits_2(tmp_path: Path, where: str) -> None:
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "figure.svg").mkdir()
    out = {"folder": tmp_path, "under-a-file": tmp_path / "afile" / "x.svg",
           "unwritable": _unwritable(tmp_path) / "x.svg",
           "folder-named-svg": tmp_path / "figure.svg"}[where]
    words = {"folder": ("format",), "under-a-file": ("afile is a file, not a folder",),
             "unwritable": ("cannot write",), "folder-named-svg": ("it is a folder",)}[where]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    one_line_failure(run("render", "steps", "-o", str(out)), *words)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing left behind


def test_argument_errors_are_one_line() -> None:
    one_line_failure(run("rf"), "required", "--help")
    one_line_failure(run("frobnicate"), "invalid choice")
    one_line_failure(run("render", "steps"), "-o")
    one_line_failure(run("render", "steps", "--stride", "\u00b2", "-o", "x.svg"), "stride")
    line = one_line_failure(run("render", "steps", "--" + "z" * 100_000, "1", "-o", "x.svg"))
    assert len(line) < 500


# --------------------------------------------------------------------------- standard output


def _closed_pipe_run(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run with standard output a pipe whose reading end is already closed."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(args, stdout=write_end, stderr=subprocess.PIPE, check=False,
                              cwd=ROOT, timeout=120)
    finally:
        os.close(write_end)


@pytest.mark.skipif(not hasattr(signal, "SIGPIPE"), reason="no SIGPIPE on this platform")
@pytest.mark.parametrize("args", [("rf", "resnet50"), ("rf", "resnet50", "--json"), ("kinds",),
                                  ("--help",)])
def test_a_closed_pipe_ends_quietly_like_cat(tmp_path: Path, args: tuple[str, ...]) -> None:
    """As coreutils do (checked here with cat itself): no message, ended by SIGPIPE. Before:
    a BrokenPipeError traceback and status 1 (or 120)."""
    sample = tmp_path / "sample.txt"
    sample.write_text("x\n" * 100_000)
    cat = _closed_pipe_run("cat", str(sample))
    assert cat.returncode == -signal.SIGPIPE and cat.stderr == b""
    done = _closed_pipe_run(sys.executable, "-m", "rfdocs.cli", *args)
    assert (done.returncode, done.stderr) == (cat.returncode, b"")


def test_head_takes_the_first_line_of_a_real_pipeline(tmp_path: Path) -> None:
    """`rfdocs rf resnet50 | head -1` in a shell: the first line, nothing on stderr; rfdocs ends
    by SIGPIPE (141) when it was still writing as head left, else normally (0)."""
    errors = tmp_path / "stderr.txt"
    script = (f"{shlex.quote(sys.executable)} -m rfdocs.cli rf resnet50 2>{shlex.quote(str(errors))}"
              " | head -1; echo \"status ${PIPESTATUS[0]}\"")
    for _ in range(3):
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True,
                              cwd=ROOT)
        first, status = done.stdout.splitlines()
        assert first.split()[:2] == ["layer", "op"]
        assert status in ("status 0", "status 141")
        assert errors.read_text() == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("args", [("kinds",), ("rf", "resnet50", "--json"), ("--help",),
                                  ("render", "steps", "-o", "{tmp}/steps.svg")])
def test_a_full_disk_on_stdout_is_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    """`rfdocs kinds > /dev/full` printed 'Exception ignored ... OSError: [Errno 28]' and exited
    with status 120 (or 0 for --help, whose write errors argparse swallows)."""
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "rfdocs.cli", *argv], stdout=full,
                              stderr=subprocess.PIPE, text=True, check=False, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert done.stderr == "rfdocs: cannot write to standard output: No space left on device\n"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("kind: steps\noptions: {stride: 2}\nkind: block\n", ("duplicate key 'kind'", "line 3")),
        ("kind: steps\noptions: {seed: " + "9" * 5000 + "}\n", ("far too large", "line 2")),
        ("kind: steps\noptions: {seed: .nan}\n", ("seed",)),
        ("kind: featuremaps\noptions: {kernels: 'gaussian(5, 1e308)', size: 1e400}\n", ("size",)),
        ("kind: steps\noptions: " + "[" * 100_000 + "]" * 100_000 + "\n", ("nest",)),
    ],
    ids=["duplicate-key", "5000-digits", "nan", "overflow", "deep"],
)
def test_figure_files_with_hostile_values(tmp_path: Path, text: str, words: tuple[str, ...]) -> None:
    figure = tmp_path / "figure.yaml"
    figure.write_text(text)
    one_line_failure(run("render", str(figure), "-o", str(tmp_path / "out.svg")), *words)
    assert not (tmp_path / "out.svg").exists()


def test_numbers_near_the_stride_bound_print_and_draw(tmp_path: Path) -> None:
    """16 layers of stride 1,000,000 (a jump of 10^96, just under the parser's 10^100): the
    table prints the exact jump and the figures draw (floats hold it; no int-to-text limit)."""
    spec = tmp_path / "net.txt"
    spec.write_text("input 8x8x1\n" + "conv 1 /1000000 x1\n" * 16)
    done = run("rf", str(spec), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["layers"][-1]["jump"] == [10**96, 10**96]
    for kind in ("block", "growth"):
        code = main(["render", kind, "--spec", str(spec), "-q", "-o", str(tmp_path / f"{kind}.svg")])
        assert code == 0 and (tmp_path / f"{kind}.svg").read_bytes().startswith(b"<?xml")


# --------------------------------------------------------------------------- ONNX models


def _onnx_model(tmp_path: Path, spec: str = "input 14x12x3\nstem: conv 3 /2 pad 1 x4\nact: relu\n"
                "side: conv 1 x4 from stem\nsum: add act side\npool: globalavgpool\nf: flatten\n"
                "fc: dense x5\n", dynamic: bool = False) -> tuple[Path, Any]:
    pytest.importorskip("onnx", reason="the onnx package is not installed (rfdocs[onnx])")
    from rfdocs.compute import parse_spec
    from tests.onnx_build import network_to_onnx, save

    net = parse_spec(spec)
    path = tmp_path / "model.onnx"
    save(network_to_onnx(net, dynamic=dynamic), path)
    return path, net


def test_rf_reads_an_onnx_model(tmp_path: Path) -> None:
    path, net = _onnx_model(tmp_path)
    done = run("rf", str(path), "--json")
    assert done.returncode == 0, done.stderr
    layers = json.loads(done.stdout)["layers"]
    assert layers == analyze(net).to_json()["layers"]
    assert layers[-1]["name"] == "fc"  # the graph's output last
    table = run("rf", str(path))
    assert table.returncode == 0 and "sum" in table.stdout and "globalavgpool" in table.stdout
    done = run("rf", str(path), "--until", "sum", "--json")
    assert [row["name"] for row in json.loads(done.stdout)["layers"]] == [
        "stem", "act", "side", "sum"]


def test_rf_of_a_model_with_an_open_input_size(tmp_path: Path) -> None:
    path, net = _onnx_model(tmp_path, "input 14x12x3\nc: conv 3 /2 pad same x4\nr: relu\n",
                            dynamic=True)
    one_line_failure(run("rf", str(path)), "not fixed", "--input-shape 224x224")
    done = run("rf", str(path), "--input-shape", "28x24", "--json")
    assert json.loads(done.stdout)["layers"][-1]["shape"] == [14, 12, 4]
    one_line_failure(run("rf", str(path), "--input-shape", "28"), "(height, width)", "got (28,)")


def test_rf_of_a_model_with_an_unsupported_operator(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], name="/body/conv/Conv"),
             helper.make_node("LpNormalization", ["c"], ["y"], name="/body/norm/LpNormalization")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", 1, [1, 1, 8, 8])],
                              [helper.make_tensor_value_info("y", 1, None)],
                              initializer=[numpy_helper.from_array(np.ones((2, 1, 3, 3),
                                                                           np.float32), "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    one_line_failure(run("rf", str(path)), "'/body/norm/LpNormalization'", "LpNormalization",
                     "until='body.conv'", "supported: Conv")
    done = run("rf", str(path), "--until", "body.conv", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["layers"][-1]["name"] == "body.conv"


@pytest.mark.parametrize("compact", [False, True])
def test_import_writes_a_spec_with_the_same_analysis(tmp_path: Path, compact: bool) -> None:
    path, net = _onnx_model(tmp_path)
    out = tmp_path / ("spec.txt" if compact else "spec.yaml")
    done = run("import", str(path), "-o", str(out), *(["--compact"] if compact else []))
    assert done.returncode == 0, done.stderr
    assert "7 layers" in done.stdout
    text = out.read_text()
    from rfdocs.compute import parse_spec

    assert parse_spec(text) == net
    if not compact:
        assert text.splitlines()[1:3] == ["input: [14, 12, 3]", "layers:"]
        assert "  - {name: stem, op: conv, kernel: [3, 3]" in text
    again = run("rf", str(out), "--json")
    assert again.stdout == run("rf", str(path), "--json").stdout


def test_activations_of_an_onnx_model_equal_onnxruntime(tmp_path: Path) -> None:
    import numpy as np

    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    path, net = _onnx_model(tmp_path)
    x = np.random.default_rng(0).normal(size=(14, 12, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out.npy"
    done = run("activations", str(path), "--input", str(tmp_path / "x.npy"), "-o", str(out))
    assert done.returncode == 0, done.stderr
    got = np.load(out, allow_pickle=False)
    assert got.dtype == np.float32 and got.shape == (1, 1, 5)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    want = session.run(None, {"input": x.transpose(2, 0, 1)[None]})[0].reshape(1, 1, 5)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    done = run("activations", str(path), "--input", str(tmp_path / "x.npy"), "--layer", "sum",
               "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert np.load(out).shape == (7, 6, 4)


def test_activations_of_a_spec_and_a_zoo_model(tmp_path: Path) -> None:
    import numpy as np

    from rfdocs.compute import parse_spec
    from rfdocs.compute.forward import forward

    spec = tmp_path / "net.txt"
    spec.write_text("input 9x9x1\nedges: conv 3 x2 weights sobel-x,sobel-y pad 1\nr: relu\n")
    x = np.arange(81, dtype=np.float32).reshape(9, 9, 1) ** 1.5
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out.npy"
    done = run("activations", str(spec), "--input", str(tmp_path / "x.npy"), "-o", str(out),
               "--layer", "edges")
    assert done.returncode == 0, done.stderr
    want = forward(parse_spec(spec.read_text()), x)["edges"]
    np.testing.assert_allclose(np.load(out), want, rtol=1e-5)
    np.save(tmp_path / "rgb.npy", np.random.default_rng(0).random((40, 40, 3), np.float32))
    done = run("activations", "alexnet", "--input", str(tmp_path / "rgb.npy"), "--layer", "conv1",
               "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert np.load(out).shape == (9, 9, 64)


@pytest.mark.parametrize(("make", "words"), [
    (lambda np, p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True), ("not a .npy",)),
    (lambda np, p: np.save(p, np.zeros((2, 3, 4, 5), np.float32)), ("H x W x C",)),
    (lambda np, p: np.save(p, np.full((4, 4, 1), np.nan, np.float32)), ("NaN",)),
    (lambda np, p: p.write_bytes(b"not numpy"), ("not a .npy",)),
    (lambda np, p: None, ("cannot read",)),
])
def test_activations_with_a_bad_array_is_one_line(tmp_path: Path, make: Any,
                                                  words: tuple[str, ...]) -> None:
    import numpy as np

    array = tmp_path / "x.npy"
    make(np, array)
    spec = tmp_path / "net.txt"
    spec.write_text("input 4x4x1\nconv 3 x1\n")
    one_line_failure(run("activations", str(spec), "--input", str(array), "-o",
                         str(tmp_path / "o.npy")), *words)
    assert not (tmp_path / "o.npy").exists()


def test_activations_with_the_wrong_channels_is_one_line(tmp_path: Path) -> None:
    import numpy as np

    np.save(tmp_path / "x.npy", np.zeros((8, 8, 2), np.float32))
    spec = tmp_path / "net.txt"
    spec.write_text("input 4x4x3\nconv 3 x1\n")
    one_line_failure(run("activations", str(spec), "--input", str(tmp_path / "x.npy"), "-o",
                         str(tmp_path / "o.npy")), "3 input channels")
