"""A content-addressed figure cache: keys cover everything that changes pixels; writes are atomic."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import rfdocs
from rfdocs.files import write_atomic

#: Bump to re-render every figure after a change that the code fingerprint cannot see.
RENDER_VERSION = 1

#: Not ``<key>.json``: the image glob ``<key>.*`` must find images only.
META_SUFFIX = "-meta.json"


@cache
def code_fingerprint() -> str:
    """Hash of the compute and figure code and of the libraries that draw (changes re-render)."""
    digest = hashlib.sha256()
    package = Path(rfdocs.__file__).parent
    for folder in ("compute", "figures"):
        for path in sorted((package / folder).glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    for dist in ("matplotlib", "numpy", "pillow"):
        try:
            digest.update(f"{dist}={metadata.version(dist)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{dist}=none".encode())
    digest.update(f"rfdocs={rfdocs.__version__};render={RENDER_VERSION}".encode())
    return digest.hexdigest()


def jsonable(value: Any) -> Any:
    """Plain JSON values: mappings, sequences and scalars as they are, anything else as text."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def figure_key(kind: str, parts: Mapping[str, Any]) -> str:
    """``<kind>-<hash>`` over the kind, the request's parts and the code fingerprint."""
    canonical = json.dumps({"kind": kind, "parts": jsonable(parts), "code": code_fingerprint()},
                           sort_keys=True, separators=(",", ":"))
    return f"{kind}-{hashlib.sha256(canonical.encode()).hexdigest()[:24]}"


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (for user images referenced by a page)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class FigureCache:
    """Files ``<key>.<fmt>`` (light), ``<key>-dark.<fmt>`` and ``<key>-meta.json`` (alt text, numbers)
    under ``root``. The JSON is written last, so its presence means the figure is complete."""

    root: Path

    def path(self, key: str, theme: str, fmt: str) -> Path:
        return self.root / f"{key}{'' if theme == 'light' else '-' + theme}.{fmt}"

    def meta_path(self, key: str) -> Path:
        return self.root / f"{key}{META_SUFFIX}"

    def read_meta(self, key: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self.meta_path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def complete(self, key: str, themes: Iterable[str], formats: Iterable[str]) -> dict[str, Any] | None:
        """The stored metadata when every wanted file exists, else None."""
        meta = self.read_meta(key)
        if meta is None:
            return None
        for theme in themes:
            for fmt in formats:
                if not self.path(key, theme, fmt).is_file():
                    return None
        return meta

    def store(self, key: str, files: Mapping[tuple[str, str], bytes], meta: Mapping[str, Any]) -> None:
        """Write the figure's files, then its metadata (atomic each; a file already holding the
        same bytes is left alone, so untouched figures keep their times, but a leftover with
        other bytes, e.g. from a write cut short, is replaced)."""
        for (theme, fmt), data in sorted(files.items()):
            target = self.path(key, theme, fmt)
            if not target.is_file() or target.read_bytes() != data:
                write_atomic(target, data)
        old = self.read_meta(key) or {}
        merged = {**old, **meta}
        if merged != old or not self.meta_path(key).is_file():
            write_atomic(self.meta_path(key), json.dumps(merged, sort_keys=True, indent=1).encode())

    def prune(self, keep: set[str], formats: Iterable[str]) -> int:
        """Delete the ``formats`` files of keys not in ``keep``, metadata left without files,
        and stray temporary files; returns a count. Other formats belong to other builders
        sharing the cache (LaTeX's PDFs survive an HTML build)."""
        if not self.root.is_dir():
            return 0
        wanted = {f".{fmt}" for fmt in formats}
        removed = 0
        remaining: set[str] = set()
        metas = []
        for path in sorted(self.root.iterdir()):
            name = path.name
            key = name.split(".", 1)[0].removesuffix("-dark").removesuffix("-meta")
            if name.startswith(".") and name.endswith(".tmp"):
                path.unlink(missing_ok=True)
                removed += 1
            elif not path.is_file():
                continue
            elif name.endswith(META_SUFFIX):
                metas.append((key, path))
            elif key not in keep and path.suffix in wanted:
                path.unlink(missing_ok=True)
                removed += 1
            else:
                remaining.add(key)
        for key, path in metas:
            if key not in keep and key not in remaining:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

