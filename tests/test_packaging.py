"""The sdist and wheel a user downloads: they build from a clean copy, pass ``twine check
--strict``, carry the licence, URLs, package data and typing marker, show the README's
images on a package index, and install into a fresh environment where ``rfdocs`` works."""

from __future__ import annotations

import email.parser
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from email.message import Message
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Never copied into a source tree to build from: at the top (version control, virtual
#: environments, build outputs) and anywhere (caches, documentation outputs).
IGNORED_AT_TOP = {".git", ".venv", "venv", "build", "dist", ".gl", "node_modules"}
IGNORED = shutil.ignore_patterns("_build", "__pycache__", "*.egg-info", ".mypy_cache", ".ruff_cache",
                                 ".pytest_cache", ".hypothesis")

URLS = {
    "Homepage": "https://rfdocs.readthedocs.io",
    "Documentation": "https://rfdocs.readthedocs.io",
    "Source": "https://github.com/rfdocs/rfdocs",
    "Issues": "https://github.com/rfdocs/rfdocs/issues",
}

RAW_PREFIX = "https://raw.githubusercontent.com/rfdocs/rfdocs/main/"

pytestmark = pytest.mark.slow


def copy_source(dest: Path) -> Path:
    """A copy of the project without build outputs, so that a stale ``build/lib`` or
    ``*.egg-info`` left by earlier builds cannot leak into what is built from it."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        top = IGNORED_AT_TOP.intersection(names) if Path(folder) == REPO else set()
        return top | IGNORED(folder, names)

    shutil.copytree(REPO, dest, ignore=ignore)
    return dest


def run(*args: str | Path, cwd: Path | None = None, timeout: float = 600) -> str:
    """Run a command (without PYTHONPATH, which would shadow what is installed); fail the
    test with its output if it fails."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``python -m build`` (sdist, then a wheel built from that sdist) into a scratch folder."""
    pytest.importorskip("build", reason="the 'build' package is not installed (pip install -e '.[test]')")
    tmp = tmp_path_factory.mktemp("packaging")
    source = copy_source(tmp / "src")
    out = tmp / "dist"
    run(sys.executable, "-m", "build", "--outdir", out, source)
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def _metadata(text: str) -> Message:
    return email.parser.Parser().parsestr(text)


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def _wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return _metadata(archive.read(name).decode("utf-8"))


def test_twine_check_strict(dist: dict[str, Path]) -> None:
    pytest.importorskip("twine", reason="twine is not installed (pip install -e '.[test]')")
    out = run(sys.executable, "-m", "twine", "check", "--strict", dist["sdist"], dist["wheel"])
    assert out.count("PASSED") == 2, out


def test_wheel_carries_package_data_and_licence(dist: dict[str, Path]) -> None:
    names = _wheel_names(dist["wheel"])
    expected = {f"rfdocs/static/{p.name}" for p in (REPO / "rfdocs/static").iterdir() if p.is_file()}
    expected |= {f"rfdocs/zoo/{p.name}" for p in (REPO / "rfdocs/zoo").glob("*.yaml")}
    expected |= {f"rfdocs/{p.relative_to(REPO / 'rfdocs').as_posix()}"
                 for p in (REPO / "rfdocs").rglob("*.py") if "__pycache__" not in p.parts}
    expected.add("rfdocs/py.typed")
    assert len(expected) > 20
    assert expected <= names, sorted(expected - names)
    licences = [n for n in names if re.fullmatch(r"rfdocs-[^/]+\.dist-info/licenses/LICENSE", n)]
    assert licences, sorted(n for n in names if ".dist-info/" in n)
    with zipfile.ZipFile(dist["wheel"]) as archive:
        assert archive.read(licences[0]) == (REPO / "LICENSE").read_bytes()
        for name in sorted(expected):  # the same bytes as the source tree
            assert archive.read(name) == (REPO / name).read_bytes(), name
    assert not [n for n in names if n.startswith(("tests/", "docs/", "benchmarks/"))]


def test_metadata_licence_and_urls(dist: dict[str, Path]) -> None:
    meta = _wheel_metadata(dist["wheel"])
    version = tuple(int(p) for p in meta["Metadata-Version"].split("."))
    assert version >= (2, 4), meta["Metadata-Version"]  # License-Expression is metadata 2.4
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert "License" not in meta  # the legacy free-text field is gone
    urls = dict(entry.split(", ", 1) for entry in meta.get_all("Project-URL") or [])
    assert urls == URLS
    classifiers = set(meta.get_all("Classifier") or [])
    assert {"Framework :: Sphinx :: Extension", "Topic :: Documentation :: Sphinx",
            "Typing :: Typed"} <= classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]  # forbidden with an expression
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["Description-Content-Type"] == "text/markdown"
    assert "sphinx" in (meta["Keywords"] or "")


