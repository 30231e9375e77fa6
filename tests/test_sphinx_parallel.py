"""Parallel builds (``-j 4``) give the same files as serial ones, before and after an edit; two
clean builds in different folders give the same bytes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sphinx_util import Built, build, write_project

N_PAGES = 20


def page(i: int, edited: bool = False) -> str:
    """Page ``i``: its own figure, one shared by every page, a table, the role and a reference
    to the previous page's figure."""
    size = 10 + i
    kernel = 5 if edited else 3  # a figure no page has
    ref = f"See :numref:`fig-{i - 1}` on the previous page." if i else "The first page."
    return f"""\
Page {i}
{"=" * (5 + len(str(i)))}

.. rf-block::
   :caption: Figure of page {i}.
   :name: fig-{i}

   input {size}x{size}x2
   conv {kernel}x{kernel} /1 x4

.. rf-block::
   :caption: The same on every page.

   input 16x16x3
   conv 5x5 /1 x8

.. rf-table::

   input {size}x{size}x2
   c{i}: conv 3x3 /1 x4

The shape is :rf:`resnet50::shape` and the field :rf:`vgg16:conv{1 + i % 5}_1:rf`. {ref}
"""


def pages(edited: int | None = None) -> dict[str, str]:
    out = {f"page{i:02d}.rst": page(i, edited == i) for i in range(N_PAGES)}
    toctree = "\n".join(f"   page{i:02d}" for i in range(N_PAGES))
    out["index.rst"] = f"Index\n=====\n\n.. toctree::\n   :numbered:\n\n{toctree}\n"
    return out


CONF = "numfig = True\n"

#: Files a clean build writes differently each time for reasons outside rfdocs: none so far.
VOLATILE: set[str] = set()


def compare(a: Built, b: Built) -> None:
    files_a = {k: v for k, v in a.files().items() if k not in VOLATILE}
    files_b = {k: v for k, v in b.files().items() if k not in VOLATILE}
    assert sorted(files_a) == sorted(files_b)
    differ = [name for name in files_a if files_a[name] != files_b[name]]
    assert differ == []


@dataclass
class Pair:
    serial_src: Path
    parallel_src: Path
    serial: Built
    parallel: Built


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    root = tmp_path_factory.mktemp("parallel")
    serial_src = write_project(root / "serial" / "src", pages(), CONF)
    parallel_src = write_project(root / "parallel" / "src", pages(), CONF)
    return Pair(serial_src, parallel_src, build(serial_src, parallel=1, warningiserror=True),
                build(parallel_src, parallel=4, warningiserror=True))


def test_both_build_cleanly(pair: Pair) -> None:
    for built in (pair.serial, pair.parallel):
        assert built.statuscode == 0
        assert built.warning_lines() == []
    # every distinct figure rendered; the shared one at least once
    assert len({line.split()[2] for line in pair.serial.rendered_lines()}) == N_PAGES + 1
    assert len({line.split()[2] for line in pair.parallel.rendered_lines()}) == N_PAGES + 1
    assert len(list(pair.parallel.cache_dir.glob("*.json"))) == N_PAGES + 1


def test_parallel_equals_serial(pair: Pair) -> None:
    assert len(pair.serial.files("_images/*.svg")) == 2 * (N_PAGES + 1)
    compare(pair.serial, pair.parallel)


def test_parallel_equals_serial_after_an_edit(pair: Pair) -> None:
    for src in (pair.serial_src, pair.parallel_src):
        (src / "page07.rst").write_text(page(7, edited=True), encoding="utf-8")
    serial = build(pair.serial_src, parallel=1, warningiserror=True)
    parallel = build(pair.parallel_src, parallel=4, warningiserror=True)
    for built in (serial, parallel):
        assert built.warning_lines() == []
        assert len(built.rendered_lines()) == 1 and "(page07)" in built.rendered_lines()[0]
        assert "1 figure(s) rendered" in built.summary_lines()[-1]
        assert len(list(built.cache_dir.glob("*.json"))) == N_PAGES + 1  # the old one pruned
    assert "5×5×2 receptive field" in serial.text("page07.html")
    compare(serial, parallel)


SMALL = {"a.md": "# A\n\n```{rf-block}\n:caption: A.\n\ninput 20x20x3\nconv 3x3 /1 x8\n```\n\n"
                 "```{rf-table}\n:model: alexnet\n```\n",
         "b.rst": "B\n=\n\n.. rf-block::\n   :neuron: 1,1\n\nValue :rf:`alexnet::rf`.\n"}


@pytest.mark.parametrize("builder", ["html", "latex"])
def test_clean_builds_in_two_folders_are_identical(tmp_path: Path, builder: str) -> None:
    one = build(write_project(tmp_path / "one" / "src", SMALL), builder)
    two = build(write_project(tmp_path / "elsewhere" / "deeper" / "src", SMALL), builder)
    assert one.warning_lines() == [] and two.warning_lines() == []
    files = one.files()
    assert any(name.endswith((".svg", ".pdf")) for name in files)
    compare(one, two)
