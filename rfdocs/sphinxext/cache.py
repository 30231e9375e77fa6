"""A content-addressed figure cache: keys cover everything that changes pixels; writes are atomic;
files carry digests; the folder is rfdocs' own (tagged), and builds sharing it at once never
delete what another still uses (leases and a lock)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfdocs
from rfdocs import figure_keys as keys
from rfdocs.figure_keys import DRAWING_LIBRARIES as _DRAWING_LIBRARIES
from rfdocs.figure_keys import RENDER_VERSION
from rfdocs.figure_keys import code_files as _code_files

# re-exported for the Sphinx modules (tests replace code_fingerprint here)
from rfdocs.figure_keys import code_fingerprint as code_fingerprint
from rfdocs.figure_keys import file_digest as file_digest
from rfdocs.files import write_atomic

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: Not ``<key>.json``: the image glob ``<key>.*`` must find images only.
META_SUFFIX = "-meta.json"


def code_stamp() -> str:
    """A cheap stand-in for :func:`code_fingerprint`, from ``stat`` calls only: the size, time
    and inode of every file the fingerprint hashes and of each drawing library's top module
    (an upgrade rewrites it). Equal stamps mean the fingerprint recorded with the stamp still
    holds, so a build with nothing to do skips reading the code and the package metadata."""
    from importlib.util import find_spec

    parts = []
    for path in _code_files():
        st = path.stat()
        parts.append(f"{path.name}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}")
    for module in _DRAWING_LIBRARIES.values():
        try:
            spec = find_spec(module)
            origin = spec.origin if spec is not None else None
            found = os.stat(origin) if origin else None
        except (ImportError, ValueError, OSError):
            found = None
        parts.append(f"{module}:" + (f"{found.st_size}:{found.st_mtime_ns}:{found.st_ino}"
                                     if found else "none"))
    parts.append(f"rfdocs={rfdocs.__version__};render={RENDER_VERSION}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def figure_key(kind: str, parts: Mapping[str, Any]) -> str:
    """``<kind>-<hash>`` over the kind, the request's parts and this module's code_fingerprint
    (rfdocs.figure_keys.figure_key, which the MyST-MD plugin uses without Sphinx)."""
    return keys.figure_key(kind, parts, code_fingerprint())


#: Cache Directory Tagging (https://bford.info/cachedir/): backup tools skip the folder, and
#: rfdocs knows the folder for its own.
TAG_NAME = "CACHEDIR.TAG"
TAG_TEXT = ("Signature: 8a477f597d28d172789f06886806bc55\n"
            "# This folder holds figures drawn by rfdocs. rfdocs deletes only its own files here.\n")
#: The only files rfdocs writes, and so the only ones it ever deletes, in its cache folder.
_OWN = re.compile(r"(?P<key>[a-z]+-[0-9a-f]{24})(?:-dark)?\.(?:svg|pdf|png|gif)"
                  r"|(?P<meta>[a-z]+-[0-9a-f]{24})-meta\.json")
_TMP = re.compile(r"\.(?P<name>.+)\.\d+\.tmp")
_STATE = ".rfdocs"  # the lock, and one lease per running build



class CacheUnusable(Exception):
    """The cache folder cannot be used: not writable, full, a file, or not rfdocs' own."""


def own_key(name: str) -> tuple[str, bool] | None:
    """(key, is metadata) for a file name rfdocs writes in its cache, else None."""
    match = _OWN.fullmatch(name)
    if match is None:
        return None
    return (match["key"], False) if match["key"] else (match["meta"], True)