def test_sdist_carries_licence_and_same_metadata(dist: dict[str, Path]) -> None:
    with tarfile.open(dist["sdist"]) as archive:
        names = archive.getnames()
        [root] = {n.split("/", 1)[0] for n in names}
        assert f"{root}/LICENSE" in names
        assert f"{root}/pyproject.toml" in names and f"{root}/README.md" in names
        licence = archive.extractfile(f"{root}/LICENSE")
        assert licence is not None and licence.read() == (REPO / "LICENSE").read_bytes()
        pkg_info = archive.extractfile(f"{root}/PKG-INFO")
        assert pkg_info is not None
        meta = _metadata(pkg_info.read().decode("utf-8"))
    assert meta["License-Expression"] == "MIT"
    assert not [n for n in names if "/.venv/" in n or "/_build/" in n or "/build/lib/" in n]


def test_readme_images_work_on_a_package_index() -> None:
    """PyPI shows the README without the repository's files: images need absolute https URLs,
    and these name files that exist on the default branch (here: in the working tree)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    urls = re.findall(r'<img [^>]*src="([^"]+)"', readme)
    urls += re.findall(r'<source [^>]*srcset="([^"]+)"', readme)
    urls += re.findall(r"!\[[^\]]*\]\(([^)\s]+)", readme)
    assert urls, "no images found in README.md"
    for url in urls:
        assert url.startswith(RAW_PREFIX), url
        path = REPO / url.removeprefix(RAW_PREFIX)
        assert path.is_file(), f"{url} names {path}, which does not exist"
        assert path.read_bytes().lstrip().startswith((b"<?xml", b"<svg", b"\x89PNG")), path


def test_wheel_installs_and_runs_in_a_fresh_environment(dist: dict[str, Path], tmp_path: Path) -> None:
    """A fresh venv sees the test environment's dependencies through a ``.pth`` line (so nothing
    is downloaded), but not its editable rfdocs: ``rfdocs`` must come from the wheel."""
    env = tmp_path / "venv"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    purelib = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    # A plain path line: the editable install's own .pth hook in that folder is not run.
    (purelib / "rfdocs-test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
        "--no-index", dist["wheel"])
    where = run(python, "-c", "import rfdocs, sys; print(rfdocs.__file__); print(rfdocs.__version__)",
                cwd=tmp_path).split()
    assert Path(where[0]).is_relative_to(purelib), where
    assert not Path(where[0]).is_relative_to(REPO), where
    kinds = run(env / "bin" / "rfdocs", "kinds", cwd=tmp_path)
    listed = re.findall(r"^(\w+): ", kinds, flags=re.MULTILINE)
    assert set(listed) >= {"block", "growth", "featuremaps", "steps", "erf"}, kinds
    table = json.loads(run(env / "bin" / "rfdocs", "rf", "vgg16", "--json", cwd=tmp_path))
    pool5 = [layer for layer in table["layers"] if layer["name"] == "pool5"]
    assert [layer["rf"] for layer in pool5] == [[212, 212]]  # VGG-16's published pool5 field
