"""sphinx-autobuild, run the way most users run it (``sphinx-autobuild docs docs/_build/html``):
one edit of a page makes exactly one rebuild (the figure cache must not sit in the watched
source folder, or its new files trigger a second build), and the served page then shows the
new figure."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.sphinx_util import BASE_CONF

#: Upper bound for the whole session (start, initial build, edit, rebuild, quiet period).
HARD_TIMEOUT = 180.0
#: After a rebuild, no further rebuild may start within this time (watchfiles debounces
#: changes for 1.6 s, so a rebuild caused by the build's own files starts well within it).
QUIET = 5.0

PAGE = """\
# Autobuild

```{{rf-block}}
:caption: A small block.
:neuron: {neuron}

input 20x20x3
conv 3x3 /1 x8
```
"""

ANSI = re.compile(r"\x1b\[[0-9;]*m")

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Output:
    """Lines of a process's merged stdout/stderr, collected by a thread as they arrive."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()
        assert proc.stdout is not None
        self._stream = proc.stdout
        self._proc = proc
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self._stream:
            with self._lock:
                self.lines.append(ANSI.sub("", line.rstrip("\n")))

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self.lines)

    def count(self, text: str, start: int = 0) -> int:
        return sum(text in line for line in self.snapshot()[start:])

    def wait_for(self, text: str, deadline: float, start: int = 0, times: int = 1) -> None:
        while self.count(text, start) < times:
            if time.monotonic() > deadline or self._proc.poll() is not None:
                raise AssertionError(f"no {text!r} (exit code {self._proc.poll()}):\n"
                                     + "\n".join(self.snapshot()))
            time.sleep(0.1)


def _get(url: str, deadline: float) -> bytes:
    """GET from the local server, retrying until it answers or the deadline passes."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body: bytes = response.read()
                return body
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))


def _tags(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.found


def _figure(html: str, base: str, deadline: float) -> tuple[str, str]:
    """Alt text and file name of the page's light image, after checking the server serves
    that image as a real SVG."""
    light = [a for tag, a in _tags(html) if tag == "img" and "rfdocs-light" in a.get("class", "").split()]
    assert len(light) == 1, html
    alt, src = light[0].get("alt", ""), light[0].get("src", "")
    svg = ElementTree.fromstring(_get(f"{base}/{src}", deadline))
    assert svg.tag == "{http://www.w3.org/2000/svg}svg", svg.tag
    return alt, src.rsplit("/", 1)[-1]


def test_one_edit_one_rebuild_and_the_served_page_changes(tmp_path: Path) -> None:
    autobuild = shutil.which("sphinx-autobuild", path=str(Path(sys.executable).parent))
    if autobuild is None:
        pytest.skip("sphinx-autobuild is not installed (pip install -e '.[test]')")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text(BASE_CONF, encoding="utf-8")
    page = docs / "index.md"
    page.write_text(PAGE.format(neuron="4,12"), encoding="utf-8")

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    deadline = time.monotonic() + HARD_TIMEOUT
    proc = subprocess.Popen([autobuild, "docs", "docs/_build/html", "--port", str(port),
                             "--host", "127.0.0.1"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, start_new_session=True)
    try:
        out = Output(proc)
        out.wait_for("Waiting to detect changes...", deadline)
        assert out.count("build succeeded") == 1, "\n".join(out.snapshot())
        alt, before = _figure(_get(f"{base}/index.html", deadline).decode(), base, deadline)
        assert "neuron (4, 12)" in alt and "18×18×8" in alt, alt
        time.sleep(1.0)  # the server answers once its watcher task has started; let it settle

        mark = len(out.snapshot())
        page.write_text(PAGE.format(neuron="5,6"), encoding="utf-8")
        out.wait_for("Rebuilding...", deadline, start=mark)
        out.wait_for("Serving on", deadline, start=mark)  # printed after every build
        settled = time.monotonic() + QUIET
        while time.monotonic() < min(settled, deadline):
            time.sleep(0.1)
        lines = out.snapshot()[mark:]
        log = "\n".join(lines)
        detected = [line for line in lines if "Detected changes" in line]
        assert detected == ["[sphinx-autobuild] Detected changes (docs/index.md)"], \
            f"changes other than the edit were seen (files the build wrote?):\n{log}"
        assert sum("Rebuilding..." in line for line in lines) == 1, \
            f"expected one rebuild for one edit:\n{log}"
        assert sum("build succeeded" in line for line in lines) == 1, log
        assert "Sphinx exited with exit code" not in log, log

        alt, after = _figure(_get(f"{base}/index.html", deadline).decode(), base, deadline)
        assert "neuron (5, 6)" in alt and "18×18×8" in alt, alt
        assert after != before
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
