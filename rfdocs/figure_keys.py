"""Content-addressed figure names: a key over the kind, the request and the code that draws it
(for the Sphinx cache and the MyST-MD plugin alike; importing it loads neither Sphinx nor the
drawing libraries)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import rfdocs

#: Bump to re-render every figure after a change that the code fingerprint cannot see.
RENDER_VERSION = 1

#: What the fingerprint hashes: rfdocs' drawing and computing code, and the libraries that draw.
CODE_FOLDERS = ("compute", "figures")
CODE_FILES = ("queries.py", "explorer.py")  # role numbers, explorer data
#: distribution name -> top module of each library that draws
DRAWING_LIBRARIES = {"matplotlib": "matplotlib", "numpy": "numpy", "pillow": "PIL"}


def code_files() -> list[Path]:
    """The rfdocs source files whose contents the fingerprint hashes."""
    package = Path(rfdocs.__file__).parent
    files = [path for folder in CODE_FOLDERS for path in sorted((package / folder).glob("*.py"))]
    return files + [package / name for name in CODE_FILES if (package / name).is_file()]


@cache
def code_fingerprint() -> str:
    """Hash of the compute and figure code and of the libraries that draw (changes re-render)."""
    digest = hashlib.sha256()
    for path in code_files():
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    for dist in DRAWING_LIBRARIES:
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


def figure_key(kind: str, parts: Mapping[str, Any], code: str | None = None) -> str:
    """``<kind>-<hash>`` over the kind, the request's parts and the code fingerprint (``code``,
    by default :func:`code_fingerprint`)."""
    code = code_fingerprint() if code is None else code
    canonical = json.dumps({"kind": kind, "parts": jsonable(parts), "code": code},
                           sort_keys=True, separators=(",", ":"))
    return f"{kind}-{hashlib.sha256(canonical.encode()).hexdigest()[:24]}"


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (for user images referenced by a page)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
