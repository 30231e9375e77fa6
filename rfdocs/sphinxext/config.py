"""The ``rfdocs_*`` configuration values, validated when the configuration is read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    allowed: str
    check: Callable[[Any], bool]
    help: str
    pixels: bool  # changes the pixels of figures (part of the cache key)
    types: tuple[type, ...] = ()  # types Sphinx accepts without a warning (default: the default's)


def _positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


SETTINGS = (
    Setting("rfdocs_cache_dir", "", "a path (str); empty for <doctrees folder>/rfdocs-cache",
            lambda v: isinstance(v, str | Path),
            "Where rendered figures are kept between builds (relative paths are relative to "
            "the configuration directory). By default a folder in the doctrees folder, so "
            "builders that share doctrees (``sphinx-build -M``, Read the Docs, Jupyter Book) "
            "share figures, and file watchers such as sphinx-autobuild ignore it.", False,
            (str, Path, type(Path()))),  # Sphinx wants the exact type: PosixPath, WindowsPath
    Setting("rfdocs_on_error", "warn", '"warn" or "raise"', lambda v: v in ("warn", "raise"),
            'What bad input does: "warn" logs one warning and shows an error box in the page; '
            '"raise" stops the build at the first.', False),
    Setting("rfdocs_execute", "auto", '"auto" or "never"', lambda v: v in ("auto", "never"),
            'Draft mode: "never" renders nothing and uses cached figures or labelled '
            "placeholders.", False),
    Setting("rfdocs_dark_mode", "auto", '"auto", "media" or "off"',
            lambda v: v in ("auto", "media", "off"),
            'Dark figures for HTML: "auto" follows the theme\'s light/dark switch (furo, '
            'pydata-sphinx-theme, sphinx-book-theme), "media" follows the reader\'s system '
            '(prefers-color-scheme), "off" draws light figures only.', True),
    Setting("rfdocs_png_dpi", 150, "an integer from 1 to 600 (more would need gigabytes "
            "for one figure)", lambda v: _positive_int(v) and v <= 600,
            "Resolution of PNG figures (texinfo and other builders without SVG or PDF).", True),
    Setting("rfdocs_max_layers", 1000, "a positive integer", _positive_int,
            "The most layers a network on a page may have.", False),
    Setting("rfdocs_max_pixels", 4_000_000, "a positive integer", _positive_int,
            "The most pixels an image read by a page may have (after decoding).", True),
    Setting("rfdocs_max_work", 2_000_000_000, "a positive integer up to 10**14",
            lambda v: _positive_int(v) and v <= 10**14,
            "The most operations (arithmetic, array elements, drawing) one figure may take; larger "
            "requests are refused rather than risk a slow or memory-hungry build.", False),
    Setting("rfdocs_max_model_bytes", 256 * 2**20, "a positive integer (bytes) up to 2**40",
            lambda v: _positive_int(v) and v <= 2**40,
            "The largest model file (ONNX, with its external weight files) a page may name; "
            "larger ones are refused with a warning before they are read.", False),
    Setting("rfdocs_max_memory", 1 << 30, "a positive integer (bytes) up to 2**46",
            lambda v: _positive_int(v) and v <= 2**46,
            "The most memory (bytes, estimated before allocating) one figure, table or "
            "explorer may use; larger requests are refused with a warning.", False),
)


def default_cache_dir(app: Sphinx) -> Path:
    """``<doctrees>/rfdocs-cache``: shared by the builders that share the doctrees, and out of
    the way of watchers, which ignore the doctrees and output folders. An EPUB built without
    ``-d`` has its doctrees inside the output folder, whose every file goes into the book:
    then beside the output folder."""
    doctrees, outdir = Path(app.doctreedir).resolve(), Path(app.outdir).resolve()
    if app.builder.name.startswith("epub") and doctrees.is_relative_to(outdir):
        return outdir.parent / ".rfdocs-cache"
    return doctrees / "rfdocs-cache"


@dataclass(frozen=True)
class RfdocsConfig:
    """The validated configuration, read from ``app.config`` (one object, no globals)."""

    cache_dir: Path
    on_error: str
    execute: str
    dark_mode: str
    png_dpi: int
    max_layers: int
    max_pixels: int
    max_work: int
    max_memory: int
    max_model_bytes: int = 256 * 2**20

    @classmethod
    def from_app(cls, app: Sphinx) -> RfdocsConfig:
        c = app.config
        raw = c.rfdocs_cache_dir
        cache = Path(app.confdir) / raw if raw else default_cache_dir(app)
        return cls(cache.resolve(), c.rfdocs_on_error, c.rfdocs_execute, c.rfdocs_dark_mode,
                   c.rfdocs_png_dpi, c.rfdocs_max_layers, c.rfdocs_max_pixels, c.rfdocs_max_work,
                   c.rfdocs_max_memory, c.rfdocs_max_model_bytes)

    def pixel_settings(self) -> dict[str, Any]:
        """The settings that change figure pixels (they go into the cache key)."""
        return {"png_dpi": self.png_dpi, "max_pixels": self.max_pixels}


def validate_config(app: Sphinx, config: Config) -> None:
    """config-inited: refuse values outside what is allowed, naming the value."""
    for s in SETTINGS:
        value = config[s.name]
        if not s.check(value):
            raise ConfigError(f"rfdocs: configuration value {s.name} = {value!r} is not allowed; "
                              f"expected {s.allowed}")


def setup_config(app: Sphinx) -> None:
    for s in SETTINGS:
        app.add_config_value(s.name, s.default, "env",
                             types=frozenset(s.types or {type(s.default)}))
    app.connect("config-inited", validate_config)
