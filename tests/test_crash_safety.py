"""A build killed while rendering leaves no half-written figure; the next build repairs itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

from tests.sphinx_util import build, write_project


def _pages(n: int) -> dict[str, str]:
    return {f"p{i}.md": f"# Page {i}\n\n```{{rf-block}}\n:neuron: {i % 5},{(i * 3) % 7}\ninput 30x30x3\n"
                        f"conv1: conv 3x3 x8\nconv2: conv 3x3 /2 x8\n```\n\n```{{rf-growth}}\n"
                        f":neuron: {i % 3},1\ninput 30x30x3\nconv1: conv 3x3 x8\nconv2: conv 3x3 /2 x8\n```\n"
            for i in range(n)}


def test_killed_build_leaves_only_complete_files(tmp_path: Path) -> None:
    srcdir = write_project(tmp_path / "src", _pages(12))
    outdir = tmp_path / "_build" / "html"
    cache = outdir / ".doctrees" / "rfdocs-cache"  # no -d: doctrees inside the output
    proc = subprocess.Popen(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(srcdir), str(outdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(cache.glob("*.json"))) >= 3:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(list(cache.glob("*.json"))) >= 3, "the build ended before it could be killed"

    for path in cache.iterdir():
        if path.name.startswith(".") or path.name == "CACHEDIR.TAG":
            continue  # a temporary file: never read, pruned by the next build
        if path.suffix == ".svg":
            ElementTree.parse(path)  # a truncated SVG would not parse
        elif path.suffix == ".json":
            assert "alt" in json.loads(path.read_text(encoding="utf-8"))
    # The figures completed so far are kept and reused; the rest are rendered now.
    done_before = {p.name for p in cache.glob("*.json")}
    again = build(srcdir, "html", outdir=outdir, doctreedir=outdir / ".doctrees")
    assert again.statuscode == 0, again.warnings
    assert not again.warning_lines(), again.warnings
    rendered = {line.split()[2] for line in again.rendered_lines()}
    assert not rendered & {name.removesuffix("-meta.json") for name in done_before}
    distinct = len({(i % 5, (i * 3) % 7) for i in range(12)}) + len({i % 3 for i in range(12)})
    assert len(list(cache.glob("*.json"))) == distinct
    assert not [p for p in cache.iterdir() if p.is_file() and p.name.startswith(".")]
    for image in (outdir / "_images").glob("*.svg"):
        ElementTree.parse(image)