@contextmanager
def _locked(root: Path, shared: bool) -> Iterator[None]:
    """The cache-wide lock: shared while a build checks, uses or writes figures, exclusive
    while one prunes (so nothing is deleted between another build's check and its use)."""
    if fcntl is None:  # no advisory locks (Windows): builds sharing a cache are not guarded
        yield
        return
    fd = os.open(root / _STATE / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


class Lease:
    """A running build's claim on the cache: a file locked for as long as the build runs
    (the lock goes when the process dies, however it dies), dated when the build started.
    Files used by a build are marked as used then (their access time), so a pruning build
    keeps every file that any running build has used."""

    def __init__(self, root: Path) -> None:
        self.started_ns = time.time_ns()
        leases = root / _STATE / "leases"
        leases.mkdir(parents=True, exist_ok=True)
        self.path = leases / f"{os.getpid()}-{secrets.token_hex(4)}"
        self.fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        if fcntl is not None:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        os.write(self.fd, str(self.started_ns).encode())

    def release(self) -> None:
        if self.fd is not None:
            self.path.unlink(missing_ok=True)
            os.close(self.fd)
            self.fd = None

    def __getstate__(self) -> dict[str, Any]:  # the environment is pickled with the settings
        return {"started_ns": self.started_ns, "path": self.path, "fd": None}


def oldest_live_lease(root: Path, own: Lease | None) -> int:
    """The start (ns) of the oldest build still using the cache; leases of builds that died
    are removed on the way."""
    oldest = own.started_ns if own is not None else time.time_ns()
    folder = root / _STATE / "leases"
    for path in sorted(folder.iterdir()) if folder.is_dir() else ():
        if own is not None and path == own.path:
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:  # held: that build is running
                    text = os.read(fd, 32).decode("ascii", "replace")
                    oldest = min(oldest, int(text) if text.isdigit() else 0)
                    continue
            path.unlink(missing_ok=True)  # its build is gone
        finally:
            os.close(fd)
    return oldest


def claim(root: Path) -> None:
    """Make ``root`` rfdocs' cache folder, or refuse it: a folder that exists already must be
    empty or tagged as rfdocs' own (rfdocs never deletes or overwrites other files)."""
    try:
        if root.exists() and not root.is_dir():
            raise CacheUnusable(f"{root} is a file, not a folder")
        tag = root / TAG_NAME
        if root.is_dir() and not tag.is_file():
            others = sorted(p.name for p in root.iterdir())
            if others:
                shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
                raise CacheUnusable(f"{root} holds files rfdocs did not write ({shown}); rfdocs "
                                    "never deletes or overwrites files of others, so it keeps "
                                    "its figures only in an empty folder or one of its own")
        if not tag.is_file() or tag.read_text(encoding="utf-8", errors="replace") != TAG_TEXT:
            write_atomic(tag, TAG_TEXT.encode())
        (root / _STATE).mkdir(exist_ok=True)
    except OSError as err:
        raise CacheUnusable(f"{root} cannot be written: {err.strerror or err}") from None


def _used(path: Path) -> None:
    """Mark a file as used now: its access time, set from the same clock as the leases' start
    times (the kernel's own file times come from a coarser clock, and a read may update them
    only while they are older than the modification time, which ours never are). The
    modification time, which Sphinx compares with its pages, stays as it is."""
    try:
        stat = path.stat()
        os.utime(path, ns=(time.time_ns(), stat.st_mtime_ns))
    except OSError:
        pass  # read-only or gone: nothing to protect


@dataclass(frozen=True)
class FigureCache:
    """Files ``<key>.<fmt>`` (light), ``<key>-dark.<fmt>`` and ``<key>-meta.json`` (alt text,
    numbers, and the sha256 of every file) under ``root``. The metadata is written last, and a
    file whose bytes do not match its recorded digest is not used (it is drawn again)."""

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
        """The stored metadata when every wanted file exists with its recorded bytes (each
        then marked as used), else None."""
        with self._shared():
            meta = self.read_meta(key)
            digests = meta.get("files") if meta is not None else None
            if meta is None or not isinstance(digests, dict):
                return None
            paths = [self.path(key, theme, fmt) for theme in themes for fmt in formats]
            for path in paths:
                try:
                    if file_digest(path) != digests.get(path.name.removeprefix(key)):
                        return None
                except OSError:
                    return None
            for path in [*paths, self.meta_path(key)]:
                _used(path)
            return meta

    def store(self, key: str, files: Mapping[tuple[str, str], bytes], meta: Mapping[str, Any]) -> None:
        """Write the figure's files, then its metadata with their digests (atomic each; a file
        already holding the same bytes is left alone, so untouched figures keep their times, but
        a leftover with other bytes, e.g. from a write cut short, is replaced)."""
        with self._shared():
            digests: dict[str, str] = {}
            for (theme, fmt), data in sorted(files.items()):
                target = self.path(key, theme, fmt)
                if not target.is_file() or target.read_bytes() != data:
                    write_atomic(target, data)
                _used(target)
                digests[target.name.removeprefix(key)] = hashlib.sha256(data).hexdigest()
            old = self.read_meta(key) or {}
            recorded = old.get("files")
            if not isinstance(recorded, dict):
                recorded = {}
            merged = {**old, **meta, "files": {**recorded, **digests}}
            if merged != old or not self.meta_path(key).is_file():
                write_atomic(self.meta_path(key), json.dumps(merged, sort_keys=True, indent=1).encode())
            _used(self.meta_path(key))

    @contextmanager
    def _shared(self) -> Iterator[None]:
        if (self.root / _STATE).is_dir():
            with _locked(self.root, shared=True):
                yield
        else:  # not claimed (a CLI or test cache): no other build to guard against
            yield

    def _settled(self, keep: set[str], wanted: set[str]) -> str:
        """What a prune depends on: the keys kept, the formats, and the folder's entries (its
        modification time changes whenever a file is added, renamed or removed)."""
        digest = hashlib.sha256("\n".join(sorted(keep) + sorted(wanted)).encode())
        digest.update(str(self.root.stat().st_mtime_ns).encode())
        return digest.hexdigest()

    def prune(self, keep: set[str], formats: Iterable[str], lease: Lease | None = None, *,
              unless_settled: bool = False) -> int:
        """Delete rfdocs' own ``formats`` files of keys not in ``keep``, metadata left without
        files, and temporary files left by builds that died; returns a count. Nothing that a
        running build has used since it started is deleted, nor any file rfdocs did not write.
        Other formats belong to other builders sharing the cache (LaTeX's PDFs survive an HTML
        build). ``unless_settled``: skip the scan when the last complete prune kept the same
        keys and nothing was added to or removed from the folder since (a build with nothing
        to do then costs two ``stat`` calls here, not a listing of every figure)."""
        if not (self.root / _STATE).is_dir():
            return 0
        wanted = {f".{fmt}" for fmt in formats}
        memo = self.root / _STATE / "pruned"
        if unless_settled:
            try:
                if memo.read_text(encoding="ascii") == self._settled(keep, wanted):
                    return 0
            except (OSError, UnicodeDecodeError):
                pass
        removed = 0
        deferred = False  # a file kept only because a running build may still use it
        with _locked(self.root, shared=False):
            threshold = oldest_live_lease(self.root, lease)
            remaining: set[str] = set()
            metas: list[tuple[str, Path]] = []
            for path in sorted(self.root.iterdir()):
                name = path.name
                tmp = _TMP.fullmatch(name)
                own = own_key(tmp["name"] if tmp else name)
                if own is None or not path.is_file():
                    continue
                key, is_meta = own
                try:
                    recent = path.stat().st_atime_ns >= threshold
                except OSError:
                    continue
                if tmp:
                    if not recent:
                        path.unlink(missing_ok=True)
                        removed += 1
                    else:
                        deferred = True
                elif is_meta:
                    metas.append((key, path))
                elif key not in keep and path.suffix in wanted and not recent:
                    path.unlink(missing_ok=True)
                    removed += 1
                else:
                    deferred |= key not in keep and path.suffix in wanted
                    remaining.add(key)
            for key, path in metas:
                if key not in keep and key not in remaining:
                    path.unlink(missing_ok=True)
                    removed += 1
            try:
                if deferred:
                    memo.unlink(missing_ok=True)
                else:
                    write_atomic(memo, self._settled(keep, wanted).encode("ascii"))
            except OSError:
                pass  # only the next build's shortcut is lost
        return removed
