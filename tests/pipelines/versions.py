"""Environments with the lowest and the newest versions rfdocs declares, to build a small site in.

``lowest``: exactly the ``>=`` floor of every run-time dependency in pyproject.toml (their own
dependencies resolve freely), then rfdocs itself without dependencies. ``newest``: the newest
releases of everything (``pip install -U --upgrade-strategy eager``). The lowest environment is
reused while pyproject.toml's dependencies are unchanged (their hash is stored in it); the newest is
upgraded on every run. After installing, the environment is verified: ``pip check``, and for
``lowest`` every dependency's installed version equals its floor.

    python -m tests.pipelines.versions lowest build/venv-lowest
    python -m tests.pipelines.versions newest build/venv-newest
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Pins the floors need to install at all on this Python; keep empty unless a floor fails.
EXTRA_PINS: list[str] = []


def requirements() -> list[str]:
    """``[project].dependencies`` of pyproject.toml, as written."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(data["project"]["dependencies"])


def floors() -> dict[str, str]:
    """Each run-time dependency's declared minimum version; an error if one has none."""
    out = {}
    for req in requirements():
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*(?:,.*)?", req)
        if not match:
            raise SystemExit(f"versions: dependency {req!r} declares no '>=' floor")
        out[match[1]] = match[2]
    return out


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _release(version: str) -> str:
    """``7.4.0`` -> ``7.4``: equal versions compare equal (PEP 440 pads releases with zeros)."""
    return re.sub(r"(\.0)+$", "", version)


def _run(cmd: list[str]) -> None:
    print("versions: " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def _key(kind: str) -> str:
    """What the environment was made from: the declared dependencies, this file, the Python."""
    digest = hashlib.sha256("\n".join([kind, sys.version, *requirements()]).encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def ensure(kind: str, venv: Path) -> Path:
    """The environment's python, (re)created or upgraded as ``kind`` asks."""
    python = venv / "bin" / "python"
    stamp = venv / ".rfdocs-key"
    fresh = not (python.exists() and stamp.exists() and stamp.read_text() == _key(kind))
    if fresh:
        shutil.rmtree(venv, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(venv)])
        _run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    if kind == "lowest" and fresh:
        pins = [f"{name}=={version}" for name, version in floors().items()]
        _run([str(python), "-m", "pip", "install", "-q", *pins, *EXTRA_PINS])
    elif kind == "newest":
        _run([str(python), "-m", "pip", "install", "-q", "-U", "--upgrade-strategy", "eager",
              *requirements()])
    if fresh:
        _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "-e", str(ROOT)])
    _run([str(python), "-m", "pip", "check"])
    report = subprocess.run([str(python), "-c", _SHOW, *floors()], check=True, text=True,
                            stdout=subprocess.PIPE).stdout
    installed = dict(line.split("=", 1) for line in report.split())
    print(f"versions: {kind}: " + ", ".join(f"{n} {v}" for n, v in installed.items()), flush=True)
    if kind == "lowest":
        wrong = {n: installed[n] for n, floor in floors().items()
                 if _release(installed[n]) != _release(floor)}
        if wrong:
            raise SystemExit(f"versions: not at the declared floors: {wrong}")
    if fresh:
        stamp.write_text(_key(kind))
    return python


_SHOW = ("import sys, importlib.metadata as m\n"
         "print(' '.join(f'{n}={m.version(n)}' for n in sys.argv[1:] + ['docutils', 'rfdocs']))")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("lowest", "newest"):
        raise SystemExit(__doc__)
    ensure(argv[0], Path(argv[1]).resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
