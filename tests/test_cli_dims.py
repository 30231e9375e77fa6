"""The command line with sequences and volumes: activations of T x C and D x H x W x C arrays,
--input-shape in every dimension, and rank mismatches as one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rfdocs.cli import main
from rfdocs.compute import parse_spec
from rfdocs.compute.forward import forward

SEQUENCE = "input 40x2\nc1: conv 3 x4 causal\nr1: relu\nc2: conv 3 /2 x5 dil 2 pad 2\n"
VOLUME = "input 6x10x10x2\nc1: conv 3 x4 pad 1\np1: maxpool 1x2x2 /1x2x2\nc2: conv 3 x3\n"
IMAGE = "input 12x12x1\nc1: conv 3x3 x4\n"


def _write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("spec", "shape"), [(SEQUENCE, (40, 2)), (VOLUME, (6, 10, 10, 2)),
                                             (IMAGE, (12, 12))])
def test_activations_in_every_dimension(tmp_path: Path, spec: str, shape: tuple[int, ...]) -> None:
    model = _write(tmp_path, "net.txt", spec)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code = main(["activations", str(model), "--input", str(tmp_path / "x.npy"), "--layer", "c1",
                 "-o", str(tmp_path / "out.npy"), "-q"])
    assert code == 0
    got = np.load(tmp_path / "out.npy")
    fed = x if len(shape) != 2 or spec is SEQUENCE else x[:, :, None]
    net = parse_spec(spec)
    want = forward(net, fed.astype(np.float32))["c1"]
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_a_sequence_at_another_length(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = _write(tmp_path, "net.txt", SEQUENCE)
    assert main(["rf", str(model), "--json", "--input-shape", "100"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layers"][0]["shape"] == [100, 4]  # c1: the whole sequence, 4 channels
    assert main(["rf", str(model), "--json", "--input-shape", "100x2"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"][0]["shape"] == [100, 4]


def test_a_volume_at_another_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = _write(tmp_path, "net.txt", VOLUME)
    assert main(["rf", str(model), "--json", "--input-shape", "8x16x16"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"][0]["shape"] == [8, 16, 16, 4]


def test_wrong_ranks_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = _write(tmp_path, "net.txt", VOLUME)
    np.save(tmp_path / "x.npy", np.zeros((10, 10, 2), np.float32))
    code = main(["activations", str(model), "--input", str(tmp_path / "x.npy"),
                 "-o", str(tmp_path / "out.npy")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "(depth, height, width) or (depth, height, width, channels) for this 3-D" in err
    assert not (tmp_path / "out.npy").exists()
    code = main(["rf", str(model), "--input-shape", "16x16"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "(depth, height, width) or (depth, height, width, channels)" in err
