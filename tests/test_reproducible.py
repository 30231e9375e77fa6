"""EPUB archives built twice, in two folders and at two times, are byte-identical with
SOURCE_DATE_EPOCH set (and their dates are that epoch)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from tests.sphinx_util import write_project

PAGE = "# Book\n\n```{rf-block}\n:caption: A block.\n```\n\n{rf}`vgg16:pool5:rf`\n"


def _epub(root: Path) -> bytes:
    src = write_project(root / "src", {"index.md": PAGE}, conf_extra='version = "1"\n')
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "epub", "-q", "-W", "-d",
                    str(root / "doctrees"), str(src), str(root / "out")], check=True, env=env)
    return (root / "out" / "rftest.epub").read_bytes()


def test_epub_is_byte_identical_across_folders_and_times(tmp_path: Path) -> None:
    first = _epub(tmp_path / "a")
    time.sleep(2.1)  # zip timestamps have 2-second resolution
    second = _epub(tmp_path / "b")
    assert first == second
    with zipfile.ZipFile(tmp_path / "a" / "out" / "rftest.epub") as book:
        assert {info.date_time for info in book.infolist()} == {(2023, 11, 14, 22, 13, 20)}
        assert book.namelist()[0] == "mimetype"
        assert b"2023-11-14" in book.read("content.opf")
