"""Page networks (rf-network, :network:, the role), zoo models and the common figure options,
as a reader of the built HTML sees them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.sphinx_util import Built, build, write_project

NETWORKS = """\
Networks
========

.. rf-network:: tiny
   :show:

   input 16x16x3
   c1: conv 3x3 /1 x8
   p1: maxpool 2 /2
   c2: conv 3x3 /1 x4

.. rf-block::
   :network: tiny
   :alt: My own words.
   :width: 60%
   :align: right
   :class: extra-class
   :name: fig-tiny

.. rf-table::
   :network: tiny
   :layers: c1, c2
   :no-input:

The field of c2 is :rf:`tiny:c2:rf`, its jump :rf:`tiny:c2:jump`, the output
:rf:`tiny::shape`, AlexNet's output :rf:`alexnet::shape` and the height :rf:`tiny:c2:rf.h`.

.. rf-table::
   :model: vgg16
   :layers: pool5
"""

OTHER = """\
Other
=====

The network of another page is not visible here: :rf:`tiny:c2:rf`.
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    src = write_project(tmp_path_factory.mktemp("features") / "src",
                        {"networks.rst": NETWORKS, "other.rst": OTHER})
    return build(src)


def test_only_the_other_page_warns(built: Built) -> None:
    warnings = built.parsed_warnings()
    assert len(warnings) == 1, built.warnings
    assert Path(warnings[0]["location"]).name == "other.rst"
    assert warnings[0]["line"] == "4"
    assert warnings[0]["type"] == "rfdocs.role"


def test_role_numbers(built: Built) -> None:
    html = built.text("networks.html")
    numbers = re.findall(r'<span class="rfdocs-number">([^<]*)</span>', html)
    # c2: r = 3 after c1, 4 after the pool (jump 2), 4 + 2 * 2 = 8 after c2; 16 -> 14 -> 7 -> 5
    assert numbers == ["8×8", "2", "5×5×4", "6×6×256", "8"]


def test_show_gives_the_spec_as_code(built: Built) -> None:
    html = built.text("networks.html")
    assert "c1: conv 3x3 /1 x8" in html
    assert html.count('<div class="highlight') >= 1


def test_common_options_reach_the_html(built: Built) -> None:
    html = built.text("networks.html")
    figure = re.search(r'<figure class="([^"]*)" id="fig-tiny"[^>]*>(.*?)</figure>', html, re.S)
    assert figure, html
    classes, inner = figure.groups()
    assert "extra-class" in classes and "align-right" in classes
    imgs = re.findall(r"<img [^>]*>", inner)
    assert len(imgs) == 2
    for img in imgs:
        assert 'alt="My own words."' in img
        assert "width: 60%" in img


def test_table_layers_and_no_input(built: Built) -> None:
    html = built.text("networks.html")
    tables = re.findall(r"<table.*?</table>", html, re.S)
    assert len(tables) == 2
    rows = re.findall(r"<tr[^>]*>\s*<td[^>]*><p>([^<]*)</p>", tables[0])
    assert rows == ["c1", "c2"]
    assert "pool5" in tables[1] and "212×212" in tables[1]
