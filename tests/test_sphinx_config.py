"""``rfdocs_*`` configuration values: bad ones stop the build with a ConfigError naming the
value; good ones (including every documented form) build without warnings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sphinx.errors import ConfigError

from tests.sphinx_util import build, write_project

PAGE = "Config\n======\n\n.. rf-table::\n\n   input 8x8x1\n   conv 3x3 /1 x2\n"

BAD = [
    ("rfdocs_on_error", "'explode'"),
    ("rfdocs_execute", "'sometimes'"),
    ("rfdocs_dark_mode", "'purple'"),
    ("rfdocs_png_dpi", "0"),
    ("rfdocs_png_dpi", "-5"),
    ("rfdocs_png_dpi", "True"),
    ("rfdocs_png_dpi", "'150'"),
    ("rfdocs_png_dpi", "72.5"),
    ("rfdocs_max_layers", "0"),
    ("rfdocs_max_pixels", "-1"),
    ("rfdocs_max_work", "None"),
    ("rfdocs_cache_dir", "3"),
]


@pytest.mark.parametrize(("name", "value"), BAD, ids=[f"{n}={v}" for n, v in BAD])
def test_bad_value_is_a_config_error(tmp_path: Path, name: str, value: str) -> None:
    src = write_project(tmp_path / "src", {"index.rst": PAGE}, f"{name} = {value}\n")
    with pytest.raises(ConfigError) as caught:
        build(src)
    message = str(caught.value)
    assert name in message
    assert repr(eval(value)) in message  # the value as the user wrote it
    assert not (tmp_path / "_build" / "html" / "index.html").exists()


GOOD = [
    ("rfdocs_on_error", "'raise'"),
    ("rfdocs_execute", "'never'"),
    ("rfdocs_dark_mode", "'off'"),
    ("rfdocs_dark_mode", "'media'"),
    ("rfdocs_png_dpi", "300"),
    ("rfdocs_cache_dir", "'../figure-cache'"),
    ("rfdocs_cache_dir", "__import__('pathlib').Path('../figure-cache')"),
]


@pytest.mark.parametrize(("name", "value"), GOOD, ids=[f"{n}={v}" for n, v in GOOD])
def test_good_value_builds_cleanly(tmp_path: Path, name: str, value: str) -> None:
    src = write_project(tmp_path / "src", {"index.rst": PAGE}, f"{name} = {value}\n")
    built = build(src, warningiserror=True)
    assert built.statuscode == 0
    assert built.warning_lines() == []


def test_cache_dir_is_relative_to_the_configuration(tmp_path: Path) -> None:
    figure = "Figure\n======\n\n.. rf-block::\n\n   input 12x12x1\n   conv 3x3 /1 x2\n"
    src = write_project(tmp_path / "src", {"index.rst": figure}, "rfdocs_cache_dir = '../figure-cache'\n")
    built = build(src, warningiserror=True)
    assert built.statuscode == 0
    assert len(list((tmp_path / "figure-cache").glob("block-*.svg"))) == 2
    assert not (tmp_path / "_build" / ".rfdocs-cache").exists()


def test_media_dark_mode_adds_its_stylesheet(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", {"index.rst": PAGE})
    auto = build(src, outdir=tmp_path / "auto")
    media = build(src, outdir=tmp_path / "media", confoverrides={"rfdocs_dark_mode": "media"})
    assert "rfdocs.css" in auto.text("index.html")
    assert "rfdocs-media.css" not in auto.text("index.html")
    assert "rfdocs-media.css" in media.text("index.html")
    assert (media.outdir / "_static" / "rfdocs-media.css").is_file()
